//! A stuck pod: three grpc-go servers behind the test DNS server
//! (dnsmasq), one of which answers every call after 1.5 s for 10 s while
//! its health stays SERVING (its `-delay=1.5s`, switched on and off with
//! SIGHUP). 50 calls/s with 1 s deadlines, run three times on the same
//! servers: round_robin, peak_ewma, peak_ewma with hedging, and
//! round_robin under outlier detection. The test prints and checks the
//! failures of each run during the slow window.
//!
//! Bounded in time (about 60 s in all); skips without the peers
//! (scripts/install-peers.sh --with-go) unless `TETHER_REQUIRE_PEERS=1`.

mod channel_support;

use bytes::Bytes;
use channel_support::backends::{Backends, BACKEND_HEADER};
use channel_support::dns::Dns;
use channel_support::test_service::UNARY_CALL;
use channel_support::within;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tether::{BytesCodec, Channel, ConnectivityState, Request};

const NAME: &str = "stuck.test";
const RATE: u32 = 50;
const DEADLINE: Duration = Duration::from_secs(1);
const SLOW_FOR: Duration = Duration::from_secs(10);

/// What one run saw: calls sent and failed during the slow window, and
/// how many of those went to (were answered by) the slow server.
#[derive(Debug, Default)]
struct Run {
    sent: usize,
    failed: usize,
    slow_answers: usize,
}

/// 50 calls/s: 2 s warm, then the slow window (`on` called at its start,
/// `off` at its end); counts the outcomes of the calls started in the
/// window.
async fn run(ch: &Channel, slow: &str, on: impl FnOnce(), off: impl FnOnce()) -> Run {
    let sent = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let slow_answers = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / RATE);
    let warm = Instant::now() + Duration::from_secs(2);
    let mut window: Option<Instant> = None;
    let mut on = Some(on);
    loop {
        tick.tick().await;
        let now = Instant::now();
        if window.is_none() && now >= warm {
            (on.take().expect("once"))();
            window = Some(now);
        }
        let counted = window.is_some();
        if window.is_some_and(|w| now >= w + SLOW_FOR) {
            break;
        }
        let ch = ch.clone();
        let (sent, failed, slow_answers) = (sent.clone(), failed.clone(), slow_answers.clone());
        let slow = slow.to_owned();
        tasks.push(tokio::spawn(async move {
            let req = Request::new(Bytes::new()).with_timeout(DEADLINE);
            let result = ch.unary(UNARY_CALL, req, BytesCodec).await;
            if counted {
                sent.fetch_add(1, Ordering::Relaxed);
                match result {
                    Ok(resp) => {
                        if resp.metadata().get(BACKEND_HEADER) == Some(slow.as_str()) {
                            slow_answers.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        within(10, t).await.unwrap();
    }
    off();
    let run = Run {
        sent: sent.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        slow_answers: slow_answers.load(Ordering::Relaxed),
    };
    // Let the slow server's last calls drain before the next run.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    run
}

async fn channel(dns: &Dns, port: u16, config: &str) -> Channel {
    let ch = Channel::builder(&dns.target(NAME, port))
        .unwrap()
        .default_service_config(config)
        .unwrap()
        .build()
        .unwrap();
    ch.state(true);
    let start = Instant::now();
    while ch
        .subchannels()
        .iter()
        .filter(|s| s.state == ConnectivityState::Ready)
        .count()
        < 3
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not 3 READY: {:?}",
            ch.subchannels()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ch
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_pod_fails_a_third_of_round_robin_calls_and_almost_none_under_peak_ewma() {
    // The delay is on at start: switched off at once, on for each window.
    let Some(b) = Backends::start_each(&[&["-delay=1.5s"], &[], &[]]).await else {
        return;
    };
    b.signal(0, "HUP");
    let ips: Vec<String> = b.ips(&[0, 1, 2]);
    let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
    let Some(dns) = Dns::start(NAME, &ips).await else {
        return;
    };
    let slow = b.addr(0);
    let toggle = || b.signal(0, "HUP");

    let rr = channel(
        &dns,
        b.port(),
        r#"{"loadBalancingConfig": [{"round_robin": {}}]}"#,
    )
    .await;
    let round_robin = run(&rr, &slow, toggle, toggle).await;
    drop(rr);

    let ewma = channel(
        &dns,
        b.port(),
        r#"{"loadBalancingConfig": [{"peak_ewma": {}}]}"#,
    )
    .await;
    let peak_ewma = run(&ewma, &slow, toggle, toggle).await;
    let snapshot = ewma.subchannels();
    drop(ewma);

    let hedged = channel(
        &dns,
        b.port(),
        r#"{"loadBalancingConfig": [{"peak_ewma": {}}],
            "methodConfig": [{"name": [{"service": "grpc.testing.TestService"}],
            "hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "0.2s"}}]}"#,
    )
    .await;
    let hedging = run(&hedged, &slow, toggle, toggle).await;
    drop(hedged);

    // round_robin with outlier detection (gRFC A50): the slow pod's calls
    // fail DEADLINE_EXCEEDED; a 1 s sweep ejects it (failure percentage
    // over 50 % of at least 10 calls, at most one of the three pods).
    let outlier = channel(
        &dns,
        b.port(),
        r#"{"loadBalancingConfig": [{"outlier_detection_experimental": {
            "interval": "1s", "baseEjectionTime": "30s", "maxEjectionPercent": 34,
            "failurePercentageEjection": {"threshold": 50, "minimumHosts": 3, "requestVolume": 10},
            "childPolicy": [{"round_robin": {}}]}}]}"#,
    )
    .await;
    let ejecting = run(&outlier, &slow, toggle, toggle).await;
    let ejected: Vec<String> = outlier
        .subchannels()
        .iter()
        .filter(|s| s.ejected)
        .map(|s| s.address.to_string())
        .collect();

    eprintln!(
        "stuck pod, {SLOW_FOR:?} at {RATE} calls/s, 1 s deadlines:\n  \
         round_robin:          {} of {} calls failed ({} answered by the slow pod)\n  \
         peak_ewma:            {} of {} calls failed ({} answered by the slow pod)\n  \
         peak_ewma + hedging:  {} of {} calls failed\n  \
         round_robin + outlier detection: {} of {} calls failed (ejected: {:?})",
        round_robin.failed,
        round_robin.sent,
        round_robin.slow_answers,
        peak_ewma.failed,
        peak_ewma.sent,
        peak_ewma.slow_answers,
        hedging.failed,
        hedging.sent,
        ejecting.failed,
        ejecting.sent,
        ejected
    );
    eprintln!("peak_ewma subchannels after its run: {snapshot:#?}");
    // round_robin keeps sending the slow pod a third of the calls: every
    // one of those fails (1.5 s > the 1 s deadline).
    assert!(
        round_robin.failed * 4 >= round_robin.sent,
        "round_robin failed only {} of {}",
        round_robin.failed,
        round_robin.sent
    );
    assert!(
        peak_ewma.failed <= 5,
        "peak_ewma failed {} calls",
        peak_ewma.failed
    );
    assert_eq!(hedging.failed, 0, "peak_ewma with hedging failed calls");
    assert!(snapshot.iter().any(|s| s.latency_estimate.is_some()));
    // Ejected within a sweep or two: a fraction of round_robin's failures.
    assert!(
        ejecting.failed * 3 < round_robin.failed,
        "outlier detection failed {} calls",
        ejecting.failed
    );
    assert_eq!(
        ejected,
        std::slice::from_ref(&slow),
        "the slow pod is ejected"
    );
}
