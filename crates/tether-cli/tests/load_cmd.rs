//! `tether load` run as a process against real grpc-go servers: the policy
//! server (`.peers/bin/go-policy-server`, tests/peers/go/policy_server:
//! grpc.testing.TestService, every response carrying `x-backend`) on
//! 127.0.0.2, .3, .4 sharing one port.
//!
//! Without the Go peers the tests that need them skip, unless
//! `TETHER_REQUIRE_PEERS=1`, where a missing peer is a failure.

mod support;

use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;
use support::{free_port, go_policy_server, peer_file, Opts, Ready, Run, Server};

fn ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 2 + i as u8)
}

/// A port free on 127.0.0.2 .. 127.0.0.(1+n), never handed out twice in this
/// test process (the tests run in parallel).
fn shared_free_port(n: usize) -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    'next: for _ in 0..100 {
        let first = TcpListener::bind((ip(0), 0)).unwrap();
        let port = first.local_addr().unwrap().port();
        if given.contains(&port) {
            continue 'next;
        }
        let mut held = vec![first];
        for i in 1..n {
            match TcpListener::bind((ip(i), port)) {
                Ok(l) => held.push(l),
                Err(_) => continue 'next,
            }
        }
        given.push(port);
        return port;
    }
    panic!("no port free on all of 127.0.0.2..");
}

/// `n` go-policy-servers on 127.0.0.2.. sharing a port; `None`: skip.
fn policy_servers(n: usize) -> Option<(Vec<Server>, u16)> {
    let bin = peer_file("bin/go-policy-server")?;
    let port = shared_free_port(n);
    let mut servers = Vec::new();
    for i in 0..n {
        let addr = SocketAddr::from((ip(i), port));
        let cmd = go_policy_server(&bin, addr, &[]);
        servers.push(Server::start(
            cmd,
            addr,
            Ready::Accepts,
            Duration::from_secs(20),
        ));
    }
    Some((servers, port))
}

/// Runs `tether load ARGS`, killing it (by pid) after 60 s.
fn tether_load(args: &[&str]) -> Run {
    let mut all = vec!["load"];
    all.extend_from_slice(args);
    support::tether_with(
        &all,
        Opts {
            limit: Duration::from_secs(60),
            ..Opts::default()
        },
    )
}

/// Runs with `--json`, expects status 0 and one JSON object of the
/// documented schema; returns it.
fn json_run(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = tether_load(&all);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    // On a pipe: no progress line, nothing on stderr.
    assert_eq!(out.stderr, "", "stderr on a pipe");
    assert_eq!(out.stdout.lines().count(), 1, "one line: {}", out.stdout);
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON");
    check_schema(&v);
    v
}

fn check_schema(v: &Value) {
    let o = v.as_object().expect("an object");
    for k in ["calls", "ok", "errors"] {
        assert!(o[k].is_u64(), "{k} in {v}");
    }
    for k in ["duration_s", "rps"] {
        assert!(o[k].is_f64(), "{k} in {v}");
    }
    let l = o["latency_us"].as_object().expect("latency_us");
    let get = |k: &str| l[k].as_u64().unwrap_or_else(|| panic!("latency_us.{k}"));
    assert!(l["mean"].is_number());
    let (p50, p90, p99, p999, max) = (get("p50"), get("p90"), get("p99"), get("p999"), get("max"));
    assert!(
        p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max,
        "{l:?}"
    );
    let sum = |k: &str| -> u64 {
        o[k].as_object()
            .unwrap_or_else(|| panic!("{k}"))
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum()
    };
    let calls = o["calls"].as_u64().unwrap();
    assert_eq!(sum("status"), calls, "{v}");
    assert_eq!(sum("backends"), calls, "{v}");
    assert_eq!(
        o["ok"].as_u64().unwrap() + o["errors"].as_u64().unwrap(),
        calls
    );
}

const UNARY: &str = "grpc.testing.TestService/UnaryCall";

#[test]
fn fifty_calls_four_workers_json() {
    let Some((_s, port)) = policy_servers(1) else {
        return;
    };
    let target = format!("http://127.0.0.2:{port}");
    let v = json_run(&[&target, UNARY, "--calls", "50", "--concurrency", "4"]);
    assert_eq!(v["calls"], 50, "{v}");
    assert_eq!(v["ok"], 50, "{v}");
    assert_eq!(v["errors"], 0, "{v}");
    assert_eq!(v["status"], serde_json::json!({"OK": 50}), "{v}");
    // The policy server names itself in x-backend.
    assert_eq!(
        v["backends"],
        serde_json::json!({ format!("127.0.0.2:{port}"): 50 }),
        "{v}"
    );
    assert!(v["rps"].as_f64().unwrap() > 0.0);
}

#[test]
fn round_robin_spreads_calls_over_three_backends() {
    let Some((_s, port)) = policy_servers(3) else {
        return;
    };
    let target = format!("ipv4:127.0.0.2:{port},127.0.0.3:{port},127.0.0.4:{port}");
    let v = json_run(&[
        &target,
        UNARY,
        "--lb",
        "round_robin",
        "--calls",
        "60",
        "-c",
        "3",
        "--payload",
        "100",
    ]);
    assert_eq!(v["ok"], 60, "{v}");
    let b = v["backends"].as_object().unwrap();
    assert_eq!(b.len(), 3, "{v}");
    for i in 2..=4 {
        let n = b[&format!("127.0.0.{i}:{port}")].as_u64().unwrap();
        assert!(n >= 10, "127.0.0.{i} got {n} of 60: {v}");
    }
    // peak_ewma over equal backends: every call OK, spread over several.
    let v = json_run(&[
        &target,
        UNARY,
        "--lb",
        "peak_ewma",
        "--calls",
        "60",
        "-c",
        "3",
    ]);
    assert_eq!(v["ok"], 60, "{v}");
    assert!(v["backends"].as_object().unwrap().len() >= 2, "{v}");
    // pick_first, for contrast: one backend.
    let v = json_run(&[
        &target,
        UNARY,
        "--lb",
        "pick_first",
        "--calls",
        "30",
        "-c",
        "3",
    ]);
    assert_eq!(v["backends"].as_object().unwrap().len(), 1, "{v}");
}

#[test]
fn open_loop_rate_100_for_1s() {
    let Some((_s, port)) = policy_servers(1) else {
        return;
    };
    let target = format!("http://127.0.0.2:{port}");
    let v = json_run(&[&target, UNARY, "--rate", "100", "--duration", "1s"]);
    let calls = v["calls"].as_u64().unwrap();
    assert!((80..=120).contains(&calls), "{calls} calls: {v}");
    assert_eq!(v["errors"], 0, "{v}");
    let secs = v["duration_s"].as_f64().unwrap();
    assert!((0.9..3.0).contains(&secs), "{v}");
}

#[test]
fn errors_are_counted_by_status() {
    let Some((_s, port)) = policy_servers(1) else {
        return;
    };
    let target = format!("http://127.0.0.2:{port}");
    let v = json_run(&[
        &target,
        "/grpc.testing.TestService/NoSuchMethod",
        "--calls",
        "20",
        "-c",
        "2",
    ]);
    assert_eq!(v["calls"], 20, "{v}");
    assert_eq!(v["ok"], 0, "{v}");
    assert_eq!(v["errors"], 20, "{v}");
    assert_eq!(v["status"], serde_json::json!({"UNIMPLEMENTED": 20}), "{v}");
    // The server's interceptor does not run for an unknown method: no x-backend.
    assert_eq!(v["backends"], serde_json::json!({"unknown": 20}), "{v}");
}

#[test]
fn deadline_exceeded_against_a_slow_method() {
    let Some((_s, port)) = policy_servers(1) else {
        return;
    };
    let target = format!("http://127.0.0.2:{port}");
    // StreamingOutputCallRequest { response_parameters { size: 1, interval_us: 100000 } }:
    // the server waits 100 ms before its first (only) response.
    let slow = "1206080110a08d06";
    let v = json_run(&[
        &target,
        "grpc.testing.TestService/StreamingOutputCall",
        "--data-bytes",
        slow,
        "--deadline",
        "1ms",
        "--calls",
        "6",
        "-c",
        "3",
    ]);
    assert_eq!(
        v["status"],
        serde_json::json!({"DEADLINE_EXCEEDED": 6}),
        "{v}"
    );
    // The same call with a generous deadline succeeds (the request is right).
    let v = json_run(&[
        &target,
        "grpc.testing.TestService/StreamingOutputCall",
        "--data-bytes",
        slow,
        "--deadline",
        "5s",
        "--calls",
        "2",
    ]);
    assert_eq!(v["status"], serde_json::json!({"OK": 2}), "{v}");
}

#[test]
fn text_report_has_percentiles_histogram_statuses_and_backends() {
    let Some((_s, port)) = policy_servers(1) else {
        return;
    };
    let target = format!("http://127.0.0.2:{port}");
    let out = tether_load(&[&target, UNARY, "--calls", "40", "-c", "4"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stderr, "", "no progress line on a pipe");
    let t = &out.stdout;
    assert!(t.contains("calls: 40 in "), "{t}");
    for p in ["p50 ", "p90 ", "p99 ", "p99.9 ", "max ", "mean "] {
        assert!(t.contains(p), "{p}: {t}");
    }
    assert!(t.contains(" |#"), "histogram bars: {t}");
    assert!(t.contains("OK                   40"), "{t}");
    assert!(t.contains(&format!("127.0.0.2:{port}      40")), "{t}");
}

/// Exit status and one line on stderr.
fn fails_with(args: &[&str], code: i32, needle: &str) {
    let out = tether_load(args);
    assert_eq!(out.code, Some(code), "{args:?}: {}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "one line: {:?}", out.stderr);
    assert!(
        out.stderr.contains(needle),
        "{needle:?} in {:?}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[test]
fn bad_input_is_exit_1_and_no_connection_exit_2_each_one_line() {
    let port = free_port(); // bound, then released: nobody listens
    let t = format!("http://127.0.0.1:{port}");
    // 1: bad input (the command line, the target, the method), as every subcommand.
    fails_with(&[&t, UNARY, "--bogus"], 1, "--bogus");
    fails_with(
        &[&t, UNARY, "--rate", "5", "-c", "2"],
        1,
        "cannot be used with",
    );
    fails_with(&[&t, UNARY, "--duration", "soon"], 1, "soon");
    fails_with(&[&t, UNARY, "--data-bytes", "xyz"], 1, "--data-bytes");
    fails_with(&[&t, UNARY, "-c", "0"], 1, "--concurrency");
    fails_with(&["dns:", UNARY], 1, "bad target");
    fails_with(&[&t, UNARY, "--service-config", "{"], 1, "--service-config");
    fails_with(&[&t, "NoSlash", "--calls", "1"], 1, "bad method");
    // 2: nothing listens there.
    fails_with(
        &[&t, UNARY, "--calls", "1", "--connect-timeout", "5s"],
        2,
        "cannot connect",
    );
}
