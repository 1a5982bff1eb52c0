//! What streaming calls accept as their request: a bare message stream or a
//! [`Request`] carrying one.

use super::Request;
use futures_core::Stream;

/// Anything a client-streaming or bidirectional call accepts as its
/// request: a bare stream of messages (no metadata, no deadline,
/// fail-fast) or a [`Request`] wrapping one (with metadata and options).
///
/// ```no_run
/// # async fn f(channel: tether::Channel, messages: impl tether::futures_core::Stream<Item = bytes::Bytes> + Send + 'static,
/// #            more: impl tether::futures_core::Stream<Item = bytes::Bytes> + Send + 'static) -> Result<(), tether::Status> {
/// use std::time::Duration;
/// use tether::{BytesCodec, Request};
/// // A bare stream...
/// channel.client_streaming("/pkg.Svc/Upload", messages, BytesCodec).await?;
/// // ...or a Request around one, for metadata and a deadline.
/// let request = Request::new(more).with_timeout(Duration::from_secs(5));
/// channel.client_streaming("/pkg.Svc/Upload", request, BytesCodec).await?;
/// # Ok(()) }
/// ```
pub trait IntoStreamingRequest {
    /// The stream of request messages.
    type Stream: Stream<Item = Self::Message> + Send + 'static;
    /// The request message type.
    type Message;

    /// Wraps (a bare stream) or passes through (a [`Request`]).
    fn into_streaming_request(self) -> Request<Self::Stream>;
}

impl<S> IntoStreamingRequest for S
where
    S: Stream + Send + 'static,
{
    type Stream = S;
    type Message = S::Item;

    fn into_streaming_request(self) -> Request<S> {
        Request::new(self)
    }
}

impl<S> IntoStreamingRequest for Request<S>
where
    S: Stream + Send + 'static,
{
    type Stream = S;
    type Message = S::Item;

    fn into_streaming_request(self) -> Request<S> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    struct Empty;

    impl Stream for Empty {
        type Item = u8;

        fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<u8>> {
            Poll::Ready(None)
        }
    }

    fn take<R: IntoStreamingRequest<Message = u8>>(r: R) -> Request<R::Stream> {
        r.into_streaming_request()
    }

    #[test]
    fn bare_streams_and_requests_convert() {
        let bare = take(Empty);
        assert!(!bare.wait_for_ready());
        assert!(bare.effective_deadline().is_none());
        let wrapped = take(
            Request::new(Empty)
                .with_wait_for_ready(true)
                .with_timeout(Duration::from_secs(1)),
        );
        assert!(wrapped.wait_for_ready());
        assert!(wrapped.effective_deadline().is_some());
    }
}
