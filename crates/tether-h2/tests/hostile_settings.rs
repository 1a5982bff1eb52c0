//! SETTINGS from the server (docs/hostile-peers.md section E, items 34-38,
//! 40-42; E39 lives with flow control in conn_flow_control.rs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::wire::{self, *};
use support::{f, request, test_config, Peer, Sent};
use tether_h2::conn::{CallError, Event};
use tether_h2::{ErrorCode, StreamId};

fn settings_error(params: &[(u16, u32)], code: ErrorCode) {
    // Both in the first SETTINGS and in a later one.
    let mut p = Peer::new(test_config());
    p.take_sent();
    p.recv(&wire::settings(params));
    assert_eq!(p.goaways(), vec![(0, code)], "first SETTINGS {params:?}");
    p.assert_conn_error(code);
    assert!(
        !p.sent.contains(&Sent::SettingsAck),
        "a bad SETTINGS is not ACKed"
    );

    let mut p = Peer::established();
    p.recv(&wire::settings(params));
    assert_eq!(p.goaways(), vec![(0, code)], "later SETTINGS {params:?}");
    p.assert_conn_error(code);
}

/// HOSTILE E34: INITIAL_WINDOW_SIZE > 2^31-1: CE(FLOW_CONTROL_ERROR) (§6.5.2).
#[test]
fn e34_initial_window_too_large_is_flow_control_error() {
    settings_error(
        &[(INITIAL_WINDOW_SIZE, 1 << 31)],
        ErrorCode::FLOW_CONTROL_ERROR,
    );
    settings_error(
        &[(INITIAL_WINDOW_SIZE, u32::MAX)],
        ErrorCode::FLOW_CONTROL_ERROR,
    );
}

/// HOSTILE E34: MAX_FRAME_SIZE outside [16384, 16777215]: CE(PROTOCOL_ERROR) (§6.5.2).
#[test]
fn e34_max_frame_size_out_of_range_is_protocol_error() {
    settings_error(&[(MAX_FRAME_SIZE, 16_383)], ErrorCode::PROTOCOL_ERROR);
    settings_error(&[(MAX_FRAME_SIZE, 0)], ErrorCode::PROTOCOL_ERROR);
    settings_error(&[(MAX_FRAME_SIZE, 16_777_216)], ErrorCode::PROTOCOL_ERROR);
}

/// The edges of the MAX_FRAME_SIZE and INITIAL_WINDOW_SIZE ranges are valid.
#[test]
fn e34_range_edges_are_accepted() {
    let mut p = Peer::new(test_config());
    p.recv(&wire::settings(&[
        (MAX_FRAME_SIZE, 16_777_215),
        (INITIAL_WINDOW_SIZE, (1 << 31) - 1),
    ]));
    let Some(Event::Connected(s)) = p.events.first() else {
        panic!("{:?}", p.events)
    };
    assert_eq!(s.max_frame_size, 16_777_215);
    assert_eq!(s.initial_window_size, (1 << 31) - 1);
    assert!(p.goaways().is_empty());
}

/// HOSTILE E35: ENABLE_PUSH = 1 from a server, or any value > 1: CE(PROTOCOL_ERROR) (§6.5.2).
#[test]
fn e35_enable_push_from_server_is_protocol_error() {
    settings_error(&[(ENABLE_PUSH, 1)], ErrorCode::PROTOCOL_ERROR);
    settings_error(&[(ENABLE_PUSH, 2)], ErrorCode::PROTOCOL_ERROR);
    // ENABLE_PUSH = 0 is harmless.
    let p = Peer::established_with(test_config(), &[(ENABLE_PUSH, 0)]);
    p.assert_no_error();
}

/// HOSTILE E36: unknown setting ids are ignored (§6.5.2) and the frame is ACKed.
#[test]
fn e36_unknown_setting_is_ignored() {
    let mut p = Peer::new(test_config());
    p.recv(&wire::settings(&[
        (0x99, 5),
        (0xffff, u32::MAX),
        (MAX_CONCURRENT_STREAMS, 3),
    ]));
    assert!(p.sent.contains(&Sent::SettingsAck));
    let Some(Event::Connected(s)) = p.events.first() else {
        panic!("{:?}", p.events)
    };
    assert_eq!(s.max_concurrent_streams, Some(3));
    p.assert_no_error();
}

/// HOSTILE E37: the same id twice: applied in order (the last wins), ACKed once (§6.5.3).
#[test]
fn e37_duplicate_ids_apply_in_order_and_ack_once() {
    let mut p = Peer::new(test_config());
    p.take_sent();
    p.recv(&wire::settings(&[
        (MAX_CONCURRENT_STREAMS, 5),
        (INITIAL_WINDOW_SIZE, 100),
        (MAX_CONCURRENT_STREAMS, 1),
        (INITIAL_WINDOW_SIZE, 10),
    ]));
    assert_eq!(p.sent, vec![Sent::SettingsAck]);
    let Some(Event::Connected(s)) = p.events.first() else {
        panic!("{:?}", p.events)
    };
    assert_eq!(s.max_concurrent_streams, Some(1));
    assert_eq!(s.initial_window_size, 10);
    // The window really is 10: a 100-byte message goes out 10 bytes at a time.
    p.recv(&wire::settings_ack());
    let id = p.open(false);
    p.client
        .send_data(id, bytes::Bytes::from(vec![1u8; 100]), true)
        .unwrap();
    p.step();
    assert_eq!(p.data_sent(1).len(), 10);
}

/// HOSTILE E38: an INITIAL_WINDOW_SIZE change that pushes an open stream's
/// window past 2^31-1: CE(FLOW_CONTROL_ERROR) (§6.9.2).
#[test]
fn e38_initial_window_change_overflowing_a_stream_is_flow_control_error() {
    let mut p = Peer::established();
    p.open(false);
    p.recv(&wire::window_update(1, (1 << 31) - 1 - 65_535));
    p.assert_no_error();
    p.recv(&wire::settings(&[(INITIAL_WINDOW_SIZE, 65_536)]));
    p.assert_conn_error(ErrorCode::FLOW_CONTROL_ERROR);
}

/// HOSTILE E40: MAX_CONCURRENT_STREAMS = 0 is not an error: new streams wait
/// until the server allows them.
#[test]
fn e40_zero_max_concurrent_streams_queues_streams() {
    let mut p = Peer::established_with(test_config(), &[(MAX_CONCURRENT_STREAMS, 0)]);
    let a = p.open(true);
    let b = p.open(true);
    assert_eq!((a.value(), b.value()), (1, 3), "ids are assigned at once");
    assert_eq!(p.headers_sent(), vec![], "nothing may be sent");
    p.assert_no_error();
    p.recv(&wire::settings(&[(MAX_CONCURRENT_STREAMS, 1)]));
    assert_eq!(p.headers_sent().len(), 1);
    assert_eq!(p.headers_sent()[0].0, 1);
    assert!(p.events.contains(&Event::StreamStarted(a)));
    assert!(!p.events.contains(&Event::StreamStarted(b)));
    // Stream 1 ends; stream 3 starts.
    p.take_sent();
    p.send_headers(1, &[f(":status", "200"), f("grpc-status", "0")], true);
    assert_eq!(p.headers_sent().len(), 1);
    assert_eq!(p.headers_sent()[0].0, 3);
    assert!(p.events.contains(&Event::StreamStarted(b)));
}

/// HOSTILE E40: MAX_CONCURRENT_STREAMS lowered below the active count:
/// active streams continue, new ones wait.
#[test]
fn e40_max_concurrent_streams_below_active_count() {
    let mut p = Peer::established();
    p.open(true);
    p.open(true);
    p.open(true);
    p.recv(&wire::settings(&[(MAX_CONCURRENT_STREAMS, 1)]));
    p.take_sent();
    let d = p.open(true);
    assert_eq!(d.value(), 7);
    assert_eq!(
        p.headers_sent(),
        vec![],
        "3 active > 1 allowed: stream 7 waits"
    );
    for id in [1, 3] {
        p.send_headers(id, &[f(":status", "200"), f("grpc-status", "0")], true);
    }
    assert_eq!(p.headers_sent(), vec![], "still 1 active (stream 5)");
    p.send_headers(5, &[f(":status", "200"), f("grpc-status", "0")], true);
    assert_eq!(p.headers_sent().len(), 1);
    assert_eq!(p.headers_sent()[0].0, 7);
    assert!(p.events.contains(&Event::StreamStarted(d)));
    p.assert_no_error();
}

/// HOSTILE E42: a request over the server's MAX_HEADER_LIST_SIZE fails
/// locally and nothing is sent (§10.5.1).
#[test]
fn e42_request_over_peer_header_list_limit_fails_unsent() {
    let mut p = Peer::established_with(test_config(), &[(MAX_HEADER_LIST_SIZE, 200)]);
    let fields = request("/test.Svc/Call");
    // §4.1 of RFC 7541 sizes: name + value + 32 each.
    let size: usize = fields.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
    assert!(size > 200, "size {size}");
    assert_eq!(
        p.try_open(&fields, true),
        Err(CallError::HeaderListTooLarge { size, limit: 200 })
    );
    assert_eq!(p.sent, vec![]);
    // A small request still fits (and takes stream 1: no id was burnt).
    let small = vec![f(":method", "POST"), f(":path", "/a")];
    let id = p.try_open(&small, true).unwrap();
    assert_eq!(id, StreamId::new(1));
    assert_eq!(p.headers_sent().len(), 1);
}

/// HOSTILE E41 variant: a second SETTINGS ACK after the only one outstanding
/// was acknowledged is CE(PROTOCOL_ERROR).
#[test]
fn e41_double_settings_ack_is_protocol_error() {
    let mut p = Peer::new(test_config());
    p.recv(&wire::settings(&[]));
    p.recv(&wire::cat(&[wire::settings_ack(), wire::settings_ack()]));
    p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
}

/// SETTINGS_MAX_FRAME_SIZE raised by the server lets us send larger DATA frames.
#[test]
fn larger_peer_max_frame_size_is_used() {
    let mut p = Peer::established_with(
        test_config(),
        &[(MAX_FRAME_SIZE, 32_768), (INITIAL_WINDOW_SIZE, 1 << 20)],
    );
    p.recv(&wire::window_update(0, 1 << 20));
    p.set_server_max_frame_size(32_768);
    let id = p.open(false);
    p.client
        .send_data(id, bytes::Bytes::from(vec![3u8; 40_000]), true)
        .unwrap();
    p.step();
    let sizes: Vec<usize> = p
        .sent
        .iter()
        .filter_map(|s| match s {
            Sent::Data { data, .. } => Some(data.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, vec![32_768, 40_000 - 32_768]);
}
