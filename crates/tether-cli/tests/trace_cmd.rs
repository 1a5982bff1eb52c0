//! `tether trace`, the built binary run as a process: a URL (and the older
//! `ADDR PATH`) against nghttpd (plaintext and TLS), `--grpc` against
//! grpcio's health server, bad URLs (exit 1) and a closed port (exit 2).
//!
//! nghttpd comes from the system (Debian nghttp2-server), grpcio and the
//! test certificates from `.peers/` (scripts/install-peers.sh, or
//! `TETHER_PEERS_DIR`); without them those tests skip with a message unless
//! `TETHER_REQUIRE_PEERS=1`.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of `tether` did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `tether ARGS` (at most 30 s) and collects its output.
fn tether(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tether");
    // Read both pipes on threads so a large trace cannot block the child.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tether {args:?} still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn peers_dir() -> PathBuf {
    match std::env::var_os("TETHER_PEERS_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.peers"),
    }
}

fn skip(what: &str) {
    if std::env::var("TETHER_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("peers required but {what} is missing");
    }
    eprintln!("skipping: {what} is missing (run scripts/install-peers.sh)");
}

/// `.peers/<rel>`, or `None` (skip) unless `TETHER_REQUIRE_PEERS=1`.
fn peer_file(rel: &str) -> Option<PathBuf> {
    let p = peers_dir().join(rel);
    if p.exists() {
        return Some(p);
    }
    skip(&p.display().to_string());
    None
}

/// A loopback port nobody listens on now, never handed out twice in this
/// test process (the tests run in parallel).
fn free_port() -> u16 {
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

/// A server we started; killed by pid when dropped.
struct Server(Child);

impl Server {
    /// Starts a Python grpcio peer and waits (at most 30 s) for its
    /// "listening" line, printed after `server.start()` (its port accepts TCP
    /// earlier, and a connection made before the start was seen reset).
    fn start_python(mut cmd: Command) -> Server {
        use std::io::{BufRead, BufReader};
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start server");
        let stdout = child.stdout.take().expect("piped stdout");
        let server = Server(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server said it listens within 30 s");
        assert!(line.contains("listening"), "server said {line:?}");
        server
    }

    /// Starts `cmd` and waits (at most 30 s) until 127.0.0.1:`port` accepts.
    fn start(mut cmd: Command, port: u16) -> Server {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start server");
        let server = Server(child);
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "server on {addr} did not start in 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const FILE_SIZE: usize = 100 * 1000;

/// A docroot with `file.bin` (100 kB: more than the initial 65,535-byte
/// window, so WINDOW_UPDATEs must flow).
fn docroot(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tether-trace-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body: Vec<u8> = (0..FILE_SIZE).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("file.bin"), body).unwrap();
    dir
}

/// nghttpd on 127.0.0.1 serving `root`; TLS with `tls` = (key, cert).
fn nghttpd(root: &Path, tls: Option<(&Path, &Path)>) -> Option<(Server, u16)> {
    if Command::new("nghttpd").arg("--version").output().is_err() {
        skip("nghttpd (Debian nghttp2-server)");
        return None;
    }
    let port = free_port();
    let mut cmd = Command::new("nghttpd");
    cmd.arg("--address=127.0.0.1").arg("-d").arg(root);
    match tls {
        None => {
            cmd.arg("--no-tls").arg(port.to_string());
        }
        Some((key, cert)) => {
            cmd.arg(port.to_string()).arg(key).arg(cert);
        }
    }
    Some((Server::start(cmd, port), port))
}

fn lines_with<'a>(text: &'a str, pat: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(pat)).collect()
}

/// The frames of a GET of file.bin: ours and the server's SETTINGS, our
/// HEADERS with END_STREAM, :status 200, DATA adding up to the file, our
/// WINDOW_UPDATEs, a PING RTT.
fn assert_get_trace(r: &Run) {
    assert_eq!(r.code, Some(0), "{r:?}");
    let o = &r.stdout;
    assert!(!lines_with(o, "-> SETTINGS stream=0").is_empty(), "{o}");
    assert!(!lines_with(o, "<- SETTINGS stream=0").is_empty(), "{o}");
    assert_eq!(
        lines_with(o, "-> HEADERS stream=1").len(),
        1,
        "one request HEADERS:\n{o}"
    );
    assert!(
        lines_with(o, "-> HEADERS stream=1")[0].contains("end_stream=true"),
        "{o}"
    );
    assert!(!lines_with(o, "<- HEADERS stream=1").is_empty(), "{o}");
    assert!(o.contains("header :status: 200"), "{o}");
    let data: usize = lines_with(o, "<- DATA stream=1")
        .iter()
        .map(|l| {
            let len = l.split(" len=").nth(1).unwrap().split(' ').next().unwrap();
            len.parse::<usize>().unwrap()
        })
        .sum();
    assert_eq!(data, FILE_SIZE, "DATA lengths add up to the file:\n{o}");
    assert!(
        lines_with(o, "<- DATA stream=1")
            .last()
            .unwrap()
            .contains("end_stream=true"),
        "{o}"
    );
    assert!(!lines_with(o, "-> WINDOW_UPDATE").is_empty(), "{o}");
    // Window changes as the driver credits the body back.
    assert!(!lines_with(o, "receive window stream=").is_empty(), "{o}");
    assert!(o.contains("ping rtt: "), "{o}");
    // The exchange ends with our GOAWAY, after the response.
    let goaway = o
        .find("-> GOAWAY stream=0")
        .unwrap_or_else(|| panic!("{o}"));
    assert!(goaway > o.find("<- DATA stream=1").unwrap_or(0), "{o}");
    assert!(o.contains(&format!("body: {FILE_SIZE} bytes")), "{o}");
}

#[test]
fn get_a_url_from_nghttpd() {
    let root = docroot("get");
    let Some((_server, port)) = nghttpd(&root, None) else {
        return;
    };
    let r = tether(&["trace", &format!("http://127.0.0.1:{port}/file.bin")]);
    assert_get_trace(&r);

    let r = tether(&["trace", &format!("http://127.0.0.1:{port}/missing")]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("header :status: 404"), "{r:?}");
    assert!(r.stdout.contains("status: 404"), "{r:?}");

    // The older form: ADDR PATH.
    let r = tether(&["trace", &format!("127.0.0.1:{port}"), "/file.bin"]);
    assert_get_trace(&r);

    // A host name is resolved; :authority is kept as written.
    let r = tether(&["trace", &format!("http://localhost:{port}/file.bin")]);
    assert_get_trace(&r);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn get_an_https_url_from_nghttpd() {
    let (Some(key), Some(cert), Some(ca)) = (
        peer_file("tls/server.key"),
        peer_file("tls/server.pem"),
        peer_file("tls/ca.pem"),
    ) else {
        return;
    };
    let root = docroot("tls");
    let Some((_server, port)) = nghttpd(&root, Some((&key, &cert))) else {
        return;
    };
    let url = format!("https://127.0.0.1:{port}/file.bin");
    let r = tether(&["trace", &url, "--cacert", ca.to_str().unwrap()]);
    assert_get_trace(&r);
    // Not trusted by the default roots: no connection.
    let r = tether(&["trace", &url]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("UnknownIssuer"), "{r:?}");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn grpc_health_check_against_grpcio() {
    let Some(python) = peer_file("venv/bin/python") else {
        return;
    };
    let port = free_port();
    let mut cmd = Command::new(python);
    cmd.arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/health_server.py"))
        .arg(port.to_string());
    let _server = Server::start_python(cmd);
    let url = format!("http://127.0.0.1:{port}");
    for method in [
        "/grpc.health.v1.Health/Check",
        "grpc.health.v1.Health/Check",
    ] {
        let r = tether(&["trace", &url, "--grpc", method]);
        assert_eq!(r.code, Some(0), "{r:?}");
        let o = &r.stdout;
        assert!(
            lines_with(o, "-> HEADERS stream=1")[0].contains("end_stream=false"),
            "{o}"
        );
        assert!(!lines_with(o, "-> DATA stream=1").is_empty(), "{o}");
        assert!(o.contains("header content-type: application/grpc"), "{o}");
        assert!(o.contains("trailer grpc-status: 0"), "{o}");
        // SERVING: a 5-byte prefix and the 2-byte message 08 01.
        assert!(
            o.contains("body: 7 bytes [00, 00, 00, 00, 02, 08, 01]"),
            "{o}"
        );
    }
    // service "tether.down" (0a 0b + name): NOT_SERVING (2).
    let hex: String = "tether.down".bytes().map(|b| format!("{b:02x}")).collect();
    let r = tether(&[
        "trace",
        &url,
        "--grpc",
        "grpc.health.v1.Health/Check",
        "--data-hex",
        &format!("0a0b{hex}"),
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("[00, 00, 00, 00, 02, 08, 02]"), "{r:?}");
}

#[test]
fn bad_arguments_are_exit_1_with_one_line() {
    for args in [
        &["trace", "ftp://x"][..],
        &["trace", "http://"],
        &["trace", "http://127.0.0.1:0/"],
        &["trace", "http://127.0.0.1:1/x", "/y"],
        &["trace", "127.0.0.1"],
        &["trace", "http://127.0.0.1:1", "--grpc", "NoSlash"],
        &[
            "trace",
            "http://127.0.0.1:1",
            "--grpc",
            "a.B/C",
            "--data-hex",
            "xyz",
        ],
        &["trace", "http://127.0.0.1:1", "--data-hex", "00"],
        &["trace", "http://127.0.0.1:1", "--cacert", "/nonexistent"],
        &["trace", "http://127.0.0.1:1", "--bogus"],
    ] {
        let r = tether(args);
        assert_eq!(r.code, Some(1), "{args:?}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {r:?}");
        assert!(r.stdout.is_empty(), "{args:?}: {r:?}");
    }
}

#[test]
fn a_closed_port_is_exit_2() {
    let port = free_port();
    for target in [
        format!("http://127.0.0.1:{port}/"),
        format!("127.0.0.1:{port}"),
    ] {
        let r = tether(&["trace", &target]);
        assert_eq!(r.code, Some(2), "{r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
        assert!(r.stderr.contains("cannot connect"), "{r:?}");
    }
}
