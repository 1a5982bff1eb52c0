//! Connection tests against a scripted server and a virtual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod flow;
mod limits;
mod streams;

use super::lifecycle::PREFACE;
use super::*;
use crate::error::ProtoError;
use crate::frame::{
    Data, Frame, FrameDecoder, GoAway, Head, Headers, Ping, PushPromise, RstStream, Setting,
    SettingId, Settings, WindowUpdate,
};
use crate::hpack::HeaderField;

/// A client connection, the server's view of its output, and a clock.
pub(super) struct T {
    pub(super) c: Connection,
    pub(super) now: Instant,
    dec: FrameDecoder,
    preface_seen: bool,
    /// Decodes the client's header blocks, in order.
    hdec: crate::hpack::Decoder,
    /// The server's HPACK encoder.
    pub(super) enc: crate::hpack::Encoder,
    /// Every header block the client sent, decoded.
    pub(super) blocks: Vec<Vec<HeaderField>>,
}

impl T {
    pub(super) fn new(config: Config) -> T {
        let now = Instant::now();
        T {
            c: Connection::new(config, now),
            now,
            dec: FrameDecoder::new(crate::frame::DecoderLimits {
                max_frame_size: crate::frame::MAX_MAX_FRAME_SIZE,
                ..Default::default()
            }),
            preface_seen: false,
            hdec: crate::hpack::Decoder::new(4096),
            enc: crate::hpack::Encoder::new(4096),
            blocks: Vec::new(),
        }
    }

    /// Raw bytes the client wants to write.
    pub(super) fn out(&mut self) -> BytesMut {
        let mut b = BytesMut::new();
        let n = self.c.poll_transmit(&mut b);
        assert_eq!(n, b.len());
        b
    }

    /// The frames the client wrote (after the preface).
    pub(super) fn frames(&mut self) -> Vec<Frame> {
        let mut b = self.out();
        if !self.preface_seen {
            assert_eq!(&b[..24], PREFACE);
            let _ = b.split_to(24);
            self.preface_seen = true;
        }
        let mut v = Vec::new();
        while let Some(d) = self.dec.decode(&mut b).unwrap() {
            if let Some(f) = d.frame {
                if let Frame::Headers(h) = &f {
                    let mut fields = Vec::new();
                    self.hdec
                        .decode(&h.fragment, 1 << 20, |f| fields.push(f))
                        .unwrap();
                    self.blocks.push(fields);
                }
                v.push(f);
            }
        }
        assert!(b.is_empty());
        v
    }

    pub(super) fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.c.poll_event()).collect()
    }

    pub(super) fn read(&mut self, bytes: &[u8]) {
        self.c.handle_read(bytes, self.now);
    }

    pub(super) fn advance(&mut self, d: Duration) {
        self.now += d;
        if self.c.poll_timeout().is_some_and(|t| t <= self.now) {
            self.c.handle_timeout(self.now);
        }
    }

    /// Server SETTINGS (given params) and an ACK of ours; output drained.
    pub(super) fn handshake(&mut self, params: &[(SettingId, u32)]) {
        let _ = self.frames();
        self.read(&settings(params));
        self.read(&settings_ack());
        let _ = self.frames();
        let _ = self.events();
    }
}

pub(super) fn settings(params: &[(SettingId, u32)]) -> BytesMut {
    let mut b = BytesMut::new();
    Settings {
        ack: false,
        params: params
            .iter()
            .map(|&(id, value)| Setting { id, value })
            .collect(),
    }
    .encode(&mut b);
    b
}

pub(super) fn settings_ack() -> BytesMut {
    let mut b = BytesMut::new();
    Settings::ack().encode(&mut b);
    b
}

pub(super) fn ping(ack: bool, payload: [u8; 8]) -> BytesMut {
    let mut b = BytesMut::new();
    Ping { ack, payload }.encode(&mut b);
    b
}

pub(super) fn goaway(last: u32, code: ErrorCode, debug: &'static [u8]) -> BytesMut {
    let mut b = BytesMut::new();
    GoAway {
        last_stream_id: StreamId::new(last),
        code,
        debug_data: Bytes::from_static(debug),
    }
    .encode(&mut b);
    b
}

pub(super) fn window_update(id: u32, increment: u32) -> BytesMut {
    let mut b = BytesMut::new();
    WindowUpdate {
        stream_id: StreamId::new(id),
        increment,
    }
    .encode(&mut b);
    b
}

pub(super) fn goaway_frame(code: ErrorCode, detail: &'static str) -> Frame {
    Frame::GoAway(GoAway {
        last_stream_id: StreamId::ZERO,
        code,
        debug_data: Bytes::from_static(detail.as_bytes()),
    })
}

/// Asserts the client ended with a connection error of `code` and `detail`.
pub(super) fn assert_conn_error(t: &mut T, code: ErrorCode, detail: &'static str) {
    let frames = t.frames();
    assert_eq!(frames.last(), Some(&goaway_frame(code, detail)));
    let err = ProtoError::conn(code, detail);
    let events = t.events();
    assert_eq!(
        events.last(),
        Some(&Event::Closed(CloseReason::Protocol(err)))
    );
    assert!(t.c.is_closed());
    assert_eq!(t.out().len(), 0);
    assert_eq!(t.c.poll_timeout(), None);
}

#[test]
fn new_queues_exact_preface_bytes() {
    let mut t = T::new(Config::default());
    let mut want = PREFACE.to_vec();
    // SETTINGS: ENABLE_PUSH=0, INITIAL_WINDOW_SIZE=65535, MAX_HEADER_LIST_SIZE=16384.
    want.extend_from_slice(&[0, 0, 18, 4, 0, 0, 0, 0, 0]);
    want.extend_from_slice(&[
        0, 2, 0, 0, 0, 0, 0, 4, 0, 0, 0xff, 0xff, 0, 6, 0, 0, 0x40, 0,
    ]);
    // WINDOW_UPDATE on stream 0 by 1 MiB - 65,535.
    want.extend_from_slice(&[0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0x0f, 0, 1]);
    assert_eq!(&t.out()[..], &want[..]);
    assert_eq!(t.out().len(), 0);
}

#[test]
fn new_queues_preface_settings_and_window_update() {
    let mut t = T::new(Config::default());
    assert_eq!(
        t.frames(),
        vec![
            Frame::Settings(Settings {
                ack: false,
                params: vec![
                    Setting {
                        id: SettingId::ENABLE_PUSH,
                        value: 0
                    },
                    Setting {
                        id: SettingId::INITIAL_WINDOW_SIZE,
                        value: 65_535
                    },
                    Setting {
                        id: SettingId::MAX_HEADER_LIST_SIZE,
                        value: 16_384
                    },
                ],
            }),
            Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::ZERO,
                increment: 1024 * 1024 - 65_535,
            }),
        ]
    );
    assert_eq!(t.out().len(), 0);
    assert_eq!(t.c.poll_timeout(), Some(t.now + Duration::from_secs(10)));
    assert!(!t.c.is_closed());
}

#[test]
fn first_server_frame_must_be_settings() {
    let mut t = T::new(Config::default());
    t.read(&ping(false, [1; 8]));
    assert_conn_error(
        &mut t,
        ErrorCode::PROTOCOL_ERROR,
        "first server frame is not SETTINGS (§3.4)",
    );
    // Sticky: later input is ignored.
    t.read(&settings(&[]));
    assert_eq!(t.events(), vec![]);
    assert_eq!(t.out().len(), 0);
}

#[test]
fn settings_ack_first_is_a_protocol_error() {
    let mut t = T::new(Config::default());
    let _ = t.frames();
    t.read(&settings_ack());
    assert_conn_error(
        &mut t,
        ErrorCode::PROTOCOL_ERROR,
        "first server frame is not SETTINGS (§3.4)",
    );
}

#[test]
fn server_settings_are_acked_and_reported() {
    let mut t = T::new(Config::default());
    let _ = t.frames();
    t.read(&settings(&[
        (SettingId::MAX_CONCURRENT_STREAMS, 7),
        (SettingId(0x99), 1),
    ]));
    assert_eq!(t.frames(), vec![Frame::Settings(Settings::ack())]);
    let mut peer = settings::peer_defaults();
    peer.max_concurrent_streams = Some(7);
    assert_eq!(t.events(), vec![Event::Connected(peer)]);
    t.read(&settings(&[(SettingId::MAX_FRAME_SIZE, 20_000)]));
    peer.max_frame_size = 20_000;
    assert_eq!(t.events(), vec![Event::SettingsChanged(peer)]);
    assert_eq!(t.frames(), vec![Frame::Settings(Settings::ack())]);
    t.read(&settings_ack());
    assert_eq!(t.events(), vec![Event::SettingsAcked]);
    assert_eq!(t.c.poll_timeout(), None);
    // RFC 9113 §6.5.3 / HOSTILE E.41: an ACK with nothing outstanding.
    t.read(&settings_ack());
    assert_conn_error(
        &mut t,
        ErrorCode::PROTOCOL_ERROR,
        "SETTINGS ACK without outstanding SETTINGS (§6.5.3)",
    );
}

#[test]
fn enable_push_from_server_is_a_protocol_error() {
    let mut t = T::new(Config::default());
    let _ = t.frames();
    t.read(&settings(&[(SettingId::ENABLE_PUSH, 1)]));
    assert_conn_error(
        &mut t,
        ErrorCode::PROTOCOL_ERROR,
        "server sent SETTINGS_ENABLE_PUSH other than 0 (§6.5.2)",
    );
}

#[test]
fn settings_timeout_closes_with_settings_timeout() {
    let mut t = T::new(Config::default());
    let _ = t.frames();
    t.read(&settings(&[]));
    let _ = t.events();
    t.advance(Duration::from_secs(9));
    assert_eq!(t.events(), vec![]);
    t.advance(Duration::from_secs(1));
    let detail = "SETTINGS not acknowledged in time (§6.5.3)";
    let frames = t.frames();
    assert_eq!(
        frames.last(),
        Some(&goaway_frame(ErrorCode::SETTINGS_TIMEOUT, detail))
    );
    assert_eq!(
        t.events(),
        vec![Event::Closed(CloseReason::SettingsTimeout)]
    );
    assert!(t.c.is_closed());
}

#[test]
fn ping_is_acked_ahead_of_queued_frames() {
    let mut t = T::new(Config::default());
    t.handshake(&[]);
    let id = t.c.ping(t.now);
    t.read(&ping(false, *b"12345678"));
    let frames = t.frames();
    assert_eq!(frames.len(), 2);
    assert_eq!(
        frames[0],
        Frame::Ping(Ping {
            ack: true,
            payload: *b"12345678"
        })
    );
    let Frame::Ping(Ping {
        ack: false,
        payload,
    }) = frames[1]
    else {
        panic!("{frames:?}");
    };
    // An unknown ACK is ignored; ours reports the RTT.
    t.read(&ping(true, [9; 8]));
    assert_eq!(t.events(), vec![]);
    t.now += Duration::from_millis(42);
    t.read(&ping(true, payload));
    let rtt = Duration::from_millis(42);
    assert_eq!(t.events(), vec![Event::PingAck { id: Some(id), rtt }]);
    assert_eq!(t.c.rtt(), Some(rtt));
    assert_eq!(t.frames(), vec![]);
}

#[test]
fn unread_ping_acks_are_bounded() {
    let mut config = Config::default();
    config.limits.max_queued_acks = 3;
    let mut t = T::new(config);
    t.handshake(&[]);
    for _ in 0..3 {
        t.read(&ping(false, [0; 8]));
    }
    assert_eq!(t.events(), vec![]);
    t.read(&ping(false, [0; 8]));
    assert_conn_error(
        &mut t,
        ErrorCode::ENHANCE_YOUR_CALM,
        "too many PING/SETTINGS ACKs queued and not written",
    );
}

#[test]
fn keepalive_pings_after_idle_and_times_out() {
    let config = Config {
        keepalive: Some(Keepalive {
            time: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            permit_without_calls: true,
        }),
        ..Config::default()
    };
    let mut t = T::new(config);
    t.handshake(&[]);
    assert_eq!(t.c.poll_timeout(), Some(t.now + Duration::from_secs(30)));
    t.advance(Duration::from_secs(30));
    let frames = t.frames();
    let [Frame::Ping(Ping {
        ack: false,
        payload,
    })] = frames[..]
    else {
        panic!("{frames:?}");
    };
    // The ACK (any read) cancels the timeout and re-arms the idle timer.
    t.advance(Duration::from_secs(1));
    t.read(&ping(true, payload));
    assert_eq!(
        t.events(),
        vec![Event::PingAck {
            id: None,
            rtt: Duration::from_secs(1)
        }]
    );
    assert_eq!(t.c.poll_timeout(), Some(t.now + Duration::from_secs(30)));
    t.advance(Duration::from_secs(30));
    assert_eq!(t.frames().len(), 1);
    t.advance(Duration::from_secs(5));
    assert_eq!(
        t.events(),
        vec![Event::Closed(CloseReason::KeepaliveTimeout)]
    );
    assert!(t.c.is_closed());
    assert_eq!(t.c.open_stream(&[], true, t.now), Err(CallError::Closed));
}

#[test]
fn goaway_without_streams_closes() {
    let mut t = T::new(Config::default());
    t.handshake(&[]);
    t.read(&goaway(0, ErrorCode::ENHANCE_YOUR_CALM, b"too_many_pings"));
    let info = GoAwayInfo {
        last_stream_id: StreamId::ZERO,
        code: ErrorCode::ENHANCE_YOUR_CALM,
        debug_data: Bytes::from_static(b"too_many_pings"),
        unprocessed: vec![],
        too_many_pings: true,
    };
    assert_eq!(
        t.events(),
        vec![
            Event::GoAway(info.clone()),
            Event::Closed(CloseReason::GoAway(info))
        ]
    );
    assert!(t.c.is_closed());
}

#[test]
fn goaway_debug_data_is_capped_and_even_last_id_rejected() {
    let mut config = Config::default();
    config.limits.max_goaway_debug = 4;
    let mut t = T::new(config);
    t.handshake(&[]);
    t.read(&goaway(2, ErrorCode::NO_ERROR, b"abcdefgh"));
    assert_conn_error(
        &mut t,
        ErrorCode::PROTOCOL_ERROR,
        "GOAWAY last stream id is not a client stream (§6.8)",
    );
}

#[test]
fn push_promise_is_a_protocol_error() {
    let mut t = T::new(Config::default());
    t.handshake(&[]);
    let mut b = BytesMut::new();
    PushPromise {
        stream_id: StreamId::new(1),
        promised_id: StreamId::new(2),
        end_headers: true,
        fragment: Bytes::new(),
    }
    .encode(&mut b);
    t.read(&b);
    assert_conn_error(
        &mut t,
        ErrorCode::PROTOCOL_ERROR,
        "PUSH_PROMISE with push disabled (§6.6)",
    );
}

#[test]
fn connection_window_overflow_is_a_flow_control_error() {
    let mut t = T::new(Config::default());
    t.handshake(&[]);
    t.read(&window_update(0, (1 << 31) - 1 - 65_535));
    assert_eq!(t.events(), vec![]);
    t.read(&window_update(0, 1));
    assert_conn_error(
        &mut t,
        ErrorCode::FLOW_CONTROL_ERROR,
        "connection window over 2^31-1 (§6.9.1)",
    );
}

#[test]
fn frames_on_streams_never_opened_are_connection_errors() {
    let cases: [(BytesMut, &str); 4] = [
        (
            {
                let mut b = BytesMut::new();
                Data::encode(StreamId::new(1), b"x", false, &mut b);
                b
            },
            "DATA on a stream we did not open (§5.1.1)",
        ),
        (
            {
                let mut b = BytesMut::new();
                RstStream {
                    stream_id: StreamId::new(3),
                    code: ErrorCode::CANCEL,
                }
                .encode(&mut b);
                b
            },
            "RST_STREAM on an idle stream (§6.4)",
        ),
        (
            window_update(5, 1),
            "WINDOW_UPDATE on a stream we did not open (§5.1)",
        ),
        (
            {
                let mut b = BytesMut::new();
                Headers::encode_block(StreamId::new(2), &[0x88], true, 16_384, &mut b);
                b
            },
            "HEADERS on a stream we did not open (§5.1.1)",
        ),
    ];
    for (bytes, detail) in cases {
        let mut t = T::new(Config::default());
        t.handshake(&[]);
        t.read(&bytes);
        assert_conn_error(&mut t, ErrorCode::PROTOCOL_ERROR, detail);
    }
}

#[test]
fn unknown_frames_are_ignored_up_to_a_budget() {
    let mut config = Config::default();
    config.limits.max_ignored_frames = 2;
    let mut t = T::new(config);
    t.handshake(&[]);
    let mut b = BytesMut::new();
    Head {
        length: 0,
        kind: crate::frame::FrameType(0xfa),
        flags: 0,
        stream_id: StreamId::ZERO,
    }
    .encode(&mut b);
    t.read(&b);
    t.read(&b);
    assert_eq!(t.events(), vec![]);
    t.read(&b);
    assert_conn_error(
        &mut t,
        ErrorCode::ENHANCE_YOUR_CALM,
        "too many ignored frames (PRIORITY, unknown, closed streams)",
    );
}

#[test]
fn eof_closes_the_connection() {
    let mut t = T::new(Config::default());
    t.handshake(&[]);
    t.c.handle_eof(t.now);
    assert_eq!(
        t.events(),
        vec![Event::Closed(CloseReason::TransportClosed)]
    );
    t.c.handle_eof(t.now);
    assert_eq!(t.events(), vec![]);
    assert!(t.c.is_closed());
}
