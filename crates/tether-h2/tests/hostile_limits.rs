//! Resource exhaustion (docs/hostile-peers.md section K, items 85-92, 94,
//! 96; K93 is in conn_flow_control.rs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::Bytes;
use support::wire::{self, *};
use support::{f, response_head, test_config, Peer, Sent};
use tether_h2::conn::{CallError, Event};
use tether_h2::{ErrorCode, StreamId};

fn one_stream(cfg: tether_h2::Config) -> Peer {
    let mut p = Peer::established_with(cfg, &[]);
    p.open(true);
    p.take_sent();
    p
}

/// HOSTILE K85: a CONTINUATION flood (even 0-byte ones) hits the frame cap
/// (64 by default): CE(ENHANCE_YOUR_CALM). 64 are still fine.
#[test]
fn k85_continuation_flood_is_enhance_your_calm() {
    let mut p = one_stream(test_config());
    let mut bytes = wire::headers_raw(1, &[0x88], 0);
    for i in 0..64 {
        bytes.extend(wire::continuation(1, &[], i == 63));
    }
    p.recv(&bytes);
    assert!(
        matches!(&p.events[0], Event::Headers { .. }),
        "{:?}",
        p.events
    );
    p.assert_no_error();

    let mut p = one_stream(test_config());
    let mut bytes = wire::headers_raw(1, &[0x88], 0);
    for _ in 0..10_000 {
        bytes.extend(wire::continuation(1, &[], false));
    }
    p.recv(&bytes);
    p.assert_conn_error(ErrorCode::ENHANCE_YOUR_CALM);
}

/// HOSTILE K86: HPACK bomb: one 4,000-byte entry indexed a thousand times is
/// 4 MB of header list from a 1 KiB block: the list limit stops it (CVE-2016-6581).
#[test]
fn k86_hpack_bomb_fails_at_the_list_limit() {
    let mut p = one_stream(test_config());
    let mut rest = wire::lit_indexed(b"x-bomb", &vec![b'b'; 4000]);
    for _ in 0..1000 {
        rest.extend(wire::indexed(62));
    }
    p.recv(&wire::headers_raw(1, &wire::block_200(&rest), END_HEADERS));
    assert!(!p.events.iter().any(|e| matches!(e, Event::Headers { .. })));
    // 250 times our 16 KiB limit: as for C23, far over the limit is ENHANCE_YOUR_CALM.
    p.assert_conn_error(ErrorCode::ENHANCE_YOUR_CALM);
}

/// HOSTILE K87: zero-length names repeated: each costs 32 octets of list
/// size, so thousands hit the list limit (CVE-2019-9516).
#[test]
fn k87_empty_names_are_accounted() {
    let mut p = one_stream(test_config());
    let mut rest = Vec::new();
    for _ in 0..2000 {
        rest.extend(wire::lit(b"", b""));
    }
    p.recv(&wire::headers_raw(1, &wire::block_200(&rest), END_HEADERS));
    assert!(!p.events.iter().any(|e| matches!(e, Event::Headers { .. })));
    // 2000 × 32 = 64,000 bytes: about 4 times the 16 KiB limit.
    let refused = !p.rsts().is_empty() || !p.goaways().is_empty();
    assert!(refused, "the response must fail: {:?}", p.sent);
}

/// HOSTILE K88: a PING flood while we are not writing: past 64 queued ACKs,
/// CE(ENHANCE_YOUR_CALM) (CVE-2019-9512).
#[test]
fn k88_ping_flood_without_reading_acks_is_enhance_your_calm() {
    let mut p = Peer::established();
    let mut burst = Vec::new();
    for i in 0..64u64 {
        burst.extend(wire::ping(i.to_be_bytes(), false));
    }
    p.deliver(&burst);
    p.step();
    let acks = p
        .sent
        .iter()
        .filter(|s| matches!(s, Sent::Ping { ack: true, .. }))
        .count();
    assert_eq!(acks, 64, "64 queued ACKs are within the limit");
    p.assert_no_error();

    let mut p = Peer::established();
    let mut burst = Vec::new();
    for i in 0..1000u64 {
        burst.extend(wire::ping(i.to_be_bytes(), false));
    }
    p.deliver(&burst);
    p.step();
    let goaways = p.goaways();
    assert_eq!(goaways, vec![(0, ErrorCode::ENHANCE_YOUR_CALM)]);
    assert!(p.sent.len() <= 66, "ACKs stay bounded: {}", p.sent.len());
}

/// HOSTILE K88: a SETTINGS flood while we are not writing: CE(ENHANCE_YOUR_CALM) (CVE-2019-9515).
#[test]
fn k88_settings_flood_without_reading_acks_is_enhance_your_calm() {
    let mut p = Peer::established();
    let mut burst = Vec::new();
    for _ in 0..1000 {
        burst.extend(wire::settings(&[(MAX_CONCURRENT_STREAMS, 10)]));
    }
    p.deliver(&burst);
    p.step();
    assert_eq!(p.goaways(), vec![(0, ErrorCode::ENHANCE_YOUR_CALM)]);
    let acks = p.sent.iter().filter(|s| **s == Sent::SettingsAck).count();
    assert!(acks <= 64, "{acks} ACKs");
}

/// HOSTILE K89: a SETTINGS frame with more than 32 entries: CE(ENHANCE_YOUR_CALM).
#[test]
fn k89_settings_with_too_many_entries_is_enhance_your_calm() {
    let mut p = Peer::established();
    let entries: Vec<(u16, u32)> = (0..32).map(|i| (0x100 + i, 1)).collect();
    p.recv(&wire::settings(&entries));
    assert!(p.sent.contains(&Sent::SettingsAck));
    p.assert_no_error();
    let entries: Vec<(u16, u32)> = (0..2000).map(|i| (0x100 + i, 1)).collect();
    p.recv(&wire::settings(&entries));
    p.assert_conn_error(ErrorCode::ENHANCE_YOUR_CALM);
}

/// HOSTILE K90: frames that each provoke our RST_STREAM: past
/// `max_local_resets`, CE(ENHANCE_YOUR_CALM) (CVE-2019-9514).
#[test]
fn k90_reset_flood_is_enhance_your_calm() {
    let mut cfg = test_config();
    cfg.limits.max_local_resets = 5;
    let mut p = Peer::established_with(cfg, &[]);
    for _ in 0..6 {
        p.open(false);
    }
    for id in [1, 3, 5, 7, 9] {
        p.recv(&wire::window_update(id, 0));
    }
    assert_eq!(p.rsts().len(), 5);
    assert_eq!(p.goaways(), vec![]);
    p.recv(&wire::window_update(11, 0));
    assert_eq!(p.goaways(), vec![(0, ErrorCode::ENHANCE_YOUR_CALM)]);
    assert!(matches!(p.events.last(), Some(Event::Closed(_))));
}

/// HOSTILE K91: empty DATA frames without END_STREAM past the budget (100):
/// CE(ENHANCE_YOUR_CALM) (CVE-2019-9518).
#[test]
fn k91_empty_data_flood_is_enhance_your_calm() {
    let mut p = one_stream(test_config());
    p.send_headers(1, &response_head(), false);
    let mut burst = Vec::new();
    for _ in 0..100 {
        burst.extend(wire::data(1, b"", false));
    }
    p.recv(&burst);
    p.assert_no_error();
    let mut burst = Vec::new();
    for _ in 0..1000 {
        burst.extend(wire::data(1, b"", false));
    }
    p.recv(&burst);
    p.assert_conn_error(ErrorCode::ENHANCE_YOUR_CALM);
}

/// HOSTILE K92: PRIORITY and unknown-type floods past `max_ignored_frames`:
/// CE(ENHANCE_YOUR_CALM).
#[test]
fn k92_ignored_frame_flood_is_enhance_your_calm() {
    let mut cfg = test_config();
    cfg.limits.max_ignored_frames = 10;
    let mut p = one_stream(cfg.clone());
    let mut burst = Vec::new();
    for i in 0..5 {
        burst.extend(wire::priority(1, 0));
        burst.extend(wire::unknown(i, b"x"));
    }
    p.recv(&burst);
    p.assert_no_error();
    let mut burst = Vec::new();
    for i in 0..100 {
        burst.extend(wire::unknown(i, b""));
    }
    p.recv(&burst);
    p.assert_conn_error(ErrorCode::ENHANCE_YOUR_CALM);
}

/// HOSTILE K94: the server stops reading: the per-stream send buffer is
/// bounded, and `SendReady` says when there is room again.
#[test]
fn k94_send_buffer_is_bounded() {
    let mut cfg = test_config();
    cfg.limits.max_send_buffer = 1000;
    let mut p = Peer::established_with(cfg, &[(INITIAL_WINDOW_SIZE, 0)]);
    let id = p.open(false);
    p.client
        .send_data(id, Bytes::from(vec![1; 1000]), false)
        .unwrap();
    assert_eq!(
        p.client.send_data(id, Bytes::from(vec![2; 1]), false),
        Err(CallError::SendBufferFull(id))
    );
    p.step();
    assert_eq!(p.data_sent(1), b"");
    p.recv(&wire::window_update(1, 600));
    assert_eq!(p.data_sent(1).len(), 600);
    assert!(p.events.contains(&Event::SendReady(id)), "{:?}", p.events);
    p.client
        .send_data(id, Bytes::from(vec![2; 600]), true)
        .unwrap();
    p.recv(&wire::window_update(1, 1000));
    assert_eq!(p.data_sent(1).len(), 1600);
    p.assert_no_error();
}

/// HOSTILE K96: GOAWAY debug data is capped at `max_goaway_debug` (1 KiB).
#[test]
fn k96_goaway_debug_data_is_capped() {
    let mut p = Peer::established();
    let debug = vec![b'd'; 16_000];
    p.recv(&wire::goaway(0, 0, &debug));
    let Some(Event::GoAway(info)) = p.events.first() else {
        panic!("{:?}", p.events)
    };
    assert_eq!(info.debug_data.len(), 1024);
    assert_eq!(&info.debug_data[..], &debug[..1024]);

    // Megabytes, with a larger MAX_FRAME_SIZE of ours.
    let mut cfg = test_config();
    cfg.max_frame_size = 4 << 20;
    let mut p = Peer::new(cfg);
    p.handshake(&[]);
    p.recv(&wire::goaway(0, 2, &vec![b'm'; 3 << 20]));
    let Some(Event::GoAway(info)) = p.events.first() else {
        panic!("{:?}", p.events)
    };
    assert_eq!(info.debug_data.len(), 1024);
    assert_eq!(info.code, ErrorCode::INTERNAL_ERROR);
}

/// HOSTILE K96: endless 1xx heads: past `max_informational` (16),
/// CE(ENHANCE_YOUR_CALM) like every other `Limits` cap.
#[test]
fn k96_endless_informational_heads_fail_the_stream() {
    let mut p = one_stream(test_config());
    for _ in 0..16 {
        p.send_headers(1, &[f(":status", "100")], false);
    }
    p.assert_no_error();
    p.send_headers(1, &[f(":status", "100")], false);
    p.assert_conn_error(ErrorCode::ENHANCE_YOUR_CALM);
    assert!(p.events.iter().any(
        |e| matches!(e, Event::StreamReset { stream_id, remote: false, .. } if *stream_id == StreamId::new(1))
    ));
}
