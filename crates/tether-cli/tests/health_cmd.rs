//! `tether health`, the built binary run as a process: its exit codes
//! (grpc_health_probe's: 0 SERVING, 1 bad arguments, 2 no connection, 3
//! the RPC failed, 4 not SERVING) and its lines, against grpc-go's policy
//! server (plaintext and TLS), grpcio's health server, a closed port, a
//! listener that never speaks HTTP/2 and one that never answers a call;
//! and `--watch` through a flip, a kill and a restart.
//!
//! The servers live in `.peers/` (scripts/install-peers.sh --with-go, or
//! `TETHER_PEERS_DIR`); without them those tests skip with a message unless
//! `TETHER_REQUIRE_PEERS=1`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{
    free_port, go_policy_server, grpcio_health_server, loopback, peer_file, peers_dir, tether,
    wait_for_exit, Ready, Run, Server,
};

/// How long a server may take to say it listens.
const START: Duration = Duration::from_secs(30);

fn health(args: &[&str]) -> Run {
    let mut all = vec!["health"];
    all.extend_from_slice(args);
    tether(&all)
}

/// grpc-go's policy server on 127.0.0.1:`port` ("" and "tether.test"
/// SERVING, "tether.down" NOT_SERVING; SIGUSR1 flips the first two), with
/// `extra` flags.
fn go_server(bin: &Path, port: u16, extra: &[&str]) -> Server {
    let addr = loopback(port);
    let cmd = go_policy_server(bin, addr, extra);
    Server::start(cmd, addr, Ready::SaysListening, START)
}

/// grpcio's health server (tests/peers/health_server.py), same statuses.
fn grpcio_server(python: &Path, port: u16) -> Server {
    grpcio_health_server(python, port, START)
}

/// SERVING, NOT_SERVING and an unknown service, as grpc_health_probe
/// reports them.
fn assert_statuses(target: &str) {
    for args in [
        vec![target, "--service", "tether.test"],
        vec![target],
        // grpc_health_probe's own spelling.
        vec!["-addr", target, "-service=tether.test", "-rpc-timeout=2s"],
    ] {
        let r = health(&args);
        assert_eq!(r.code, Some(0), "{args:?}: {r:?}");
        assert_eq!(r.stdout, "status: SERVING\n", "{r:?}");
        assert_eq!(r.stderr, "", "{r:?}");
    }

    let r = health(&[target, "--service", "tether.down"]);
    assert_eq!(r.code, Some(4), "{r:?}");
    assert_eq!(
        r.stdout, "service unhealthy (responded with \"NOT_SERVING\")\n",
        "{r:?}"
    );

    let r = health(&[target, "--service", "tether.nobody"]);
    assert_eq!(r.code, Some(3), "{r:?}");
    assert!(
        r.stderr.starts_with("error: health rpc failed: NOT_FOUND"),
        "{r:?}"
    );
    assert_eq!(r.stdout, "", "{r:?}");
}

#[test]
fn statuses_from_grpc_go() {
    let Some(bin) = peer_file("bin/go-policy-server") else {
        return;
    };
    let port = free_port();
    let _server = go_server(&bin, port, &[]);
    let addr = format!("127.0.0.1:{port}");
    assert_statuses(&addr);
    // Any tether target; `:port` is localhost, as grpc_health_probe's -addr=:port.
    for target in [
        format!("http://127.0.0.1:{port}"),
        format!("ipv4:127.0.0.1:{port}"),
        format!(":{port}"),
    ] {
        let r = health(&[&target, "--service", "tether.test"]);
        assert_eq!(r.code, Some(0), "{target}: {r:?}");
    }
    // --verbose: the steps on stderr, the answer on stdout.
    let r = health(&["-v", &addr, "--rpc-header", "x-probe: 1", "--gzip"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "status: SERVING\n");
    for step in [
        "establishing connection",
        "connection established (took ",
        "time elapsed: connect=",
    ] {
        assert!(r.stderr.contains(step), "{step}: {}", r.stderr);
    }
    // The old raw-core command still works (scripts/demo.sh).
    let r = tether(&["grpc-health", &addr, "tether.test"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("trailer: grpc-status: 0"), "{r:?}");
}

#[test]
fn statuses_from_grpcio() {
    let Some(python) = peer_file("venv/bin/python") else {
        return;
    };
    let port = free_port();
    let _server = grpcio_server(&python, port);
    assert_statuses(&format!("127.0.0.1:{port}"));
}

#[test]
fn tls_against_grpc_go() {
    let Some(bin) = peer_file("bin/go-policy-server") else {
        return;
    };
    let tls = peers_dir().join("tls");
    let file = |name: &str| tls.join(name).to_str().unwrap().to_owned();
    let port = free_port();
    let _server = go_server(
        &bin,
        port,
        &[
            "-tls_cert",
            &file("server.pem"),
            "-tls_key",
            &file("server.key"),
        ],
    );
    let addr = format!("127.0.0.1:{port}");
    let ca = file("ca.pem");
    let r = health(&[
        &addr,
        "--tls",
        "--tls-ca-cert",
        &ca,
        "--service",
        "tether.test",
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "status: SERVING\n"),
        "{r:?}"
    );
    // An https:// target needs no --tls; a client certificate is sent when
    // asked for (this server does not ask).
    let https = format!("https://{addr}");
    let r = health(&[
        &https,
        "-tls-ca-cert",
        &ca,
        "-tls-server-name=foo.test.google.fr",
        "-tls-client-cert",
        &file("client.pem"),
        "-tls-client-key",
        &file("client.key"),
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    // Not trusted (the system's roots): no connection.
    let r = health(&[&addr, "--tls"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("UnknownIssuer"), "{r:?}");
    // Plaintext to a TLS server: no connection either.
    let r = health(&[&addr]);
    assert_eq!(r.code, Some(2), "{r:?}");
}

#[test]
fn a_closed_port_is_a_connection_failure() {
    let port = free_port(); // bound, then released: nobody listens
    let addr = format!("127.0.0.1:{port}");
    let r = health(&[&addr, "--connect-timeout", "500ms"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.starts_with(&format!(
            "timeout: failed to connect service \"{addr}\" within 500ms: "
        )),
        "{r:?}"
    );
    assert!(r.stderr.contains("refused"), "{r:?}");
    assert_eq!(r.stdout, "");
    assert!(
        r.took >= Duration::from_millis(450) && r.took < Duration::from_millis(2500),
        "about the connect timeout: {:?}",
        r.took
    );
}

/// A listener that accepts and then, for each connection, runs `serve`.
fn listener(serve: fn(std::net::TcpStream)) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || serve(s));
        }
    });
    port
}

/// Reads (and drops) everything until the peer goes away.
fn drain(mut s: std::net::TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
}

#[test]
fn a_server_that_never_speaks_http2_is_a_connection_failure() {
    let port = listener(drain);
    let r = health(&[&format!("127.0.0.1:{port}"), "--connect-timeout", "300ms"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.starts_with("timeout: failed to connect service"),
        "{r:?}"
    );
    assert!(
        r.took >= Duration::from_millis(250) && r.took < Duration::from_secs(2),
        "{:?}",
        r.took
    );
}

#[test]
fn a_server_that_never_answers_is_an_rpc_timeout() {
    // An HTTP/2 server that sends its SETTINGS (and acknowledges the
    // client's) and then never answers a request: connected, but the Check
    // outlives its deadline.
    let port = listener(|mut s| {
        let mut buf = [0u8; 4096];
        if matches!(s.read(&mut buf), Ok(n) if n > 0) {
            let settings = [0, 0, 0, 4, 0, 0, 0, 0, 0];
            let ack = [0, 0, 0, 4, 1, 0, 0, 0, 0];
            let _ = s.write_all(&settings).and_then(|()| s.write_all(&ack));
            drain(s);
        }
    });
    let r = health(&[
        &format!("127.0.0.1:{port}"),
        "--connect-timeout",
        "2s",
        "--rpc-timeout",
        "300ms",
    ]);
    assert_eq!(r.code, Some(3), "{r:?}");
    assert_eq!(
        r.stderr, "timeout: health rpc did not complete within 300ms\n",
        "{r:?}"
    );
    assert!(
        r.took >= Duration::from_millis(250) && r.took < Duration::from_secs(2),
        "{:?}",
        r.took
    );
}

#[test]
fn bad_arguments_are_exit_1_with_one_line() {
    for args in [
        &[][..],
        &["--bogus", "127.0.0.1:1"],
        &["127.0.0.1:1", "--connect-timeout", "fast"],
        &["127.0.0.1:1", "--rpc-timeout", "5"],
        &["127.0.0.1:1", "-connect-timeout=0s"],
        &["-addr"],
        &["127.0.0.1:1", "--addr", "127.0.0.1:2"],
        &["127.0.0.1:1", "-tls-no-verify"],
        &["127.0.0.1:1", "--tls-ca-cert", "/dev/null"],
        &[
            "127.0.0.1:1",
            "--tls",
            "--tls-ca-cert",
            "/nonexistent/ca.pem",
        ],
        &["127.0.0.1:1", "--tls", "--tls-client-key", "/dev/null"],
        &["127.0.0.1:1", "--rpc-header", "no colon"],
        &["127.0.0.1:1", "--watch-for", "1s"],
        &["nope:x:y"],
    ] {
        let r = health(args);
        assert_eq!(r.code, Some(1), "{args:?}: {r:?}");
        assert_eq!(r.stdout, "", "{args:?}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {r:?}");
        assert!(r.stderr.starts_with("error: "), "{args:?}: {r:?}");
        assert!(!r.stderr.contains("panicked"), "{args:?}: {r:?}");
    }
    let r = health(&["--help"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("--connect-timeout"), "{r:?}");
}

/// Lines of a running `tether`'s stdout, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next line, which must end with `status: <want>`, within 10 s.
fn expect_status(lines: &mpsc::Receiver<String>, seen: &mut Vec<String>, want: &str) {
    let line = lines
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("no {want} line ({e}); so far {seen:?}"));
    seen.push(line.clone());
    let (stamp, status) = line
        .split_once(" status: ")
        .unwrap_or_else(|| panic!("not a status line: {line:?}"));
    assert_eq!(status, want, "lines so far: {seen:?}");
    // RFC 3339, UTC, milliseconds: 2025-12-03T07:20:01.123Z.
    let b = stamp.as_bytes();
    assert!(
        b.len() == 24 && b[4] == b'-' && b[10] == b'T' && b[19] == b'.' && b[23] == b'Z',
        "{stamp:?}"
    );
}

#[test]
fn watch_follows_a_flip_a_kill_and_a_restart() {
    let Some(bin) = peer_file("bin/go-policy-server") else {
        return;
    };
    let port = free_port();
    let server = go_server(&bin, port, &[]);
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["health", &format!("127.0.0.1:{port}")])
        .args(["--service", "tether.test", "--watch", "--watch-for", "4s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut child);
    let mut seen = Vec::new();
    expect_status(&lines, &mut seen, "SERVING");
    server.signal("USR1");
    expect_status(&lines, &mut seen, "NOT_SERVING");
    drop(server); // SIGKILL
    expect_status(&lines, &mut seen, "UNKNOWN");
    let _server = go_server(&bin, port, &[]);
    // The restarted server is SERVING again (it starts so).
    expect_status(&lines, &mut seen, "SERVING");
    // --watch-for ends it, exit 0, with nothing more to say.
    let Some(status) = wait_for_exit(&mut child, Duration::from_secs(10)) else {
        let _ = child.kill();
        panic!("--watch-for 4s did not end the watch");
    };
    assert_eq!(status.code(), Some(0));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(3900) && took < Duration::from_secs(8),
        "{took:?}"
    );
    let rest: Vec<String> = lines.iter().collect();
    assert!(rest.is_empty(), "after {seen:?}: {rest:?}");
}

#[test]
fn watch_ends_on_sigint_with_exit_0() {
    // Nobody there: UNKNOWN, then waits; Ctrl-C (SIGINT) ends it.
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["health", &format!("127.0.0.1:{port}"), "--watch"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut child);
    let mut seen = Vec::new();
    expect_status(&lines, &mut seen, "UNKNOWN");
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let Some(status) = wait_for_exit(&mut child, Duration::from_secs(5)) else {
        let _ = child.kill();
        panic!("SIGINT did not end the watch");
    };
    assert_eq!(status.code(), Some(0));
}
