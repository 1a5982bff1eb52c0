//! `tether call` and `tether list`, run as processes against real servers on
//! loopback: grpc-go 1.33 (go-policy-server, reflection v1alpha only, so the
//! v1 → v1alpha fallback is exercised) and grpcio (interop_server.py
//! --reflection v1, v1 only).
//!
//! The peers are installed by `scripts/install-peers.sh`; when one is missing
//! the test says so and skips, unless `TETHER_REQUIRE_PEERS=1`, where a
//! missing peer is a failure.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::{
    free_port, go_policy_server, loopback, peer_file, peers_dir, repo_root, skip,
    start_on_free_port, Opts, Ready, Run, Server,
};

/// How long a peer may take to start.
const START: Duration = Duration::from_secs(20);

/// grpc-go's TestService and Health, with reflection v1alpha.
fn go_peer() -> Option<Server> {
    let bin = peer_file("bin/go-policy-server")?;
    Some(start_on_free_port(
        |port| go_policy_server(&bin, loopback(port), &[]),
        Ready::Accepts,
        START,
    ))
}

/// grpcio's TestService and Health, with reflection v1 only.
fn grpcio_peer() -> Option<Server> {
    let python = peers_dir().join("venv/bin/python");
    let usable = Command::new(&python)
        .args(["-c", "import grpc, grpc_health, grpc_reflection"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !usable || !peers_dir().join("py/tether_testing").exists() {
        skip(".peers/venv with grpcio, grpcio-health-checking and grpcio-reflection");
        return None;
    }
    Some(grpcio_interop(&["--reflection", "v1"]))
}

/// grpcio's interop server (tests/peers/interop_server.py) with `flags`, on
/// a free port, exiting after 60 s at the latest.
fn grpcio_interop(flags: &[&str]) -> Server {
    start_on_free_port(
        |port| {
            let mut cmd = Command::new(peers_dir().join("venv/bin/python"));
            cmd.arg(repo_root().join("tests/peers/interop_server.py"))
                .arg(format!("--port={port}"))
                .args(flags)
                .args(["--lifetime", "60"]);
            cmd
        },
        Ready::SaysListening,
        START,
    )
}

/// Runs `tether ARGS` in the repository root (stdin: `input`), killing it
/// after 30 s.
fn tether(args: &[&str], input: Option<&str>) -> Run {
    support::tether_with(
        args,
        Opts {
            input,
            dir: Some(repo_root()),
            ..Opts::default()
        },
    )
}

const UNARY: &str = "grpc.testing.TestService/UnaryCall";

/// `list` shows the services (sorted), including the reflection version the
/// server serves; `list SERVICE` shows its methods.
fn lists(peer: &Server, reflection: &str) {
    let t = peer.target();
    let run = tether(&["list", &t], None);
    run.ok();
    let services = run.lines();
    for s in [
        "grpc.testing.TestService",
        "grpc.health.v1.Health",
        reflection,
    ] {
        assert!(services.contains(&s), "{s} in {services:?}");
    }
    let mut sorted = services.clone();
    sorted.sort();
    assert_eq!(services, sorted, "sorted");

    let run = tether(&["list", &t, "grpc.testing.TestService"], None);
    run.ok();
    let methods = run.lines();
    for m in [
        "UnaryCall",
        "StreamingOutputCall",
        "StreamingInputCall",
        "FullDuplexCall",
    ] {
        let full = format!("grpc.testing.TestService.{m}");
        assert!(methods.contains(&full.as_str()), "{full} in {methods:?}");
    }
    let run = tether(&["list", &t, "grpc.health.v1.Health"], None);
    run.ok();
    assert!(
        run.lines().contains(&"grpc.health.v1.Health.Check"),
        "{:?}",
        run.stdout
    );
}

#[test]
fn list_against_grpc_go_falls_back_to_v1alpha() {
    let Some(go) = go_peer() else { return };
    lists(&go, "grpc.reflection.v1alpha.ServerReflection");
}

#[test]
fn list_against_grpcio_uses_v1() {
    let Some(py) = grpcio_peer() else { return };
    lists(&py, "grpc.reflection.v1.ServerReflection");
}

/// A unary call by reflection: {"responseSize": 3} gets a 3-byte payload,
/// base64 "AAAA", printed as pretty JSON.
fn unary_by_reflection(peer: &Server) {
    let run = tether(
        &[
            "call",
            &peer.target(),
            UNARY,
            "-d",
            r#"{"responseSize": 3}"#,
        ],
        None,
    );
    run.ok();
    assert_eq!(run.json()["payload"]["body"], "AAAA", "{}", run.stdout);
    assert!(
        run.stdout.contains("\n  \"payload\""),
        "pretty: {}",
        run.stdout
    );
}

#[test]
fn unary_call_by_reflection_grpc_go() {
    let Some(go) = go_peer() else { return };
    unary_by_reflection(&go);
}

#[test]
fn unary_call_by_reflection_grpcio() {
    let Some(py) = grpcio_peer() else { return };
    unary_by_reflection(&py);
}

/// The same call with types from proto/ (protox, no reflection), with the
/// dotted method form; `list --proto` needs no server at all.
#[test]
fn unary_call_by_proto_files() {
    let Some(go) = go_peer() else { return };
    let protos = [
        "--proto",
        "proto/grpc/testing/test.proto",
        "--import-path",
        "proto",
    ];
    let t = go.target();
    let mut args = vec!["call", t.as_str(), "grpc.testing.TestService.UnaryCall"];
    args.extend(["-d", r#"{"responseSize": 3}"#]);
    args.extend(protos);
    let run = tether(&args, None);
    run.ok();
    assert_eq!(run.json()["payload"]["body"], "AAAA");

    // No server on this port: --proto needs no connection to list.
    let nobody = format!("127.0.0.1:{}", free_port());
    let mut args = vec!["list", nobody.as_str(), "grpc.testing.TestService"];
    args.extend(protos);
    let run = tether(&args, None);
    run.ok();
    assert!(run.lines().contains(&"grpc.testing.TestService.UnaryCall"));

    // A file that is not there: one line, exit 1, before any connection.
    let run = tether(&["call", &nobody, UNARY, "--proto", "nope.proto"], None);
    assert!(run.fails(1).contains("nope.proto"), "{}", run.stderr);
}

/// Server streaming: one compact JSON line per response, as they come.
#[test]
fn server_streaming_prints_json_lines() {
    let Some(go) = go_peer() else { return };
    let run = tether(
        &[
            "call",
            &go.target(),
            "grpc.testing.TestService/StreamingOutputCall",
            "-d",
            r#"{"responseParameters": [{"size": 2}, {"size": 1}]}"#,
        ],
        None,
    );
    run.ok();
    let lines = run.lines();
    assert_eq!(lines.len(), 2, "{:?}", run.stdout);
    let bodies: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("a JSON line")["payload"]["body"]
                .clone()
        })
        .collect();
    assert_eq!(bodies, ["AAA=", "AA=="]);
}

/// Client streaming from stdin, one JSON object per line: the server adds up
/// the payload sizes (3 + 1).
#[test]
fn client_streaming_reads_json_lines_from_stdin() {
    let Some(go) = go_peer() else { return };
    let input = "{\"payload\": {\"body\": \"AAAA\"}}\n{\"payload\": {\"body\": \"AA==\"}}\n";
    let run = tether(
        &[
            "call",
            &go.target(),
            "grpc.testing.TestService/StreamingInputCall",
            "-d",
            "@-",
        ],
        Some(input),
    );
    run.ok();
    assert_eq!(run.json()["aggregatedPayloadSize"], 4, "{}", run.stdout);
}

/// Bidi from a file: each line is a request, each response a JSON line.
#[test]
fn bidi_reads_a_file_and_prints_lines() {
    let Some(py) = grpcio_peer() else { return };
    let file = std::env::temp_dir().join(format!("tether-call-bidi-{}.jsonl", std::process::id()));
    std::fs::write(
        &file,
        "{\"responseParameters\": [{\"size\": 1}]}\n{\"responseParameters\": [{\"size\": 2}]}\n",
    )
    .expect("write the request file");
    let data = format!("@{}", file.display());
    let run = tether(
        &[
            "call",
            &py.target(),
            "grpc.testing.TestService/FullDuplexCall",
            "-d",
            &data,
        ],
        None,
    );
    let _ = std::fs::remove_file(&file);
    run.ok();
    assert_eq!(
        run.lines(),
        [
            r#"{"payload":{"body":"AA=="}}"#,
            r#"{"payload":{"body":"AAA="}}"#
        ]
    );
}

/// -H sends metadata (also to reflection); -v prints the response headers,
/// where grpc-go echoes x-grpc-test-echo-initial.
#[test]
fn headers_are_sent_and_echoed() {
    let Some(go) = go_peer() else { return };
    let t = go.target();
    let args = [
        "call",
        &t,
        UNARY,
        "-H",
        "x-grpc-test-echo-initial: hello tether",
    ];
    let run = tether(&[&args[..], &["-v"]].concat(), None);
    run.ok();
    assert!(
        run.stderr
            .lines()
            .any(|l| l == "header: x-grpc-test-echo-initial: hello tether"),
        "{}",
        run.stderr
    );
    let quiet = tether(&args, None);
    quiet.ok();
    assert!(
        !quiet.stderr.contains("x-grpc-test-echo-initial"),
        "{}",
        quiet.stderr
    );
}

/// Bad input is one line and exit 1; a non-OK status is one line and exit
/// 64 + code; no server is exit 2.
#[test]
fn errors_are_one_line_with_distinct_codes() {
    let Some(go) = go_peer() else { return };
    let t = go.target();

    let run = tether(&["call", &t, UNARY, "-d", r#"{"responseSize": 3"#], None);
    assert!(run.fails(1).contains("bad JSON"), "{}", run.stderr);
    let run = tether(&["call", &t, UNARY, "-d", r#"{"noSuchField": 1}"#], None);
    assert!(run.fails(1).contains("noSuchField"), "{}", run.stderr);

    let run = tether(&["call", &t, "grpc.testing.TestService/NoSuchMethod"], None);
    assert!(run.fails(1).contains("NoSuchMethod"), "{}", run.stderr);
    let run = tether(&["call", &t, "grpc.testing.NoSuchService/UnaryCall"], None);
    assert!(run.fails(1).contains("NoSuchService"), "{}", run.stderr);
    let run = tether(&["call", &t, "UnaryCall"], None);
    assert!(run.fails(1).contains("bad method"), "{}", run.stderr);
    let run = tether(&["call", &t, UNARY, "--no-such-flag"], None);
    assert!(run.fails(1).contains("--no-such-flag"), "{}", run.stderr);

    let run = tether(
        &[
            "call",
            &t,
            UNARY,
            "-d",
            r#"{"responseStatus": {"code": 5, "message": "nope"}}"#,
        ],
        None,
    );
    assert_eq!(run.fails(64 + 5), "ERROR: code = NotFound desc = nope");
    assert_eq!(run.stdout, "");

    // A deadline: five responses 200 ms apart do not fit in 500 ms.
    let slow = r#"{"responseParameters": [{"size": 1, "intervalUs": 200000}, {"size": 1, "intervalUs": 200000}, {"size": 1, "intervalUs": 200000}, {"size": 1, "intervalUs": 200000}, {"size": 1, "intervalUs": 200000}]}"#;
    let run = tether(
        &[
            "call",
            &t,
            "grpc.testing.TestService/StreamingOutputCall",
            "--max-time",
            "500ms",
            "-d",
            slow,
        ],
        None,
    );
    assert!(
        run.fails(64 + 4)
            .starts_with("ERROR: code = DeadlineExceeded"),
        "{}",
        run.stderr
    );

    let nobody = format!("127.0.0.1:{}", free_port());
    let run = tether(&["call", &nobody, UNARY], None);
    assert!(run.fails(2).contains("cannot connect"), "{}", run.stderr);
    let run = tether(&["list", &nobody], None);
    run.fails(2);
}

/// TLS: host:port with --tls-ca-cert (the test CA) and --tls-server-name
/// calls a grpcio TLS server; without the CA the handshake fails (exit 2),
/// and so does plaintext.
#[test]
fn tls_with_a_custom_ca() {
    let Some(plain) = grpcio_peer() else { return };
    drop(plain);
    let Some(ca) = peer_file("tls/ca.pem") else {
        return;
    };
    let peer = grpcio_interop(&["--tls", "--reflection", "both"]);
    let t = peer.target();
    let ca = ca.to_string_lossy().into_owned();
    let run = tether(
        &[
            "call",
            &t,
            UNARY,
            "--tls-ca-cert",
            &ca,
            "--tls-server-name",
            "foo.test.google.fr",
            "-d",
            r#"{"responseSize": 3}"#,
        ],
        None,
    );
    run.ok();
    assert_eq!(run.json()["payload"]["body"], "AAAA");
    let run = tether(&["list", &t, "--tls"], None);
    assert!(run.fails(2).contains("certificate"), "{}", run.stderr);
    let run = tether(&["list", &t], None);
    run.fails(2);
    let run = tether(&["list", &t, "--plaintext", "--tls"], None);
    run.fails(1);
}
