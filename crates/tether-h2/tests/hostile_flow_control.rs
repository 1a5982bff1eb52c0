//! Flow-control abuse (docs/hostile-peers.md section I, items 60-65).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::Bytes;
use support::wire::{self};
use support::{f, response_head, test_config, Peer};
use tether_h2::conn::Event;
use tether_h2::{ErrorCode, StreamId};

/// Established client with stream 1 open for sending and its response head in.
fn sending_stream() -> Peer {
    let mut p = Peer::established();
    p.open(false);
    p.send_headers(1, &response_head(), false);
    p.take_sent();
    p.take_events();
    p
}

/// HOSTILE I60: WINDOW_UPDATE increment 0: SE(PROTOCOL_ERROR) on a stream (§6.9).
#[test]
fn i60_zero_increment_on_stream_is_stream_protocol_error() {
    let mut p = sending_stream();
    p.recv(&wire::window_update(1, 0));
    p.assert_stream_error(1, ErrorCode::PROTOCOL_ERROR);
}

/// HOSTILE I60: WINDOW_UPDATE increment 0 on stream 0: CE(PROTOCOL_ERROR) (§6.9).
#[test]
fn i60_zero_increment_on_connection_is_protocol_error() {
    let mut p = sending_stream();
    p.recv(&wire::window_update(0, 0));
    p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
}

/// HOSTILE I61: a stream window past 2^31-1: SE(FLOW_CONTROL_ERROR) (§6.9.1).
#[test]
fn i61_stream_window_overflow_is_stream_flow_control_error() {
    let mut p = sending_stream();
    p.recv(&wire::window_update(1, (1 << 31) - 1 - 65_535));
    p.assert_no_error();
    p.recv(&wire::window_update(1, 1));
    p.assert_stream_error(1, ErrorCode::FLOW_CONTROL_ERROR);
}

/// HOSTILE I61: the connection window past 2^31-1: CE(FLOW_CONTROL_ERROR) (§6.9.1).
#[test]
fn i61_connection_window_overflow_is_flow_control_error() {
    let mut p = sending_stream();
    p.recv(&wire::window_update(0, (1 << 31) - 1 - 65_535));
    p.assert_no_error();
    p.recv(&wire::window_update(0, 1));
    p.assert_conn_error(ErrorCode::FLOW_CONTROL_ERROR);
}

/// HOSTILE I62: DATA beyond the stream window: SE(FLOW_CONTROL_ERROR) (§6.9.1).
#[test]
fn i62_data_beyond_stream_window_is_stream_flow_control_error() {
    let mut p = sending_stream();
    // Our stream window is 65,535: four 16,384-byte frames are one byte too many.
    for _ in 0..3 {
        p.send_data(1, &[0; 16_384], false);
    }
    p.assert_no_error();
    p.send_data(1, &[0; 16_384], false);
    p.assert_stream_error(1, ErrorCode::FLOW_CONTROL_ERROR);
}

/// HOSTILE I62: DATA beyond the connection window: CE(FLOW_CONTROL_ERROR) (§6.9.1).
#[test]
fn i62_data_beyond_connection_window_is_flow_control_error() {
    let mut cfg = test_config();
    cfg.initial_connection_window = 65_535;
    cfg.initial_stream_window = 1 << 20;
    let mut p = Peer::established_with(cfg, &[]);
    p.open(true);
    p.send_headers(1, &response_head(), false);
    for _ in 0..3 {
        p.send_data(1, &[0; 16_384], false);
    }
    p.assert_no_error();
    p.send_data(1, &[0; 16_384], false);
    p.assert_conn_error(ErrorCode::FLOW_CONTROL_ERROR);
}

/// HOSTILE I63: DATA (with padding) on a stream we reset is counted and the
/// connection window credited back, or the connection would deadlock.
#[test]
fn i63_data_on_reset_stream_is_credited_back() {
    let mut cfg = test_config();
    cfg.initial_connection_window = 65_535;
    let mut p = Peer::established_with(cfg, &[]);
    p.open(true);
    p.open(true);
    p.send_headers(1, &response_head(), false);
    p.client.reset(StreamId::new(1), ErrorCode::CANCEL).unwrap();
    p.step();
    assert_eq!(p.rsts(), vec![(1, ErrorCode::CANCEL)]);
    p.take_sent();
    p.take_events();
    // In flight before the server saw our RST_STREAM: the whole window.
    p.send_data(1, &[1; 16_384], false);
    p.send_data(1, &[1; 16_384], false);
    p.recv(&wire::data_padded(1, &[1; 16_000], 255, false));
    p.send_data(1, &[1; 16_384], false);
    p.send_data(1, &[1; 127], true);
    assert_eq!(p.events, vec![], "nothing reaches the application");
    p.assert_no_error();
    assert_eq!(
        p.recv_window(0),
        65_535,
        "the whole connection window is back"
    );
    // Stream 3 can use it.
    p.send_headers(3, &response_head(), false);
    for _ in 0..4 {
        p.send_data(3, &[2; 16_000], false);
    }
    assert_eq!(p.data_received(3).len(), 64_000);
    p.assert_no_error();
}

/// HOSTILE G47 with I63: after a server RST_STREAM and a GOAWAY(last = 3),
/// stream 3 keeps receiving through a small connection window.
#[test]
fn g47_streams_at_or_below_goaway_last_keep_flowing() {
    let mut cfg = test_config();
    cfg.initial_connection_window = 65_535;
    let mut p = Peer::established_with(cfg, &[]);
    p.open(true);
    p.open(true);
    p.send_headers(1, &response_head(), false);
    p.recv(&wire::rst(1, 8));
    p.take_events();
    p.recv(&wire::goaway(3, 0, b""));
    p.send_headers(3, &response_head(), false);
    for _ in 0..8 {
        p.send_data(3, &[2; 16_000], false);
        p.client.release_capacity(StreamId::new(3), 16_000);
        p.step();
    }
    assert_eq!(p.data_received(3).len(), 128_000);
    p.assert_no_error();
}

/// HOSTILE I64: WINDOW_UPDATE on a just-closed stream is ignored (§5.1).
#[test]
fn i64_window_update_on_closed_stream_is_ignored() {
    let mut p = Peer::established();
    p.open(true);
    p.send_headers(1, &[f(":status", "200"), f("grpc-status", "0")], true);
    p.take_sent();
    p.recv(&wire::window_update(1, 100));
    p.recv(&wire::rst(1, 0));
    assert_eq!(p.sent, vec![]);
    p.assert_no_error();
}

/// HOSTILE I65: a window stuck at 0 never times out inside the core: the
/// application's deadline decides, and reset() cancels the stream.
#[test]
fn i65_window_stuck_at_zero_waits_for_the_application() {
    let mut p = Peer::established_with(test_config(), &[(wire::INITIAL_WINDOW_SIZE, 0)]);
    let id = p.open(false);
    p.client
        .send_data(id, Bytes::from_static(b"message"), true)
        .unwrap();
    p.step();
    assert_eq!(p.data_sent(1), b"");
    p.run_until_idle(std::time::Duration::from_secs(3600), 100);
    assert_eq!(p.data_sent(1), b"", "no DATA without window");
    assert!(!p
        .events
        .iter()
        .any(|e| matches!(e, Event::StreamReset { .. })));
    p.client.reset(id, ErrorCode::CANCEL).unwrap();
    p.step();
    assert_eq!(p.rsts(), vec![(1, ErrorCode::CANCEL)]);
    assert_eq!(p.goaways(), vec![]);
    // A stale id afterwards is an error, not a panic.
    assert!(p
        .client
        .send_data(id, Bytes::from_static(b"x"), true)
        .is_err());
    assert!(p
        .client
        .reset(StreamId::new(1001), ErrorCode::CANCEL)
        .is_err());
}
