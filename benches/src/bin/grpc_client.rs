//! tether's benchmark client, the counterpart of grpc-go's
//! `benchmark/client` (run side by side by `benches/grpc-vs-go.sh`).
//!
//! ```text
//! grpc_client --port P [--mode unary|stream|unconstrained|idle|tcp]
//!             [--conc C] [--calls N] [--warmup W] [--req B] [--resp B]
//!             [--runtime current|multi] [--conns N]
//!             [--target T] [--lb pick_first|round_robin] [--retry on]
//! ```
//!
//! The channel's target is `http://127.0.0.1:P` unless `--target` names one
//! (e.g. `ipv4:127.0.0.1:P,127.0.0.2:P,127.0.0.3:P`); `--lb round_robin`
//! spreads the calls over all its addresses, and the measured calls start
//! only once every subchannel is READY. `--retry on` gives the channel a
//! service config with a retry policy and throttling (never used: the
//! server does not fail), to measure what configuring retries costs.
//!
//! Modes:
//! - `unary`: N `BenchmarkService/UnaryCall`s, C in flight on one channel;
//! - `stream`: C `StreamingCall`s (bidi ping-pong), N round trips in all;
//! - `unconstrained`: one `UnconstrainedStreamingCall`, N responses of
//!   `--resp` bytes read as fast as the server sends them;
//! - `unconstrained_raw`: the same with `BytesCodec` (responses not decoded);
//! - `idle`: `--conns` channels connected (READY) and left idle: live heap
//!   per connection;
//! - `tcp`: no gRPC: a raw loopback TCP copy of N 1 MiB buffers (one thread
//!   writes, one reads), the ceiling for `unconstrained`.
//!
//! After W warm-up calls, it measures N calls and prints one line of
//! `key=value`: calls/s, median latency, CPU per call (user + system time
//! of the whole process from `/proc/self/stat`, in clock ticks of 10 ms:
//! `sysconf(_SC_CLK_TCK)` is 100 on Linux), heap allocations and bytes
//! allocated per call (a counting global allocator), MiB/s for streams.
#![allow(unsafe_code)] // a global allocator is unsafe by definition; bench tooling only

use bytes::Bytes;
use prost::Message;
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tether::service_config::LbConfig;
use tether::{BytesCodec, Channel, ConnectivityState, Request, Streaming};
use tether_benches::grpc::pb::{BenchmarkServiceClient, SimpleRequest, SimpleResponse};
use tether_benches::grpc::{feed, simple_request, unary_calls};
use tokio::sync::mpsc::Sender;

const UNCONSTRAINED_PATH: &str = "/grpc.testing.BenchmarkService/UnconstrainedStreamingCall";
use tokio::task::JoinHandle;

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards to the system allocator unchanged, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(l.size() as u64, Relaxed);
        LIVE.fetch_add(l.size() as i64, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as i64, Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(n as u64, Relaxed);
        LIVE.fetch_add(n as i64 - l.size() as i64, Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Debug, Clone)]
struct Args {
    port: u16,
    mode: String,
    conc: usize,
    calls: usize,
    warmup: usize,
    req: usize,
    resp: usize,
    multi: bool,
    conns: usize,
    target: Option<String>,
    round_robin: bool,
    retry: bool,
}

fn args() -> Args {
    let mut a = Args {
        port: 50051,
        mode: "unary".into(),
        conc: 1,
        calls: 10_000,
        warmup: 1_000,
        req: 1,
        resp: 1,
        multi: false,
        conns: 100,
        target: None,
        round_robin: false,
        retry: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let (k, v) = (
            pair[0].as_str(),
            pair.get(1).map(String::as_str).unwrap_or(""),
        );
        let n = || {
            v.parse::<usize>()
                .unwrap_or_else(|_| panic!("{k}: not a number: {v:?}"))
        };
        match k {
            "--port" => a.port = n() as u16,
            "--mode" => a.mode = v.into(),
            "--conc" => a.conc = n(),
            "--calls" => a.calls = n(),
            "--warmup" => a.warmup = n(),
            "--req" => a.req = n(),
            "--resp" => a.resp = n(),
            "--runtime" => a.multi = v == "multi",
            "--conns" => a.conns = n(),
            "--target" => a.target = Some(v.into()),
            "--retry" => a.retry = v == "on",
            "--lb" => {
                a.round_robin = match v {
                    "round_robin" => true,
                    "pick_first" => false,
                    _ => panic!("--lb: pick_first or round_robin, not {v:?}"),
                }
            }
            _ => panic!("unknown argument {k} (see the file's docs)"),
        }
    }
    a
}

/// utime + stime of this process in clock ticks (10 ms each).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state): utime is field 14, stime field 15.
    let get = |i: usize| {
        f.get(i - 3)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(14) + get(15)
}

/// Counters around a measured phase.
struct Mark {
    t: Instant,
    cpu: u64,
    allocs: u64,
    bytes: u64,
}

impl Mark {
    fn now() -> Mark {
        Mark {
            t: Instant::now(),
            cpu: cpu_ticks(),
            allocs: ALLOCS.load(Relaxed),
            bytes: BYTES.load(Relaxed),
        }
    }

    fn report(&self, a: &Args, n: usize, mut lat: Vec<u64>, extra: &str) {
        let secs = self.t.elapsed().as_secs_f64();
        let cpu_s = (cpu_ticks() - self.cpu) as f64 / 100.0;
        let allocs = (ALLOCS.load(Relaxed) - self.allocs) as f64 / n as f64;
        let bytes = (BYTES.load(Relaxed) - self.bytes) as f64 / n as f64;
        lat.sort_unstable();
        let p50 = lat.get(lat.len() / 2).copied().unwrap_or(0) as f64 / 1e3;
        let p99 = lat.get(lat.len() * 99 / 100).copied().unwrap_or(0) as f64 / 1e3;
        println!(
            "client=tether mode={} runtime={} conc={} req={} resp={} calls={n} secs={secs:.3} \
             calls_per_s={:.0} p50_us={p50:.1} p99_us={p99:.1} cpu_s={cpu_s:.2} \
             cpu_us_per_call={:.2} allocs_per_call={allocs:.2} bytes_per_call={bytes:.0}{extra}",
            a.mode,
            if a.multi { "multi" } else { "current" },
            a.conc,
            a.req,
            a.resp,
            n as f64 / secs,
            cpu_s * 1e6 / n as f64,
        );
    }
}

fn main() {
    let a = args();
    if a.mode == "tcp" {
        return tcp_copy(&a);
    }
    let rt = if a.multi {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let rt = rt.unwrap_or_else(|e| panic!("runtime: {e}"));
    rt.block_on(run(a));
}

async fn channel(a: &Args) -> Channel {
    let target = a
        .target
        .clone()
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", a.port));
    let mut builder = Channel::builder(&target)
        .unwrap_or_else(|s| panic!("target: {s:?}"))
        .max_recv_message_size(a.resp + 1024);
    if a.round_robin {
        builder = builder.load_balancing(LbConfig::RoundRobin);
    }
    if a.retry {
        builder = builder
            .default_service_config(tether_benches::grpc::RETRY_CONFIG)
            .unwrap_or_else(|s| panic!("service config: {s:?}"));
    }
    let channel = builder
        .connect()
        .await
        .unwrap_or_else(|s| panic!("connect: {s:?}"));
    // `connect` returns at the first READY subchannel: wait for all of them.
    let t0 = Instant::now();
    loop {
        let subs = channel.subchannels();
        if subs.iter().all(|s| s.state == ConnectivityState::Ready) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "subchannels not all READY: {:?}",
            subs.iter().map(|s| s.state).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    channel
}

async fn run(a: Args) {
    match a.mode.as_str() {
        "unary" => {
            let channel = channel(&a).await;
            let subchannels = channel.subchannels().len();
            let client = BenchmarkServiceClient::new(channel);
            let request = simple_request(a.req, a.resp);
            unary_calls(&client, &request, a.warmup, a.conc, false).await;
            let m = Mark::now();
            let lat = unary_calls(&client, &request, a.calls, a.conc, true).await;
            m.report(&a, a.calls, lat, &format!(" subchannels={subchannels}"));
        }
        "stream" => ping_pong(&a).await,
        "unconstrained" => unconstrained(&a).await,
        "unconstrained_raw" => unconstrained_raw(&a).await,
        "idle" => idle(&a).await,
        m => panic!("unknown mode {m}"),
    }
}

/// C bidi `StreamingCall`s on one channel, each doing its share of N round trips.
async fn ping_pong(a: &Args) {
    let client = BenchmarkServiceClient::new(channel(a).await);
    let request = simple_request(a.req, a.resp);
    let mut calls = Vec::new();
    for _ in 0..a.conc.max(1) {
        let (tx, stream) = feed(1);
        let mut rx = client
            .streaming_call(Request::new(stream))
            .await
            .unwrap_or_else(|s| panic!("StreamingCall: {s:?}"));
        let queued = tx.send(request.clone()).await;
        assert!(queued.is_ok());
        match rx.message().await {
            Ok(Some(_)) => {}
            other => panic!("StreamingCall: {other:?}"),
        }
        calls.push((tx, rx));
    }
    let mut back = Vec::new();
    for t in round(calls, &request, a.warmup, false) {
        let (tx, rx, _) = t.await.unwrap_or_else(|e| panic!("task: {e}"));
        back.push((tx, rx));
    }
    let m = Mark::now();
    let mut lat = Vec::with_capacity(a.calls);
    for t in round(back, &request, a.calls, true) {
        let (_, _, l) = t.await.unwrap_or_else(|e| panic!("task: {e}"));
        lat.extend(l);
    }
    let secs = m.t.elapsed().as_secs_f64();
    let mib = (a.calls * a.resp) as f64 / secs / 1048576.0;
    m.report(a, a.calls, lat, &format!(" MiB_per_s={mib:.1}"));
}

type Pair = (Sender<SimpleRequest>, Streaming<SimpleResponse>);
/// A call handed back after a round, with its latencies (ns).
type Done = (Sender<SimpleRequest>, Streaming<SimpleResponse>, Vec<u64>);

/// One task per call, each doing its share of `n` round trips; each gives
/// its call back with the latencies (ns) when `lat` is set.
fn round(calls: Vec<Pair>, request: &SimpleRequest, n: usize, lat: bool) -> Vec<JoinHandle<Done>> {
    let conc = calls.len();
    let mut tasks = Vec::new();
    for (i, (tx, mut rx)) in calls.into_iter().enumerate() {
        let request = request.clone();
        let k = n / conc + usize::from(i < n % conc);
        tasks.push(tokio::spawn(async move {
            let mut l = Vec::with_capacity(if lat { k } else { 0 });
            for _ in 0..k {
                let t = Instant::now();
                let sent = tx.send(request.clone()).await;
                assert!(sent.is_ok(), "StreamingCall: request stream closed");
                match rx.message().await {
                    Ok(Some(_)) => {}
                    other => panic!("StreamingCall: {other:?}"),
                }
                if lat {
                    l.push(t.elapsed().as_nanos() as u64);
                }
            }
            (tx, rx, l)
        }));
    }
    tasks
}

/// One `UnconstrainedStreamingCall`: the server sends `--resp`-byte
/// responses as fast as it can; read W + N of them.
async fn unconstrained(a: &Args) {
    let client = BenchmarkServiceClient::new(channel(a).await);
    let (tx, stream) = feed(1);
    let sent = tx.send(simple_request(a.req, a.resp)).await;
    assert!(sent.is_ok());
    let mut rx = client
        .unconstrained_streaming_call(Request::new(stream))
        .await
        .unwrap_or_else(|s| panic!("UnconstrainedStreamingCall: {s:?}"));
    let mut m = None;
    let mut bytes = 0usize;
    for i in 0..a.warmup + a.calls {
        if i == a.warmup {
            m = Some(Mark::now());
        }
        match rx.message().await {
            Ok(Some(r)) => {
                if i >= a.warmup {
                    bytes += r.payload.map(|p| p.body.len()).unwrap_or(0);
                }
            }
            other => panic!("UnconstrainedStreamingCall: {other:?}"),
        }
    }
    let m = m.unwrap_or_else(Mark::now);
    let mib = bytes as f64 / m.t.elapsed().as_secs_f64() / 1048576.0;
    m.report(a, a.calls, Vec::new(), &format!(" MiB_per_s={mib:.1}"));
    // Close the whole connection rather than cancel the call: grpc-go
    // 1.33.3's benchmark server treats a cancelled send as fatal.
    drop(rx);
    drop(tx);
}

/// `unconstrained` with `BytesCodec`: the responses stay undecoded bytes
/// (what the transport costs without prost copying each 1 MiB body out).
async fn unconstrained_raw(a: &Args) {
    let channel = channel(a).await;
    let (tx, stream) = feed(1);
    let body = Bytes::from(simple_request(a.req, a.resp).encode_to_vec());
    assert!(tx.send(body).await.is_ok());
    let mut rx = channel
        .streaming(UNCONSTRAINED_PATH, Request::new(stream), BytesCodec)
        .await
        .unwrap_or_else(|s| panic!("UnconstrainedStreamingCall: {s:?}"));
    let mut m = None;
    let mut bytes = 0usize;
    for i in 0..a.warmup + a.calls {
        if i == a.warmup {
            m = Some(Mark::now());
        }
        match rx.message().await {
            Ok(Some(r)) if i >= a.warmup => bytes += r.len(),
            Ok(Some(_)) => {}
            other => panic!("UnconstrainedStreamingCall: {other:?}"),
        }
    }
    let m = m.unwrap_or_else(Mark::now);
    let mib = bytes as f64 / m.t.elapsed().as_secs_f64() / 1048576.0;
    m.report(a, a.calls, Vec::new(), &format!(" MiB_per_s={mib:.1}"));
    drop(rx);
    drop(tx);
}

/// `--conns` channels, each connected (READY) and idle: live heap per channel.
async fn idle(a: &Args) {
    let mut channels = Vec::with_capacity(a.conns);
    // One channel first, so one-time set-up (runtime, TLS roots, ...) is not counted.
    let first = channel(a).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let live0 = LIVE.load(Relaxed);
    for _ in 0..a.conns {
        channels.push(channel(a).await);
    }
    // Let the SETTINGS exchange and window updates settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ready = channels
        .iter()
        .filter(|c| c.state(false) == ConnectivityState::Ready)
        .count();
    let live = LIVE.load(Relaxed) - live0;
    println!(
        "client=tether mode=idle conns={} ready={ready} live_bytes={live} live_bytes_per_conn={:.0}",
        a.conns,
        live as f64 / a.conns as f64
    );
    drop(first);
}

/// A raw loopback TCP copy: one thread writes N 1 MiB buffers, this one reads.
fn tcp_copy(a: &Args) {
    const MIB: usize = 1 << 20;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    let total = a.warmup + a.calls;
    let writer = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect: {e}"));
        let buf = vec![7u8; MIB];
        for _ in 0..total {
            s.write_all(&buf).unwrap_or_else(|e| panic!("write: {e}"));
        }
    });
    let (mut s, _) = listener.accept().unwrap_or_else(|e| panic!("accept: {e}"));
    let mut buf = vec![0u8; MIB];
    let mut read = 0usize;
    let mut m = None;
    while read < total * MIB {
        if m.is_none() && read >= a.warmup * MIB {
            m = Some(Mark::now());
        }
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => panic!("read: {e}"),
        }
    }
    let m = m.unwrap_or_else(Mark::now);
    let _ = writer.join();
    let mib = (read - a.warmup * MIB) as f64 / m.t.elapsed().as_secs_f64() / MIB as f64;
    println!("client=tcp mode=tcp mib={} MiB_per_s={mib:.1}", a.calls);
}
