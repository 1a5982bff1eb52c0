//! The load-balancing test rig checked against itself (today's channel API):
//! dnsmasq answers and follows its hosts file, hickory-resolver reads it on
//! its port, and every grpc-go backend on 127.0.0.2.. serves calls and names
//! itself in `x-backend`. The channel's own tests over this rig are in
//! channel_lb_peers.rs.
//!
//! Skips without the peers (scripts/install-peers.sh --with-go) unless
//! `TETHER_REQUIRE_PEERS=1`.

mod channel_support;

use channel_support::backends::Backends;
use channel_support::dns::Dns;
use channel_support::test_service;
use channel_support::within;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::Resolver;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tether::{Channel, ChannelEvent, Code};

const CALL: Duration = Duration::from_secs(5);

#[tokio::test]
async fn dnsmasq_answers_and_follows_its_hosts_file() {
    let Some(dns) = Dns::start("svc.test", &["127.0.0.2", "127.0.0.3"]).await else {
        return;
    };
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let mut got = dns.query_a("svc.test").await.expect("an answer");
    got.sort();
    assert_eq!(got, vec![ip("127.0.0.2"), ip("127.0.0.3")]);
    // Another name: no address.
    assert_eq!(dns.query_a("other.test").await, Some(vec![]));

    dns.set(&["127.0.0.4"]).await;
    assert_eq!(dns.query_a("svc.test").await, Some(vec![ip("127.0.0.4")]));
    dns.set(&[]).await;
    assert_eq!(dns.query_a("svc.test").await, Some(vec![]));
    dns.set(&["127.0.0.2", "127.0.0.3", "127.0.0.4"]).await;
    assert_eq!(dns.query_a("svc.test").await.unwrap().len(), 3);
    assert_eq!(
        dns.target("svc.test", 50051),
        format!("dns://127.0.0.1:{}/svc.test:50051", dns.port())
    );
}

#[tokio::test]
async fn hickory_reads_dnsmasq_on_its_port_with_a_one_second_ttl() {
    let Some(dns) = Dns::start("svc.test", &["127.0.0.2", "127.0.0.3"]).await else {
        return;
    };
    let servers =
        NameServerConfigGroup::from_ips_clear(&["127.0.0.1".parse().unwrap()], dns.port(), true);
    let config = ResolverConfig::from_parts(None, vec![], servers);
    let resolver =
        Resolver::builder_with_config(config, TokioConnectionProvider::default()).build();
    let lookup = within(5, resolver.ipv4_lookup("svc.test.")).await.unwrap();
    let mut got: Vec<Ipv4Addr> = lookup.iter().map(|a| a.0).collect();
    got.sort();
    assert_eq!(
        got,
        vec![Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 3)]
    );
    // --local-ttl=1: what the dns: resolver's TTL-driven refresh sees.
    for r in lookup.as_lookup().records() {
        assert_eq!(r.ttl(), 1, "{r:?}");
    }
    // After a change and the TTL, hickory (whose cache honours the TTL) sees it.
    dns.set(&["127.0.0.4"]).await;
    let t0 = Instant::now();
    loop {
        let lookup = within(5, resolver.ipv4_lookup("svc.test.")).await.unwrap();
        let got: Vec<Ipv4Addr> = lookup.iter().map(|a| a.0).collect();
        if got == vec![Ipv4Addr::new(127, 0, 0, 4)] {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "hickory still answers {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn every_backend_serves_and_names_itself() {
    let Some(backends) = Backends::start(3, &[]).await else {
        return;
    };
    for i in 0..backends.len() {
        let ch = Channel::builder(&backends.http_target(i))
            .unwrap()
            .build()
            .unwrap();
        let served = within(10, test_service::unary(&ch, false, CALL))
            .await
            .unwrap();
        assert_eq!(served, backends.addr(i));
        assert_eq!(backends.index_of(&served), Some(i));
        // Streaming calls carry the header too (the stream interceptor).
        let (served, n) = within(
            10,
            test_service::held(&ch, 2, Duration::from_millis(10), CALL),
        )
        .await
        .unwrap();
        assert_eq!((served.as_str(), n), (backends.addr(i).as_str(), 2));
    }
}

#[tokio::test]
async fn a_held_call_lasts_its_intervals() {
    let Some(backends) = Backends::start(1, &[]).await else {
        return;
    };
    let ch = Channel::builder(&backends.http_target(0))
        .unwrap()
        .build()
        .unwrap();
    test_service::unary(&ch, false, CALL).await.unwrap(); // connected
    let t0 = Instant::now();
    let (_, n) = within(
        10,
        test_service::held(&ch, 4, Duration::from_millis(250), CALL),
    )
    .await
    .unwrap();
    let took = t0.elapsed();
    assert_eq!(n, 4);
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(3),
        "took {took:?}"
    );
}

#[tokio::test]
async fn a_backend_killed_refuses_and_a_restarted_one_serves() {
    let Some(mut backends) = Backends::start(2, &["-max_concurrent_streams=2"]).await else {
        return;
    };
    backends.kill(1);
    assert!(!backends.is_running(1));
    let ch = Channel::builder(&backends.http_target(1))
        .unwrap()
        .build()
        .unwrap();
    let err = within(10, test_service::unary(&ch, false, CALL))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    // The other one, on the same port, is untouched.
    let other = Channel::builder(&backends.http_target(0))
        .unwrap()
        .build()
        .unwrap();
    let served = within(10, test_service::unary(&other, false, CALL))
        .await
        .unwrap();
    assert_eq!(served, backends.addr(0));

    backends.restart(1).await;
    let ch = Channel::builder(&backends.http_target(1))
        .unwrap()
        .build()
        .unwrap();
    let served = within(10, test_service::unary(&ch, false, CALL))
        .await
        .unwrap();
    assert_eq!(served, backends.addr(1));
}

#[test]
fn the_policy_server_refuses_a_host_outside_loopback() {
    let Some(bin) = channel_support::peers::peer_file("bin/go-policy-server") else {
        return;
    };
    for host in ["0.0.0.0", "10.1.2.3", "::1", "localhost"] {
        let out = std::process::Command::new(&bin)
            .args(["-host", host, "-port", "0", "-lifetime=5s"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "-host {host} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("127.0.0.0/8"), "-host {host}: {err}");
    }
}

#[test]
fn held_call_requests_are_encoded_by_hand_correctly() {
    // 2 x ResponseParameters { interval_us: 1 }.
    assert_eq!(
        &test_service::streaming_output_request(2, Duration::from_micros(1))[..],
        b"\x12\x02\x10\x01\x12\x02\x10\x01"
    );
    // interval_us 1_000_000 is a 3-byte varint.
    assert_eq!(
        &test_service::streaming_output_request(1, Duration::from_secs(1))[..],
        b"\x12\x04\x10\xc0\x84\x3d"
    );
}

#[tokio::test]
async fn the_age_flags_reach_the_server_it_sends_goaway() {
    let Some(b) = Backends::start(
        1,
        &["-max_connection_age=300ms", "-max_connection_age_grace=10s"],
    )
    .await
    else {
        return;
    };
    let goaways = Arc::new(AtomicUsize::new(0));
    let seen = goaways.clone();
    let ch = Channel::builder(&b.http_target(0))
        .unwrap()
        .on_event(move |e| {
            if matches!(e, ChannelEvent::GoAway { .. }) {
                seen.fetch_add(1, Ordering::Relaxed);
            }
        })
        .build()
        .unwrap();
    within(10, test_service::unary(&ch, true, CALL))
        .await
        .unwrap();
    let t0 = Instant::now();
    while goaways.load(Ordering::Relaxed) == 0 {
        assert!(t0.elapsed() < Duration::from_secs(3), "no GOAWAY");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_stream_limit_reaches_the_server_calls_beyond_it_wait() {
    let Some(b) = Backends::start(1, &["-max_concurrent_streams=2"]).await else {
        return;
    };
    let ch = Channel::builder(&b.http_target(0))
        .unwrap()
        .build()
        .unwrap();
    within(10, test_service::unary(&ch, true, CALL))
        .await
        .unwrap();
    // 4 calls of 0.5 s on one connection allowing 2 streams: two rounds.
    let t0 = Instant::now();
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let ch = ch.clone();
            tokio::spawn(async move {
                test_service::held(&ch, 5, Duration::from_millis(100), CALL).await
            })
        })
        .collect();
    for c in calls {
        let (_, n) = within(10, c).await.unwrap().unwrap();
        assert_eq!(n, 5);
    }
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(950),
        "took {took:?}: the limit did not apply"
    );
}
