//! A blocking, single-request driver for the core that prints what happens.

use bytes::{Bytes, BytesMut};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tether_h2::conn::{CloseReason, Direction, Observer, PeerSettings};
use tether_h2::frame::{Frame, Head, StreamId};
use tether_h2::hpack::FieldRef;
use tether_h2::{Config, Connection, ErrorCode, Event};

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

struct Printer {
    lines: mpsc::Sender<(Direction, String)>,
}

impl Observer for Printer {
    fn frame(&mut self, dir: Direction, head: &Head, frame: Option<&Frame>) {
        let _ = self.lines.send((dir, describe(dir, head, frame)));
    }
}

fn text(b: &Bytes) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs one request, writing a trace of every frame to `out`.
pub fn run(opts: &Options, config: Config, out: &mut dyn Write) -> Result<Outcome, TraceError> {
    let start = Instant::now();
    let deadline = start + opts.timeout;
    let mut sock = TcpStream::connect_timeout(&opts.addr, opts.timeout)?;
    sock.set_nodelay(true)?;
    let (tx, rx) = mpsc::channel();
    let mut conn =
        Connection::with_observer(config, Box::new(Printer { lines: tx }), Instant::now());

    let mut fields: Vec<FieldRef<'_>> = vec![
        FieldRef::new(b":method", opts.method.as_bytes()),
        FieldRef::new(b":scheme", b"http"),
        FieldRef::new(b":path", opts.path.as_bytes()),
        FieldRef::new(b":authority", opts.authority.as_bytes()),
    ];
    for (n, v) in &opts.fields {
        fields.push(FieldRef::new(n.as_bytes(), v.as_bytes()));
    }
    let id: StreamId = conn
        .open_stream(&fields, opts.body.is_none(), Instant::now())
        .map_err(TraceError::Call)?;
    if let Some(body) = &opts.body {
        conn.send_data(id, Bytes::from(body.clone()), true)
            .map_err(TraceError::Call)?;
    }

    let mut outcome = Outcome::default();
    let mut pings_sent = 0;
    let mut response_done = false;
    let mut wbuf = BytesMut::with_capacity(16 * 1024);
    let mut rbuf = vec![0u8; 64 * 1024];
    loop {
        wbuf.clear();
        if conn.poll_transmit(&mut wbuf) > 0 {
            sock.write_all(&wbuf)?;
        }
        for (dir, line) in rx.try_iter() {
            match dir {
                Direction::Sent => outcome.frames_sent += 1,
                Direction::Received => outcome.frames_received += 1,
            }
            writeln!(out, "{line}")?;
        }
        while let Some(ev) = conn.poll_event() {
            match ev {
                Event::Connected(s) => {
                    writeln!(out, "   connected: {s:?}")?;
                    outcome.peer_settings = Some(s);
                }
                Event::Headers {
                    head, end_stream, ..
                } => {
                    outcome.status = Some(head.status);
                    outcome.headers = head
                        .fields
                        .iter()
                        .map(|f| (text(&f.name), text(&f.value)))
                        .collect();
                    response_done |= end_stream;
                }
                Event::Data {
                    data,
                    end_stream,
                    stream_id,
                } => {
                    outcome.body.extend_from_slice(&data);
                    conn.release_capacity(stream_id, data.len());
                    response_done |= end_stream;
                }
                Event::Trailers { fields, .. } => {
                    outcome.trailers = fields
                        .iter()
                        .map(|f| (text(&f.name), text(&f.value)))
                        .collect();
                    response_done = true;
                }
                Event::StreamReset { code, .. } => return Err(TraceError::Reset(code)),
                // Keepalive and BDP pings (id None) are the core's own business.
                Event::PingAck { id: Some(_), rtt } => {
                    writeln!(out, "   ping rtt: {rtt:?}")?;
                    outcome.rtts.push(rtt);
                }
                Event::Closed(reason) => {
                    if response_done && matches!(reason, CloseReason::Local) {
                        return Ok(outcome);
                    }
                    return Err(TraceError::Closed(reason));
                }
                _ => {}
            }
        }
        if outcome.peer_settings.is_some() && pings_sent < opts.pings {
            conn.ping(Instant::now());
            pings_sent += 1;
            continue;
        }
        if response_done && outcome.rtts.len() as u32 >= opts.pings {
            conn.close(ErrorCode::NO_ERROR, Instant::now());
            wbuf.clear();
            if conn.poll_transmit(&mut wbuf) > 0 {
                sock.write_all(&wbuf)?;
            }
            for (_, line) in rx.try_iter() {
                outcome.frames_sent += 1;
                writeln!(out, "{line}")?;
            }
            return Ok(outcome);
        }
        // Handling events may have queued frames (WINDOW_UPDATEs after
        // release_capacity): flush them before blocking on the socket.
        wbuf.clear();
        if conn.poll_transmit(&mut wbuf) > 0 {
            sock.write_all(&wbuf)?;
            continue;
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(TraceError::TimedOut);
        }
        let wake = conn.poll_timeout().map_or(deadline, |t| t.min(deadline));
        if wake <= now {
            conn.handle_timeout(now);
            continue;
        }
        sock.set_read_timeout(Some(wake - now))?;
        match sock.read(&mut rbuf) {
            Ok(0) => conn.handle_eof(Instant::now()),
            Ok(n) => conn.handle_read(&rbuf[..n], Instant::now()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                conn.handle_timeout(Instant::now())
            }
            Err(e) => return Err(e.into()),
        }
    }
}
