//! Fault tests against real peers: a frozen server found dead by keepalive,
//! a server killed and restarted, a server that rejects our ping rate, and
//! a non-gRPC HTTP/2 server.

mod common;

use common::{free_port, peer_available, runtime, Peer, Server};
use std::time::{Duration, Instant};
use tether::{Channel, Code, ConnectivityState, Request};
use tether_interop::pb::{Empty, StreamingOutputCallRequest, TestServiceClient};
use tether_interop::request_stream;

fn plaintext_channel(port: u16) -> tether::ChannelBuilder {
    Channel::builder(&format!("http://127.0.0.1:{port}")).expect("target")
}

fn fast_backoff() -> tether::backoff::BackoffConfig {
    let mut b = tether::backoff::BackoffConfig::default();
    b.initial_backoff = Duration::from_millis(200);
    b.max_backoff = Duration::from_secs(1);
    b.min_connect_timeout = Duration::from_secs(5);
    b
}

/// Waits until the channel reaches `want` (asking it to connect), or panics
/// with the states it went through.
async fn wait_for_state(channel: &Channel, want: ConnectivityState, limit: Duration) {
    let end = Instant::now() + limit;
    let mut seen = vec![channel.state(true)];
    while *seen.last().unwrap() != want {
        let from = *seen.last().unwrap();
        if !channel.wait_for_state_change(from, end).await {
            panic!(
                "expected the channel to reach {want:?} within {limit:?}; went through {seen:?}"
            );
        }
        seen.push(channel.state(true));
    }
}

/// Opens a full-duplex call on `requests` and reads it to the end: the
/// number of responses, or the status it failed with.
async fn idle_call(
    client: &TestServiceClient,
    requests: tether_interop::RequestStream<StreamingOutputCallRequest>,
) -> Result<usize, tether::Status> {
    let mut stream = client
        .full_duplex_call(Request::new(requests).with_wait_for_ready(true))
        .await?;
    let mut n = 0;
    while stream.message().await?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// SIGSTOP the server mid-call: keepalive (1 s time, 1 s timeout) must fail
/// the call UNAVAILABLE within about 2 s; after SIGCONT a new call succeeds.
#[test]
fn frozen_server_is_detected_by_keepalive_and_channel_recovers() {
    if !Server::Go.available() {
        return;
    }
    let port = free_port();
    let peer = Server::Go.start(port, false, &[]);
    runtime().block_on(async {
        let channel = plaintext_channel(port)
            .keepalive(tether::Keepalive::new(
                Duration::from_secs(1),
                Duration::from_secs(1),
            ))
            .backoff(fast_backoff())
            .build()
            .unwrap();
        let client = TestServiceClient::new(channel.clone());
        let (tx, requests) = request_stream(1);
        tx.send(StreamingOutputCallRequest {
            response_parameters: vec![tether_interop::pb::ResponseParameters {
                size: 10,
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap();
        let mut stream = client
            .full_duplex_call(Request::new(requests))
            .await
            .expect("call");
        let first = stream.message().await.expect("first response");
        assert!(first.is_some(), "expected a first response");

        peer.signal("STOP");
        let stopped = Instant::now();
        let outcome = tokio::time::timeout(Duration::from_secs(10), stream.message()).await;
        let elapsed = stopped.elapsed();
        match outcome {
            Err(_) => panic!("the call did not fail within 10 s of SIGSTOP (keepalive 1 s + 1 s)"),
            Ok(Ok(m)) => panic!(
                "expected UNAVAILABLE, got a message or end: {:?}",
                m.is_some()
            ),
            Ok(Err(s)) => {
                assert_eq!(s.code(), Code::Unavailable, "expected UNAVAILABLE, got {s}");
            }
        }
        assert!(
            elapsed < Duration::from_millis(4500),
            "keepalive took {elapsed:?} to fail the call (expected about time + timeout = 2 s)"
        );
        drop(tx);

        peer.signal("CONT");
        let request = Request::new(Empty {})
            .with_timeout(Duration::from_secs(15))
            .with_wait_for_ready(true);
        client
            .empty_call(request)
            .await
            .unwrap_or_else(|s| panic!("expected a call to succeed after SIGCONT, got {s}"));
    });
}

/// Kill the server, see TRANSIENT_FAILURE, issue a wait-for-ready call while
/// it is down, restart it on the same port: the call succeeds, READY again.
#[test]
fn killed_server_restart_serves_wait_for_ready_call() {
    if !Server::Go.available() {
        return;
    }
    let port = free_port();
    let mut peer = Server::Go.start(port, false, &[]);
    runtime().block_on(async {
        let channel = plaintext_channel(port)
            .backoff(fast_backoff())
            .build()
            .unwrap();
        let client = TestServiceClient::new(channel.clone());
        client.empty_call(Empty {}).await.expect("first call");
        assert_eq!(channel.state(false), ConnectivityState::Ready);

        peer.kill();
        wait_for_state(
            &channel,
            ConnectivityState::TransientFailure,
            Duration::from_secs(10),
        )
        .await;

        let waiting = {
            let client = client.clone();
            tokio::spawn(async move {
                let request = Request::new(Empty {})
                    .with_timeout(Duration::from_secs(20))
                    .with_wait_for_ready(true);
                client.empty_call(request).await.map(drop)
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            !waiting.is_finished(),
            "the wait-for-ready call ended while the server was down"
        );

        let _peer2 = Server::Go.start(port, false, &[]);
        let result = tokio::time::timeout(Duration::from_secs(20), waiting)
            .await
            .expect("wait-for-ready call still pending 20 s after restart")
            .expect("task");
        result.unwrap_or_else(|s| panic!("expected the wait-for-ready call to succeed, got {s}"));
        wait_for_state(&channel, ConnectivityState::Ready, Duration::from_secs(5)).await;
    });
}

/// A C-core server enforcing a 1.5 s minimum ping interval answers a 1 s
/// keepalive with GOAWAY too_many_pings; the channel doubles its interval
/// (to 2 s: `keepalive_time()` and a `KeepaliveDoubled` event say so), so a
/// later call on a new connection is left alone.
#[test]
fn too_many_pings_doubles_keepalive() {
    if !Server::CCore.available() {
        return;
    }
    let port = free_port();
    let _peer = Server::CCore.start(
        port,
        false,
        &["--strict-pings", "--min-ping-interval-ms", "1500"],
    );
    runtime().block_on(async {
        let doubled = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = doubled.clone();
        let channel = plaintext_channel(port)
            .keepalive(tether::Keepalive::new(
                Duration::from_secs(1),
                Duration::from_secs(5),
            ))
            .backoff(fast_backoff())
            .on_event(move |e| {
                if let tether::ChannelEvent::KeepaliveDoubled { time } = e {
                    seen.lock().unwrap().push(*time);
                }
            })
            .build()
            .unwrap();
        assert_eq!(channel.keepalive_time(), Some(Duration::from_secs(1)));
        let client = TestServiceClient::new(channel.clone());

        // An idle call: the server sends no data, so every ping counts.
        let (tx, requests) = request_stream::<StreamingOutputCallRequest>(1);
        let started = Instant::now();
        let outcome =
            tokio::time::timeout(Duration::from_secs(15), idle_call(&client, requests)).await;
        match outcome {
            Err(_) => panic!("no GOAWAY too_many_pings within 15 s of pinging every second"),
            Ok(Ok(n)) => {
                panic!("expected the call to fail with the GOAWAY, it ended OK after {n} messages")
            }
            Ok(Err(s)) => assert_eq!(
                s.code(),
                Code::Unavailable,
                "expected UNAVAILABLE after GOAWAY too_many_pings, got {s} after {:?}",
                started.elapsed()
            ),
        }
        drop(tx);
        assert_eq!(
            channel.keepalive_time(),
            Some(Duration::from_secs(2)),
            "keepalive time after GOAWAY too_many_pings"
        );
        assert_eq!(*doubled.lock().unwrap(), [Duration::from_secs(2)]);

        // A new connection pings every 2 s (> 1.5 s): an idle call of 7 s
        // must survive and end OK when we half-close.
        let (tx, requests) = request_stream::<StreamingOutputCallRequest>(1);
        let call = idle_call(&client, requests);
        let mut call = std::pin::pin!(call);
        if let Ok(r) = tokio::time::timeout(Duration::from_secs(7), call.as_mut()).await {
            panic!(
                "the idle call on the new connection ended within 7 s ({r:?}): \
                 was the doubled keepalive rejected again?"
            );
        }
        drop(tx);
        match tokio::time::timeout(Duration::from_secs(5), call).await {
            Ok(Ok(0)) => {}
            other => {
                panic!("expected a clean end without messages after half-close, got {other:?}")
            }
        }
    });
}

/// nghttpd answers a gRPC request with HTTP 404: the call is UNIMPLEMENTED.
#[test]
fn http_404_is_unimplemented() {
    let nghttpd = ["/usr/sbin/nghttpd", "/usr/bin/nghttpd"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| "/usr/sbin/nghttpd".into());
    if !peer_available(&nghttpd, "nghttpd (apt-get install nghttp2-server)") {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("nghttpd-empty");
    std::fs::create_dir_all(&dir).expect("docroot");
    let port = free_port();
    let args = vec![
        "--no-tls".to_owned(),
        "--address=127.0.0.1".to_owned(),
        "-d".to_owned(),
        dir.display().to_string(),
        port.to_string(),
    ];
    let _peer = Peer::start("nghttpd", &nghttpd, &args, port);
    runtime().block_on(async {
        let client = TestServiceClient::new(plaintext_channel(port).build().unwrap());
        match client.empty_call(Empty {}).await {
            Ok(_) => panic!("expected UNIMPLEMENTED from an HTTP 404, the call succeeded"),
            Err(s) => assert_eq!(
                s.code(),
                Code::Unimplemented,
                "expected UNIMPLEMENTED, got {s}"
            ),
        }
    });
}
