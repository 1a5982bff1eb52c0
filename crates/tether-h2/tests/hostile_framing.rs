//! Framing (docs/hostile-peers.md section B, items 9-18): unknown types,
//! flags, sizes, padding, and frames on the wrong stream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::wire::{self, *};
use support::{response_head, test_config, Peer};
use tether_h2::conn::Event;
use tether_h2::ErrorCode;

/// An established client with stream 1 open (request fully sent) and the
/// response head received.
fn with_open_stream() -> Peer {
    let mut p = Peer::established();
    p.open(true);
    p.send_headers(1, &response_head(), false);
    p.take_events();
    p.take_sent();
    p
}

/// HOSTILE B9: an unknown frame type is discarded (§4.1, §5.5), even between
/// frames of a stream and on streams that do not exist.
#[test]
fn b9_unknown_frame_type_is_ignored() {
    let mut p = with_open_stream();
    p.recv(&wire::unknown(0, b"hello"));
    p.recv(&wire::unknown(1, &[0u8; 100]));
    p.recv(&wire::unknown(99, b""));
    p.send_data(1, b"body", true);
    assert_eq!(p.data_received(1), b"body");
    p.assert_no_error();
    assert_eq!(p.sent, vec![], "nothing to answer");
}

/// HOSTILE B10: undefined flags and the reserved stream-id bit are ignored (§4.1).
#[test]
fn b10_undefined_flags_and_reserved_bit_are_ignored() {
    let mut p = with_open_stream();
    // DATA with every undefined flag set (not PADDED 0x8, END_STREAM 0x1).
    p.recv(&wire::frame(DATA, 0xf6, 1 | 0x8000_0000, b"xy"));
    // PING with undefined flags: answered as a normal PING.
    p.recv(&wire::frame(PING, 0xfe, 0x8000_0000, &[7; 8]));
    assert_eq!(p.data_received(1), b"xy");
    assert!(p.sent.contains(&support::Sent::Ping {
        ack: true,
        payload: [7; 8]
    }));
    p.assert_no_error();
}

/// HOSTILE B11: DATA of exactly 16,384 bytes (the default SETTINGS_MAX_FRAME_SIZE) is fine (§4.2).
#[test]
fn b11_data_of_exactly_max_frame_size_is_accepted() {
    let mut p = with_open_stream();
    let body = vec![0x5a; 16_384];
    p.send_data(1, &body, false);
    assert_eq!(p.data_received(1), body);
    p.assert_no_error();
}

/// HOSTILE B12: frames larger than our SETTINGS_MAX_FRAME_SIZE: FRAME_SIZE_ERROR (§4.2).
/// The decoder makes this a connection error for every type (allowed for DATA too).
#[test]
fn b12_oversized_frames_are_frame_size_errors() {
    for bytes in [
        wire::data(1, &vec![0; 16_385], false),
        wire::headers_raw(1, &vec![0x88; 16_385], END_HEADERS),
        wire::frame(SETTINGS, 0, 0, &vec![0; 16_386]),
        wire::frame(PING, 0, 0, &vec![0; 16_385]),
        wire::unknown(1, &vec![0; 16_385]),
    ] {
        let mut p = with_open_stream();
        p.recv(&bytes);
        p.assert_conn_error(ErrorCode::FRAME_SIZE_ERROR);
    }
}

/// HOSTILE B13: frames too short for their mandatory fields: FRAME_SIZE_ERROR (§4.2).
#[test]
fn b13_frames_too_short_for_mandatory_fields() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("padded DATA, length 0", wire::frame(DATA, PADDED, 1, &[])),
        (
            "padded HEADERS, length 0",
            wire::frame(HEADERS, PADDED | END_HEADERS, 1, &[]),
        ),
        (
            "HEADERS with PRIORITY flag, length 4",
            wire::frame(HEADERS, PRIORITY_FLAG | END_HEADERS, 1, &[0, 0, 0, 0]),
        ),
        ("GOAWAY of 7 bytes", wire::frame(GOAWAY, 0, 0, &[0; 7])),
    ];
    for (what, bytes) in cases {
        let mut p = with_open_stream();
        p.recv(&bytes);
        assert_eq!(
            p.goaways(),
            vec![(0, ErrorCode::FRAME_SIZE_ERROR)],
            "{what}: {:?}",
            p.sent
        );
        p.assert_conn_error(ErrorCode::FRAME_SIZE_ERROR);
    }
}

/// HOSTILE B14: Pad Length ≥ payload length: CE(PROTOCOL_ERROR) (§6.1, §6.2).
#[test]
fn b14_pad_length_exceeds_payload_is_protocol_error() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // Payload 1 byte: the Pad Length field alone says 1 byte of padding follows.
        ("DATA pad 1 of 1", wire::frame(DATA, PADDED, 1, &[1])),
        (
            "DATA pad 5 of 4",
            wire::frame(DATA, PADDED, 1, &[5, 0, 0, 0]),
        ),
        (
            "HEADERS pad 3 of 3",
            wire::frame(HEADERS, PADDED | END_HEADERS, 1, &[3, 0x88, 0]),
        ),
    ];
    for (what, bytes) in cases {
        let mut p = with_open_stream();
        p.recv(&bytes);
        assert_eq!(p.goaways(), vec![(0, ErrorCode::PROTOCOL_ERROR)], "{what}");
        p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
    }
}

/// HOSTILE B15: Pad Length 255 with a few data bytes is fine; padding counts
/// against flow control and is credited back, so a long padded stream never stalls.
#[test]
fn b15_max_padding_is_accepted_and_credited_back() {
    let mut cfg = test_config();
    cfg.initial_connection_window = 65_535;
    let mut p = Peer::established_with(cfg, &[]);
    p.open(true);
    p.send_headers(1, &response_head(), false);
    // 1,000 frames of 1 + 3 + 255 = 259 flow-controlled bytes: 259,000 bytes,
    // four times both windows. The server only sends within the windows it
    // has been granted, so this completes only if padding is credited back.
    let mut sent = 0;
    let mut stalls = 0;
    while sent < 1000 {
        if p.recv_window(0) >= 259 && p.recv_window(1) >= 259 {
            p.recv(&wire::data_padded(1, b"abc", 255, false));
            sent += 1;
            p.client.release_capacity(tether_h2::StreamId::new(1), 3);
            p.step();
        } else {
            stalls += 1;
            assert!(
                stalls < 10,
                "windows never reopened: conn {} stream {}",
                p.recv_window(0),
                p.recv_window(1)
            );
            p.step();
        }
    }
    assert_eq!(p.data_received(1).len(), 3000);
    assert!(p.data_received(1).iter().all(|b| b"abc".contains(b)));
    p.assert_no_error();
    assert!(p.recv_window(0) > 0 && p.recv_window(1) > 0);
}

/// HOSTILE B16: DATA, HEADERS, PRIORITY, RST_STREAM, CONTINUATION on stream 0: CE(PROTOCOL_ERROR).
#[test]
fn b16_stream_frames_on_stream_zero_are_protocol_errors() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("DATA", wire::data(0, b"x", false)),
        ("HEADERS", wire::headers_raw(0, &[0x88], END_HEADERS)),
        ("PRIORITY", wire::priority(0, 1)),
        ("RST_STREAM", wire::rst(0, 8)),
        ("CONTINUATION", wire::continuation(0, &[0x88], true)),
    ];
    for (what, bytes) in cases {
        let mut p = with_open_stream();
        p.recv(&bytes);
        assert_eq!(p.goaways(), vec![(0, ErrorCode::PROTOCOL_ERROR)], "{what}");
        p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
    }
}

/// HOSTILE B17: SETTINGS, PING, GOAWAY on a stream ≠ 0: CE(PROTOCOL_ERROR).
#[test]
fn b17_connection_frames_on_a_stream_are_protocol_errors() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("SETTINGS", wire::frame(SETTINGS, 0, 1, &[])),
        ("SETTINGS ACK", wire::frame(SETTINGS, ACK, 1, &[])),
        ("PING", wire::frame(PING, 0, 1, &[0; 8])),
        ("GOAWAY", wire::frame(GOAWAY, 0, 1, &[0; 8])),
    ];
    for (what, bytes) in cases {
        let mut p = with_open_stream();
        p.recv(&bytes);
        assert_eq!(p.goaways(), vec![(0, ErrorCode::PROTOCOL_ERROR)], "{what}");
        p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
    }
}

/// HOSTILE B18: fixed-size frames with the wrong length: CE(FRAME_SIZE_ERROR).
#[test]
fn b18_wrong_fixed_lengths_are_frame_size_errors() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("RST_STREAM len 3", wire::frame(RST_STREAM, 0, 1, &[0; 3])),
        ("RST_STREAM len 5", wire::frame(RST_STREAM, 0, 1, &[0; 5])),
        (
            "WINDOW_UPDATE len 3",
            wire::frame(WINDOW_UPDATE, 0, 1, &[0, 0, 1]),
        ),
        (
            "WINDOW_UPDATE len 5 on 0",
            wire::frame(WINDOW_UPDATE, 0, 0, &[0, 0, 0, 1, 0]),
        ),
        ("PING len 7", wire::frame(PING, 0, 0, &[0; 7])),
        ("PING len 9", wire::frame(PING, 0, 0, &[0; 9])),
        (
            "SETTINGS len 5",
            wire::frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 1]),
        ),
        (
            "SETTINGS len 7",
            wire::frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 1, 0]),
        ),
        (
            "SETTINGS ACK with payload",
            wire::frame(SETTINGS, ACK, 0, &[0, 3, 0, 0, 0, 1]),
        ),
    ];
    for (what, bytes) in cases {
        let mut p = with_open_stream();
        p.recv(&bytes);
        assert_eq!(
            p.goaways(),
            vec![(0, ErrorCode::FRAME_SIZE_ERROR)],
            "{what}"
        );
        p.assert_conn_error(ErrorCode::FRAME_SIZE_ERROR);
    }
}

/// HOSTILE B18: PRIORITY with a length other than 5: SE(FRAME_SIZE_ERROR) (§6.3).
#[test]
fn b18_priority_wrong_length_is_stream_frame_size_error() {
    let mut p = with_open_stream();
    p.recv(&wire::frame(PRIORITY, 0, 1, &[0, 0, 0, 0]));
    p.assert_stream_error(1, ErrorCode::FRAME_SIZE_ERROR);
    // The connection lives on: a new stream works.
    assert_eq!(p.open(true).value(), 3);
    assert!(!p.events.iter().any(|e| matches!(e, Event::Closed(_))));
}

/// PRIORITY frames (deprecated, §5.3.2) are ignored, even for idle streams.
#[test]
fn priority_frames_are_ignored() {
    let mut p = with_open_stream();
    p.recv(&wire::priority(1, 0));
    p.recv(&wire::priority(11, 1));
    p.send_data(1, b"ok", true);
    assert_eq!(p.data_received(1), b"ok");
    p.assert_no_error();
}
