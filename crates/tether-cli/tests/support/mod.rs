//! What the tether-cli integration tests share: running the built `tether`
//! binary with a time bound ([`tether`], [`Run`]), free loopback ports,
//! where the peers are (`.peers/`, `TETHER_PEERS_DIR`) and what a missing one
//! means ([`skip`]: a panic under `TETHER_REQUIRE_PEERS=1`, a message
//! otherwise), and server processes started for a test ([`Server`]: waited
//! for until ready, killed by pid when dropped) with the commands of the
//! peers several tests start (nghttpd, grpcio's health server, grpc-go's
//! policy server).

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `TETHER_PEERS_DIR`, or `<repo>/.peers` (scripts/install-peers.sh).
pub fn peers_dir() -> PathBuf {
    match std::env::var_os("TETHER_PEERS_DIR") {
        Some(d) => PathBuf::from(d),
        None => repo_root().join(".peers"),
    }
}

/// Says that `what` is missing: a panic when `TETHER_REQUIRE_PEERS=1`,
/// otherwise a message on stderr (the caller then skips its test).
pub fn skip(what: &str) {
    if std::env::var("TETHER_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("peers required but {what} is missing (run scripts/install-peers.sh --with-go)");
    }
    eprintln!("skipping: {what} is missing (run scripts/install-peers.sh --with-go)");
}

/// `path` if it exists; otherwise [`skip`] and `None`.
pub fn required(path: PathBuf) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    skip(&path.display().to_string());
    None
}

/// `<peers_dir>/<rel>` (`TETHER_PEERS_DIR` honoured), or `None`: skip.
pub fn peer_file(rel: &str) -> Option<PathBuf> {
    required(peers_dir().join(rel))
}

/// `<repo>/.peers/<rel>` whatever `TETHER_PEERS_DIR` says (where the tests
/// that never read that variable look), or `None`: skip.
pub fn repo_peer_file(rel: &str) -> Option<PathBuf> {
    required(repo_root().join(".peers").join(rel))
}

/// A loopback port nobody listens on now, never handed out twice in this
/// test process: the tests run in parallel, and a port the kernel gives back
/// after a drop could otherwise reach two peers at once.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
        let port = l.local_addr().expect("local addr").port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// 127.0.0.1:`port`.
pub fn loopback(port: u16) -> SocketAddr {
    ([127, 0, 0, 1], port).into()
}

/// `child`'s exit status, or `None` when it still runs after `limit`.
pub fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().expect("wait for the child") {
            return Some(s);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What one run of `tether` did.
#[derive(Debug)]
pub struct Run {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// From the start to the exit.
    pub took: Duration,
}

impl Run {
    /// The lines of stdout.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// Stdout, which must be one JSON value.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {:?}", self.stdout))
    }

    /// Exit code `code`, with exactly one line on stderr, which is returned.
    pub fn fails(&self, code: i32) -> &str {
        assert_eq!(
            self.code,
            Some(code),
            "exit code; stderr: {:?}",
            self.stderr
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {:?}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        lines[0]
    }

    /// Exit code 0.
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "exit code; stderr: {:?}", self.stderr);
        self
    }
}

/// How [`tether_with`] runs `tether`; the default: stdin closed, the test's
/// own working directory, killed after 30 s.
pub struct Opts<'a> {
    /// Written to its stdin (then closed).
    pub input: Option<&'a str>,
    /// Its working directory.
    pub dir: Option<PathBuf>,
    /// Killed (and the test failed) when still running after this long.
    pub limit: Duration,
}

impl Default for Opts<'_> {
    fn default() -> Self {
        Opts {
            input: None,
            dir: None,
            limit: Duration::from_secs(30),
        }
    }
}

/// Runs `tether ARGS` (at most 30 s) and collects its output.
pub fn tether(args: &[&str]) -> Run {
    tether_with(args, Opts::default())
}

/// Runs `tether ARGS` as `opts` says and collects its output.
pub fn tether_with(args: &[&str], opts: Opts<'_>) -> Run {
    let start = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tether"));
    cmd.args(args)
        .stdin(if opts.input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = &opts.dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().expect("spawn tether");
    // Read both pipes on threads so a large output cannot block the child.
    let out = read_all(child.stdout.take().expect("stdout"));
    let err = read_all(child.stderr.take().expect("stderr"));
    if let Some(input) = opts.input {
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write stdin");
    }
    let Some(status) = wait_for_exit(&mut child, opts.limit) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("tether {args:?} still running after {:?}", opts.limit);
    };
    let took = start.elapsed();
    Run {
        code: status.code(),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
        took,
    }
}

/// All of `pipe`, read on a thread.
fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        pipe.read_to_string(&mut s).expect("read tether's output");
        s
    })
}

/// What a started server must show before a test uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ready {
    /// A first line on stdout saying "listening". Python grpcio peers print
    /// it after `server.start()`: their port accepts TCP earlier (bound by
    /// `add_insecure_port`), and a connection made before the start is reset.
    SaysListening,
    /// Its address accepts TCP connections.
    Accepts,
}

/// A server process a test started, on `addr`; killed by pid when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Server {
    /// Starts `cmd` (stdin and stderr closed) for `addr` and waits (at most
    /// `limit`) until it is `ready`.
    pub fn start(cmd: Command, addr: SocketAddr, ready: Ready, limit: Duration) -> Server {
        Server::try_start(cmd, addr, ready, limit).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Server::start`], with `Err` when the server said something else
    /// than "listening" (or nothing within `limit`), or exited before its
    /// address accepted; a server that is still starting after `limit` is
    /// a panic.
    pub fn try_start(
        mut cmd: Command,
        addr: SocketAddr,
        ready: Ready,
        limit: Duration,
    ) -> Result<Server, String> {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(match ready {
                Ready::SaysListening => Stdio::piped(),
                Ready::Accepts => Stdio::null(),
            })
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let mut server = Server { child, addr };
        match ready {
            Ready::SaysListening => server.says_listening(limit)?,
            Ready::Accepts => server.accepts(limit)?,
        }
        Ok(server)
    }

    /// Waits (at most `limit`) for the first line of stdout, which must say
    /// "listening".
    fn says_listening(&mut self, limit: Duration) -> Result<(), String> {
        let stdout = self.child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(limit) {
            Ok(line) if line.contains("listening") => Ok(()),
            Ok(line) => Err(format!("server for {} said {line:?}", self.addr)),
            Err(_) => Err(format!(
                "server for {} did not say it listens within {limit:?}",
                self.addr
            )),
        }
    }

    /// Waits (at most `limit`, then panics) until `addr` accepts; `Err` if
    /// the server exits first.
    pub fn accepts(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "server on {} did not start within {limit:?}",
                self.addr
            );
            if self.exited() {
                return Err(format!("server for {} exited", self.addr));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Whether the process has exited (reaped if so).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// `addr` as a `tether` target (`host:port`).
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// Sends signal `sig` (`USR1`...) to the process.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server `make(port)` builds on a free 127.0.0.1 port, waits
/// (at most `limit`) until it is `ready` and its port accepts, and gives it
/// 100 ms more. Tests run in parallel and a free port is only free when
/// asked: if another test's peer took the port first, ours exits (it cannot
/// bind) while the port accepts; then it tries another port, 5 at most.
pub fn start_on_free_port(make: impl Fn(u16) -> Command, ready: Ready, limit: Duration) -> Server {
    for _ in 0..5 {
        let addr = loopback(free_port());
        let Ok(mut server) = Server::try_start(make(addr.port()), addr, ready, limit) else {
            continue;
        };
        if ready == Ready::SaysListening && server.accepts(limit).is_err() {
            continue;
        }
        std::thread::sleep(Duration::from_millis(100));
        if !server.exited() {
            return server;
        }
    }
    panic!("no peer stayed up on 5 free ports");
}

/// nghttpd on 127.0.0.1 and a free port, serving `root`, over TLS when
/// `tls` = (key, cert) is given; waited for (at most `limit`) until it
/// accepts. `None` (skip) when nghttpd is not installed.
pub fn nghttpd(root: &Path, tls: Option<(&Path, &Path)>, limit: Duration) -> Option<Server> {
    if Command::new("nghttpd").arg("--version").output().is_err() {
        skip("nghttpd (Debian nghttp2-server)");
        return None;
    }
    let addr = loopback(free_port());
    let mut cmd = Command::new("nghttpd");
    cmd.arg("--address=127.0.0.1").arg("-d").arg(root);
    match tls {
        None => {
            cmd.arg("--no-tls").arg(addr.port().to_string());
        }
        Some((key, cert)) => {
            cmd.arg(addr.port().to_string()).arg(key).arg(cert);
        }
    }
    Some(Server::start(cmd, addr, Ready::Accepts, limit))
}

/// grpcio's health server (tests/peers/health_server.py) run by `python` on
/// 127.0.0.1:`port` ("" and "tether.test" SERVING, "tether.down"
/// NOT_SERVING), waited for (at most `limit`) until it says it listens.
pub fn grpcio_health_server(python: &Path, port: u16, limit: Duration) -> Server {
    let mut cmd = Command::new(python);
    cmd.arg(repo_root().join("tests/peers/health_server.py"))
        .arg(port.to_string());
    Server::start(cmd, loopback(port), Ready::SaysListening, limit)
}

/// The command for grpc-go's policy server (`bin`) on `addr`, exiting after
/// 60 s at the latest, with `extra` flags.
pub fn go_policy_server(bin: &Path, addr: SocketAddr, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(["-host", &addr.ip().to_string()])
        .args(["-port", &addr.port().to_string()])
        .arg("-lifetime=60s")
        .args(extra);
    cmd
}
