//! `tether call TARGET METHOD [-d JSON | -d @FILE | -d @-]`: one RPC with
//! JSON in and out (the work of grpcurl), message types from `--proto` files
//! or the server's reflection service.
//!
//! Exit codes (shared with `tether list`):
//!
//! | code     | meaning                                                        |
//! |----------|----------------------------------------------------------------|
//! | 0        | OK                                                             |
//! | 1        | bad arguments: flag, target, header, `.proto`, method, JSON    |
//! | 2        | cannot connect to the target                                   |
//! | 64 + N   | the RPC (or reflection) ended with non-OK status code N        |
//!
//! (e.g. 69 NOT_FOUND, 68 DEADLINE_EXCEEDED, 78 UNAVAILABLE, 76 UNIMPLEMENTED).

use crate::reflect::{compile_protos, Descriptors, Reflection};
use bytes::BytesMut;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor, MethodDescriptor, SerializeOptions};
use serde::de::DeserializeSeed;
use std::future::Future;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::pin::pin;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tether::{Channel, Codec, Metadata, MetadataValue, Request, Status, TlsConfig};

/// How the server is reached, and with what metadata and time limit:
/// the flags `tether call` and `tether list` share.
#[derive(clap::Args, Debug, Clone)]
pub struct ConnArgs {
    /// The server: host:port (plaintext unless --tls), or any tether target:
    /// http://host:port, https://host:port, dns:host:port, ipv4:addr:port,
    /// unix:/path.
    pub target: String,
    /// Plaintext HTTP/2 (the default for host:port and http:// targets).
    #[arg(long, conflicts_with_all = ["tls", "tls_ca_cert", "tls_server_name"])]
    pub plaintext: bool,
    /// TLS (ALPN h2), verifying the server against the webpki roots unless
    /// --tls-ca-cert is given.
    #[arg(long)]
    pub tls: bool,
    /// Trust exactly the certificates in this PEM file (implies --tls).
    #[arg(long, value_name = "FILE")]
    pub tls_ca_cert: Option<PathBuf>,
    /// Verify the server's certificate for this name, and send it as SNI
    /// (implies --tls).
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// Request metadata, 'name: value' (repeatable); also sent on the
    /// reflection calls.
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,
    /// Time limit for the whole command (connection, reflection and the
    /// call), sent to the server as the call's deadline: seconds (1.5) or
    /// with a unit (250ms, 2s, 1m).
    #[arg(long = "max-time", visible_alias = "deadline", value_name = "DURATION", value_parser = parse_duration)]
    pub max_time: Option<Duration>,
    /// Give up connecting after this long (seconds, or with a unit).
    #[arg(long, value_name = "DURATION", default_value = "10", value_parser = parse_duration)]
    pub connect_timeout: Duration,
    /// Take message types from this .proto file instead of server reflection
    /// (repeatable; parsed in-process, no protoc).
    #[arg(long = "proto", value_name = "FILE")]
    pub protos: Vec<PathBuf>,
    /// Where --proto files and their imports are found (repeatable; default:
    /// the current directory).
    #[arg(long = "import-path", value_name = "DIR")]
    pub import_paths: Vec<PathBuf>,
}

/// `tether call`: flags and arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct CallArgs {
    /// Target, TLS, metadata, time limit and --proto flags.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The method: pkg.Service/Method or pkg.Service.Method.
    pub method: String,
    /// The request as JSON (proto3 JSON mapping); @FILE reads a file, @- reads
    /// stdin. Client-streaming and bidi methods send each JSON object (one
    /// per line) as a message. Default: one empty message.
    #[arg(short = 'd', long = "data", value_name = "JSON|@FILE|@-")]
    pub data: Option<String>,
    /// Print response headers and trailers to stderr ("header: k: v",
    /// "trailer: k: v").
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Print fields that hold their default value (zero, empty) too.
    #[arg(long)]
    pub emit_defaults: bool,
}

/// Why a command failed, and so its exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments (flag, target, header, file, method, JSON): exit 1.
    Usage(String),
    /// The target cannot be reached: exit 2.
    Connect(String),
    /// The RPC ended with a non-OK status: exit 64 + code.
    Status(Status),
}

impl Failure {
    /// Prints the one-line report to stderr and returns the exit code.
    pub fn report(&self) -> ExitCode {
        match self {
            Failure::Usage(m) => {
                eprintln!("tether: {m}");
                ExitCode::from(1)
            }
            Failure::Connect(m) => {
                eprintln!("tether: {m}");
                ExitCode::from(2)
            }
            Failure::Status(s) => {
                eprintln!(
                    "ERROR: code = {:?} desc = {}",
                    s.code(),
                    s.message().replace('\n', " ")
                );
                ExitCode::from(64 + (s.code() as i32).clamp(0, 16) as u8)
            }
        }
    }
}

/// Parses `1.5` (seconds), `250ms`, `2s`, `1m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 1.5, 250ms, 2s, 1m)"))?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(n * scale).map_err(|_| format!("{s:?} is not a duration"))
}

impl ConnArgs {
    fn wants_tls(&self) -> bool {
        self.tls || self.tls_ca_cert.is_some() || self.tls_server_name.is_some()
    }

    /// The target as `Channel::builder` takes it: host:port becomes
    /// http://host:port (https:// with TLS).
    fn channel_target(&self) -> Result<String, Failure> {
        const SCHEMES: [&str; 8] = [
            "http",
            "https",
            "dns",
            "ipv4",
            "ipv6",
            "unix",
            "unix-abstract",
            "passthrough",
        ];
        let t = self.target.trim();
        let scheme = t.split_once(':').map(|(s, _)| s).unwrap_or("");
        if SCHEMES.contains(&scheme) {
            if scheme == "https" && self.plaintext {
                return Err(Failure::Usage(format!(
                    "--plaintext contradicts the https:// target {t:?}"
                )));
            }
            return Ok(t.to_owned());
        }
        let scheme = if self.wants_tls() { "https" } else { "http" };
        Ok(format!("{scheme}://{t}"))
    }

    /// The request metadata of the -H flags.
    pub fn metadata(&self) -> Result<Metadata, Failure> {
        let mut md = Metadata::new();
        for h in &self.headers {
            let Some((k, v)) = h.split_once(':') else {
                return Err(Failure::Usage(format!(
                    "bad header {h:?}: expected 'name: value'"
                )));
            };
            let key = k.trim().to_ascii_lowercase();
            let value = v.trim();
            let added = if key.ends_with("-bin") {
                md.append_bin(&key, value.as_bytes().to_vec())
            } else {
                md.append(&key, value)
            };
            added.map_err(|e| Failure::Usage(format!("bad header {h:?}: {e:?}")))?;
        }
        Ok(md)
    }

    /// The command's deadline, from --max-time.
    pub fn deadline(&self, start: Instant) -> Option<Instant> {
        self.max_time.map(|d| start + d)
    }

    /// A connected channel (READY), or why not.
    pub async fn connect(&self, deadline: Option<Instant>) -> Result<Channel, Failure> {
        let target = self.channel_target()?;
        let bad_target =
            |e: Status| Failure::Usage(format!("bad target {:?}: {}", self.target, e.message()));
        let mut builder = Channel::builder(&target).map_err(bad_target)?;
        if self.wants_tls() {
            let mut tls = TlsConfig::new();
            if let Some(path) = &self.tls_ca_cert {
                let pem = std::fs::read(path)
                    .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
                tls = tls.ca_pem(&pem).map_err(|e| {
                    Failure::Usage(format!(
                        "bad --tls-ca-cert {}: {}",
                        path.display(),
                        e.message()
                    ))
                })?;
            }
            if let Some(name) = &self.tls_server_name {
                tls = tls.server_name(name);
            }
            builder = builder.tls(tls);
        }
        let mut limit = self.connect_timeout;
        if let Some(d) = deadline {
            limit = limit.min(d.saturating_duration_since(Instant::now()));
        }
        let connect = builder
            .connect_timeout(limit)
            .user_agent("tether-cli")
            .connect();
        match tokio::time::timeout(limit, connect).await {
            Ok(Ok(channel)) => Ok(channel),
            Ok(Err(e)) if e.code() == tether::Code::InvalidArgument => Err(bad_target(e)),
            Ok(Err(e)) => Err(Failure::Connect(format!(
                "cannot connect to {}: {}",
                self.target,
                e.to_string().replace('\n', " ")
            ))),
            Err(_) => Err(Failure::Connect(format!(
                "cannot connect to {}: timed out after {limit:?}",
                self.target
            ))),
        }
    }

    /// Message types: the --proto files, else reflection over `channel`.
    pub fn descriptors(
        &self,
        channel: Option<&Channel>,
        metadata: &Metadata,
        deadline: Option<Instant>,
    ) -> Result<Descriptors, Failure> {
        if !self.protos.is_empty() {
            return compile_protos(&self.protos, &self.import_paths).map(Descriptors::Files);
        }
        match channel {
            Some(c) => Ok(Descriptors::Reflection(Box::new(Reflection::new(
                c.clone(),
                metadata.clone(),
                deadline,
            )))),
            None => Err(Failure::Usage("no channel for reflection".to_owned())),
        }
    }
}

/// Splits `pkg.Service/Method` or `pkg.Service.Method` (a leading `/` is
/// allowed).
fn split_method(method: &str) -> Result<(&str, &str), Failure> {
    let m = method.trim().trim_start_matches('/');
    let split = m.rsplit_once('/').or_else(|| m.rsplit_once('.'));
    match split {
        Some((s, name)) if !s.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((s, name))
        }
        _ => Err(Failure::Usage(format!(
            "bad method {method:?}: expected pkg.Service/Method or pkg.Service.Method"
        ))),
    }
}

/// Encodes and decodes dynamic messages of the method's types.
struct DynCodec {
    output: MessageDescriptor,
}

impl Codec for DynCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;

    fn encode(&mut self, item: &DynamicMessage, dst: &mut BytesMut) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("cannot encode the request: {e}")))
    }

    fn encoded_len(&self, item: &DynamicMessage) -> Option<usize> {
        Some(item.encoded_len())
    }

    fn decode(&mut self, src: bytes::Bytes) -> Result<DynamicMessage, Status> {
        DynamicMessage::decode(self.output.clone(), src)
            .map_err(|e| Status::internal(format!("cannot decode the response: {e}")))
    }
}

/// Where request JSON comes from.
enum Input {
    None,
    Inline(String),
    File(PathBuf),
    Stdin,
}

impl Input {
    fn of(data: Option<&str>) -> Input {
        match data {
            None => Input::None,
            Some("@-") => Input::Stdin,
            Some(d) => match d.strip_prefix('@') {
                Some(path) => Input::File(PathBuf::from(path)),
                None => Input::Inline(d.to_owned()),
            },
        }
    }

    fn reader(self) -> Result<Option<Box<dyn Read + Send>>, Failure> {
        Ok(match self {
            Input::None => None,
            Input::Inline(s) => Some(Box::new(std::io::Cursor::new(s.into_bytes()))),
            Input::Stdin => Some(Box::new(std::io::stdin())),
            Input::File(p) => Some(Box::new(std::fs::File::open(&p).map_err(|e| {
                Failure::Usage(format!("cannot read -d @{}: {e}", p.display()))
            })?)),
        })
    }
}

/// Reads JSON values one after another (one per line, or any whitespace
/// between them) and converts each to a message of type `desc`.
fn messages(
    reader: Option<Box<dyn Read + Send>>,
    desc: MessageDescriptor,
) -> impl Iterator<Item = Result<DynamicMessage, Failure>> {
    let mut n = 0usize;
    let values: Box<dyn Iterator<Item = Result<serde_json::Value, serde_json::Error>> + Send> =
        match reader {
            None => Box::new(std::iter::once(Ok(serde_json::Value::Object(
                Default::default(),
            )))),
            Some(r) => Box::new(serde_json::Deserializer::from_reader(r).into_iter()),
        };
    values.map(move |v| {
        n += 1;
        let bad = |e: &dyn std::fmt::Display| {
            Failure::Usage(format!(
                "bad JSON for {} (message {n}): {e}",
                desc.full_name()
            ))
        };
        let value = v.map_err(|e| bad(&e))?;
        desc.clone().deserialize(value).map_err(|e| bad(&e))
    })
}

fn json(msg: &DynamicMessage, pretty: bool, emit_defaults: bool) -> Result<String, Failure> {
    let options = SerializeOptions::new().skip_default_fields(!emit_defaults);
    let mut out = Vec::new();
    let result = if pretty {
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"  ");
        msg.serialize_with_options(
            &mut serde_json::Serializer::with_formatter(&mut out, fmt),
            &options,
        )
    } else {
        msg.serialize_with_options(&mut serde_json::Serializer::new(&mut out), &options)
    };
    result.map_err(|e| Failure::Usage(format!("cannot print the response as JSON: {e}")))?;
    String::from_utf8(out).map_err(|e| Failure::Usage(format!("response JSON: {e}")))
}

/// Writes one line to stdout; a closed stdout is not an error worth a panic.
fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

fn print_metadata(kind: &str, md: &Metadata) {
    for (k, v) in md.iter() {
        match v {
            MetadataValue::Ascii(s) => eprintln!("{kind}: {k}: {s}"),
            MetadataValue::Binary(b) => eprintln!("{kind}: {k}: {b:02x?}"),
        }
    }
}

/// `tether call`.
pub async fn run(args: &CallArgs) -> ExitCode {
    match call(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report(),
    }
}

async fn call(args: &CallArgs) -> Result<(), Failure> {
    let start = Instant::now();
    let conn = &args.conn;
    let deadline = conn.deadline(start);
    let (service, method) = split_method(&args.method)?;
    let metadata = conn.metadata()?;
    // Parse --proto files before connecting: a bad file is a usage error
    // whether or not the server is up.
    let files = if conn.protos.is_empty() {
        None
    } else {
        Some(conn.descriptors(None, &metadata, deadline)?)
    };
    let input = Input::of(args.data.as_deref());
    if let Input::File(p) = &input {
        if !p.is_file() {
            return Err(Failure::Usage(format!(
                "cannot read -d @{}: no such file",
                p.display()
            )));
        }
    }
    let channel = conn.connect(deadline).await?;
    let mut descriptors = match files {
        Some(f) => f,
        None => conn.descriptors(Some(&channel), &metadata, deadline)?,
    };
    let found = descriptors.service(service).await;
    descriptors.close();
    let svc = found?;
    let Some(m) = svc.methods().find(|m| m.name() == method) else {
        return Err(Failure::Usage(format!(
            "unknown method {method:?} in service {}",
            svc.full_name()
        )));
    };
    let path = format!("/{}/{}", svc.full_name(), m.name());
    let mut request = Request::new(());
    *request.metadata_mut() = metadata;
    if let Some(d) = deadline {
        request.set_deadline(d);
    }
    let codec = DynCodec { output: m.output() };
    let result = match (m.is_client_streaming(), m.is_server_streaming()) {
        (false, false) => unary(args, &channel, &path, &m, request, codec, input).await,
        (false, true) => server_streaming(args, &channel, &path, &m, request, codec, input).await,
        (true, false) => client_streaming(args, &channel, &path, &m, request, codec, input).await,
        (true, true) => bidi(args, &channel, &path, &m, request, codec, input).await,
    };
    channel.close();
    result
}

/// The single request of a unary or server-streaming call.
fn one_message(m: &MethodDescriptor, input: Input) -> Result<DynamicMessage, Failure> {
    let mut all = messages(input.reader()?, m.input());
    let first = match all.next() {
        Some(r) => r?,
        None => DynamicMessage::new(m.input()),
    };
    if let Some(next) = all.next() {
        next?;
        return Err(Failure::Usage(format!(
            "{} takes one request message; -d has more",
            m.full_name()
        )));
    }
    Ok(first)
}

async fn unary(
    args: &CallArgs,
    channel: &Channel,
    path: &str,
    m: &MethodDescriptor,
    request: Request<()>,
    codec: DynCodec,
    input: Input,
) -> Result<(), Failure> {
    let message = one_message(m, input)?;
    let request = request.map(|()| message);
    match channel.unary(path, request, codec).await {
        Ok(response) => {
            if args.verbose {
                print_metadata("header", response.metadata());
            }
            out(&json(response.message(), true, args.emit_defaults)?);
            if args.verbose {
                if let Some(t) = response.trailers() {
                    print_metadata("trailer", t);
                }
            }
            Ok(())
        }
        Err(status) => Err(failed(args, status)),
    }
}

fn failed(args: &CallArgs, status: Status) -> Failure {
    if args.verbose {
        print_metadata("trailer", status.metadata());
    }
    Failure::Status(status)
}

async fn server_streaming(
    args: &CallArgs,
    channel: &Channel,
    path: &str,
    m: &MethodDescriptor,
    request: Request<()>,
    codec: DynCodec,
    input: Input,
) -> Result<(), Failure> {
    let message = one_message(m, input)?;
    let request = request.map(|()| message);
    let response = channel
        .server_streaming(path, request, codec)
        .await
        .map_err(|s| failed(args, s))?;
    if args.verbose {
        print_metadata("header", response.metadata());
    }
    let mut stream = response.into_message();
    print_stream(args, &mut stream, false).await
}

/// Prints each response as one compact JSON line, then the trailers.
async fn print_stream(
    args: &CallArgs,
    stream: &mut tether::Streaming<DynamicMessage>,
    headers: bool,
) -> Result<(), Failure> {
    let mut printed_headers = !headers;
    loop {
        let next = stream.message().await;
        if args.verbose && !printed_headers {
            if let Some(h) = stream.headers_now() {
                print_metadata("header", h);
                printed_headers = true;
            }
        }
        match next {
            Ok(Some(msg)) => out(&json(&msg, false, args.emit_defaults)?),
            Ok(None) => break,
            Err(s) => return Err(failed(args, s)),
        }
    }
    if args.verbose {
        if let Some(t) = stream.trailers() {
            print_metadata("trailer", t);
        }
    }
    Ok(())
}

/// Feeds the -d messages, parsed on a thread (stdin may block), into a
/// call's sender; ends with the half-close. A JSON error ends the command.
async fn feed(
    input: Input,
    desc: MessageDescriptor,
    tx: tether::Sender<DynamicMessage>,
) -> Result<(), Failure> {
    let reader = input.reader()?;
    let (msgs_tx, mut msgs_rx) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        for m in messages(reader, desc) {
            let stop = m.is_err();
            if msgs_tx.blocking_send(m).is_err() || stop {
                break;
            }
        }
    });
    while let Some(m) = msgs_rx.recv().await {
        if tx.send(m?).await.is_err() {
            // The call is over; its status comes from the response side.
            return Ok(());
        }
    }
    tx.finish();
    Ok(())
}

/// Runs `feed` and `responses` together: the command ends when the
/// responses end, or early when the input is bad.
async fn feed_while<F>(
    feeding: F,
    responses: impl Future<Output = Result<(), Failure>>,
) -> Result<(), Failure>
where
    F: Future<Output = Result<(), Failure>>,
{
    let mut feeding = pin!(feeding);
    let mut responses = pin!(responses);
    let mut fed = false;
    loop {
        tokio::select! {
            r = &mut feeding, if !fed => {
                r?;
                fed = true;
            }
            r = &mut responses => return r,
        }
    }
}

async fn client_streaming(
    args: &CallArgs,
    channel: &Channel,
    path: &str,
    m: &MethodDescriptor,
    request: Request<()>,
    codec: DynCodec,
    input: Input,
) -> Result<(), Failure> {
    let (tx, response) = channel
        .client_stream(path, request, codec)
        .await
        .map_err(|s| failed(args, s))?;
    let responses = async {
        let response = response.await.map_err(|s| failed(args, s))?;
        if args.verbose {
            print_metadata("header", response.metadata());
        }
        out(&json(response.message(), true, args.emit_defaults)?);
        if args.verbose {
            if let Some(t) = response.trailers() {
                print_metadata("trailer", t);
            }
        }
        Ok(())
    };
    feed_while(feed(input, m.input(), tx), responses).await
}

async fn bidi(
    args: &CallArgs,
    channel: &Channel,
    path: &str,
    m: &MethodDescriptor,
    request: Request<()>,
    codec: DynCodec,
    input: Input,
) -> Result<(), Failure> {
    let (tx, mut stream) = channel
        .bidi(path, request, codec)
        .await
        .map_err(|s| failed(args, s))?;
    let responses = async { print_stream(args, &mut stream, true).await };
    feed_while(feed(input, m.input(), tx), responses).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_split_both_ways() {
        assert_eq!(
            split_method("grpc.testing.TestService/UnaryCall").unwrap(),
            ("grpc.testing.TestService", "UnaryCall")
        );
        assert_eq!(
            split_method("grpc.testing.TestService.UnaryCall").unwrap(),
            ("grpc.testing.TestService", "UnaryCall")
        );
        assert_eq!(split_method("/a.B/C").unwrap(), ("a.B", "C"));
        assert!(split_method("nodot").is_err());
        assert!(split_method("a.B/").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("3d").is_err());
    }
}
