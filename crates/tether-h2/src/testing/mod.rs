//! Scripted-peer harness: one client [`Connection`] driven by a scripted
//! server and a virtual clock (modelled on the idea of quinn-proto's test
//! `Pair`, written for tether-h2).
//!
//! **Not a stable API**: this module exists for tether's own tests (the unit
//! tests in `conn` and the integration tests in `tests/`) and fuzzers, and may
//! change in any release. It is hidden from the documentation.
//!
//! - The server side parses everything the client sends (preface, frames,
//!   field blocks decoded with an HPACK [`Decoder`]) into [`Sent`] records that
//!   tests assert on, and tracks both directions' flow-control windows.
//! - Server frames are written byte by byte with [`wire`] (so malformed
//!   frames are as easy to write as good ones) and handed to the client with
//!   `handle_read`, optionally in small segments.
//! - Time is `base + offset`: [`Peer::advance`] and [`Peer::run_until_idle`]
//!   move it; nothing sleeps.
//! - Two ways to read the client's output: the [`Sent`] log with its
//!   assertion helpers, or the decoded frames themselves
//!   ([`Peer::drain_frames`], [`Peer::drain_out`] for the raw bytes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod wire;

use crate::conn::{CallError, CloseReason, Config, Connection, Event};
use crate::error::{ErrorCode, ProtoError, Scope};
use crate::frame::{Decoded, DecoderLimits, Frame, FrameDecoder, FrameType, StreamId};
use crate::hpack::{Decoder, Encoder, FieldRef};
use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A header field as plain owned strings, easy to compare.
pub type Field = (String, String);

/// One frame the client sent, as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// SETTINGS (not ACK), parameters as (id, value).
    Settings(Vec<(u16, u32)>),
    /// SETTINGS ACK.
    SettingsAck,
    /// A whole field block (HEADERS plus CONTINUATIONs), decoded.
    Headers {
        /// Stream.
        stream: u32,
        /// Decoded fields in order.
        fields: Vec<Field>,
        /// END_STREAM.
        end_stream: bool,
        /// The raw field block (to check size updates).
        block: Bytes,
    },
    /// DATA.
    Data {
        /// Stream.
        stream: u32,
        /// Payload (padding removed).
        data: Bytes,
        /// END_STREAM.
        end_stream: bool,
    },
    /// RST_STREAM.
    Rst {
        /// Stream.
        stream: u32,
        /// Code.
        code: ErrorCode,
    },
    /// PING.
    Ping {
        /// ACK flag.
        ack: bool,
        /// Opaque data.
        payload: [u8; 8],
    },
    /// GOAWAY.
    GoAway {
        /// Last stream id.
        last: u32,
        /// Code.
        code: ErrorCode,
        /// Debug data.
        debug: Bytes,
    },
    /// WINDOW_UPDATE.
    WindowUpdate {
        /// Stream (0: connection).
        stream: u32,
        /// Increment.
        increment: u32,
    },
    /// Anything else (PRIORITY, ...): a client should never send these.
    Other(Frame),
}

/// The request path [`Peer::open`] uses.
pub const TEST_PATH: &str = "/test.Svc/Call";

/// The standard gRPC request fields for `path`.
pub fn request(path: &str) -> Vec<Field> {
    vec![
        f(":method", "POST"),
        f(":scheme", "http"),
        f(":path", path),
        f(":authority", "test.invalid"),
        f("content-type", "application/grpc"),
        f("te", "trailers"),
    ]
}

/// A field.
pub fn f(name: &str, value: &str) -> Field {
    (name.to_string(), value.to_string())
}

/// The standard gRPC response head.
pub fn response_head() -> Vec<Field> {
    vec![f(":status", "200"), f("content-type", "application/grpc")]
}

/// The standard OK trailers.
pub fn ok_trailers() -> Vec<Field> {
    vec![f("grpc-status", "0")]
}

/// A config for tests: BDP pings off so every PING on the wire is one a
/// test asked for.
pub fn test_config() -> Config {
    Config {
        bdp_window: false,
        ..Config::default()
    }
}

/// A client connection with its scripted server and virtual clock.
pub struct Peer {
    /// The connection under test.
    pub client: Connection,
    base: Instant,
    offset: Duration,
    /// Deliver server bytes in segments of at most this many bytes.
    pub segment: Option<usize>,
    preface_left: usize,
    rx: BytesMut,
    dec: FrameDecoder,
    hdec: Decoder,
    /// The server's HPACK encoder (its table is the one the client decodes with).
    pub henc: Encoder,
    /// Every frame the client sent since the last `take_sent` (or drain).
    pub sent: Vec<Sent>,
    /// The same frames, as decoded (see [`Peer::drain_frames`]).
    frames: Vec<Frame>,
    /// The same output, as raw bytes (see [`Peer::drain_out`]).
    out: BytesMut,
    /// Every event since the last `take_events`.
    pub events: Vec<Event>,
    /// Wire frames the client sent (CONTINUATION included), ever.
    pub wire_frames_sent: usize,
    /// Wire frames the server delivered, ever (counted by `wire`).
    pub wire_frames_received: usize,
    /// The largest frame the client may send us (our server's MAX_FRAME_SIZE).
    pub server_max_frame_size: u32,
    /// The client's receive windows as the server tracks them: stream 0 is the connection.
    pub recv_windows: HashMap<u32, i64>,
    client_initial_window: i64,
    /// The server's receive windows (what the client may still send).
    pub send_windows: HashMap<u32, i64>,
    server_initial_window: i64,
}

impl Peer {
    /// A client with `config` at virtual time zero; its preface and SETTINGS
    /// are parsed at once.
    pub fn new(config: Config) -> Peer {
        let base = Instant::now();
        let client = Connection::new(config, base);
        let mut p = Peer {
            client,
            base,
            offset: Duration::ZERO,
            segment: None,
            preface_left: PREFACE.len(),
            rx: BytesMut::new(),
            dec: FrameDecoder::new(DecoderLimits {
                max_frame_size: 16_384,
                max_continuation_frames: 10_000,
                max_header_block_bytes: 16 << 20,
                max_settings_entries: 100,
            }),
            hdec: Decoder::new(4096),
            henc: Encoder::new(4096),
            sent: Vec::new(),
            frames: Vec::new(),
            out: BytesMut::new(),
            events: Vec::new(),
            wire_frames_sent: 0,
            wire_frames_received: 0,
            server_max_frame_size: 16_384,
            recv_windows: HashMap::from([(0, 65_535)]),
            client_initial_window: 65_535,
            send_windows: HashMap::from([(0, 65_535)]),
            server_initial_window: 65_535,
        };
        p.step();
        p
    }

    /// `Peer::new(test_config())` then [`Peer::handshake`] with no server settings.
    pub fn established() -> Peer {
        Peer::established_with(test_config(), &[])
    }

    /// A client with `config`, handshaken with a server sending `settings`.
    pub fn established_with(config: Config, settings: &[(u16, u32)]) -> Peer {
        let mut p = Peer::new(config);
        p.handshake(settings);
        p
    }

    /// Our server accepts frames up to `n` bytes (after advertising it).
    pub fn set_server_max_frame_size(&mut self, n: u32) {
        self.server_max_frame_size = n;
        self.dec.set_max_frame_size(n);
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.base + self.offset
    }

    /// Virtual time elapsed since the start.
    pub fn elapsed(&self) -> Duration {
        self.offset
    }

    /// Server SETTINGS + ACK of the client's; checks the client's part of the
    /// handshake (preface, SETTINGS, ACK, `Connected`, `SettingsAcked`) and
    /// clears the logs.
    pub fn handshake(&mut self, settings: &[(u16, u32)]) {
        assert!(
            matches!(self.sent.first(), Some(Sent::Settings(_))),
            "client's first frame must be SETTINGS: {:?}",
            self.sent
        );
        self.recv(&wire::settings(settings));
        self.recv(&wire::settings_ack());
        assert!(
            self.sent.contains(&Sent::SettingsAck),
            "client did not ACK: {:?}",
            self.sent
        );
        assert!(
            matches!(self.events.first(), Some(Event::Connected(_))),
            "{:?}",
            self.events
        );
        assert!(
            self.events.contains(&Event::SettingsAcked),
            "{:?}",
            self.events
        );
        self.take_sent();
        self.take_events();
    }

    /// Hands `bytes` to the client (in segments if set) without draining it.
    pub fn deliver(&mut self, bytes: &[u8]) {
        self.account_server_bytes(bytes);
        let now = self.now();
        match self.segment {
            Some(n) => {
                for chunk in bytes.chunks(n.max(1)) {
                    self.client.handle_read(chunk, now);
                }
            }
            None => self.client.handle_read(bytes, now),
        }
    }

    /// Hands `bytes` to the client, then drains it ([`Peer::step`]).
    pub fn recv(&mut self, bytes: &[u8]) {
        self.deliver(bytes);
        self.step();
    }

    /// Drains the client's transmit buffer and events until both are empty.
    pub fn step(&mut self) {
        for _ in 0..10_000 {
            let mut buf = BytesMut::new();
            let n = self.client.poll_transmit(&mut buf);
            assert_eq!(n, buf.len(), "poll_transmit must report the bytes appended");
            self.parse_client_bytes(buf);
            let got_event = self.poll_events();
            if n == 0 && !got_event {
                return;
            }
        }
        panic!("client never stopped producing output");
    }

    /// Moves the clock forward by `d`, firing the client's timer if due, then
    /// drains it.
    pub fn advance(&mut self, d: Duration) {
        self.tick(d);
        self.step();
    }

    /// Moves the clock forward by `d` and fires the client's timer if due,
    /// without draining the client (its output stays queued in it).
    pub fn tick(&mut self, d: Duration) {
        self.offset += d;
        self.fire_if_due();
    }

    /// Fires the client's timer if due now, then drains it.
    pub fn fire_due(&mut self) {
        self.fire_if_due();
        self.step();
    }

    fn fire_if_due(&mut self) {
        let now = self.now();
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
    }

    /// Jumps time to each `poll_timeout()` in turn, firing it, while it is within
    /// `horizon` from now and at most `max_steps` times. Returns the number of
    /// timers fired.
    pub fn run_until_idle(&mut self, horizon: Duration, max_steps: usize) -> usize {
        let limit = self.offset + horizon;
        let mut fired = 0;
        while fired < max_steps {
            let Some(t) = self.client.poll_timeout() else {
                break;
            };
            let at = t.saturating_duration_since(self.base);
            if at > limit {
                break;
            }
            if at > self.offset {
                self.offset = at;
            }
            let now = self.now();
            self.client.handle_timeout(now);
            self.step();
            fired += 1;
        }
        fired
    }

    /// Takes the log of frames the client sent (clearing the decoded-frame
    /// and raw-byte views of the same output).
    pub fn take_sent(&mut self) -> Vec<Sent> {
        self.frames.clear();
        self.out.clear();
        std::mem::take(&mut self.sent)
    }

    /// Drains the client ([`Peer::step`]) and returns the frames it wrote
    /// since the last drain, as decoded; clears the [`Sent`] log too.
    /// Asserts the client wrote only whole frames.
    pub fn drain_frames(&mut self) -> Vec<Frame> {
        self.step();
        assert!(self.rx.is_empty(), "client wrote a partial frame");
        let frames = std::mem::take(&mut self.frames);
        let _ = self.take_sent();
        frames
    }

    /// Drains the client ([`Peer::step`]) and returns the raw bytes it wrote
    /// since the last drain (the preface included, if not drained yet);
    /// clears the [`Sent`] log too.
    pub fn drain_out(&mut self) -> BytesMut {
        self.step();
        let out = std::mem::take(&mut self.out);
        let _ = self.take_sent();
        out
    }

    /// Polls the client's events (and only those: its output stays queued in
    /// it) and takes the log of events.
    pub fn drain_events(&mut self) -> Vec<Event> {
        let _ = self.poll_events();
        self.take_events()
    }

    /// Moves the client's pending events to the log; whether there were any.
    fn poll_events(&mut self) -> bool {
        let mut got_event = false;
        while let Some(ev) = self.client.poll_event() {
            got_event = true;
            self.events.push(ev);
        }
        got_event
    }

    /// Takes the log of events.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Opens a stream with the standard request fields ([`TEST_PATH`]) and steps.
    pub fn open(&mut self, end_stream: bool) -> StreamId {
        self.try_open(&request(TEST_PATH), end_stream)
            .expect("open_stream")
    }

    /// Opens a stream with `fields`, then steps.
    pub fn try_open(&mut self, fields: &[Field], end_stream: bool) -> Result<StreamId, CallError> {
        let refs: Vec<FieldRef<'_>> = fields
            .iter()
            .map(|(n, v)| FieldRef::new(n.as_bytes(), v.as_bytes()))
            .collect();
        let now = self.now();
        let r = self.client.open_stream(&refs, end_stream, now);
        self.step();
        r
    }

    /// Encodes `fields` (`(name, value)` pairs of strings or byte strings)
    /// with the server's HPACK encoder.
    pub fn encode<N: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, fields: &[(N, V)]) -> Vec<u8> {
        let mut block = BytesMut::new();
        self.henc.encode(
            fields
                .iter()
                .map(|(n, v)| FieldRef::new(n.as_ref(), v.as_ref())),
            &mut block,
        );
        block.to_vec()
    }

    /// HEADERS (+ CONTINUATIONs at 16 KiB) carrying `fields`, encoded with the
    /// server's HPACK encoder, not delivered.
    pub fn headers_frame<N: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        stream: u32,
        fields: &[(N, V)],
        end_stream: bool,
    ) -> Vec<u8> {
        let block = self.encode(fields);
        wire::headers_block(stream, &block, end_stream, 16_384)
    }

    /// The standard response head ([`response_head`]) as a HEADERS frame, not
    /// delivered.
    pub fn response_frame(&mut self, stream: u32) -> Vec<u8> {
        self.headers_frame(stream, &response_head(), false)
    }

    /// HEADERS (+ CONTINUATIONs at 16 KiB) carrying `fields`, delivered and stepped.
    pub fn send_headers(&mut self, stream: u32, fields: &[Field], end_stream: bool) {
        let frame = self.headers_frame(stream, fields, end_stream);
        self.recv(&frame);
    }

    /// DATA delivered and stepped.
    pub fn send_data(&mut self, stream: u32, data: &[u8], end_stream: bool) {
        self.recv(&wire::data(stream, data, end_stream));
    }

    /// A whole response: head, one DATA, OK trailers.
    pub fn respond(&mut self, stream: u32, body: &[u8]) {
        let head = self.response_frame(stream);
        self.recv(&head);
        self.send_data(stream, body, false);
        self.send_headers(stream, &ok_trailers(), true);
    }

    /// The client's remaining receive window on `stream` (0: connection), as
    /// the server sees it.
    pub fn recv_window(&self, stream: u32) -> i64 {
        self.recv_windows
            .get(&stream)
            .copied()
            .unwrap_or(self.client_initial_window)
    }

    /// What the client may still send on `stream` (0: connection).
    pub fn send_window(&self, stream: u32) -> i64 {
        self.send_windows
            .get(&stream)
            .copied()
            .unwrap_or(self.server_initial_window)
    }

    // ---- assertions ----

    /// The GOAWAY frames the client sent (last, code).
    pub fn goaways(&self) -> Vec<(u32, ErrorCode)> {
        self.sent
            .iter()
            .filter_map(|s| match s {
                Sent::GoAway { last, code, .. } => Some((*last, *code)),
                _ => None,
            })
            .collect()
    }

    /// The RST_STREAM frames the client sent (stream, code).
    pub fn rsts(&self) -> Vec<(u32, ErrorCode)> {
        self.sent
            .iter()
            .filter_map(|s| match s {
                Sent::Rst { stream, code } => Some((*stream, *code)),
                _ => None,
            })
            .collect()
    }

    /// Asserts the client detected a connection error `code`: exactly one
    /// GOAWAY(last 0, code), no RST_STREAM, and the last event is
    /// `Closed(Protocol(ProtoError { scope: Connection, code, .. }))`.
    pub fn assert_conn_error(&self, code: ErrorCode) {
        // RFC 9113 §6.8: the last stream id names streams the *peer* opened;
        // with push disabled the server opens none, so a client sends 0.
        assert_eq!(
            self.goaways(),
            vec![(0, code)],
            "GOAWAY expected: {:?}",
            self.sent
        );
        assert_eq!(self.rsts(), vec![], "no RST_STREAM expected");
        match self.events.last() {
            Some(Event::Closed(CloseReason::Protocol(ProtoError {
                scope: Scope::Connection,
                code: c,
                ..
            }))) => assert_eq!(*c, code),
            other => panic!("expected Closed(Protocol({code:?})), last event {other:?}"),
        }
    }

    /// Asserts the client detected a stream error `code` on `stream`: it sent
    /// exactly one RST_STREAM(stream, code), no GOAWAY, and reported
    /// `StreamReset { remote: false, error: Some(stream scope, code) }`.
    pub fn assert_stream_error(&self, stream: u32, code: ErrorCode) {
        assert_eq!(
            self.goaways(),
            vec![],
            "no GOAWAY expected: {:?}",
            self.sent
        );
        assert_eq!(
            self.rsts(),
            vec![(stream, code)],
            "RST_STREAM: {:?}",
            self.sent
        );
        let sid = StreamId::new(stream);
        let found = self.events.iter().any(|e| {
            matches!(e, Event::StreamReset { stream_id, code: c, remote: false,
                error: Some(ProtoError { scope: Scope::Stream(s), code: ec, .. }) }
                if *stream_id == sid && *c == code && *s == sid && *ec == code)
        });
        assert!(
            found,
            "StreamReset event for {stream} {code:?}: {:?}",
            self.events
        );
        assert!(!self.is_closed_event(), "connection must stay up");
    }

    /// Asserts nothing bad happened: no GOAWAY, no RST_STREAM, no `Closed`.
    pub fn assert_no_error(&self) {
        assert_eq!(
            self.goaways(),
            vec![],
            "no GOAWAY expected: {:?}",
            self.sent
        );
        assert_eq!(
            self.rsts(),
            vec![],
            "no RST_STREAM expected: {:?}",
            self.sent
        );
        assert!(
            !self.is_closed_event(),
            "no Closed expected: {:?}",
            self.events
        );
    }

    /// Whether a `Closed` event was seen.
    pub fn is_closed_event(&self) -> bool {
        self.events.iter().any(|e| matches!(e, Event::Closed(_)))
    }

    /// The `Closed` reason, if any.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.events.iter().find_map(|e| match e {
            Event::Closed(r) => Some(r.clone()),
            _ => None,
        })
    }

    /// The DATA bytes the client sent on `stream`.
    pub fn data_sent(&self, stream: u32) -> Vec<u8> {
        let mut out = Vec::new();
        for s in &self.sent {
            if let Sent::Data {
                stream: st, data, ..
            } = s
            {
                if *st == stream {
                    out.extend_from_slice(data);
                }
            }
        }
        out
    }

    /// The body bytes delivered to the application for `stream`.
    pub fn data_received(&self, stream: u32) -> Vec<u8> {
        let sid = StreamId::new(stream);
        let mut out = Vec::new();
        for e in &self.events {
            if let Event::Data {
                stream_id, data, ..
            } = e
            {
                if *stream_id == sid {
                    out.extend_from_slice(data);
                }
            }
        }
        out
    }

    /// The HEADERS the client sent, as (stream, fields, end_stream).
    pub fn headers_sent(&self) -> Vec<(u32, Vec<Field>, bool)> {
        self.sent
            .iter()
            .filter_map(|s| match s {
                Sent::Headers {
                    stream,
                    fields,
                    end_stream,
                    ..
                } => Some((*stream, fields.clone(), *end_stream)),
                _ => None,
            })
            .collect()
    }

    // ---- server-side parsing and window tracking ----

    fn account_server_bytes(&mut self, bytes: &[u8]) {
        // Only the harness's own well-formed frames are accounted: tests that
        // send raw garbage do not rely on window tracking.
        let mut i = 0usize;
        while let Some(h) = bytes.get(i..i + 9) {
            let len = (usize::from(h[0]) << 16) | (usize::from(h[1]) << 8) | usize::from(h[2]);
            let kind = h[3];
            let sid = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
            let Some(payload) = bytes.get(i + 9..i + 9 + len) else {
                break;
            };
            self.wire_frames_received += 1;
            match FrameType(kind) {
                FrameType::DATA => {
                    let n = len as i64;
                    *self.recv_windows.entry(0).or_insert(65_535) -= n;
                    let init = self.client_initial_window;
                    *self.recv_windows.entry(sid).or_insert(init) -= n;
                }
                FrameType::WINDOW_UPDATE if len == 4 => {
                    let inc = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                        & 0x7fff_ffff;
                    let init = self.server_initial_window;
                    *self.send_windows.entry(sid).or_insert(init) += i64::from(inc);
                }
                FrameType::SETTINGS if h[4] & 1 == 0 && sid == 0 => {
                    for p in payload.chunks_exact(6) {
                        if u16::from_be_bytes([p[0], p[1]]) == 4 {
                            let v = i64::from(u32::from_be_bytes([p[2], p[3], p[4], p[5]]));
                            let delta = v - self.server_initial_window;
                            self.server_initial_window = v;
                            for (id, w) in self.send_windows.iter_mut() {
                                if *id != 0 {
                                    *w += delta;
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
            i += 9 + len;
        }
    }

    fn parse_client_bytes(&mut self, buf: BytesMut) {
        let mut buf = buf;
        self.out.extend_from_slice(&buf);
        if self.preface_left > 0 {
            let start = PREFACE.len() - self.preface_left;
            let n = self.preface_left.min(buf.len());
            assert_eq!(
                &buf[..n],
                &PREFACE[start..start + n],
                "client must start with the connection preface"
            );
            let _ = buf.split_to(n);
            self.preface_left -= n;
        }
        self.rx.extend_from_slice(&buf);
        loop {
            let decoded = match self.dec.decode(&mut self.rx) {
                Ok(Some(d)) => d,
                Ok(None) => break,
                Err(e) => panic!("client sent a malformed frame: {e}"),
            };
            self.wire_frames_sent += 1;
            self.record(decoded);
        }
    }

    fn record(&mut self, decoded: Decoded) {
        let Some(frame) = decoded.frame else { return };
        self.frames.push(frame.clone());
        let sent = match frame {
            Frame::Settings(s) if s.ack => Sent::SettingsAck,
            Frame::Settings(s) => {
                for p in &s.params {
                    if p.id.0 == 4 {
                        let v = i64::from(p.value);
                        let delta = v - self.client_initial_window;
                        self.client_initial_window = v;
                        for (id, w) in self.recv_windows.iter_mut() {
                            if *id != 0 {
                                *w += delta;
                            }
                        }
                    }
                }
                Sent::Settings(s.params.iter().map(|p| (p.id.0, p.value)).collect())
            }
            Frame::Headers(h) => {
                let mut fields = Vec::new();
                self.hdec
                    .decode(&h.fragment, usize::MAX, |hf| {
                        fields.push((
                            String::from_utf8_lossy(&hf.name).into_owned(),
                            String::from_utf8_lossy(&hf.value).into_owned(),
                        ))
                    })
                    .unwrap_or_else(|e| panic!("client sent a bad field block: {e:?}"));
                Sent::Headers {
                    stream: h.stream_id.value(),
                    fields,
                    end_stream: h.end_stream,
                    block: h.fragment.clone(),
                }
            }
            Frame::Data(d) => {
                let n = i64::from(d.flow_len);
                let sid = d.stream_id.value();
                let c = self.send_windows.entry(0).or_insert(65_535);
                *c -= n;
                assert!(*c >= 0, "client overran the connection window by {}", -*c);
                let init = self.server_initial_window;
                let s = self.send_windows.entry(sid).or_insert(init);
                *s -= n;
                assert!(*s >= 0, "client overran stream {sid}'s window by {}", -*s);
                Sent::Data {
                    stream: sid,
                    data: d.data,
                    end_stream: d.end_stream,
                }
            }
            Frame::RstStream(r) => Sent::Rst {
                stream: r.stream_id.value(),
                code: r.code,
            },
            Frame::Ping(p) => Sent::Ping {
                ack: p.ack,
                payload: p.payload,
            },
            Frame::GoAway(g) => Sent::GoAway {
                last: g.last_stream_id.value(),
                code: g.code,
                debug: g.debug_data,
            },
            Frame::WindowUpdate(w) => {
                let sid = w.stream_id.value();
                let init = self.client_initial_window;
                let default = if sid == 0 { 65_535 } else { init };
                *self.recv_windows.entry(sid).or_insert(default) += i64::from(w.increment);
                Sent::WindowUpdate {
                    stream: sid,
                    increment: w.increment,
                }
            }
            other => Sent::Other(other),
        };
        self.sent.push(sent);
    }
}
