//! Retries, hedging and throttling (gRFC A6) against real grpc-go servers
//! (`.peers/bin/go-policy-server`, tests/peers/go/policy_server/main.go):
//! its `x-fail-attempts: N` request header fails every attempt whose
//! `grpc-previous-rpc-attempts` is below N (trailers-only UNAVAILABLE), and
//! its `x-call-id` log answers `x-attempts-seen: 0,1,...` (the
//! `grpc-previous-rpc-attempts` of every attempt it saw of that call).
//!
//! Every test is bounded in time and skips without the peers
//! (scripts/install-peers.sh --with-go) unless `TETHER_REQUIRE_PEERS=1`.

mod channel_support;

use bytes::Bytes;
use channel_support::backends::{Backends, BACKEND_HEADER};
use channel_support::test_service::{streaming_output_request, STREAMING_OUTPUT_CALL, UNARY_CALL};
use channel_support::within;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tether::{BytesCodec, Channel, Code, Metadata, Request};

const STREAMING_INPUT_CALL: &str = "/grpc.testing.TestService/StreamingInputCall";

/// A retry policy for every method: UNAVAILABLE, 10 ms backoff.
fn retry_config(max_attempts: u32, extra: &str) -> String {
    format!(
        r#"{{"methodConfig": [{{"name": [{{"service": "grpc.testing.TestService"}}],
            "retryPolicy": {{"maxAttempts": {max_attempts}, "initialBackoff": "0.01s",
            "maxBackoff": "0.01s", "backoffMultiplier": 1,
            "retryableStatusCodes": ["UNAVAILABLE"]}}}}]{extra}}}"#
    )
}

/// A unique `x-call-id`.
fn call_id() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A request failing its first `fail` attempts, logged under a new id.
fn failing<T>(message: T, fail: u32) -> Request<T> {
    let mut req = Request::new(message).with_timeout(Duration::from_secs(10));
    let md = req.metadata_mut();
    md.insert("x-call-id", &call_id()).unwrap();
    if fail > 0 {
        md.insert("x-fail-attempts", &fail.to_string()).unwrap();
    }
    req
}

fn seen(md: &Metadata) -> Option<&str> {
    md.get("x-attempts-seen")
}

/// A `StreamingInputCallRequest` whose payload body has `n` bytes.
fn input_request(n: usize) -> Bytes {
    // Payload { body: field 2 } inside StreamingInputCallRequest.payload (field 1).
    let mut payload = vec![0x12, n as u8];
    payload.extend(std::iter::repeat(b'x').take(n));
    let mut out = vec![0x0a, payload.len() as u8];
    out.extend(payload);
    Bytes::from(out)
}

/// `StreamingInputCallResponse.aggregated_payload_size` (field 1, varint).
fn aggregated_size(resp: &Bytes) -> u64 {
    assert_eq!(resp.first(), Some(&0x08), "response {resp:?}");
    let mut v = 0u64;
    for (i, b) in resp[1..].iter().enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            break;
        }
    }
    v
}

fn channel(target: &str, config: &str) -> Channel {
    Channel::builder(target)
        .unwrap()
        .default_service_config(config)
        .unwrap()
        .build()
        .unwrap()
}

/// The server fails the first 3 attempts of each call; it sees
/// `grpc-previous-rpc-attempts` absent, 1, 2, 3 and the fourth attempt
/// succeeds: unary, server-streaming and client-streaming calls alike.
#[tokio::test]
async fn grpc_go_sees_every_attempt_and_the_call_succeeds() {
    let Some(b) = Backends::start(1, &[]).await else {
        return;
    };
    let ch = channel(&b.http_target(0), &retry_config(4, ""));

    let resp = within(
        20,
        ch.unary(UNARY_CALL, failing(Bytes::new(), 3), BytesCodec),
    )
    .await
    .unwrap();
    assert_eq!(seen(resp.metadata()), Some("0,1,2,3"));
    assert_eq!(resp.attempts(), 4);

    let req = failing(streaming_output_request(2, Duration::ZERO), 2);
    let resp = within(
        20,
        ch.server_streaming(STREAMING_OUTPUT_CALL, req, BytesCodec),
    )
    .await
    .unwrap();
    assert_eq!(seen(resp.metadata()), Some("0,1,2"));
    assert_eq!(resp.attempts(), 3);
    let mut stream = resp.into_message();
    let mut n = 0;
    while within(20, stream.message()).await.unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 2);

    let (tx, response) = within(
        20,
        ch.client_stream(STREAMING_INPUT_CALL, failing((), 1), BytesCodec),
    )
    .await
    .unwrap();
    for n in [3, 4, 5] {
        tx.send(input_request(n)).await.unwrap();
    }
    tx.finish();
    let resp = within(20, response).await.unwrap();
    assert_eq!(seen(resp.metadata()), Some("0,1"));
    assert_eq!(aggregated_size(resp.message()), 12);

    // Four failures are one too many for maxAttempts 4.
    let err = within(
        20,
        ch.unary(UNARY_CALL, failing(Bytes::new(), 4), BytesCodec),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(seen(err.metadata()), Some("0,1,2,3"));
}

/// A client-streaming call whose pod dies mid-stream (the first server
/// exits after its third request message): the call succeeds on the other
/// server, which receives every message exactly once (5 messages of 1..5
/// bytes: aggregated size 15).
#[tokio::test]
async fn client_stream_survives_its_pod_dying_mid_stream() {
    let Some(b) = Backends::start_each(&[&["-die_after_messages=3"], &[]]).await else {
        return;
    };
    // pick_first: the first address takes the call.
    let ch = channel(&b.ipv4_target(&[0, 1]), &retry_config(3, ""));
    let (tx, response) = within(
        20,
        ch.client_stream(STREAMING_INPUT_CALL, failing((), 0), BytesCodec),
    )
    .await
    .unwrap();
    for n in 1..=5 {
        tx.send(input_request(n)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tx.finish();
    let resp = within(20, response).await.unwrap();
    assert_eq!(aggregated_size(resp.message()), 15);
    assert_eq!(
        resp.metadata().get(BACKEND_HEADER),
        Some(b.addr(1).as_str())
    );
    assert_eq!(
        seen(resp.metadata()),
        Some("1"),
        "the survivor saw the retry only"
    );
    assert_eq!(resp.attempts(), 2);
}

/// Hedging against 3 servers, one answering after 1.5 s: with
/// hedgingDelay 100 ms every call returns within about 100 ms plus the
/// fast servers' latency; the calls that went to the slow server first
/// were answered by a hedge on another.
#[tokio::test]
async fn hedging_hides_a_slow_pod() {
    let Some(b) = Backends::start_each(&[&["-delay=1.5s"], &[], &[]]).await else {
        return;
    };
    let config = r#"{"loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [{"name": [{"service": "grpc.testing.TestService"}],
        "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.1s",
        "nonFatalStatusCodes": ["UNAVAILABLE"]}}]}"#;
    let ch = channel(&b.ipv4_target(&[0, 1, 2]), config);
    // Connect all three first (the first calls also pay for connecting).
    for _ in 0..6 {
        within(
            20,
            ch.unary(UNARY_CALL, failing(Bytes::new(), 0), BytesCodec),
        )
        .await
        .unwrap();
    }
    let mut slowest = Duration::ZERO;
    let mut hedged = 0;
    for _ in 0..9 {
        let start = Instant::now();
        let resp = within(
            20,
            ch.unary(UNARY_CALL, failing(Bytes::new(), 0), BytesCodec),
        )
        .await
        .unwrap();
        slowest = slowest.max(start.elapsed());
        assert_ne!(
            resp.metadata().get(BACKEND_HEADER),
            Some(b.addr(0).as_str()),
            "the slow server answered"
        );
        if resp.attempts() > 1 {
            hedged += 1;
        }
    }
    eprintln!("hedging: slowest of 9 calls {slowest:?}, {hedged} hedged");
    assert!(
        slowest < Duration::from_millis(600),
        "a call took {slowest:?}"
    );
    assert!(hedged >= 2, "only {hedged} calls were hedged");
}

/// Every attempt fails: throttling (maxTokens 10, tokenRatio 0.1) cuts the
/// attempts per call from 3 to 1; 70 successes refill the bucket to 7 and
/// a failing call is retried again (7 -> 6, retry, 6 -> 5: stop).
#[tokio::test]
async fn throttling_stops_a_retry_storm_and_recovers() {
    let Some(b) = Backends::start(1, &[]).await else {
        return;
    };
    let ch = channel(
        &b.http_target(0),
        &retry_config(
            3,
            r#", "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}"#,
        ),
    );
    let attempts = |md: &Metadata| seen(md).map_or(0, |s| s.split(',').count());
    let mut per_call = Vec::new();
    for _ in 0..8 {
        let err = within(
            20,
            ch.unary(UNARY_CALL, failing(Bytes::new(), 100), BytesCodec),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable);
        per_call.push(attempts(err.metadata()));
    }
    // Tokens 10 -> 7 (3 attempts), 7 -> 5 (2: 5 is not above half), then
    // one attempt per call.
    assert_eq!(per_call, [3, 2, 1, 1, 1, 1, 1, 1]);
    for _ in 0..70 {
        within(
            20,
            ch.unary(UNARY_CALL, failing(Bytes::new(), 0), BytesCodec),
        )
        .await
        .unwrap();
    }
    let err = within(
        20,
        ch.unary(UNARY_CALL, failing(Bytes::new(), 100), BytesCodec),
    )
    .await
    .unwrap_err();
    assert_eq!(attempts(err.metadata()), 2, "retries came back");
}
