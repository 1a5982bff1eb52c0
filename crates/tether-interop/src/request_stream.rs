//! A request stream the caller feeds one message at a time.

use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// The receiving half of [`request_stream`], as a [`tether::futures_core::Stream`]
/// a streaming call can send from: it yields what the sender sends and ends
/// (half-closing the call) when every sender is dropped.
#[derive(Debug)]
pub struct RequestStream<T> {
    rx: mpsc::Receiver<T>,
}

/// A sender and the stream of what it sends; `capacity` messages may wait
/// in between.
pub fn request_stream<T>(capacity: usize) -> (mpsc::Sender<T>, RequestStream<T>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (tx, RequestStream { rx })
}

/// A stream that yields `items` and ends.
pub fn stream_of<T>(items: Vec<T>) -> RequestStream<T> {
    let (tx, stream) = request_stream(items.len());
    for item in items {
        // The channel has room for every item: this cannot fail.
        let _ = tx.try_send(item);
    }
    stream
}

impl<T> tether::futures_core::Stream for RequestStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    async fn next<T>(s: &mut RequestStream<T>) -> Option<T> {
        poll_fn(|cx| tether::futures_core::Stream::poll_next(Pin::new(&mut *s), cx)).await
    }

    #[tokio::test]
    async fn yields_what_is_sent_then_ends() {
        let (tx, mut s) = request_stream(1);
        tx.send(1).await.unwrap();
        assert_eq!(next(&mut s).await, Some(1));
        tx.send(2).await.unwrap();
        drop(tx);
        assert_eq!(next(&mut s).await, Some(2));
        assert_eq!(next(&mut s).await, None);
        let mut all = stream_of(vec!["a", "b"]);
        assert_eq!(next(&mut all).await, Some("a"));
        assert_eq!(next(&mut all).await, Some("b"));
        assert_eq!(next(&mut all).await, None);
    }
}
