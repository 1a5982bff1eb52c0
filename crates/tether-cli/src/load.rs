//! `tether load TARGET METHOD`: a load generator on [`tether::Channel`].
//!
//! Closed loop (`--concurrency N`, the default with N = 1): N workers, each
//! starting its next call when the previous one ends. Open loop
//! (`--rate N`): N calls started per second at even intervals whatever the
//! completions; a call started more than max(2 ms, one interval) after its
//! slot counts as *late*. The run lasts `--duration` (default 10 s) or
//! `--calls` calls; calls in flight at the end are waited for.
//!
//! Requests are raw protobuf bytes sent as they are with
//! [`tether::BytesCodec`] (`--data-bytes HEX`, `--data-file FILE`, or
//! `--payload N`: a `grpc.testing.SimpleRequest` with N zero bytes of
//! payload); the default is the empty message.
//!
//! The report: latency percentiles and an ASCII histogram (every call's
//! latency, OK or not, from its start to its end), counts by status code,
//! counts by backend (the `x-backend` response header when the server
//! sends one, else `unknown`: the subchannel of one call is not visible),
//! calls per second. `--json` prints one JSON object instead.
//!
//! Exit status: 0 when the run completed, whatever the calls' statuses
//! (read them in the report); 1 when the channel could not connect; 2 for
//! a bad flag or value; 3 for a bad target, TLS or service config; 4 for a
//! bad method name.

use bytes::Bytes;
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tether::service_config::LbConfig;
use tether::{BytesCodec, Channel, Code, ConnectivityState, Request, TlsConfig};

/// Exit status: the channel could not connect (as `tether call`).
pub const EXIT_CONNECT: u8 = 2;
/// Exit status: a bad flag or value (every subcommand uses 1 for bad input).
pub const EXIT_USAGE: u8 = 1;
/// Exit status: a bad target, TLS setting or service config.
pub const EXIT_TARGET: u8 = 1;
/// Exit status: a bad method name.
pub const EXIT_METHOD: u8 = 1;

/// The response header naming the backend that served a call.
const BACKEND_HEADER: &str = "x-backend";

/// `tether load`: the flags.
#[derive(clap::Args, Debug, Clone)]
#[command(
    about = "Load-test a unary method: open loop (--rate) or closed loop (--concurrency)",
    after_help = "Exit status: 0 the run completed (whatever the calls' statuses), 1 could not connect, \
2 bad flag or value, 3 bad target / TLS / service config, 4 bad method.\n\
--payload N builds a grpc.testing.SimpleRequest with N zero bytes of payload, for \
/grpc.testing.TestService/UnaryCall or grpc.testing.BenchmarkService/UnaryCall."
)]
pub struct LoadArgs {
    /// Where to connect: anything `Channel::builder` accepts
    /// (dns:host:port, dns://authority/host:port, ipv4:a:p,b:p, unix:path, http(s)://host:port).
    pub target: String,
    /// The method: /pkg.Service/Method or pkg.Service/Method.
    pub method: String,
    /// Open loop: start this many calls per second, at even intervals.
    #[arg(long, value_name = "N", conflicts_with = "concurrency")]
    pub rate: Option<f64>,
    /// Closed loop: N workers, each starting a call when its previous one ends (default 1).
    #[arg(long, short = 'c', value_name = "N")]
    pub concurrency: Option<usize>,
    /// How long to start calls (10s, 500ms, 2m) (default 10s unless --calls).
    #[arg(long, short = 'd', value_name = "D", value_parser = parse_duration, conflicts_with = "calls")]
    pub duration: Option<Duration>,
    /// Make exactly this many calls.
    #[arg(long, short = 'n', value_name = "N")]
    pub calls: Option<u64>,
    /// Each call's deadline.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "20s")]
    pub deadline: Duration,
    /// How long to wait for the channel to connect before the run.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "10s")]
    pub connect_timeout: Duration,
    /// Load-balancing policy (a --service-config with one takes precedence).
    #[arg(long, value_enum)]
    pub lb: Option<Lb>,
    /// Default service config, gRPC service config JSON.
    #[arg(long, value_name = "JSON")]
    pub service_config: Option<String>,
    /// Use TLS (implied by https:// targets), verifying against the Mozilla roots.
    #[arg(long)]
    pub tls: bool,
    /// Trust exactly the certificates in this PEM file (implies --tls).
    #[arg(long, value_name = "FILE")]
    pub tls_ca_cert: Option<PathBuf>,
    /// The name to verify the server's certificate against (implies --tls).
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// Connections per subchannel (more when the server's MAX_CONCURRENT_STREAMS is reached).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// The request: serialized protobuf bytes, in hex.
    #[arg(long, value_name = "HEX", conflicts_with_all = ["data_file", "payload"])]
    pub data_bytes: Option<String>,
    /// The request: a file of serialized protobuf bytes.
    #[arg(long, value_name = "FILE", conflicts_with = "payload")]
    pub data_file: Option<PathBuf>,
    /// The request: a grpc.testing.SimpleRequest with N zero bytes of payload.
    #[arg(long, value_name = "N")]
    pub payload: Option<usize>,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
}

/// `--lb`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lb {
    /// One connection, to the first address that works.
    #[value(name = "pick_first")]
    PickFirst,
    /// A connection to every address, calls in turn.
    #[value(name = "round_robin")]
    RoundRobin,
    /// A connection to every address, each call to the less loaded of two
    /// drawn at random, by peak EWMA latency (avoids slow backends).
    #[value(name = "peak_ewma")]
    PeakEwma,
}

/// A duration: `10s`, `500ms`, `250us`, `2m`, `1h`, `1.5s`, or a bare
/// number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (10s, 500ms, 2m)"))?;
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (ns, us, ms, s, m, h)"
            ))
        }
    };
    Duration::try_from_secs_f64(n * scale).map_err(|e| format!("{s:?}: {e}"))
}

/// `/pkg.Service/Method` from `/pkg.Service/Method` or `pkg.Service/Method`.
pub fn method_path(m: &str) -> Result<String, String> {
    let bare = m.strip_prefix('/').unwrap_or(m);
    let ok = match bare.split_once('/') {
        Some((svc, meth)) => {
            !svc.is_empty()
                && !meth.is_empty()
                && !meth.contains('/')
                && bare
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
        }
        None => false,
    };
    if ok {
        Ok(format!("/{bare}"))
    } else {
        Err(format!(
            "bad method {m:?}: expected /package.Service/Method"
        ))
    }
}

/// Hex to bytes (whitespace and a `0x` prefix allowed).
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let clean = clean.strip_prefix("0x").unwrap_or(&clean);
    if clean.len() % 2 != 0 {
        return Err("--data-bytes: an odd number of hex digits".to_owned());
    }
    (0..clean.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&clean[i..i + 2], 16)
                .map_err(|_| format!("--data-bytes: {:?} is not hex", &clean[i..i + 2]))
        })
        .collect()
}

fn varint(mut n: usize, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A serialized `grpc.testing.SimpleRequest { payload { body: [0; n] } }`
/// (field 3 `payload`, and in it field 2 `body`).
pub fn simple_request(n: usize) -> Vec<u8> {
    let mut payload = vec![0x12];
    varint(n, &mut payload);
    payload.resize(payload.len() + n, 0);
    let mut m = vec![0x1a];
    varint(payload.len(), &mut m);
    m.extend_from_slice(&payload);
    m
}

/// What a run counted.
struct Shard {
    latency_us: Histogram<u64>,
    status: [u64; 17],
    backends: HashMap<String, u64>,
}

impl Shard {
    fn new() -> Shard {
        Shard {
            // 1 µs .. 1 h, 3 significant digits.
            latency_us: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!())),
            status: [0; 17],
            backends: HashMap::new(),
        }
    }

    fn record(&mut self, latency: Duration, code: Code, backend: Option<&str>) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.latency_us.saturating_record(us);
        self.status[code.as_i32() as usize] += 1;
        let b = backend.unwrap_or("unknown");
        match self.backends.get_mut(b) {
            Some(n) => *n += 1,
            None => {
                self.backends.insert(b.to_owned(), 1);
            }
        }
    }

    fn merge(&mut self, other: &Shard) {
        let _ = self.latency_us.add(&other.latency_us);
        for (a, b) in self.status.iter_mut().zip(other.status) {
            *a += b;
        }
        for (k, v) in &other.backends {
            *self.backends.entry(k.clone()).or_default() += v;
        }
    }
}

/// The shared state of a run.
struct Run {
    channel: Channel,
    path: String,
    body: Bytes,
    deadline: Duration,
    shards: Vec<Mutex<Shard>>,
    started: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Run {
    async fn call(&self, shard: usize) {
        let mut req = Request::new(self.body.clone());
        req.set_timeout(self.deadline);
        let t0 = Instant::now();
        let result = self.channel.unary(&self.path, req, BytesCodec).await;
        let elapsed = t0.elapsed();
        let mut s = lock(&self.shards[shard]);
        match &result {
            Ok(r) => s.record(elapsed, Code::Ok, r.metadata().get(BACKEND_HEADER)),
            Err(st) => s.record(elapsed, st.code(), st.metadata().get(BACKEND_HEADER)),
        }
    }

    fn snapshot(&self) -> Shard {
        let mut all = Shard::new();
        for s in &self.shards {
            all.merge(&lock(s));
        }
        all
    }
}

/// When the run stops starting calls.
#[derive(Clone, Copy)]
enum Stop {
    At(Instant),
    Calls(u64),
}

/// Runs `tether load`.
pub async fn run(args: &LoadArgs) -> ExitCode {
    match run_inner(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("tether load: {msg}");
            ExitCode::from(code)
        }
    }
}

type Fail = (u8, String);

fn body(args: &LoadArgs) -> Result<Bytes, Fail> {
    let usage = |m: String| (EXIT_USAGE, m);
    Ok(Bytes::from(if let Some(hex) = &args.data_bytes {
        parse_hex(hex).map_err(usage)?
    } else if let Some(f) = &args.data_file {
        std::fs::read(f).map_err(|e| usage(format!("--data-file {}: {e}", f.display())))?
    } else if let Some(n) = args.payload {
        simple_request(n)
    } else {
        Vec::new()
    }))
}

async fn channel(args: &LoadArgs) -> Result<Channel, Fail> {
    let target = |m: String| (EXIT_TARGET, m);
    let mut b = Channel::builder(&args.target)
        .map_err(|e| target(format!("bad target {:?}: {}", args.target, e.message())))?;
    if args.tls || args.tls_ca_cert.is_some() || args.tls_server_name.is_some() {
        let mut tls = TlsConfig::new();
        if let Some(f) = &args.tls_ca_cert {
            let pem = std::fs::read(f)
                .map_err(|e| target(format!("--tls-ca-cert {}: {e}", f.display())))?;
            tls = tls
                .ca_pem(&pem)
                .map_err(|e| target(format!("--tls-ca-cert {}: {}", f.display(), e.message())))?;
        }
        if let Some(n) = &args.tls_server_name {
            tls = tls.server_name(n);
        }
        b = b.tls(tls);
    }
    if let Some(json) = &args.service_config {
        b = b
            .default_service_config(json)
            .map_err(|e| target(format!("--service-config: {}", e.message())))?;
    }
    match args.lb {
        Some(Lb::PickFirst) => {
            b = b.load_balancing(LbConfig::PickFirst {
                shuffle_address_list: false,
            })
        }
        Some(Lb::RoundRobin) => b = b.load_balancing(LbConfig::RoundRobin),
        Some(Lb::PeakEwma) => {
            b = b.load_balancing(LbConfig::PeakEwma {
                decay: Duration::from_secs(10),
            })
        }
        None => {}
    }
    if let Some(n) = args.max_connections {
        if n == 0 {
            return Err((EXIT_USAGE, "--max-connections must be at least 1".into()));
        }
        b = b.max_connections_per_subchannel(n);
    }
    let channel = match tokio::time::timeout(args.connect_timeout, b.connect()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            return Err((
                EXIT_CONNECT,
                format!("cannot connect to {}: {e}", args.target),
            ))
        }
        Err(_) => {
            return Err((
                EXIT_CONNECT,
                format!(
                    "cannot connect to {} within {:?}",
                    args.target, args.connect_timeout
                ),
            ))
        }
    };
    // round_robin: give the other addresses a moment (at most 1 s) to
    // connect too, so that the first calls are spread like the rest.
    let until = Instant::now() + Duration::from_secs(1).min(args.connect_timeout);
    while Instant::now() < until {
        let subs = channel.subchannels();
        if subs.iter().all(|s| {
            matches!(
                s.state,
                ConnectivityState::Ready | ConnectivityState::TransientFailure
            )
        }) || !matches!(args.lb, Some(Lb::RoundRobin | Lb::PeakEwma))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(channel)
}

async fn run_inner(args: &LoadArgs) -> Result<(), Fail> {
    let path = method_path(&args.method).map_err(|m| (EXIT_METHOD, m))?;
    let body = body(args)?;
    if let Some(r) = args.rate {
        if !(r.is_finite() && r > 0.0) {
            return Err((EXIT_USAGE, "--rate must be a positive number".into()));
        }
    }
    if args.concurrency == Some(0) {
        return Err((EXIT_USAGE, "--concurrency must be at least 1".into()));
    }
    if args.duration == Some(Duration::ZERO) || args.calls == Some(0) {
        return Err((
            EXIT_USAGE,
            "--duration and --calls must be more than 0".into(),
        ));
    }
    let channel = channel(args).await?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = args.concurrency.unwrap_or(1);
    let nshards = if args.rate.is_some() {
        threads * 2
    } else {
        workers.min(threads * 2)
    };
    let run = Arc::new(Run {
        channel,
        path: path.clone(),
        body,
        deadline: args.deadline,
        shards: (0..nshards).map(|_| Mutex::new(Shard::new())).collect(),
        started: AtomicU64::new(0),
    });
    let start = Instant::now();
    let stop = match (args.calls, args.duration) {
        (Some(n), _) => Stop::Calls(n),
        (None, d) => Stop::At(start + d.unwrap_or(Duration::from_secs(10))),
    };
    let progress = progress(args, &run, start, stop);
    let late = match args.rate {
        Some(rate) => open_loop(&run, rate, start, stop).await,
        None => {
            closed_loop(&run, workers, stop).await;
            0
        }
    };
    let elapsed = start.elapsed();
    if let Some((bar, task)) = progress {
        task.abort();
        bar.finish_and_clear();
    }
    let total = run.snapshot();
    let mode = match args.rate {
        Some(r) => format!("open loop, {r} calls/s"),
        None => format!("closed loop, concurrency {workers}"),
    };
    if args.json {
        println!("{}", json_report(&total, elapsed, late));
    } else {
        print!(
            "{}",
            text_report(&args.target, &path, &mode, &total, elapsed, late)
        );
    }
    run.channel.close();
    Ok(())
}

/// N workers, each calling until `stop`.
async fn closed_loop(run: &Arc<Run>, workers: usize, stop: Stop) {
    let nshards = run.shards.len();
    let mut set = tokio::task::JoinSet::new();
    for w in 0..workers {
        let run = run.clone();
        set.spawn(async move {
            loop {
                let go = match stop {
                    Stop::At(t) => Instant::now() < t,
                    Stop::Calls(n) => run.started.fetch_add(1, Ordering::Relaxed) < n,
                };
                if !go {
                    break;
                }
                run.call(w % nshards).await;
            }
        });
    }
    while set.join_next().await.is_some() {}
}

/// Calls started at `rate` per second until `stop`; returns how many
/// started late (more than max(2 ms, one interval) after their slot).
async fn open_loop(run: &Arc<Run>, rate: f64, start: Instant, stop: Stop) -> u64 {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let tolerance = interval.max(Duration::from_millis(2));
    let nshards = run.shards.len();
    let mut set = tokio::task::JoinSet::new();
    let mut late = 0;
    let mut i: u64 = 0;
    loop {
        let slot = start + interval.mul_f64(i as f64);
        let go = match stop {
            Stop::At(t) => slot < t,
            Stop::Calls(n) => i < n,
        };
        if !go {
            break;
        }
        tokio::time::sleep_until(slot.into()).await;
        if Instant::now().saturating_duration_since(slot) > tolerance {
            late += 1;
        }
        let r = run.clone();
        let shard = i as usize % nshards;
        set.spawn(async move { r.call(shard).await });
        run.started.fetch_add(1, Ordering::Relaxed);
        while set.try_join_next().is_some() {}
        i += 1;
    }
    while set.join_next().await.is_some() {}
    late
}

/// The live progress line on a terminal (stderr), refreshed 5 times a second.
fn progress(
    args: &LoadArgs,
    run: &Arc<Run>,
    start: Instant,
    stop: Stop,
) -> Option<(indicatif::ProgressBar, tokio::task::JoinHandle<()>)> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let (len, style) = match stop {
        Stop::At(t) => (
            (t - start).as_millis() as u64,
            "{spinner} [{bar:20}] {elapsed:>4} {msg}",
        ),
        Stop::Calls(n) => (n, "{spinner} [{bar:20}] {pos}/{len} {msg}"),
    };
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(s) = indicatif::ProgressStyle::with_template(style) {
        bar.set_style(s.progress_chars("=> "));
    }
    let _ = args;
    let (b, r) = (bar.clone(), run.clone());
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tick.tick().await;
            let s = r.snapshot();
            let done = s.latency_us.len();
            let errors = done - s.status[0];
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            b.set_position(match stop {
                Stop::At(_) => start.elapsed().as_millis() as u64,
                Stop::Calls(_) => done,
            });
            b.set_message(format!(
                "{done} calls  {:.0}/s  errors {errors}  p50 {}  p99 {}",
                done as f64 / secs,
                us(s.latency_us.value_at_quantile(0.5)),
                us(s.latency_us.value_at_quantile(0.99)),
            ));
        }
    });
    Some((bar, task))
}

/// A latency in µs, readably.
fn us(v: u64) -> String {
    if v >= 1_000_000 {
        format!("{:.2}s", v as f64 / 1e6)
    } else if v >= 1_000 {
        format!("{:.2}ms", v as f64 / 1e3)
    } else {
        format!("{v}µs")
    }
}

fn status_counts(s: &Shard) -> BTreeMap<&'static str, u64> {
    s.status
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(c, &n)| (Code::from_i32(c as i32).name(), n))
        .collect()
}

/// The `--json` report.
fn json_report(s: &Shard, elapsed: Duration, late: u64) -> serde_json::Value {
    let h = &s.latency_us;
    let calls = h.len();
    let secs = elapsed.as_secs_f64();
    let backends: BTreeMap<&str, u64> = s.backends.iter().map(|(k, &v)| (k.as_str(), v)).collect();
    serde_json::json!({
        "calls": calls,
        "ok": s.status[0],
        "errors": calls - s.status[0],
        "late": late,
        "duration_s": secs,
        "rps": if secs > 0.0 { calls as f64 / secs } else { 0.0 },
        "latency_us": {
            "p50": h.value_at_quantile(0.5),
            "p90": h.value_at_quantile(0.9),
            "p99": h.value_at_quantile(0.99),
            "p999": h.value_at_quantile(0.999),
            "max": h.max(),
            "mean": h.mean(),
        },
        "status": status_counts(s),
        "backends": backends,
    })
}

/// The text report.
fn text_report(
    target: &str,
    path: &str,
    mode: &str,
    s: &Shard,
    elapsed: Duration,
    late: u64,
) -> String {
    use std::fmt::Write;
    let h = &s.latency_us;
    let calls = h.len();
    let secs = elapsed.as_secs_f64();
    let mut o = String::new();
    let _ = writeln!(o, "{path} on {target} ({mode})");
    let _ = writeln!(
        o,
        "calls: {calls} in {secs:.3} s, {:.1} calls/s; ok {}, errors {}",
        if secs > 0.0 { calls as f64 / secs } else { 0.0 },
        s.status[0],
        calls - s.status[0]
    );
    if late > 0 {
        let _ = writeln!(o, "late starts (open loop could not keep the rate): {late}");
    }
    if calls > 0 {
        let _ = writeln!(
            o,
            "\nlatency: p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {}",
            us(h.value_at_quantile(0.5)),
            us(h.value_at_quantile(0.9)),
            us(h.value_at_quantile(0.99)),
            us(h.value_at_quantile(0.999)),
            us(h.max()),
            us(h.mean().round() as u64),
        );
        o.push_str(&ascii_histogram(h));
    }
    let _ = writeln!(o, "\nstatus codes:");
    for (name, n) in status_counts(s) {
        let _ = writeln!(o, "  {name:<20} {n}");
    }
    let _ = writeln!(o, "\nbackends ({BACKEND_HEADER} response header):");
    let mut b: Vec<_> = s.backends.iter().collect();
    b.sort();
    for (name, n) in b {
        let _ = writeln!(o, "  {name:<20} {n}");
    }
    o
}

/// Ten log-spaced buckets from the fastest to the slowest call.
fn ascii_histogram(h: &Histogram<u64>) -> String {
    use std::fmt::Write;
    let (lo, hi) = (h.min().max(1), h.max().max(1));
    let buckets: i32 = 10;
    let ratio = (hi as f64 / lo as f64).powf(1.0 / f64::from(buckets));
    let mut edges = vec![lo];
    for i in 1..buckets {
        let e = (lo as f64 * ratio.powi(i)).round() as u64;
        if e > *edges.last().unwrap_or(&0) && e < hi {
            edges.push(e);
        }
    }
    let mut rows = Vec::new();
    for (i, &from) in edges.iter().enumerate() {
        let to = edges.get(i + 1).copied();
        let n = match to {
            Some(t) => h.count_between(from, t.saturating_sub(1)),
            None => h.count_between(from, hi),
        };
        rows.push((from, to.map_or(hi, |t| t.saturating_sub(1)), n));
    }
    let top = rows.iter().map(|r| r.2).max().unwrap_or(1).max(1);
    let mut o = String::new();
    for (from, to, n) in rows {
        let bar = "#".repeat(((n * 40).div_ceil(top)) as usize);
        let _ = writeln!(o, "  {:>9} .. {:<9} {:>9} |{bar}", us(from), us(to), n);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1ms"), Ok(Duration::from_millis(1)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("1 fortnight").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn methods() {
        assert_eq!(method_path("a.B/C").as_deref(), Ok("/a.B/C"));
        assert_eq!(method_path("/a.B/C").as_deref(), Ok("/a.B/C"));
        assert!(method_path("a.B").is_err());
        assert!(method_path("/a.B/").is_err());
        assert!(method_path("a/b/c").is_err());
        assert!(method_path("a b/c").is_err());
    }

    #[test]
    fn hex_and_payload() {
        assert_eq!(parse_hex("0a 01ff"), Ok(vec![0x0a, 0x01, 0xff]));
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
        assert_eq!(simple_request(0), vec![0x1a, 0x02, 0x12, 0x00]);
        assert_eq!(simple_request(2), vec![0x1a, 0x04, 0x12, 0x02, 0, 0]);
        assert_eq!(simple_request(200).len(), 2 + 3 + 200 + 1);
    }

    #[test]
    fn histogram_rows_count_every_call() {
        let mut s = Shard::new();
        for v in [10u64, 20, 30, 500, 900, 15_000] {
            s.record(Duration::from_micros(v), Code::Ok, None);
        }
        let text = ascii_histogram(&s.latency_us);
        let total: u64 = text
            .lines()
            .map(|l| {
                l.split('|')
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .last()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            })
            .sum();
        assert_eq!(total, 6, "{text}");
    }
}
