//! Starting real peers for the tests: bounded in time, on 127.0.0.1 and a
//! free port, killed (their whole process group) when dropped.

#![allow(dead_code, unreachable_pub)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tether_interop::ClientArgs;

/// The checkout the tests run in.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// `true` when `path` exists; otherwise says why the test is skipped, or
/// fails it when `TETHER_REQUIRE_PEERS=1`.
pub fn peer_available(path: &Path, what: &str) -> bool {
    if path.exists() {
        return true;
    }
    let msg = format!(
        "{what} is missing ({}): install it with `bash scripts/install-peers.sh --with-go --with-fuzz`",
        path.display()
    );
    if std::env::var("TETHER_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("{msg} (TETHER_REQUIRE_PEERS=1)");
    }
    eprintln!("SKIPPED: {msg}");
    false
}

/// The interop servers the tests run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// grpc-go 1.33.3's interop server.
    Go,
    /// C-core through Python grpcio (tests/peers/interop_server.py).
    CCore,
}

impl Server {
    /// The executable the server needs.
    pub fn executable(self) -> PathBuf {
        match self {
            Server::Go => repo_root().join(".peers/bin/go-interop-server"),
            Server::CCore => repo_root().join(".peers/venv/bin/python"),
        }
    }

    /// The CA that signed the server's TLS certificate.
    pub fn ca_file(self) -> PathBuf {
        match self {
            Server::Go => repo_root().join(".peers/go/src/google.golang.org/grpc/testdata/ca.pem"),
            Server::CCore => repo_root().join(".peers/tls/ca.pem"),
        }
    }

    /// `true` when the server can run here (see [`peer_available`]).
    pub fn available(self) -> bool {
        peer_available(&self.executable(), &format!("the {self:?} interop server"))
            && (self != Server::CCore
                || peer_available(
                    &repo_root().join("tests/peers/interop_server.py"),
                    "tests/peers/interop_server.py",
                ))
    }

    /// Starts the server on `port` with extra flags.
    pub fn start(self, port: u16, tls: bool, extra: &[&str]) -> Peer {
        let mut args: Vec<String> = Vec::new();
        match self {
            Server::Go => {
                args.push(format!("--port={port}"));
                if tls {
                    args.push("--use_tls".into());
                }
            }
            Server::CCore => {
                args.push("tests/peers/interop_server.py".into());
                args.extend(["--port".into(), port.to_string()]);
                args.extend(["--lifetime".into(), "240".into()]);
                if tls {
                    args.push("--tls".into());
                }
            }
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        Peer::start(&format!("{self:?}"), &self.executable(), &args, port)
    }

    /// Client flags for this server on `port`.
    pub fn client_args(self, port: u16, tls: bool) -> ClientArgs {
        ClientArgs {
            server_host: "127.0.0.1".into(),
            server_port: port,
            test_case: "all".into(),
            use_tls: tls,
            use_test_ca: tls,
            ca_file: tls.then(|| self.ca_file().display().to_string()),
            server_host_override: tls.then(|| "foo.test.google.fr".to_owned()),
        }
    }
}

/// A running peer process: its own process group under `timeout`, so that
/// it dies after 300 s even if the test process is killed.
pub struct Peer {
    pub name: String,
    pub port: u16,
    child: Child,
    log: PathBuf,
}

impl Peer {
    /// Starts `program args` in its own process group (bounded to 300 s) and
    /// waits until `port` accepts connections.
    pub fn start(name: &str, program: &Path, args: &[String], port: u16) -> Peer {
        use std::os::unix::process::CommandExt;
        let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("create peer log");
        let child = Command::new("timeout")
            .args(["-s", "KILL", "300"])
            .arg(program)
            .args(args)
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log fd"))
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name} ({}): {e}", program.display()));
        let mut peer = Peer {
            name: name.to_owned(),
            port,
            child,
            log,
        };
        peer.wait_listening(Duration::from_secs(20));
        peer
    }

    /// Waits until the port accepts TCP connections; panics with the log if
    /// the process exits or the time runs out.
    pub fn wait_listening(&mut self, limit: Duration) {
        let end = Instant::now() + limit;
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited early ({status}); log:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            if Instant::now() > end {
                panic!(
                    "{} did not listen on port {} within {limit:?}; log:\n{}",
                    self.name,
                    self.port,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the peer printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` (`STOP`, `CONT`, `KILL`, ...) to the peer's process group.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {} failed", self.name);
    }

    /// Kills the peer and waits for it.
    pub fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Resume it first in case it is stopped, then kill the group.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A current-thread tokio runtime for one test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}
