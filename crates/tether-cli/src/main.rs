//! `tether`: one command for gRPC work: call methods with JSON (`call`,
//! `list`, by server reflection or .proto files), trace the HTTP/2 frames of a
//! request to a URL, or a gRPC call, (`trace`), check health over a raw connection (`grpc-health`),
//! load-test a method (`load`), probe or watch health with
//! grpc_health_probe's flags (`health`), and a channel surviving a server
//! restart (`demo`). `tether --help` and
//! `tether <command> --help` list every flag.
//!
//! Arguments are parsed by clap's derive API: each subcommand's flags, help
//! and validation live in one struct (in its own module for `call`/`list`),
//! and `--help` always lists them all.
//!
//! Exit codes: 0 OK; 1 bad arguments (flag, target, JSON, method...); 2
//! cannot connect; `call`/`list`: 64 + the gRPC status code when the RPC
//! fails (see `tether_cli::call`).

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;
use tether_cli::demo::DemoOptions;
use tether_cli::trace::{self, Options};

/// tether: a gRPC client stack written from the bytes up, as one command.
#[derive(Parser, Debug)]
#[command(name = "tether", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str =
    "Exit codes: 0 OK; 1 bad arguments (flag, target, header, .proto, method, JSON); \
2 cannot connect; 64+N: the RPC ended with gRPC status code N (call, list).";

#[derive(Subcommand, Debug)]
enum Command {
    /// Call a method with a JSON request and print the JSON response(s)
    /// (types from server reflection or --proto files).
    #[command(after_help = EXIT_CODES)]
    Call(tether_cli::call::CallArgs),
    /// List the server's services, or one service's methods (server
    /// reflection, or --proto files).
    #[command(after_help = EXIT_CODES)]
    List(tether_cli::list::ListArgs),
    /// Load-test a unary method (the work of ghz): open-loop --rate or
    /// closed-loop --concurrency, a latency histogram, counts by status and
    /// by backend, --json for machines.
    #[command(after_help = EXIT_CODES)]
    Load(Box<tether_cli::load::LoadArgs>),
    /// Check a server's health with grpc_health_probe's flags and exit
    /// codes (0 SERVING, 1 bad arguments, 2 cannot connect, 3 the RPC
    /// failed, 4 not serving), or follow it with --watch. Its flags: `tether
    /// health --help`.
    Health {
        /// TARGET and grpc_health_probe-style flags.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// GET a URL (http:// or https://, or host:port PATH) through the
    /// library's connection driver, or make a gRPC call with --grpc,
    /// printing every frame sent and received, the settings, window changes
    /// and the PING round-trip time.
    #[command(
        after_help = "Examples:\n  tether trace http://127.0.0.1:8080/file.bin\n  \
tether trace https://localhost:8443/ --cacert ca.pem\n  \
tether trace http://127.0.0.1:50051 --grpc grpc.health.v1.Health/Check\n  \
tether trace 127.0.0.1:8080 /file.bin\n\n\
Exit codes: 0 the exchange ended; 1 bad arguments, or the exchange failed \
(reset, closed, timed out); 2 cannot connect (resolve, TCP, TLS, ALPN)."
    )]
    Trace(tether_cli::trace::TraceArgs),
    /// Call grpc.health.v1.Health/Check through the raw connection driver
    /// (as trace does), printing every frame.
    GrpcHealth {
        /// host:port, e.g. 127.0.0.1:50051.
        addr: String,
        /// The service to check ("" for the server as a whole).
        #[arg(default_value = "")]
        service: String,
    },
    /// A channel with keepalive calling a grpc.testing server, printing
    /// events, calls and a summary (survives a server restart).
    Demo {
        /// The server, e.g. http://127.0.0.1:50051.
        target: String,
        /// How long to run, in seconds.
        #[arg(long, value_name = "N")]
        seconds: Option<u64>,
        /// Milliseconds between calls (positive).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        interval_ms: Option<u64>,
        /// Start a quiet phase (no calls: keepalive PINGs) after S seconds.
        #[arg(long, value_name = "S")]
        quiet_at: Option<u64>,
        /// Length of the quiet phase in milliseconds (0: none).
        #[arg(long, value_name = "N")]
        quiet_ms: Option<u64>,
    },
}

fn main() -> ExitCode {
    // `tether health` takes grpc_health_probe's single-dash spellings
    // (`-addr=:5000`), which its own parser rewrites before clap sees them.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("health") {
        return tether_cli::health::main(&argv[2..]);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    match cli.command {
        Command::Call(args) => block_on(tether_cli::call::run(&args)),
        Command::List(args) => block_on(tether_cli::list::run(&args)),
        Command::Health { args } => tether_cli::health::main(&args),
        Command::Load(args) => {
            // Every core: the load generator must not be its own bottleneck.
            match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(tether_cli::load::run(&args)),
                Err(e) => {
                    eprintln!("tether: cannot start the runtime: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Trace(args) => trace::main(&args),
        Command::GrpcHealth { addr, service } => raw(&addr, |a| {
            Options::grpc_unary(a, "/grpc.health.v1.Health/Check", &health_request(&service))
        }),
        Command::Demo {
            target,
            seconds,
            interval_ms,
            quiet_at,
            quiet_ms,
        } => {
            let mut opts = DemoOptions::default();
            if let Some(n) = seconds {
                opts.duration = Duration::from_secs(n);
            }
            if let Some(n) = interval_ms {
                opts.interval = Duration::from_millis(n);
            }
            if let Some(n) = quiet_at {
                opts.quiet_at = Duration::from_secs(n);
            }
            if let Some(n) = quiet_ms {
                opts.quiet_for = Duration::from_millis(n);
            }
            opts.target = target;
            demo(&opts)
        }
    }
}

/// Help and version go to stdout (exit 0); any other parse error is one line
/// on stderr and exit 1.
fn clap_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(1)
        }
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("tether: {first} (see tether --help)");
            ExitCode::from(1)
        }
    }
}

fn block_on(f: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r.block_on(f),
        Err(e) => {
            eprintln!("tether: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `grpc-health`: one request through the raw connection driver.
fn raw(addr: &str, opts: impl FnOnce(SocketAddr) -> Options) -> ExitCode {
    let addr: SocketAddr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "tether: bad address {addr:?}: {e} (expected host:port, e.g. 127.0.0.1:50051)"
            );
            return ExitCode::from(1);
        }
    };
    trace::print_run(&opts(addr))
}

/// A serialized `grpc.health.v1.HealthCheckRequest { service }` (the
/// generated message of `tether::health::pb`).
fn health_request(service: &str) -> Vec<u8> {
    prost::Message::encode_to_vec(&tether::health::pb::HealthCheckRequest {
        service: service.to_owned(),
    })
}

/// `tether demo`.
fn demo(opts: &DemoOptions) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tether: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tether_cli::demo::run(opts)) {
        Ok(summary) if summary.survived() => ExitCode::SUCCESS,
        Ok(_) => {
            println!("demo FAILED: no call succeeded on a new connection after a reconnect");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("tether: {e}");
            ExitCode::from(2)
        }
    }
}
