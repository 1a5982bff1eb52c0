//! The channel's name resolution, load balancing and connection scaling
//! against real peers: grpc-go servers on 127.0.0.2, .3, .4 sharing a port
//! (channel_support::backends, each naming itself in `x-backend`), found by
//! name through dnsmasq (channel_support::dns, TTL 1 s), by `ipv4:` lists,
//! or through a `ManualResolver`.
//!
//! Every test is bounded in time (at most about 20 s) and skips without the
//! peers (scripts/install-peers.sh --with-go) unless `TETHER_REQUIRE_PEERS=1`.
//! The rig itself is checked by channel_lb_harness.rs.

mod channel_support;

use channel_support::backends::Backends;
use channel_support::dns::Dns;
use channel_support::test_service::{held, spread, unary};
use channel_support::within;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tether::channel::SubchannelSnapshot;
use tether::resolver::{Address, DnsConfig, DnsRefresh, ManualResolver, Resolution};
use tether::service_config::LbConfig;
use tether::{Channel, ChannelEvent, Code, ConnectivityState};

/// A bound for one call (wait-for-ready calls wait out reconnections).
const CALL: Duration = Duration::from_secs(5);
const NAME: &str = "svc.test";

/// DNS re-resolution driven by the 1 s TTL dnsmasq gives, no rate limit.
fn dns_every_second() -> DnsConfig {
    DnsConfig::default()
        .with_min_resolution_interval(Duration::ZERO)
        .with_refresh(DnsRefresh::Ttl {
            min: Duration::from_secs(1),
            max: Duration::from_secs(1),
        })
}

/// Everything the channel reported, in order.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<ChannelEvent>>>);

impl Events {
    fn hook(&self) -> impl Fn(&ChannelEvent) + Send + Sync + 'static {
        let events = self.0.clone();
        move |e: &ChannelEvent| events.lock().unwrap().push(e.clone())
    }

    fn all(&self) -> Vec<ChannelEvent> {
        self.0.lock().unwrap().clone()
    }

    fn states(&self) -> Vec<(ConnectivityState, ConnectivityState)> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                ChannelEvent::StateChanged { from, to } => Some((from, to)),
                _ => None,
            })
            .collect()
    }

    fn goaways(&self) -> usize {
        self.all()
            .iter()
            .filter(|e| matches!(e, ChannelEvent::GoAway { .. }))
            .count()
    }
}

/// Waits (at most `secs`) until the channel is in `want`; asks it to
/// connect unless waiting for IDLE.
async fn wait_for_state(ch: &Channel, want: ConnectivityState, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let now = ch.state(want != ConnectivityState::Idle);
        if now == want {
            return;
        }
        assert!(
            ch.wait_for_state_change(now, deadline).await,
            "still {now} after {secs} s, waiting for {want}; subchannels: {:?}",
            ch.subchannels()
        );
    }
}

/// Polls the subchannel snapshot (at most `secs`) until `ok` holds.
async fn wait_for_subchannels(
    ch: &Channel,
    secs: u64,
    what: &str,
    ok: impl Fn(&[SubchannelSnapshot]) -> bool,
) {
    let t0 = Instant::now();
    loop {
        let subs = ch.subchannels();
        if ok(&subs) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "after {secs} s, not {what}: {subs:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ready_addresses(subs: &[SubchannelSnapshot]) -> Vec<Address> {
    let mut v: Vec<Address> = subs
        .iter()
        .filter(|s| s.state == ConnectivityState::Ready)
        .map(|s| s.address.clone())
        .collect();
    v.sort();
    v
}

fn tcp(b: &Backends, which: &[usize]) -> Vec<Address> {
    let mut v: Vec<Address> = which
        .iter()
        .map(|&i| Address::Tcp(b.socket_addr(i)))
        .collect();
    v.sort();
    v
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Unary calls until one lands on `backend` (at most `secs`); the time it took.
async fn until_served_by(ch: &Channel, backend: &str, secs: u64) -> Duration {
    let t0 = Instant::now();
    loop {
        let served = within(10, unary(ch, true, CALL)).await.unwrap();
        if served == backend {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{backend} served nothing within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// a. round_robin spreads calls evenly over the addresses of a DNS name.
#[tokio::test]
async fn round_robin_spreads_over_three_backends_found_by_dns() {
    let Some(b) = Backends::start(3, &[]).await else {
        return;
    };
    let Some(dns) = Dns::start(NAME, &strs(&b.ips(&[0, 1, 2]))).await else {
        return;
    };
    let ch = Channel::builder(&dns.target(NAME, b.port()))
        .unwrap()
        .load_balancing(LbConfig::RoundRobin)
        .dns(dns_every_second())
        .build()
        .unwrap();
    wait_for_state(&ch, ConnectivityState::Ready, 5).await;
    // round_robin connects to every address, not only the first.
    wait_for_subchannels(&ch, 5, "3 READY", |s| {
        ready_addresses(s) == tcp(&b, &[0, 1, 2])
    })
    .await;

    let counts = within(20, spread(&ch, 300, CALL)).await;
    assert_eq!(counts.len(), 3, "{counts:?}");
    for i in 0..3 {
        let n = counts.get(&b.addr(i)).copied().unwrap_or(0);
        assert!(
            (90..=110).contains(&n),
            "backend {} served {n} of 300: {counts:?}",
            b.addr(i)
        );
    }
}

// b. pick_first sticks to one backend, and moves on when it dies.
#[tokio::test]
async fn pick_first_sticks_then_fails_over_when_its_backend_dies() {
    let Some(mut b) = Backends::start(3, &[]).await else {
        return;
    };
    let Some(dns) = Dns::start(NAME, &strs(&b.ips(&[0, 1, 2]))).await else {
        return;
    };
    let events = Events::default();
    let ch = Channel::builder(&dns.target(NAME, b.port()))
        .unwrap()
        .dns(dns_every_second())
        .on_event(events.hook())
        .build()
        .unwrap(); // pick_first is the default

    let counts = within(20, spread(&ch, 50, CALL)).await;
    assert_eq!(
        counts.len(),
        1,
        "pick_first used several backends: {counts:?}"
    );
    let (first, n) = counts.into_iter().next().unwrap();
    assert_eq!(n, 50);
    let dead = b.index_of(&first).expect("x-backend names one of ours");
    // pick_first holds one connection, to one address.
    wait_for_subchannels(&ch, 2, "one connected subchannel", |s| {
        s.iter().filter(|s| s.connections > 0).count() == 1
    })
    .await;

    b.kill(dead);
    // A call racing the kill may go out on the dying connection and fail
    // (nothing proves the server did not see it, so no transparent retry);
    // the failover is about the calls after the channel noticed.
    wait_for_subchannels(&ch, 5, "the dead connection noticed", |s| {
        !s.iter()
            .any(|s| s.address.to_string() == first && s.state == ConnectivityState::Ready)
    })
    .await;
    let served = within(10, unary(&ch, true, CALL)).await.unwrap();
    assert_ne!(served, first, "a call went to the killed backend");
    assert!(b.index_of(&served).is_some(), "{served}");
    wait_for_state(&ch, ConnectivityState::Ready, 5).await;

    // And it sticks to the new one.
    let counts = within(20, spread(&ch, 20, CALL)).await;
    assert_eq!(counts.into_iter().collect::<Vec<_>>(), vec![(served, 20)]);
    assert!(
        events
            .states()
            .iter()
            .any(|&(_, to)| to == ConnectivityState::Ready),
        "{:?}",
        events.states()
    );
}

// c. The dns: resolver follows the name: a new address gets calls within
// the TTL refresh, a removed one gets none after the next resolution.
#[tokio::test]
async fn dns_refresh_adds_and_removes_backends() {
    let Some(b) = Backends::start(3, &[]).await else {
        return;
    };
    let Some(dns) = Dns::start(NAME, &strs(&b.ips(&[0, 1]))).await else {
        return;
    };
    let ch = Channel::builder(&dns.target(NAME, b.port()))
        .unwrap()
        .default_service_config(r#"{"loadBalancingConfig":[{"round_robin":{}}]}"#)
        .unwrap()
        .dns(dns_every_second())
        .build()
        .unwrap();
    let counts = within(20, spread(&ch, 30, CALL)).await;
    assert_eq!(
        counts.keys().cloned().collect::<Vec<_>>(),
        vec![b.addr(0), b.addr(1)],
        "{counts:?}"
    );

    // Add the third address: calls reach it within 2 s (the issue's bound:
    // a 1 s refresh, then connecting; measured about 1.0 s).
    dns.set(&strs(&b.ips(&[0, 1, 2]))).await;
    let took = until_served_by(&ch, &b.addr(2), 5).await;
    eprintln!("the new backend served a call after {took:?}");
    assert!(
        took < Duration::from_secs(2),
        "the new backend took {took:?}"
    );
    let counts = within(20, spread(&ch, 30, CALL)).await;
    assert_eq!(counts.len(), 3, "{counts:?}");

    // Remove the second address (its server keeps running): once resolved,
    // its subchannel goes and no call reaches it.
    dns.set(&strs(&b.ips(&[0, 2]))).await;
    wait_for_subchannels(&ch, 4, "without the removed address", |s| {
        !s.iter()
            .any(|s| s.address == Address::Tcp(b.socket_addr(1)))
    })
    .await;
    let counts = within(20, spread(&ch, 60, CALL)).await;
    assert_eq!(
        counts.get(&b.addr(1)),
        None,
        "a removed backend got calls: {counts:?}"
    );
    assert_eq!(counts.len(), 2, "{counts:?}");
    for (backend, n) in &counts {
        assert!(
            (25..=35).contains(n),
            "{backend} served {n} of 60: {counts:?}"
        );
    }
}

// d. All servers down: fail-fast calls fail at once in TRANSIENT_FAILURE;
// a wait-for-ready call waits and succeeds when a server comes back.
#[tokio::test]
async fn all_down_fails_fast_and_wait_for_ready_waits_for_a_restart() {
    let Some(mut b) = Backends::start(2, &[]).await else {
        return;
    };
    let target = b.ipv4_target(&[0, 1]);
    b.kill(0);
    b.kill(1);
    let ch = Channel::builder(&target)
        .unwrap()
        .load_balancing(LbConfig::RoundRobin)
        .build()
        .unwrap();
    wait_for_state(&ch, ConnectivityState::TransientFailure, 5).await;
    wait_for_subchannels(&ch, 5, "all failed with an error", |s| {
        s.len() == 2 && s.iter().all(|s| s.last_error.is_some())
    })
    .await;

    let t0 = Instant::now();
    let err = within(5, unary(&ch, false, CALL)).await.unwrap_err();
    let took = t0.elapsed();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(
        took < Duration::from_millis(200),
        "a fail-fast call took {took:?}"
    );

    let waiting = {
        let ch = ch.clone();
        tokio::spawn(async move { unary(&ch, true, Duration::from_secs(15)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the wait-for-ready call did not wait"
    );
    // TRANSIENT_FAILURE is sticky (gRFC A62) while nothing connects.
    assert_eq!(ch.state(false), ConnectivityState::TransientFailure);

    b.restart(1).await;
    // Within the connect backoff (1 s, x1.6, +-20 %: the next attempt comes
    // at most a few seconds later).
    let served = within(10, waiting).await.unwrap().unwrap();
    assert_eq!(served, b.addr(1));
    wait_for_state(&ch, ConnectivityState::Ready, 5).await;
}

// d'. reset_connect_backoff: a restarted server is used at once, not at the
// end of the current backoff.
#[tokio::test]
async fn reset_connect_backoff_reconnects_at_once() {
    let Some(mut b) = Backends::start(1, &[]).await else {
        return;
    };
    let target = b.ipv4_target(&[0]);
    b.kill(0);
    let ch = Channel::builder(&target).unwrap().build().unwrap();
    wait_for_state(&ch, ConnectivityState::TransientFailure, 5).await;
    let failed = Instant::now();
    // Two failures: the next attempt is 1.6 s (+-20 %) after the second,
    // so no sooner than 0.8 + 1.28 s after the first.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    b.restart(0).await;
    ch.reset_connect_backoff();
    let reset = Instant::now();
    assert!(
        reset - failed < Duration::from_millis(1900),
        "the rig was too slow to test this ({:?})",
        reset - failed
    );
    let served = within(10, unary(&ch, true, CALL)).await.unwrap();
    assert_eq!(served, b.addr(0));
    assert!(
        failed.elapsed() < Duration::from_millis(2000),
        "served {:?} after the reset, {:?} after the first failure: it waited for the backoff",
        reset.elapsed(),
        failed.elapsed()
    );
}

// e. gRFC A105: with MAX_CONCURRENT_STREAMS 2, a subchannel opens more
// connections (up to max_connections_per_subchannel) instead of queueing.
#[tokio::test]
async fn a105_opens_connections_up_to_the_limit_when_streams_are_saturated() {
    let Some(b) = Backends::start(1, &["-max_concurrent_streams=2"]).await else {
        return;
    };
    let ch = Channel::builder(&b.ipv4_target(&[0]))
        .unwrap()
        .max_connections_per_subchannel(5)
        .extra_connection_idle_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    // Connected, and the server's SETTINGS (MAX_CONCURRENT_STREAMS 2) known.
    within(10, unary(&ch, true, CALL)).await.unwrap();

    let t0 = Instant::now();
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let ch = ch.clone();
            tokio::spawn(async move {
                held(&ch, 10, Duration::from_millis(100), Duration::from_secs(10)).await
            })
        })
        .collect();
    let (mut max_conns, mut max_streams) = (0, 0);
    while !calls.iter().all(|c| c.is_finished()) {
        let subs = ch.subchannels();
        assert_eq!(subs.len(), 1, "{subs:?}");
        max_conns = max_conns.max(subs[0].connections);
        max_streams = max_streams.max(subs[0].streams_in_flight);
        assert!(subs[0].connections <= 5, "over the limit: {subs:?}");
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "held calls never ended"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = t0.elapsed();
    for c in calls {
        let (served, n) = c.await.unwrap().unwrap();
        assert_eq!((served.as_str(), n), (b.addr(0).as_str(), 10));
    }
    assert_eq!(max_conns, 5, "connections while 10 calls ran");
    assert_eq!(max_streams, 10, "streams in flight while 10 calls ran");
    // All ran at once: 5 connections x 2 streams, about 1 s (one connection
    // would have taken 5 s).
    assert!(
        took < Duration::from_millis(2500),
        "10 held calls took {took:?}"
    );
    // Once idle for the extra-connection timeout, the four extra
    // connections close; the first stays and still serves.
    wait_for_subchannels(&ch, 5, "back to one connection", |s| {
        s.len() == 1 && s[0].connections == 1
    })
    .await;
    assert_eq!(ch.state(false), ConnectivityState::Ready);
    within(10, unary(&ch, false, CALL)).await.unwrap();
}

// f. A server that ages its connections out (GOAWAY every second, long
// grace): the channel replaces them without leaving READY or failing a call.
#[tokio::test]
async fn max_connection_age_goaways_are_invisible_to_calls() {
    let Some(b) = Backends::start(
        1,
        &["-max_connection_age=1s", "-max_connection_age_grace=10s"],
    )
    .await
    else {
        return;
    };
    let events = Events::default();
    let ch = Channel::builder(&b.ipv4_target(&[0]))
        .unwrap()
        .on_event(events.hook())
        .build()
        .unwrap();
    wait_for_state(&ch, ConnectivityState::Ready, 5).await;

    let t0 = Instant::now();
    for i in 0..100 {
        // Fail-fast: a call made while the channel is not READY would fail.
        let served = within(10, unary(&ch, false, CALL))
            .await
            .unwrap_or_else(|e| panic!("call {i} failed: {e}; events: {:?}", events.all()));
        assert_eq!(served, b.addr(0));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(t0.elapsed() >= Duration::from_millis(3000));
    assert!(
        events.goaways() >= 2,
        "the server sent no GOAWAY: {:?}",
        events.all()
    );
    let left: Vec<_> = events
        .states()
        .into_iter()
        .filter(|&(from, _)| from == ConnectivityState::Ready)
        .collect();
    assert!(
        left.is_empty(),
        "the state left READY: {:?}",
        events.states()
    );
    assert_eq!(ch.state(false), ConnectivityState::Ready);
}

// g. An application's own resolver: ManualResolver, updated by hand.
#[tokio::test]
async fn manual_resolver_updates_reach_round_robin() {
    let Some(b) = Backends::start(2, &[]).await else {
        return;
    };
    let resolver = ManualResolver::new();
    let ch = Channel::builder_with_resolver("svc", resolver.clone())
        .load_balancing(LbConfig::RoundRobin)
        .build()
        .unwrap();
    resolver.update(Resolution::new(vec![Address::Tcp(b.socket_addr(0))]));
    let counts = within(20, spread(&ch, 10, CALL)).await;
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        vec![(b.addr(0), 10)]
    );

    resolver.update(Resolution::new(vec![
        Address::Tcp(b.socket_addr(0)),
        Address::Tcp(b.socket_addr(1)),
    ]));
    until_served_by(&ch, &b.addr(1), 5).await;
    wait_for_subchannels(&ch, 5, "2 READY", |s| {
        ready_addresses(s) == tcp(&b, &[0, 1])
    })
    .await;
    let counts: BTreeMap<String, usize> = within(20, spread(&ch, 40, CALL)).await;
    assert_eq!(counts.len(), 2, "{counts:?}");
    for (backend, n) in &counts {
        assert!(
            (16..=24).contains(n),
            "{backend} served {n} of 40: {counts:?}"
        );
    }

    ch.close();
    assert_eq!(ch.state(false), ConnectivityState::Shutdown);
    let err = within(5, unary(&ch, true, CALL)).await.unwrap_err();
    assert_ne!(err.code(), Code::Ok);
}

// h. idle_timeout: an unused channel goes IDLE (dropping its connections)
// and reconnects on the next call.
#[tokio::test]
async fn idle_timeout_drops_connections_and_the_next_call_reconnects() {
    let Some(b) = Backends::start(1, &[]).await else {
        return;
    };
    let ch = Channel::builder(&b.ipv4_target(&[0]))
        .unwrap()
        .idle_timeout(Some(Duration::from_secs(1)))
        .build()
        .unwrap();
    within(10, unary(&ch, true, CALL)).await.unwrap();
    assert_eq!(ch.state(false), ConnectivityState::Ready);
    wait_for_state(&ch, ConnectivityState::Idle, 4).await;
    wait_for_subchannels(&ch, 2, "no connection", |s| {
        s.iter().all(|s| s.connections == 0)
    })
    .await;
    let served = within(10, unary(&ch, false, CALL)).await.unwrap();
    assert_eq!(served, b.addr(0));
    assert_eq!(ch.state(false), ConnectivityState::Ready);
}
