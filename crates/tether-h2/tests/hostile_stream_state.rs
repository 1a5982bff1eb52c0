//! Stream states (docs/hostile-peers.md section H, items 54-59).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;
use support::wire::{self, *};
use support::{f, response_head, test_config, Peer};
use tether_h2::conn::{Event, ResponseHead};
use tether_h2::{ErrorCode, StreamId};

/// HOSTILE H54: HEADERS, DATA or WINDOW_UPDATE on a stream we never opened
/// (odd or even id): CE(PROTOCOL_ERROR) (§5.1, §5.1.1).
#[test]
fn h54_frames_on_never_opened_streams_are_protocol_errors() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "HEADERS odd idle",
            wire::headers_raw(3, &[0x88], END_HEADERS),
        ),
        ("HEADERS even", wire::headers_raw(2, &[0x88], END_HEADERS)),
        ("DATA odd idle", wire::data(5, b"x", false)),
        ("DATA even", wire::data(4, b"x", false)),
        ("WINDOW_UPDATE odd idle", wire::window_update(7, 1)),
        ("WINDOW_UPDATE even", wire::window_update(2, 1)),
    ];
    for (what, bytes) in cases {
        let mut p = Peer::established();
        p.open(true);
        p.recv(&bytes);
        assert_eq!(p.goaways(), vec![(0, ErrorCode::PROTOCOL_ERROR)], "{what}");
        p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
    }
}

/// HOSTILE H55: a frame for a stream whose HEADERS we have not sent yet (it
/// waits for MAX_CONCURRENT_STREAMS): it is idle on the wire, CE(PROTOCOL_ERROR).
#[test]
fn h55_frame_for_unsent_stream_is_protocol_error() {
    let mut p = Peer::established_with(test_config(), &[(MAX_CONCURRENT_STREAMS, 1)]);
    p.open(true);
    p.open(true);
    assert_eq!(p.headers_sent().len(), 1);
    p.recv(&wire::headers_raw(3, &[0x88], END_HEADERS));
    p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
}

/// HOSTILE H56: DATA before the response HEADERS is a malformed response:
/// SE(PROTOCOL_ERROR) (§8.1, §8.1.1).
#[test]
fn h56_data_before_headers_is_stream_protocol_error() {
    let mut p = Peer::established();
    p.open(true);
    p.send_data(1, b"early", false);
    p.assert_stream_error(1, ErrorCode::PROTOCOL_ERROR);
    assert_eq!(p.data_received(1), b"");
    // The connection window is not leaked: the bytes were credited back
    // or still count as consumed, but a new stream works.
    p.take_sent();
    p.take_events();
    p.open(true);
    p.respond(3, b"ok");
    assert_eq!(p.data_received(3), b"ok");
}

/// HOSTILE H57: DATA after the server's END_STREAM while we still send
/// (half-closed remote): SE(STREAM_CLOSED) (§5.1, §6.1).
#[test]
fn h57_data_after_end_stream_is_stream_closed() {
    let mut p = Peer::established();
    p.open(false);
    p.send_headers(1, &[f(":status", "200"), f("grpc-status", "0")], true);
    p.take_events();
    p.send_data(1, b"after end", false);
    p.assert_stream_error(1, ErrorCode::STREAM_CLOSED);
    assert_eq!(p.data_received(1), b"");
}

/// HOSTILE H57: HEADERS after the server's END_STREAM while we still send: SE(STREAM_CLOSED).
#[test]
fn h57_headers_after_end_stream_is_stream_closed() {
    let mut p = Peer::established();
    p.open(false);
    p.respond(1, b"x");
    p.take_events();
    p.send_headers(1, &[f("grpc-status", "0")], true);
    p.assert_stream_error(1, ErrorCode::STREAM_CLOSED);
}

/// HOSTILE H57: DATA or HEADERS on a stream both sides ended (closed after
/// END_STREAM each way, not reset by us): a connection error STREAM_CLOSED
/// (GOAWAY). RFC 7540 §5.1 (closed) requires a connection error here and RFC
/// 9113 §5.1 allows one (§6.1 would also allow RST_STREAM). We take the
/// connection error: the server sent END_STREAM and then more frames, so its
/// idea of the stream states disagrees with ours, and it cannot be trusted
/// with the other streams on the connection. (An earlier version answered
/// with RST_STREAM(STREAM_CLOSED) and stayed up.)
#[test]
fn h57_data_or_headers_on_fully_closed_stream_is_connection_stream_closed() {
    for what in ["DATA", "HEADERS"] {
        let mut p = Peer::established();
        p.open(true);
        p.open(true);
        p.send_headers(1, &[f(":status", "200"), f("grpc-status", "0")], true);
        p.take_events();
        if what == "DATA" {
            p.send_data(1, b"zombie", false);
        } else {
            p.send_headers(1, &[f("grpc-status", "0")], true);
        }
        assert_eq!(p.data_received(1), b"", "{what}");
        p.assert_conn_error(ErrorCode::STREAM_CLOSED);
        // The other stream fails with the connection; stream 1 had already
        // ended for the application and gets no event.
        assert!(
            !p.events.iter().any(
                |e| matches!(e, Event::StreamReset { stream_id, .. } if stream_id.value() == 1)
            ),
            "{what}: {:?}",
            p.events
        );
        assert!(
            p.events.iter().any(
                |e| matches!(e, Event::StreamReset { stream_id, .. } if stream_id.value() == 3)
            ),
            "{what}: {:?}",
            p.events
        );
    }
}

/// HOSTILE H58: frames after we sent RST_STREAM are ignored for a grace
/// period, but their field blocks are decoded and DATA is credited back.
#[test]
fn h58_frames_after_our_reset_are_ignored_within_grace() {
    let mut cfg = test_config();
    cfg.initial_connection_window = 65_535;
    let mut p = Peer::established_with(cfg, &[]);
    let id = p.open(true);
    p.open(true);
    p.client.reset(id, ErrorCode::CANCEL).unwrap();
    p.step();
    p.take_sent();
    p.advance(Duration::from_millis(500));
    p.recv(&wire::headers_raw(
        1,
        &wire::block_200(&wire::lit_indexed(b"x-seen", b"yes")),
        END_HEADERS,
    ));
    for _ in 0..3 {
        p.send_data(1, &[0; 16_384], false);
    }
    p.recv(&wire::window_update(1, 10));
    p.recv(&wire::rst(1, 8));
    assert_eq!(p.events, vec![]);
    p.assert_no_error();
    // 49,152 bytes arrived for the dead stream; the client credits the
    // connection window once half of it (32,768) is pending: 65,535 - 16,384.
    assert_eq!(p.recv_window(0), 49_151, "connection window credited back");
    // The table is in sync: index 62 is x-seen.
    p.recv(&wire::headers_raw(
        3,
        &wire::block_200(&wire::indexed(62)),
        END_HEADERS,
    ));
    assert_eq!(
        p.events,
        vec![Event::Headers {
            stream_id: StreamId::new(3),
            head: ResponseHead::new(
                200,
                vec![tether_h2::hpack::HeaderField {
                    name: bytes::Bytes::from_static(b"x-seen"),
                    value: bytes::Bytes::from_static(b"yes"),
                }]
            ),
            end_stream: false,
        }]
    );
}

/// HOSTILE H59: PUSH_PROMISE when we sent ENABLE_PUSH = 0: CE(PROTOCOL_ERROR) (§6.6, §8.4).
#[test]
fn h59_push_promise_is_protocol_error() {
    let mut p = Peer::established();
    p.open(true);
    p.send_headers(1, &response_head(), false);
    p.recv(&wire::push_promise(
        1,
        2,
        &[0x82, 0x86, 0x84, 0x41, 0x01, b'a'],
    ));
    p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
}

/// 1xx informational heads are skipped; the final head follows (§8.1).
#[test]
fn informational_heads_are_skipped() {
    let mut p = Peer::established();
    p.open(true);
    p.send_headers(1, &[f(":status", "100")], false);
    p.send_headers(1, &[f(":status", "103"), f("link", "</a>")], false);
    assert_eq!(p.events, vec![]);
    p.respond(1, b"x");
    assert!(matches!(&p.events[0], Event::Headers { head, .. } if head.status == 200));
    p.assert_no_error();
}

/// Ended streams are remembered for the grace period and forgotten in
/// batches: a connection ending a stream every 2 ms wakes for the sweep a
/// few times per grace period, not once per stream (which would give an
/// otherwise idle connection a timer turn for every call).
#[test]
fn ended_streams_are_swept_in_batches_not_one_timer_each() {
    let mut p = Peer::established();
    let grace = test_config().limits.reset_grace;
    let step = Duration::from_millis(2);
    let mut fired = 0;
    for _ in 0..500 {
        let id = p.open(true);
        p.respond(id.value(), b"x");
        if p.client.poll_timeout().is_some_and(|t| t <= p.now() + step) {
            fired += 1;
        }
        p.advance(step);
    }
    fired += p.run_until_idle(grace * 3, 10_000);
    p.assert_no_error();
    assert_eq!(p.client.poll_timeout(), None, "every entry swept at last");
    // 1 s of ended streams plus the grace: about 2 s, a sweep every quarter
    // of the 1 s grace at most.
    assert!(fired <= 12, "{fired} sweeps for 500 ended streams");
    assert!(fired >= 2, "{fired} sweeps: the entries must still expire");
}

/// A client with streams 1 and 3 both ended in both directions (request
/// with END_STREAM, whole response with END_STREAM): closed, not reset by us,
/// and still within `reset_grace`.
fn with_two_ended_streams() -> Peer {
    let mut p = Peer::established();
    p.open(true);
    p.open(true);
    p.respond(1, b"a");
    p.respond(3, b"b");
    p.take_events();
    p.take_sent();
    p
}

/// RFC 9113 §6.3: "A PRIORITY frame with a length other than 5 octets MUST be
/// treated as a stream error (Section 5.4.2) of type FRAME_SIZE_ERROR", and
/// §6.9: a zero WINDOW_UPDATE increment on a stream is a stream error of type
/// PROTOCOL_ERROR. That holds on a stream both sides ended within the grace
/// period too (it was not reset by us, so nothing excuses the frame): one
/// RST_STREAM each, no event (the application saw the streams end), the
/// connection stays up.
#[test]
fn malformed_priority_and_zero_window_update_on_ended_stream_are_stream_errors() {
    let mut p = with_two_ended_streams();
    p.advance(Duration::from_millis(100));
    p.recv(&wire::frame(PRIORITY, 0, 1, &[0, 0, 0, 0]));
    p.recv(&wire::window_update(3, 0));
    assert_eq!(p.goaways(), vec![], "no GOAWAY: {:?}", p.sent);
    assert_eq!(
        p.rsts(),
        vec![
            (1, ErrorCode::FRAME_SIZE_ERROR),
            (3, ErrorCode::PROTOCOL_ERROR)
        ]
    );
    assert_eq!(p.events, vec![], "the streams already ended");
    // The streams now count as reset by us: their late frames are absorbed.
    p.take_sent();
    p.recv(&wire::frame(PRIORITY, 0, 1, &[0; 6]));
    p.recv(&wire::window_update(3, 0));
    p.assert_no_error();
    // The connection lives on.
    let id = p.open(true);
    p.respond(id.value(), b"ok");
    assert_eq!(p.data_received(id.value()), b"ok");
}

/// The zero WINDOW_UPDATE increment on stream 0 stays a connection error
/// (§6.9: "errors on the connection flow-control window MUST be treated as a
/// connection error"), also right after streams ended.
#[test]
fn zero_window_update_on_stream_zero_is_connection_error_after_streams_ended() {
    let mut p = with_two_ended_streams();
    p.recv(&wire::window_update(0, 0));
    p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
}

/// On a stream WE reset, frames in flight are absorbed during the grace
/// period (§5.1 closed: the peer may not have seen our RST_STREAM yet), even
/// malformed PRIORITY and zero WINDOW_UPDATE increments.
#[test]
fn malformed_priority_and_zero_window_update_after_our_reset_are_absorbed() {
    let mut p = Peer::established();
    let id = p.open(true);
    p.client.reset(id, ErrorCode::CANCEL).unwrap();
    p.step();
    p.take_sent();
    p.take_events();
    p.advance(Duration::from_millis(100));
    p.recv(&wire::frame(PRIORITY, 0, 1, &[0, 0, 0, 0]));
    p.recv(&wire::window_update(1, 0));
    p.assert_no_error();
    assert_eq!(p.events, vec![]);
}
