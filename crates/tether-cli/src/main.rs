//! `tether`: drive the HTTP/2 core against a server and print every frame.
//!
//! ```text
//! tether trace ADDR [PATH]          GET PATH and print the frames, settings and ping RTTs
//! tether grpc-health ADDR [SERVICE] call grpc.health.v1.Health/Check over the raw core
//! tether demo TARGET [--seconds N] [--interval-ms N]
//!                [--quiet-at S] [--quiet-ms N]
//!                                   a channel with keepalive calling a grpc.testing
//!                                   server, printing events, calls and a summary
//!                                   (no calls for N ms from S s: keepalive PINGs)
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;
use tether_cli::demo::DemoOptions;
use tether_cli::trace::{self, Options};

const USAGE: &str = "usage:\n  tether trace ADDR [PATH]\n  tether grpc-health ADDR [SERVICE]\n  tether demo TARGET [--seconds N] [--interval-ms N] [--quiet-at S] [--quiet-ms N]\n\nADDR is host:port, e.g. 127.0.0.1:50051; TARGET is http://host:port";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("demo") {
        return demo(&args[1..]);
    }
    let (cmd, addr) = match (args.first(), args.get(1)) {
        (Some(c), Some(a)) => (c.as_str(), a),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let addr: SocketAddr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tether: bad address {addr:?}: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let opts = match cmd {
        "trace" => Options::get(addr, args.get(2).map_or("/", String::as_str)),
        "grpc-health" => {
            let service = args.get(2).map_or("", String::as_str);
            Options::grpc_unary(
                addr,
                "/grpc.health.v1.Health/Check",
                &health_request(service),
            )
        }
        _ => {
            eprintln!("tether: unknown command {cmd:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut stdout = std::io::stdout();
    match trace::run(&opts, tether_h2::Config::default(), &mut stdout) {
        Ok(o) => {
            println!("status: {:?}", o.status);
            for (n, v) in &o.headers {
                println!("header: {n}: {v}");
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
        Err(e) => {
            eprintln!("tether: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A serialized `grpc.health.v1.HealthCheckRequest { service }` (field 1, string).
fn health_request(service: &str) -> Vec<u8> {
    let mut m = Vec::new();
    if !service.is_empty() {
        m.push(0x0a);
        let mut n = service.len();
        while n >= 0x80 {
            m.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        m.push(n as u8);
        m.extend_from_slice(service.as_bytes());
    }
    m
}

/// `tether demo TARGET [--seconds N] [--interval-ms N] [--quiet-at S] [--quiet-ms N]`.
fn demo(args: &[String]) -> ExitCode {
    let mut opts = DemoOptions::default();
    let mut rest = args.iter();
    let mut target = None;
    while let Some(arg) = rest.next() {
        let number = |v: Option<&String>| v.and_then(|v| v.parse::<u64>().ok());
        match arg.as_str() {
            "--seconds" => match number(rest.next()) {
                Some(n) => opts.duration = Duration::from_secs(n),
                None => return usage("--seconds takes a number"),
            },
            "--quiet-at" => match number(rest.next()) {
                Some(n) => opts.quiet_at = Duration::from_secs(n),
                None => return usage("--quiet-at takes a number of seconds"),
            },
            "--quiet-ms" => match number(rest.next()) {
                Some(n) => opts.quiet_for = Duration::from_millis(n),
                None => return usage("--quiet-ms takes a number (0: no quiet phase)"),
            },
            "--interval-ms" => match number(rest.next()) {
                Some(n) if n > 0 => opts.interval = Duration::from_millis(n),
                _ => return usage("--interval-ms takes a positive number"),
            },
            t if target.is_none() && !t.starts_with("--") => target = Some(t.to_owned()),
            other => return usage(&format!("unexpected argument {other:?}")),
        }
    }
    let Some(target) = target else {
        return usage("demo needs a TARGET");
    };
    opts.target = target;
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
    match runtime.block_on(tether_cli::demo::run(&opts)) {
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

fn usage(why: &str) -> ExitCode {
    eprintln!("tether: {why}\n{USAGE}");
    ExitCode::from(2)
}
