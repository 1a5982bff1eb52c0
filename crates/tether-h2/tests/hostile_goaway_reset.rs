//! GOAWAY and RST_STREAM from the server (docs/hostile-peers.md section G,
//! items 47-53).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::Bytes;
use support::wire::{self, MAX_CONCURRENT_STREAMS};
use support::{f, ok_trailers, response_head, test_config, Peer};
use tether_h2::conn::{CallError, CloseReason, Event, GoAwayInfo};
use tether_h2::{ErrorCode, StreamId};

fn sid(v: u32) -> StreamId {
    StreamId::new(v)
}

fn goaway_event(p: &Peer) -> GoAwayInfo {
    p.events
        .iter()
        .find_map(|e| match e {
            Event::GoAway(i) => Some(i.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no GoAway event: {:?}", p.events))
}

/// HOSTILE G47: GOAWAY(last = 3): stream 5 is unprocessed (and listed only
/// there), streams 1 and 3 finish, no new streams; then the connection closes.
#[test]
fn g47_goaway_lists_streams_above_last_as_unprocessed() {
    let mut p = Peer::established();
    for _ in 0..3 {
        p.open(true);
    }
    p.recv(&wire::goaway(3, 0, b"bye"));
    let info = goaway_event(&p);
    assert_eq!(info.last_stream_id, sid(3));
    assert_eq!(info.code, ErrorCode::NO_ERROR);
    assert_eq!(info.debug_data, Bytes::from_static(b"bye"));
    assert_eq!(info.unprocessed, vec![sid(5)]);
    assert!(!info.too_many_pings);
    assert!(!p
        .events
        .iter()
        .any(|e| matches!(e, Event::StreamReset { .. })));
    assert!(!p.is_closed_event(), "streams 1 and 3 are still running");
    assert_eq!(
        p.try_open(&support::request("/x"), true),
        Err(CallError::Closed)
    );
    p.assert_no_error();

    p.respond(1, b"one");
    p.respond(3, b"three");
    assert_eq!(p.data_received(1), b"one");
    assert_eq!(p.data_received(3), b"three");
    assert_eq!(p.close_reason(), Some(CloseReason::GoAway(info)));
    // Frames for the unprocessed stream after GOAWAY would be a server bug;
    // the client has nothing more to say.
    assert_eq!(p.goaways(), vec![]);
}

/// HOSTILE G47: streams still queued behind MAX_CONCURRENT_STREAMS are unprocessed too.
#[test]
fn g47_queued_streams_are_unprocessed() {
    let mut p = Peer::established_with(test_config(), &[(MAX_CONCURRENT_STREAMS, 2)]);
    for _ in 0..4 {
        p.open(true);
    }
    assert_eq!(p.headers_sent().len(), 2, "streams 5 and 7 wait");
    p.recv(&wire::goaway(1, 0, b""));
    assert_eq!(goaway_event(&p).unprocessed, vec![sid(3), sid(5), sid(7)]);
    p.take_sent();
    p.respond(1, b"");
    assert_eq!(p.headers_sent(), vec![], "queued streams never start");
    assert!(matches!(p.close_reason(), Some(CloseReason::GoAway(_))));
}

/// HOSTILE G48: two-phase GOAWAY (2^31-1, then N) is fine.
#[test]
fn g48_two_phase_goaway_is_accepted() {
    let mut p = Peer::established();
    p.open(true);
    p.open(true);
    p.recv(&wire::goaway((1 << 31) - 1, 0, b""));
    assert_eq!(goaway_event(&p).unprocessed, vec![]);
    p.take_events();
    p.recv(&wire::goaway(1, 0, b""));
    assert_eq!(goaway_event(&p).unprocessed, vec![sid(3)]);
    p.assert_no_error();
    p.respond(1, b"done");
    assert_eq!(p.data_received(1), b"done");
    assert!(matches!(p.close_reason(), Some(CloseReason::GoAway(_))));
}

/// HOSTILE G48: a later GOAWAY with a higher last id (§6.8 "MUST NOT increase"): CE(PROTOCOL_ERROR).
#[test]
fn g48_goaway_raising_last_id_is_protocol_error() {
    let mut p = Peer::established();
    p.open(true);
    p.open(true);
    p.recv(&wire::goaway(1, 0, b""));
    p.recv(&wire::goaway(3, 0, b""));
    p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
}

/// HOSTILE G48: an even last stream id cannot name a client stream: CE(PROTOCOL_ERROR).
#[test]
fn g48_goaway_even_last_id_is_protocol_error() {
    let mut p = Peer::established();
    p.open(true);
    p.recv(&wire::goaway(2, 0, b""));
    p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
}

/// HOSTILE G49: unknown error codes survive in GOAWAY and RST_STREAM (§7).
#[test]
fn g49_unknown_error_codes_are_kept() {
    let mut p = Peer::established();
    p.open(true);
    p.open(true);
    p.recv(&wire::rst(1, 0xdead));
    assert_eq!(
        p.events,
        vec![Event::StreamReset {
            stream_id: sid(1),
            code: ErrorCode(0xdead),
            remote: true,
            error: None
        }]
    );
    p.recv(&wire::goaway(3, 0xbeef, b""));
    assert_eq!(goaway_event(&p).code, ErrorCode(0xbeef));
    assert_eq!(p.goaways(), vec![]);
    assert_eq!(p.rsts(), vec![], "never answer an RST_STREAM with one");
}

/// HOSTILE G50: RST_STREAM on an idle stream: CE(PROTOCOL_ERROR) (§6.4).
#[test]
fn g50_rst_stream_on_idle_stream_is_protocol_error() {
    for idle in [3, 2, 101] {
        let mut p = Peer::established();
        p.open(true);
        p.recv(&wire::rst(idle, 8));
        p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
    }
}

/// HOSTILE G51: the RST_STREAM code reaches the application unchanged.
#[test]
fn g51_rst_stream_codes_reach_the_application() {
    for code in [
        ErrorCode::NO_ERROR,
        ErrorCode::REFUSED_STREAM,
        ErrorCode::CANCEL,
        ErrorCode::ENHANCE_YOUR_CALM,
        ErrorCode::INADEQUATE_SECURITY,
        ErrorCode::FLOW_CONTROL_ERROR,
    ] {
        let mut p = Peer::established();
        p.open(false);
        p.take_sent();
        p.recv(&wire::rst(1, code.0));
        assert_eq!(
            p.events,
            vec![Event::StreamReset {
                stream_id: sid(1),
                code,
                remote: true,
                error: None
            }],
            "{code:?}"
        );
        assert_eq!(p.sent, vec![]);
        // The stream is gone: sending on it is an error, not a panic.
        assert!(p
            .client
            .send_data(sid(1), Bytes::from_static(b"x"), true)
            .is_err());
    }
}

/// HOSTILE G52: RST_STREAM(NO_ERROR) after a complete response keeps it (§8.1).
#[test]
fn g52_rst_no_error_after_complete_response_keeps_it() {
    let mut p = Peer::established();
    p.open(true);
    p.respond(1, b"payload");
    p.recv(&wire::rst(1, 0));
    assert_eq!(p.data_received(1), b"payload");
    assert!(matches!(p.events.last(), Some(Event::Trailers { .. })));
    assert!(!p
        .events
        .iter()
        .any(|e| matches!(e, Event::StreamReset { .. })));
    p.assert_no_error();
}

/// HOSTILE G52: the server answers early (trailers while we still send) and
/// resets with NO_ERROR: the response stands; our sending stops.
#[test]
fn g52_early_response_then_rst_no_error() {
    let mut p = Peer::established();
    let id = p.open(false);
    p.send_headers(1, &response_head(), false);
    p.send_headers(1, &ok_trailers(), true);
    p.recv(&wire::rst(1, 0));
    assert!(p.events.iter().any(|e| matches!(e, Event::Trailers { .. })));
    p.take_sent();
    let _ = p.client.send_data(id, Bytes::from_static(b"late"), true);
    p.step();
    assert_eq!(
        p.data_sent(1),
        b"",
        "nothing is sent after the server's RST_STREAM"
    );
    assert_eq!(p.rsts(), vec![]);
    assert_eq!(p.goaways(), vec![]);
}

/// HOSTILE G53: never answer an RST_STREAM with an RST_STREAM (§5.4.2);
/// DATA after the server's RST_STREAM is SE(STREAM_CLOSED) (§5.1).
#[test]
fn g53_frames_after_server_reset_are_stream_closed() {
    let mut p = Peer::established();
    p.open(true);
    p.open(true);
    p.send_headers(1, &response_head(), false);
    p.take_sent();
    p.recv(&wire::rst(1, 8));
    assert_eq!(p.sent, vec![]);
    p.take_events();
    p.send_data(1, b"late", false);
    assert_eq!(p.rsts(), vec![(1, ErrorCode::STREAM_CLOSED)]);
    assert_eq!(p.goaways(), vec![]);
    assert_eq!(p.data_received(1), b"");
    // Stream 3 is unaffected.
    p.respond(3, b"fine");
    assert_eq!(p.data_received(3), b"fine");
}

/// Our own close(): GOAWAY(NO_ERROR) with last 0, running streams finish, then Closed(Local).
#[test]
fn local_close_drains_streams() {
    let mut p = Peer::established();
    p.open(true);
    let now = p.now();
    p.client.close(ErrorCode::NO_ERROR, now);
    p.step();
    assert_eq!(p.goaways(), vec![(0, ErrorCode::NO_ERROR)]);
    assert_eq!(
        p.try_open(&[f(":method", "POST")], true),
        Err(CallError::Closed)
    );
    assert!(!p.is_closed_event());
    p.respond(1, b"last");
    assert_eq!(p.data_received(1), b"last");
    assert_eq!(p.close_reason(), Some(CloseReason::Local));
}
