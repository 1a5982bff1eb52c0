//! Stream tests: requests, responses, flow control, GOAWAY (need HPACK).

use super::*;
use crate::error::Scope;
use crate::hpack::HeaderField;

pub(super) fn hf(n: &'static str, v: &'static str) -> HeaderField {
    HeaderField {
        name: Bytes::from_static(n.as_bytes()),
        value: Bytes::from_static(v.as_bytes()),
    }
}

pub(super) fn stream_reset(id: u32, code: ErrorCode, detail: &'static str) -> Event {
    Event::StreamReset {
        stream_id: StreamId::new(id),
        code,
        remote: false,
        error: Some(ProtoError::stream(StreamId::new(id), code, detail)),
    }
}

pub(super) fn rst_frame(id: u32, code: ErrorCode) -> Frame {
    Frame::RstStream(RstStream {
        stream_id: StreamId::new(id),
        code,
    })
}

#[test]
fn unary_exchange_smoke() {
    let mut t = Peer::new(Config::default());
    // Preface + SETTINGS + WINDOW_UPDATE out; server SETTINGS + ACK in.
    assert_eq!(t.drain_frames().len(), 2);
    t.deliver(&wire::settings(&[(wire::MAX_CONCURRENT_STREAMS, 100)]));
    t.deliver(&wire::settings_ack());
    assert_eq!(t.drain_frames(), vec![Frame::Settings(Settings::ack())]);
    let mut peer = settings::peer_defaults();
    peer.max_concurrent_streams = Some(100);
    assert_eq!(
        t.drain_events(),
        vec![Event::Connected(peer), Event::SettingsAcked]
    );

    let id = t.open(false);
    assert_eq!(id, StreamId::new(1));
    let msg = Bytes::from_static(b"\0\0\0\0\x02hi");
    t.client.send_data(id, msg.clone(), true).unwrap();
    // The field block the client sent, as the server decodes it.
    assert_eq!(t.headers_sent(), vec![(1, request(TEST_PATH), false)]);
    let frames = t.drain_frames();
    assert_eq!(frames.len(), 2);
    let Frame::Headers(h) = &frames[0] else {
        panic!("{frames:?}")
    };
    assert_eq!(
        (h.stream_id, h.end_stream, h.end_headers),
        (id, false, true)
    );
    assert_eq!(
        frames[1],
        Frame::Data(Data {
            stream_id: id,
            data: msg,
            end_stream: true,
            flow_len: 7
        })
    );
    assert_eq!(t.drain_events(), vec![]);

    let mut input = t.response_frame(1);
    input.extend_from_slice(&wire::data(1, b"\0\0\0\0\x01x", false));
    let trailers = t.headers_frame(1, &[("grpc-status", "0")], true);
    input.extend_from_slice(&trailers);
    t.deliver(&input);
    // The DATA started a BDP measurement.
    let frames = t.drain_frames();
    let [Frame::Ping(Ping {
        ack: false,
        payload,
    })] = frames[..]
    else {
        panic!("{frames:?}")
    };
    assert_eq!(payload[0], b'b');
    assert_eq!(
        t.drain_events(),
        vec![
            Event::Headers {
                stream_id: id,
                head: ResponseHead {
                    status: 200,
                    fields: vec![hf("content-type", "application/grpc")]
                },
                end_stream: false,
            },
            Event::Data {
                stream_id: id,
                data: Bytes::from_static(b"\0\0\0\0\x01x"),
                end_stream: false
            },
            Event::Trailers {
                stream_id: id,
                fields: vec![hf("grpc-status", "0")]
            },
        ]
    );
    t.client.release_capacity(id, 6);
    assert_eq!(t.drain_frames(), vec![]);
    // The stream is finished and forgotten: stale ids are errors.
    assert_eq!(
        t.client.send_data(id, Bytes::new(), true),
        Err(CallError::UnknownStream(id))
    );
    assert_eq!(
        t.client.reset(id, ErrorCode::CANCEL),
        Err(CallError::UnknownStream(id))
    );
    // A late RST_STREAM(NO_ERROR) on the finished stream changes nothing.
    t.deliver(&wire::rst(1, ErrorCode::NO_ERROR.0));
    assert_eq!(t.drain_events(), vec![]);
    assert_eq!(t.drain_frames(), vec![]);
}

#[test]
fn streams_wait_for_max_concurrent_streams() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[(wire::MAX_CONCURRENT_STREAMS, 1)]);
    let a = t.open(false);
    let b = t.try_open(&request(TEST_PATH), true).unwrap();
    assert_eq!(b, StreamId::new(3));
    t.client
        .send_data(a, Bytes::from_static(b"x"), true)
        .unwrap();
    let frames = t.drain_frames();
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(frames[0].stream_id(), a);
    let input = t.headers_frame(1, &[(":status", "200"), ("grpc-status", "0")], true);
    t.deliver(&input);
    let events = t.drain_events();
    assert!(matches!(
        events[0],
        Event::Headers {
            end_stream: true,
            ..
        }
    ));
    assert_eq!(events[1], Event::StreamStarted(b));
    let frames = t.drain_frames();
    let [Frame::Headers(h)] = &frames[..] else {
        panic!("{frames:?}")
    };
    assert_eq!((h.stream_id, h.end_stream), (b, true));
}

#[test]
fn goaway_lists_unprocessed_streams_and_drains() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[(wire::MAX_CONCURRENT_STREAMS, 2)]);
    let (s1, s3, s5) = (t.open(false), t.open(false), t.open(false));
    let _ = t.drain_frames();
    t.deliver(&wire::goaway(1, ErrorCode::NO_ERROR.0, b""));
    let info = GoAwayInfo {
        last_stream_id: s1,
        code: ErrorCode::NO_ERROR,
        debug_data: Bytes::new(),
        unprocessed: vec![s3, s5],
        too_many_pings: false,
    };
    assert_eq!(t.drain_events(), vec![Event::GoAway(info.clone())]);
    assert_eq!(
        t.try_open(&request(TEST_PATH), true),
        Err(CallError::Closed)
    );
    assert_eq!(
        t.client.send_data(s3, Bytes::new(), true),
        Err(CallError::UnknownStream(s3))
    );
    // A higher last id later is a protocol error; stream 1 still finishes first.
    let input = t.headers_frame(1, &[(":status", "200"), ("grpc-status", "0")], true);
    t.deliver(&input);
    t.client.send_data(s1, Bytes::new(), true).unwrap();
    let frames = t.drain_frames();
    assert_eq!(
        frames,
        vec![Frame::Data(Data {
            stream_id: s1,
            data: Bytes::new(),
            end_stream: true,
            flow_len: 0
        })]
    );
    let events = t.drain_events();
    assert_eq!(
        events.last(),
        Some(&Event::Closed(CloseReason::GoAway(info)))
    );
    assert!(t.client.is_closed());
}

#[test]
fn goaway_with_higher_last_id_is_rejected() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[]);
    let _ = t.open(false);
    t.deliver(&wire::goaway((1 << 31) - 1, ErrorCode::NO_ERROR.0, b""));
    t.deliver(&wire::goaway(1, ErrorCode::NO_ERROR.0, b""));
    assert_eq!(t.drain_events().len(), 2);
    t.deliver(&wire::goaway(3, ErrorCode::NO_ERROR.0, b""));
    assert_conn_error(
        &mut t,
        ErrorCode::PROTOCOL_ERROR,
        "GOAWAY raised the last stream id (§6.8)",
    );
}

#[test]
fn connection_error_fails_every_stream() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[]);
    let (a, b) = (t.open(false), t.open(false));
    let _ = t.drain_frames();
    t.deliver(&wire::ping([0; 8], false)[..5]);
    t.deliver(&[0, 0, 0, 1]); // PING on stream 1: a frame-level connection error.
    t.deliver(&[0; 8]);
    let frames = t.drain_frames();
    let [Frame::GoAway(g)] = &frames[..] else {
        panic!("{frames:?}")
    };
    assert_eq!(g.code, ErrorCode::PROTOCOL_ERROR);
    let events = t.drain_events();
    assert_eq!(events.len(), 3, "{events:?}");
    for (ev, id) in events.iter().zip([a, b]) {
        let Event::StreamReset {
            stream_id,
            code,
            remote: false,
            error: Some(e),
        } = ev
        else {
            panic!("{ev:?}")
        };
        assert_eq!(
            (*stream_id, *code, e.scope),
            (id, ErrorCode::PROTOCOL_ERROR, Scope::Connection)
        );
    }
    assert!(matches!(events[2], Event::Closed(CloseReason::Protocol(_))));
}

#[test]
fn malformed_responses_are_stream_errors() {
    type Case = (&'static [(&'static str, &'static str)], bool, &'static str);
    let cases: [Case; 5] = [
        (
            &[(":status", "200"), ("Bad", "x")],
            false,
            "uppercase field name (§8.2.1)",
        ),
        (&[("x", "y")], false, "response without :status (§8.3.2)"),
        (
            &[(":status", "200"), (":path", "/")],
            false,
            "request or unknown pseudo-header in a response (§8.3)",
        ),
        (
            &[(":status", "100")],
            true,
            "1xx response with END_STREAM (§8.1)",
        ),
        (
            &[(":status", "200"), ("connection", "close")],
            false,
            "connection-specific header field (§8.2.2)",
        ),
    ];
    for (fields, end, detail) in cases {
        let mut t = Peer::new(Config::default());
        t.handshake(&[]);
        t.open(false);
        let _ = t.drain_frames();
        let input = t.headers_frame(1, fields, end);
        t.deliver(&input);
        assert_eq!(
            t.drain_events(),
            vec![stream_reset(1, ErrorCode::PROTOCOL_ERROR, detail)],
            "{detail}"
        );
        assert_eq!(
            t.drain_frames(),
            vec![rst_frame(1, ErrorCode::PROTOCOL_ERROR)]
        );
    }
}

#[test]
fn informational_then_trailers_rules() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[]);
    t.open(false);
    t.open(false);
    let _ = t.drain_frames();
    let mut input = t.headers_frame(1, &[(":status", "103"), ("link", "x")], false);
    input.extend_from_slice(&t.response_frame(1));
    input.extend_from_slice(&t.headers_frame(1, &[("grpc-status", "0")], false));
    input.extend_from_slice(&t.response_frame(3));
    input.extend_from_slice(&t.headers_frame(3, &[(":status", "200")], true));
    t.deliver(&input);
    let events = t.drain_events();
    assert!(matches!(
        events[0],
        Event::Headers {
            head: ResponseHead { status: 200, .. },
            ..
        }
    ));
    assert_eq!(
        events[1],
        stream_reset(
            1,
            ErrorCode::PROTOCOL_ERROR,
            "trailers without END_STREAM (§8.1)"
        )
    );
    assert_eq!(
        events[3],
        stream_reset(
            3,
            ErrorCode::PROTOCOL_ERROR,
            "pseudo-header field in trailers (§8.1)"
        )
    );
    assert_eq!(events.len(), 4);
}

#[test]
fn server_reset_is_reported_and_data_after_end_stream_is_stream_closed() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[]);
    t.open(false);
    t.open(false);
    let _ = t.drain_frames();
    t.deliver(&wire::rst(1, ErrorCode::REFUSED_STREAM.0));
    let input = t.headers_frame(3, &[(":status", "200"), ("grpc-status", "0")], true);
    t.deliver(&input);
    t.deliver(&wire::data(3, b"late", false));
    let events = t.drain_events();
    assert_eq!(
        events[0],
        Event::StreamReset {
            stream_id: StreamId::new(1),
            code: ErrorCode::REFUSED_STREAM,
            remote: true,
            error: None
        }
    );
    assert_eq!(
        events[2],
        stream_reset(3, ErrorCode::STREAM_CLOSED, "DATA after END_STREAM (§5.1)")
    );
    assert_eq!(events.len(), 3);
    // Never answer a RST_STREAM with one: only stream 3 is reset by us.
    assert_eq!(
        t.drain_frames(),
        vec![rst_frame(3, ErrorCode::STREAM_CLOSED)]
    );
}

#[test]
fn local_close_sends_goaway_and_finishes_with_streams() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[]);
    let id = t.try_open(&request(TEST_PATH), true).unwrap();
    let _ = t.drain_frames();
    t.client.close(ErrorCode::NO_ERROR, t.now());
    assert_eq!(
        t.drain_frames(),
        vec![goaway_frame(ErrorCode::NO_ERROR, "")]
    );
    assert_eq!(
        t.try_open(&request(TEST_PATH), true),
        Err(CallError::Closed)
    );
    let input = t.headers_frame(1, &[(":status", "200"), ("grpc-status", "0")], true);
    t.deliver(&input);
    let events = t.drain_events();
    assert!(
        matches!(events[0], Event::Headers { stream_id, end_stream: true, .. } if stream_id == id)
    );
    assert_eq!(events[1], Event::Closed(CloseReason::Local));
    assert!(t.client.is_closed());
}

#[test]
fn local_resets_are_capped() {
    let mut config = Config::default();
    config.limits.max_local_resets = 1;
    let mut t = Peer::new(config);
    t.handshake(&[]);
    t.open(false);
    t.open(false);
    let _ = t.drain_frames();
    t.deliver(&wire::data(1, b"x", false));
    t.deliver(&wire::data(3, b"x", false));
    assert_conn_error(
        &mut t,
        ErrorCode::ENHANCE_YOUR_CALM,
        "too many streams reset for protocol errors",
    );
}

#[test]
fn hpack_garbage_is_a_compression_error() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[]);
    t.open(false);
    let _ = t.drain_frames();
    t.deliver(&wire::headers_block(1, &[0x80], false, 16_384));
    assert_conn_error(
        &mut t,
        ErrorCode::COMPRESSION_ERROR,
        "HPACK decoding failed (§4.3)",
    );
}

#[test]
fn oversized_header_lists() {
    let config = Config {
        max_header_list_size: 100,
        ..Config::default()
    };
    let big = "v".repeat(200);
    let huge = "v".repeat(500);
    for (value, ce) in [(&big, false), (&huge, true)] {
        let mut t = Peer::new(config.clone());
        t.handshake(&[]);
        t.open(false);
        let _ = t.drain_frames();
        let input = t.headers_frame(1, &[(":status", "200"), ("x", value)], false);
        t.deliver(&input);
        if ce {
            assert_conn_error(
                &mut t,
                ErrorCode::ENHANCE_YOUR_CALM,
                "response header list more than 4x SETTINGS_MAX_HEADER_LIST_SIZE",
            );
        } else {
            assert_eq!(
                t.drain_events(),
                vec![stream_reset(
                    1,
                    ErrorCode::PROTOCOL_ERROR,
                    "response header list over SETTINGS_MAX_HEADER_LIST_SIZE (§10.5.1)"
                )]
            );
        }
    }
}
