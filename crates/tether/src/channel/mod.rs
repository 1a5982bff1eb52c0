//! The channel: a cheap-to-clone handle on a target, lazy (IDLE until the
//! first call or `state(true)`), with connectivity states per gRPC's
//! connectivity-semantics-and-api.md and one subchannel for now.

mod builder;
mod calls;
mod events;
mod subchannel;

pub use builder::ChannelBuilder;
pub use events::ChannelEvent;

use crate::connectivity::ConnectivityState;
use crate::driver::ConnHandle;
use crate::grpc::RequestHead;
use crate::metadata::Metadata;
use crate::status::Status;
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use subchannel::Inner;

/// A virtual connection to a target: cheap to clone (an `Arc`), safe to
/// share between tasks; every call picks its connection through it.
///
/// ```no_run
/// # async fn f() -> Result<(), tether::Status> {
/// use bytes::Bytes;
/// let channel = tether::Channel::builder("http://127.0.0.1:50051")?.build();
/// let request = tether::Request::new(Bytes::from_static(b""));
/// let response = channel
///     .unary("/grpc.health.v1.Health/Check", request, tether::BytesCodec)
///     .await?;
/// println!("{:?}", response.message());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("target", &self.inner.target)
            .field("state", &self.state(false))
            .finish()
    }
}

impl Channel {
    /// A builder for a channel to `target`: `http://host:port`,
    /// `https://host:port`, `unix:/path` or `unix:///path`. Anything else
    /// is INVALID_ARGUMENT.
    pub fn builder(target: &str) -> Result<ChannelBuilder, Status> {
        ChannelBuilder::new(target)
    }

    /// The connectivity state; with `try_to_connect`, an IDLE channel
    /// starts connecting (needs a tokio runtime).
    pub fn state(&self, try_to_connect: bool) -> ConnectivityState {
        if try_to_connect {
            self.inner.request_connection();
        }
        self.inner.current_state()
    }

    /// Waits until the state differs from `from`; false if `deadline`
    /// passed first.
    pub async fn wait_for_state_change(&self, from: ConnectivityState, deadline: Instant) -> bool {
        let mut rx = self.inner.subscribe();
        let deadline = tokio::time::Instant::from_std(deadline);
        loop {
            if *rx.borrow_and_update() != from {
                return true;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return false,
            }
        }
    }

    /// The keepalive time new connections use: the configured one, doubled
    /// after each GOAWAY `too_many_pings` (gRFC A8); `None` without
    /// keepalive.
    pub fn keepalive_time(&self) -> Option<Duration> {
        self.inner.keepalive_time()
    }

    /// The round-trip time of the latest acknowledged PING (keepalive or
    /// bandwidth probe), on any of the channel's connections; `None` before
    /// the first.
    pub fn rtt(&self) -> Option<Duration> {
        self.inner.rtt()
    }

    /// A ready connection for a call: connects if IDLE; in
    /// TRANSIENT_FAILURE fails UNAVAILABLE unless `wait_for_ready`; bounded
    /// by `deadline` (DEADLINE_EXCEEDED).
    pub(crate) async fn pick(
        &self,
        wait_for_ready: bool,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<ConnHandle, Status> {
        self.inner.pick(wait_for_ready, deadline).await
    }

    pub(crate) fn max_recv_message_size(&self) -> usize {
        self.inner.max_recv
    }

    pub(crate) fn max_send_message_size(&self) -> usize {
        self.inner.max_send
    }

    /// The request header block of a call to `path`.
    pub(crate) fn request_head(
        &self,
        path: &str,
        metadata: Metadata,
        deadline: Option<tokio::time::Instant>,
    ) -> RequestHead {
        let inner = &self.inner;
        let mut head = RequestHead::new(
            inner.scheme,
            inner.authority.clone(),
            Bytes::copy_from_slice(path.as_bytes()),
        )
        .with_user_agent(inner.user_agent.clone());
        if let Some(d) = deadline {
            head = head.with_timeout(d.saturating_duration_since(tokio::time::Instant::now()));
        }
        if !metadata.is_empty() {
            head = head.with_metadata(metadata);
        }
        head
    }
}
