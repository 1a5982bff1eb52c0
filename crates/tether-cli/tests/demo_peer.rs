//! `tether demo` against grpc-go's interop server: the server is killed
//! and restarted on the same port mid-run, and the demo must report calls
//! that succeeded on the new connection (what `scripts/demo.sh` shows).
//!
//! The server comes from `scripts/install-peers.sh --with-go`; without it
//! the test skips, unless `TETHER_REQUIRE_PEERS=1`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tether_cli::demo::{self, DemoOptions};

/// A server we started; killed by pid when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn go_server() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.peers/bin/go-interop-server")
}

fn start(port: u16) -> Server {
    let child = Command::new(go_server())
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn go-interop-server");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start in 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

#[test]
fn demo_survives_a_server_restart() {
    if !go_server().exists() {
        if std::env::var("TETHER_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("go-interop-server is not installed; run scripts/install-peers.sh --with-go");
        }
        eprintln!(
            "skipped: go-interop-server is not installed (scripts/install-peers.sh --with-go)"
        );
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Some(start(port));
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
    let _server = start(port);
    let summary = demo.join().unwrap().unwrap();
    assert!(summary.survived(), "{summary:?}");
    assert_eq!(summary.failed, 0, "{summary:?}");
    assert_eq!(summary.reconnects, 1, "{summary:?}");
    assert!(summary.ok >= 10, "{summary:?}");
    assert!(summary.pings > 0, "{summary:?}");
}
