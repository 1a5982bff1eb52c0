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
        .build()
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
            .build()
            .unwrap();
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

/// A socket that hands the TLS server at most 16 KiB per read, a
/// millisecond apart: a server that reads slower than the client writes,
/// so the client's socket buffer is full when its last bytes are written.
struct SlowReader {
    inner: tokio::net::TcpStream,
    pause: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl tokio::io::AsyncRead for SlowReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::future::Future;
        use std::task::Poll;
        if let Some(pause) = self.pause.as_mut() {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        let room = buf.remaining().min(32 * 1024);
        let mut limited = tokio::io::ReadBuf::new(buf.initialize_unfilled_to(room));
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, &mut limited);
        let n = limited.filled().len();
        if let Poll::Ready(Ok(())) = r {
            buf.advance(n);
            self.pause = Some(Box::pin(tokio::time::sleep(Duration::from_millis(1))));
        }
        r
    }
}

impl tokio::io::AsyncWrite for SlowReader {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Requests larger than the socket buffers, to a TLS server that reads
/// slowly, complete. tokio-rustls takes bytes into rustls and reports them
/// written even when the socket would block, so the driver flushes until
/// rustls has written everything. (On Linux loopback this test did not
/// stall without the flush either: the kernel wakes a writer only with a
/// third of the send buffer free, which took rustls' last bytes every time
/// we tried; it guards the large-request path over TLS. The driver's unit
/// test `written_bytes_are_flushed_to_the_peer`, with a stream that holds
/// bytes until flushed, fails without the flush.)
#[tokio::test]
async fn large_requests_to_a_slow_tls_reader_complete() {
    use channel_support::Server;
    use tether_h2::frame::{Setting, SettingId};
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
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    // A small, fixed receive buffer (no autotuning, which on loopback can
    // take a whole request): the client's socket fills up.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(16).unwrap();
    let port = listener.local_addr().unwrap().port();
    const CALLS: usize = 4;
    let size = |i: usize| 3 * 1024 * 1024 + i * 29 * 1024 + 17;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor
            .accept(SlowReader {
                inner: tcp,
                pause: None,
            })
            .await
            .unwrap();
        // Windows wide enough for every request: nothing the server sends
        // (a WINDOW_UPDATE) wakes the client's writer.
        let big = Setting {
            id: SettingId::INITIAL_WINDOW_SIZE,
            value: i32::MAX as u32,
        };
        let mut s = Server::handshake_with(tls, vec![big]).await;
        s.window_update(tether_h2::StreamId::new(0), i32::MAX as u32 - 65_535)
            .await;
        for i in 0..CALLS {
            let (id, _, msgs) = s.request().await;
            assert_eq!(msgs.len(), 1);
            assert_eq!(msgs[0].len(), size(i));
            s.unary_ok(id, b"got it").await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), s.next_any()).await;
    });
    let tls = TlsConfig::new()
        .ca_pem(&std::fs::read(&ca).unwrap())
        .unwrap()
        .server_name("foo.test.google.fr");
    let channel = Channel::builder(&format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls(tls)
        .build()
        .unwrap();
    for i in 0..CALLS {
        let request = Request::new(Bytes::from(vec![7u8; size(i)]));
        let resp = tokio::time::timeout(
            Duration::from_secs(10),
            channel.unary("/pkg.Svc/Upload", request, BytesCodec),
        )
        .await
        .unwrap_or_else(|_| panic!("request {i} ({} bytes) stalled", size(i)))
        .unwrap();
        assert_eq!(resp.into_message(), Bytes::from_static(b"got it"));
    }
    drop(channel);
    server.await.unwrap();
}

/// A TLS configuration rustls refuses fails `build()` with INVALID_ARGUMENT
/// naming the problem (it used to build, then fail every connection).
#[test]
fn an_unusable_tls_configuration_fails_at_build() {
    // Well-formed PEM around bytes that are no certificate.
    let pem = b"-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n";
    let tls = TlsConfig::new().ca_pem(pem).expect("the PEM itself parses");
    let err = Channel::builder("https://127.0.0.1:1")
        .unwrap()
        .tls(tls)
        .build()
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert!(err.message().contains("CA certificate"), "{err}");
    // The default (webpki roots) builds.
    assert!(Channel::builder("https://127.0.0.1:1")
        .unwrap()
        .build()
        .is_ok());
}
