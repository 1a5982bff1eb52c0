//! The sending half of a client-streaming or bidirectional call opened with
//! [`crate::Channel::bidi`] or [`crate::Channel::client_stream`], and the
//! pending response of a client-streaming call.

use super::{CancelHandle, Response};
use crate::status::Status;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// How many messages a [`Sender`] holds before the call's own send buffer
/// (64 KiB of encoded messages) takes them.
const SENDER_QUEUE: usize = 1;

/// Sends the request messages of a call opened with
/// [`crate::Channel::bidi`] or [`crate::Channel::client_stream`].
///
/// [`Sender::send`] returns once the message is queued for the connection
/// (flow control pushes back through it); [`Sender::finish`] (or dropping
/// the sender) half-closes the call after the queued messages.
pub struct Sender<T> {
    tx: mpsc::Sender<T>,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.tx.is_closed())
            .finish()
    }
}

/// A sender and the request stream it feeds.
pub(crate) fn sender<T>() -> (Sender<T>, SenderStream<T>) {
    let (tx, rx) = mpsc::channel(SENDER_QUEUE);
    (Sender { tx }, SenderStream { rx })
}

impl<T> Sender<T> {
    /// Queues `message` for sending, waiting while the call's send buffer
    /// is full.
    ///
    /// An error means the call has ended (its status comes from the
    /// response side: the [`crate::Streaming`] or the [`ResponseFuture`]);
    /// the message was not sent.
    pub async fn send(&self, message: T) -> Result<(), Status> {
        self.tx.send(message).await.map_err(|_| ended())
    }

    /// Half-closes the call (END_STREAM after the messages already
    /// queued): the server sees the end of the requests. Dropping the
    /// sender does the same.
    pub fn finish(self) {}

    /// Whether the call has ended (further sends fail).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

fn ended() -> Status {
    Status::unavailable("the call has ended: its status comes with the response")
}

/// The request stream a [`Sender`] feeds.
pub(crate) struct SenderStream<T> {
    rx: mpsc::Receiver<T>,
}

impl<T> futures_core::Stream for SenderStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().rx.poll_recv(cx)
    }
}

type BoxResponse<T> = Pin<Box<dyn Future<Output = Result<Response<T>, Status>> + Send>>;

/// The response of a client-streaming call opened with
/// [`crate::Channel::client_stream`]: await it (after sending, or while
/// sending from another task). Dropping it before the response cancels the
/// call (RST_STREAM CANCEL).
pub struct ResponseFuture<T> {
    inner: BoxResponse<T>,
    cancel: CancelHandle,
}

impl<T> fmt::Debug for ResponseFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<T> ResponseFuture<T> {
    pub(crate) fn new(inner: BoxResponse<T>, cancel: CancelHandle) -> Self {
        ResponseFuture { inner, cancel }
    }

    /// A handle that cancels the call: the future then resolves to
    /// CANCELLED (and the [`Sender`] fails).
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }
}

impl<T> Future for ResponseFuture<T> {
    type Output = Result<Response<T>, Status>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}
