//! TLS details that need a real handshake: `TlsConfig::native_roots` reading
//! the system store (pointed at the test CA with `SSL_CERT_FILE`, then used
//! against the grpcio interop server), and ALPN `h2` being required (an
//! in-process TLS server that offers no ALPN).
//!
//! The certificates come from `.peers/tls` (scripts/install-peers.sh); without
//! them these tests skip with a message unless `TETHER_REQUIRE_PEERS=1`.
//! This file holds the only test that sets `SSL_CERT_FILE`, in its own process.

mod channel_support;

use bytes::Bytes;
use channel_support::peers::*;
use channel_support::within;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use std::time::Duration;
use tether::{BytesCodec, Channel, Code, Request, TlsConfig};

#[tokio::test]
async fn native_roots_reads_the_system_store() {
    let (Some(py), Some(ca)) = (peer_file("venv/bin/python"), peer_file("tls/ca.pem")) else {
        return;
    };
    // The real system store first: on a Debian machine it has the distribution's bundle.
    let system = TlsConfig::new().native_roots();
    if let Ok(t) = &system {
        assert!(t.root_count() > 0);
    }
    // rustls-native-certs honours SSL_CERT_FILE and SSL_CERT_DIR (this machine's
    // environment may set both): make the "system store" exactly the test CA.
    std::env::remove_var("SSL_CERT_DIR");
    std::env::set_var("SSL_CERT_FILE", &ca);
    let tls = TlsConfig::new()
        .native_roots()
        .expect("the system store (SSL_CERT_FILE) loads")
        .server_name("foo.test.google.fr");
    assert_eq!(
        tls.root_count(),
        1,
        "exactly the test CA, not the webpki roots"
    );

    let port = free_port();
    let _peer = grpcio_interop_tls(py, port).await;

    let channel = Channel::builder(&format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls(tls)
        .build();
    let resp = within(
        10,
        channel.unary(
            "/grpc.testing.TestService/EmptyCall",
            Request::new(Bytes::new()),
            BytesCodec,
        ),
    )
    .await
    .expect("EmptyCall over TLS verified by the system store");
    assert!(resp.message().is_empty());
}

#[tokio::test]
async fn tls_without_alpn_h2_is_a_clear_unavailable() {
    let (Some(cert), Some(key), Some(ca)) = (
        peer_file("tls/server.pem"),
        peer_file("tls/server.key"),
        peer_file("tls/ca.pem"),
    ) else {
        return;
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // A TLS server that speaks no ALPN at all (an HTTP/1.1-only server would look like this).
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (saw_tx, saw_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(tcp).await.unwrap();
        // What the client wrote after the handshake: nothing, if it refused first.
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::io::AsyncReadExt::read(&mut tls, &mut buf),
        )
        .await
        .map_or(0, |r| r.unwrap_or(0));
        let _ = saw_tx.send(n);
    });

    let tls = TlsConfig::new()
        .ca_pem(&std::fs::read(&ca).unwrap())
        .unwrap()
        .server_name("foo.test.google.fr");
    let channel = Channel::builder(&format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls(tls)
        .build();
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
    assert!(
        err.message().contains("ALPN"),
        "the message names ALPN: {err}"
    );
    // HOSTILE A4: abort before the preface: the server got no HTTP/2 bytes.
    assert_eq!(within(5, saw_rx).await.unwrap(), 0, "no preface was sent");
}

/// A TLS server that requires a client certificate from the test CA, offers
/// ALPN h2, and reports the handshake's outcome (the client certificate it
/// saw, or the handshake error), then drops the connection.
async fn mtls_server(
    ca: &std::path::Path,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> (u16, tokio::sync::oneshot::Receiver<Result<Vec<u8>, String>>) {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let outcome = match acceptor.accept(tcp).await {
            Ok(tls) => tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.as_ref().to_vec())
                .ok_or_else(|| "no client certificate".to_owned()),
            Err(e) => Err(e.to_string()),
        };
        let _ = tx.send(outcome);
    });
    (port, rx)
}

#[tokio::test]
async fn mtls_presents_the_client_identity() {
    let files = [
        "tls/ca.pem",
        "tls/server.pem",
        "tls/server.key",
        "tls/client.pem",
        "tls/client.key",
    ]
    .map(peer_file);
    let [Some(ca), Some(scert), Some(skey), Some(ccert), Some(ckey)] = files else {
        return;
    };
    let ca_pem = std::fs::read(&ca).unwrap();
    let call = |port: u16, tls: TlsConfig| async move {
        let channel = Channel::builder(&format!("https://127.0.0.1:{port}"))
            .unwrap()
            .tls(tls)
            .build();
        within(
            10,
            channel.unary("/x.Y/Z", Request::new(Bytes::new()), BytesCodec),
        )
        .await
    };

    // With the identity: the server's handshake succeeds and it sees our certificate.
    let (port, seen) = mtls_server(&ca, &scert, &skey).await;
    let tls = TlsConfig::new()
        .ca_pem(&ca_pem)
        .unwrap()
        .identity_pem(
            &std::fs::read(&ccert).unwrap(),
            &std::fs::read(&ckey).unwrap(),
        )
        .unwrap()
        .server_name("foo.test.google.fr");
    // The server hangs up right after the handshake: the call itself fails.
    let _ = call(port, tls).await;
    let ours = CertificateDer::from_pem_file(&ccert).unwrap();
    assert_eq!(
        within(5, seen).await.unwrap(),
        Ok(ours.as_ref().to_vec()),
        "the server saw our client certificate"
    );

    // Without it: the server refuses the handshake, and the call fails UNAVAILABLE.
    let (port, seen) = mtls_server(&ca, &scert, &skey).await;
    let tls = TlsConfig::new()
        .ca_pem(&ca_pem)
        .unwrap()
        .server_name("foo.test.google.fr");
    let err = call(port, tls).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    let refused = within(5, seen).await.unwrap();
    assert!(
        refused.is_err(),
        "the server must refuse a client without a certificate: {refused:?}"
    );

    // A malformed identity is refused locally.
    let bad = TlsConfig::new().identity_pem(b"not a pem", b"nor this");
    assert_eq!(bad.unwrap_err().code(), Code::InvalidArgument);
}
