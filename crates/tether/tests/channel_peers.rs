//! Real peers: the grpcio (C-core) health server in plaintext, the grpcio
//! interop server over TLS, and a scripted server on a Unix socket.
//!
//! The Python peers live in `.peers/` (scripts/install-peers.sh, or
//! `TETHER_PEERS_DIR`); without them these tests skip with a message unless
//! `TETHER_REQUIRE_PEERS=1`.

mod channel_support;

use bytes::Bytes;
use channel_support::peers::*;
use channel_support::*;
use std::process::Command;
use std::time::Duration;
use tether::{BytesCodec, Channel, Code, Request, TlsConfig};

#[tokio::test]
async fn health_check_against_grpcio() {
    let Some(py) = python() else { return };
    let port = free_port();
    let mut cmd = Command::new(py);
    cmd.arg(repo_dir().join("tests/peers/health_server.py"))
        .arg(port.to_string());
    let _peer = start(cmd).await;
    let channel = Channel::builder(&format!("http://127.0.0.1:{port}"))
        .unwrap()
        .build()
        .unwrap();
    // HealthCheckRequest { service: "" } is empty on the wire.
    let req = Request::new(Bytes::new()).with_timeout(Duration::from_secs(5));
    let resp = within(
        10,
        channel.unary("/grpc.health.v1.Health/Check", req, BytesCodec),
    )
    .await
    .unwrap();
    // HealthCheckResponse { status: SERVING (1) }.
    assert_eq!(resp.message(), &Bytes::from_static(b"\x08\x01"));
    // An unknown service: NOT_FOUND from the servicer.
    let req = Request::new(Bytes::from_static(b"\x0a\x07missing"));
    let err = within(
        10,
        channel.unary("/grpc.health.v1.Health/Check", req, BytesCodec),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err}");
    // An unknown method: UNIMPLEMENTED.
    let err = within(
        10,
        channel.unary(
            "/grpc.health.v1.Health/Nope",
            Request::new(Bytes::new()),
            BytesCodec,
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "{err}");
}

#[tokio::test]
async fn tls_empty_call_against_grpcio_interop_server() {
    let Some(py) = python() else { return };
    let ca = std::fs::read(peers_dir().join("tls/ca.pem")).expect("peers TLS CA");
    let port = free_port();
    let _peer = grpcio_interop_tls(py, port).await;
    let tls = TlsConfig::new()
        .ca_pem(&ca)
        .unwrap()
        .server_name("foo.test.google.fr");
    let channel = within(
        10,
        Channel::builder(&format!("https://127.0.0.1:{port}"))
            .unwrap()
            .tls(tls)
            .connect(),
    )
    .await
    .unwrap();
    let resp = within(
        10,
        channel.unary(
            "/grpc.testing.TestService/EmptyCall",
            Request::new(Bytes::new()),
            BytesCodec,
        ),
    )
    .await
    .unwrap();
    assert!(resp.message().is_empty());
    // Server streaming over TLS: StreamingOutputCallRequest with two
    // response_parameters { size: 3 } → two responses.
    let params = b"\x12\x02\x08\x03";
    let req = Bytes::from([&params[..], &params[..]].concat());
    let resp = within(
        10,
        channel.server_streaming(
            "/grpc.testing.TestService/StreamingOutputCall",
            Request::new(req),
            BytesCodec,
        ),
    )
    .await
    .unwrap();
    let mut stream = resp.into_message();
    let mut n = 0;
    while let Some(m) = within(10, stream.message()).await.unwrap() {
        // StreamingOutputCallResponse { payload { body: 3 zero bytes } }.
        assert_eq!(&m[..], b"\x0a\x05\x12\x03\0\0\0");
        n += 1;
    }
    assert_eq!(n, 2);
}

#[tokio::test]
async fn tls_wrong_ca_fails_unavailable() {
    let Some(py) = python() else { return };
    let port = free_port();
    let _peer = grpcio_interop_tls(py, port).await;
    // webpki roots do not trust the test CA.
    let channel = Channel::builder(&format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls(TlsConfig::new().server_name("foo.test.google.fr"))
        .build()
        .unwrap();
    let err = within(
        10,
        channel.unary(
            "/grpc.testing.TestService/EmptyCall",
            Request::new(Bytes::new()),
            BytesCodec,
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(err.message().contains("TLS handshake failed"), "{err}");
}

#[cfg(unix)]
#[tokio::test]
async fn unary_over_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("tether-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.sock");
    let _ = std::fs::remove_file(&path);
    let l = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        let (io, _) = l.accept().await.unwrap();
        let mut s = Server::handshake(io).await;
        let (id, fields, msgs) = s.request().await;
        assert_eq!(field(&fields, ":authority"), Some("localhost"));
        assert_eq!(msgs, vec![Bytes::from_static(b"over unix")]);
        s.unary_ok(id, b"hello").await;
        s.next().await;
    });
    let channel = Channel::builder(&format!("unix://{}", path.display()))
        .unwrap()
        .build()
        .unwrap();
    let resp = within(
        5,
        channel.unary(
            "/a.B/C",
            Request::new(Bytes::from_static(b"over unix")),
            BytesCodec,
        ),
    )
    .await
    .unwrap();
    assert_eq!(resp.message(), &Bytes::from_static(b"hello"));
    let _ = std::fs::remove_dir_all(&dir);
}
