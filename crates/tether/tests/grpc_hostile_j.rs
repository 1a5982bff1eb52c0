//! docs/hostile-peers.md section J, items 66-84: every gRPC-layer behaviour
//! of a hostile or broken server, driven through `CallRecv` with the events
//! the HTTP/2 core produces, asserting the exact code (and message where it
//! matters).

use bytes::Bytes;
use std::time::{Duration, Instant};
use tether::grpc::{CallRecv, Cardinality, RecvEvent};
use tether::{Code, Codec, ProstCodec, Status};
use tether_h2::conn::{CloseReason, ResponseHead};
use tether_h2::hpack::HeaderField;
use tether_h2::{ErrorCode, ProtoError, StreamId};

fn f(name: &str, value: &str) -> HeaderField {
    HeaderField {
        name: Bytes::copy_from_slice(name.as_bytes()),
        value: Bytes::copy_from_slice(value.as_bytes()),
    }
}

fn head(status: u16, fields: &[(&str, &str)]) -> ResponseHead {
    ResponseHead::new(status, fields.iter().map(|(n, v)| f(n, v)).collect())
}

fn grpc_ok_head() -> ResponseHead {
    head(200, &[("content-type", "application/grpc")])
}

fn trailers(fields: &[(&str, &str)]) -> Vec<HeaderField> {
    fields.iter().map(|(n, v)| f(n, v)).collect()
}

fn frame(flag: u8, body: &[u8]) -> Bytes {
    let mut v = vec![flag];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes());
    v.extend_from_slice(body);
    Bytes::from(v)
}

fn msg(body: &[u8]) -> Bytes {
    frame(0, body)
}

/// Drains the call and returns (messages, final status).
fn outcome(call: &mut CallRecv) -> (Vec<Bytes>, Status) {
    let mut messages = Vec::new();
    let mut status = None;
    while let Some(ev) = call.poll_event() {
        assert!(status.is_none(), "nothing may follow the status");
        match ev {
            RecvEvent::Message(m) => messages.push(m),
            RecvEvent::Status(s) => status = Some(s),
            _ => {}
        }
    }
    (messages, status.expect("the call has a status"))
}

fn status_of(call: &mut CallRecv) -> Status {
    outcome(call).1
}

fn unary() -> CallRecv {
    CallRecv::new(Cardinality::Unary)
}

#[test]
fn j66_http_status_without_grpc_status_is_mapped() {
    let table = [
        (400, Code::Internal),
        (401, Code::Unauthenticated),
        (403, Code::PermissionDenied),
        (404, Code::Unimplemented),
        (429, Code::Unavailable),
        (502, Code::Unavailable),
        (503, Code::Unavailable),
        (504, Code::Unavailable),
        (431, Code::Internal),
        (500, Code::Unknown),
        (302, Code::Unknown),
    ];
    for (http, code) in table {
        // As a header-only response...
        let mut call = unary();
        call.handle_headers(head(http, &[("content-type", "text/plain")]), true);
        assert_eq!(status_of(&mut call).code(), code, "{http} header-only");
        // ...and with a body and no trailers.
        let mut call = unary();
        call.handle_headers(head(http, &[("content-type", "text/html")]), false);
        call.handle_data(Bytes::from_static(b"<h1>error</h1>"), true);
        assert_eq!(status_of(&mut call).code(), code, "{http} with body");
    }
    let mut call = unary();
    call.handle_headers(head(404, &[]), false);
    call.handle_data(Bytes::from_static(b"no route"), true);
    assert_eq!(
        status_of(&mut call).message(),
        "unexpected HTTP status 404 (Not Found); body: no route"
    );
}

#[test]
fn j67_grpc_status_wins_over_http_502() {
    let mut call = unary();
    let h = head(
        502,
        &[
            ("content-type", "application/grpc"),
            ("grpc-status", "3"),
            ("grpc-message", "bad arg"),
        ],
    );
    call.handle_headers(h, true);
    let s = status_of(&mut call);
    assert_eq!((s.code(), s.message()), (Code::InvalidArgument, "bad arg"));

    // A proxy's 502 head followed by trailers carrying grpc-status.
    let mut call = unary();
    call.handle_headers(head(502, &[("content-type", "text/plain")]), false);
    call.handle_data(Bytes::from_static(b"upstream"), false);
    call.handle_trailers(&trailers(&[("grpc-status", "14")]));
    assert_eq!(status_of(&mut call).code(), Code::Unavailable);
}

#[test]
fn j68_non_grpc_content_type_is_unknown_with_a_body_quote() {
    let mut call = unary();
    call.handle_headers(head(200, &[("content-type", "text/html")]), false);
    call.handle_data(Bytes::from_static(b"<html>hello"), false);
    call.handle_data(Bytes::from_static(b"</html>"), true);
    let s = status_of(&mut call);
    assert_eq!(s.code(), Code::Unknown);
    assert_eq!(
        s.message(),
        "unexpected content-type \"text/html\" (HTTP status 200); body: <html>hello</html>"
    );
    assert_eq!(call.reset_code(), None);

    // Missing content-type.
    let mut call = unary();
    call.handle_headers(head(200, &[]), false);
    call.handle_data(Bytes::new(), true);
    let s = status_of(&mut call);
    assert_eq!(s.code(), Code::Unknown);
    assert_eq!(s.message(), "missing content-type (HTTP status 200)");

    // A huge body: at most 1 KiB is kept, and the call ends (and the
    // stream is reset) as soon as 1 KiB is in hand.
    let mut call = unary();
    call.handle_headers(head(200, &[("content-type", "application/json")]), false);
    call.handle_data(Bytes::from(vec![b'a'; 700]), false);
    assert!(!call.is_finished());
    call.handle_data(Bytes::from(vec![b'b'; 700]), false);
    assert!(call.is_finished());
    assert_eq!(call.reset_code(), Some(ErrorCode::CANCEL));
    let s = status_of(&mut call);
    assert_eq!(s.code(), Code::Unknown);
    let quote = s.message().split_once("; body: ").unwrap().1;
    assert_eq!(quote.len(), 1024);
    assert_eq!(&quote[..700], "a".repeat(700));
}

#[test]
fn j69_j74_j75_j84_core_stream_errors_are_internal() {
    // The core validates :status, header block order, 1xx and field syntax
    // and resets the stream with the error; the call ends INTERNAL.
    for detail in [
        "missing :status",
        "second header block without END_STREAM",
        "1xx response with END_STREAM",
        "uppercase field name",
    ] {
        let mut call = unary();
        call.handle_headers(grpc_ok_head(), false);
        let err = ProtoError::stream(StreamId::new(1), ErrorCode::PROTOCOL_ERROR, detail);
        call.handle_reset(ErrorCode::PROTOCOL_ERROR, false, Some(&err), Instant::now());
        let s = status_of(&mut call);
        assert_eq!(s.code(), Code::Internal, "{detail}");
        assert_eq!(
            s.message(),
            format!("malformed response: stream error PROTOCOL_ERROR on stream 1: {detail}")
        );
    }
    // Defence in depth: a second head reaching the call is INTERNAL too.
    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    call.handle_headers(grpc_ok_head(), false);
    assert_eq!(status_of(&mut call).code(), Code::Internal);
}

#[test]
fn j70_bad_grpc_status_is_unknown() {
    for (value, message) in [
        ("abc", "invalid grpc-status \"abc\""),
        ("", "invalid grpc-status \"\""),
        ("-1", "invalid grpc-status \"-1\""),
        ("17", "unknown grpc-status 17"),
        ("4294967296", "invalid grpc-status \"4294967296\""),
    ] {
        let mut call = CallRecv::new(Cardinality::Streaming);
        call.handle_headers(grpc_ok_head(), false);
        call.handle_trailers(&trailers(&[("grpc-status", value)]));
        let s = status_of(&mut call);
        assert_eq!(
            (s.code(), s.message()),
            (Code::Unknown, message),
            "{value:?}"
        );
    }
}

#[test]
fn j71_trailers_without_grpc_status_are_unknown() {
    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    call.handle_data(msg(b"x"), false);
    call.handle_trailers(&trailers(&[("x-other", "1")]));
    let s = status_of(&mut call);
    assert_eq!(s.code(), Code::Unknown);
    assert_eq!(s.message(), "server sent trailers without grpc-status");
}

#[test]
fn j72_end_stream_on_data_without_trailers_is_internal() {
    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    call.handle_data(msg(b"whole"), true);
    let (messages, s) = outcome(&mut call);
    assert_eq!(messages.len(), 1);
    assert_eq!(s.code(), Code::Internal);
    assert_eq!(
        s.message(),
        "server closed the stream without sending trailers"
    );
}

#[test]
fn j73_trailers_only_is_valid() {
    let mut call = unary();
    let h = head(
        200,
        &[
            ("content-type", "application/grpc"),
            ("grpc-status", "5"),
            ("grpc-message", "no%20such%20user"),
            ("x-trace", "t1"),
        ],
    );
    call.handle_headers(h, true);
    assert_eq!(call.reset_code(), None);
    let first = call.poll_event().unwrap();
    let RecvEvent::Status(s) = first else {
        panic!("Trailers-Only yields only the status, got {first:?}");
    };
    assert_eq!((s.code(), s.message()), (Code::NotFound, "no such user"));
    assert_eq!(s.metadata().get("x-trace"), Some("t1"));

    // A streaming call may end with an OK Trailers-Only response.
    let mut call = CallRecv::new(Cardinality::Streaming);
    call.handle_headers(
        head(
            200,
            &[("content-type", "application/grpc"), ("grpc-status", "0")],
        ),
        true,
    );
    assert_eq!(status_of(&mut call).code(), Code::Ok);
}

#[test]
fn j76_broken_grpc_message_passes_through() {
    for (raw, expected) in [
        ("100%", "100%"),
        ("%zzbad", "%zzbad"),
        ("%E2%82", "\u{fffd}"),
        ("ok%20%E2%9C%93", "ok \u{2713}"),
    ] {
        let mut call = CallRecv::new(Cardinality::Streaming);
        call.handle_headers(grpc_ok_head(), false);
        call.handle_trailers(&trailers(&[("grpc-status", "9"), ("grpc-message", raw)]));
        let s = status_of(&mut call);
        assert_eq!(
            (s.code(), s.message()),
            (Code::FailedPrecondition, expected)
        );
    }
    // Raw invalid UTF-8 bytes.
    let mut call = CallRecv::new(Cardinality::Streaming);
    call.handle_headers(grpc_ok_head(), false);
    call.handle_trailers(&[
        f("grpc-status", "9"),
        HeaderField {
            name: Bytes::from_static(b"grpc-message"),
            value: Bytes::from_static(b"bad \xff"),
        },
    ]);
    assert_eq!(status_of(&mut call).message(), "bad \u{fffd}");
}

#[test]
fn j77_bad_base64_in_bin_metadata_is_internal() {
    // In the response headers.
    let mut call = unary();
    call.handle_headers(
        head(
            200,
            &[
                ("content-type", "application/grpc"),
                ("x-id-bin", "not base64!"),
            ],
        ),
        false,
    );
    let s = status_of(&mut call);
    assert_eq!(s.code(), Code::Internal);
    assert_eq!(
        s.message(),
        "invalid base64 in binary metadata \"x-id-bin\""
    );
    assert_eq!(call.reset_code(), Some(ErrorCode::CANCEL));
    // In the trailers, and in grpc-status-details-bin.
    for bad in [("x-id-bin", "A"), ("grpc-status-details-bin", "@@@@")] {
        let mut call = unary();
        call.handle_headers(grpc_ok_head(), false);
        call.handle_data(msg(b"m"), false);
        call.handle_trailers(&trailers(&[("grpc-status", "0"), bad]));
        assert_eq!(status_of(&mut call).code(), Code::Internal, "{bad:?}");
    }
    // Padded and unpadded are both accepted.
    let mut call = CallRecv::new(Cardinality::Streaming);
    call.handle_headers(
        head(
            200,
            &[
                ("content-type", "application/grpc"),
                ("a-bin", "AQI="),
                ("b-bin", "AQI"),
            ],
        ),
        false,
    );
    match call.poll_event() {
        Some(RecvEvent::Headers(md)) => {
            assert_eq!(md.get_bin("a-bin"), Some(&[1u8, 2][..]));
            assert_eq!(md.get_bin("b-bin"), Some(&[1u8, 2][..]));
        }
        other => panic!("{other:?}"),
    }
    call.handle_trailers(&trailers(&[
        ("grpc-status", "0"),
        ("grpc-status-details-bin", "CAU="),
    ]));
    assert_eq!(status_of(&mut call).details().as_ref(), b"\x08\x05");
}

#[test]
fn j78_compressed_or_unknown_flag_is_internal() {
    // The Compressed-Flag on a stream whose headers named no grpc-encoding.
    for (flag, message) in [
        (
            1,
            "received a compressed message on a stream without grpc-encoding",
        ),
        (2, "invalid compressed flag 0x02 in message prefix"),
        (0x80, "invalid compressed flag 0x80 in message prefix"),
    ] {
        let mut call = unary();
        call.handle_headers(grpc_ok_head(), false);
        call.handle_data(frame(flag, b"zz"), false);
        let s = status_of(&mut call);
        assert_eq!((s.code(), s.message()), (Code::Internal, message));
        assert_eq!(call.reset_code(), Some(ErrorCode::CANCEL));
    }
}

#[test]
fn j79_over_limit_is_resource_exhausted_before_the_body() {
    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    // The prefix alone declares 4 MiB + 1; no body follows.
    let mut prefix = vec![0];
    prefix.extend_from_slice(&(4 * 1024 * 1024 + 1u32).to_be_bytes());
    call.handle_data(Bytes::from(prefix), false);
    let s = status_of(&mut call);
    assert_eq!(s.code(), Code::ResourceExhausted);
    assert_eq!(
        s.message(),
        "received message larger than the limit (4194305 > 4194304 bytes)"
    );
    // A configured limit applies too.
    let mut call = unary().with_max_message_size(10);
    call.handle_headers(grpc_ok_head(), false);
    call.handle_data(msg(&[0; 11]), false);
    assert_eq!(status_of(&mut call).code(), Code::ResourceExhausted);
}

#[test]
fn j80_a_compression_bomb_stops_at_the_receive_limit() {
    // We offer gzip (grpc-accept-encoding), so a server may compress; a
    // message that inflates past the receive limit is RESOURCE_EXHAUSTED
    // once the limit is crossed, and corrupt gzip is INTERNAL.
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 64 << 20]).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(
        bomb.len() < 128 << 10,
        "64 MiB of zeros in {} bytes",
        bomb.len()
    );
    let gzip_head = || {
        head(
            200,
            &[
                ("content-type", "application/grpc"),
                ("grpc-encoding", "gzip"),
            ],
        )
    };
    let mut call = unary().with_max_message_size(1 << 20);
    call.handle_headers(gzip_head(), false);
    call.handle_data(frame(1, &bomb), false);
    let status = status_of(&mut call);
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");

    let mut call = unary();
    call.handle_headers(gzip_head(), false);
    call.handle_data(frame(1, &[0x1f, 0x8b, 8, 0]), false);
    assert_eq!(status_of(&mut call).code(), Code::Internal);
}

#[test]
fn j81_stream_ending_mid_message_is_internal_even_with_ok_trailers() {
    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    call.handle_data(Bytes::from_static(b"\x00\x00\x00"), false);
    call.handle_trailers(&trailers(&[("grpc-status", "0")]));
    let s = status_of(&mut call);
    assert_eq!(
        (s.code(), s.message()),
        (
            Code::Internal,
            "stream ended in the middle of a message prefix"
        )
    );

    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    call.handle_data(frame(0, b"0123456789").slice(..9), false);
    call.handle_trailers(&trailers(&[("grpc-status", "0")]));
    let s = status_of(&mut call);
    assert_eq!(s.code(), Code::Internal);
    assert_eq!(
        s.message(),
        "stream ended in the middle of a message (4 of 10 bytes received)"
    );

    // END_STREAM on DATA mid-message.
    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    call.handle_data(frame(0, b"0123456789").slice(..9), true);
    assert_eq!(status_of(&mut call).code(), Code::Internal);
}

#[test]
fn j82_unary_cardinality_is_enforced() {
    // Zero messages with OK.
    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    call.handle_trailers(&trailers(&[("grpc-status", "0")]));
    let s = status_of(&mut call);
    assert_eq!(s.code(), Code::Internal);
    assert_eq!(
        s.message(),
        "cardinality violation: no response message for a unary call"
    );

    // Zero messages in an OK Trailers-Only response.
    let mut call = unary();
    call.handle_headers(
        head(
            200,
            &[("content-type", "application/grpc"), ("grpc-status", "0")],
        ),
        true,
    );
    assert_eq!(status_of(&mut call).code(), Code::Internal);

    // Two messages: fails at the second, and resets the stream.
    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    let mut two = msg(b"1").to_vec();
    two.extend_from_slice(&msg(b"2"));
    call.handle_data(Bytes::from(two), false);
    assert_eq!(call.reset_code(), Some(ErrorCode::CANCEL));
    call.handle_trailers(&trailers(&[("grpc-status", "0")]));
    let (messages, s) = outcome(&mut call);
    assert_eq!(messages.len(), 1);
    assert_eq!(s.code(), Code::Internal);
    assert_eq!(
        s.message(),
        "cardinality violation: more than one response message for a unary call"
    );

    // Zero messages with an error status is just that error.
    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    call.handle_trailers(&trailers(&[("grpc-status", "6")]));
    assert_eq!(status_of(&mut call).code(), Code::AlreadyExists);

    // Streaming calls take any number.
    let mut call = CallRecv::new(Cardinality::Streaming);
    call.handle_headers(grpc_ok_head(), false);
    for _ in 0..3 {
        call.handle_data(msg(b"m"), false);
    }
    call.handle_trailers(&trailers(&[("grpc-status", "0")]));
    let (messages, s) = outcome(&mut call);
    assert_eq!((messages.len(), s.code()), (3, Code::Ok));
}

#[test]
fn j83_unparsable_proto_and_oversized_metadata_fail() {
    #[derive(Clone, PartialEq, prost::Message)]
    struct Reply {
        #[prost(string, tag = "1")]
        text: String,
    }
    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    // Field 1 claims 100 bytes, 2 follow.
    call.handle_data(msg(b"\x0a\x64hi"), false);
    call.handle_trailers(&trailers(&[("grpc-status", "0")]));
    let (messages, s) = outcome(&mut call);
    assert!(s.is_ok());
    let mut codec = ProstCodec::<Reply, Reply>::new();
    let err = codec.decode(messages[0].clone()).unwrap_err();
    assert_eq!(err.code(), Code::Internal);

    let big = "v".repeat(20_000);
    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    call.handle_data(msg(b"m"), false);
    call.handle_trailers(&trailers(&[("grpc-status", "0"), ("x-big", &big)]));
    let s = status_of(&mut call);
    assert_eq!(s.code(), Code::ResourceExhausted);
    assert!(
        s.message().starts_with("response header list too large"),
        "{}",
        s.message()
    );
}

#[test]
fn reset_and_connection_failures_follow_the_mapping() {
    let now = Instant::now();
    let cases = [
        (ErrorCode::NO_ERROR, Code::Internal),
        (ErrorCode::REFUSED_STREAM, Code::Unavailable),
        (ErrorCode::CANCEL, Code::Cancelled),
        (ErrorCode::ENHANCE_YOUR_CALM, Code::ResourceExhausted),
        (ErrorCode::INADEQUATE_SECURITY, Code::PermissionDenied),
        (ErrorCode::FLOW_CONTROL_ERROR, Code::Internal),
    ];
    for (h2, code) in cases {
        let mut call = unary().with_deadline(now + Duration::from_secs(10));
        call.handle_headers(grpc_ok_head(), false);
        call.handle_reset(h2, true, None, now);
        assert_eq!(status_of(&mut call).code(), code, "{h2}");
        assert_eq!(call.reset_code(), None, "the server already reset it");
    }
    // CANCEL after our deadline: the server enforced grpc-timeout.
    let mut call = unary().with_deadline(now);
    call.handle_reset(
        ErrorCode::CANCEL,
        true,
        None,
        now + Duration::from_millis(1),
    );
    assert_eq!(status_of(&mut call).code(), Code::DeadlineExceeded);
    // The connection went away.
    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    call.handle_connection_closed(&CloseReason::TransportClosed);
    let s = status_of(&mut call);
    assert_eq!(s.code(), Code::Unavailable);
    assert_eq!(s.message(), "connection closed by the transport");
    // The caller's deadline.
    let mut call = unary();
    call.handle_headers(grpc_ok_head(), false);
    call.handle_deadline();
    assert_eq!(status_of(&mut call).code(), Code::DeadlineExceeded);
}
