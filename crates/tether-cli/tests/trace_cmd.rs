//! `tether trace`, the built binary run as a process: a URL (and the older
//! `ADDR PATH`) against nghttpd (plaintext and TLS), `--grpc` against
//! grpcio's health server, bad URLs (exit 1) and a closed port (exit 2).
//!
//! nghttpd comes from the system (Debian nghttp2-server), grpcio and the
//! test certificates from `.peers/` (scripts/install-peers.sh, or
//! `TETHER_PEERS_DIR`); without them those tests skip with a message unless
//! `TETHER_REQUIRE_PEERS=1`.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{free_port, grpcio_health_server, peer_file, tether, Run, Server};

/// How long a server may take to start.
const START: Duration = Duration::from_secs(30);

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
    let server = support::nghttpd(root, tls, START)?;
    let port = server.addr.port();
    Some((server, port))
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
    let _server = grpcio_health_server(&python, port, START);
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
