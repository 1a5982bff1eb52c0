//! The receive side of one call, as a sans-I/O state machine.

use super::framing::{MessageDecoder, DEFAULT_MAX_RECV_MESSAGE_SIZE};
use super::response::{
    find, header_list_size, is_grpc_content_type, non_grpc_status, status_from_trailers,
    MAX_BODY_QUOTE,
};
use crate::metadata::Metadata;
use crate::status::Status;
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::Instant;
use tether_h2::conn::{CloseReason, Event, ResponseHead};
use tether_h2::hpack::HeaderField;
use tether_h2::{ErrorCode, ProtoError};

/// The message of the CANCELLED status of a call the application
/// cancelled.
pub const CANCELLED_BY_CLIENT: &str = "cancelled by the client";

/// The default limit on a response header or trailer list: 16 KiB (gRPC
/// suggests 8 KiB as a soft limit; C-core fails calls above 16 KiB).
pub const DEFAULT_MAX_HEADER_LIST_SIZE: usize = 16 * 1024;

/// How many response messages a call may receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cardinality {
    /// Exactly one (unary and client-streaming methods): none, or a second
    /// one, with an OK status is INTERNAL (HOSTILE 82).
    Unary,
    /// Any number (server-streaming and bidirectional methods).
    Streaming,
}

/// What a [`CallRecv`] has for the application, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecvEvent {
    /// The response headers' custom metadata. Not produced for a
    /// Trailers-Only response, whose metadata is in the final status.
    Headers(Metadata),
    /// One whole response message, still serialized (see [`crate::Codec`]).
    Message(Bytes),
    /// The call's final status; nothing follows it.
    Status(Status),
}

/// The receive state machine of one call.
///
/// Inputs are the HTTP/2 core's events for the call's stream
/// ([`CallRecv::handle_event`], or one `handle_*` method each) and what
/// only the caller knows: the deadline passed ([`CallRecv::handle_deadline`])
/// or the application cancelled ([`CallRecv::cancel`]). Output is a queue of
/// [`RecvEvent`]s ([`CallRecv::poll_event`]) ending in exactly one
/// [`RecvEvent::Status`]; input after the status is decided is ignored.
///
/// When the call ends on our side while the stream is still open (a
/// deadline, a cancel, a malformed response), [`CallRecv::reset_code`] says
/// which RST_STREAM code the driver must send.
///
/// ```
/// use bytes::Bytes;
/// use tether::grpc::{CallRecv, Cardinality, RecvEvent};
/// use tether_h2::conn::ResponseHead;
/// use tether_h2::hpack::HeaderField;
///
/// let field = |n: &'static str, v: &'static str| HeaderField {
///     name: Bytes::from_static(n.as_bytes()),
///     value: Bytes::from_static(v.as_bytes()),
/// };
/// let mut call = CallRecv::new(Cardinality::Unary);
/// let fields = vec![field("content-type", "application/grpc")];
/// call.handle_headers(ResponseHead::new(200, fields), false);
/// call.handle_data(Bytes::from_static(b"\0\0\0\0\x02hi"), false);
/// call.handle_trailers(&[field("grpc-status", "0")]);
///
/// assert!(matches!(call.poll_event(), Some(RecvEvent::Headers(_))));
/// assert_eq!(call.poll_event(), Some(RecvEvent::Message(Bytes::from_static(b"hi"))));
/// match call.poll_event() {
///     Some(RecvEvent::Status(status)) => assert!(status.is_ok()),
///     other => panic!("{other:?}"),
/// }
/// assert_eq!(call.reset_code(), None);
/// ```
#[derive(Debug)]
pub struct CallRecv {
    cardinality: Cardinality,
    max_header_list_size: usize,
    deadline: Option<Instant>,
    decoder: MessageDecoder,
    state: State,
    messages: usize,
    events: VecDeque<RecvEvent>,
    /// The stream is still open on the wire (no END_STREAM or reset yet).
    stream_open: bool,
    reset: Option<ErrorCode>,
}

#[derive(Debug)]
enum State {
    /// Waiting for the response head.
    AwaitingHeaders,
    /// A gRPC response: messages, then trailers.
    Streaming,
    /// Not a gRPC response (HOSTILE 66, 68): gathering a little of the body
    /// for the error message.
    Collecting {
        http_status: u16,
        content_type: Option<Bytes>,
        body: Vec<u8>,
    },
    /// The status is decided.
    Done,
}

impl CallRecv {
    /// A call expecting `cardinality` response messages, with the default
    /// limits (4 MiB messages, 16 KiB header lists) and no deadline.
    pub fn new(cardinality: Cardinality) -> CallRecv {
        CallRecv {
            cardinality,
            max_header_list_size: DEFAULT_MAX_HEADER_LIST_SIZE,
            deadline: None,
            decoder: MessageDecoder::new(DEFAULT_MAX_RECV_MESSAGE_SIZE),
            state: State::AwaitingHeaders,
            messages: 0,
            events: VecDeque::new(),
            stream_open: true,
            reset: None,
        }
    }

    /// Refuses response messages longer than `max` bytes (RESOURCE_EXHAUSTED).
    pub fn with_max_message_size(mut self, max: usize) -> CallRecv {
        self.decoder = MessageDecoder::new(max);
        self
    }

    /// Fails the call when a response header or trailer list is larger than
    /// `max` bytes as HTTP/2 counts them (RESOURCE_EXHAUSTED, HOSTILE 83).
    pub fn with_max_header_list_size(mut self, max: usize) -> CallRecv {
        self.max_header_list_size = max;
        self
    }

    /// The call's deadline, used to tell a server's CANCEL after the
    /// deadline (DEADLINE_EXCEEDED) from any other (CANCELLED).
    pub fn with_deadline(mut self, deadline: Instant) -> CallRecv {
        self.deadline = Some(deadline);
        self
    }

    /// Feeds one core event for this call's stream. Events of other kinds
    /// (connection-level ones, `SendReady`, ...) are ignored, except
    /// [`Event::Closed`], which fails the call as
    /// [`CallRecv::handle_connection_closed`] does.
    pub fn handle_event(&mut self, event: Event, now: Instant) {
        match event {
            Event::Headers {
                head, end_stream, ..
            } => self.handle_headers(head, end_stream),
            Event::Data {
                data, end_stream, ..
            } => self.handle_data(data, end_stream),
            Event::Trailers { fields, .. } => self.handle_trailers(&fields),
            Event::StreamReset {
                code,
                remote,
                error,
                ..
            } => self.handle_reset(code, remote, error.as_ref(), now),
            Event::Closed(reason) => self.handle_connection_closed(&reason),
            _ => {}
        }
    }

    /// The response head (after any 1xx, which the core skips). With
    /// `end_stream` it is a Trailers-Only response (HOSTILE 73).
    pub fn handle_headers(&mut self, head: ResponseHead, end_stream: bool) {
        if end_stream {
            self.stream_open = false;
        }
        if !matches!(self.state, State::AwaitingHeaders) {
            if !matches!(self.state, State::Done) {
                self.fail(Status::internal("received a second response header block"));
            }
            return;
        }
        if let Some(status) = self.check_size(&head.fields) {
            return self.fail(status);
        }
        let content_type = find(&head.fields, "content-type");
        if end_stream {
            // A grpc-status wins over :status and content-type (HOSTILE 67).
            let status = if find(&head.fields, "grpc-status").is_some() {
                status_from_trailers(&head.fields)
            } else if head.status != 200 || !content_type.is_some_and(|c| is_grpc_content_type(c)) {
                non_grpc_status(head.status, content_type.map(|c| &c[..]), b"")
            } else {
                status_from_trailers(&head.fields)
            };
            return self.finish(self.check_cardinality(status));
        }
        if head.status != 200 || !content_type.is_some_and(|c| is_grpc_content_type(c)) {
            self.state = State::Collecting {
                http_status: head.status,
                content_type: content_type.cloned(),
                body: Vec::new(),
            };
            return;
        }
        match Metadata::from_fields(&head.fields) {
            Ok(md) => {
                self.decoder
                    .set_encoding(find(&head.fields, "grpc-encoding").cloned());
                self.state = State::Streaming;
                self.events.push_back(RecvEvent::Headers(md));
            }
            Err(status) => self.fail(status),
        }
    }

    /// A DATA frame's payload.
    pub fn handle_data(&mut self, data: Bytes, end_stream: bool) {
        if end_stream {
            self.stream_open = false;
        }
        match &mut self.state {
            State::Done => {}
            State::AwaitingHeaders => {
                self.fail(Status::internal("received DATA before response headers"));
            }
            State::Collecting { body, .. } => {
                let room = MAX_BODY_QUOTE - body.len();
                body.extend_from_slice(&data[..data.len().min(room)]);
                if end_stream || body.len() == MAX_BODY_QUOTE {
                    self.finish_collecting();
                }
            }
            State::Streaming => {
                self.decoder.push(data);
                if let Err(status) = self.drain_messages() {
                    return self.fail(status);
                }
                if end_stream {
                    let status = match self.decoder.finish() {
                        Err(status) => status,
                        Ok(()) => {
                            Status::internal("server closed the stream without sending trailers")
                        }
                    };
                    self.finish(status);
                }
            }
        }
    }

    /// The trailers; the stream has ended.
    pub fn handle_trailers(&mut self, fields: &[HeaderField]) {
        self.stream_open = false;
        match &self.state {
            State::Done => {}
            State::AwaitingHeaders => {
                self.fail(Status::internal(
                    "received trailers before response headers",
                ));
            }
            State::Collecting { .. } => {
                if find(fields, "grpc-status").is_some() {
                    // A grpc-status wins over a non-gRPC :status (HOSTILE 67).
                    self.finish(status_from_trailers(fields));
                } else {
                    self.finish_collecting();
                }
            }
            State::Streaming => {
                if let Some(status) = self.check_size(fields) {
                    return self.fail(status);
                }
                let status = status_from_trailers(fields);
                if !status.is_ok() {
                    // The server's own error explains the call best.
                    return self.finish(status);
                }
                if let Err(framing) = self.decoder.finish() {
                    return self.finish(framing.with_metadata(status.metadata().clone()));
                }
                self.finish(self.check_cardinality(status));
            }
        }
    }

    /// The stream was reset: by the server (`remote`), by the core because
    /// the server broke a rule (`error`), or because the connection failed.
    pub fn handle_reset(
        &mut self,
        code: ErrorCode,
        remote: bool,
        error: Option<&ProtoError>,
        now: Instant,
    ) {
        self.stream_open = false;
        if matches!(self.state, State::Done) {
            return;
        }
        if matches!(self.state, State::Collecting { .. }) {
            return self.finish_collecting();
        }
        let status = match error {
            _ if remote => {
                let late = self.deadline.is_some_and(|d| now >= d);
                Status::from_reset(code, late)
            }
            Some(e) if e.is_connection() => {
                Status::unavailable(format!("connection failed: {e}")).with_source(e.clone())
            }
            Some(e) => Status::internal(format!("malformed response: {e}")).with_source(e.clone()),
            None => Status::unavailable("stream failed with its connection"),
        };
        self.finish(status);
    }

    /// The connection ended while the call was open (UNAVAILABLE).
    pub fn handle_connection_closed(&mut self, reason: &CloseReason) {
        self.stream_open = false;
        if !matches!(self.state, State::Done) {
            self.finish(Status::from_close(reason));
        }
    }

    /// The call's deadline has passed (DEADLINE_EXCEEDED).
    pub fn handle_deadline(&mut self) {
        if !matches!(self.state, State::Done) {
            self.fail(Status::deadline_exceeded("deadline exceeded"));
        }
    }

    /// The application cancelled the call (CANCELLED).
    pub fn cancel(&mut self) {
        if !matches!(self.state, State::Done) {
            self.fail(Status::cancelled(CANCELLED_BY_CLIENT));
        }
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<RecvEvent> {
        self.events.pop_front()
    }

    /// The queue [`CallRecv::poll_event`] pops: a driver swaps its own
    /// queue in while feeding an event, so that events are queued once.
    pub(crate) fn events_mut(&mut self) -> &mut VecDeque<RecvEvent> {
        &mut self.events
    }

    /// Whether the final status is decided (it may still be queued).
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The RST_STREAM code the driver must send, once: `Some(CANCEL)` when
    /// the call ended on our side while the stream was still open.
    pub fn reset_code(&self) -> Option<ErrorCode> {
        self.reset
    }

    /// Decodes every whole message buffered, enforcing the cardinality.
    fn drain_messages(&mut self) -> Result<(), Status> {
        while let Some(msg) = self.decoder.poll_message()? {
            self.messages += 1;
            if self.cardinality == Cardinality::Unary && self.messages > 1 {
                return Err(Status::internal(
                    "cardinality violation: more than one response message for a unary call",
                ));
            }
            self.events.push_back(RecvEvent::Message(msg));
        }
        Ok(())
    }

    /// An OK status for a unary call that got no message is INTERNAL (HOSTILE 82).
    fn check_cardinality(&self, status: Status) -> Status {
        if status.is_ok() && self.cardinality == Cardinality::Unary && self.messages == 0 {
            let metadata = status.metadata().clone();
            Status::internal("cardinality violation: no response message for a unary call")
                .with_metadata(metadata)
        } else {
            status
        }
    }

    fn check_size(&self, fields: &[HeaderField]) -> Option<Status> {
        let size = header_list_size(fields);
        (size > self.max_header_list_size).then(|| {
            Status::resource_exhausted(format!(
                "response header list too large ({size} > {} bytes)",
                self.max_header_list_size
            ))
        })
    }

    fn finish_collecting(&mut self) {
        let state = std::mem::replace(&mut self.state, State::Done);
        if let State::Collecting {
            http_status,
            content_type,
            body,
        } = state
        {
            let status = non_grpc_status(http_status, content_type.as_deref(), &body);
            self.fail(status);
        }
    }

    /// Ends the call on our side: the stream is reset if still open.
    fn fail(&mut self, status: Status) {
        if self.stream_open {
            self.reset = Some(ErrorCode::CANCEL);
        }
        self.finish(status);
    }

    fn finish(&mut self, status: Status) {
        self.state = State::Done;
        self.events.push_back(RecvEvent::Status(status));
    }
}

#[cfg(test)]
#[path = "call_tests.rs"]
mod tests;
