//! A stream of response messages.

use super::call::ActiveCall;
use super::CancelHandle;
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
///
/// The response headers may not have arrived yet when a bidirectional call
/// returns its `Streaming` (a server may send them only with its first
/// response, after the client's first request): [`Streaming::headers`]
/// waits for them, and [`Streaming::message`] reads past them.
pub struct Streaming<T> {
    call: Option<ActiveCall>,
    decode: DecodeFn<T>,
    /// The response headers' metadata, once received.
    headers: Option<Metadata>,
    /// The error status the call ended with, kept for [`Streaming::headers`]
    /// when it ended before any headers (given once to `message` too).
    failed: Option<Status>,
    trailers: Option<Metadata>,
}

impl<T> fmt::Debug for Streaming<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streaming")
            .field("ended", &self.call.is_none())
            .field("headers", &self.headers)
            .field("trailers", &self.trailers)
            .finish()
    }
}

impl<T> Streaming<T> {
    /// A stream on a call in flight; `headers` when they were already read.
    pub(crate) fn new(call: ActiveCall, decode: DecodeFn<T>, headers: Option<Metadata>) -> Self {
        Streaming {
            call: Some(call),
            decode,
            headers,
            failed: None,
            trailers: None,
        }
    }

    /// A stream that already ended with an OK status (Trailers-Only).
    pub(crate) fn ended(decode: DecodeFn<T>, trailers: Metadata) -> Self {
        Streaming {
            call: None,
            decode,
            headers: Some(Metadata::new()),
            failed: None,
            trailers: Some(trailers),
        }
    }

    /// The next message; `Ok(None)` at a clean end (OK status).
    pub async fn message(&mut self) -> Result<Option<T>, Status> {
        poll_fn(|cx| self.poll_message(cx)).await.transpose()
    }

    /// The response headers' custom metadata (initial metadata), waiting
    /// for them if they have not arrived yet. A call that ended without
    /// headers (Trailers-Only) has empty ones when its status is OK, and
    /// gives its error status otherwise.
    ///
    /// Messages that arrive meanwhile stay queued for
    /// [`Streaming::message`].
    pub async fn headers(&mut self) -> Result<&Metadata, Status> {
        poll_fn(|cx| self.poll_headers(cx)).await?;
        Ok(self.headers.get_or_insert_with(Metadata::new))
    }

    /// The response headers' metadata if they have arrived (see
    /// [`Streaming::headers`] to wait for them).
    pub fn headers_now(&self) -> Option<&Metadata> {
        self.headers.as_ref()
    }

    /// A handle that cancels the call from anywhere: the next
    /// [`Streaming::message`] then returns CANCELLED (RST_STREAM CANCEL goes
    /// out at once). Once the stream has ended it cancels nothing.
    pub fn cancel_handle(&mut self) -> CancelHandle {
        match self.call.as_mut() {
            Some(call) => call.cancel_handle(),
            None => CancelHandle::new(),
        }
    }

    /// The trailers' metadata, once the stream has ended with OK.
    pub fn trailers(&self) -> Option<&Metadata> {
        self.trailers.as_ref()
    }

    fn poll_headers(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        loop {
            if self.headers.is_some() {
                return Poll::Ready(Ok(()));
            }
            if let Some(status) = &self.failed {
                return Poll::Ready(Err(status.clone()));
            }
            let Some(call) = self.call.as_mut() else {
                // Ended OK without headers.
                return Poll::Ready(Ok(()));
            };
            // Headers come first: nothing but the status can precede them.
            let event = match call.poll_event(cx) {
                Poll::Ready(e) => e,
                Poll::Pending => return Poll::Pending,
            };
            match event {
                RecvEvent::Headers(md) => self.headers = Some(md),
                RecvEvent::Status(status) => self.end(status),
                RecvEvent::Message(_) => {
                    let status = Status::internal("received a message before response headers");
                    if let Some(mut call) = self.call.take() {
                        call.fail();
                        call.report_end(&status);
                    }
                    self.failed = Some(status);
                }
            }
        }
    }

    /// Records the final status.
    fn end(&mut self, status: Status) {
        if let Some(mut call) = self.call.take() {
            call.report_end(&status);
        }
        if status.is_ok() {
            self.trailers = Some(status.metadata().clone());
        } else {
            self.failed = Some(status);
        }
    }

    fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Status>>> {
        loop {
            let Some(call) = self.call.as_mut() else {
                // The error status once (it may have been seen by
                // `headers` only), then the end.
                return Poll::Ready(self.failed.take().map(Err));
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
                            call.report_end(&status);
                        }
                        return Poll::Ready(Some(Err(status)));
                    }
                },
                RecvEvent::Status(status) => self.end(status),
                RecvEvent::Headers(md) => self.headers = Some(md),
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
