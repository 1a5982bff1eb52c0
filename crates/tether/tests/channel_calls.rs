//! The four call types against a scripted HTTP/2 server.

mod channel_support;

use bytes::Bytes;
use channel_support::*;
use std::time::Duration;
use tether::{BytesCodec, Channel, Code, Request};
use tether_h2::ErrorCode;

#[tokio::test]
async fn unary_ok() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, fields, msgs) = s.request().await;
        assert_eq!(field(&fields, ":path"), Some("/pkg.Svc/Echo"));
        assert_eq!(field(&fields, ":method"), Some("POST"));
        assert_eq!(field(&fields, ":scheme"), Some("http"));
        assert_eq!(field(&fields, "te"), Some("trailers"));
        assert_eq!(field(&fields, "x-id"), Some("7"));
        assert!(field(&fields, "grpc-timeout").is_some());
        assert!(field(&fields, "user-agent").unwrap().starts_with("tether/"));
        assert_eq!(msgs, vec![Bytes::from_static(b"ping")]);
        s.response_headers(id).await;
        s.message_out(id, b"pong").await;
        s.headers(id, &[("grpc-status", "0"), ("x-trailer", "t")], true)
            .await;
        s
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let mut req = Request::new(Bytes::from_static(b"ping")).with_timeout(Duration::from_secs(5));
    req.metadata_mut().insert("x-id", "7").unwrap();
    let resp = within(5, channel.unary("/pkg.Svc/Echo", req, BytesCodec))
        .await
        .unwrap();
    assert_eq!(resp.message(), &Bytes::from_static(b"pong"));
    assert_eq!(resp.trailers().unwrap().get("x-trailer"), Some("t"));
    // A second call reuses the connection (stream 3).
    let server = server.await.unwrap();
    let second = tokio::spawn(async move {
        let mut s = server;
        let (id, _, _) = s.request().await;
        assert_eq!(id.value(), 3);
        s.unary_ok(id, b"again").await;
        s
    });
    let resp = within(
        5,
        channel.unary("/pkg.Svc/Echo", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap();
    assert_eq!(resp.into_message(), Bytes::from_static(b"again"));
    second.await.unwrap();
}

#[tokio::test]
async fn trailers_only_error() {
    let (l, target) = listen().await;
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        s.headers(
            id,
            &[
                (":status", "200"),
                ("content-type", "application/grpc"),
                ("grpc-status", "5"),
                ("grpc-message", "no%20such%20thing"),
            ],
            true,
        )
        .await;
        s.next().await;
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let err = within(
        5,
        channel.unary("/a.B/C", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.message(), "no such thing");
}

#[tokio::test]
async fn server_streaming_several_messages() {
    let (l, target) = listen().await;
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, msgs) = s.request().await;
        assert_eq!(msgs.len(), 1);
        s.response_headers(id).await;
        for i in 0..5u8 {
            s.message_out(id, &[i; 3]).await;
        }
        s.headers(id, &[("grpc-status", "0"), ("x-end", "yes")], true)
            .await;
        s.next().await;
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let resp = within(
        5,
        channel.server_streaming("/a.B/S", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap();
    let mut stream = resp.into_message();
    let mut got = Vec::new();
    while let Some(m) = within(5, stream.message()).await.unwrap() {
        got.push(m);
    }
    assert_eq!(got.len(), 5);
    assert_eq!(got[4], Bytes::from_static(&[4, 4, 4]));
    assert_eq!(stream.trailers().unwrap().get("x-end"), Some("yes"));
    assert_eq!(within(5, stream.message()).await.unwrap(), None);
}

fn stream_of(items: Vec<Bytes>) -> impl futures_core::Stream<Item = Bytes> + Send + 'static {
    struct It(std::vec::IntoIter<Bytes>);
    impl futures_core::Stream for It {
        type Item = Bytes;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Bytes>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    It(items.into_iter())
}

#[tokio::test]
async fn client_streaming() {
    let (l, target) = listen().await;
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, msgs) = s.request().await;
        assert_eq!(
            msgs,
            vec![
                Bytes::from_static(b"a"),
                Bytes::from_static(b"bb"),
                Bytes::from_static(b"ccc")
            ]
        );
        s.unary_ok(id, b"6").await;
        s.next().await;
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let items = vec![
        Bytes::from_static(b"a"),
        Bytes::from_static(b"bb"),
        Bytes::from_static(b"ccc"),
    ];
    let resp = within(
        5,
        channel.client_streaming("/a.B/CS", Request::new(stream_of(items)), BytesCodec),
    )
    .await
    .unwrap();
    assert_eq!(resp.message(), &Bytes::from_static(b"6"));
}

#[tokio::test]
async fn bidi_ping_pong() {
    let (l, target) = listen().await;
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _) = s.request_headers().await;
        s.response_headers(id).await;
        while let Some(m) = s.message(id).await {
            let mut reply = m.to_vec();
            reply.reverse();
            s.message_out(id, &reply).await;
        }
        s.trailers(id, 0, "").await;
        s.next().await;
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    struct Rx(tokio::sync::mpsc::Receiver<Bytes>);
    impl futures_core::Stream for Rx {
        type Item = Bytes;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Bytes>> {
            self.0.poll_recv(cx)
        }
    }
    let mut stream = within(
        5,
        channel.streaming("/a.B/Bidi", Request::new(Rx(rx)), BytesCodec),
    )
    .await
    .unwrap();
    for word in ["abc", "hello", "xy"] {
        tx.send(Bytes::from(word)).await.unwrap();
        let back = within(5, stream.message()).await.unwrap().unwrap();
        let expect: String = word.chars().rev().collect();
        assert_eq!(back, Bytes::from(expect));
    }
    drop(tx);
    assert_eq!(within(5, stream.message()).await.unwrap(), None);
}

/// A server that sends its response headers only with its first response,
/// after the client's first request (as grpc-go does).
async fn headers_after_first_request(l: tokio::net::TcpListener) {
    let mut s = accept(&l).await;
    let (id, fields) = s.request_headers().await;
    assert_eq!(field(&fields, "x-id"), Some("9"));
    let mut first = true;
    while let Some(m) = within(5, s.message(id)).await {
        if first {
            s.headers(
                id,
                &[
                    (":status", "200"),
                    ("content-type", "application/grpc"),
                    ("x-head", "late"),
                ],
                false,
            )
            .await;
            first = false;
        }
        let mut reply = m.to_vec();
        reply.reverse();
        s.message_out(id, &reply).await;
    }
    s.trailers(id, 0, "").await;
    s.next().await;
}

#[tokio::test]
async fn bidi_opens_before_response_headers() {
    let (l, target) = listen().await;
    tokio::spawn(headers_after_first_request(l));
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let mut req = Request::new(());
    req.metadata_mut().insert("x-id", "9").unwrap();
    // Opens without the response headers (which come after our first
    // message): awaiting them here would deadlock.
    let (tx, mut rx) = within(5, channel.bidi("/a.B/Bidi", req, BytesCodec))
        .await
        .unwrap();
    assert!(rx.headers_now().is_none());
    within(5, tx.send(Bytes::from_static(b"abc")))
        .await
        .unwrap();
    assert_eq!(
        within(5, rx.headers()).await.unwrap().get("x-head"),
        Some("late")
    );
    assert_eq!(
        within(5, rx.message()).await.unwrap(),
        Some(Bytes::from_static(b"cba"))
    );
    within(5, tx.send(Bytes::from_static(b"xy"))).await.unwrap();
    assert_eq!(
        within(5, rx.message()).await.unwrap(),
        Some(Bytes::from_static(b"yx"))
    );
    tx.finish();
    assert_eq!(within(5, rx.message()).await.unwrap(), None);
}

#[tokio::test]
async fn streaming_with_a_request_stream_opens_before_response_headers() {
    let (l, target) = listen().await;
    tokio::spawn(headers_after_first_request(l));
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    let mut req = Request::new(MpscStream(rx));
    req.metadata_mut().insert("x-id", "9").unwrap();
    // Nothing queued yet: the call must open anyway.
    let mut stream = within(5, channel.streaming("/a.B/Bidi", req, BytesCodec))
        .await
        .unwrap();
    tx.send(Bytes::from_static(b"hello")).await.unwrap();
    assert_eq!(
        within(5, stream.message()).await.unwrap(),
        Some(Bytes::from_static(b"olleh"))
    );
    assert_eq!(stream.headers_now().unwrap().get("x-head"), Some("late"));
    drop(tx);
    assert_eq!(within(5, stream.message()).await.unwrap(), None);
}

#[tokio::test]
async fn client_stream_sender() {
    let (l, target) = listen().await;
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, msgs) = s.request().await;
        assert_eq!(
            msgs,
            vec![Bytes::from_static(b"a"), Bytes::from_static(b"bb")]
        );
        s.unary_ok(id, b"3").await;
        s.next().await;
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let (tx, response) = within(5, channel.client_stream("/a.B/CS", (), BytesCodec))
        .await
        .unwrap();
    tx.send(Bytes::from_static(b"a")).await.unwrap();
    tx.send(Bytes::from_static(b"bb")).await.unwrap();
    tx.finish();
    let response = within(5, response).await.unwrap();
    assert_eq!(response.message(), &Bytes::from_static(b"3"));
}

struct MpscStream(tokio::sync::mpsc::Receiver<Bytes>);

impl futures_core::Stream for MpscStream {
    type Item = Bytes;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Bytes>> {
        self.0.poll_recv(cx)
    }
}

#[tokio::test]
async fn deadline_exceeded_resets_with_cancel() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        s.response_headers(id).await;
        // Never answer: the client's deadline fires.
        match within(5, s.next()).await {
            Got::Rst(rid, code) => {
                assert_eq!(rid, id);
                assert_eq!(code, ErrorCode::CANCEL);
            }
            other => panic!("expected RST_STREAM, got {other:?}"),
        }
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let req = Request::new(Bytes::new()).with_timeout(Duration::from_millis(300));
    let start = std::time::Instant::now();
    let err = within(5, channel.unary("/a.B/Slow", req, BytesCodec))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert!(start.elapsed() >= Duration::from_millis(300));
    within(5, server).await.unwrap();
}

#[tokio::test]
async fn dropped_streaming_resets_with_cancel() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        s.response_headers(id).await;
        s.message_out(id, b"one").await;
        match within(5, s.next()).await {
            Got::Rst(rid, code) => {
                assert_eq!(rid, id);
                assert_eq!(code, ErrorCode::CANCEL);
            }
            other => panic!("expected RST_STREAM, got {other:?}"),
        }
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let resp = within(
        5,
        channel.server_streaming("/a.B/S", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap();
    let mut stream = resp.into_message();
    assert_eq!(
        within(5, stream.message()).await.unwrap(),
        Some(Bytes::from_static(b"one"))
    );
    drop(stream);
    within(5, server).await.unwrap();
}

#[tokio::test]
async fn server_closes_tcp_mid_call() {
    let (l, target) = listen().await;
    tokio::spawn(async move {
        let s = accept(&l).await;
        let mut s = s;
        let (id, _, _) = s.request().await;
        s.response_headers(id).await;
        drop(s);
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let err = within(
        5,
        channel.unary("/a.B/C", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
}
