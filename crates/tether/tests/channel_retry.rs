//! Retries and hedging (gRFC A6) against a scripted HTTP/2 server: what
//! goes on the wire for each attempt, which failures are retried, the
//! commit rules, pushback, throttling, the deadline and cancellation
//! across attempts, the replay of streaming requests.

mod channel_support;

use bytes::Bytes;
use channel_support::*;
use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};
use tether::{BytesCodec, Channel, ChannelEvent, Code, Request, RetryStop};
use tether_h2::{ErrorCode, StreamId};

/// A service config with one retry policy for every method.
fn retry_config(max_attempts: u32, backoff: &str, codes: &str, extra: &str) -> String {
    format!(
        r#"{{"methodConfig": [{{"name": [{{}}], "retryPolicy": {{
            "maxAttempts": {max_attempts}, "initialBackoff": "{backoff}", "maxBackoff": "{backoff}",
            "backoffMultiplier": 2, "retryableStatusCodes": [{codes}]}}}}]{extra}}}"#
    )
}

/// A channel to `target` with `config`, recording its events.
fn channel(target: &str, config: &str) -> (Channel, Arc<Mutex<Vec<ChannelEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let channel = Channel::builder(target)
        .unwrap()
        .default_service_config(config)
        .unwrap()
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    (channel, events)
}

fn retries(events: &Mutex<Vec<ChannelEvent>>) -> Vec<(u32, Code, bool)> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            ChannelEvent::Retry {
                attempt,
                code,
                pushback,
                ..
            } => Some((*attempt, *code, *pushback)),
            _ => None,
        })
        .collect()
}

fn stops(events: &Mutex<Vec<ChannelEvent>>) -> Vec<RetryStop> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            ChannelEvent::RetryStopped { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

/// A trailers-only failure (no response headers: the call is not
/// committed), with extra fields such as pushback.
async fn fail<S>(s: &mut Server<S>, id: StreamId, code: u32, extra: &[(&str, &str)])
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let code = code.to_string();
    let mut fields = vec![
        (":status", "200"),
        ("content-type", "application/grpc"),
        ("grpc-status", code.as_str()),
    ];
    fields.extend_from_slice(extra);
    s.headers(id, &fields, true).await;
}

/// Reads DATA of stream `id` until `n` whole messages are in (DATA frames
/// may carry several messages, or parts).
async fn messages<S>(s: &mut Server<S>, id: StreamId, n: usize) -> Vec<Bytes>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut body = bytes::BytesMut::new();
    loop {
        let mut rest = body.clone().freeze();
        let mut got = Vec::new();
        while rest.len() >= 5 {
            let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
            if rest.len() < 5 + len {
                break;
            }
            got.push(rest.slice(5..5 + len));
            rest = rest.slice(5 + len..);
        }
        if got.len() >= n {
            return got;
        }
        match s.next().await {
            Got::Data(sid, d, _) if sid == id => body.extend_from_slice(&d),
            Got::Ping(_) => {}
            other => panic!("expected DATA on {id:?}, got {other:?}"),
        }
    }
}

fn unary(
    channel: &Channel,
) -> impl std::future::Future<Output = Result<tether::Response<Bytes>, tether::Status>> + '_ {
    channel.unary(
        "/pkg.Svc/M",
        Request::new(Bytes::from_static(b"req")).with_timeout(Duration::from_secs(10)),
        BytesCodec,
    )
}

/// Fails the first two attempts UNAVAILABLE; each attempt carries
/// `grpc-previous-rpc-attempts` (none, 1, 2) and the same request; the
/// third succeeds and the response says 3 attempts.
/// The stream of the next attempt after the one on `id` failed: its
/// HEADERS, after whatever the client still sends on the old stream (the
/// end of its request, or a reset).
async fn next_attempt<S>(s: &mut Server<S>, id: StreamId) -> StreamId
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match s.next().await {
            Got::Headers(new, _, _) if new != id => return new,
            Got::Rst(old, _) | Got::Data(old, _, _) if old == id => {}
            Got::Ping(_) => {}
            other => panic!("expected the next attempt, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn unavailable_is_retried_with_previous_attempts_header() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let mut seen = Vec::new();
        for n in 0..3 {
            let (id, fields, msgs) = s.request().await;
            assert_eq!(msgs, vec![Bytes::from_static(b"req")]);
            seen.push(field(&fields, "grpc-previous-rpc-attempts").map(str::to_owned));
            if n < 2 {
                fail(&mut s, id, 14, &[]).await;
            } else {
                s.unary_ok(id, b"ok").await;
            }
        }
        seen
    });
    let (channel, events) = channel(&target, &retry_config(4, "0.01s", r#""UNAVAILABLE""#, ""));
    let resp = within(10, unary(&channel)).await.unwrap();
    assert_eq!(resp.message(), &Bytes::from_static(b"ok"));
    assert_eq!(resp.attempts(), 3);
    let seen = server.await.unwrap();
    assert_eq!(seen, [None, Some("1".into()), Some("2".into())]);
    assert_eq!(
        retries(&events),
        [(2, Code::Unavailable, false), (3, Code::Unavailable, false)]
    );
}

#[tokio::test]
async fn max_attempts_then_the_last_status() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        for _ in 0..3 {
            let (id, _, _) = s.request().await;
            fail(&mut s, id, 14, &[("grpc-message", "down")]).await;
        }
        // No fourth attempt.
        tokio::time::timeout(Duration::from_millis(300), s.request_headers())
            .await
            .is_err()
    });
    let (channel, events) = channel(&target, &retry_config(3, "0.01s", r#""UNAVAILABLE""#, ""));
    let err = within(10, unary(&channel)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(err.message(), "down");
    assert!(server.await.unwrap(), "a fourth attempt was sent");
    assert_eq!(retries(&events).len(), 2);
    assert_eq!(stops(&events), [RetryStop::Exhausted]);
}

#[tokio::test]
async fn codes_not_listed_are_not_retried() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        fail(&mut s, id, 3, &[]).await;
        tokio::time::timeout(Duration::from_millis(300), s.request_headers())
            .await
            .is_err()
    });
    let (channel, events) = channel(
        &target,
        &retry_config(5, "0.01s", r#""UNAVAILABLE", 10"#, ""),
    );
    let err = within(10, unary(&channel)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(server.await.unwrap(), "INVALID_ARGUMENT was retried");
    assert!(retries(&events).is_empty());
}

/// Response headers commit the call: a failure after them is final.
#[tokio::test]
async fn response_headers_commit_the_call() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        s.response_headers(id).await;
        s.trailers(id, 14, "after headers").await;
        tokio::time::timeout(Duration::from_millis(300), s.request_headers())
            .await
            .is_err()
    });
    let (channel, _) = channel(&target, &retry_config(5, "0.01s", r#""UNAVAILABLE""#, ""));
    let err = within(10, unary(&channel)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(err.message(), "after headers");
    assert!(server.await.unwrap(), "a committed call was retried");
}

/// `grpc-retry-pushback-ms: 300` delays the retry by exactly that (the
/// policy's backoff is 10 ms); a negative value stops retries.
#[tokio::test]
async fn pushback_delays_or_stops_the_retry() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        fail(&mut s, id, 14, &[("grpc-retry-pushback-ms", "300")]).await;
        let failed = Instant::now();
        let (id, _, _) = s.request().await;
        let waited = failed.elapsed();
        s.unary_ok(id, b"ok").await;
        // Second call: pushback says stop.
        let (id, _, _) = s.request().await;
        fail(&mut s, id, 14, &[("grpc-retry-pushback-ms", "-1")]).await;
        let none = tokio::time::timeout(Duration::from_millis(300), s.request_headers())
            .await
            .is_err();
        (waited, none)
    });
    let (channel, events) = channel(&target, &retry_config(5, "0.01s", r#""UNAVAILABLE""#, ""));
    let resp = within(10, unary(&channel)).await.unwrap();
    assert_eq!(resp.attempts(), 2);
    assert_eq!(
        within(10, unary(&channel)).await.unwrap_err().code(),
        Code::Unavailable
    );
    let (waited, none) = server.await.unwrap();
    assert!(
        waited >= Duration::from_millis(290) && waited < Duration::from_millis(1500),
        "retried after {waited:?}"
    );
    assert!(none, "retried despite pushback -1");
    assert_eq!(retries(&events), [(2, Code::Unavailable, true)]);
    assert_eq!(stops(&events), [RetryStop::Pushback]);
}

/// Throttling, maxTokens 4, tokenRatio 1: the first failing call makes
/// 2 attempts (4 -> 3 -> 2 = half: stop), the next only 1; successes
/// refill the bucket and retries come back.
#[tokio::test]
async fn throttling_stops_retries_and_successes_restore_them() {
    let (l, target) = listen().await;
    let plan = [false, false, false, true, true, true, false, false];
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        for ok in plan {
            let (id, _, _) = s.request().await;
            if ok {
                s.unary_ok(id, b"ok").await;
            } else {
                fail(&mut s, id, 14, &[]).await;
            }
        }
        let _ = s.next().await;
    });
    let config = retry_config(
        5,
        "0.001s",
        r#""UNAVAILABLE""#,
        r#", "retryThrottling": {"maxTokens": 4, "tokenRatio": 1}"#,
    );
    let (channel, events) = channel(&target, &config);
    let mut attempts = Vec::new();
    for expect_ok in [false, false, true, true, true, false] {
        let before = retries(&events).len();
        let result = within(10, unary(&channel)).await;
        assert_eq!(result.is_ok(), expect_ok, "{result:?}");
        attempts.push(1 + retries(&events).len() - before);
    }
    // Tokens: 4 -> 3 -> 2 (stop) | 2 -> 1 (stop) | 2 | 3 | 4 | 4 -> 3 -> 2 (stop).
    assert_eq!(attempts, [2, 1, 1, 1, 1, 2]);
    assert_eq!(
        stops(&events),
        [
            RetryStop::Throttled,
            RetryStop::Throttled,
            RetryStop::Throttled
        ]
    );
}

/// The deadline covers every attempt: a server that fails each attempt
/// after 100 ms, a 350 ms deadline: DEADLINE_EXCEEDED at about 350 ms.
#[tokio::test]
async fn the_deadline_covers_all_attempts() {
    let (l, target) = listen().await;
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        loop {
            let (id, _, _) = s.request().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            fail(&mut s, id, 14, &[]).await;
        }
    });
    let (channel, _) = channel(&target, &retry_config(5, "0.001s", r#""UNAVAILABLE""#, ""));
    let start = Instant::now();
    let err = within(
        10,
        channel.unary(
            "/pkg.Svc/M",
            Request::new(Bytes::new()).with_timeout(Duration::from_millis(350)),
            BytesCodec,
        ),
    )
    .await
    .unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert!(
        took >= Duration::from_millis(340) && took < Duration::from_millis(1000),
        "{took:?}"
    );
}

/// Cancelling a call waiting for its retry ends it CANCELLED at once.
#[tokio::test]
async fn cancel_during_the_retry_delay() {
    let (l, target) = listen().await;
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        fail(&mut s, id, 14, &[("grpc-retry-pushback-ms", "5000")]).await;
        let _ = s.next().await;
    });
    let (channel, _) = channel(&target, &retry_config(5, "0.001s", r#""UNAVAILABLE""#, ""));
    let cancel = tether::CancelHandle::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        c.cancel();
    });
    let start = Instant::now();
    let err = within(
        10,
        channel.unary(
            "/pkg.Svc/M",
            Request::new(Bytes::new()).with_cancel(cancel),
            BytesCodec,
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Cancelled);
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// A client-streaming call whose first attempt fails after reading every
/// message is replayed whole on the second attempt.
#[tokio::test]
async fn client_streaming_requests_are_replayed() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, first) = s.request().await;
        fail(&mut s, id, 14, &[]).await;
        let (id, fields, second) = s.request().await;
        s.unary_ok(id, b"done").await;
        (
            first,
            second,
            field(&fields, "grpc-previous-rpc-attempts").map(str::to_owned),
        )
    });
    let (channel, _) = channel(&target, &retry_config(3, "0.01s", r#""UNAVAILABLE""#, ""));
    let (tx, response) = within(10, channel.client_stream("/pkg.Svc/Up", (), BytesCodec))
        .await
        .unwrap();
    for part in [&b"one"[..], b"two", b"three"] {
        tx.send(Bytes::from_static(part)).await.unwrap();
    }
    tx.finish();
    let resp = within(10, response).await.unwrap();
    assert_eq!(resp.message(), &Bytes::from_static(b"done"));
    assert_eq!(resp.attempts(), 2);
    let (first, second, previous) = server.await.unwrap();
    let want: Vec<Bytes> = ["one", "two", "three"]
        .map(|s| Bytes::from_static(s.as_bytes()))
        .to_vec();
    assert_eq!(first, want);
    assert_eq!(second, want);
    assert_eq!(previous.as_deref(), Some("1"));
}

/// A bidirectional call fails before the server's headers, mid-stream:
/// the next attempt gets the messages sent so far, then the rest.
#[tokio::test]
async fn bidi_retried_mid_stream_gets_every_message_once() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _) = s.request_headers().await;
        let first = messages(&mut s, id, 2).await;
        fail(&mut s, id, 14, &[]).await;
        let id = next_attempt(&mut s, id).await;
        let got = messages(&mut s, id, 4).await;
        s.response_headers(id).await;
        s.message_out(id, b"echo").await;
        s.trailers(id, 0, "").await;
        (first, got)
    });
    let (channel, _) = channel(&target, &retry_config(3, "0.01s", r#""UNAVAILABLE""#, ""));
    let (tx, mut rx) = within(10, channel.bidi("/pkg.Svc/Chat", (), BytesCodec))
        .await
        .unwrap();
    tx.send(Bytes::from_static(b"m1")).await.unwrap();
    tx.send(Bytes::from_static(b"m2")).await.unwrap();
    // Let the first attempt fail before the rest is sent.
    tokio::time::sleep(Duration::from_millis(200)).await;
    tx.send(Bytes::from_static(b"m3")).await.unwrap();
    tx.send(Bytes::from_static(b"m4")).await.unwrap();
    assert_eq!(
        within(10, rx.message()).await.unwrap(),
        Some(Bytes::from_static(b"echo"))
    );
    tx.finish();
    assert_eq!(within(10, rx.message()).await.unwrap(), None);
    let (first, second) = server.await.unwrap();
    assert_eq!(
        first,
        ["m1", "m2"]
            .map(|s| Bytes::from_static(s.as_bytes()))
            .to_vec()
    );
    assert_eq!(
        second,
        ["m1", "m2", "m3", "m4"]
            .map(|s| Bytes::from_static(s.as_bytes()))
            .to_vec()
    );
}

/// A streaming request larger than the per-call retry buffer commits the
/// call: its failure is final.
#[tokio::test]
async fn a_request_over_the_retry_buffer_is_not_retried() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, msgs) = s.request().await;
        fail(&mut s, id, 14, &[]).await;
        let none = tokio::time::timeout(Duration::from_millis(300), s.request_headers())
            .await
            .is_err();
        (msgs.len(), none)
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let channel = Channel::builder(&target)
        .unwrap()
        .default_service_config(&retry_config(3, "0.01s", r#""UNAVAILABLE""#, ""))
        .unwrap()
        .retry_buffer(1 << 20, 20)
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    let (tx, response) = within(10, channel.client_stream("/pkg.Svc/Up", (), BytesCodec))
        .await
        .unwrap();
    for _ in 0..3 {
        tx.send(Bytes::from_static(b"12345678")).await.unwrap();
    }
    tx.finish();
    let err = within(10, response).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    let (n, none) = server.await.unwrap();
    assert_eq!(n, 3);
    assert!(none, "retried beyond the buffer");
    assert!(
        stops(&events).contains(&RetryStop::Committed),
        "{:?}",
        stops(&events)
    );
}

/// Hedging, maxAttempts 2, hedgingDelay 100 ms: the first attempt hangs,
/// the hedge answers; the call returns after about 100 ms and the first
/// attempt is cancelled.
#[tokio::test]
async fn hedge_answers_and_the_slow_attempt_is_cancelled() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (first, _, _) = s.request().await;
        let started = Instant::now();
        let (second, fields, _) = s.request().await;
        let gap = started.elapsed();
        s.unary_ok(second, b"fast").await;
        let reset = loop {
            match s.next().await {
                Got::Rst(id, code) => break (id, code),
                Got::Ping(_) => {}
                other => panic!("expected RST_STREAM, got {other:?}"),
            }
        };
        (
            first,
            gap,
            reset,
            field(&fields, "grpc-previous-rpc-attempts").map(str::to_owned),
        )
    });
    let config = r#"{"methodConfig": [{"name": [{}], "hedgingPolicy": {
        "maxAttempts": 2, "hedgingDelay": "0.1s", "nonFatalStatusCodes": ["UNAVAILABLE"]}}]}"#;
    let (channel, events) = channel(&target, config);
    let start = Instant::now();
    let resp = within(10, unary(&channel)).await.unwrap();
    let took = start.elapsed();
    assert_eq!(resp.message(), &Bytes::from_static(b"fast"));
    assert_eq!(resp.attempts(), 2);
    assert!(took < Duration::from_millis(1000), "{took:?}");
    let (first, gap, reset, previous) = server.await.unwrap();
    assert!(gap >= Duration::from_millis(90), "hedge sent after {gap:?}");
    assert_eq!(reset, (first, ErrorCode::CANCEL));
    assert_eq!(previous.as_deref(), Some("1"));
    let hedges = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, ChannelEvent::Hedge { attempt: 2, .. }))
        .count();
    assert_eq!(hedges, 1);
}

/// Hedging: a non-fatal failure sends the next hedge at once; a fatal one
/// ends the call.
#[tokio::test]
async fn hedging_non_fatal_sends_next_fatal_ends() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        let t = Instant::now();
        fail(&mut s, id, 14, &[]).await;
        let (id, _, _) = s.request().await;
        let gap = t.elapsed();
        fail(&mut s, id, 7, &[]).await;
        let none = tokio::time::timeout(Duration::from_millis(300), s.request_headers())
            .await
            .is_err();
        (gap, none)
    });
    let config = r#"{"methodConfig": [{"name": [{}], "hedgingPolicy": {
        "maxAttempts": 4, "hedgingDelay": "5s", "nonFatalStatusCodes": ["UNAVAILABLE"]}}]}"#;
    let (channel, _) = channel(&target, config);
    let err = within(10, unary(&channel)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let (gap, none) = server.await.unwrap();
    assert!(gap < Duration::from_secs(2), "next hedge after {gap:?}");
    assert!(none, "a hedge was sent after a fatal status");
}

/// With retries turned off on the builder, the policy is ignored.
#[tokio::test]
async fn retries_can_be_turned_off() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        fail(&mut s, id, 14, &[]).await;
        tokio::time::timeout(Duration::from_millis(300), s.request_headers())
            .await
            .is_err()
    });
    let channel = Channel::builder(&target)
        .unwrap()
        .default_service_config(&retry_config(5, "0.01s", r#""UNAVAILABLE""#, ""))
        .unwrap()
        .retries(false)
        .build()
        .unwrap();
    assert_eq!(
        within(10, unary(&channel)).await.unwrap_err().code(),
        Code::Unavailable
    );
    assert!(server.await.unwrap());
}

/// The retry policy can come from the resolver (a DNS TXT record's
/// `grpc_config`, here through a `ManualResolver` in the same A2 form):
/// it applies; an invalid config offered later is ignored and the last
/// good one keeps applying.
#[tokio::test]
async fn a_retry_policy_from_the_resolver_applies_and_survives_a_bad_update() {
    use tether::resolver::{Address, ManualResolver, Resolution};
    let (l, _) = listen().await;
    let addr = l.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let mut attempts = Vec::new();
        for call in 0..2 {
            let (id, _, _) = s.request().await;
            fail(&mut s, id, 14, &[]).await;
            let (id, fields, _) = s.request().await;
            attempts.push((
                call,
                field(&fields, "grpc-previous-rpc-attempts").map(str::to_owned),
            ));
            s.unary_ok(id, b"ok").await;
        }
        attempts
    });
    let choice = format!(
        r#"[{{"clientLanguage": ["rust"], "serviceConfig": {}}}]"#,
        retry_config(2, "0.01s", r#""UNAVAILABLE""#, "")
    );
    let resolver = ManualResolver::new();
    resolver.update(Resolution::new(vec![Address::Tcp(addr)]).with_service_config(choice));
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let channel = Channel::builder_with_resolver("svc.test", resolver.clone())
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    assert_eq!(within(10, unary(&channel)).await.unwrap().attempts(), 2);
    // A broken update: ignored (with an event), the policy stays.
    resolver.update(
        Resolution::new(vec![Address::Tcp(addr)]).with_service_config(
            r#"[{"serviceConfig": {"methodConfig": [{"retryPolicy": {"maxAttempts": 1}}]}}]"#,
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, ChannelEvent::ResolutionFailed { .. }))
    {
        assert!(Instant::now() < deadline, "the bad config was not reported");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(within(10, unary(&channel)).await.unwrap().attempts(), 2);
    let attempts = server.await.unwrap();
    assert_eq!(attempts, [(0, Some("1".into())), (1, Some("1".into()))]);
}

/// Without any policy, a bidi stream the server refused (REFUSED_STREAM)
/// after the client had sent messages on it is retried transparently, once,
/// with every message: the server never processed it.
#[tokio::test]
async fn a_refused_bidi_stream_is_replayed_transparently() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _) = s.request_headers().await;
        let first = messages(&mut s, id, 2).await;
        s.rst(id, ErrorCode::REFUSED_STREAM).await;
        let id = next_attempt(&mut s, id).await;
        let second = messages(&mut s, id, 2).await;
        s.response_headers(id).await;
        s.message_out(id, b"echo").await;
        s.trailers(id, 0, "").await;
        (first, second)
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let channel = Channel::builder(&target)
        .unwrap()
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    let (tx, mut rx) = within(10, channel.bidi("/pkg.Svc/Chat", (), BytesCodec))
        .await
        .unwrap();
    tx.send(Bytes::from_static(b"m1")).await.unwrap();
    tx.send(Bytes::from_static(b"m2")).await.unwrap();
    assert_eq!(
        within(10, rx.message()).await.unwrap(),
        Some(Bytes::from_static(b"echo"))
    );
    tx.finish();
    assert_eq!(within(10, rx.message()).await.unwrap(), None);
    let (first, second) = server.await.unwrap();
    assert_eq!(first, second);
    assert_eq!(second.len(), 2);
    assert!(events.lock().unwrap().iter().any(|e| matches!(
        e,
        ChannelEvent::TransparentRetry {
            reached_server: true,
            ..
        }
    )));
}

/// Hedging with hedgingDelay 0: all maxAttempts attempts go out at once;
/// the one answered wins and the other two are cancelled.
#[tokio::test]
async fn hedging_delay_zero_sends_every_attempt_at_once() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let mut ids = Vec::new();
        let mut previous = Vec::new();
        for _ in 0..3 {
            let (id, fields, _) = s.request().await;
            ids.push(id);
            previous.push(field(&fields, "grpc-previous-rpc-attempts").map(str::to_owned));
        }
        s.unary_ok(ids[1], b"second").await;
        let mut reset = Vec::new();
        while reset.len() < 2 {
            match s.next().await {
                Got::Rst(id, ErrorCode::CANCEL) => reset.push(id),
                Got::Ping(_) => {}
                other => panic!("expected RST_STREAM CANCEL, got {other:?}"),
            }
        }
        reset.sort_by_key(|id| id.value());
        (vec![ids[0], ids[2]], reset, previous)
    });
    let config = r#"{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 3}}]}"#;
    let (channel, _) = channel(&target, config);
    let resp = within(10, unary(&channel)).await.unwrap();
    assert_eq!(resp.message(), &Bytes::from_static(b"second"));
    assert_eq!(resp.attempts(), 3);
    let (others, reset, previous) = server.await.unwrap();
    assert_eq!(others, reset);
    assert_eq!(previous, [None, Some("1".into()), Some("2".into())]);
}

// Found in review: each failed before its fix.

/// No policy. The server ends a bidi call (headers + OK trailers) while the
/// client only sends (never reads): the sender sees the end, as before
/// retries existed. (With the first replay buffer it kept accepting, up to
/// the buffer's megabyte.)
#[tokio::test]
async fn bidi_sender_sees_the_end_when_the_server_ends_the_call() {
    let (l, target) = listen().await;
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _) = s.request_headers().await;
        s.response_headers(id).await;
        s.trailers(id, 0, "").await;
        loop {
            if let Got::Eof = s.next().await {
                break;
            }
        }
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let (tx, rx) = within(10, channel.bidi("/pkg.Svc/Chat", (), BytesCodec))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let closed_after_end = tx.is_closed();
    let mut accepted = 0;
    for _ in 0..300 {
        match tokio::time::timeout(
            Duration::from_secs(1),
            tx.send(Bytes::from(vec![7u8; 1024])),
        )
        .await
        {
            Ok(Ok(())) => accepted += 1,
            _ => break,
        }
    }
    eprintln!("is_closed after the server ended: {closed_after_end}; sends accepted afterwards: {accepted}");
    drop(rx);
    assert!(
        closed_after_end,
        "the sender should see the end of the call"
    );
    assert!(
        accepted <= 1,
        "{accepted} sends accepted after the call ended"
    );
}

/// A (hostile) GOAWAY whose last stream id is below a stream that already
/// has response headers: the stream ends UNAVAILABLE. (It hung: the driver
/// marked it unprocessed without a status, and a committed call never
/// looked at that again.)
#[tokio::test]
async fn a_goaway_disowning_an_answered_stream_ends_it() {
    let (l, target) = listen().await;
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        s.response_headers(id).await;
        s.message_out(id, b"a").await;
        s.goaway(0, ErrorCode::NO_ERROR, b"").await;
        loop {
            if let Got::Eof = s.next().await {
                break;
            }
        }
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let resp = within(
        10,
        channel.server_streaming(
            "/pkg.Svc/S",
            Request::new(Bytes::from_static(b"q")),
            BytesCodec,
        ),
    )
    .await
    .unwrap();
    let mut stream = resp.into_message();
    let first = within(10, stream.message()).await;
    eprintln!("first: {first:?}");
    let second = tokio::time::timeout(Duration::from_secs(3), stream.message()).await;
    eprintln!("second: {second:?}");
    assert!(second.is_ok(), "Streaming::message() hung after the GOAWAY");
}

/// The whole OK response arrives before the deadline, but the call's task
/// is polled only after it: the response stands. (The call reported
/// DEADLINE_EXCEEDED: the deadline was checked before the queued answer.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_complete_before_the_deadline_stands() {
    let (l, target) = listen().await;
    let got = Arc::new(AtomicBool::new(false));
    let got2 = got.clone();
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        s.unary_ok(id, b"warm").await;
        let (id, _, _) = s.request().await;
        s.unary_ok(id, b"ok").await;
        got2.store(true, Ordering::SeqCst);
        loop {
            if let Got::Eof = s.next().await {
                break;
            }
        }
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    within(
        10,
        channel.unary(
            "/pkg.Svc/M",
            Request::new(Bytes::from_static(b"w")),
            BytesCodec,
        ),
    )
    .await
    .unwrap();
    let mut fut = Box::pin(channel.unary(
        "/pkg.Svc/M",
        Request::new(Bytes::from_static(b"q")).with_timeout(Duration::from_millis(400)),
        BytesCodec,
    ));
    // One poll: the call picks the (warm) connection, opens its stream and
    // waits. Then the task that owns it is busy elsewhere: the call is not
    // polled while the whole response arrives, nor until after the deadline.
    let done = poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_ready())).await;
    assert!(!done);
    for _ in 0..2000 {
        if got.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(got.load(Ordering::SeqCst));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let result = fut.await;
    eprintln!("result: {:?}", result.as_ref().map(|r| r.message().clone()));
    assert!(result.is_ok(), "{result:?}");
}

/// Hedging maxAttempts 3 (no non-fatal codes), MAX_CONCURRENT_STREAMS 2 and
/// room for a second connection that never completes: the third hedge waits
/// for its connection. The server refuses the first attempt (REFUSED_STREAM):
/// it is retried transparently after the pending hedge. (It was taken as a
/// fatal UNAVAILABLE, which cancelled the live second hedge.)
#[tokio::test]
async fn a_refused_hedge_while_another_is_picked_is_retried_transparently() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept_with(&l, max_concurrent_streams(2)).await;
        let (a, _, _) = s.request().await;
        let (_b, _, _) = s.request().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        s.rst(a, ErrorCode::REFUSED_STREAM).await;
        let mut seen = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_millis(500), s.next()).await {
                Ok(Got::Headers(id, _, _)) => {
                    seen.push(format!("HEADERS {}", id.value()));
                    // read its body then answer
                    loop {
                        match s.next().await {
                            Got::Data(_, _, true) => break,
                            Got::Rst(i, c) => seen.push(format!("RST {} {:?}", i.value(), c)),
                            _ => {}
                        }
                    }
                    s.unary_ok(id, b"ok").await;
                }
                Ok(Got::Rst(id, code)) => seen.push(format!("RST {} {code:?}", id.value())),
                Ok(Got::Eof) | Err(_) => break,
                Ok(_) => {}
            }
        }
        seen
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let config = r#"{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.1s"}}]}"#;
    let channel = Channel::builder(&target)
        .unwrap()
        .default_service_config(config)
        .unwrap()
        .max_connections_per_subchannel(2)
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    let result = within(
        10,
        channel.unary(
            "/pkg.Svc/M",
            Request::new(Bytes::from_static(b"q")).with_timeout(Duration::from_secs(5)),
            BytesCodec,
        ),
    )
    .await;
    let seen = server.await.unwrap();
    let ev: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| {
            matches!(
                e,
                ChannelEvent::Hedge { .. }
                    | ChannelEvent::RetryStopped { .. }
                    | ChannelEvent::TransparentRetry { .. }
            )
        })
        .map(|e| format!("{e:?}"))
        .collect();
    eprintln!(
        "result: {:?}\nserver saw: {seen:?}\nevents: {ev:#?}",
        result.as_ref().map(|r| (r.message().clone(), r.attempts()))
    );
    // The live hedge (stream 3) may be cancelled only as the loser, after
    // another attempt answered; not because of the refused one.
    let rst = seen.iter().position(|s| s == "RST 3 CANCEL");
    let answered = seen.iter().position(|s| s.starts_with("HEADERS"));
    assert!(
        rst.map_or(true, |r| answered.is_some_and(|a| a < r)),
        "the live hedge was cancelled by a refused stream: {seen:?}"
    );
    assert!(
        !ev.iter().any(|e| e.contains("RetryStopped")),
        "a refused hedge was taken as fatal: {ev:?}"
    );
    assert!(ev.iter().any(|e| e.contains("TransparentRetry")));
    assert!(result.is_ok());
}
