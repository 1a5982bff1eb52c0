//! Explicit cancellation through a `CancelHandle`, against a scripted
//! HTTP/2 server: the server sees RST_STREAM(CANCEL), the caller sees
//! CANCELLED.

mod channel_support;

use bytes::Bytes;
use channel_support::*;
use std::time::Duration;
use tether::{BytesCodec, CancelHandle, Channel, Code, Request, Status};
use tether_h2::{ErrorCode, StreamId};
use tokio::sync::oneshot;

/// Reads frames until the RST_STREAM of `id`, which must be CANCEL.
async fn expect_cancel<S>(s: &mut Server<S>, id: StreamId)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match within(5, s.next()).await {
            Got::Rst(rid, code) => {
                assert_eq!(rid, id);
                assert_eq!(code, ErrorCode::CANCEL);
                return;
            }
            // Request messages (or their END_STREAM) may still come first.
            Got::Data(rid, _, _) if rid == id => {}
            other => panic!("expected RST_STREAM CANCEL, got {other:?}"),
        }
    }
}

fn assert_cancelled(status: &Status) {
    assert_eq!(status.code(), Code::Cancelled, "{status}");
    assert_eq!(status.message(), "cancelled by the client");
}

#[tokio::test]
async fn unary_cancelled_while_waiting_for_the_response() {
    let (l, target) = listen().await;
    let (got_request, request_in) = oneshot::channel();
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        s.response_headers(id).await;
        let _ = got_request.send(());
        expect_cancel(&mut s, id).await;
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let cancel = CancelHandle::new();
    let request = Request::new(Bytes::from_static(b"x")).with_cancel(cancel.clone());
    let canceller = tokio::spawn(async move {
        request_in.await.unwrap();
        cancel.cancel();
    });
    let err = within(5, channel.unary("/a.B/Slow", request, BytesCodec))
        .await
        .unwrap_err();
    assert_cancelled(&err);
    canceller.await.unwrap();
    within(5, server).await.unwrap();
}

#[tokio::test]
async fn streaming_cancelled_through_its_handle() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _, _) = s.request().await;
        s.response_headers(id).await;
        s.message_out(id, b"one").await;
        expect_cancel(&mut s, id).await;
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let mut stream = within(
        5,
        channel.server_streaming("/a.B/S", Request::new(Bytes::new()), BytesCodec),
    )
    .await
    .unwrap()
    .into_message();
    assert_eq!(
        within(5, stream.message()).await.unwrap(),
        Some(Bytes::from_static(b"one"))
    );
    let cancel = stream.cancel_handle();
    // From another task, while the stream is kept (not dropped).
    tokio::spawn(async move { cancel.cancel() }).await.unwrap();
    // The RST_STREAM goes out without the stream being polled.
    within(5, server).await.unwrap();
    assert_cancelled(&within(5, stream.message()).await.unwrap_err());
    assert_eq!(within(5, stream.message()).await.unwrap(), None);
}

#[tokio::test]
async fn bidi_cancelled_fails_the_sender_and_the_stream() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _) = s.request_headers().await;
        s.response_headers(id).await;
        let m = within(5, s.message(id)).await.unwrap();
        s.message_out(id, &m).await;
        expect_cancel(&mut s, id).await;
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let cancel = CancelHandle::new();
    let (tx, mut rx) = within(
        5,
        channel.bidi(
            "/a.B/Bidi",
            Request::new(()).with_cancel(cancel.clone()),
            BytesCodec,
        ),
    )
    .await
    .unwrap();
    tx.send(Bytes::from_static(b"hi")).await.unwrap();
    assert_eq!(
        within(5, rx.message()).await.unwrap(),
        Some(Bytes::from_static(b"hi"))
    );
    cancel.cancel();
    within(5, server).await.unwrap();
    assert_cancelled(&within(5, rx.message()).await.unwrap_err());
    // The request pump has stopped: sending fails.
    let mut failed = false;
    for _ in 0..3 {
        if within(5, tx.send(Bytes::from_static(b"late")))
            .await
            .is_err()
        {
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(failed, "the sender still accepts messages after the cancel");
}

#[tokio::test]
async fn client_stream_cancelled_through_its_response_future() {
    let (l, target) = listen().await;
    let server = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let (id, _) = s.request_headers().await;
        let _ = within(5, s.message(id)).await.unwrap();
        expect_cancel(&mut s, id).await;
    });
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let (tx, response) = within(5, channel.client_stream("/a.B/CS", (), BytesCodec))
        .await
        .unwrap();
    tx.send(Bytes::from_static(b"part")).await.unwrap();
    let cancel = response.cancel_handle();
    let waiting = tokio::spawn(response);
    tokio::time::sleep(Duration::from_millis(50)).await;
    cancel.cancel();
    assert_cancelled(&within(5, waiting).await.unwrap().unwrap_err());
    within(5, server).await.unwrap();
}

#[tokio::test]
async fn cancelled_while_waiting_for_a_connection() {
    // Nothing listens there: wait-for-ready waits for a connection.
    let (l, target) = listen().await;
    drop(l);
    let channel = Channel::builder(&target).unwrap().build().unwrap();
    let cancel = CancelHandle::new();
    let request = Request::new(Bytes::new())
        .with_wait_for_ready(true)
        .with_cancel(cancel.clone());
    let call = tokio::spawn(async move { channel.unary("/a.B/C", request, BytesCodec).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    cancel.cancel();
    assert_cancelled(&within(5, call).await.unwrap().unwrap_err());
    // Cancelling is final: a call given the handle later ends at once.
    assert!(cancel.is_cancelled());
}
