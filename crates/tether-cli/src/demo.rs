//! `tether demo`: a channel with keepalive against a real gRPC interop
//! server, one call every `interval`, every channel event and call printed
//! with a timestamp, and a summary.
//!
//! Calls are wait-for-ready: when the server goes away (the demo script
//! kills it midway and restarts it), they wait for the channel to reconnect
//! (TRANSIENT_FAILURE, CONNECTING, READY) instead of failing. The exit
//! status says whether calls succeeded again after a reconnection.
//!
//! A quiet phase without calls lets keepalive PINGs go out; against a
//! server with the usual enforcement (grpc-go: at most one ping every
//! 5 minutes, or none without calls) they end in GOAWAY `too_many_pings`,
//! and the channel doubles its keepalive time (gRFC A8).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tether::{Channel, ChannelEvent, Keepalive, Request, Status};
use tether_interop::pb::{Empty, Payload, SimpleRequest, TestServiceClient};

/// What `tether demo` does.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// `http://host:port` of a grpc.testing.TestService server.
    pub target: String,
    /// How long to keep making calls.
    pub duration: Duration,
    /// The time between two calls.
    pub interval: Duration,
    /// The deadline of each call (it waits for a connection that long).
    pub call_timeout: Duration,
    /// Keepalive time and timeout.
    pub keepalive: (Duration, Duration),
    /// No calls from this time since the start, for `quiet_for`.
    pub quiet_at: Duration,
    /// How long the quiet phase lasts (zero: none).
    pub quiet_for: Duration,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            target: "http://127.0.0.1:10000".to_owned(),
            duration: Duration::from_secs(18),
            interval: Duration::from_millis(300),
            call_timeout: Duration::from_secs(8),
            keepalive: (Duration::from_secs(2), Duration::from_secs(1)),
            quiet_at: Duration::from_secs(9),
            quiet_for: Duration::from_millis(7500),
        }
    }
}

/// The counts the demo ends with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Calls that ended OK.
    pub ok: usize,
    /// Calls that failed.
    pub failed: usize,
    /// Connections established after the first.
    pub reconnects: usize,
    /// Calls that ended OK on a connection made after the first.
    pub ok_after_reconnect: usize,
    /// PING round trips measured.
    pub pings: usize,
    /// GOAWAYs received.
    pub goaways: usize,
}

impl Summary {
    /// The demo succeeded: the channel reconnected and calls succeeded on
    /// the new connection.
    pub fn survived(&self) -> bool {
        self.reconnects > 0 && self.ok_after_reconnect > 0
    }
}

/// Shared between the event callback and the calls.
#[derive(Default)]
struct Counters {
    connections: AtomicUsize,
    pings: AtomicUsize,
    goaways: AtomicUsize,
    calls: Mutex<Summary>,
}

/// `[  1.234s]`: the time since `start`.
fn stamp(start: Instant) -> String {
    format!("[{:7.3}s]", start.elapsed().as_secs_f64())
}

/// Runs the demo (needs a tokio runtime with timers) and returns its
/// summary; lines go to stdout as things happen.
pub async fn run(opts: &DemoOptions) -> Result<Summary, Status> {
    let start = Instant::now();
    let counters = Arc::new(Counters::default());
    let (ka_time, ka_timeout) = opts.keepalive;
    let c = counters.clone();
    let channel = Channel::builder(&opts.target)?
        .keepalive(Keepalive::new(ka_time, ka_timeout).permit_without_calls(true))
        .user_agent("tether-demo")
        .on_event(move |e| {
            match e {
                ChannelEvent::Connected { .. } => {
                    c.connections.fetch_add(1, Ordering::SeqCst);
                }
                ChannelEvent::PingRtt(_) => {
                    c.pings.fetch_add(1, Ordering::SeqCst);
                }
                ChannelEvent::GoAway { .. } => {
                    c.goaways.fetch_add(1, Ordering::SeqCst);
                }
                _ => {}
            }
            println!("{} channel: {e}", stamp(start));
        })
        .build()?;
    println!(
        "{} channel to {} (keepalive {ka_time:?}, timeout {ka_timeout:?}, permit without calls); \
         one call every {:?} for {:?}, wait-for-ready, deadline {:?}",
        stamp(start),
        opts.target,
        opts.interval,
        opts.duration,
        opts.call_timeout
    );
    let client = TestServiceClient::new(channel.clone());
    let mut tick = tokio::time::interval(opts.interval);
    let mut calls = Vec::new();
    let mut n = 0usize;
    let mut quiet_done = opts.quiet_for.is_zero();
    while start.elapsed() < opts.duration {
        tick.tick().await;
        if !quiet_done && start.elapsed() >= opts.quiet_at {
            quiet_done = true;
            println!(
                "{} quiet for {:?}: no calls, only keepalive PINGs (every {ka_time:?} without reads)",
                stamp(start),
                opts.quiet_for
            );
            tokio::time::sleep(opts.quiet_for).await;
            println!("{} calls again", stamp(start));
            tick.reset_immediately();
            continue;
        }
        n += 1;
        let client = client.clone();
        let counters = counters.clone();
        let timeout = opts.call_timeout;
        // Each call runs on its own: while the server is down, several
        // wait for the connection together.
        calls.push(tokio::spawn(async move {
            let began = Instant::now();
            let (name, result) = one_call(&client, n, timeout).await;
            let took = began.elapsed();
            let connection = counters.connections.load(Ordering::SeqCst);
            let mut s = counters.calls.lock().unwrap_or_else(|e| e.into_inner());
            match result {
                Ok(()) => {
                    s.ok += 1;
                    if connection > 1 {
                        s.ok_after_reconnect += 1;
                    }
                    println!(
                        "{} call #{n:<3} {name:<9} OK          {:8.2} ms  (connection {connection})",
                        stamp(start),
                        took.as_secs_f64() * 1e3
                    );
                }
                Err(status) => {
                    s.failed += 1;
                    println!(
                        "{} call #{n:<3} {name:<9} {:<11} {:8.2} ms  {}",
                        stamp(start),
                        status.code().name(),
                        took.as_secs_f64() * 1e3,
                        status.message()
                    );
                }
            }
        }));
    }
    for call in calls {
        let _ = call.await;
    }
    let mut summary = counters
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    summary.reconnects = counters
        .connections
        .load(Ordering::SeqCst)
        .saturating_sub(1);
    summary.pings = counters.pings.load(Ordering::SeqCst);
    summary.goaways = counters.goaways.load(Ordering::SeqCst);
    println!(
        "{} summary: {} calls OK, {} failed; {} reconnect(s), {} call(s) OK after reconnecting; \
         {} ping RTT(s) (latest {}), {} GOAWAY(s); keepalive time now {}",
        stamp(start),
        summary.ok,
        summary.failed,
        summary.reconnects,
        summary.ok_after_reconnect,
        summary.pings,
        channel.rtt().map_or("none".to_owned(), |d| format!(
            "{:.3} ms",
            d.as_secs_f64() * 1e3
        )),
        summary.goaways,
        channel
            .keepalive_time()
            .map_or("off".to_owned(), |d| format!("{d:?}")),
    );
    Ok(summary)
}

/// Call `n`: EmptyCall or UnaryCall (64 bytes each way), in turn.
async fn one_call(
    client: &TestServiceClient,
    n: usize,
    timeout: Duration,
) -> (&'static str, Result<(), Status>) {
    if n % 2 == 1 {
        let request = Request::new(Empty {})
            .with_wait_for_ready(true)
            .with_timeout(timeout);
        ("EmptyCall", client.empty_call(request).await.map(drop))
    } else {
        let request = Request::new(SimpleRequest {
            response_size: 64,
            payload: Some(Payload {
                r#type: 0,
                body: vec![0; 64],
            }),
            ..Default::default()
        })
        .with_wait_for_ready(true)
        .with_timeout(timeout);
        let result = client.unary_call(request).await.and_then(|r| {
            let size = r.message().payload.as_ref().map_or(0, |p| p.body.len());
            if size == 64 {
                Ok(())
            } else {
                Err(Status::internal(format!(
                    "expected a 64-byte payload, got {size}"
                )))
            }
        });
        ("UnaryCall", result)
    }
}
