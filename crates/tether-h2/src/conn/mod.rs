//! The client connection state machine (sans-I/O).

mod config;
mod event;
mod observe;

pub use config::{Config, Keepalive, Limits};
pub use event::{CloseReason, Event, GoAwayInfo, PeerSettings, ResponseHead};
pub use observe::{Direction, Observer};

use crate::error::ErrorCode;
use crate::frame::StreamId;
use crate::hpack::FieldRef;
use bytes::{Bytes, BytesMut};
use std::time::{Duration, Instant};

/// Why an application call on the connection was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError {
    /// The connection is closed or closing (GOAWAY received or sent); open a new one.
    Closed,
    /// All 2^30 client stream ids are used: this connection can open no more streams.
    StreamIdsExhausted,
    /// The request's header list exceeds the peer's SETTINGS_MAX_HEADER_LIST_SIZE;
    /// nothing was sent.
    HeaderListTooLarge {
        /// Our header list size.
        size: usize,
        /// The peer's limit.
        limit: usize,
    },
    /// No such stream, or it has ended (a stale id is an error, never a panic).
    UnknownStream(StreamId),
    /// The stream's sending side is already closed.
    SendClosed(StreamId),
    /// The stream's send buffer is full; wait for [`Event::SendReady`].
    SendBufferFull(StreamId),
}

/// A handle for a user PING, reported back in [`Event::PingAck`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PingId(pub u64);

/// The client side of one HTTP/2 connection, without I/O.
pub struct Connection {
    _priv: (),
}

impl Connection {
    /// A new connection. The preface and our SETTINGS are queued for
    /// [`Connection::poll_transmit`] at once.
    pub fn new(config: Config, now: Instant) -> Connection {
        let _ = (config, now);
        todo!("conn helper")
    }

    /// Bytes read from the transport.
    pub fn handle_read(&mut self, bytes: &[u8], now: Instant) {
        let _ = (bytes, now);
        todo!("conn helper")
    }

    /// The transport reached end of file or failed: every open stream fails.
    pub fn handle_eof(&mut self, now: Instant) {
        let _ = now;
        todo!("conn helper")
    }

    /// Time has reached (at least) what [`Connection::poll_timeout`] returned.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!("conn helper")
    }

    /// Opens a request stream with these header fields (pseudo-headers first).
    /// When MAX_CONCURRENT_STREAMS is reached the stream waits; its HEADERS go
    /// out, in id order, when a slot frees ([`Event::StreamStarted`]).
    pub fn open_stream(
        &mut self,
        fields: &[FieldRef<'_>],
        end_stream: bool,
        now: Instant,
    ) -> Result<StreamId, CallError> {
        let _ = (fields, end_stream, now);
        todo!("conn helper")
    }

    /// Queues DATA on a stream; it is sent as flow control allows.
    pub fn send_data(
        &mut self,
        id: StreamId,
        data: Bytes,
        end_stream: bool,
    ) -> Result<(), CallError> {
        let _ = (id, data, end_stream);
        todo!("conn helper")
    }

    /// Sends trailers (a HEADERS with END_STREAM) after the queued DATA.
    pub fn send_trailers(
        &mut self,
        id: StreamId,
        fields: &[FieldRef<'_>],
    ) -> Result<(), CallError> {
        let _ = (id, fields);
        todo!("conn helper")
    }

    /// Resets a stream (RST_STREAM with `code`).
    pub fn reset(&mut self, id: StreamId, code: ErrorCode) -> Result<(), CallError> {
        let _ = (id, code);
        todo!("conn helper")
    }

    /// The application consumed `n` bytes received on stream `id`: credit
    /// them back to the stream and connection windows.
    pub fn release_capacity(&mut self, id: StreamId, n: usize) {
        let _ = (id, n);
        todo!("conn helper")
    }

    /// Sends a PING; its RTT comes back in [`Event::PingAck`].
    pub fn ping(&mut self, now: Instant) -> PingId {
        let _ = now;
        todo!("conn helper")
    }

    /// Starts a graceful shutdown: sends GOAWAY; open streams may finish.
    pub fn close(&mut self, code: ErrorCode, now: Instant) {
        let _ = (code, now);
        todo!("conn helper")
    }

    /// Appends frames to send to `buf`; returns the number of bytes appended.
    pub fn poll_transmit(&mut self, buf: &mut BytesMut) -> usize {
        let _ = buf;
        todo!("conn helper")
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        todo!("conn helper")
    }

    /// The earliest time [`Connection::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!("conn helper")
    }

    /// Installs an observer that sees every frame, setting, window change and ping RTT.
    pub fn set_observer(&mut self, observer: Box<dyn Observer>) {
        let _ = observer;
        todo!("conn helper")
    }

    /// The latest measured round-trip time, if any PING was acknowledged.
    pub fn rtt(&self) -> Option<Duration> {
        todo!("conn helper")
    }

    /// Whether the connection is fully closed (nothing more to send or receive).
    pub fn is_closed(&self) -> bool {
        todo!("conn helper")
    }
}
