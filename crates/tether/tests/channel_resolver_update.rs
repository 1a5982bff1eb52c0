//! What a new address list does to calls, with an application's resolver
//! (`ManualResolver`) and two scripted servers: a kept address keeps its
//! connection; a removed one takes no new call, lets its call in flight
//! finish, then closes its connection.

mod channel_support;

use bytes::Bytes;
use channel_support::*;
use std::net::SocketAddr;
use std::time::Duration;
use tether::resolver::{Address, ManualResolver, Resolution};
use tether::service_config::LbConfig;
use tether::{BytesCodec, Channel, ConnectivityState, Request};

fn resolution(addrs: &[SocketAddr]) -> Resolution {
    Resolution::new(addrs.iter().map(|a| Address::Tcp(*a)).collect())
}

async fn call(ch: &Channel, path: &str) -> Result<Bytes, tether::Status> {
    let req = Request::new(Bytes::new()).with_timeout(Duration::from_secs(5));
    ch.unary(path, req, BytesCodec)
        .await
        .map(|r| r.message().clone())
}

#[tokio::test]
async fn a_removed_address_finishes_its_call_then_closes_and_a_kept_one_stays() {
    let (la, _) = listen().await;
    let (lb, _) = listen().await;
    let (a, b) = (la.local_addr().unwrap(), lb.local_addr().unwrap());
    let resolver = ManualResolver::new();
    resolver.update(resolution(&[a, b]));
    let ch = Channel::builder_with_resolver("svc.test", resolver.clone())
        .load_balancing(LbConfig::RoundRobin)
        .build()
        .unwrap();
    assert_eq!(ch.state(true), ConnectivityState::Connecting);
    // round_robin connects to both at once.
    let (mut sa, mut sb) = within(5, async { (accept(&la).await, accept(&lb).await) }).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while ch.state(false) != ConnectivityState::Ready {
        assert!(ch.wait_for_state_change(ch.state(false), deadline).await);
    }
    // Wait until both subchannels are READY, so the next calls alternate.
    for _ in 0..100 {
        if ch
            .subchannels()
            .iter()
            .filter(|s| s.state == ConnectivityState::Ready)
            .count()
            == 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // One call held on A, one on B (round robin), in either order.
    let c1 = tokio::spawn({
        let ch = ch.clone();
        async move { call(&ch, "/t.S/Held").await }
    });
    let c2 = tokio::spawn({
        let ch = ch.clone();
        async move { call(&ch, "/t.S/Held").await }
    });
    let (ida, _, _) = within(5, sa.request()).await;
    let (idb, _, _) = within(5, sb.request()).await;

    // A leaves the list: its call in flight goes on.
    resolver.update(resolution(&[b]));
    for _ in 0..200 {
        if ch.subchannels().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let subs = ch.subchannels();
    assert_eq!(subs.len(), 1, "{subs:?}");
    assert_eq!(subs[0].address, Address::Tcp(b));

    // New calls go to B only (A's server would never answer them).
    let c3 = tokio::spawn({
        let ch = ch.clone();
        async move { call(&ch, "/t.S/New").await }
    });
    let (id3, fields, _) = within(5, sb.request()).await;
    assert_eq!(field(&fields, ":path"), Some("/t.S/New"));
    sb.unary_ok(id3, b"from b").await;
    assert_eq!(
        within(5, c3).await.unwrap().unwrap(),
        Bytes::from_static(b"from b")
    );

    // The held calls finish, A's on the removed address included.
    sa.unary_ok(ida, b"held a").await;
    sb.unary_ok(idb, b"held b").await;
    let mut got = vec![
        within(5, c1).await.unwrap().unwrap(),
        within(5, c2).await.unwrap().unwrap(),
    ];
    got.sort();
    assert_eq!(
        got,
        [Bytes::from_static(b"held a"), Bytes::from_static(b"held b")]
    );

    // Then A's connection closes (GOAWAY and end of file); B's stays.
    let closed = within(5, async {
        loop {
            match sa.next().await {
                Got::Eof => return true,
                Got::GoAway(_) => {}
                other => panic!("unexpected on the removed connection: {other:?}"),
            }
        }
    })
    .await;
    assert!(closed);
    let c4 = tokio::spawn({
        let ch = ch.clone();
        async move { call(&ch, "/t.S/After").await }
    });
    let (id4, _, _) = within(5, sb.request()).await;
    sb.unary_ok(id4, b"still b").await;
    assert_eq!(
        within(5, c4).await.unwrap().unwrap(),
        Bytes::from_static(b"still b")
    );
    assert_eq!(ch.subchannels()[0].connections, 1);
    assert!(resolver.resolve_now_count() < 10, "re-resolution storm");
}

// The resolver's first report carries a service config whose methodConfig
// gives the method a 300 ms timeout. A call made before that report, on an
// IDLE channel, waits for it and then reads its method config, so it gets
// the timeout (as grpc-go does). Before, it read the config at once, found
// none and, against a server that never answers, never ended.
#[tokio::test]
async fn a_call_made_before_the_first_resolution_gets_its_method_config() {
    let (l, _) = listen().await;
    let addr = l.local_addr().unwrap();
    let server = tokio::spawn(async move {
        // Accepts, acknowledges SETTINGS, reads the request, never answers.
        let mut s = accept(&l).await;
        while !matches!(s.next().await, Got::Eof) {}
    });
    let resolver = ManualResolver::new();
    let ch = Channel::builder_with_resolver("svc.test", resolver.clone())
        .build()
        .unwrap();
    assert_eq!(ch.state(false), ConnectivityState::Idle);
    let call = tokio::spawn({
        let ch = ch.clone();
        async move {
            let t0 = std::time::Instant::now();
            let r = ch
                .unary("/test.Svc/M", Request::new(Bytes::new()), BytesCodec)
                .await;
            (r.map(|_| ()), t0.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    resolver.update(resolution(&[addr]).with_service_config(
        r#"{"methodConfig":[{"name":[{"service":"test.Svc"}],"timeout":"0.3s"}]}"#,
    ));
    let (result, took) = within(5, call).await.unwrap();
    let err = result.unwrap_err();
    assert_eq!(err.code(), tether::Code::DeadlineExceeded, "{err}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    ch.close();
    drop(ch);
    let _ = within(5, server).await;
}
