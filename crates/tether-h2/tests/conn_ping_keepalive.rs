//! PING and keepalive in virtual time (HOSTILE.md F43-F46, gRFC A8).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::Bytes;
use std::time::Duration;
use support::wire;
use support::{test_config, Peer, Sent};
use tether_h2::conn::{CloseReason, Event, GoAwayInfo, Keepalive};
use tether_h2::{ErrorCode, StreamId};

fn keepalive(time: u64, timeout: u64, permit_without_calls: bool) -> tether_h2::Config {
    let mut cfg = test_config();
    cfg.keepalive = Some(Keepalive {
        time: Duration::from_secs(time),
        timeout: Duration::from_secs(timeout),
        permit_without_calls,
    });
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
    let id = p.client.ping(p.now());
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
    let a = p.client.ping(p.now());
    p.advance(Duration::from_millis(5));
    let b = p.client.ping(p.now());
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
    let info = GoAwayInfo {
        last_stream_id: StreamId::new(0),
        code: ErrorCode::ENHANCE_YOUR_CALM,
        debug_data: Bytes::from_static(b"too_many_pings"),
        unprocessed: vec![],
        too_many_pings: true,
    };
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
