//! `tether health`: a drop-in for
//! [grpc_health_probe](https://github.com/grpc-ecosystem/grpc-health-probe)
//! in a Kubernetes probe, on a [`tether::Channel`] and
//! [`tether::health::check`] / [`tether::health::watch`].
//!
//! ```text
//! tether health TARGET [--service S] [--connect-timeout 1s] [--rpc-timeout 1s]
//!               [--tls [--tls-ca-cert F] [--tls-client-cert F --tls-client-key F]
//!                      [--tls-server-name N]]
//!               [--user-agent UA] [--rpc-header 'name: value']... [--gzip] [-v]
//!               [--watch [--watch-for D]]
//! ```
//!
//! TARGET is anything [`tether::Channel::builder`] accepts (`dns:`,
//! `ipv4:`, `unix:`, `http://`, `https://`...); a bare `host:port` is
//! `http://host:port` (`https://` with `--tls`), and `:port` is
//! `localhost:port`, as `-addr=:5000` is in grpc_health_probe. `--addr
//! TARGET` says the same as the positional argument.
//!
//! # grpc_health_probe's flags
//!
//! Each flag has grpc_health_probe's name with two dashes (`--addr`,
//! `--service`, `--connect-timeout`, `--rpc-timeout`, `--tls`,
//! `--tls-ca-cert`, `--tls-client-cert`, `--tls-client-key`,
//! `--tls-server-name`, `--user-agent`, `--rpc-header`, `--gzip`, `-v`);
//! [`normalize_args`] also turns grpc_health_probe's single-dash spellings
//! (`-addr=:5000`, `-service foo`, `-tls`, `-tls=false`...) into those, so a
//! probe's `command:` line works unchanged once `grpc_health_probe` is
//! replaced by `tether health`. Durations are Go's (`1s`, `500ms`, `1m30s`,
//! `1.5s`). Not supported (exit 1, saying so): `-tls-no-verify` (tether
//! always verifies the server: give `--tls-ca-cert`), `-alts`, `-spiffe`.
//! With `--tls` and no `--tls-ca-cert`, the system's roots are trusted.
//! The user agent is `--user-agent` (default `tether-health-probe`)
//! followed by tether's own (`tether/x.y.z`).
//!
//! # Exit codes and output (grpc_health_probe's)
//!
//! | exit | when | prints |
//! |---|---|---|
//! | 0 | the service is SERVING | `status: SERVING` (stdout) |
//! | 1 | invalid command-line arguments (or TLS files) | `error: ...` (stderr, one line) |
//! | 2 | no connection within `--connect-timeout` | `timeout: failed to connect service "T" within 1s: <last error>` (stderr) |
//! | 3 | the Check call failed | `error: health rpc failed: NOT_FOUND: unknown service`, `timeout: health rpc did not complete within 1s`, `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ...` (stderr) |
//! | 4 | any status but SERVING | `service unhealthy (responded with "NOT_SERVING")` (stdout) |
//!
//! The probe first connects the channel (waiting for READY until
//! `--connect-timeout`, as grpc-go's blocking dial does: a refused
//! connection is retried until then), then makes one Check with
//! `--rpc-timeout`, so a connection failure (2) is told from an RPC
//! failure (3). `-v` / `--verbose` prints the steps, the times they took and
//! every channel event on stderr.
//!
//! # `--watch`
//!
//! Follows the service with `grpc.health.v1.Health/Watch`
//! ([`tether::health::watch`]) and prints each change on stdout as an RFC
//! 3339 UTC timestamp (milliseconds) and the status:
//!
//! ```text
//! 2025-12-03T07:20:01.123Z status: SERVING
//! 2025-12-03T07:20:03.480Z status: NOT_SERVING
//! 2025-12-03T07:20:04.002Z status: UNKNOWN
//! 2025-12-03T07:20:05.311Z status: SERVING
//! ```
//!
//! It survives the server going away: UNKNOWN once while there is no
//! answer, then the status of the server that comes back (reconnecting
//! with a backoff of 250 ms growing 1.6 times up to 5 s). It runs until
//! SIGINT (Ctrl-C) or SIGTERM, or until `--watch-for DURATION` has passed
//! (or stdout is closed, noticed at the next change), and then exits 0; invalid arguments are still
//! exit 1. `--connect-timeout` bounds each connection attempt;
//! `--rpc-timeout` does not apply (a Watch has no deadline).

use clap::error::ErrorKind;
use clap::Parser;
use std::future::poll_fn;
use std::io::Write;
use std::path::PathBuf;
use std::pin::pin;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tether::backoff::BackoffConfig;
use tether::futures_core::Stream;
use tether::health::{self, ServingStatus};
use tether::{
    Channel, Code, ConnectivityState, Encoding, InterceptFuture, Interceptor, Metadata, Status,
    TlsConfig,
};

/// The exit code for SERVING.
pub const EXIT_SERVING: u8 = 0;
/// The exit code for invalid command-line arguments.
pub const EXIT_INVALID_ARGUMENTS: u8 = 1;
/// The exit code when no connection was made within `--connect-timeout`.
pub const EXIT_CONNECTION_FAILURE: u8 = 2;
/// The exit code when the Check call failed.
pub const EXIT_RPC_FAILURE: u8 = 3;
/// The exit code for a status other than SERVING.
pub const EXIT_UNHEALTHY: u8 = 4;

/// The command line of `tether health` (after [`normalize_args`]).
#[derive(Parser, Debug)]
#[command(
    name = "tether health",
    about = "Checks a gRPC server's health (grpc.health.v1) like grpc_health_probe: \
             exit 0 SERVING, 1 bad arguments, 2 no connection, 3 the RPC failed, 4 not SERVING",
    disable_version_flag = true
)]
pub struct HealthArgs {
    /// The server: host:port (http://host:port; https:// with --tls), :port
    /// (localhost), or any tether target (dns:, ipv4:, unix:, http://, https://).
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,
    /// The same as TARGET (grpc_health_probe's -addr).
    #[arg(long, value_name = "TARGET")]
    pub addr: Option<String>,
    /// The service to check ("": the server as a whole).
    #[arg(long, default_value = "", value_name = "NAME")]
    pub service: String,
    /// How long to wait for a connection (Go duration: 1s, 500ms, 1m30s).
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    pub connect_timeout: Duration,
    /// The deadline of the Check call.
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    pub rpc_timeout: Duration,
    /// Use TLS (implied by an https:// target).
    #[arg(long)]
    pub tls: bool,
    /// (with --tls) trust the certificates in this PEM file (default: the system's roots).
    #[arg(long, value_name = "FILE")]
    pub tls_ca_cert: Option<PathBuf>,
    /// (with --tls) a client certificate chain (PEM) for mTLS; needs --tls-client-key.
    #[arg(long, value_name = "FILE")]
    pub tls_client_cert: Option<PathBuf>,
    /// (with --tls) the client certificate's private key (PEM); needs --tls-client-cert.
    #[arg(long, value_name = "FILE")]
    pub tls_client_key: Option<PathBuf>,
    /// (with --tls) verify the server's certificate for this name (and send it as SNI).
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// The user-agent prefix of the calls (tether's own follows it).
    #[arg(long, default_value = "tether-health-probe", value_name = "UA")]
    pub user_agent: String,
    /// An extra request header, 'name: value'; repeatable.
    #[arg(long = "rpc-header", value_name = "'NAME: VALUE'")]
    pub rpc_header: Vec<String>,
    /// Compress the requests with gzip.
    #[arg(long)]
    pub gzip: bool,
    /// Print the steps, their times and the channel's events on stderr.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Follow the service (Health/Watch), printing each change with a
    /// timestamp, until interrupted (exit 0).
    #[arg(long)]
    pub watch: bool,
    /// (with --watch) stop after this long (exit 0).
    #[arg(long, requires = "watch", value_parser = parse_duration, value_name = "DURATION")]
    pub watch_for: Option<Duration>,
    /// grpc_health_probe's -tls-no-verify: not supported.
    #[arg(long, hide = true)]
    pub tls_no_verify: bool,
    /// grpc_health_probe's -alts: not supported.
    #[arg(long, hide = true)]
    pub alts: bool,
    /// grpc_health_probe's -spiffe: not supported.
    #[arg(long, hide = true)]
    pub spiffe: bool,
}

/// grpc_health_probe's flags that have a long name: (name, takes a value).
const LONG_FLAGS: &[(&str, bool)] = &[
    ("addr", true),
    ("service", true),
    ("connect-timeout", true),
    ("rpc-timeout", true),
    ("tls", false),
    ("tls-no-verify", false),
    ("tls-ca-cert", true),
    ("tls-client-cert", true),
    ("tls-client-key", true),
    ("tls-server-name", true),
    ("alts", false),
    ("spiffe", false),
    ("user-agent", true),
    ("rpc-header", true),
    ("gzip", false),
    ("verbose", false),
    ("watch", false),
    ("watch-for", true),
    ("help", false),
];

/// Rewrites grpc_health_probe's single-dash long flags as clap's double-dash
/// ones: `-addr=:5000` → `--addr=:5000`, `-service foo` → `--service foo`
/// (the value is left alone), `-tls` → `--tls`; a boolean written Go's way
/// (`-tls=true`, `--gzip=false`) becomes the bare flag or nothing. Anything
/// else (`-v`, `-h`, TARGET, the values of flags, everything after `--`) is
/// kept as it is.
pub fn normalize_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            out.push(arg.clone());
            out.extend(iter.by_ref().cloned());
            break;
        }
        let body = match arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) {
            Some(b) if !b.is_empty() && !b.starts_with('-') => b,
            _ => {
                out.push(arg.clone());
                continue;
            }
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some(&(_, takes_value)) = LONG_FLAGS.iter().find(|(n, _)| *n == name) else {
            out.push(arg.clone());
            continue;
        };
        match (takes_value, value) {
            (true, Some(v)) => out.push(format!("--{name}={v}")),
            (true, None) => {
                out.push(format!("--{name}"));
                // Its value, whatever it looks like (`-rpc-header -x: y`... is
                // unusual, but `-service -` should not become a flag).
                if let Some(v) = iter.next() {
                    out.push(v.clone());
                }
            }
            (false, None) => out.push(format!("--{name}")),
            (false, Some(v)) => match v.to_ascii_lowercase().as_str() {
                "1" | "t" | "true" => out.push(format!("--{name}")),
                "0" | "f" | "false" => {}
                // Let clap say what is wrong with it.
                _ => out.push(format!("--{name}={v}")),
            },
        }
    }
    out
}

/// A Go duration (`time.ParseDuration`): a sequence of decimal numbers,
/// each with a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), like `1s`,
/// `500ms`, `1m30s`, `1.5s`; `0` alone is zero. No sign.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?} (examples: 1s, 500ms, 1m30s)");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("invalid duration {text:?}: missing unit (1s, 500ms...)"))?;
        let number = &rest[..digits];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(bad());
        }
        let n: f64 = number.parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * seconds;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// `t` as RFC 3339 in UTC with milliseconds: `2025-12-03T07:20:01.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days >= 0.
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// The channel target for `addr`: a tether target as it is; `host:port` as
/// `http://host:port` (`https://` with `tls`); `:port` as `localhost:port`.
pub fn target_url(addr: &str, tls: bool) -> String {
    const SCHEMES: &[&str] = &[
        "http://",
        "https://",
        "dns:",
        "ipv4:",
        "ipv6:",
        "unix:",
        "passthrough:",
    ];
    let lower = addr.to_ascii_lowercase();
    if SCHEMES.iter().any(|s| lower.starts_with(s)) {
        return addr.to_owned();
    }
    let scheme = if tls { "https" } else { "http" };
    if addr.starts_with(':') {
        format!("{scheme}://localhost{addr}")
    } else {
        format!("{scheme}://{addr}")
    }
}

/// One `--rpc-header 'name: value'`: the name lower-cased, both trimmed;
/// checked as gRPC metadata (a `-bin` name takes the value's bytes).
pub fn parse_rpc_header(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once(':') else {
        return Err(format!(
            "invalid --rpc-header {text:?}: expected 'name: value'"
        ));
    };
    let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
    append_header(&mut Metadata::new(), &name, &value)
        .map_err(|e| format!("invalid --rpc-header {text:?}: {e}"))?;
    Ok((name, value))
}

fn append_header(md: &mut Metadata, name: &str, value: &str) -> Result<(), tether::MetadataError> {
    if name.ends_with("-bin") {
        md.append_bin(name, value.as_bytes().to_vec())
    } else {
        md.append(name, value)
    }
}

/// Adds the `--rpc-header`s to every call.
struct RpcHeaders(Vec<(String, String)>);

impl Interceptor for RpcHeaders {
    fn on_start<'a>(&'a self, _method: &'a str, metadata: &'a mut Metadata) -> InterceptFuture<'a> {
        let result = self
            .0
            .iter()
            .try_for_each(|(n, v)| append_header(metadata, n, v))
            .map_err(|e| Status::internal(format!("--rpc-header: {e}")));
        Box::pin(std::future::ready(result))
    }
}

/// Why the probe stopped short of an answer: an exit code and its line.
#[derive(Debug)]
pub struct Failure {
    /// One of the `EXIT_*` codes.
    pub code: u8,
    /// The line for stderr.
    pub message: String,
}

impl Failure {
    fn args(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_INVALID_ARGUMENTS,
            message: format!("error: {}", message.into()),
        }
    }
}

/// A checked command line, ready to run.
#[derive(Debug)]
pub struct Probe {
    /// The channel target (after [`target_url`]).
    pub target: String,
    /// What the user wrote as the target (for messages).
    pub addr: String,
    /// TLS, when on.
    pub tls: Option<TlsConfig>,
    /// The `--rpc-header`s, parsed.
    pub headers: Vec<(String, String)>,
    /// The rest of the command line.
    pub args: HealthArgs,
}

impl Probe {
    /// Checks `args` as grpc_health_probe does (and reads the TLS files):
    /// every problem is [`EXIT_INVALID_ARGUMENTS`].
    pub fn new(args: HealthArgs) -> Result<Probe, Failure> {
        let addr = match (&args.target, &args.addr) {
            (Some(_), Some(_)) => {
                return Err(Failure::args("give the target once: TARGET or --addr"))
            }
            (Some(a), None) | (None, Some(a)) if !a.is_empty() => a.clone(),
            _ => return Err(Failure::args("a TARGET (or --addr) is required")),
        };
        for (flag, set) in [
            ("--tls-no-verify", args.tls_no_verify),
            ("--alts", args.alts),
            ("--spiffe", args.spiffe),
        ] {
            if set {
                return Err(Failure::args(format!(
                    "{flag} is not supported by tether health{}",
                    if flag == "--tls-no-verify" {
                        " (it always verifies the server: give --tls-ca-cert)"
                    } else {
                        ""
                    }
                )));
            }
        }
        if args.connect_timeout.is_zero() {
            return Err(Failure::args("--connect-timeout must be greater than zero"));
        }
        if args.rpc_timeout.is_zero() {
            return Err(Failure::args("--rpc-timeout must be greater than zero"));
        }
        if args.watch_for.is_some_and(|d| d.is_zero()) {
            return Err(Failure::args("--watch-for must be greater than zero"));
        }
        let target = target_url(&addr, args.tls);
        let tls_on = args.tls || target.to_ascii_lowercase().starts_with("https://");
        if !tls_on {
            for (flag, set) in [
                ("--tls-ca-cert", args.tls_ca_cert.is_some()),
                ("--tls-client-cert", args.tls_client_cert.is_some()),
                ("--tls-client-key", args.tls_client_key.is_some()),
                ("--tls-server-name", args.tls_server_name.is_some()),
            ] {
                if set {
                    return Err(Failure::args(format!(
                        "specified {flag} without specifying --tls"
                    )));
                }
            }
        }
        let tls = if tls_on {
            Some(tls_config(&args)?)
        } else {
            None
        };
        let headers = args
            .rpc_header
            .iter()
            .map(|h| parse_rpc_header(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Failure::args)?;
        // The target's syntax, now (what a channel would refuse is exit 1).
        Channel::builder(&target).map_err(|s| Failure::args(s.message().to_owned()))?;
        Ok(Probe {
            target,
            addr,
            tls,
            headers,
            args,
        })
    }

    /// The channel (lazy: nothing connects yet).
    fn channel(&self, start: Instant) -> Result<Channel, Failure> {
        let args = &self.args;
        let bad = |s: Status| Failure::args(s.message().to_owned());
        let mut b = Channel::builder(&self.target)
            .map_err(bad)?
            .user_agent(&args.user_agent)
            .connect_timeout(args.connect_timeout);
        if args.watch {
            let mut backoff = BackoffConfig::default();
            backoff.initial_backoff = Duration::from_millis(250);
            backoff.max_backoff = Duration::from_secs(5);
            b = b.backoff(backoff);
        }
        if let Some(tls) = &self.tls {
            b = b.tls(tls.clone());
        }
        if !self.headers.is_empty() {
            b = b.interceptor(RpcHeaders(self.headers.clone()));
        }
        if args.gzip {
            b = b.send_compressed(Encoding::Gzip);
        }
        if args.verbose {
            b = b.on_event(move |e| eprintln!("{} channel: {e}", stamp(start)));
        }
        b.build().map_err(|s| {
            Failure::args(format!(
                "failed to initialize tls credentials: {}",
                s.message()
            ))
        })
    }
}

fn tls_config(args: &HealthArgs) -> Result<TlsConfig, Failure> {
    let fail = |why: String| Failure::args(format!("failed to initialize tls credentials: {why}"));
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|e| fail(format!("cannot read {}: {e}", path.display())))
    };
    let mut tls = match &args.tls_ca_cert {
        Some(path) => TlsConfig::new()
            .ca_pem(&read(path)?)
            .map_err(|s| fail(format!("{}: {}", path.display(), s.message())))?,
        // The system's roots, as grpc_health_probe; webpki's without any.
        None => TlsConfig::new()
            .native_roots()
            .unwrap_or_else(|_| TlsConfig::new()),
    };
    match (&args.tls_client_cert, &args.tls_client_key) {
        (Some(cert), Some(key)) => {
            tls = tls
                .identity_pem(&read(cert)?, &read(key)?)
                .map_err(|s| fail(s.message().to_owned()))?;
        }
        (Some(_), None) => return Err(Failure::args("--tls-client-cert needs --tls-client-key")),
        (None, Some(_)) => return Err(Failure::args("--tls-client-key needs --tls-client-cert")),
        (None, None) => {}
    }
    if let Some(name) = &args.tls_server_name {
        tls = tls.server_name(name);
    }
    Ok(tls)
}

/// `[  1.234s]`: the time since `start`, for `--verbose`.
fn stamp(start: Instant) -> String {
    format!("[{:7.3}s]", start.elapsed().as_secs_f64())
}

/// Parses the command line (after `tether health`): `Ok(None)` when clap
/// printed `--help` itself.
pub fn parse(args: &[String]) -> Result<Option<HealthArgs>, Failure> {
    let argv = std::iter::once("tether health".to_owned()).chain(normalize_args(args));
    match HealthArgs::try_parse_from(argv) {
        Ok(a) => Ok(Some(a)),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            print!("{}", e.render());
            Ok(None)
        }
        Err(e) => {
            // clap's first line (`error: unexpected argument '--x' found`),
            // without its usage and tips: one line.
            let text = e.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("error");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            Err(Failure::args(format!("{first} (see tether health --help)")))
        }
    }
}

/// `tether health ARGS...`: runs the probe and returns its exit code.
pub fn main(args: &[String]) -> ExitCode {
    let code = match parse(args).and_then(|a| a.map(Probe::new).transpose()) {
        Ok(None) => EXIT_SERVING,
        Ok(Some(probe)) => match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(run(&probe)),
            Err(e) => {
                eprintln!("error: cannot start the runtime: {e}");
                EXIT_CONNECTION_FAILURE
            }
        },
        Err(f) => {
            eprintln!("{}", f.message);
            f.code
        }
    };
    ExitCode::from(code)
}

/// Runs a checked probe (needs a tokio runtime with timers and signals)
/// and returns its exit code; prints as the module documentation says.
pub async fn run(probe: &Probe) -> u8 {
    let start = Instant::now();
    let channel = match probe.channel(start) {
        Ok(c) => c,
        Err(f) => {
            eprintln!("{}", f.message);
            return f.code;
        }
    };
    let args = &probe.args;
    if args.verbose {
        eprintln!(
            "{} target {} service {:?} connect-timeout {:?} rpc-timeout {:?} tls {} \
             user-agent {:?} headers {}{}",
            stamp(start),
            probe.target,
            args.service,
            args.connect_timeout,
            args.rpc_timeout,
            if probe.tls.is_some() { "on" } else { "off" },
            args.user_agent,
            probe.headers.len(),
            if args.watch { " watch" } else { "" },
        );
    }
    if args.watch {
        return watch(probe, &channel, start).await;
    }
    if args.verbose {
        eprintln!("{} establishing connection", stamp(start));
    }
    let connected = match connect(&channel, args.connect_timeout).await {
        Ok(took) => took,
        Err(why) => {
            eprintln!(
                "timeout: failed to connect service {:?} within {:?}{}",
                probe.addr,
                args.connect_timeout,
                why.map_or(String::new(), |w| format!(": {w}"))
            );
            return EXIT_CONNECTION_FAILURE;
        }
    };
    if args.verbose {
        eprintln!(
            "{} connection established (took {connected:?})",
            stamp(start)
        );
    }
    let rpc_start = Instant::now();
    let result = health::check(&channel, &args.service, args.rpc_timeout).await;
    if args.verbose {
        eprintln!(
            "{} time elapsed: connect={connected:?} rpc={:?}",
            stamp(start),
            rpc_start.elapsed()
        );
    }
    match result {
        Ok(ServingStatus::Serving) => {
            println!("status: SERVING");
            EXIT_SERVING
        }
        Ok(other) => {
            println!("service unhealthy (responded with \"{other}\")");
            EXIT_UNHEALTHY
        }
        Err(e) if e.code() == Code::Unimplemented => {
            eprintln!(
                "error: this server does not implement the grpc health protocol \
                 (grpc.health.v1.Health): {}",
                e.message()
            );
            EXIT_RPC_FAILURE
        }
        Err(e) if e.code() == Code::DeadlineExceeded => {
            eprintln!(
                "timeout: health rpc did not complete within {:?}",
                args.rpc_timeout
            );
            EXIT_RPC_FAILURE
        }
        Err(e) => {
            eprintln!("error: health rpc failed: {e}");
            EXIT_RPC_FAILURE
        }
    }
}

/// Connects `channel`: waits for READY (through failed attempts, which the
/// channel retries) for at most `timeout`. The error is the last connection
/// error, if any.
async fn connect(channel: &Channel, timeout: Duration) -> Result<Duration, Option<String>> {
    let start = Instant::now();
    let deadline = start + timeout;
    let mut state = channel.state(true);
    loop {
        match state {
            ConnectivityState::Ready => return Ok(start.elapsed()),
            ConnectivityState::Shutdown => return Err(Some("channel shut down".to_owned())),
            _ => {}
        }
        if !channel.wait_for_state_change(state, deadline).await {
            let last = channel
                .subchannels()
                .into_iter()
                .find_map(|s| s.last_error)
                .map(|e| e.to_string());
            return Err(last.or_else(|| Some(format!("still {state:?}"))));
        }
        state = channel.state(true);
    }
}

/// `--watch`: every status change with its time, until a signal or
/// `--watch-for`.
async fn watch(probe: &Probe, channel: &Channel, start: Instant) -> u8 {
    let args = &probe.args;
    let mut signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot catch signals: {e}");
            return EXIT_INVALID_ARGUMENTS;
        }
    };
    if args.verbose {
        eprintln!(
            "{} watching service {:?} on {}",
            stamp(start),
            args.service,
            probe.target
        );
    }
    let mut changes = pin!(health::watch(channel, &args.service));
    let limit = async {
        match args.watch_for {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let mut limit = pin!(limit);
    loop {
        tokio::select! {
            status = poll_fn(|cx| changes.as_mut().poll_next(cx)) => match status {
                Some(s) => {
                    // Stops quietly when stdout is gone (`| head -n 3`).
                    let line = format!("{} status: {s}\n", rfc3339(SystemTime::now()));
                    let mut out = std::io::stdout().lock();
                    if out.write_all(line.as_bytes()).and_then(|()| out.flush()).is_err() {
                        break;
                    }
                }
                None => break,
            },
            why = signals.recv() => {
                if args.verbose {
                    eprintln!("{} {why}: stopping", stamp(start));
                }
                break;
            }
            () = &mut limit => {
                if args.verbose {
                    eprintln!("{} --watch-for elapsed: stopping", stamp(start));
                }
                break;
            }
        }
    }
    EXIT_SERVING
}

/// SIGINT and SIGTERM, caught from the start of the watch.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The next signal's name.
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => "SIGINT",
                _ = self.term.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn single_dash_flags_become_double_dash() {
        let got = normalize_args(&strings(&[
            "-addr=:5000",
            "-service",
            "-odd",
            "-connect-timeout",
            "250ms",
            "-rpc-timeout=2s",
            "-tls",
            "-gzip=false",
            "-watch=true",
            "-rpc-header",
            "x-a: 1",
            "-v",
            "--tls-server-name=x",
            "target",
            "-unknown",
            "--",
            "-tls",
        ]));
        assert_eq!(
            got,
            strings(&[
                "--addr=:5000",
                "--service",
                "-odd",
                "--connect-timeout",
                "250ms",
                "--rpc-timeout=2s",
                "--tls",
                "--watch",
                "--rpc-header",
                "x-a: 1",
                "-v",
                "--tls-server-name=x",
                "target",
                "-unknown",
                "--",
                "-tls",
            ])
        );
    }

    #[test]
    fn go_durations() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("1s"), Ok(ms(1000)));
        assert_eq!(parse_duration("500ms"), Ok(ms(500)));
        assert_eq!(parse_duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("2h"), Ok(ms(7_200_000)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("10ns"), Ok(Duration::from_nanos(10)));
        for bad in ["", "1", "s", "1x", "-1s", "1..5s", ".s", "1s2", "ms"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rfc3339_in_utc() {
        let at = |secs: u64, ms: u64| {
            rfc3339(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(ms))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_700_000_000, 123), "2023-11-14T22:13:20.123Z");
        assert_eq!(at(1_735_689_599, 999), "2024-12-31T23:59:59.999Z");
        assert_eq!(at(4_102_444_800, 0), "2100-01-01T00:00:00.000Z");
    }

    #[test]
    fn targets() {
        assert_eq!(target_url("127.0.0.1:5000", false), "http://127.0.0.1:5000");
        assert_eq!(target_url("127.0.0.1:5000", true), "https://127.0.0.1:5000");
        assert_eq!(target_url(":5000", false), "http://localhost:5000");
        assert_eq!(target_url("[::1]:5000", false), "http://[::1]:5000");
        for t in [
            "http://a:1",
            "HTTPS://a:1",
            "dns:///a:1",
            "ipv4:127.0.0.1:1",
            "unix:/tmp/s",
            "passthrough:///a:1",
        ] {
            assert_eq!(target_url(t, true), t);
        }
    }

    #[test]
    fn rpc_headers() {
        assert_eq!(
            parse_rpc_header("X-Token:  abc def "),
            Ok(("x-token".to_owned(), "abc def".to_owned()))
        );
        assert_eq!(
            parse_rpc_header("trace-bin: \u{1}"),
            Ok(("trace-bin".to_owned(), "\u{1}".to_owned()))
        );
        assert!(parse_rpc_header("no colon").is_err());
        assert!(parse_rpc_header(": empty name").is_err());
        assert!(parse_rpc_header("bad name: v").is_err());
    }

    fn probe(args: &[&str]) -> Result<Probe, Failure> {
        let parsed = parse(&strings(args))?.expect("not --help");
        Probe::new(parsed)
    }

    #[test]
    fn defaults_are_grpc_health_probes() {
        let p = probe(&["-addr=:5000"]).unwrap();
        assert_eq!(p.target, "http://localhost:5000");
        assert_eq!(p.args.service, "");
        assert_eq!(p.args.connect_timeout, Duration::from_secs(1));
        assert_eq!(p.args.rpc_timeout, Duration::from_secs(1));
        assert_eq!(p.args.user_agent, "tether-health-probe");
        assert!(p.tls.is_none() && !p.args.watch && !p.args.verbose);
    }

    #[test]
    fn bad_command_lines_are_exit_1() {
        for args in [
            &[][..],
            &["a:1", "--addr", "b:1"],
            &["a:1", "--bogus"],
            &["a:1", "--connect-timeout", "1"],
            &["a:1", "--rpc-timeout", "0s"],
            &["a:1", "--tls-ca-cert", "/dev/null"],
            &["a:1", "--tls", "--tls-client-cert", "/dev/null"],
            &["a:1", "--tls", "--tls-ca-cert", "/nonexistent/ca.pem"],
            &["a:1", "--rpc-header", "novalue"],
            &["a:1", "--watch-for", "1s"],
            &["a:1", "-tls-no-verify"],
            &["a:1", "-alts"],
            &["bogus-scheme:x"],
        ] {
            match probe(args) {
                Err(f) => {
                    assert_eq!(f.code, EXIT_INVALID_ARGUMENTS, "{args:?}");
                    assert!(!f.message.contains('\n'), "{args:?}: {:?}", f.message);
                    assert!(f.message.starts_with("error: "), "{:?}", f.message);
                }
                Ok(p) => panic!("{args:?} accepted: {p:?}"),
            }
        }
    }
}
