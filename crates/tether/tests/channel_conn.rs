//! Connection management against a scripted server: connect deadline,
//! transparent retry after GOAWAY, keepalive, too_many_pings, connectivity
//! states and wait-for-ready.

mod channel_support;

use bytes::Bytes;
use channel_support::*;
use std::time::{Duration, Instant};
use tether::backoff::BackoffConfig;
use tether::{BytesCodec, Channel, Code, ConnectivityState, Keepalive, Request};
use tether_h2::ErrorCode;
use tokio::net::TcpListener;

fn fast_backoff() -> BackoffConfig {
    let mut b = BackoffConfig::default();
    b.initial_backoff = Duration::from_millis(100);
    b.jitter = 0.0;
    b
}

// Tokio's paused clock: the timing windows below are virtual time, exact
// whatever the machine's load (the sockets are real, on loopback).
#[tokio::test(start_paused = true)]
async fn silent_server_fails_at_connect_deadline() {
    let (l, target) = listen().await;
    let _hold = tokio::spawn(async move {
        // Accept and say nothing (HOSTILE A2).
        let (s, _) = l.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(s);
    });
    let channel = Channel::builder(&target)
        .unwrap()
        .connect_timeout(Duration::from_millis(300))
        .backoff(fast_backoff())
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let err = within(
        5,
        channel.unary("/a.B/C", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(err.message().contains("connect deadline"), "{err}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(400),
        "{took:?}"
    );
}

#[tokio::test]
async fn goaway_unprocessed_stream_is_retried_on_a_new_connection() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut first = accept(&l).await;
        let (id, _, _) = first.request().await;
        assert_eq!(id.value(), 1);
        // Last processed stream 0: stream 1 was never processed.
        first.goaway(0, ErrorCode::NO_ERROR, b"").await;
        let mut second = accept(&l).await;
        let (id, fields, msgs) = second.request().await;
        assert_eq!(field(&fields, ":path"), Some("/a.B/Retry"));
        assert_eq!(msgs, vec![Bytes::from_static(b"req")]);
        second.unary_ok(id, b"second connection").await;
        (first, second)
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let resp = within(
        5,
        channel.unary(
            "/a.B/Retry",
            Request::new(Bytes::from_static(b"req")),
            BytesCodec,
        ),
    )
    .await
    .unwrap();
    assert_eq!(resp.message(), &Bytes::from_static(b"second connection"));
    within(5, server).await.unwrap();
}

#[tokio::test]
async fn refused_stream_is_retried_transparently() {
    let (l, target) = listen().await;
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        s.rst(id, ErrorCode::REFUSED_STREAM).await;
        let (id, _, _) = s.request().await;
        assert_eq!(id.value(), 3);
        s.unary_ok(id, b"ok").await;
        s.next().await;
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let resp = within(
        5,
        channel.unary("/a.B/C", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap();
    assert_eq!(resp.message(), &Bytes::from_static(b"ok"));
}

// Tokio's paused clock: the timing windows below are virtual time, exact
// whatever the machine's load (the sockets are real, on loopback).
#[tokio::test(start_paused = true)]
async fn keepalive_detects_a_dead_peer() {
    let (l, target) = listen().await;
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        s.answer_pings = false;
        let (id, _, _) = s.request().await;
        s.response_headers(id).await;
        // Stop answering anything, keep the socket open.
        loop {
            if let Got::Eof = s.next_any().await {
                break;
            }
        }
    });
    let channel = Channel::builder(&target)
        .unwrap()
        .keepalive(Keepalive::new(
            Duration::from_millis(200),
            Duration::from_millis(200),
        ))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let err = within(
        5,
        channel.unary("/a.B/C", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(err.message().contains("keepalive"), "{err}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(500),
        "{took:?}"
    );
}

// Tokio's paused clock: the timing windows below are virtual time, exact
// whatever the machine's load (the sockets are real, on loopback).
#[tokio::test(start_paused = true)]
async fn too_many_pings_doubles_keepalive_time() {
    let (l, target) = listen().await;
    let channel = Channel::builder(&target)
        .unwrap()
        .keepalive(
            Keepalive::new(Duration::from_millis(100), Duration::from_secs(2))
                .permit_without_calls(true),
        )
        .build()
        .unwrap();
    assert_eq!(channel.state(true), ConnectivityState::Connecting);
    let mut first = within(5, accept(&l)).await;
    // Three PINGs, so that there are two gaps to check.
    while first.pings.len() < 3 {
        within(5, first.next_any()).await;
    }
    let gaps: Vec<_> = first.pings.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter()
            .all(|g| *g >= Duration::from_millis(100) && *g < Duration::from_millis(150)),
        "{gaps:?}"
    );
    first
        .goaway(0, ErrorCode::ENHANCE_YOUR_CALM, b"too_many_pings")
        .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while channel.state(false) != ConnectivityState::Idle {
        assert!(
            channel
                .wait_for_state_change(channel.state(false), deadline)
                .await
        );
    }
    channel.state(true);
    let mut second = within(5, accept(&l)).await;
    // Three PINGs, so that there are two gaps to check.
    while second.pings.len() < 3 {
        within(5, second.next_any()).await;
    }
    let gaps: Vec<_> = second.pings.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter()
            .all(|g| *g >= Duration::from_millis(200) && *g < Duration::from_millis(250)),
        "{gaps:?}"
    );
}

#[tokio::test]
async fn connectivity_idle_connecting_ready() {
    let (l, target) = listen().await;
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    assert_eq!(channel.state(false), ConnectivityState::Idle);
    assert_eq!(channel.state(true), ConnectivityState::Connecting);
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        s.next().await;
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    assert!(
        channel
            .wait_for_state_change(ConnectivityState::Connecting, deadline)
            .await
    );
    assert_eq!(channel.state(false), ConnectivityState::Ready);
    // No change within a short deadline: false.
    let short = Instant::now() + Duration::from_millis(50);
    assert!(
        !channel
            .wait_for_state_change(ConnectivityState::Ready, short)
            .await
    );
    server.abort();
}

// Tokio's paused clock: the timing windows below are virtual time, exact
// whatever the machine's load (the sockets are real, on loopback).
#[tokio::test(start_paused = true)]
async fn closed_port_goes_transient_failure_and_backs_off() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let channel = Channel::builder(&target)
        .unwrap()
        .backoff(fast_backoff())
        .build()
        .unwrap();
    channel.state(true);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = vec![channel.state(false)];
    while seen.len() < 2 {
        let from = *seen.last().unwrap();
        assert!(
            channel.wait_for_state_change(from, deadline).await,
            "{seen:?}"
        );
        seen.push(channel.state(false));
    }
    assert_eq!(
        seen,
        [
            ConnectivityState::Connecting,
            ConnectivityState::TransientFailure,
        ]
    );
    // gRFC A62: TRANSIENT_FAILURE is sticky. The subchannel keeps retrying
    // on its backoff (CONNECTING, TRANSIENT_FAILURE, ...) but the channel
    // does not flip back to CONNECTING (which made fail-fast calls wait).
    let retries_deadline = Instant::now() + Duration::from_millis(600);
    assert!(
        !channel
            .wait_for_state_change(ConnectivityState::TransientFailure, retries_deadline)
            .await,
        "left TRANSIENT_FAILURE: {:?}",
        channel.state(false)
    );
    let subs = channel.subchannels();
    assert_eq!(subs.len(), 1, "{subs:?}");
    let last = subs[0].last_error.as_ref().expect("a last error");
    assert!(last.message().contains("failed to connect"), "{last}");
    // Fail-fast calls fail at once in TRANSIENT_FAILURE, with the error.
    let start = tokio::time::Instant::now();
    let err = within(
        5,
        channel.unary("/a.B/C", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(err.message().contains("failed to connect"), "{err}");
    assert!(
        start.elapsed() < Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn wait_for_ready_call_succeeds_once_a_server_appears() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let channel = Channel::builder(&format!("http://{addr}"))
        .unwrap()
        .backoff(fast_backoff())
        .build()
        .unwrap();
    let call = {
        let channel = channel.clone();
        tokio::spawn(async move {
            let req = Request::new(Bytes::new())
                .with_wait_for_ready(true)
                .with_timeout(Duration::from_secs(5));
            channel.unary("/a.B/C", req, BytesCodec).await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(channel.state(false), ConnectivityState::TransientFailure);
    let l = TcpListener::bind(addr).await.unwrap();
    let mut s = within(5, accept(&l)).await;
    let (id, _, _) = within(5, s.request()).await;
    s.unary_ok(id, b"finally").await;
    let resp = within(5, call).await.unwrap().unwrap();
    assert_eq!(resp.message(), &Bytes::from_static(b"finally"));
}
