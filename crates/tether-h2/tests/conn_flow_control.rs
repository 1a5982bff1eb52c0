//! Flow control happy paths: negative windows (HOSTILE E39), large messages
//! over small windows in both directions, coalesced 1-byte updates (K93).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::Bytes;
use support::wire::{self, INITIAL_WINDOW_SIZE};
use support::{response_head, test_config, Peer, Sent};
use tether_h2::conn::Event;
use tether_h2::StreamId;

fn message(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// HOSTILE E39: INITIAL_WINDOW_SIZE lowered mid-flight makes the stream window
/// negative: sending stops until it is positive again (§6.9.2).
#[test]
fn e39_lowered_initial_window_goes_negative_then_recovers() {
    let mut p = Peer::established();
    p.recv(&wire::window_update(0, 1 << 20));
    let id = p.open(false);
    let msg = message(100_000);
    p.client
        .send_data(id, Bytes::from(msg.clone()), true)
        .unwrap();
    p.step();
    assert_eq!(
        p.data_sent(1).len(),
        65_535,
        "the whole initial stream window"
    );
    // 0 + (16,384 - 65,535) = -49,151.
    p.recv(&wire::settings(&[(INITIAL_WINDOW_SIZE, 16_384)]));
    assert!(p.sent.contains(&Sent::SettingsAck));
    assert!(p
        .events
        .iter()
        .any(|e| matches!(e, Event::SettingsChanged(s) if s.initial_window_size == 16_384)));
    p.recv(&wire::window_update(1, 49_151));
    assert_eq!(p.data_sent(1).len(), 65_535, "window back to 0 only");
    p.recv(&wire::window_update(1, 1100));
    assert_eq!(p.data_sent(1).len(), 66_635);
    // Raising it again adds 49,151: enough for the remaining 33,365 bytes.
    p.recv(&wire::settings(&[(INITIAL_WINDOW_SIZE, 65_535)]));
    assert_eq!(p.data_sent(1), msg);
    assert!(matches!(
        p.sent.iter().rev().find(|s| matches!(s, Sent::Data { .. })),
        Some(Sent::Data {
            end_stream: true,
            ..
        })
    ));
    p.assert_no_error();
}

/// A large request over a 1,000-byte stream window completes as the server
/// sends WINDOW_UPDATEs, never overrunning the window (checked by the harness).
#[test]
fn large_request_over_small_window_completes_with_window_updates() {
    let mut p = Peer::established_with(test_config(), &[(INITIAL_WINDOW_SIZE, 1000)]);
    let id = p.open(false);
    let msg = message(10_000);
    p.client
        .send_data(id, Bytes::from(msg.clone()), true)
        .unwrap();
    p.step();
    assert_eq!(p.data_sent(1).len(), 1000);
    for round in 1..10 {
        p.recv(&wire::window_update(1, 1000));
        assert_eq!(p.data_sent(1).len(), 1000 * (round + 1));
    }
    assert_eq!(p.data_sent(1), msg);
    let last = p.sent.iter().rev().find(|s| matches!(s, Sent::Data { .. }));
    assert!(matches!(
        last,
        Some(Sent::Data {
            end_stream: true,
            ..
        })
    ));
    p.assert_no_error();
}

/// A 4 MiB response through 64 KiB stream and connection windows: the
/// client's WINDOW_UPDATEs (after release_capacity) keep it flowing.
#[test]
fn four_mib_response_through_64k_window_does_not_starve() {
    let mut cfg = test_config();
    cfg.initial_connection_window = 65_535;
    cfg.initial_stream_window = 65_535;
    let mut p = Peer::established_with(cfg, &[]);
    let id = p.open(true);
    p.send_headers(1, &response_head(), false);
    let body = message(4 << 20);
    let mut off = 0;
    let mut received = Vec::with_capacity(body.len());
    let mut idle_rounds = 0;
    while off < body.len() {
        let room = p.recv_window(0).min(p.recv_window(1)).max(0) as usize;
        let n = room.min(16_384).min(body.len() - off);
        if n == 0 {
            idle_rounds += 1;
            assert!(idle_rounds < 3, "starved at {off} bytes");
            p.step();
            continue;
        }
        idle_rounds = 0;
        p.send_data(1, &body[off..off + n], false);
        off += n;
        for e in p.take_events() {
            if let Event::Data {
                stream_id, data, ..
            } = e
            {
                assert_eq!(stream_id, id);
                received.extend_from_slice(&data);
                p.client.release_capacity(stream_id, data.len());
            }
        }
        p.step();
    }
    p.send_headers(1, &support::ok_trailers(), true);
    assert_eq!(received.len(), body.len());
    assert!(received == body, "bytes arrive intact and in order");
    let updates = p
        .sent
        .iter()
        .filter(|s| matches!(s, Sent::WindowUpdate { .. }))
        .count();
    // 256 DATA frames of 16 KiB: at most one update per frame per window.
    assert!(updates <= 512, "{updates} WINDOW_UPDATEs");
    assert!(updates >= 64, "{updates} WINDOW_UPDATEs");
    p.assert_no_error();
}

/// Without release_capacity, the client does not reopen the stream window:
/// the application applies back-pressure.
#[test]
fn unreleased_data_holds_the_window() {
    let mut p = Peer::established();
    p.open(true);
    p.send_headers(1, &response_head(), false);
    for _ in 0..3 {
        p.send_data(1, &[9; 16_384], false);
    }
    let updates: Vec<_> = p
        .sent
        .iter()
        .filter(|s| matches!(s, Sent::WindowUpdate { stream: 1, .. }))
        .collect();
    assert_eq!(updates, Vec::<&Sent>::new());
    assert_eq!(p.recv_window(1), 65_535 - 3 * 16_384);
    p.client.release_capacity(StreamId::new(1), 3 * 16_384);
    p.step();
    assert_eq!(p.recv_window(1), 65_535, "all credited back once released");
}

/// HOSTILE K93: a hundred 1-byte WINDOW_UPDATEs read at once produce one
/// DATA frame, not a hundred 1-byte ones.
#[test]
fn k93_one_byte_window_updates_are_coalesced() {
    let mut p = Peer::established_with(test_config(), &[(INITIAL_WINDOW_SIZE, 0)]);
    let id = p.open(false);
    p.client
        .send_data(id, Bytes::from(message(1000)), false)
        .unwrap();
    p.step();
    assert_eq!(p.data_sent(1).len(), 0);
    let mut burst = Vec::new();
    for _ in 0..100 {
        burst.extend(wire::window_update(1, 1));
    }
    p.recv(&burst);
    let frames: Vec<usize> = p
        .sent
        .iter()
        .filter_map(|s| match s {
            Sent::Data { data, .. } => Some(data.len()),
            _ => None,
        })
        .collect();
    assert_eq!(frames, vec![100]);
}
