//! The tether-h2 core against real, independent HTTP/2 servers on loopback:
//! nghttpd (nghttp2) and a C-core gRPC server (Python grpcio).
//!
//! The peers are installed by `scripts/install-peers.sh` (the README's test
//! command runs it). When a peer is missing the test says so and skips,
//! unless `TETHER_REQUIRE_PEERS=1` (set by the test command and CI), where a
//! missing peer is a failure.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{free_port, grpcio_health_server, peer_file, Server};
use tether_cli::trace::{self, Options};
use tether_h2::Config;

/// How long a peer may take to start.
const START: Duration = Duration::from_secs(20);

fn nghttpd(docroot: &Path) -> Option<Server> {
    support::nghttpd(docroot, None, START)
}

fn grpcio_health() -> Option<Server> {
    let python = peer_file("venv/bin/python")?;
    Some(grpcio_health_server(&python, free_port(), START))
}

fn docroot() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tether-nghttpd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // 100 KiB: more than the 65,535-byte initial window, so WINDOW_UPDATEs must flow.
    let body: Vec<u8> = (0..100 * 1024).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), &body).expect("write file");
    dir
}

#[test]
fn nghttpd_get_large_body_with_flow_control_and_ping() {
    let root = docroot();
    let Some(peer) = nghttpd(&root) else { return };
    let mut trace_out = Vec::new();
    let outcome = trace::run(
        &Options::get(peer.addr, "/big.bin"),
        Config::default(),
        &mut trace_out,
    )
    .unwrap_or_else(|e| panic!("trace failed: {e}\n{}", String::from_utf8_lossy(&trace_out)));
    let expected: Vec<u8> = (0..100 * 1024).map(|i| (i % 251) as u8).collect();
    assert_eq!(outcome.status, Some(200));
    assert_eq!(outcome.body.len(), expected.len());
    assert!(
        outcome.body == expected,
        "body differs from the file served"
    );
    assert_eq!(outcome.rtts.len(), 1, "one PING, one RTT");
    assert!(outcome.peer_settings.is_some());
    let text = String::from_utf8_lossy(&trace_out);
    assert!(
        text.contains("<- SETTINGS"),
        "trace shows the server SETTINGS:\n{text}"
    );
    assert!(
        outcome.frames_received >= 4,
        "SETTINGS, ACK, HEADERS, DATA at least"
    );
}

#[test]
fn nghttpd_missing_file_is_404() {
    let root = docroot();
    let Some(peer) = nghttpd(&root) else { return };
    let outcome = trace::run(
        &Options::get(peer.addr, "/nope"),
        Config::default(),
        &mut Vec::new(),
    )
    .expect("a 404 is still a complete response");
    assert_eq!(outcome.status, Some(404));
}

#[test]
fn nghttpd_small_windows_still_complete() {
    let root = docroot();
    let Some(peer) = nghttpd(&root) else { return };
    let mut config = Config::default();
    config.initial_stream_window = 1024;
    config.initial_connection_window = 65_535;
    config.bdp_window = false;
    let mut out = Vec::new();
    let outcome = trace::run(&Options::get(peer.addr, "/big.bin"), config, &mut out)
        .unwrap_or_else(|e| {
            panic!(
                "response through a 1 KiB stream window: {e}\n{}",
                String::from_utf8_lossy(&out)
            )
        });
    assert_eq!(outcome.body.len(), 100 * 1024);
}

#[test]
fn grpcio_health_check_over_the_raw_core() {
    let Some(peer) = grpcio_health() else { return };
    // HealthCheckRequest { service: "tether.test" }
    let mut msg = vec![0x0a, 11];
    msg.extend_from_slice(b"tether.test");
    let opts = Options::grpc_unary(peer.addr, "/grpc.health.v1.Health/Check", &msg);
    let outcome = trace::run(&opts, Config::default(), &mut Vec::new()).expect("health check");
    assert_eq!(outcome.status, Some(200));
    let ct = outcome.headers.iter().find(|(n, _)| n == "content-type");
    assert_eq!(ct.map(|(_, v)| v.as_str()), Some("application/grpc"));
    // One length-prefixed HealthCheckResponse { status: SERVING (1) }.
    assert_eq!(outcome.body, vec![0, 0, 0, 0, 2, 0x08, 0x01]);
    let status = outcome.trailers.iter().find(|(n, _)| n == "grpc-status");
    assert_eq!(status.map(|(_, v)| v.as_str()), Some("0"));
}

#[test]
fn grpcio_unknown_service_is_not_found() {
    let Some(peer) = grpcio_health() else { return };
    let mut msg = vec![0x0a, 7];
    msg.extend_from_slice(b"nothere");
    let opts = Options::grpc_unary(peer.addr, "/grpc.health.v1.Health/Check", &msg);
    let outcome = trace::run(&opts, Config::default(), &mut Vec::new()).expect("complete response");
    // grpcio answers Trailers-Only or headers+trailers; either way grpc-status 5 (NOT_FOUND).
    let status = outcome
        .trailers
        .iter()
        .chain(outcome.headers.iter())
        .find(|(n, _)| n == "grpc-status");
    assert_eq!(status.map(|(_, v)| v.as_str()), Some("5"));
}
