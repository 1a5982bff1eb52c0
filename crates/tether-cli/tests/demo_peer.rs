//! `tether demo` against grpc-go's interop server: the server is killed
//! and restarted on the same port mid-run, and the demo must report calls
//! that succeeded on the new connection (what `scripts/demo.sh` shows).
//!
//! The server comes from `scripts/install-peers.sh --with-go`; without it
//! the test skips, unless `TETHER_REQUIRE_PEERS=1`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::{free_port, loopback, peer_file, Ready, Server};
use tether_cli::demo::{self, DemoOptions};

/// grpc-go's interop server (`bin`) on 127.0.0.1:`port`, waited for (at most
/// 20 s) until it accepts.
fn start(bin: &Path, port: u16) -> Server {
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--port={port}"));
    Server::start(cmd, loopback(port), Ready::Accepts, Duration::from_secs(20))
}

#[test]
fn demo_survives_a_server_restart() {
    let Some(bin) = peer_file("bin/go-interop-server") else {
        return;
    };
    let port = free_port();
    let mut server = Some(start(&bin, port));
    let opts = DemoOptions {
        target: format!("http://127.0.0.1:{port}"),
        duration: Duration::from_secs(4),
        quiet_for: Duration::ZERO,
        ..DemoOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let demo = std::thread::spawn(move || runtime.block_on(demo::run(&opts)));
    std::thread::sleep(Duration::from_secs(1));
    drop(server.take()); // SIGKILL
    std::thread::sleep(Duration::from_millis(1500));
    let _server = start(&bin, port);
    let summary = demo.join().unwrap().unwrap();
    assert!(summary.survived(), "{summary:?}");
    assert_eq!(summary.failed, 0, "{summary:?}");
    assert_eq!(summary.reconnects, 1, "{summary:?}");
    assert!(summary.ok >= 10, "{summary:?}");
    assert!(summary.pings > 0, "{summary:?}");
}
