//! `tether::health` against real health servers: grpc-go (the policy
//! server of `channel_support::backends`: "" and "tether.test" SERVING,
//! "tether.down" NOT_SERVING, SIGUSR1 / SIGUSR2 flip "" and "tether.test")
//! and grpcio (`tests/peers/health_server.py`, same statuses), plus a
//! scripted server for what real ones do not do on demand (UNIMPLEMENTED,
//! watching the RST_STREAM of a dropped watch).
//!
//! The peers live in `.peers/` (scripts/install-peers.sh, or
//! `TETHER_PEERS_DIR`); without them these tests skip with a message unless
//! `TETHER_REQUIRE_PEERS=1`.

mod channel_support;

use channel_support::backends::Backends;
use channel_support::peers::{free_port, python, repo_dir, start, Peer};
use channel_support::{accept, listen, within, Got};
use std::future::poll_fn;
use std::pin::Pin;
use std::process::Command;
use std::time::{Duration, Instant};
use tether::backoff::BackoffConfig;
use tether::futures_core::Stream;
use tether::health::{check, watch, HealthWatch, ServingStatus};
use tether::{Channel, Code};
use tether_h2::ErrorCode;

/// A fast reconnection backoff (100 ms, at most 500 ms), which the watcher
/// uses too, so that the tests wait for the server, not for the backoff.
fn fast_backoff() -> BackoffConfig {
    let mut b = BackoffConfig::default();
    b.initial_backoff = Duration::from_millis(100);
    b.max_backoff = Duration::from_millis(500);
    b.min_connect_timeout = Duration::from_secs(2);
    b
}

fn channel(target: &str) -> Channel {
    Channel::builder(target)
        .unwrap()
        .backoff(fast_backoff())
        .build()
        .unwrap()
}

/// The next status of `w`, within `secs` seconds.
async fn next_within(secs: u64, w: &mut HealthWatch) -> ServingStatus {
    within(secs, poll_fn(|cx| Pin::new(&mut *w).poll_next(cx)))
        .await
        .expect("a watch never ends")
}

/// Asserts that `w` yields nothing for `ms` milliseconds.
async fn quiet_for(ms: u64, w: &mut HealthWatch) {
    let got = tokio::time::timeout(
        Duration::from_millis(ms),
        poll_fn(|cx| Pin::new(&mut *w).poll_next(cx)),
    )
    .await;
    assert!(got.is_err(), "expected no change, got {got:?}");
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

async fn check_statuses(channel: &Channel) {
    let t = Duration::from_secs(5);
    let check = |service: &'static str| within(10, check(channel, service, t));
    assert_eq!(check("").await.unwrap(), ServingStatus::Serving);
    assert_eq!(check("tether.test").await.unwrap(), ServingStatus::Serving);
    assert_eq!(
        check("tether.down").await.unwrap(),
        ServingStatus::NotServing
    );
    // doc/health-checking.md: "If the service name is not registered, the
    // server returns a NOT_FOUND GRPC status."
    let err = check("tether.nobody").await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err}");
}

#[tokio::test]
async fn check_against_grpc_go() {
    let Some(b) = Backends::start(1, &[]).await else {
        return;
    };
    check_statuses(&channel(&b.http_target(0))).await;
}

#[tokio::test]
async fn check_against_grpcio() {
    let Some(py) = python() else { return };
    let port = free_port();
    let _server = grpcio_health_server(py, port).await;
    check_statuses(&channel(&format!("http://127.0.0.1:{port}"))).await;
}

#[tokio::test]
async fn check_against_nobody_fails_within_its_timeout() {
    // A port nobody listens on (bound, then released).
    let port = free_port();
    let channel = channel(&format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    let err = within(5, check(&channel, "", Duration::from_millis(500)))
        .await
        .unwrap_err();
    assert!(
        matches!(err.code(), Code::Unavailable | Code::DeadlineExceeded),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the timeout bounds the check: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn watch_follows_grpc_go_through_flip_kill_and_restart() {
    let Some(mut b) = Backends::start(1, &[]).await else {
        return;
    };
    let channel = channel(&b.http_target(0));
    let mut w = watch(&channel, "tether.test");
    assert_eq!(next_within(10, &mut w).await, ServingStatus::Serving);
    quiet_for(200, &mut w).await;

    signal(b.pid(0).unwrap(), "USR1");
    assert_eq!(next_within(10, &mut w).await, ServingStatus::NotServing);

    b.kill(0);
    assert_eq!(next_within(10, &mut w).await, ServingStatus::Unknown);
    // Retries fail while the server is down: UNKNOWN is not repeated.
    quiet_for(1000, &mut w).await;

    b.restart(0).await;
    // The new server starts SERVING; the watch finds it on its own.
    assert_eq!(next_within(20, &mut w).await, ServingStatus::Serving);
    assert_eq!(w.last(), Some(ServingStatus::Serving));
}

#[tokio::test]
async fn watch_sees_grpc_go_service_unknown_and_not_serving() {
    let Some(b) = Backends::start(1, &[]).await else {
        return;
    };
    let channel = channel(&b.http_target(0));
    let mut down = watch(&channel, "tether.down");
    assert_eq!(next_within(10, &mut down).await, ServingStatus::NotServing);
    // A17: Watch answers SERVICE_UNKNOWN where Check says NOT_FOUND.
    let mut nobody = watch(&channel, "tether.nobody");
    assert_eq!(
        next_within(10, &mut nobody).await,
        ServingStatus::ServiceUnknown
    );
    // SIGUSR2 (back to SERVING) changes neither: no duplicate is yielded.
    signal(b.pid(0).unwrap(), "USR2");
    quiet_for(300, &mut down).await;
}

#[tokio::test]
async fn watch_follows_grpcio_through_kill_and_restart() {
    let Some(py) = python() else { return };
    let port = free_port();
    let server = grpcio_health_server(py.clone(), port).await;
    let channel = channel(&format!("http://127.0.0.1:{port}"));
    let mut w = watch(&channel, "");
    assert_eq!(next_within(10, &mut w).await, ServingStatus::Serving);
    let mut down = watch(&channel, "tether.down");
    assert_eq!(next_within(10, &mut down).await, ServingStatus::NotServing);

    drop(server);
    assert_eq!(next_within(10, &mut w).await, ServingStatus::Unknown);
    assert_eq!(next_within(10, &mut down).await, ServingStatus::Unknown);

    let _server = grpcio_health_server(py, port).await;
    assert_eq!(next_within(20, &mut w).await, ServingStatus::Serving);
    assert_eq!(next_within(20, &mut down).await, ServingStatus::NotServing);
}

/// A scripted server: the first Watch fails with UNIMPLEMENTED (the watch
/// yields UNKNOWN and retries after the initial backoff), the second answers
/// NOT_SERVING; dropping the watch resets that call (no task lives on).
#[tokio::test]
async fn watch_retries_after_backoff_and_dropping_it_cancels_the_call() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        let first = Instant::now();
        s.response_headers(id).await;
        s.trailers(id, 12, "no health here").await;

        let (id, fields, messages) = s.request().await;
        let gap = first.elapsed();
        assert_eq!(
            channel_support::field(&fields, ":path"),
            Some("/grpc.health.v1.Health/Watch")
        );
        // HealthCheckRequest { service: "svc" }.
        assert_eq!(messages, [bytes::Bytes::from_static(b"\x0a\x03svc")]);
        s.response_headers(id).await;
        // HealthCheckResponse { status: NOT_SERVING }.
        s.message_out(id, b"\x08\x02").await;
        loop {
            match s.next().await {
                Got::Rst(rid, code) => {
                    assert_eq!(rid, id);
                    return (gap, code);
                }
                Got::Eof => panic!("connection closed, no RST_STREAM"),
                _ => {}
            }
        }
    });
    let channel = channel(&target);
    let mut w = watch(&channel, "svc");
    assert_eq!(next_within(10, &mut w).await, ServingStatus::Unknown);
    assert_eq!(next_within(10, &mut w).await, ServingStatus::NotServing);
    drop(w);
    let (gap, code) = within(10, server).await.unwrap();
    assert_eq!(code, ErrorCode::CANCEL);
    // The first retry waits INITIAL_BACKOFF (100 ms, no jitter) from the
    // start of the failed attempt.
    assert!(gap >= Duration::from_millis(90), "retried after {gap:?}");
}

/// The grpcio health server on 127.0.0.1:`port`.
async fn grpcio_health_server(py: std::path::PathBuf, port: u16) -> Peer {
    let mut cmd = Command::new(py);
    cmd.arg(repo_dir().join("tests/peers/health_server.py"))
        .arg(port.to_string());
    start(cmd).await
}
