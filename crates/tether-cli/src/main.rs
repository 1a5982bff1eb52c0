//! `tether`: drive the HTTP/2 core against a server and print every frame.
//!
//! ```text
//! tether trace ADDR [PATH]          GET PATH and print the frames, settings and ping RTTs
//! tether grpc-health ADDR [SERVICE] call grpc.health.v1.Health/Check over the raw core
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use tether_cli::trace::{self, Options};

const USAGE: &str = "usage:\n  tether trace ADDR [PATH]\n  tether grpc-health ADDR [SERVICE]\n\nADDR is host:port, e.g. 127.0.0.1:50051";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
