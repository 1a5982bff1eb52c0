//! Connection tests against a scripted server and a virtual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod flow;
mod limits;
mod streams;

use super::*;
use crate::error::ProtoError;
use crate::frame::{
    Data, Frame, GoAway, Head, Ping, RstStream, Setting, SettingId, Settings, WindowUpdate,
};
use crate::testing::{request, wire, Peer, PREFACE, TEST_PATH};

pub(super) fn goaway_frame(code: ErrorCode, detail: &'static str) -> Frame {
    Frame::GoAway(GoAway {
        last_stream_id: StreamId::ZERO,
        code,
        debug_data: Bytes::from_static(detail.as_bytes()),
    })
}

/// Asserts the client ended with a connection error of `code` and `detail`
/// (exact frames and events; `ProtoError::conn` is crate-private, so this
/// stricter form of `Peer::assert_conn_error` lives here).
pub(super) fn assert_conn_error(t: &mut Peer, code: ErrorCode, detail: &'static str) {
    let frames = t.drain_frames();
    assert_eq!(frames.last(), Some(&goaway_frame(code, detail)));
    let err = ProtoError::conn(code, detail);
    let events = t.drain_events();
    assert_eq!(
        events.last(),
        Some(&Event::Closed(CloseReason::Protocol(err)))
    );
    assert!(t.client.is_closed());
    assert_eq!(t.drain_out().len(), 0);
    assert_eq!(t.client.poll_timeout(), None);
}

#[test]
fn new_queues_exact_preface_bytes() {
    let mut t = Peer::new(Config::default());
    let mut want = PREFACE.to_vec();
    // SETTINGS: ENABLE_PUSH=0, INITIAL_WINDOW_SIZE=65535, MAX_HEADER_LIST_SIZE=16384.
    want.extend_from_slice(&[0, 0, 18, 4, 0, 0, 0, 0, 0]);
    want.extend_from_slice(&[
        0, 2, 0, 0, 0, 0, 0, 4, 0, 0, 0xff, 0xff, 0, 6, 0, 0, 0x40, 0,
    ]);
    // WINDOW_UPDATE on stream 0 by 1 MiB - 65,535.
    want.extend_from_slice(&[0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0x0f, 0, 1]);
    assert_eq!(&t.drain_out()[..], &want[..]);
    assert_eq!(t.drain_out().len(), 0);
}

#[test]
fn new_queues_preface_settings_and_window_update() {
    let mut t = Peer::new(Config::default());
    assert_eq!(
        t.drain_frames(),
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
    assert_eq!(t.drain_out().len(), 0);
    assert_eq!(
        t.client.poll_timeout(),
        Some(t.now() + Duration::from_secs(10))
    );
    assert!(!t.client.is_closed());
}

#[test]
fn first_server_frame_must_be_settings() {
    let mut t = Peer::new(Config::default());
    t.deliver(&wire::ping([1; 8], false));
    assert_conn_error(
        &mut t,
        ErrorCode::PROTOCOL_ERROR,
        "first server frame is not SETTINGS (§3.4)",
    );
    // Sticky: later input is ignored.
    t.deliver(&wire::settings(&[]));
    assert_eq!(t.drain_events(), vec![]);
    assert_eq!(t.drain_out().len(), 0);
}

#[test]
fn settings_ack_first_is_a_protocol_error() {
    let mut t = Peer::new(Config::default());
    let _ = t.drain_frames();
    t.deliver(&wire::settings_ack());
    assert_conn_error(
        &mut t,
        ErrorCode::PROTOCOL_ERROR,
        "first server frame is not SETTINGS (§3.4)",
    );
}

#[test]
fn server_settings_are_acked_and_reported() {
    let mut t = Peer::new(Config::default());
    let _ = t.drain_frames();
    t.deliver(&wire::settings(&[
        (wire::MAX_CONCURRENT_STREAMS, 7),
        (0x99, 1),
    ]));
    assert_eq!(t.drain_frames(), vec![Frame::Settings(Settings::ack())]);
    let mut peer = settings::peer_defaults();
    peer.max_concurrent_streams = Some(7);
    assert_eq!(t.drain_events(), vec![Event::Connected(peer)]);
    t.deliver(&wire::settings(&[(wire::MAX_FRAME_SIZE, 20_000)]));
    peer.max_frame_size = 20_000;
    assert_eq!(t.drain_events(), vec![Event::SettingsChanged(peer)]);
    assert_eq!(t.drain_frames(), vec![Frame::Settings(Settings::ack())]);
    t.deliver(&wire::settings_ack());
    assert_eq!(t.drain_events(), vec![Event::SettingsAcked]);
    assert_eq!(t.client.poll_timeout(), None);
    // RFC 9113 §6.5.3 / HOSTILE E.41: an ACK with nothing outstanding.
    t.deliver(&wire::settings_ack());
    assert_conn_error(
        &mut t,
        ErrorCode::PROTOCOL_ERROR,
        "SETTINGS ACK without outstanding SETTINGS (§6.5.3)",
    );
}

#[test]
fn enable_push_from_server_is_a_protocol_error() {
    let mut t = Peer::new(Config::default());
    let _ = t.drain_frames();
    t.deliver(&wire::settings(&[(wire::ENABLE_PUSH, 1)]));
    assert_conn_error(
        &mut t,
        ErrorCode::PROTOCOL_ERROR,
        "server sent SETTINGS_ENABLE_PUSH other than 0 (§6.5.2)",
    );
}

#[test]
fn settings_timeout_closes_with_settings_timeout() {
    let mut t = Peer::new(Config::default());
    let _ = t.drain_frames();
    t.deliver(&wire::settings(&[]));
    let _ = t.drain_events();
    t.tick(Duration::from_secs(9));
    assert_eq!(t.drain_events(), vec![]);
    t.tick(Duration::from_secs(1));
    let detail = "SETTINGS not acknowledged in time (§6.5.3)";
    let frames = t.drain_frames();
    assert_eq!(
        frames.last(),
        Some(&goaway_frame(ErrorCode::SETTINGS_TIMEOUT, detail))
    );
    assert_eq!(
        t.drain_events(),
        vec![Event::Closed(CloseReason::SettingsTimeout)]
    );
    assert!(t.client.is_closed());
}

#[test]
fn ping_is_acked_ahead_of_queued_frames() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[]);
    let id = t.client.ping(t.now()).unwrap();
    t.deliver(&wire::ping(*b"12345678", false));
    let frames = t.drain_frames();
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
    t.deliver(&wire::ping([9; 8], true));
    assert_eq!(t.drain_events(), vec![]);
    t.tick(Duration::from_millis(42));
    t.deliver(&wire::ping(payload, true));
    let rtt = Duration::from_millis(42);
    assert_eq!(t.drain_events(), vec![Event::PingAck { id: Some(id), rtt }]);
    assert_eq!(t.client.rtt(), Some(rtt));
    assert_eq!(t.drain_frames(), vec![]);
}

#[test]
fn unread_ping_acks_are_bounded() {
    let mut config = Config::default();
    config.limits.max_queued_acks = 3;
    let mut t = Peer::new(config);
    t.handshake(&[]);
    for _ in 0..3 {
        t.deliver(&wire::ping([0; 8], false));
    }
    assert_eq!(t.drain_events(), vec![]);
    t.deliver(&wire::ping([0; 8], false));
    assert_conn_error(
        &mut t,
        ErrorCode::ENHANCE_YOUR_CALM,
        "too many PING/SETTINGS ACKs queued and not written",
    );
}

#[test]
fn keepalive_pings_after_idle_and_times_out() {
    let config = Config {
        keepalive: Some(
            Keepalive::new(Duration::from_secs(30), Duration::from_secs(5))
                .permit_without_calls(true),
        ),
        ..Config::default()
    };
    let mut t = Peer::new(config);
    t.handshake(&[]);
    assert_eq!(
        t.client.poll_timeout(),
        Some(t.now() + Duration::from_secs(30))
    );
    t.tick(Duration::from_secs(30));
    let frames = t.drain_frames();
    let [Frame::Ping(Ping {
        ack: false,
        payload,
    })] = frames[..]
    else {
        panic!("{frames:?}");
    };
    // The ACK (any read) cancels the timeout and re-arms the idle timer.
    t.tick(Duration::from_secs(1));
    t.deliver(&wire::ping(payload, true));
    assert_eq!(
        t.drain_events(),
        vec![Event::PingAck {
            id: None,
            rtt: Duration::from_secs(1)
        }]
    );
    assert_eq!(
        t.client.poll_timeout(),
        Some(t.now() + Duration::from_secs(30))
    );
    t.tick(Duration::from_secs(30));
    assert_eq!(t.drain_frames().len(), 1);
    t.tick(Duration::from_secs(5));
    assert_eq!(
        t.drain_events(),
        vec![Event::Closed(CloseReason::KeepaliveTimeout)]
    );
    assert!(t.client.is_closed());
    assert_eq!(
        t.client.open_stream(&[], true, t.now()),
        Err(CallError::Closed)
    );
}

#[test]
fn goaway_without_streams_closes() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[]);
    t.deliver(&wire::goaway(
        0,
        ErrorCode::ENHANCE_YOUR_CALM.0,
        b"too_many_pings",
    ));
    let info = GoAwayInfo {
        last_stream_id: StreamId::ZERO,
        code: ErrorCode::ENHANCE_YOUR_CALM,
        debug_data: Bytes::from_static(b"too_many_pings"),
        unprocessed: vec![],
        too_many_pings: true,
    };
    assert_eq!(
        t.drain_events(),
        vec![
            Event::GoAway(info.clone()),
            Event::Closed(CloseReason::GoAway(info))
        ]
    );
    assert!(t.client.is_closed());
}

/// `Limits::max_goaway_debug` caps the debug data the application sees, in
/// the `GoAway` event and in the close reason alike, at exactly the limit:
/// 8 octets arrive, 4 (or 2 with a smaller limit) are kept. An even last
/// stream id is still rejected (§6.8).
#[test]
fn goaway_debug_data_is_capped_and_even_last_id_rejected() {
    for (limit, kept) in [(4, &b"abcd"[..]), (2, &b"ab"[..]), (100, &b"abcdefgh"[..])] {
        let mut config = Config::default();
        config.limits.max_goaway_debug = limit;
        let mut t = Peer::new(config);
        t.handshake(&[]);
        t.deliver(&wire::goaway(0, ErrorCode::NO_ERROR.0, b"abcdefgh"));
        let info = GoAwayInfo {
            last_stream_id: StreamId::ZERO,
            code: ErrorCode::NO_ERROR,
            debug_data: Bytes::copy_from_slice(kept),
            unprocessed: vec![],
            too_many_pings: false,
        };
        assert_eq!(info.debug_data.len(), limit.min(8));
        assert_eq!(
            t.drain_events(),
            vec![
                Event::GoAway(info.clone()),
                Event::Closed(CloseReason::GoAway(info))
            ],
            "limit {limit}"
        );
    }

    let mut config = Config::default();
    config.limits.max_goaway_debug = 4;
    let mut t = Peer::new(config);
    t.handshake(&[]);
    t.deliver(&wire::goaway(2, ErrorCode::NO_ERROR.0, b"abcdefgh"));
    assert_conn_error(
        &mut t,
        ErrorCode::PROTOCOL_ERROR,
        "GOAWAY last stream id is not a client stream (§6.8)",
    );
}

#[test]
fn push_promise_is_a_protocol_error() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[]);
    t.deliver(&wire::push_promise(1, 2, &[]));
    assert_conn_error(
        &mut t,
        ErrorCode::PROTOCOL_ERROR,
        "PUSH_PROMISE with push disabled (§6.6)",
    );
}

#[test]
fn connection_window_overflow_is_a_flow_control_error() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[]);
    t.deliver(&wire::window_update(0, (1 << 31) - 1 - 65_535));
    assert_eq!(t.drain_events(), vec![]);
    t.deliver(&wire::window_update(0, 1));
    assert_conn_error(
        &mut t,
        ErrorCode::FLOW_CONTROL_ERROR,
        "connection window over 2^31-1 (§6.9.1)",
    );
}

#[test]
fn frames_on_streams_never_opened_are_connection_errors() {
    let cases: [(Vec<u8>, &str); 4] = [
        (
            wire::data(1, b"x", false),
            "DATA on a stream we did not open (§5.1.1)",
        ),
        (
            wire::rst(3, ErrorCode::CANCEL.0),
            "RST_STREAM on an idle stream (§6.4)",
        ),
        (
            wire::window_update(5, 1),
            "WINDOW_UPDATE on a stream we did not open (§5.1)",
        ),
        (
            wire::headers_block(2, &[0x88], true, 16_384),
            "HEADERS on a stream we did not open (§5.1.1)",
        ),
    ];
    for (bytes, detail) in cases {
        let mut t = Peer::new(Config::default());
        t.handshake(&[]);
        t.deliver(&bytes);
        assert_conn_error(&mut t, ErrorCode::PROTOCOL_ERROR, detail);
    }
}

#[test]
fn unknown_frames_are_ignored_up_to_a_budget() {
    let mut config = Config::default();
    config.limits.max_ignored_frames = 2;
    let mut t = Peer::new(config);
    t.handshake(&[]);
    let b = wire::frame(0xfa, 0, 0, &[]);
    t.deliver(&b);
    t.deliver(&b);
    assert_eq!(t.drain_events(), vec![]);
    t.deliver(&b);
    assert_conn_error(
        &mut t,
        ErrorCode::ENHANCE_YOUR_CALM,
        "too many ignored frames (PRIORITY, unknown, closed streams)",
    );
}

#[test]
fn eof_closes_the_connection() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[]);
    t.client.handle_eof(t.now());
    assert_eq!(
        t.drain_events(),
        vec![Event::Closed(CloseReason::TransportClosed)]
    );
    t.client.handle_eof(t.now());
    assert_eq!(t.drain_events(), vec![]);
    assert!(t.client.is_closed());
}
