//! Real peers for the channel tests: where `.peers/` is, skipping (or
//! failing, with `TETHER_REQUIRE_PEERS=1`) when something is missing, and
//! server processes killed by pid when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The repository root.
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `TETHER_PEERS_DIR`, or `<repo>/.peers` (scripts/install-peers.sh).
pub fn peers_dir() -> PathBuf {
    match std::env::var_os("TETHER_PEERS_DIR") {
        Some(d) => PathBuf::from(d),
        None => repo_dir().join(".peers"),
    }
}

/// `.peers/<rel>` if it exists; otherwise `None` (the test skips with a
/// message), or a panic when `TETHER_REQUIRE_PEERS=1`.
pub fn peer_file(rel: &str) -> Option<PathBuf> {
    let p = peers_dir().join(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("TETHER_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("peers required but {} is missing", p.display());
    }
    eprintln!(
        "skipping: {} is missing (run scripts/install-peers.sh)",
        p.display()
    );
    None
}

/// The peers' Python (grpcio), or `None` (skip).
pub fn python() -> Option<PathBuf> {
    peer_file("venv/bin/python")
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process we started; killed by pid when dropped.
pub struct Peer(Child);

impl Peer {
    /// Takes charge of `child`: it is killed when the `Peer` is dropped.
    pub fn new(child: Child) -> Peer {
        Peer(child)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Whether the process has exited (reaped if so).
    pub fn exited(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a peer and waits (at most 30 s) for its "listening" line.
pub async fn start(mut cmd: Command) -> Peer {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start peer");
    let stdout = child.stdout.take().unwrap();
    let peer = Peer(child);
    let (tx, rx) = tokio::sync::oneshot::channel();
    // The first line is the answer; the rest is drained until the peer
    // exits, so that its later prints (`delay off`...) never meet a
    // closed pipe (SIGPIPE would kill it).
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = super::within(30, rx).await.unwrap_or_default();
    assert!(line.contains("listening"), "peer said {line:?}");
    peer
}

/// The grpcio interop server (`tests/peers/interop_server.py`) over TLS on `port`.
pub async fn grpcio_interop_tls(python: PathBuf, port: u16) -> Peer {
    let mut cmd = Command::new(python);
    cmd.arg(repo_dir().join("tests/peers/interop_server.py"))
        .args(["--port", &port.to_string(), "--tls", "--lifetime", "60"]);
    start(cmd).await
}
