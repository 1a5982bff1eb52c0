//! PING and keepalive in virtual time (docs/hostile-peers.md F43-F46, gRFC A8).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::Bytes;
use std::time::Duration;
use support::wire;
use support::{test_config, Peer, Sent};
use tether_h2::conn::{CallError, CloseReason, Event, GoAwayInfo, Keepalive};
use tether_h2::{ErrorCode, StreamId};

fn keepalive(time: u64, timeout: u64, permit_without_calls: bool) -> tether_h2::Config {
    let mut cfg = test_config();
    cfg.keepalive = Some(
        Keepalive::new(Duration::from_secs(time), Duration::from_secs(timeout))
            .permit_without_calls(permit_without_calls),
    );
    cfg
}

fn pings_sent(p: &Peer) -> Vec<[u8; 8]> {
    p.sent
        .iter()
        .filter_map(|s| match s {
            Sent::Ping {
                ack: false,
                payload,
            } => Some(*payload),
            _ => None,
        })
        .collect()
}

/// HOSTILE F43: PING is answered with the same 8 bytes, ahead of frames already queued (§6.7).
#[test]
fn f43_ping_is_acked_first_with_same_payload() {
    let mut p = Peer::established();
    let now = p.now();
    let id = p
        .client
        .open_stream(
            &[tether_h2::hpack::FieldRef::new(b":method", b"POST")],
            false,
            now,
        )
        .unwrap();
    p.client
        .send_data(id, Bytes::from(vec![0u8; 30_000]), false)
        .unwrap();
    // Nothing polled yet: HEADERS and DATA are queued when the PING arrives.
    p.deliver(&wire::ping(*b"12345678", false));
    p.step();
    assert_eq!(
        p.sent.first(),
        Some(&Sent::Ping {
            ack: true,
            payload: *b"12345678"
        }),
        "{:?}",
        &p.sent[..p.sent.len().min(3)]
    );
    assert_eq!(p.data_sent(1).len(), 30_000);
    p.assert_no_error();
}

/// HOSTILE F44: a PING ACK is never answered; an unknown payload is ignored.
#[test]
fn f44_unsolicited_ping_ack_is_ignored() {
    let mut p = Peer::established();
    p.recv(&wire::ping(*b"whatever", true));
    assert_eq!(p.sent, vec![]);
    assert_eq!(p.events, vec![]);
    assert_eq!(p.client.rtt(), None);
}

/// A user PING's RTT is measured with the virtual clock.
#[test]
fn ping_rtt_uses_the_virtual_clock() {
    let mut p = Peer::established();
    let id = p.client.ping(p.now()).unwrap();
    p.step();
    let sent = pings_sent(&p);
    assert_eq!(sent.len(), 1);
    p.advance(Duration::from_millis(37));
    p.recv(&wire::ping(sent[0], true));
    assert_eq!(
        p.events,
        vec![Event::PingAck {
            id: Some(id),
            rtt: Duration::from_millis(37)
        }]
    );
    assert_eq!(p.client.rtt(), Some(Duration::from_millis(37)));
    // Two pings in flight are told apart by their payloads.
    p.take_sent();
    p.take_events();
    let a = p.client.ping(p.now()).unwrap();
    p.advance(Duration::from_millis(5));
    let b = p.client.ping(p.now()).unwrap();
    p.step();
    let sent = pings_sent(&p);
    assert_eq!(sent.len(), 2);
    assert_ne!(sent[0], sent[1]);
    p.advance(Duration::from_millis(10));
    p.recv(&wire::ping(sent[1], true));
    p.recv(&wire::ping(sent[0], true));
    assert_eq!(
        p.events,
        vec![
            Event::PingAck {
                id: Some(b),
                rtt: Duration::from_millis(10)
            },
            Event::PingAck {
                id: Some(a),
                rtt: Duration::from_millis(15)
            },
        ]
    );
}

/// Keepalive: a PING after `time` without reads while a call is open.
#[test]
fn keepalive_pings_after_idle_time_with_open_call() {
    let mut p = Peer::established_with(keepalive(10, 5, false), &[]);
    p.open(true);
    p.take_sent();
    p.advance(Duration::from_millis(9_999));
    assert_eq!(pings_sent(&p).len(), 0);
    p.advance(Duration::from_millis(1));
    assert_eq!(pings_sent(&p).len(), 1);
    // ACKed in time: the connection stays up and the next ping is 10 s after the ACK.
    let payload = pings_sent(&p)[0];
    p.advance(Duration::from_secs(2));
    p.recv(&wire::ping(payload, true));
    p.take_sent();
    p.advance(Duration::from_millis(9_999));
    assert_eq!(pings_sent(&p).len(), 0);
    p.advance(Duration::from_millis(1));
    assert_eq!(pings_sent(&p).len(), 1);
    p.assert_no_error();
}

/// Keepalive: reads reset the idle timer.
#[test]
fn keepalive_reads_postpone_the_ping() {
    let mut p = Peer::established_with(keepalive(10, 5, false), &[]);
    p.open(true);
    p.take_sent();
    for _ in 0..5 {
        p.advance(Duration::from_secs(8));
        p.recv(&wire::unknown(0, b"activity"));
    }
    assert_eq!(pings_sent(&p).len(), 0, "40 s of activity, never 10 s idle");
    // Keepalive is armed all along: 10 s without a read brings the PING.
    p.advance(Duration::from_secs(10));
    assert_eq!(pings_sent(&p).len(), 1, "silence after the activity");
}

/// HOSTILE F45: the keepalive PING is never ACKed: close after `timeout`,
/// failing the open streams (gRFC A8).
#[test]
fn f45_keepalive_timeout_closes_and_resets_streams() {
    let mut p = Peer::established_with(keepalive(10, 5, false), &[]);
    let id = p.open(true);
    p.advance(Duration::from_secs(10));
    assert_eq!(pings_sent(&p).len(), 1);
    p.advance(Duration::from_millis(4_999));
    assert!(!p.is_closed_event());
    p.advance(Duration::from_millis(1));
    assert_eq!(p.close_reason(), Some(CloseReason::KeepaliveTimeout));
    assert!(p.events.iter().any(
        |e| matches!(e, Event::StreamReset { stream_id, remote: false, .. } if *stream_id == id)
    ));
    assert!(matches!(p.events.last(), Some(Event::Closed(_))));
    assert_eq!(p.client.poll_timeout(), None);
}

/// Keepalive: no PING without calls unless permit_without_calls.
#[test]
fn keepalive_without_calls_needs_permission() {
    let mut p = Peer::established_with(keepalive(10, 5, false), &[]);
    p.run_until_idle(Duration::from_secs(3600), 100);
    assert_eq!(pings_sent(&p).len(), 0);
    assert!(!p.is_closed_event());

    let mut p = Peer::established_with(keepalive(10, 5, true), &[]);
    p.advance(Duration::from_secs(10));
    assert_eq!(pings_sent(&p).len(), 1);
}

/// Keepalive: 20 idle cycles (200 s of virtual time) run in milliseconds.
#[test]
fn keepalive_twenty_cycles_in_virtual_time() {
    let started = std::time::Instant::now();
    let mut p = Peer::established_with(keepalive(10, 5, true), &[]);
    let mut at = Vec::new();
    for _ in 0..20 {
        let fired = p.run_until_idle(Duration::from_secs(10), 10);
        assert!(fired >= 1);
        let pings = pings_sent(&p);
        assert_eq!(pings.len(), 1, "one PING per cycle");
        at.push(p.elapsed());
        p.take_sent();
        p.advance(Duration::from_millis(50));
        p.recv(&wire::ping(pings[0], true));
        assert!(p.take_events().iter().any(
            |e| matches!(e, Event::PingAck { id: None, rtt } if *rtt == Duration::from_millis(50))
        ));
    }
    for w in at.windows(2) {
        assert_eq!(w[1] - w[0], Duration::from_millis(10_050));
    }
    assert!(!p.is_closed_event());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// HOSTILE F46: GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") is flagged (gRFC A8).
#[test]
fn f46_too_many_pings_goaway_is_flagged() {
    let mut p = Peer::established_with(keepalive(10, 5, true), &[]);
    p.recv(&wire::goaway(0, 0xb, b"too_many_pings"));
    let info = GoAwayInfo::new(
        StreamId::new(0),
        ErrorCode::ENHANCE_YOUR_CALM,
        Bytes::from_static(b"too_many_pings"),
    );
    assert!(info.too_many_pings);
    assert_eq!(
        p.events,
        vec![
            Event::GoAway(info.clone()),
            Event::Closed(CloseReason::GoAway(info))
        ]
    );
    assert_eq!(p.goaways(), vec![], "no GOAWAY in answer to a GOAWAY error");

    // Another code or other debug data is not "too many pings".
    for (code, debug) in [(0x0, &b"too_many_pings"[..]), (0xb, &b"calm down"[..])] {
        let mut p = Peer::established();
        p.recv(&wire::goaway(0, code, debug));
        assert!(matches!(&p.events[0], Event::GoAway(i) if !i.too_many_pings));
    }
}

/// A server that keeps sending DATA, with gaps longer than the keepalive
/// time but shorter than time + timeout, and never ACKs a PING: every read
/// postpones the keepalive timeout, so the connection lives on. At most one
/// keepalive PING is in flight at a time (a new one is not sent while one is
/// unacknowledged), so the outstanding pings stay bounded instead of growing
/// by one per keepalive interval.
#[test]
fn keepalive_pings_stay_bounded_when_the_server_never_acks_but_sends_data() {
    let mut p = Peer::established_with(keepalive(10, 5, false), &[]);
    p.open(true);
    p.send_headers(1, &support::response_head(), false);
    p.take_sent();
    let mut pings = 0;
    for _ in 0..200 {
        p.advance(Duration::from_secs(10));
        p.advance(Duration::from_secs(2));
        p.send_data(1, b"tick", false);
        pings += pings_sent(&p).len();
        p.take_sent();
        assert!(
            p.client.outstanding_pings() <= 1,
            "{} outstanding",
            p.client.outstanding_pings()
        );
    }
    p.assert_no_error();
    assert_eq!(pings, 1, "one keepalive PING in flight, never a second");
    // The keepalive still detects the dead peer: silence past time + timeout.
    p.advance(Duration::from_secs(10));
    assert!(!p.is_closed_event());
    p.advance(Duration::from_secs(5));
    assert_eq!(p.close_reason(), Some(CloseReason::KeepaliveTimeout));
}

/// User PINGs the server never ACKs are bounded too: past the cap, new ones
/// are refused and nothing more goes on the wire.
#[test]
fn unanswered_user_pings_are_bounded() {
    let mut p = Peer::established();
    for _ in 0..1_000 {
        let _ = p.client.ping(p.now());
    }
    p.step();
    let sent = pings_sent(&p);
    assert!(sent.len() <= 64, "{} PINGs sent", sent.len());
    assert!(p.client.outstanding_pings() <= 64);
    p.assert_no_error();
    // The refusal is typed; an ACK makes room for one more.
    assert_eq!(p.client.ping(p.now()), Err(CallError::TooManyPings));
    p.take_sent();
    p.recv(&wire::ping(sent[0], true));
    assert!(p.client.ping(p.now()).is_ok());
    p.step();
    assert_eq!(pings_sent(&p).len(), 1);
    assert_eq!(p.client.ping(p.now()), Err(CallError::TooManyPings));
    // After the end of the connection: Closed.
    p.client.handle_eof(p.now());
    assert_eq!(p.client.ping(p.now()), Err(CallError::Closed));
}

/// Both knobs are off by default (C-core's MAX_PINGS_WITHOUT_DATA defaults
/// to 2 there, not here).
#[test]
fn keepalive_knobs_are_off_by_default() {
    let ka = Keepalive::new(Duration::from_secs(10), Duration::from_secs(5));
    assert!(!ka.permit_without_calls);
    assert_eq!(ka.min_ping_interval, None);
    assert_eq!(ka.max_pings_without_data, None);
    let ka = ka
        .permit_without_calls(true)
        .min_ping_interval(Duration::from_secs(30))
        .max_pings_without_data(2);
    assert!(ka.permit_without_calls);
    assert_eq!(ka.min_ping_interval, Some(Duration::from_secs(30)));
    assert_eq!(ka.max_pings_without_data, Some(2));
}

/// Runs `cycles` keepalive cycles where the server ACKs each PING at once;
/// returns the virtual times of the PINGs.
fn acked_ping_times(p: &mut Peer, horizon: Duration) -> Vec<Duration> {
    let end = p.elapsed() + horizon;
    let mut at = Vec::new();
    while p.elapsed() < end {
        let left = end - p.elapsed();
        if p.run_until_idle(left, 1) == 0 {
            break;
        }
        for payload in pings_sent(p) {
            at.push(p.elapsed());
            p.recv(&wire::ping(payload, true));
        }
        p.take_sent();
    }
    at
}

/// `min_ping_interval`: keepalive PINGs every `time` (10 s) without it, no
/// closer than 30 s with it, the server ACKing each one at once.
#[test]
fn keepalive_min_ping_interval_spaces_pings() {
    let base =
        Keepalive::new(Duration::from_secs(10), Duration::from_secs(5)).permit_without_calls(true);
    let mut cfg = test_config();
    cfg.keepalive = Some(base);
    let mut p = Peer::established_with(cfg, &[]);
    let at = acked_ping_times(&mut p, Duration::from_secs(300));
    assert_eq!(at.len(), 30, "{at:?}");

    let mut cfg = test_config();
    cfg.keepalive = Some(base.min_ping_interval(Duration::from_secs(30)));
    let mut p = Peer::established_with(cfg, &[]);
    let at = acked_ping_times(&mut p, Duration::from_secs(300));
    assert_eq!(
        at.first(),
        Some(&Duration::from_secs(10)),
        "the first is not delayed"
    );
    for w in at.windows(2) {
        assert_eq!(w[1] - w[0], Duration::from_secs(30), "{at:?}");
    }
    assert_eq!(at.len(), 10, "{at:?}");
    p.assert_no_error();
}

/// `max_pings_without_data`: after 2 keepalive PINGs with nothing sent by us
/// in between, no more PINGs (and no keepalive timeout: the trap is that a
/// dead peer under an idle stream goes undetected), until we send HEADERS
/// or DATA; then they resume and count from zero again.
#[test]
fn keepalive_max_pings_without_data_parks_until_we_send() {
    let mut cfg = test_config();
    cfg.keepalive = Some(
        Keepalive::new(Duration::from_secs(10), Duration::from_secs(5)).max_pings_without_data(2),
    );
    let mut p = Peer::established_with(cfg, &[]);
    let id = p.open(false);
    p.send_headers(id.value(), &support::response_head(), false);
    p.take_sent();
    let at = acked_ping_times(&mut p, Duration::from_secs(600));
    assert_eq!(
        at,
        vec![Duration::from_secs(10), Duration::from_secs(20)],
        "two PINGs, then none"
    );
    // The trap: the server is now silent (dead, say) and nothing notices.
    p.advance(Duration::from_secs(3600));
    assert!(!p.is_closed_event());
    assert_eq!(pings_sent(&p).len(), 0);
    // We send DATA: keepalive wakes up (the idle timer is re-armed from the
    // latest time the connection saw, so here the PING is due at once) for
    // two more PINGs.
    let sent_at = p.elapsed();
    p.client
        .send_data(id, Bytes::from_static(b"more"), false)
        .unwrap();
    p.step();
    let at = acked_ping_times(&mut p, Duration::from_secs(600));
    assert_eq!(at.len(), 2, "{at:?}");
    assert!(at[0] <= sent_at + Duration::from_secs(10), "{at:?}");
    assert_eq!(at[1] - at[0], Duration::from_secs(10), "{at:?}");
    p.assert_no_error();

    // Without the knob, PINGs go on for the whole idle time.
    let mut cfg = test_config();
    cfg.keepalive = Some(Keepalive::new(
        Duration::from_secs(10),
        Duration::from_secs(5),
    ));
    let mut p = Peer::established_with(cfg, &[]);
    p.open(false);
    p.take_sent();
    assert_eq!(acked_ping_times(&mut p, Duration::from_secs(600)).len(), 60);
}
