//! A request: the message (or message stream), metadata and call options.

use super::CancelHandle;
use crate::grpc::Encoding;
use crate::metadata::Metadata;
use std::time::{Duration, Instant};

/// A request message (or, for client-streaming and bidirectional calls, a
/// stream of messages) with its metadata and call options.
#[derive(Clone, Debug)]
pub struct Request<T> {
    message: T,
    metadata: Metadata,
    timeout: Option<Duration>,
    deadline: Option<Instant>,
    wait_for_ready: bool,
    compression: Option<Encoding>,
    cancel: Option<CancelHandle>,
}

impl<T> Request<T> {
    /// A request with no metadata, no deadline, fail-fast.
    pub fn new(message: T) -> Request<T> {
        Request {
            message,
            metadata: Metadata::new(),
            timeout: None,
            deadline: None,
            wait_for_ready: false,
            compression: None,
            cancel: None,
        }
    }

    /// The message.
    pub fn message(&self) -> &T {
        &self.message
    }

    /// The message, mutably.
    pub fn message_mut(&mut self) -> &mut T {
        &mut self.message
    }

    /// The message, dropping the rest.
    pub fn into_message(self) -> T {
        self.message
    }

    /// The custom metadata sent with the request headers.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The custom metadata, mutably.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// The call must end within `timeout` of its start: the server is told
    /// (`grpc-timeout`) and the client ends it DEADLINE_EXCEEDED.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = Some(timeout);
    }

    /// The call must end by `deadline` (with [`Request::set_timeout`] too,
    /// the earlier wins).
    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
    }

    /// Wait-for-ready: instead of failing UNAVAILABLE while the channel is
    /// in TRANSIENT_FAILURE, wait (up to the deadline) for a connection.
    pub fn set_wait_for_ready(&mut self, on: bool) {
        self.wait_for_ready = on;
    }

    /// Compresses this call's request messages with `encoding`
    /// (`grpc-encoding`), whatever the channel's
    /// [`crate::ChannelBuilder::send_compressed`] says;
    /// [`Encoding::Identity`] sends this call uncompressed.
    pub fn set_compression(&mut self, encoding: Encoding) {
        self.compression = Some(encoding);
    }

    /// [`Request::set_compression`], builder style.
    pub fn with_compression(mut self, encoding: Encoding) -> Self {
        self.set_compression(encoding);
        self
    }

    /// `cancel` may cancel the call: [`CancelHandle::cancel`] ends it
    /// CANCELLED (RST_STREAM CANCEL on the wire), whatever its type and
    /// wherever it is (waiting for a connection, for the response, or
    /// streaming).
    pub fn set_cancel(&mut self, cancel: CancelHandle) {
        self.cancel = Some(cancel);
    }

    /// [`Request::set_cancel`], builder style.
    pub fn with_cancel(mut self, cancel: CancelHandle) -> Self {
        self.set_cancel(cancel);
        self
    }

    /// The cancel handle given with [`Request::set_cancel`].
    pub fn cancel_handle(&self) -> Option<&CancelHandle> {
        self.cancel.as_ref()
    }

    /// [`Request::set_timeout`], builder style.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.set_timeout(timeout);
        self
    }

    /// [`Request::set_wait_for_ready`], builder style.
    pub fn with_wait_for_ready(mut self, on: bool) -> Self {
        self.set_wait_for_ready(on);
        self
    }

    /// The same request with its message transformed.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Request<U> {
        Request {
            message: f(self.message),
            metadata: self.metadata,
            timeout: self.timeout,
            deadline: self.deadline,
            wait_for_ready: self.wait_for_ready,
            compression: self.compression,
            cancel: self.cancel,
        }
    }

    /// The absolute deadline on tokio's clock, if any, from a call starting now.
    pub(crate) fn effective_deadline(&self) -> Option<tokio::time::Instant> {
        let now = tokio::time::Instant::now();
        let from_timeout = self.timeout.and_then(|t| now.checked_add(t));
        let from_deadline = self.deadline.map(|d| {
            // Carry the std deadline over to tokio's clock (equal unless paused).
            let left = d.saturating_duration_since(Instant::now());
            now.checked_add(left).unwrap_or(now)
        });
        match (from_timeout, from_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn compression(&self) -> Option<Encoding> {
        self.compression
    }

    pub(crate) fn wait_for_ready(&self) -> bool {
        self.wait_for_ready
    }

    pub(crate) fn into_parts(self) -> (T, Metadata) {
        (self.message, self.metadata)
    }
}

/// Anything a generated client accepts as a request: a plain message or a
/// [`Request`] carrying it.
pub trait IntoRequest<T> {
    /// Wraps or unwraps into a [`Request`].
    fn into_request(self) -> Request<T>;
}

impl<T> IntoRequest<T> for T {
    fn into_request(self) -> Request<T> {
        Request::new(self)
    }
}

impl<T> IntoRequest<T> for Request<T> {
    fn into_request(self) -> Request<T> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_messages_and_requests_convert() {
        fn take(r: impl IntoRequest<u32>) -> Request<u32> {
            r.into_request()
        }
        assert_eq!(*take(7).message(), 7);
        let r = take(Request::new(9).with_wait_for_ready(true));
        assert!(r.wait_for_ready());
        assert_eq!(r.map(|m| m * 2).into_message(), 18);
    }

    #[test]
    fn earlier_deadline_wins() {
        let r = Request::new(()).with_timeout(Duration::from_secs(100));
        let mut r2 = r.clone();
        r2.set_deadline(Instant::now() + Duration::from_secs(1));
        let d1 = r.effective_deadline().unwrap();
        let d2 = r2.effective_deadline().unwrap();
        assert!(d2 < d1);
        assert!(Request::new(()).effective_deadline().is_none());
    }
}
