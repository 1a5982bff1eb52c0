//! The client connection state machine (sans-I/O).

mod config;
mod control;
mod event;
mod flow;
mod lifecycle;
mod observe;
mod ping;
mod recv;
mod send;
mod settings;
mod stream;
mod timer;
mod validate;

#[cfg(test)]
mod tests;

pub use config::{Config, Keepalive, Limits};
pub use event::{CloseReason, Event, GoAwayInfo, PeerSettings, ResponseHead};
pub use observe::{Direction, Observer};

use crate::error::ErrorCode;
use crate::frame::{DecoderLimits, FrameDecoder, StreamId, DEFAULT_WINDOW_SIZE};
use crate::hpack::{Decoder, Encoder, FieldRef};
use bytes::{Bytes, BytesMut};
use flow::{RecvWindow, SendWindow};
use ping::{Bdp, PingKind, Pings};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};
use stream::Stream;
use timer::{Timer, TimerTable};

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
    /// Too many PINGs from [`Connection::ping`] are unacknowledged; wait for
    /// an [`Event::PingAck`].
    TooManyPings,
}

/// A read or output buffer with more capacity than this is freed once empty.
const BUF_KEEP: usize = 64 * 1024;

/// A handle for a user PING, reported back in [`Event::PingAck`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PingId(pub u64);

/// The client side of one HTTP/2 connection, without I/O.
///
/// `Connection` is a pure state machine: it never reads a socket or a clock.
/// The driver hands it bytes and the current time, and takes frames to write,
/// events and the next deadline from it.
///
/// # Methods
///
/// - **Getters**: [`rtt`](Self::rtt), [`is_closed`](Self::is_closed).
/// - **Input** (`handle_*`, each with `now`): [`handle_read`](Self::handle_read)
///   (bytes from the transport, any segmentation), [`handle_eof`](Self::handle_eof)
///   (the transport ended), [`handle_timeout`](Self::handle_timeout) (the
///   deadline from `poll_timeout` passed).
/// - **Application calls**: [`open_stream`](Self::open_stream),
///   [`send_data`](Self::send_data), [`send_trailers`](Self::send_trailers),
///   [`reset`](Self::reset), [`release_capacity`](Self::release_capacity),
///   [`ping`](Self::ping), [`close`](Self::close), [`set_observer`](Self::set_observer).
/// - **Output** (`poll_*`): [`poll_transmit`](Self::poll_transmit) (frames to
///   write), [`poll_event`](Self::poll_event) (what the application must
///   know), [`poll_timeout`](Self::poll_timeout) (when to call `handle_timeout`).
///
/// # Poll order
///
/// After every input or application call: first drain `poll_transmit` into
/// the socket (until it returns 0), then drain `poll_event` (until `None`),
/// then re-arm the timer with `poll_timeout`. Output is only produced by
/// inputs and calls, so nothing is lost by polling late, but a PING ACK or
/// WINDOW_UPDATE waits until `poll_transmit` is called.
///
/// # Time
///
/// Time is always passed in (`now`) and must never go backwards. Calls that
/// take no `now` use the latest one seen. Every deadline (SETTINGS ACK,
/// keepalive idle and timeout, reset grace) lives in one timer table whose
/// minimum `poll_timeout` returns; `handle_timeout(now)` fires all that are due.
///
/// # Keepalive (gRFC A8)
///
/// With `config.keepalive` set, a PING goes out `time` after the last read of
/// any bytes, when streams are open or `permit_without_calls` is set (else
/// the timer sleeps until a stream opens). Any read within `timeout` counts as
/// liveness, not only the PING's ACK (as grpc-go does). At most one keepalive
/// PING is in flight: while it is unacknowledged no second one is sent (the
/// timeout still runs). `min_ping_interval` spaces keepalive PINGs at least
/// that far apart; after `max_pings_without_data` keepalive PINGs with no
/// DATA or HEADERS sent by us in between, none is sent (and no timeout runs)
/// until we send one. Past `timeout`, every
/// stream gets [`Event::StreamReset`] (code CANCEL, `remote: false`, no
/// error) and [`CloseReason::KeepaliveTimeout`] follows; nothing is sent.
/// [`Connection::handle_eof`] ends streams the same way.
///
/// # Errors
///
/// A peer that breaks a rule causes a stream error (RST_STREAM, and an
/// [`Event::StreamReset`] with `remote: false`) or a connection error (GOAWAY,
/// every stream reset, then [`Event::Closed`]). Connection errors are sticky:
/// afterwards input is ignored, `poll_transmit` yields the GOAWAY and then
/// nothing, and `is_closed` is true once it was taken.
pub struct Connection {
    config: Config,
    /// The latest `now` passed in.
    now: Instant,
    // Input.
    read_buf: BytesMut,
    frames: FrameDecoder,
    hpack_dec: Decoder,
    hpack_enc: Encoder,
    // SETTINGS.
    peer: PeerSettings,
    connected: bool,
    /// Our SETTINGS frames awaiting ACK; `true` marks the initial one.
    unacked_settings: VecDeque<bool>,
    /// The SETTINGS_INITIAL_WINDOW_SIZE we advertise now.
    stream_window: u32,
    // Streams.
    streams: BTreeMap<StreamId, Stream>,
    waiting: VecDeque<StreamId>,
    send_queue: VecDeque<StreamId>,
    next_id: u32,
    highest_sent: u32,
    active: usize,
    /// Recently ended streams, remembered until the instant (`limits.reset_grace`).
    recent: VecDeque<(StreamId, Instant, lifecycle::Gone)>,
    // Connection flow control.
    conn_send: SendWindow,
    conn_recv: RecvWindow,
    // PING, keepalive, BDP.
    pings: Pings,
    /// When the latest keepalive PING went out (`Keepalive::min_ping_interval`).
    last_keepalive_ping: Option<Instant>,
    /// Keepalive PINGs since we last sent DATA or HEADERS
    /// (`Keepalive::max_pings_without_data`).
    keepalive_pings_without_data: u32,
    /// Keepalive is parked by `max_pings_without_data` until we send DATA or HEADERS.
    keepalive_parked: bool,
    bdp: Option<Bdp>,
    rtt: Option<Duration>,
    // Shutdown.
    goaway: Option<GoAwayInfo>,
    closing: bool,
    closed: bool,
    // Output.
    preface_len: usize,
    out: BytesMut,
    acks: BytesMut,
    queued_acks: usize,
    hpack_buf: BytesMut,
    /// Reused while decoding a response header block (see `recv_headers`).
    field_buf: Vec<crate::hpack::HeaderField>,
    events: VecDeque<Event>,
    timers: TimerTable,
    observer: Option<Box<dyn Observer>>,
    // Abuse counters.
    local_resets: u32,
    empty_data: u32,
    ignored: u32,
}

impl Connection {
    /// A new connection. The preface and our SETTINGS are queued for
    /// [`Connection::poll_transmit`] at once, with a WINDOW_UPDATE raising
    /// the connection window to `config.initial_connection_window`.
    pub fn new(config: Config, now: Instant) -> Connection {
        Connection::build(config, None, now)
    }

    /// A new connection with an observer installed from the start, so that it
    /// also sees the preface SETTINGS and the first WINDOW_UPDATE
    /// ([`Connection::set_observer`] comes too late for those).
    pub fn with_observer(config: Config, observer: Box<dyn Observer>, now: Instant) -> Connection {
        Connection::build(config, Some(observer), now)
    }

    fn build(config: Config, observer: Option<Box<dyn Observer>>, now: Instant) -> Connection {
        let limits = DecoderLimits {
            max_frame_size: settings::our_max_frame_size(&config),
            max_continuation_frames: config.limits.max_continuation_frames,
            max_header_block_bytes: config.limits.max_header_block_bytes,
            max_settings_entries: config.limits.max_settings_entries,
        };
        // Until our SETTINGS are acknowledged the server may use the default
        // table size (§6.5.3: a lowered value applies after the ACK).
        let table = config
            .header_table_size
            .max(settings::DEFAULT_HEADER_TABLE_SIZE);
        let conn_window = config
            .initial_connection_window
            .clamp(DEFAULT_WINDOW_SIZE, crate::frame::MAX_WINDOW_SIZE);
        let stream_window = settings::our_stream_window(&config);
        let mut conn = Connection {
            now,
            // Both buffers grow on demand: an idle connection keeps little.
            read_buf: BytesMut::new(),
            frames: FrameDecoder::new(limits),
            hpack_dec: Decoder::new(table as usize),
            hpack_enc: Encoder::new(config.encoder_table_cap as usize),
            peer: settings::peer_defaults(),
            connected: false,
            unacked_settings: VecDeque::new(),
            stream_window,
            streams: BTreeMap::new(),
            waiting: VecDeque::new(),
            send_queue: VecDeque::new(),
            next_id: 1,
            highest_sent: 0,
            active: 0,
            recent: VecDeque::new(),
            conn_send: SendWindow::new(DEFAULT_WINDOW_SIZE),
            conn_recv: RecvWindow::new(DEFAULT_WINDOW_SIZE, DEFAULT_WINDOW_SIZE),
            pings: Pings::default(),
            last_keepalive_ping: None,
            keepalive_pings_without_data: 0,
            keepalive_parked: false,
            bdp: config.bdp_window.then(|| Bdp::new(stream_window)),
            rtt: None,
            goaway: None,
            closing: false,
            closed: false,
            preface_len: 0,
            out: BytesMut::new(),
            acks: BytesMut::new(),
            queued_acks: 0,
            hpack_buf: BytesMut::new(),
            field_buf: Vec::new(),
            events: VecDeque::new(),
            timers: TimerTable::default(),
            observer,
            local_resets: 0,
            empty_data: 0,
            ignored: 0,
            config,
        };
        conn.start(conn_window, now);
        conn
    }

    /// Bytes read from the transport (any segmentation).
    pub fn handle_read(&mut self, bytes: &[u8], now: Instant) {
        self.now = now;
        if self.closed || bytes.is_empty() {
            return;
        }
        self.on_liveness(now);
        self.read_buf.extend_from_slice(bytes);
        // Measured before decoding: decoded frames are split off the buffer,
        // and what is left (possibly with no capacity) still shares their
        // allocation.
        let large = self.read_buf.capacity() > BUF_KEEP;
        self.process_read_buf(now);
        if self.read_buf.is_empty() && large {
            // After a burst: do not hold its memory while idle (the empty
            // remainder would keep the whole allocation alive).
            self.read_buf = BytesMut::new();
        }
        self.progress();
    }

    /// The transport reached end of file or failed: every open stream fails
    /// with [`Event::StreamReset`] (code CANCEL, `remote: false`, no error),
    /// then [`CloseReason::TransportClosed`], unless already closed.
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        if self.closed {
            return;
        }
        self.fail_streams(ErrorCode::CANCEL, None);
        self.finish(CloseReason::TransportClosed);
    }

    /// Time has reached (at least) what [`Connection::poll_timeout`] returned.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        while let Some(timer) = self.timers.expire_one(now) {
            self.on_timer(timer, now);
        }
        self.progress();
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
        self.now = now;
        self.open(fields, end_stream, now)
    }

    /// Queues DATA on a stream; it is sent as flow control allows. Accepted
    /// while fewer than `limits.max_send_buffer` octets are queued.
    pub fn send_data(
        &mut self,
        id: StreamId,
        data: Bytes,
        end_stream: bool,
    ) -> Result<(), CallError> {
        let limit = self.config.limits.max_send_buffer;
        let stream = self.live_stream(id)?;
        stream.queue_data(id, data, end_stream, limit)?;
        self.schedule(id);
        Ok(())
    }

    /// Sends trailers (a HEADERS with END_STREAM) after the queued DATA.
    pub fn send_trailers(
        &mut self,
        id: StreamId,
        fields: &[FieldRef<'_>],
    ) -> Result<(), CallError> {
        let stream = self.live_stream(id)?;
        stream.queue_trailers(id, fields)?;
        self.schedule(id);
        Ok(())
    }

    /// Resets a stream (RST_STREAM with `code`; nothing is sent for a stream
    /// still waiting for a slot). No event follows for it.
    pub fn reset(&mut self, id: StreamId, code: ErrorCode) -> Result<(), CallError> {
        if self.closed || !self.streams.contains_key(&id) {
            return Err(CallError::UnknownStream(id));
        }
        self.reset_stream(id, code);
        self.progress();
        Ok(())
    }

    /// The application consumed `n` octets received on stream `id`: credit
    /// them back to the stream and connection windows. Call it for every
    /// octet of [`Event::Data`], even after the stream ended, or the
    /// connection window shrinks for good.
    pub fn release_capacity(&mut self, id: StreamId, n: usize) {
        if self.closed {
            return;
        }
        self.release(id, n);
    }

    /// Sends a PING; its RTT comes back in [`Event::PingAck`].
    ///
    /// Refused with [`CallError::Closed`] once the connection has ended, and
    /// with [`CallError::TooManyPings`] while 32 of these are unacknowledged
    /// (a server that never ACKs cannot make the connection remember PINGs
    /// without bound; wait for a [`Event::PingAck`] first).
    pub fn ping(&mut self, now: Instant) -> Result<PingId, CallError> {
        self.now = now;
        if self.closed {
            return Err(CallError::Closed);
        }
        if self.pings.user_count() >= ping::MAX_USER_PINGS {
            return Err(CallError::TooManyPings);
        }
        let id = self.pings.next_user_id();
        self.send_ping(PingKind::User(id), now);
        Ok(id)
    }

    /// Starts a graceful shutdown: sends GOAWAY (last stream id 0: we accept
    /// no server streams) with `code`; open streams may finish, new ones are
    /// refused, and [`CloseReason::Local`] follows when none is left.
    pub fn close(&mut self, code: ErrorCode, now: Instant) {
        self.now = now;
        self.start_close(code);
        self.progress();
    }

    /// Appends frames to send to `buf`; returns the number of bytes appended.
    pub fn poll_transmit(&mut self, buf: &mut BytesMut) -> usize {
        self.transmit(buf)
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest time [`Connection::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    /// Installs an observer that sees every frame (sent frames when they are
    /// queued), window change and ping RTT from now on. The preface SETTINGS
    /// were queued by [`Connection::new`]; to see them too, use
    /// [`Connection::with_observer`].
    pub fn set_observer(&mut self, observer: Box<dyn Observer>) {
        self.observer = Some(observer);
    }

    /// Test hook, not part of the stable API: makes `id` the next client
    /// stream id, so that stream-id exhaustion (RFC 9113 §5.1.1) can be
    /// exercised without opening 2^30 streams. Ignored unless `id` is odd and
    /// not below the next id already due (ids never go backwards).
    #[doc(hidden)]
    pub fn set_next_stream_id_for_test(&mut self, id: u32) {
        if id % 2 == 1 && id >= self.next_id {
            self.next_id = id;
        }
    }

    /// Test and diagnostics hook, not part of the stable API: the PINGs sent
    /// and not yet acknowledged (user, keepalive and BDP together).
    #[doc(hidden)]
    pub fn outstanding_pings(&self) -> usize {
        self.pings.len()
    }

    /// The latest measured round-trip time, if any PING was acknowledged.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// Whether the connection is fully closed (nothing more to send or receive).
    pub fn is_closed(&self) -> bool {
        self.closed && self.out.is_empty() && self.acks.is_empty()
    }

    /// The stream `id`, if the application may still act on it.
    fn live_stream(&mut self, id: StreamId) -> Result<&mut Stream, CallError> {
        if self.closed {
            return Err(CallError::UnknownStream(id));
        }
        self.streams
            .get_mut(&id)
            .ok_or(CallError::UnknownStream(id))
    }

    /// We sent DATA or HEADERS: `max_pings_without_data` counts from zero
    /// again, and a parked keepalive wakes up.
    pub(super) fn note_data_sent(&mut self) {
        self.keepalive_pings_without_data = 0;
        if !std::mem::take(&mut self.keepalive_parked) {
            return;
        }
        if let Some(ka) = self.config.keepalive {
            if !self.timers.is_set(Timer::KeepaliveIdle)
                && !self.timers.is_set(Timer::KeepaliveTimeout)
            {
                self.timers
                    .set_after(Timer::KeepaliveIdle, self.now, ka.time);
            }
        }
    }

    /// Arms the keepalive idle timer after a read, or when a stream opens.
    fn on_liveness(&mut self, now: Instant) {
        let Some(ka) = self.config.keepalive else {
            return;
        };
        // gRFC A8: any read counts as liveness; a pending keepalive PING is
        // considered answered (we do not wait for its ACK specifically).
        self.timers.stop(Timer::KeepaliveTimeout);
        if ka.permit_without_calls || !self.streams.is_empty() {
            self.timers.set_after(Timer::KeepaliveIdle, now, ka.time);
        } else {
            self.timers.stop(Timer::KeepaliveIdle);
        }
    }
}
