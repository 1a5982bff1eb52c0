//! Handshake, a unary exchange, transport loss and the observer hook
//! (docs/hostile-peers.md A1, A3, A7, B8, E41).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::wire::{self, *};
use support::{f, ok_trailers, request, response_head, test_config, Peer, Sent};
use tether_h2::conn::{CallError, CloseReason, Direction, Event, Observer, ResponseHead};
use tether_h2::frame::{Frame, Head};
use tether_h2::{ErrorCode, StreamId};

#[test]
fn client_sends_preface_settings_with_push_disabled() {
    let p = Peer::new(test_config());
    // RFC 9113 §3.4: the preface is followed by a SETTINGS frame (checked by
    // the harness); §8.4: a client that does not want pushes sends ENABLE_PUSH = 0.
    let Some(Sent::Settings(params)) = p.sent.first() else {
        panic!("first frame {:?}", p.sent)
    };
    assert!(params.contains(&(ENABLE_PUSH, 0)), "{params:?}");
    assert!(
        params.contains(&(MAX_HEADER_LIST_SIZE, 16 * 1024)),
        "{params:?}"
    );
    // The connection window is raised from 65,535 to the configured 1 MiB.
    assert!(p.sent.contains(&Sent::WindowUpdate {
        stream: 0,
        increment: 1024 * 1024 - 65_535
    }));
    assert!(p.events.is_empty(), "no event before the server speaks");
}

#[test]
fn handshake_reports_connected_with_peer_settings() {
    let mut p = Peer::new(test_config());
    p.recv(&wire::settings(&[
        (MAX_CONCURRENT_STREAMS, 7),
        (INITIAL_WINDOW_SIZE, 1000),
    ]));
    let Some(Event::Connected(s)) = p.events.first() else {
        panic!("{:?}", p.events)
    };
    assert_eq!(s.max_concurrent_streams, Some(7));
    assert_eq!(s.initial_window_size, 1000);
    assert_eq!(s.max_frame_size, 16_384);
    assert_eq!(s.header_table_size, 4096);
    assert_eq!(s.max_header_list_size, None);
    assert_eq!(
        p.sent.iter().filter(|s| **s == Sent::SettingsAck).count(),
        1
    );
    p.take_events();
    p.recv(&wire::settings_ack());
    assert_eq!(p.events, vec![Event::SettingsAcked]);
}

#[test]
fn unary_exchange() {
    let mut p = Peer::established();
    let id = p.open(false);
    assert_eq!(id, StreamId::new(1));
    p.client
        .send_data(id, bytes::Bytes::from_static(b"\0\0\0\0\x02hi"), true)
        .unwrap();
    p.step();
    let h = p.headers_sent();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].0, 1);
    assert_eq!(h[0].1, support::request("/test.Svc/Call"));
    assert!(!h[0].2, "END_STREAM rides on the DATA");
    assert_eq!(p.data_sent(1), b"\0\0\0\0\x02hi");
    assert!(p.sent.contains(&Sent::Data {
        stream: 1,
        data: bytes::Bytes::from_static(b"\0\0\0\0\x02hi"),
        end_stream: true
    }));
    p.take_sent();

    p.respond(1, b"\0\0\0\0\x02ok");
    let ev = p.take_events();
    assert_eq!(
        ev,
        vec![
            Event::Headers {
                stream_id: id,
                head: ResponseHead::new(200, vec![hf("content-type", "application/grpc")]),
                end_stream: false,
            },
            Event::Data {
                stream_id: id,
                data: bytes::Bytes::from_static(b"\0\0\0\0\x02ok"),
                end_stream: false,
            },
            Event::Trailers {
                stream_id: id,
                fields: vec![hf("grpc-status", "0")],
            },
        ]
    );
    p.assert_no_error();
    // A second call gets the next odd id (§5.1.1).
    assert_eq!(p.open(true), StreamId::new(3));
}

fn hf(n: &'static str, v: &'static str) -> tether_h2::hpack::HeaderField {
    tether_h2::hpack::HeaderField {
        name: bytes::Bytes::from_static(n.as_bytes()),
        value: bytes::Bytes::from_static(v.as_bytes()),
    }
}

#[test]
fn trailers_only_response() {
    let mut p = Peer::established();
    let id = p.open(true);
    p.send_headers(1, &[f(":status", "200"), f("grpc-status", "12")], true);
    assert_eq!(
        p.take_events(),
        vec![Event::Headers {
            stream_id: id,
            head: ResponseHead::new(200, vec![hf("grpc-status", "12")]),
            end_stream: true,
        }]
    );
    p.assert_no_error();
}

/// HOSTILE B8: 1-byte reads reassemble every frame.
#[test]
fn b8_one_byte_segments_reassemble() {
    let mut p = Peer::new(test_config());
    p.segment = Some(1);
    p.handshake(&[(MAX_CONCURRENT_STREAMS, 10)]);
    p.open(true);
    p.respond(1, b"0123456789");
    assert_eq!(p.data_received(1), b"0123456789");
    assert!(matches!(p.events.last(), Some(Event::Trailers { .. })));
    p.assert_no_error();
}

/// HOSTILE A1: a PING before SETTINGS is an invalid preface: CE(PROTOCOL_ERROR) (§3.4).
#[test]
fn a1_first_frame_not_settings_is_protocol_error() {
    let mut p = Peer::new(test_config());
    p.recv(&wire::ping([1; 8], false));
    p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
    assert!(
        !p.sent
            .iter()
            .any(|s| matches!(s, Sent::Ping { ack: true, .. })),
        "the PING must not be answered"
    );
}

/// HOSTILE A1: an HTTP/1.1 answer instead of SETTINGS: CE(PROTOCOL_ERROR) (§3.4).
#[test]
fn a1_http1_response_is_protocol_error() {
    let mut p = Peer::new(test_config());
    p.recv(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
}

/// HOSTILE A3: our SETTINGS never acknowledged: CE(SETTINGS_TIMEOUT) (§6.5.3).
#[test]
fn a3_settings_never_acked_times_out() {
    let mut p = Peer::new(test_config());
    p.recv(&wire::settings(&[]));
    p.take_sent();
    p.advance(Duration::from_millis(9_999));
    assert!(p.goaways().is_empty(), "not before the 10 s timeout");
    p.advance(Duration::from_millis(1));
    assert_eq!(p.goaways(), vec![(0, ErrorCode::SETTINGS_TIMEOUT)]);
    assert_eq!(
        p.events.last(),
        Some(&Event::Closed(CloseReason::SettingsTimeout))
    );
}

/// HOSTILE A7: EOF mid-RPC fails the RPC; no hang, no GOAWAY.
#[test]
fn a7_eof_mid_rpc_fails_open_streams() {
    let mut p = Peer::established();
    let id = p.open(true);
    p.send_headers(1, &response_head(), false);
    p.take_events();
    let now = p.now();
    p.client.handle_eof(now);
    p.step();
    let ev = p.take_events();
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert!(
        matches!(&ev[0], Event::StreamReset { stream_id, remote: false, error: None, .. } if *stream_id == id),
        "{ev:?}"
    );
    assert_eq!(ev[1], Event::Closed(CloseReason::TransportClosed));
    assert!(p.client.is_closed());
    assert_eq!(
        p.client.poll_timeout(),
        None,
        "no timer may outlive the connection"
    );
    assert_eq!(
        p.client.open_stream(&[], true, now),
        Err(tether_h2::conn::CallError::Closed)
    );
}

/// HOSTILE E41: SETTINGS ACK with none outstanding: CE(PROTOCOL_ERROR).
#[test]
fn e41_unsolicited_settings_ack_is_protocol_error() {
    let mut p = Peer::established();
    p.recv(&wire::settings_ack());
    p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
}

#[derive(Default)]
struct Counts {
    sent: usize,
    received: usize,
    rtts: usize,
    windows: usize,
}

struct Counter(Arc<Mutex<Counts>>);

impl Observer for Counter {
    fn frame(&mut self, dir: Direction, _head: &Head, _frame: Option<&Frame>) {
        let mut c = self.0.lock().unwrap();
        match dir {
            Direction::Sent => c.sent += 1,
            Direction::Received => c.received += 1,
        }
    }
    fn window(&mut self, _dir: Direction, _stream: StreamId, _window: i64) {
        self.0.lock().unwrap().windows += 1;
    }
    fn ping_rtt(&mut self, _rtt: Duration) {
        self.0.lock().unwrap().rtts += 1;
    }
}

/// The observer sees every wire frame in both directions (CONTINUATION included).
#[test]
fn observer_counts_every_frame() {
    let counts = Arc::new(Mutex::new(Counts::default()));
    let mut p = Peer::new(test_config());
    p.client.set_observer(Box::new(Counter(counts.clone())));
    let (sent0, recv0) = (p.wire_frames_sent, p.wire_frames_received);
    p.handshake(&[]);
    p.open(true);
    let block = p.encode(&response_head());
    // A HEADERS split into three frames, to count CONTINUATIONs too.
    p.recv(&wire::headers_block(
        1,
        &block,
        false,
        block.len().div_ceil(3),
    ));
    p.send_data(1, b"abc", false);
    p.recv(&wire::window_update(0, 1000));
    p.recv(&wire::window_update(1, 500));
    p.send_headers(1, &ok_trailers(), true);
    let _ = p.client.ping(p.now());
    p.step();
    let Some(Sent::Ping { payload, .. }) = p.sent.last().cloned() else {
        panic!("{:?}", p.sent)
    };
    p.recv(&wire::ping(payload, true));
    let c = counts.lock().unwrap();
    // handshake 2 + HEADERS + 2 CONTINUATION + DATA + 2 WINDOW_UPDATE +
    // trailers + PING ACK = 10 received;
    // SETTINGS ACK + HEADERS + PING = 3 sent (plus any WINDOW_UPDATE).
    assert_eq!(
        c.received,
        p.wire_frames_received - recv0,
        "frames received"
    );
    assert_eq!(c.received, 10, "frames received");
    assert_eq!(c.sent, p.wire_frames_sent - sent0, "frames sent");
    assert!(c.sent >= 3, "frames sent: {}", c.sent);
    assert_eq!(c.rtts, 1);
    // The two WINDOW_UPDATEs received change our send windows.
    assert_eq!(c.windows, 2, "window changes are reported");
}

struct Kinds(Arc<Mutex<Vec<(Direction, u8)>>>);

impl Observer for Kinds {
    fn frame(&mut self, dir: Direction, head: &Head, _frame: Option<&Frame>) {
        self.0.lock().unwrap().push((dir, head.kind.0));
    }
}

/// `Connection::with_observer` sees the preface SETTINGS and the connection
/// WINDOW_UPDATE that `new` queues, which `set_observer` comes too late for.
#[test]
fn with_observer_sees_the_preface_frames() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let now = std::time::Instant::now();
    let mut conn = tether_h2::Connection::with_observer(
        tether_h2::Config::default(),
        Box::new(Kinds(seen.clone())),
        now,
    );
    let mut out = bytes::BytesMut::new();
    conn.poll_transmit(&mut out);
    assert!(out.starts_with(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    // The default 1 MiB connection window needs a WINDOW_UPDATE after SETTINGS.
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(Direction::Sent, 0x4), (Direction::Sent, 0x8)]
    );
}

/// RFC 9113 §5.1.1: "Stream identifiers cannot be reused. ... A client that
/// is unable to establish a new stream identifier can establish a new
/// connection". The last odd id, 2^31 - 1, is usable; the next open fails
/// locally with `StreamIdsExhausted` and nothing is sent.
#[test]
fn stream_ids_exhausted_after_the_last_odd_id() {
    let mut p = Peer::established();
    p.client.set_next_stream_id_for_test((1 << 31) - 3);
    let a = p.open(true);
    let b = p.open(true);
    assert_eq!((a.value(), b.value()), ((1 << 31) - 3, (1 << 31) - 1));
    p.take_sent();
    assert_eq!(
        p.try_open(&request("/test.Svc/Call"), true),
        Err(CallError::StreamIdsExhausted)
    );
    assert_eq!(
        p.take_sent(),
        vec![],
        "nothing is sent for the refused stream"
    );
    // The streams already opened still complete.
    p.send_headers(
        b.value(),
        &[f(":status", "200"), f("grpc-status", "0")],
        true,
    );
    p.assert_no_error();
}
