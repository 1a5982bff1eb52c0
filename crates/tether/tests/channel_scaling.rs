//! Connection lifecycle and scaling on tokio's paused clock, against the
//! scripted server on 127.0.0.1: the idle timeout, extra connections when
//! the server's MAX_CONCURRENT_STREAMS is reached (gRFC A105) and their
//! closing, connect-before-drain on GOAWAY, a dropped socket (A62), and
//! sticky TRANSIENT_FAILURE with `reset_connect_backoff`.
//!
//! Each test runs on a current-thread runtime whose clock is paused: when
//! every task waits, time jumps to the next timer, so a minute of idleness
//! takes microseconds. The runtime runs in a thread of its own, bounded in
//! real time: a task that never lets the runtime idle (which stops virtual
//! time) fails the test instead of hanging it.

mod channel_support;

use bytes::Bytes;
use channel_support::*;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tether::backoff::BackoffConfig;
use tether::{BytesCodec, Channel, ChannelEvent, Code, ConnectivityState, Request, Status};
use tether_h2::ErrorCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};
use ConnectivityState::*;

/// Real time a test may take.
const REAL_LIMIT: Duration = Duration::from_secs(5);

const SEC: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

/// Runs `test` on a paused-clock runtime, failing it after [`REAL_LIMIT`].
fn virtual_time<F>(test: impl FnOnce() -> F + Send + 'static)
where
    F: Future<Output = ()>,
{
    let (done, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(test());
        let _ = done.send(());
    });
    match rx.recv_timeout(REAL_LIMIT) {
        Ok(()) => thread.join().unwrap(),
        Err(RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!(),
        },
        Err(RecvTimeoutError::Timeout) => panic!(
            "no end after {REAL_LIMIT:?} of real time: virtual time stopped \
             (a task busy-looping?)"
        ),
    }
}

/// Events with their (virtual) time.
type Log = Arc<Mutex<Vec<(Instant, ChannelEvent)>>>;

fn recording(target: &str) -> (tether::ChannelBuilder, Log) {
    let log: Log = Arc::default();
    let l = log.clone();
    let builder = Channel::builder(target)
        .unwrap()
        .on_event(move |e| l.lock().unwrap().push((Instant::now(), e.clone())));
    (builder, log)
}

/// The channel's state changes, in order.
fn state_changes(log: &Log) -> Vec<(ConnectivityState, ConnectivityState)> {
    log.lock()
        .unwrap()
        .iter()
        .filter_map(|(_, e)| match e {
            ChannelEvent::StateChanged { from, to } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

/// When the channel first went `from` -> `to`.
fn changed_at(log: &Log, from: ConnectivityState, to: ConnectivityState) -> Option<Instant> {
    let want = ChannelEvent::StateChanged { from, to };
    log.lock()
        .unwrap()
        .iter()
        .find(|(_, e)| *e == want)
        .map(|(t, _)| *t)
}

/// When the subchannel started each connection attempt.
fn attempts(log: &Log) -> Vec<Instant> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|(_, e)| matches!(e, ChannelEvent::SubchannelState { to: Connecting, .. }))
        .map(|(t, _)| *t)
        .collect()
}

/// A unary call; the response as text.
async fn call(channel: &Channel) -> Result<String, Status> {
    let resp = channel
        .unary("/a.B/C", Request::new(Bytes::new()), BytesCodec)
        .await?;
    Ok(String::from_utf8(resp.message().to_vec()).unwrap())
}

fn spawn_call(channel: &Channel) -> JoinHandle<Result<String, Status>> {
    let channel = channel.clone();
    tokio::spawn(async move { call(&channel).await })
}

/// Polls `ok` every virtual millisecond; fails after `limit`.
async fn until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?} (virtual)"
        );
        sleep(MS).await;
    }
}

/// Reads until the client ends the connection (GOAWAY or EOF).
async fn end_of(s: &mut Server<TcpStream>) -> Got {
    loop {
        match s.next().await {
            g @ (Got::GoAway(_) | Got::Eof) => return g,
            Got::Rst(..) | Got::Ping(_) => {}
            other => panic!("expected the end of the connection, got {other:?}"),
        }
    }
}

fn assert_between(what: &str, d: Duration, lo: Duration, hi: Duration) {
    assert!(d >= lo && d < hi, "{what}: {d:?}, not in [{lo:?}, {hi:?})");
}

/// A server taking any number of connections, each advertising
/// MAX_CONCURRENT_STREAMS; it holds each request until given a permit, then
/// answers `conn<n>` (n: the connection's rank in accept order).
struct Farm {
    accepted: AtomicUsize,
    /// The connection of each request, in arrival order.
    requests: Mutex<Vec<usize>>,
    /// Connections the client ended, and when.
    ended: Mutex<Vec<(usize, Instant)>>,
    /// One permit answers one held request.
    release: tokio::sync::Semaphore,
}

impl Farm {
    fn start(l: TcpListener, max_streams: u32) -> Arc<Farm> {
        let farm = Arc::new(Farm {
            accepted: AtomicUsize::new(0),
            requests: Mutex::default(),
            ended: Mutex::default(),
            release: tokio::sync::Semaphore::new(0),
        });
        let f = farm.clone();
        tokio::spawn(async move {
            loop {
                let (io, _) = l.accept().await.unwrap();
                io.set_nodelay(true).unwrap();
                let n = f.accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(f.clone().serve(io, n, max_streams));
            }
        });
        farm
    }

    async fn serve(self: Arc<Self>, io: TcpStream, n: usize, max_streams: u32) {
        let mut s = Server::handshake_with(io, max_concurrent_streams(max_streams)).await;
        loop {
            match s.next().await {
                Got::Headers(..) => self.requests.lock().unwrap().push(n),
                Got::Data(id, _, true) => {
                    self.release.acquire().await.unwrap().forget();
                    s.unary_ok(id, format!("conn{n}").as_bytes()).await;
                }
                Got::GoAway(_) | Got::Eof => {
                    self.ended.lock().unwrap().push((n, Instant::now()));
                    return;
                }
                _ => {}
            }
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<usize> {
        self.requests.lock().unwrap().clone()
    }

    fn ended(&self) -> Vec<(usize, Instant)> {
        self.ended.lock().unwrap().clone()
    }
}

async fn join_all(calls: Vec<JoinHandle<Result<String, Status>>>) -> Vec<String> {
    let mut out = Vec::new();
    for c in calls {
        out.push(within(5, c).await.unwrap().unwrap());
    }
    out.sort();
    out
}

// ---------------------------------------------------------------- idle

#[test]
fn idle_timeout_closes_the_connection_and_the_next_call_reconnects() {
    virtual_time(|| async {
        let (l, target) = listen().await;
        let (builder, log) = recording(&target);
        let channel = builder.idle_timeout(Some(60 * SEC)).build().unwrap();
        let first = spawn_call(&channel);
        let mut s1 = within(5, accept_with(&l, Vec::new())).await;
        let (id, _, _) = within(5, s1.request()).await;
        s1.unary_ok(id, b"one").await;
        assert_eq!(within(5, first).await.unwrap().unwrap(), "one");
        let done = Instant::now();
        assert_eq!(channel.state(false), Ready);

        // 60 s without a call: the server sees the connection end.
        within(120, end_of(&mut s1)).await;
        assert_between("connection end", done.elapsed(), 60 * SEC, 61 * SEC);
        until("IDLE", SEC, || channel.state(false) == Idle).await;
        let idle = changed_at(&log, Ready, Idle).expect("a READY -> IDLE event");
        assert_between("READY -> IDLE", idle - done, 60 * SEC, 61 * SEC);

        // The next call reconnects.
        let second = spawn_call(&channel);
        let mut s2 = within(5, accept_with(&l, Vec::new())).await;
        let (id, _, _) = within(5, s2.request()).await;
        s2.unary_ok(id, b"two").await;
        assert_eq!(within(5, second).await.unwrap().unwrap(), "two");
        let changes = state_changes(&log);
        assert_eq!(
            changes[..3],
            [(Idle, Connecting), (Connecting, Ready), (Ready, Idle)]
        );
        assert_eq!(changes.last(), Some(&(Connecting, Ready)), "{changes:?}");
    });
}

/// After an idle timeout the channel keeps its last addresses: the new
/// pick_first policy is given them while still IDLE, and must not publish
/// IDLE over the CONNECTING the channel just entered.
#[test]
fn leaving_idle_again_goes_straight_to_connecting() {
    virtual_time(|| async {
        let (l, target) = listen().await;
        let (builder, log) = recording(&target);
        let channel = builder.idle_timeout(Some(60 * SEC)).build().unwrap();
        for (n, body) in [b"one", b"two"].into_iter().enumerate() {
            if n == 1 {
                sleep(61 * SEC).await;
                assert_eq!(channel.state(false), Idle);
            }
            let c = spawn_call(&channel);
            let mut s = within(5, accept_with(&l, Vec::new())).await;
            let (id, _, _) = within(5, s.request()).await;
            s.unary_ok(id, body).await;
            within(5, c).await.unwrap().unwrap();
        }
        assert_eq!(
            state_changes(&log),
            [
                (Idle, Connecting),
                (Connecting, Ready),
                (Ready, Idle),
                (Idle, Connecting),
                (Connecting, Ready)
            ]
        );
    });
}

/// While a call is open the idle deadline (last call end + timeout) may be
/// in the past: the control task must not keep waking for it (a busy loop,
/// which also stops virtual time here; the watchdog then fails the test).
#[test]
fn a_call_in_flight_longer_than_the_idle_timeout_keeps_the_channel_ready() {
    virtual_time(|| async {
        let (l, target) = listen().await;
        let (builder, log) = recording(&target);
        let channel = builder.idle_timeout(Some(60 * SEC)).build().unwrap();
        let held = spawn_call(&channel);
        let mut s = within(5, accept_with(&l, Vec::new())).await;
        let (id, _, _) = within(5, s.request()).await;
        // Two and a half idle timeouts with the call open.
        sleep(150 * SEC).await;
        assert_eq!(channel.state(false), Ready);
        assert_eq!(
            state_changes(&log),
            [(Idle, Connecting), (Connecting, Ready)]
        );
        s.unary_ok(id, b"late").await;
        assert_eq!(within(5, held).await.unwrap().unwrap(), "late");
        let done = Instant::now();
        // IDLE 60 s after the call ended (not after it started).
        within(120, end_of(&mut s)).await;
        assert_between("connection end", done.elapsed(), 60 * SEC, 61 * SEC);
        until("IDLE", SEC, || channel.state(false) == Idle).await;
    });
}

#[test]
fn without_idle_timeout_the_channel_never_goes_idle() {
    virtual_time(|| async {
        let (l, target) = listen().await;
        let (builder, log) = recording(&target);
        let channel = builder.idle_timeout(None).build().unwrap();
        let first = spawn_call(&channel);
        let mut s = within(5, accept_with(&l, Vec::new())).await;
        let (id, _, _) = within(5, s.request()).await;
        s.unary_ok(id, b"one").await;
        within(5, first).await.unwrap().unwrap();

        sleep(2 * 3600 * SEC).await;
        assert_eq!(channel.state(false), Ready);
        assert_eq!(
            state_changes(&log),
            [(Idle, Connecting), (Connecting, Ready)]
        );
        // Still the same connection.
        let second = spawn_call(&channel);
        let (id, _, _) = within(5, s.request()).await;
        s.unary_ok(id, b"two").await;
        assert_eq!(within(5, second).await.unwrap().unwrap(), "two");
        assert!(tokio::time::timeout(SEC, l.accept()).await.is_err());
    });
}

// ------------------------------------------------------ A105 opening

#[test]
fn a105_opens_a_connection_per_call_up_to_the_limit() {
    virtual_time(|| async {
        let (l, target) = listen().await;
        let farm = Farm::start(l, 1);
        let channel = Channel::builder(&target)
            .unwrap()
            .max_connections_per_subchannel(3)
            .build()
            .unwrap();
        let calls: Vec<_> = (0..3).map(|_| spawn_call(&channel)).collect();
        until("3 requests", 5 * SEC, || farm.requests().len() >= 3).await;
        sleep(SEC).await;
        assert_eq!(farm.accepted(), 3);
        let mut per_conn = farm.requests();
        per_conn.sort();
        assert_eq!(per_conn, [0, 1, 2], "one stream on each connection");
        let sub = &channel.subchannels()[0];
        assert_eq!((sub.connections, sub.streams_in_flight), (3, 3), "{sub:?}");
        farm.release.add_permits(3);
        assert_eq!(join_all(calls).await, ["conn0", "conn1", "conn2"]);
        assert_eq!(farm.accepted(), 3);
    });
}

#[test]
fn a105_at_the_limit_a_call_waits_for_room() {
    virtual_time(|| async {
        let (l, target) = listen().await;
        let farm = Farm::start(l, 1);
        let channel = Channel::builder(&target)
            .unwrap()
            .max_connections_per_subchannel(2)
            .build()
            .unwrap();
        let calls: Vec<_> = (0..3).map(|_| spawn_call(&channel)).collect();
        until("2 requests", 5 * SEC, || farm.requests().len() >= 2).await;
        sleep(SEC).await;
        assert_eq!(farm.accepted(), 2);
        let mut per_conn = farm.requests();
        per_conn.sort();
        assert_eq!(per_conn, [0, 1]);
        // One call ends: the third goes out, on either connection.
        farm.release.add_permits(1);
        until("the third request", 5 * SEC, || farm.requests().len() >= 3).await;
        assert!(farm.requests()[2] < 2, "{:?}", farm.requests());
        farm.release.add_permits(2);
        let served = join_all(calls).await;
        assert!(
            served.iter().all(|s| s == "conn0" || s == "conn1"),
            "{served:?}"
        );
        assert_eq!(farm.accepted(), 2);
    });
}

#[test]
fn without_a105_calls_queue_on_one_connection() {
    virtual_time(|| async {
        let (l, target) = listen().await;
        let farm = Farm::start(l, 1);
        let channel = Channel::builder(&target).unwrap().build().unwrap();
        let calls: Vec<_> = (0..3).map(|_| spawn_call(&channel)).collect();
        until("1 request", 5 * SEC, || !farm.requests().is_empty()).await;
        sleep(SEC).await;
        assert_eq!((farm.accepted(), farm.requests()), (1, vec![0]));
        for n in 2..=3 {
            farm.release.add_permits(1);
            until("the next request", 5 * SEC, || farm.requests().len() >= n).await;
            sleep(SEC).await;
            assert_eq!(farm.requests().len(), n, "one call at a time");
        }
        farm.release.add_permits(1);
        assert_eq!(join_all(calls).await, ["conn0", "conn0", "conn0"]);
        assert_eq!((farm.accepted(), farm.requests()), (1, vec![0, 0, 0]));
    });
}

// ------------------------------------------------------ A105 closing

#[test]
fn a105_extra_connections_close_after_their_idle_timeout() {
    virtual_time(|| async {
        let (l, target) = listen().await;
        let farm = Farm::start(l, 1);
        let channel = Channel::builder(&target)
            .unwrap()
            .max_connections_per_subchannel(3)
            .extra_connection_idle_timeout(10 * SEC)
            .build()
            .unwrap();
        let calls: Vec<_> = (0..3).map(|_| spawn_call(&channel)).collect();
        until("3 requests", 5 * SEC, || farm.requests().len() >= 3).await;
        assert_eq!(channel.subchannels()[0].connections, 3);
        farm.release.add_permits(3);
        join_all(calls).await;
        let done = Instant::now();

        sleep(9 * SEC).await;
        assert_eq!(farm.ended(), []);
        assert_eq!(channel.subchannels()[0].connections, 3);
        until("extra connections closed", 10 * SEC, || {
            farm.ended().len() == 2
        })
        .await;
        let ended = farm.ended();
        let mut which: Vec<_> = ended.iter().map(|(n, _)| *n).collect();
        which.sort();
        assert_eq!(which, [1, 2], "the first connection stays");
        for (n, at) in ended {
            assert_between(&format!("conn{n} end"), at - done, 10 * SEC, 13 * SEC);
        }
        until("1 connection", SEC, || {
            channel.subchannels()[0].connections == 1
        })
        .await;

        // The first stays (until the channel's idle timeout, 30 min).
        sleep(60 * SEC).await;
        assert_eq!(farm.ended().len(), 2);
        let next = spawn_call(&channel);
        farm.release.add_permits(1);
        assert_eq!(within(5, next).await.unwrap().unwrap(), "conn0");
        assert_eq!(farm.accepted(), 3);
        assert_eq!(channel.state(false), Ready);
    });
}

// ------------------------------------------------- connect-before-drain

#[test]
fn goaway_connects_before_draining_and_the_channel_stays_ready() {
    virtual_time(|| async {
        let (l, target) = listen().await;
        let (builder, log) = recording(&target);
        let channel = builder.build().unwrap();
        let held = spawn_call(&channel);
        let mut s1 = within(5, accept_with(&l, Vec::new())).await;
        let (held_id, _, _) = within(5, s1.request()).await;

        s1.goaway(0x7fff_ffff, ErrorCode::NO_ERROR, b"").await;
        let sent = Instant::now();
        let mut s2 = within(5, accept_with(&l, Vec::new())).await;
        // At once: well before the 1 s initial backoff.
        assert_between(
            "second connection",
            sent.elapsed(),
            Duration::ZERO,
            100 * MS,
        );

        // A new call goes to the second connection.
        let next = spawn_call(&channel);
        let (id, _, _) = within(5, s2.request()).await;
        s2.unary_ok(id, b"second").await;
        assert_eq!(within(5, next).await.unwrap().unwrap(), "second");

        // The call in flight on the first still completes there.
        s1.unary_ok(held_id, b"first").await;
        assert_eq!(within(5, held).await.unwrap().unwrap(), "first");
        within(5, end_of(&mut s1)).await;
        until("1 connection", SEC, || {
            channel.subchannels()[0].connections == 1
        })
        .await;
        assert_eq!(channel.state(false), Ready);
        assert_eq!(
            state_changes(&log),
            [(Idle, Connecting), (Connecting, Ready)]
        );
    });
}

// ------------------------------------------------- non-graceful close

#[test]
fn a_dropped_socket_makes_the_channel_idle_and_the_next_call_reconnects() {
    virtual_time(|| async {
        let (l, target) = listen().await;
        let (builder, log) = recording(&target);
        let channel = builder.build().unwrap();
        let first = spawn_call(&channel);
        let mut s1 = within(5, accept_with(&l, Vec::new())).await;
        let (id, _, _) = within(5, s1.request()).await;
        s1.unary_ok(id, b"one").await;
        within(5, first).await.unwrap().unwrap();

        drop(s1);
        until("IDLE", 5 * SEC, || channel.state(false) == Idle).await;
        // pick_first waits for a call before reconnecting.
        assert!(tokio::time::timeout(5 * SEC, l.accept()).await.is_err());
        assert_eq!(channel.state(false), Idle);

        let second = spawn_call(&channel);
        let mut s2 = within(5, accept_with(&l, Vec::new())).await;
        let (id, _, _) = within(5, s2.request()).await;
        s2.unary_ok(id, b"two").await;
        assert_eq!(within(5, second).await.unwrap().unwrap(), "two");
        assert_eq!(
            state_changes(&log),
            [
                (Idle, Connecting),
                (Connecting, Ready),
                (Ready, Idle),
                (Idle, Connecting),
                (Connecting, Ready)
            ]
        );
    });
}

// ------------------------------------------- sticky TRANSIENT_FAILURE

#[test]
fn transient_failure_is_sticky_fails_fast_and_reset_backoff_retries_at_once() {
    virtual_time(|| async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let (builder, log) = recording(&format!("http://{addr}"));
        let mut backoff = BackoffConfig::default();
        backoff.jitter = 0.0;
        let channel = builder.backoff(backoff).build().unwrap();
        let t0 = Instant::now();
        channel.state(true);
        until("TRANSIENT_FAILURE", 100 * MS, || {
            channel.state(false) == TransientFailure
        })
        .await;

        // Retries at 1 s, then 1.6 s later (next: 2.56 s after that).
        sleep(3 * SEC - t0.elapsed()).await;
        assert_eq!(channel.state(false), TransientFailure);
        assert_eq!(
            state_changes(&log),
            [(Idle, Connecting), (Connecting, TransientFailure)]
        );
        let tries: Vec<Duration> = attempts(&log).iter().map(|t| *t - t0).collect();
        assert_eq!(tries.len(), 3, "{tries:?}");
        assert_between("first retry", tries[1], 1000 * MS, 1050 * MS);
        assert_between("second retry", tries[2] - tries[1], 1600 * MS, 1650 * MS);

        // Fail-fast calls fail at once, with the last connect error.
        let start = Instant::now();
        let err = within(5, call(&channel)).await.unwrap_err();
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(err.code(), Code::Unavailable, "{err}");
        let last = channel.subchannels()[0].last_error.clone().unwrap();
        assert!(err.message().contains(last.message()), "{err} / {last}");
        assert!(err.message().contains("failed to connect"), "{err}");

        // A server appears; reset_connect_backoff retries now, not at 5.16 s.
        let l = TcpListener::bind(addr).await.unwrap();
        let server = tokio::spawn(async move {
            let mut s = accept_with(&l, Vec::new()).await;
            s.next().await
        });
        let reset = Instant::now();
        channel.reset_connect_backoff();
        until("READY after reset", 100 * MS, || {
            channel.state(false) == Ready
        })
        .await;
        assert!(reset.elapsed() < 100 * MS);
        assert_eq!(attempts(&log).len(), 4);
        assert_eq!(
            state_changes(&log),
            [
                (Idle, Connecting),
                (Connecting, TransientFailure),
                (TransientFailure, Ready)
            ]
        );
        server.abort();
    });
}
