//! The frame codec driven with wire bytes: every framing rule of RFC 9113
//! §4 and §6 checked through `FrameDecoder`, with exact code and scope.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use tether_h2::frame::{
    flags, Continuation, Data, Decoded, DecoderLimits, Frame, FrameDecoder, FrameType, Headers,
    Ping, Settings, StreamId,
};
use tether_h2::{ErrorCode, ProtoError, Scope};

/// One raw frame: header fields and payload, length taken from the payload.
fn raw(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut v = len.to_be_bytes()[1..].to_vec();
    v.push(kind);
    v.push(flags);
    v.extend_from_slice(&stream.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// Feeds all of `bytes` at once and decodes until the buffer is drained.
fn decode_all_with(bytes: &[u8], limits: DecoderLimits) -> Result<Vec<Decoded>, ProtoError> {
    let mut dec = FrameDecoder::new(limits);
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(d) = dec.decode(&mut buf)? {
        out.push(d);
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    Ok(out)
}

fn decode_all(bytes: &[u8]) -> Result<Vec<Decoded>, ProtoError> {
    decode_all_with(bytes, DecoderLimits::default())
}

/// The frames (not the heads) that came out, skipping `None`s.
fn frames(decoded: &[Decoded]) -> Vec<Frame> {
    decoded.iter().filter_map(|d| d.frame.clone()).collect()
}

fn conn_err(bytes: &[u8], code: ErrorCode) {
    let e = decode_all(bytes).unwrap_err();
    assert_eq!((e.scope, e.code), (Scope::Connection, code), "{e}");
}

fn stream_err(bytes: &[u8], stream: u32, code: ErrorCode) {
    let e = decode_all(bytes).unwrap_err();
    assert_eq!(
        (e.scope, e.code),
        (Scope::Stream(StreamId::new(stream)), code),
        "{e}"
    );
}

const PE: ErrorCode = ErrorCode::PROTOCOL_ERROR;
const FSE: ErrorCode = ErrorCode::FRAME_SIZE_ERROR;
const EYC: ErrorCode = ErrorCode::ENHANCE_YOUR_CALM;

// ---- §6.1, §6.2 padding ----

#[test]
fn padded_data_with_empty_payload_is_frame_size_error() {
    conn_err(&raw(0x0, flags::PADDED, 1, &[]), FSE);
}

#[test]
fn padded_headers_with_empty_payload_is_frame_size_error() {
    conn_err(&raw(0x1, flags::PADDED | flags::END_HEADERS, 1, &[]), FSE);
}

#[test]
fn data_pad_length_too_large_is_protocol_error() {
    conn_err(&raw(0x0, flags::PADDED, 1, &[5, 1, 2, 3, 4]), PE);
    conn_err(&raw(0x0, flags::PADDED, 1, &[255, 1, 2]), PE);
}

#[test]
fn headers_pad_length_too_large_is_protocol_error() {
    conn_err(
        &raw(0x1, flags::PADDED | flags::END_HEADERS, 1, &[3, 0x82, 0]),
        PE,
    );
}

#[test]
fn pad_255_with_a_few_bytes_is_accepted() {
    let mut payload = vec![255, b'a', b'b'];
    payload.extend_from_slice(&[0; 255]);
    let out = decode_all(&raw(0x0, flags::PADDED, 1, &payload)).unwrap();
    assert_eq!(
        frames(&out),
        vec![Frame::Data(Data {
            stream_id: StreamId::new(1),
            data: Bytes::from_static(b"ab"),
            end_stream: false,
            flow_len: 258,
        })]
    );
}

#[test]
fn headers_priority_flag_too_short_is_frame_size_error() {
    conn_err(
        &raw(0x1, flags::PRIORITY | flags::END_HEADERS, 1, &[0; 4]),
        FSE,
    );
    let f = flags::PRIORITY | flags::PADDED | flags::END_HEADERS;
    conn_err(&raw(0x1, f, 1, &[0; 5]), FSE);
}

// ---- stream-id rules ----

#[test]
fn stream_frames_on_stream_zero_are_protocol_errors() {
    conn_err(&raw(0x0, 0, 0, b"x"), PE); // DATA
    conn_err(&raw(0x1, flags::END_HEADERS, 0, &[0x82]), PE); // HEADERS
    conn_err(&raw(0x2, 0, 0, &[0, 0, 0, 1, 0]), PE); // PRIORITY
    conn_err(&raw(0x3, 0, 0, &[0, 0, 0, 8]), PE); // RST_STREAM
    conn_err(&raw(0x5, flags::END_HEADERS, 0, &[0, 0, 0, 2]), PE); // PUSH_PROMISE
    conn_err(&raw(0x9, flags::END_HEADERS, 0, &[]), PE); // CONTINUATION
}

#[test]
fn connection_frames_on_a_stream_are_protocol_errors() {
    conn_err(&raw(0x4, 0, 1, &[]), PE); // SETTINGS
    conn_err(&raw(0x6, 0, 1, &[0; 8]), PE); // PING
    conn_err(&raw(0x7, 0, 1, &[0; 8]), PE); // GOAWAY
}

// ---- lengths ----

#[test]
fn fixed_length_violations() {
    conn_err(&raw(0x3, 0, 1, &[0; 3]), FSE); // RST_STREAM
    conn_err(&raw(0x3, 0, 1, &[0; 5]), FSE);
    conn_err(&raw(0x8, 0, 1, &[0, 0, 0, 1, 0]), FSE); // WINDOW_UPDATE
    conn_err(&raw(0x8, 0, 0, &[0, 0, 1]), FSE);
    conn_err(&raw(0x6, 0, 0, &[0; 7]), FSE); // PING
    conn_err(&raw(0x6, 0, 0, &[0; 9]), FSE);
    conn_err(&raw(0x4, 0, 0, &[0; 5]), FSE); // SETTINGS % 6
    conn_err(&raw(0x4, flags::ACK, 0, &[0, 1, 0, 0, 0, 0]), FSE); // ACK + payload
    conn_err(&raw(0x7, 0, 0, &[0; 7]), FSE); // GOAWAY < 8
    stream_err(&raw(0x2, 0, 3, &[0; 4]), 3, FSE); // PRIORITY != 5
    stream_err(&raw(0x2, 0, 3, &[0; 6]), 3, FSE);
}

#[test]
fn window_update_zero_increment() {
    stream_err(&raw(0x8, 0, 5, &[0; 4]), 5, PE);
    conn_err(&raw(0x8, 0, 0, &[0; 4]), PE);
}

// ---- SETTINGS values ----

fn setting(id: u16, value: u32) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend_from_slice(&value.to_be_bytes());
    raw(0x4, 0, 0, &v)
}

#[test]
fn settings_value_ranges() {
    conn_err(&setting(0x2, 2), PE);
    conn_err(&setting(0x4, 0x8000_0000), ErrorCode::FLOW_CONTROL_ERROR);
    conn_err(&setting(0x5, 16_383), PE);
    conn_err(&setting(0x5, 16_777_216), PE);
    let out = decode_all(&setting(0x99, 12)).unwrap();
    match &frames(&out)[..] {
        [Frame::Settings(s)] => {
            assert_eq!(s.params.len(), 1);
            assert_eq!(s.params[0].value, 12);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn settings_entry_cap_is_enhance_your_calm() {
    let limits = DecoderLimits::default();
    let entries = |n: usize| -> Vec<u8> {
        let payload: Vec<u8> = (0..n).flat_map(|_| [0, 3, 0, 0, 0, 1]).collect();
        raw(0x4, 0, 0, &payload)
    };
    let ok = decode_all(&entries(limits.max_settings_entries)).unwrap();
    assert_eq!(ok.len(), 1);
    conn_err(&entries(limits.max_settings_entries + 1), EYC);
}

// ---- unknown types and flags ----

#[test]
fn unknown_frame_type_is_reported_and_skipped() {
    let mut bytes = raw(0xbe, 0xff, 7, b"whatever");
    bytes.extend(raw(0x6, 0, 0, &[1; 8]));
    let out = decode_all(&bytes).unwrap();
    assert_eq!(out.len(), 2);
    assert!(
        matches!(out[0].frame, Some(Frame::Unknown(h)) if h.kind == FrameType(0xbe) && h.length == 8)
    );
    assert_eq!(
        out[1].frame,
        Some(Frame::Ping(Ping {
            ack: false,
            payload: [1; 8]
        }))
    );
}

#[test]
fn undefined_flags_and_reserved_bit_are_ignored() {
    let out = decode_all(&raw(0x0, 0xf6, 0x8000_0001, b"hi")).unwrap();
    assert_eq!(
        frames(&out),
        vec![Frame::Data(Data {
            stream_id: StreamId::new(1),
            data: Bytes::from_static(b"hi"),
            end_stream: false,
            flow_len: 2,
        })]
    );
}

// ---- max frame size ----

#[test]
fn data_of_exactly_16384_bytes_is_accepted() {
    let payload = vec![0xab; 16_384];
    let out = decode_all(&raw(0x0, 0, 1, &payload)).unwrap();
    match &frames(&out)[..] {
        [Frame::Data(d)] => assert_eq!(d.data.len(), 16_384),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn data_of_16385_bytes_is_rejected() {
    conn_err(&raw(0x0, 0, 1, &vec![0; 16_385]), FSE);
}

#[test]
fn oversized_frames_of_every_type_are_connection_errors() {
    for kind in [0x0u8, 0x1, 0x4, 0x6, 0x9, 0xee] {
        let e = decode_all(&raw(kind, 0, 1, &vec![0; 16_385])).unwrap_err();
        assert_eq!((e.scope, e.code), (Scope::Connection, FSE), "type {kind}");
    }
}

#[test]
fn raised_max_frame_size_is_honoured() {
    let mut dec = FrameDecoder::new(DecoderLimits::default());
    dec.set_max_frame_size(20_000);
    let mut buf = BytesMut::from(&raw(0x0, 0, 1, &vec![0; 20_000])[..]);
    let d = dec.decode(&mut buf).unwrap().unwrap();
    assert!(matches!(d.frame, Some(Frame::Data(ref data)) if data.data.len() == 20_000));
}

// ---- CONTINUATION (§4.3, §6.10) ----

fn open_block(stream: u32) -> Vec<u8> {
    raw(0x1, flags::END_STREAM, stream, b"ab")
}

#[test]
fn field_block_interrupted_by_another_frame_is_protocol_error() {
    let interrupters = [
        raw(0x0, 0, 1, b"x"),                  // DATA, same stream
        raw(0x6, 0, 0, &[0; 8]),               // PING
        raw(0xbe, 0, 1, b""),                  // unknown type
        raw(0x1, flags::END_HEADERS, 3, b"x"), // HEADERS elsewhere
        raw(0x8, 0, 0, &[0, 0, 0, 1]),         // WINDOW_UPDATE
    ];
    for frame in interrupters {
        let mut bytes = open_block(1);
        bytes.extend(frame);
        conn_err(&bytes, PE);
    }
}

#[test]
fn continuation_on_another_stream_is_protocol_error() {
    let mut bytes = open_block(1);
    bytes.extend(raw(0x9, flags::END_HEADERS, 3, b"cd"));
    conn_err(&bytes, PE);
}

#[test]
fn continuation_without_open_block_is_protocol_error() {
    conn_err(&raw(0x9, flags::END_HEADERS, 1, b"cd"), PE);
    // After a completed block, too.
    let mut bytes = raw(0x1, flags::END_HEADERS, 1, b"ab");
    bytes.extend(raw(0x9, flags::END_HEADERS, 1, b"cd"));
    conn_err(&bytes, PE);
}

#[test]
fn interruption_is_detected_from_the_header_alone() {
    let mut dec = FrameDecoder::new(DecoderLimits::default());
    let mut buf = BytesMut::from(&open_block(1)[..]);
    assert_eq!(dec.decode(&mut buf).unwrap().unwrap().frame, None);
    assert!(dec.in_header_block());
    // Only the 9-byte header of a DATA frame: rejected without its payload.
    buf.extend_from_slice(&raw(0x0, 0, 1, &[0; 100])[..9]);
    let e = dec.decode(&mut buf).unwrap_err();
    assert_eq!((e.scope, e.code), (Scope::Connection, PE));
}

#[test]
fn block_over_many_continuations_is_assembled() {
    let block: Vec<u8> = (0..=255u8).cycle().take(4000).collect();
    let mut bytes = BytesMut::new();
    Headers::encode_block(StreamId::new(3), &block, true, 64, &mut bytes);
    let out = decode_all(&bytes).unwrap();
    // 4000 / 64 = 62.5: one HEADERS and 62 CONTINUATIONs.
    assert_eq!(out.len(), 63);
    assert_eq!(out[0].head.kind, FrameType::HEADERS);
    assert!(out[1..]
        .iter()
        .all(|d| d.head.kind == FrameType::CONTINUATION));
    assert!(out[..62].iter().all(|d| d.frame.is_none()));
    assert_eq!(
        out[62].frame,
        Some(Frame::Headers(Headers {
            stream_id: StreamId::new(3),
            end_stream: true,
            end_headers: true,
            priority: None,
            fragment: Bytes::from(block),
        }))
    );
}

#[test]
fn continuation_count_cap_is_exact() {
    let limits = DecoderLimits::default();
    let block_with = |n: u32| {
        let mut bytes = open_block(1);
        for i in 0..n {
            let last = i + 1 == n;
            bytes.extend(raw(0x9, if last { flags::END_HEADERS } else { 0 }, 1, b""));
        }
        bytes
    };
    let out = decode_all(&block_with(limits.max_continuation_frames)).unwrap();
    assert_eq!(out.len() as u32, limits.max_continuation_frames + 1);
    let e = decode_all(&block_with(limits.max_continuation_frames + 1)).unwrap_err();
    assert_eq!((e.scope, e.code), (Scope::Connection, EYC));
}

#[test]
fn zero_length_continuation_flood_is_enhance_your_calm() {
    let mut dec = FrameDecoder::new(DecoderLimits::default());
    let mut buf = BytesMut::from(&open_block(1)[..]);
    let mut result = dec.decode(&mut buf);
    let mut sent = 0u32;
    while let Ok(Some(_)) = result {
        assert!(sent < 10_000, "flood never stopped");
        buf.extend_from_slice(&raw(0x9, 0, 1, b""));
        sent += 1;
        result = dec.decode(&mut buf);
    }
    let e = result.unwrap_err();
    assert_eq!((e.scope, e.code), (Scope::Connection, EYC));
    assert_eq!(sent, DecoderLimits::default().max_continuation_frames + 1);
}

#[test]
fn block_byte_cap_is_enhance_your_calm() {
    let limits = DecoderLimits {
        max_header_block_bytes: 100,
        ..DecoderLimits::default()
    };
    let mut bytes = BytesMut::new();
    Headers::encode_block(StreamId::new(1), &[7; 100], false, 30, &mut bytes);
    assert_eq!(decode_all_with(&bytes, limits).unwrap().len(), 4);
    let mut bytes = BytesMut::new();
    Headers::encode_block(StreamId::new(1), &[7; 101], false, 30, &mut bytes);
    let e = decode_all_with(&bytes, limits).unwrap_err();
    assert_eq!((e.scope, e.code), (Scope::Connection, EYC));
}

#[test]
fn padded_headers_then_continuation() {
    let h = Headers {
        stream_id: StreamId::new(1),
        end_stream: false,
        end_headers: false,
        priority: None,
        fragment: Bytes::from_static(b"ab"),
    };
    let mut bytes = BytesMut::new();
    h.encode_padded(3, &mut bytes);
    Continuation {
        stream_id: StreamId::new(1),
        end_headers: true,
        fragment: Bytes::from_static(b"cd"),
    }
    .encode(&mut bytes);
    let out = decode_all(&bytes).unwrap();
    assert_eq!(
        frames(&out),
        vec![Frame::Headers(Headers {
            end_headers: true,
            fragment: Bytes::from_static(b"abcd"),
            ..h
        })]
    );
}

// ---- segmentation ----

fn mixed_stream() -> BytesMut {
    let mut b = BytesMut::new();
    Settings::ack().encode(&mut b);
    Headers::encode_block(StreamId::new(1), &[0x88; 50], false, 16, &mut b);
    Data::encode(StreamId::new(1), b"hello world", false, &mut b);
    Data::encode_padded(StreamId::new(1), b"x", 9, true, &mut b);
    b.extend_from_slice(&raw(0xfe, 0, 0, b"unknown"));
    Ping {
        ack: true,
        payload: *b"pingpong",
    }
    .encode(&mut b);
    Headers::encode_block(StreamId::new(3), b"", true, 16_384, &mut b);
    b
}

#[test]
fn one_byte_at_a_time_gives_the_same_frames() {
    let bytes = mixed_stream();
    let whole = decode_all(&bytes).unwrap();
    assert_eq!(whole.len(), 10);

    let mut dec = FrameDecoder::new(DecoderLimits::default());
    let mut buf = BytesMut::new();
    let mut trickled = Vec::new();
    for byte in bytes.iter() {
        buf.extend_from_slice(&[*byte]);
        while let Some(d) = dec.decode(&mut buf).unwrap() {
            trickled.push(d);
        }
    }
    assert!(buf.is_empty());
    assert_eq!(trickled, whole);
}
