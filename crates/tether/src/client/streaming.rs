//! A stream of response messages.

use super::call::ActiveCall;
use crate::grpc::RecvEvent;
use crate::metadata::Metadata;
use crate::status::Status;
use bytes::Bytes;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

type DecodeFn<T> = Box<dyn FnMut(Bytes) -> Result<T, Status> + Send>;

/// The response messages of a server-streaming or bidirectional call.
///
/// Read it with [`Streaming::message`] or as a [`futures_core::Stream`].
/// It ends with `Ok(None)` (or the stream's end) when the server's status is
/// OK, and with the error status otherwise. Dropping it before its end
/// cancels the call (RST_STREAM CANCEL).
pub struct Streaming<T> {
    call: Option<ActiveCall>,
    decode: DecodeFn<T>,
    trailers: Option<Metadata>,
}

impl<T> fmt::Debug for Streaming<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streaming")
            .field("ended", &self.call.is_none())
            .field("trailers", &self.trailers)
            .finish()
    }
}

impl<T> Streaming<T> {
    pub(crate) fn new(call: ActiveCall, decode: DecodeFn<T>) -> Self {
        Streaming {
            call: Some(call),
            decode,
            trailers: None,
        }
    }

    /// A stream that already ended with an OK status (Trailers-Only).
    pub(crate) fn ended(decode: DecodeFn<T>, trailers: Metadata) -> Self {
        Streaming {
            call: None,
            decode,
            trailers: Some(trailers),
        }
    }

    /// The next message; `Ok(None)` at a clean end (OK status).
    pub async fn message(&mut self) -> Result<Option<T>, Status> {
        poll_fn(|cx| self.poll_message(cx)).await.transpose()
    }

    /// The trailers' metadata, once the stream has ended with OK.
    pub fn trailers(&self) -> Option<&Metadata> {
        self.trailers.as_ref()
    }

    fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Status>>> {
        loop {
            let Some(call) = self.call.as_mut() else {
                return Poll::Ready(None);
            };
            let event = match call.poll_event(cx) {
                Poll::Ready(e) => e,
                Poll::Pending => return Poll::Pending,
            };
            match event {
                RecvEvent::Message(bytes) => match (self.decode)(bytes) {
                    Ok(msg) => return Poll::Ready(Some(Ok(msg))),
                    Err(status) => {
                        if let Some(mut call) = self.call.take() {
                            call.fail();
                        }
                        return Poll::Ready(Some(Err(status)));
                    }
                },
                RecvEvent::Status(status) => {
                    self.call = None;
                    if status.is_ok() {
                        self.trailers = Some(status.metadata().clone());
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Err(status)));
                }
                _ => continue,
            }
        }
    }
}

impl<T> futures_core::Stream for Streaming<T> {
    type Item = Result<T, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_message(cx)
    }
}
