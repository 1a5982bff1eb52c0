//! Interceptors: per-channel hooks around every call.

use crate::metadata::Metadata;
use crate::status::Status;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What [`Interceptor::on_start`] returns: a boxed future, so the hook may
/// await (fetch a token, ask a rate limiter...).
pub type InterceptFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Status>> + Send + 'a>>;

/// A hook a channel runs around each of its calls (set with
/// [`crate::ChannelBuilder::interceptor`]; several run in the order added).
///
/// [`Interceptor::on_start`] sees the method path and the request metadata
/// before the call starts: it may add or change metadata, or fail the call
/// (which then ends with that status without touching the network).
/// [`Interceptor::on_end`] sees the final status of every call whose
/// `on_start` hooks ran, including calls failed by an interceptor,
/// cancelled or dropped.
///
/// ```
/// use tether::{InterceptFuture, Interceptor, Metadata, Status};
///
/// struct Auth;
///
/// async fn fetch_token() -> Result<String, Status> {
///     Ok("s3cr3t".to_owned())
/// }
///
/// impl Interceptor for Auth {
///     fn on_start<'a>(&'a self, _method: &'a str, md: &'a mut Metadata) -> InterceptFuture<'a> {
///         Box::pin(async move {
///             let token = fetch_token().await?;
///             md.insert("authorization", &format!("Bearer {token}"))
///                 .map_err(|e| Status::internal(e.to_string()))
///         })
///     }
///
///     fn on_end(&self, method: &str, status: &Status) {
///         eprintln!("{method}: {:?}", status.code());
///     }
/// }
/// # fn f() -> Result<(), tether::Status> {
/// let channel = tether::Channel::builder("http://127.0.0.1:50051")?
///     .interceptor(Auth)
///     .build()?;
/// # let _ = channel; Ok(()) }
/// ```
pub trait Interceptor: Send + Sync + 'static {
    /// Before the call starts (before a connection is picked): `metadata`
    /// is the request's custom metadata, as the next interceptor and the
    /// server will see it. An `Err` ends the call with that status. The
    /// call's deadline and cancel handle bound the wait.
    fn on_start<'a>(&'a self, method: &'a str, metadata: &'a mut Metadata) -> InterceptFuture<'a> {
        let _ = (method, metadata);
        Box::pin(std::future::ready(Ok(())))
    }

    /// Once the call has ended, with its final status (OK included). Runs
    /// on the task that saw the end: keep it quick.
    fn on_end(&self, method: &str, status: &Status) {
        let _ = (method, status);
    }
}

/// The interceptors of a channel.
pub(crate) type Interceptors = Arc<[Arc<dyn Interceptor>]>;

/// Reports a call's end to the interceptors, once.
pub(crate) struct EndHook {
    interceptors: Interceptors,
    method: Box<str>,
}

impl EndHook {
    pub(crate) fn new(interceptors: Interceptors, method: &str) -> EndHook {
        EndHook {
            interceptors,
            method: method.into(),
        }
    }

    /// Calls every `on_end`.
    pub(crate) fn report(self, status: &Status) {
        for i in self.interceptors.iter() {
            i.on_end(&self.method, status);
        }
    }

    /// Reports `result`'s status (OK for a success).
    pub(crate) fn report_result<T>(self, result: &Result<T, Status>) {
        match result {
            Ok(_) => self.report(&Status::ok()),
            Err(s) => self.report(s),
        }
    }
}
