//! `tether::raw` against the scripted server: every frame and core event
//! reaches the caller in order, DATA is credited back, the request goes out
//! with the caller's fields; a reset, a PING's round trip, a refused open
//! and a close are reported.

mod channel_support;

use bytes::{Bytes, BytesMut};
use channel_support::{accept_with, field, listen, within, Got};
use tether::raw::{RawConnection, RawEvent};
use tether::resolver::Address;
use tether_h2::conn::{CallError, CloseReason, Direction};
use tether_h2::frame::{Data, Frame};
use tether_h2::{ErrorCode, Event};

fn get(path: &'static str) -> Vec<(Bytes, Bytes)> {
    vec![
        (Bytes::from_static(b":method"), Bytes::from_static(b"GET")),
        (Bytes::from_static(b":scheme"), Bytes::from_static(b"http")),
        (
            Bytes::from_static(b":path"),
            Bytes::from_static(path.as_bytes()),
        ),
        (
            Bytes::from_static(b":authority"),
            Bytes::from_static(b"test"),
        ),
        (Bytes::from_static(b"x-trace"), Bytes::from_static(b"1")),
    ]
}

/// A short name per event, for order checks.
fn name(e: &RawEvent) -> String {
    match e {
        RawEvent::Frame {
            direction, frame, ..
        } => {
            let arrow = if *direction == Direction::Sent {
                "->"
            } else {
                "<-"
            };
            let kind = match frame {
                Some(Frame::Settings(s)) if s.ack => "SETTINGS-ACK",
                Some(Frame::Settings(_)) => "SETTINGS",
                Some(Frame::Headers(_)) => "HEADERS",
                Some(Frame::Data(_)) => "DATA",
                Some(Frame::WindowUpdate(_)) => "WINDOW_UPDATE",
                Some(Frame::GoAway(_)) => "GOAWAY",
                Some(Frame::RstStream(_)) => "RST_STREAM",
                Some(Frame::Ping(_)) => "PING",
                _ => "OTHER",
            };
            format!("{arrow}{kind}")
        }
        RawEvent::Window { .. } => "window".into(),
        RawEvent::Core(Event::Connected(_)) => "connected".into(),
        RawEvent::Core(Event::Headers { .. }) => "headers".into(),
        RawEvent::Core(Event::Data { .. }) => "data".into(),
        RawEvent::Core(Event::StreamReset { .. }) => "reset".into(),
        RawEvent::Core(Event::Closed(_)) => "closed".into(),
        RawEvent::Core(_) => "core".into(),
        RawEvent::Opened(Ok(_)) => "opened".into(),
        RawEvent::Opened(Err(_)) => "open-failed".into(),
        RawEvent::PingSent(_) => "ping-sent".into(),
        _ => "other".into(),
    }
}

async fn until(
    conn: &mut RawConnection,
    seen: &mut Vec<RawEvent>,
    stop: impl Fn(&RawEvent) -> bool,
) {
    loop {
        let e = conn
            .next_event()
            .await
            .expect("the driver ended before the expected event");
        let done = stop(&e);
        seen.push(e);
        if done {
            return;
        }
    }
}

fn pos(names: &[String], what: &str) -> usize {
    names
        .iter()
        .position(|n| n == what)
        .unwrap_or_else(|| panic!("no {what} in {names:?}"))
}

#[tokio::test]
async fn a_get_is_traced_frame_by_frame_then_closed() {
    let (l, target) = listen().await;
    let addr: std::net::SocketAddr = target.trim_start_matches("http://").parse().unwrap();
    let (credit_seen, credited) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let mut s = accept_with(&l, Vec::new()).await;
        let Got::Headers(id, fields, true) = s.next().await else {
            panic!("expected a GET with END_STREAM on its HEADERS");
        };
        assert_eq!(field(&fields, ":path"), Some("/file"));
        assert_eq!(field(&fields, "x-trace"), Some("1"));
        s.headers(id, &[(":status", "200")], false).await;
        // 40,000 bytes: more than half the 65,535-byte stream window, so
        // the client must credit them back with WINDOW_UPDATE before the
        // stream ends (the test says when it saw one).
        let mut out = BytesMut::new();
        for _ in 0..4 {
            Data::encode(id, &[b'x'; 10_000], false, &mut out);
        }
        s.write(out).await;
        credited.await.unwrap();
        let mut out = BytesMut::new();
        Data::encode(id, b"", true, &mut out);
        s.write(out).await;
        // The client's WINDOW_UPDATEs are skipped; then its GOAWAY.
        loop {
            match s.next().await {
                Got::GoAway(code) => return code,
                Got::Eof => panic!("EOF before GOAWAY"),
                _ => {}
            }
        }
    });
    let mut conn = within(
        5,
        RawConnection::connect(&Address::Tcp(addr), None, tether_h2::Config::default()),
    )
    .await
    .unwrap();
    assert!(conn.open(get("/file"), None));
    let mut seen = Vec::new();
    within(5, async {
        until(&mut conn, &mut seen, |e| {
            matches!(
                e,
                RawEvent::Frame {
                    direction: Direction::Sent,
                    frame: Some(Frame::WindowUpdate(w)),
                    ..
                } if w.stream_id.value() == 1
            )
        })
        .await
    })
    .await;
    credit_seen.send(()).unwrap();
    within(5, async {
        until(&mut conn, &mut seen, |e| {
            matches!(
                e,
                RawEvent::Core(Event::Data {
                    end_stream: true,
                    ..
                })
            )
        })
        .await
    })
    .await;
    let body: usize = seen
        .iter()
        .map(|e| match e {
            RawEvent::Core(Event::Data { data, .. }) => data.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(body, 40_000);
    conn.close();
    within(5, async {
        until(&mut conn, &mut seen, |e| {
            matches!(e, RawEvent::Core(Event::Closed(_)))
        })
        .await
    })
    .await;
    let Some(RawEvent::Core(Event::Closed(reason))) = seen.last() else {
        unreachable!()
    };
    assert!(matches!(reason, CloseReason::Local), "{reason:?}");
    // Whatever followed the close was frames only, then the end.
    while let Some(e) = within(5, conn.next_event()).await {
        assert!(matches!(e, RawEvent::Frame { .. }), "after Closed: {e:?}");
        seen.push(e);
    }
    assert_eq!(within(5, server).await.unwrap(), ErrorCode::NO_ERROR);

    let names: Vec<String> = seen.iter().map(name).collect();
    // Causal order: our SETTINGS first; the server's SETTINGS frame before
    // `connected`; its HEADERS frame before the `headers` event; the first
    // DATA frame before the first `data` event; a WINDOW_UPDATE after it;
    // our GOAWAY after the data.
    assert_eq!(names[0], "->SETTINGS", "{names:?}");
    assert!(
        pos(&names, "<-SETTINGS") < pos(&names, "connected"),
        "{names:?}"
    );
    // The HEADERS frame is written by the open itself, before its report.
    assert!(
        pos(&names, "->HEADERS") < pos(&names, "opened"),
        "{names:?}"
    );
    assert!(
        pos(&names, "<-HEADERS") < pos(&names, "headers"),
        "{names:?}"
    );
    assert!(pos(&names, "<-DATA") < pos(&names, "data"), "{names:?}");
    // The stream's WINDOW_UPDATE (the last one; the first is the
    // connection's, with the preface) follows received data.
    let last_update = names.iter().rposition(|n| n == "->WINDOW_UPDATE");
    assert!(last_update > Some(pos(&names, "<-DATA")), "{names:?}");
    assert!(names.iter().any(|n| n == "window"), "{names:?}");
    assert!(pos(&names, "->GOAWAY") > pos(&names, "data"), "{names:?}");
}

#[tokio::test]
async fn a_reset_and_a_refused_open_are_reported() {
    let (l, target) = listen().await;
    let addr: std::net::SocketAddr = target.trim_start_matches("http://").parse().unwrap();
    let server = tokio::spawn(async move {
        let mut s = accept_with(&l, Vec::new()).await;
        let Got::Headers(id, _, _) = s.next().await else {
            panic!("expected HEADERS");
        };
        s.rst(id, ErrorCode::REFUSED_STREAM).await;
        // Hold the connection until the client goes.
        while !matches!(s.next().await, Got::Eof | Got::GoAway(_)) {}
    });
    let mut conn = RawConnection::connect(&Address::Tcp(addr), None, tether_h2::Config::default())
        .await
        .unwrap();
    conn.open(get("/a"), None);
    let mut seen = Vec::new();
    within(5, async {
        until(&mut conn, &mut seen, |e| {
            matches!(e, RawEvent::Core(Event::StreamReset { .. }))
        })
        .await
    })
    .await;
    let Some(RawEvent::Core(Event::StreamReset { code, .. })) = seen.last() else {
        unreachable!()
    };
    assert_eq!(*code, ErrorCode::REFUSED_STREAM);
    // A PING's round trip.
    conn.ping();
    let mut rest = Vec::new();
    within(5, async {
        until(&mut conn, &mut rest, |e| {
            matches!(e, RawEvent::Core(Event::PingAck { id: Some(_), .. }))
        })
        .await
    })
    .await;
    let sent = rest.iter().find_map(|e| match e {
        RawEvent::PingSent(Ok(id)) => Some(*id),
        _ => None,
    });
    let Some(RawEvent::Core(Event::PingAck { id: acked, .. })) = rest.last() else {
        unreachable!()
    };
    assert_eq!(sent, *acked, "{rest:?}");
    // Once closing, a new stream is refused: an Opened error, in order.
    conn.close();
    conn.open(get("/b"), Some(Bytes::from_static(b"body")));
    let mut rest = Vec::new();
    within(5, async {
        until(&mut conn, &mut rest, |e| matches!(e, RawEvent::Opened(_))).await
    })
    .await;
    assert!(
        matches!(rest.last(), Some(RawEvent::Opened(Err(CallError::Closed)))),
        "{rest:?}"
    );
    drop(conn);
    within(5, server).await.unwrap();
}

#[tokio::test]
async fn connecting_to_a_closed_port_is_unavailable() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let err = RawConnection::connect(&Address::Tcp(addr), None, tether_h2::Config::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tether::Code::Unavailable, "{err}");
}
