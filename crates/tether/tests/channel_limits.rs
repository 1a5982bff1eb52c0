//! Limits and encodings a user configures on the channel hold end to end,
//! against a scripted HTTP/2 server: one configured value, not a second, hidden one.

mod channel_support;

use bytes::Bytes;
use channel_support::*;
use std::time::Duration;
use tether::{BytesCodec, Channel, Code, Request};

/// Serves one unary call whose trailers carry a `pad_len`-byte value.
async fn serve_big_trailers(pad_len: usize) -> (String, tokio::task::JoinHandle<()>) {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        s.response_headers(id).await;
        s.message_out(id, b"pong").await;
        let pad = "p".repeat(pad_len);
        s.headers(id, &[("grpc-status", "0"), ("x-pad", &pad)], true)
            .await;
        // Keep the connection open until the client is done with it.
        let _ = tokio::time::timeout(Duration::from_secs(5), s.next_any()).await;
    });
    (target, server)
}

fn call(channel: &Channel) -> impl std::future::Future<Output = Result<Bytes, tether::Status>> {
    let channel = channel.clone();
    async move {
        let req = Request::new(Bytes::from_static(b"ping")).with_timeout(Duration::from_secs(5));
        let resp = channel.unary("/pkg.Svc/Echo", req, BytesCodec).await?;
        Ok(resp.into_message())
    }
}

/// Raising `max_header_list_size` raises it for the gRPC layer too: 40 KiB
/// of trailers pass with a 64 KiB limit (they failed at the gRPC layer's
/// own 16 KiB default before the two limits became one).
#[tokio::test]
async fn a_raised_header_list_limit_applies_to_grpc_trailers() {
    let (target, server) = serve_big_trailers(40 * 1024).await;
    let mut http2 = tether_h2::Config::default();
    http2.max_header_list_size = 64 * 1024;
    let channel = Channel::builder(&target)
        .unwrap()
        .http2(http2)
        .build()
        .unwrap();
    let message = within(5, call(&channel)).await.unwrap();
    assert_eq!(message, Bytes::from_static(b"pong"));
    drop(channel);
    server.await.unwrap();
}

/// The default limit (16 KiB) still refuses 40 KiB of trailers: the core
/// resets the stream (RFC 9113 §10.5.1) and the call ends naming the limit.
#[tokio::test]
async fn the_default_header_list_limit_refuses_big_trailers() {
    let (target, server) = serve_big_trailers(40 * 1024).await;
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let status = within(5, call(&channel)).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert!(
        status.message().contains("SETTINGS_MAX_HEADER_LIST_SIZE"),
        "{status:?}"
    );
    drop(channel);
    server.abort();
}

/// gzip both ways against a scripted server: the request offers gzip, a
/// compressed call says `grpc-encoding: gzip` and sets the Compressed-Flag,
/// and a gzip response is inflated; a call without compression sends its
/// message as is.
#[tokio::test]
async fn gzip_requests_and_responses_on_the_wire() {
    use std::io::{Read, Write};
    let reply = b"a reply that compresses, compresses, compresses".repeat(20);
    let reply_for_server = reply.clone();
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        // A compressed request.
        let (id, fields) = s.request_headers().await;
        assert_eq!(field(&fields, "grpc-encoding"), Some("gzip"));
        assert_eq!(field(&fields, "grpc-accept-encoding"), Some("gzip"));
        let framed = s.framed_body(id).await;
        assert_eq!(framed[0], 1, "the Compressed-Flag is set");
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&framed[5..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, b"hello ".repeat(100));
        // Answer compressed.
        s.headers(
            id,
            &[
                (":status", "200"),
                ("content-type", "application/grpc"),
                ("grpc-encoding", "gzip"),
            ],
            false,
        )
        .await;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&reply_for_server).unwrap();
        let packed = gz.finish().unwrap();
        let mut msg = vec![1];
        msg.extend_from_slice(&(packed.len() as u32).to_be_bytes());
        msg.extend_from_slice(&packed);
        s.data_out(id, &msg).await;
        s.trailers(id, 0, "").await;
        // An uncompressed request on the same channel.
        let (id, fields) = s.request_headers().await;
        assert_eq!(field(&fields, "grpc-encoding"), None);
        assert_eq!(field(&fields, "grpc-accept-encoding"), Some("gzip"));
        let framed = s.framed_body(id).await;
        assert_eq!(&framed[..], b"\0\0\0\0\x05plain");
        s.unary_ok(id, b"ok").await;
        let _ = tokio::time::timeout(Duration::from_secs(5), s.next_any()).await;
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let req = Request::new(Bytes::from("hello ".repeat(100)))
        .with_compression(tether::Encoding::Gzip)
        .with_timeout(Duration::from_secs(5));
    let resp = within(5, channel.unary("/pkg.Svc/Zip", req, BytesCodec))
        .await
        .unwrap();
    assert_eq!(&resp.message()[..], &reply[..]);
    let req = Request::new(Bytes::from_static(b"plain"));
    let resp = within(5, channel.unary("/pkg.Svc/Plain", req, BytesCodec))
        .await
        .unwrap();
    assert_eq!(&resp.message()[..], b"ok");
    drop(channel);
    server.await.unwrap();
}

/// The channel-wide setting compresses every call; a call can opt out.
#[tokio::test]
async fn send_compressed_applies_to_every_call_unless_the_call_opts_out() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let mut seen = Vec::new();
        for _ in 0..2 {
            let (id, fields) = s.request_headers().await;
            let framed = s.framed_body(id).await;
            seen.push((
                field(&fields, "grpc-encoding").map(str::to_owned),
                framed[0],
            ));
            s.unary_ok(id, b"ok").await;
        }
        seen
    });
    let channel = Channel::builder(&target)
        .unwrap()
        .send_compressed(tether::Encoding::Gzip)
        .build()
        .unwrap();
    let req = Request::new(Bytes::from_static(b"one"));
    within(5, channel.unary("/pkg.Svc/A", req, BytesCodec))
        .await
        .unwrap();
    let req = Request::new(Bytes::from_static(b"two")).with_compression(tether::Encoding::Identity);
    within(5, channel.unary("/pkg.Svc/B", req, BytesCodec))
        .await
        .unwrap();
    let seen = server.await.unwrap();
    assert_eq!(
        seen,
        vec![(Some("gzip".to_owned()), 1), (None, 0)],
        "(grpc-encoding, Compressed-Flag) of each request"
    );
}

/// A connection failure keeps the I/O error in the status's source chain
/// (`std::error::Error::source`: the policy's status, then the
/// subchannel's connection error, then the `std::io::Error`), for callers
/// that match on its kind.
#[tokio::test]
async fn a_refused_connection_keeps_the_io_error_as_source() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let channel = Channel::builder(&format!("http://{addr}"))
        .unwrap()
        .build()
        .unwrap();
    let status = within(10, call(&channel)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    let mut chain = Vec::new();
    let mut next = std::error::Error::source(&status);
    while let Some(e) = next {
        chain.push(e.to_string());
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
            return;
        }
        next = e.source();
    }
    panic!("no std::io::Error in the source chain of {status}: {chain:?}");
}
