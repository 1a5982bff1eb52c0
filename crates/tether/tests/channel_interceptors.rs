//! Interceptors against a scripted HTTP/2 server: metadata added
//! asynchronously, in order; a failing interceptor ends the call without
//! touching the network; `on_end` sees every final status.

mod channel_support;

use bytes::Bytes;
use channel_support::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tether::{
    BytesCodec, Channel, Code, ConnectivityState, InterceptFuture, Interceptor, Metadata, Request,
    Status,
};

/// Adds `authorization`, from a token fetched asynchronously.
struct Auth {
    token: Arc<Mutex<String>>,
}

impl Auth {
    async fn fetch(&self) -> String {
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.token.lock().unwrap().clone()
    }
}

impl Interceptor for Auth {
    fn on_start<'a>(&'a self, _method: &'a str, md: &'a mut Metadata) -> InterceptFuture<'a> {
        Box::pin(async move {
            let token = self.fetch().await;
            md.insert("authorization", &format!("Bearer {token}"))
                .map_err(|e| Status::internal(e.to_string()))
        })
    }
}

/// Copies what the interceptors before it set (order check), and refuses
/// `/a.B/Secret`.
struct Gate;

impl Interceptor for Gate {
    fn on_start<'a>(&'a self, method: &'a str, md: &'a mut Metadata) -> InterceptFuture<'a> {
        Box::pin(async move {
            if method == "/a.B/Secret" {
                return Err(Status::unauthenticated("no entry"));
            }
            let seen = format!("saw {}", md.get("authorization").unwrap_or("nothing"));
            md.insert("x-seen", &seen)
                .map_err(|e| Status::internal(e.to_string()))
        })
    }
}

/// Records every call's end.
#[derive(Clone, Default)]
struct Ends(Arc<Mutex<Vec<(String, Code, String)>>>);

impl Interceptor for Ends {
    fn on_end(&self, method: &str, status: &Status) {
        self.0.lock().unwrap().push((
            method.to_owned(),
            status.code(),
            status.message().to_owned(),
        ));
    }
}

impl Ends {
    fn take(&self) -> Vec<(String, Code)> {
        std::mem::take(&mut *self.0.lock().unwrap())
            .into_iter()
            .map(|(m, c, _)| (m, c))
            .collect()
    }
}

fn auth() -> Auth {
    Auth {
        token: Arc::new(Mutex::new("t0k3n".to_owned())),
    }
}

#[tokio::test]
async fn interceptors_add_metadata_asynchronously_in_order() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, fields, _) = s.request().await;
        assert_eq!(field(&fields, ":path"), Some("/a.B/Unary"));
        assert_eq!(field(&fields, "authorization"), Some("Bearer t0k3n"));
        assert_eq!(field(&fields, "x-seen"), Some("saw Bearer t0k3n"));
        assert_eq!(field(&fields, "x-own"), Some("kept"));
        s.unary_ok(id, b"ok").await;
        // A bidi call goes through them too.
        let (id, fields) = s.request_headers().await;
        assert_eq!(field(&fields, ":path"), Some("/a.B/Bidi"));
        assert_eq!(field(&fields, "authorization"), Some("Bearer t0k3n"));
        assert_eq!(field(&fields, "x-seen"), Some("saw Bearer t0k3n"));
        s.response_headers(id).await;
        s.trailers(id, 0, "").await;
        s.next().await;
    });
    let channel = Channel::builder(&target)
        .unwrap()
        .interceptor(auth())
        .interceptor(Gate)
        .build()
        .unwrap();
    let mut req = Request::new(Bytes::new());
    req.metadata_mut().insert("x-own", "kept").unwrap();
    let resp = within(5, channel.unary("/a.B/Unary", req, BytesCodec))
        .await
        .unwrap();
    assert_eq!(resp.message(), &Bytes::from_static(b"ok"));
    let (tx, mut rx) = within(5, channel.bidi("/a.B/Bidi", (), BytesCodec))
        .await
        .unwrap();
    tx.finish();
    assert_eq!(within(5, rx.message()).await.unwrap(), None);
    within(5, server).await.unwrap();
}

#[tokio::test]
async fn failing_interceptor_ends_the_call_without_a_stream() {
    let (l, target) = listen().await;
    let ends = Ends::default();
    let channel = Channel::builder(&target)
        .unwrap()
        .interceptor(ends.clone())
        .interceptor(Gate)
        .build()
        .unwrap();
    let err = within(
        5,
        channel.unary("/a.B/Secret", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert_eq!(err.message(), "no entry");
    // Nothing touched the network: the lazy channel never left IDLE.
    assert_eq!(channel.state(false), ConnectivityState::Idle);
    let err = within(
        5,
        channel.streaming(
            "/a.B/Secret",
            Request::new(tokio_stream_of_nothing()),
            BytesCodec,
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert_eq!(channel.state(false), ConnectivityState::Idle);
    // The first stream the server sees is the next, allowed call's.
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, fields, _) = s.request().await;
        assert_eq!(id.value(), 1);
        assert_eq!(field(&fields, ":path"), Some("/a.B/Open"));
        s.unary_ok(id, b"in").await;
        s.next().await;
    });
    within(
        5,
        channel.unary("/a.B/Open", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap();
    assert_eq!(
        ends.take(),
        vec![
            ("/a.B/Secret".to_owned(), Code::Unauthenticated),
            ("/a.B/Secret".to_owned(), Code::Unauthenticated),
            ("/a.B/Open".to_owned(), Code::Ok),
        ]
    );
    server.abort();
}

fn tokio_stream_of_nothing() -> impl futures_core::Stream<Item = Bytes> + Send + 'static {
    struct Nothing;
    impl futures_core::Stream for Nothing {
        type Item = Bytes;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Bytes>> {
            std::task::Poll::Ready(None)
        }
    }
    Nothing
}

#[tokio::test]
async fn on_end_sees_every_final_status() {
    let (l, target) = listen().await;
    let (streamed, stream_done) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        // 1: unary OK.
        let (id, _, _) = s.request().await;
        s.unary_ok(id, b"ok").await;
        // 2: unary NOT_FOUND.
        let (id, _, _) = s.request().await;
        s.response_headers(id).await;
        s.trailers(id, 5, "gone").await;
        // 3: server streaming, two messages, OK.
        let (id, _, _) = s.request().await;
        s.response_headers(id).await;
        s.message_out(id, b"a").await;
        s.message_out(id, b"b").await;
        s.trailers(id, 0, "").await;
        // 4: bidi, ended by the server with an error after a message.
        let (id, _) = s.request_headers().await;
        s.response_headers(id).await;
        s.message_out(id, b"x").await;
        s.trailers(id, 8, "too much").await;
        // 5: server streaming the client drops.
        let (id, _, _) = s.request().await;
        s.response_headers(id).await;
        s.message_out(id, b"one").await;
        let _ = streamed.send(());
        loop {
            if let Got::Eof = s.next().await {
                break;
            }
        }
    });
    let ends = Ends::default();
    let channel = Channel::builder(&target)
        .unwrap()
        .interceptor(ends.clone())
        .build()
        .unwrap();
    let call = |path: &'static str| channel.unary(path, Request::new(Bytes::new()), BytesCodec);
    within(5, call("/a.B/One")).await.unwrap();
    assert_eq!(ends.take(), vec![("/a.B/One".to_owned(), Code::Ok)]);
    let err = within(5, call("/a.B/Two")).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(ends.take(), vec![("/a.B/Two".to_owned(), Code::NotFound)]);

    let mut stream = within(
        5,
        channel.server_streaming("/a.B/Three", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap()
    .into_message();
    while within(5, stream.message()).await.unwrap().is_some() {
        assert!(ends.take().is_empty(), "on_end before the stream's end");
    }
    assert_eq!(ends.take(), vec![("/a.B/Three".to_owned(), Code::Ok)]);

    let (tx, mut rx) = within(5, channel.bidi("/a.B/Four", (), BytesCodec))
        .await
        .unwrap();
    assert_eq!(
        within(5, rx.message()).await.unwrap(),
        Some(Bytes::from_static(b"x"))
    );
    assert_eq!(
        within(5, rx.message()).await.unwrap_err().code(),
        Code::ResourceExhausted
    );
    drop(tx);
    assert_eq!(
        ends.take(),
        vec![("/a.B/Four".to_owned(), Code::ResourceExhausted)]
    );

    let mut stream = within(
        5,
        channel.server_streaming("/a.B/Five", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap()
    .into_message();
    within(5, stream_done).await.unwrap();
    assert!(within(5, stream.message()).await.unwrap().is_some());
    drop(stream);
    assert_eq!(ends.take(), vec![("/a.B/Five".to_owned(), Code::Cancelled)]);
}
