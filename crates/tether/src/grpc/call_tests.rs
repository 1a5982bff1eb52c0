use super::*;
use crate::Code;

fn f(name: &'static str, value: &'static str) -> HeaderField {
    HeaderField {
        name: Bytes::from_static(name.as_bytes()),
        value: Bytes::from_static(value.as_bytes()),
    }
}

fn head(fields: Vec<HeaderField>) -> ResponseHead {
    ResponseHead::new(200, fields)
}

fn grpc_head() -> ResponseHead {
    head(vec![f("content-type", "application/grpc"), f("x-h", "1")])
}

fn msg(body: &[u8]) -> Bytes {
    let mut v = vec![0];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes());
    v.extend_from_slice(body);
    Bytes::from(v)
}

fn events(call: &mut CallRecv) -> Vec<RecvEvent> {
    std::iter::from_fn(|| call.poll_event()).collect()
}

#[test]
fn unary_success_in_order() {
    let mut call = CallRecv::new(Cardinality::Unary);
    call.handle_headers(grpc_head(), false);
    call.handle_data(msg(b"reply"), false);
    assert!(!call.is_finished());
    call.handle_trailers(&[f("grpc-status", "0"), f("x-t", "2")]);
    assert!(call.is_finished());
    let ev = events(&mut call);
    assert_eq!(ev.len(), 3);
    match &ev[0] {
        RecvEvent::Headers(md) => assert_eq!(md.get("x-h"), Some("1")),
        other => panic!("{other:?}"),
    }
    assert_eq!(ev[1], RecvEvent::Message(Bytes::from_static(b"reply")));
    match &ev[2] {
        RecvEvent::Status(s) => {
            assert_eq!(s.code(), Code::Ok);
            assert_eq!(s.metadata().get("x-t"), Some("2"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(call.reset_code(), None, "the stream ended cleanly");
}

#[test]
fn streaming_many_messages_across_frames() {
    let mut call = CallRecv::new(Cardinality::Streaming);
    call.handle_headers(grpc_head(), false);
    let mut wire = msg(b"a").to_vec();
    wire.extend_from_slice(&msg(b"bb"));
    wire.extend_from_slice(&msg(b"ccc"));
    call.handle_data(Bytes::copy_from_slice(&wire[..8]), false);
    call.handle_data(Bytes::copy_from_slice(&wire[8..]), false);
    call.handle_trailers(&[f("grpc-status", "0")]);
    let msgs: Vec<_> = events(&mut call)
        .into_iter()
        .filter_map(|e| match e {
            RecvEvent::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(msgs, [&b"a"[..], b"bb", b"ccc"]);
}

#[test]
fn streaming_allows_zero_messages() {
    let mut call = CallRecv::new(Cardinality::Streaming);
    call.handle_headers(grpc_head(), false);
    call.handle_trailers(&[f("grpc-status", "0")]);
    assert_eq!(events(&mut call).len(), 2);
}

#[test]
fn deadline_resets_an_open_stream_and_ignores_later_input() {
    let mut call = CallRecv::new(Cardinality::Unary);
    call.handle_headers(grpc_head(), false);
    call.handle_deadline();
    assert_eq!(call.reset_code(), Some(ErrorCode::CANCEL));
    call.handle_data(msg(b"late"), false);
    call.handle_trailers(&[f("grpc-status", "0")]);
    let ev = events(&mut call);
    assert_eq!(ev.len(), 2);
    match &ev[1] {
        RecvEvent::Status(s) => {
            assert_eq!(s.code(), Code::DeadlineExceeded);
            assert_eq!(s.message(), "deadline exceeded");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cancel_is_cancelled() {
    let mut call = CallRecv::new(Cardinality::Streaming);
    call.cancel();
    assert_eq!(call.reset_code(), Some(ErrorCode::CANCEL));
    match call.poll_event() {
        Some(RecvEvent::Status(s)) => assert_eq!(s.code(), Code::Cancelled),
        other => panic!("{other:?}"),
    }
    assert_eq!(call.poll_event(), None);
}

#[test]
fn no_reset_after_the_stream_ended() {
    let mut call = CallRecv::new(Cardinality::Unary);
    call.handle_headers(grpc_head(), false);
    call.handle_data(msg(b"x"), true);
    assert!(call.is_finished());
    assert_eq!(call.reset_code(), None);
}

#[test]
fn second_header_block_is_internal() {
    let mut call = CallRecv::new(Cardinality::Unary);
    call.handle_headers(grpc_head(), false);
    call.handle_headers(grpc_head(), false);
    let ev = events(&mut call);
    match ev.last() {
        Some(RecvEvent::Status(s)) => {
            assert_eq!(s.code(), Code::Internal);
            assert_eq!(s.message(), "received a second response header block");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn data_before_headers_is_internal() {
    let mut call = CallRecv::new(Cardinality::Unary);
    call.handle_data(msg(b"x"), false);
    match call.poll_event() {
        Some(RecvEvent::Status(s)) => assert_eq!(s.code(), Code::Internal),
        other => panic!("{other:?}"),
    }
    assert_eq!(call.reset_code(), Some(ErrorCode::CANCEL));
}

#[test]
fn oversized_header_list_fails() {
    let mut call = CallRecv::new(Cardinality::Unary).with_max_header_list_size(64);
    call.handle_headers(
        head(vec![
            f("content-type", "application/grpc"),
            f("x-big", "0123456789"),
        ]),
        false,
    );
    match call.poll_event() {
        Some(RecvEvent::Status(s)) => {
            assert_eq!(s.code(), Code::ResourceExhausted);
            assert_eq!(
                s.message(),
                "response header list too large (107 > 64 bytes)"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn handle_event_dispatches_core_events() {
    use tether_h2::StreamId;
    let id = StreamId::new(1);
    let now = Instant::now();
    let mut call = CallRecv::new(Cardinality::Unary);
    call.handle_event(
        Event::Headers {
            stream_id: id,
            head: grpc_head(),
            end_stream: false,
        },
        now,
    );
    call.handle_event(Event::SettingsAcked, now);
    call.handle_event(
        Event::Data {
            stream_id: id,
            data: msg(b"m"),
            end_stream: false,
        },
        now,
    );
    call.handle_event(
        Event::Trailers {
            stream_id: id,
            fields: vec![f("grpc-status", "7"), f("grpc-message", "no")],
        },
        now,
    );
    match events(&mut call).pop() {
        Some(RecvEvent::Status(s)) => {
            assert_eq!((s.code(), s.message()), (Code::PermissionDenied, "no"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_gzip_response_is_decompressed_and_its_encoding_applies_to_the_stream() {
    let mut wire = bytes::BytesMut::new();
    let body = Bytes::from(b"zipped reply ".repeat(50));
    crate::grpc::encode_message_with(
        &mut crate::codec::BytesCodec,
        &body,
        &mut wire,
        usize::MAX,
        crate::grpc::Encoding::Gzip,
    )
    .unwrap();
    let mut call = CallRecv::new(Cardinality::Unary);
    call.handle_headers(
        head(vec![
            f("content-type", "application/grpc"),
            f("grpc-encoding", "gzip"),
        ]),
        false,
    );
    call.handle_data(wire.freeze(), false);
    call.handle_trailers(&[f("grpc-status", "0")]);
    let ev = events(&mut call);
    assert_eq!(ev[1], RecvEvent::Message(body));
    assert!(matches!(&ev[2], RecvEvent::Status(s) if s.is_ok()));

    // Without the header, the same bytes are an error.
    let mut call = CallRecv::new(Cardinality::Unary);
    call.handle_headers(grpc_head(), false);
    call.handle_data(Bytes::from_static(b"\x01\x00\x00\x00\x01x"), false);
    let ev = events(&mut call);
    assert!(
        matches!(ev.last(), Some(RecvEvent::Status(s)) if s.code() == Code::Internal),
        "{ev:?}"
    );
}
