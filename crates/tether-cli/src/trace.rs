//! A blocking, single-request driver for the core that prints what happens,
//! and `tether trace`.
//!
//! [`run`] makes one request through the library's own connection driver
//! ([`tether::raw`]: the task that runs every channel connection, with its
//! timers, keepalive and TLS flushing; rustls with ALPN `h2` for
//! `https://`), sends one PING, and writes a line for every frame in both
//! directions, every flow-control window change, the server's settings, the
//! response fields and the PING round-trip time; it closes the connection
//! (GOAWAY) once the response and the PING's answer are in.
//!
//! `tether trace` ([`TraceArgs`], [`main`]) takes a URL the way every HTTP
//! tool does, or the older `ADDR [PATH]`:
//!
//! ```text
//! tether trace http://127.0.0.1:8080/file.bin
//! tether trace https://example.com/ --cacert ca.pem
//! tether trace http://127.0.0.1:50051 --grpc grpc.health.v1.Health/Check
//! tether trace 127.0.0.1:8080 /file.bin
//! ```
//!
//! `--grpc METHOD` sends a gRPC unary request (POST, `content-type:
//! application/grpc`, `te: trailers`) whose message is `--data-hex` (raw
//! protobuf bytes; default the empty message) instead of a GET. Host names
//! are resolved; `:authority` is `host:port` as written. Exit codes: 0 the
//! exchange ended; 1 bad arguments, or the exchange failed after the
//! connection was made (reset, closed, timed out); 2 cannot connect (name
//! resolution, TCP, TLS handshake, ALPN).

use bytes::Bytes;
use std::fmt;
use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tether::raw::{RawConnection, RawEvent};
use tether::resolver::Address;
use tether::TlsConfig;
use tether_h2::conn::{CloseReason, Direction, PeerSettings};
use tether_h2::frame::{Frame, Head};
use tether_h2::{Config, ErrorCode, Event};

/// What to request.
#[derive(Clone, Debug)]
pub struct Options {
    /// Server address (use loopback in tests).
    pub addr: SocketAddr,
    /// `:authority`.
    pub authority: String,
    /// `:method`.
    pub method: String,
    /// `:path`.
    pub path: String,
    /// Extra request fields (lowercase names).
    pub fields: Vec<(String, String)>,
    /// Request body; `None` sends END_STREAM on the HEADERS.
    pub body: Option<Vec<u8>>,
    /// PINGs to send (their RTTs are reported).
    pub pings: u32,
    /// Give up after this long.
    pub timeout: Duration,
    /// More addresses to try, in order, when `addr` refuses (a resolved
    /// host name's other addresses).
    pub more_addrs: Vec<SocketAddr>,
    /// TLS (`:scheme` https); `None` is plaintext (`:scheme` http).
    pub tls: Option<Tls>,
}

/// TLS for [`run`]: trusted roots (ALPN `h2` is always asked for) and the
/// name the certificate must match.
#[derive(Clone, Debug)]
pub struct Tls {
    /// Roots and client identity.
    pub config: TlsConfig,
    /// Server name (a DNS name or an IP address).
    pub server_name: String,
}

/// TLS trusting the PEM CA certificates `ca_pem`, or the webpki roots when
/// `None`.
pub fn tls_config(ca_pem: Option<&[u8]>) -> Result<TlsConfig, String> {
    match ca_pem {
        None => Ok(TlsConfig::new()),
        Some(pem) => TlsConfig::new()
            .ca_pem(pem)
            .map_err(|e| format!("bad CA PEM: {}", e.message())),
    }
}

impl Options {
    /// A GET of `path` on `addr`.
    pub fn get(addr: SocketAddr, path: &str) -> Options {
        Options {
            addr,
            authority: addr.to_string(),
            method: "GET".into(),
            path: path.into(),
            fields: Vec::new(),
            body: None,
            pings: 1,
            timeout: Duration::from_secs(10),
            more_addrs: Vec::new(),
            tls: None,
        }
    }

    /// A raw gRPC unary call: `message` is the serialized request protobuf.
    pub fn grpc_unary(addr: SocketAddr, path: &str, message: &[u8]) -> Options {
        let mut body = Vec::with_capacity(5 + message.len());
        body.push(0);
        body.extend_from_slice(&(message.len() as u32).to_be_bytes());
        body.extend_from_slice(message);
        Options {
            method: "POST".into(),
            fields: vec![
                ("content-type".into(), "application/grpc".into()),
                ("te".into(), "trailers".into()),
                (
                    "user-agent".into(),
                    concat!("tether/", env!("CARGO_PKG_VERSION")).into(),
                ),
            ],
            body: Some(body),
            ..Options::get(addr, path)
        }
    }
}

/// What came back.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The server's settings (from its first SETTINGS frame).
    pub peer_settings: Option<PeerSettings>,
    /// `:status`.
    pub status: Option<u16>,
    /// Response fields.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
    /// Trailer fields.
    pub trailers: Vec<(String, String)>,
    /// Measured PING round-trip times.
    pub rtts: Vec<Duration>,
    /// Frames we sent, by the observer's count.
    pub frames_sent: usize,
    /// Frames we received, by the observer's count.
    pub frames_received: usize,
}

/// Why the trace failed.
#[derive(Debug)]
pub enum TraceError {
    /// No connection: TCP connect, TLS handshake or ALPN failed.
    Connect(io::Error),
    /// Socket trouble.
    Io(io::Error),
    /// The request could not be started.
    Call(tether_h2::conn::CallError),
    /// The stream was reset.
    Reset(ErrorCode),
    /// The connection ended before the response did.
    Closed(CloseReason),
    /// The time limit passed.
    TimedOut,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Connect(e) => write!(f, "cannot connect: {e}"),
            TraceError::Io(e) => write!(f, "i/o error: {e}"),
            TraceError::Call(e) => write!(f, "request refused: {e:?}"),
            TraceError::Reset(c) => write!(f, "stream reset with {c}"),
            TraceError::Closed(r) => write!(f, "connection closed: {r:?}"),
            TraceError::TimedOut => f.write_str("timed out"),
        }
    }
}

impl std::error::Error for TraceError {}

impl From<io::Error> for TraceError {
    fn from(e: io::Error) -> Self {
        TraceError::Io(e)
    }
}

/// Formats one frame as a trace line.
pub fn describe(dir: Direction, head: &Head, frame: Option<&Frame>) -> String {
    let arrow = match dir {
        Direction::Sent => "->",
        Direction::Received => "<-",
    };
    let kind = match head.kind.0 {
        0 => "DATA",
        1 => "HEADERS",
        2 => "PRIORITY",
        3 => "RST_STREAM",
        4 => "SETTINGS",
        5 => "PUSH_PROMISE",
        6 => "PING",
        7 => "GOAWAY",
        8 => "WINDOW_UPDATE",
        9 => "CONTINUATION",
        _ => "UNKNOWN",
    };
    let detail = match frame {
        Some(Frame::Settings(s)) => format!(
            " ack={} {}",
            s.ack,
            s.params
                .iter()
                .map(|p| format!("{:#x}={}", p.id.0, p.value))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Some(Frame::Ping(p)) => format!(" ack={} payload={:02x?}", p.ack, p.payload),
        Some(Frame::WindowUpdate(w)) => format!(" increment={}", w.increment),
        Some(Frame::GoAway(g)) => format!(
            " last_stream={} code={} debug={:?}",
            g.last_stream_id.value(),
            g.code,
            String::from_utf8_lossy(&g.debug_data)
        ),
        Some(Frame::RstStream(r)) => format!(" code={}", r.code),
        Some(Frame::Data(d)) => format!(" end_stream={}", d.end_stream),
        Some(Frame::Headers(h)) => {
            format!(" end_stream={} block={}B", h.end_stream, h.fragment.len())
        }
        _ => String::new(),
    };
    format!(
        "{arrow} {kind} stream={} len={} flags={:#04x}{detail}",
        head.stream_id.value(),
        head.length,
        head.flags
    )
}

fn text(b: &Bytes) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write_fields(out: &mut dyn Write, what: &str, fields: &[(String, String)]) -> io::Result<()> {
    for (n, v) in fields {
        writeln!(out, "   {what} {n}: {v}")?;
    }
    Ok(())
}

/// Runs one request through the library's connection driver, writing a
/// trace of every frame to `out` (blocking: it runs its own single-thread
/// runtime, so call it outside one).
pub fn run(opts: &Options, config: Config, out: &mut dyn Write) -> Result<Outcome, TraceError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(TraceError::Io)?;
    rt.block_on(async {
        match tokio::time::timeout(opts.timeout, exchange(opts, config, out)).await {
            Ok(result) => result,
            Err(_) => Err(TraceError::TimedOut),
        }
    })
}

/// The first of `opts`' addresses that accepts.
async fn connect(opts: &Options, config: &Config) -> Result<RawConnection, TraceError> {
    let tls = opts
        .tls
        .as_ref()
        .map(|t| t.config.clone().server_name(&t.server_name));
    let mut last = None;
    for addr in std::iter::once(&opts.addr).chain(&opts.more_addrs) {
        match RawConnection::connect(&Address::Tcp(*addr), tls.as_ref(), config.clone()).await {
            Ok(conn) => return Ok(conn),
            Err(e) => last = Some(e),
        }
    }
    let why = last.map_or_else(|| "no address".to_owned(), |e| e.message().to_owned());
    Err(TraceError::Connect(io::Error::other(why)))
}

async fn exchange(
    opts: &Options,
    config: Config,
    out: &mut dyn Write,
) -> Result<Outcome, TraceError> {
    let mut conn = connect(opts, &config).await?;
    let scheme: &'static [u8] = if opts.tls.is_some() {
        b"https"
    } else {
        b"http"
    };
    let mut fields = vec![
        (
            Bytes::from_static(b":method"),
            Bytes::from(opts.method.clone()),
        ),
        (Bytes::from_static(b":scheme"), Bytes::from_static(scheme)),
        (Bytes::from_static(b":path"), Bytes::from(opts.path.clone())),
        (
            Bytes::from_static(b":authority"),
            Bytes::from(opts.authority.clone()),
        ),
    ];
    for (n, v) in &opts.fields {
        fields.push((Bytes::from(n.clone()), Bytes::from(v.clone())));
    }
    conn.open(fields, opts.body.clone().map(Bytes::from));

    let mut outcome = Outcome::default();
    let mut pings_sent = 0;
    let mut response_done = false;
    let mut closing = false;
    while let Some(event) = conn.next_event().await {
        match event {
            RawEvent::Frame {
                direction,
                head,
                frame,
            } => {
                match direction {
                    Direction::Sent => outcome.frames_sent += 1,
                    Direction::Received => outcome.frames_received += 1,
                }
                writeln!(out, "{}", describe(direction, &head, frame.as_ref()))?;
            }
            RawEvent::Window {
                direction,
                stream,
                window,
            } => {
                let whose = match direction {
                    Direction::Sent => "send",
                    Direction::Received => "receive",
                };
                writeln!(out, "   {whose} window stream={}: {window}", stream.value())?;
            }
            RawEvent::Opened(Err(e)) | RawEvent::PingSent(Err(e)) => {
                return Err(TraceError::Call(e))
            }
            RawEvent::Core(Event::Connected(s)) => {
                writeln!(out, "   connected: {s:?}")?;
                outcome.peer_settings = Some(s);
                if pings_sent < opts.pings {
                    conn.ping();
                    pings_sent += 1;
                }
            }
            RawEvent::Core(Event::Headers {
                head, end_stream, ..
            }) => {
                outcome.status = Some(head.status);
                outcome.headers = head
                    .fields
                    .iter()
                    .map(|f| (text(&f.name), text(&f.value)))
                    .collect();
                writeln!(out, "   header :status: {}", head.status)?;
                write_fields(out, "header", &outcome.headers)?;
                response_done |= end_stream;
            }
            RawEvent::Core(Event::Data {
                data, end_stream, ..
            }) => {
                // The driver has credited these bytes back already.
                outcome.body.extend_from_slice(&data);
                response_done |= end_stream;
            }
            RawEvent::Core(Event::Trailers { fields, .. }) => {
                outcome.trailers = fields
                    .iter()
                    .map(|f| (text(&f.name), text(&f.value)))
                    .collect();
                write_fields(out, "trailer", &outcome.trailers)?;
                response_done = true;
            }
            RawEvent::Core(Event::StreamReset { code, .. }) => return Err(TraceError::Reset(code)),
            // Keepalive and BDP pings (id None) are the core's own business.
            RawEvent::Core(Event::PingAck { id: Some(_), rtt }) => {
                writeln!(out, "   ping rtt: {rtt:?}")?;
                outcome.rtts.push(rtt);
                if pings_sent < opts.pings {
                    conn.ping();
                    pings_sent += 1;
                }
            }
            RawEvent::Core(Event::GoAway(info)) if !closing => {
                writeln!(
                    out,
                    "   goaway: last_stream={} code={}",
                    info.last_stream_id.value(),
                    info.code
                )?;
            }
            RawEvent::Core(Event::Closed(reason)) => {
                if response_done && closing && matches!(reason, CloseReason::Local) {
                    // Our GOAWAY may still be on its way to the trace.
                    while let Some(RawEvent::Frame {
                        direction,
                        head,
                        frame,
                    }) = conn.next_event().await
                    {
                        outcome.frames_sent += usize::from(direction == Direction::Sent);
                        outcome.frames_received += usize::from(direction == Direction::Received);
                        writeln!(out, "{}", describe(direction, &head, frame.as_ref()))?;
                    }
                    return Ok(outcome);
                }
                return Err(TraceError::Closed(reason));
            }
            _ => {}
        }
        if response_done && !closing && outcome.rtts.len() as u32 >= opts.pings {
            closing = true;
            conn.close();
        }
    }
    Err(TraceError::Io(io::Error::other(
        "the connection's driver stopped without closing",
    )))
}

/// `tether trace`: flags and arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct TraceArgs {
    /// http://host:port/path or https://host:port/path (port defaults to
    /// 80/443); or, without a scheme, host:port followed by PATH.
    #[arg(value_name = "URL|ADDR")]
    pub target: String,
    /// The request path, with host:port only (default /).
    #[arg(value_name = "PATH")]
    pub path: Option<String>,
    /// Send a gRPC unary request for METHOD (/pkg.Service/Method or
    /// pkg.Service/Method) instead of a GET.
    #[arg(long, value_name = "METHOD")]
    pub grpc: Option<String>,
    /// The --grpc request message as hex (serialized protobuf; default the
    /// empty message).
    #[arg(long, value_name = "HEX", requires = "grpc")]
    pub data_hex: Option<String>,
    /// Trust the CA certificates in this PEM file for https:// (default the
    /// webpki roots).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Give up after this many seconds.
    #[arg(long, value_name = "S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

/// Where `tether trace` goes, from its URL or `ADDR [PATH]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `https://`.
    pub tls: bool,
    /// The host as written (no brackets around an IPv6 address).
    pub host: String,
    /// The port (given, or the scheme's default).
    pub port: u16,
    /// `:authority`: `host` or `host:port`, as written.
    pub authority: String,
    /// `:path`.
    pub path: String,
}

/// Parses `tether trace`'s target: a URL (`http://` or `https://`), or
/// `host:port` with an optional separate `path`.
pub fn parse_target(target: &str, path: Option<&str>) -> Result<Target, String> {
    let (tls, rest) = match target.split_once("://") {
        None => (None, target),
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            "http" => (Some(false), rest),
            "https" => (Some(true), rest),
            _ => {
                return Err(format!(
                    "unsupported scheme {scheme:?} in {target:?} (http or https)"
                ))
            }
        },
    };
    let (authority, url_path) = match tls {
        Some(_) => {
            if path.is_some() {
                return Err("PATH goes in the URL (http://host:port/path), not after it".into());
            }
            match rest.find(['/', '?']) {
                Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_owned()),
                Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
                None => (rest, "/".to_owned()),
            }
        }
        None => {
            let p = path.unwrap_or("/");
            if !p.starts_with('/') {
                return Err(format!("bad path {p:?}: it must start with /"));
            }
            (rest, p.to_owned())
        }
    };
    let url_path = url_path.split('#').next().unwrap_or("/").to_owned();
    if authority.is_empty() {
        return Err(format!("no host in {target:?}"));
    }
    if authority.contains(['@', '/', ' ']) {
        return Err(format!("bad host {authority:?} in {target:?}"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((h, after)) = v6.split_once(']') else {
            return Err(format!("bad IPv6 address in {target:?}"));
        };
        match after {
            "" => (h, None),
            _ => match after.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return Err(format!("bad host {authority:?} in {target:?}")),
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in {target:?}"));
    }
    let port = match (port, tls) {
        (Some(p), _) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("bad port {p:?} in {target:?}"))?,
        (None, Some(true)) => 443,
        (None, Some(false)) => 80,
        (None, None) => {
            return Err(format!(
                "bad address {target:?}: expected host:port (e.g. 127.0.0.1:50051) or a URL (http://host:port/path)"
            ))
        }
    };
    Ok(Target {
        tls: tls == Some(true),
        host: host.to_owned(),
        port,
        authority: authority.to_owned(),
        path: url_path,
    })
}

/// `--grpc METHOD` as a `:path`: `/pkg.Service/Method`.
pub fn grpc_path(method: &str) -> Result<String, String> {
    let m = method.strip_prefix('/').unwrap_or(method);
    match m.split_once('/') {
        Some((svc, name)) if !svc.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok(format!("/{m}"))
        }
        _ => Err(format!(
            "bad --grpc method {method:?} (expected /pkg.Service/Method)"
        )),
    }
}

/// `--data-hex`: pairs of hex digits (whitespace ignored).
pub fn parse_hex(hex: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("bad --data-hex {hex:?}: an odd number of digits"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("bad --data-hex {hex:?}: not hex"))
        })
        .collect()
}

/// Builds the request of `tether trace`, resolving the host (an `Err` of
/// `(exit code, message)`).
pub fn options(args: &TraceArgs) -> Result<Options, (u8, String)> {
    let bad = |m: String| (1, m);
    let target = parse_target(&args.target, args.path.as_deref()).map_err(bad)?;
    let grpc = match &args.grpc {
        None => None,
        Some(m) => {
            let path = grpc_path(m).map_err(bad)?;
            let data = match &args.data_hex {
                Some(h) => parse_hex(h).map_err(bad)?,
                None => Vec::new(),
            };
            Some((path, data))
        }
    };
    let tls = if target.tls {
        let pem = match &args.cacert {
            None => None,
            Some(f) => Some(
                std::fs::read(f)
                    .map_err(|e| bad(format!("cannot read --cacert {}: {e}", f.display())))?,
            ),
        };
        Some(Tls {
            config: tls_config(pem.as_deref()).map_err(bad)?,
            server_name: target.host.clone(),
        })
    } else {
        if args.cacert.is_some() {
            return Err(bad("--cacert needs an https:// URL".into()));
        }
        None
    };
    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| (2, format!("cannot resolve {:?}: {e}", target.host)))?
        .collect();
    let Some((&first, more)) = addrs.split_first() else {
        return Err((2, format!("{:?} has no address", target.host)));
    };
    let mut opts = match grpc {
        None => Options::get(first, &target.path),
        Some((path, data)) => Options::grpc_unary(first, &path, &data),
    };
    opts.authority = target.authority;
    opts.more_addrs = more.to_vec();
    opts.tls = tls;
    opts.timeout = Duration::from_secs(args.timeout);
    Ok(opts)
}

/// `tether trace`: prints the trace and a summary; exit 0 when the exchange
/// ended, 1 for bad arguments or a failed exchange, 2 without a connection.
pub fn main(args: &TraceArgs) -> ExitCode {
    match options(args) {
        Ok(opts) => print_run(&opts),
        Err((code, msg)) => {
            eprintln!("tether: {msg}");
            ExitCode::from(code)
        }
    }
}

/// Runs `opts` with the trace on stdout, then a summary (`tether trace`,
/// `tether grpc-health`).
pub fn print_run(opts: &Options) -> ExitCode {
    let mut stdout = io::stdout();
    match run(opts, Config::default(), &mut stdout) {
        Ok(o) => {
            match o.status {
                Some(s) => println!("status: {s}"),
                None => println!("status: none"),
            }
            println!(
                "body: {} bytes {:02x?}",
                o.body.len(),
                &o.body[..o.body.len().min(32)]
            );
            for (n, v) in &o.trailers {
                println!("trailer: {n}: {v}");
            }
            println!(
                "frames: {} sent, {} received",
                o.frames_sent, o.frames_received
            );
            ExitCode::SUCCESS
        }
        Err(e @ TraceError::Connect(_)) => {
            eprintln!("tether: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("tether: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_addrs() {
        let t = parse_target("http://127.0.0.1:8080/a/b?c=1", None).unwrap();
        assert_eq!(
            (
                t.tls,
                t.host.as_str(),
                t.port,
                t.authority.as_str(),
                t.path.as_str()
            ),
            (false, "127.0.0.1", 8080, "127.0.0.1:8080", "/a/b?c=1")
        );
        let t = parse_target("https://example.com", None).unwrap();
        assert_eq!((t.tls, t.port, t.path.as_str()), (true, 443, "/"));
        let t = parse_target("http://[::1]:81/x", None).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.authority.as_str()),
            ("::1", 81, "[::1]:81")
        );
        let t = parse_target("127.0.0.1:9", Some("/f.bin")).unwrap();
        assert_eq!((t.tls, t.port, t.path.as_str()), (false, 9, "/f.bin"));
        for bad in [
            "ftp://x",
            "http://",
            "http://:80/",
            "http://h:x/",
            "http://h:0",
            "nohost",
            "http://u@h/",
        ] {
            assert!(parse_target(bad, None).is_err(), "{bad}");
        }
        assert!(parse_target("http://h:1/", Some("/p")).is_err());
    }

    #[test]
    fn grpc_methods_and_hex() {
        assert_eq!(grpc_path("a.B/C").unwrap(), "/a.B/C");
        assert_eq!(grpc_path("/a.B/C").unwrap(), "/a.B/C");
        assert!(grpc_path("a.B").is_err() && grpc_path("/a/b/c").is_err());
        assert_eq!(parse_hex("0a 03ff").unwrap(), vec![0x0a, 0x03, 0xff]);
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
        assert!(parse_hex("abc").is_err() && parse_hex("zz").is_err());
    }
}
