use super::*;
use crate::codec::BytesCodec;
use crate::grpc::compression::Encoding;
use crate::status::Status;
use crate::Code;
use proptest::prelude::*;

fn frame(msg: &[u8]) -> Vec<u8> {
    let mut v = vec![0];
    v.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    v.extend_from_slice(msg);
    v
}

fn drain(dec: &mut MessageDecoder) -> Vec<Bytes> {
    let mut out = Vec::new();
    while let Some(m) = dec.poll_message().unwrap() {
        out.push(m);
    }
    out
}

#[test]
fn encode_writes_prefix_and_body() {
    let mut dst = BytesMut::from(&b"xx"[..]);
    encode_message(
        &mut BytesCodec,
        &Bytes::from_static(b"hello"),
        &mut dst,
        100,
    )
    .unwrap();
    assert_eq!(&dst[..], b"xx\x00\x00\x00\x00\x05hello");
    encode_message(&mut BytesCodec, &Bytes::new(), &mut dst, 100).unwrap();
    assert_eq!(&dst[12..], b"\x00\x00\x00\x00\x00");
}

#[test]
fn encode_over_limit_is_resource_exhausted_and_leaves_dst() {
    let mut dst = BytesMut::from(&b"keep"[..]);
    let err =
        encode_message(&mut BytesCodec, &Bytes::from_static(b"12345"), &mut dst, 4).unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(
        err.message(),
        "message to send is larger than the limit (5 > 4 bytes)"
    );
    assert_eq!(&dst[..], b"keep");
}

#[test]
fn whole_messages_in_one_chunk_are_zero_copy() {
    let mut wire = frame(b"one");
    wire.extend(frame(b""));
    wire.extend(frame(b"three"));
    let chunk = Bytes::from(wire);
    let base = chunk.as_ptr() as usize;
    let mut dec = MessageDecoder::new(DEFAULT_MAX_RECV_MESSAGE_SIZE);
    dec.push(chunk);
    let msgs = drain(&mut dec);
    assert_eq!(msgs, [&b"one"[..], b"", b"three"]);
    assert_eq!(msgs[0].as_ptr() as usize, base + 5);
    assert_eq!(msgs[2].as_ptr() as usize, base + 18);
    assert!(!dec.is_mid_message());
    dec.finish().unwrap();
}

#[test]
fn split_prefix_with_whole_body_is_zero_copy() {
    let wire = frame(b"body");
    let mut dec = MessageDecoder::new(100);
    dec.push(Bytes::copy_from_slice(&wire[..2]));
    assert_eq!(dec.poll_message().unwrap(), None);
    assert!(dec.is_mid_message());
    let rest = Bytes::copy_from_slice(&wire[2..]);
    let body_ptr = rest.as_ptr() as usize + 3;
    dec.push(rest);
    let msg = dec.poll_message().unwrap().unwrap();
    assert_eq!(&msg[..], b"body");
    assert_eq!(msg.as_ptr() as usize, body_ptr);
}

#[test]
fn message_split_across_chunks_is_gathered() {
    let wire = frame(b"abcdefgh");
    let mut dec = MessageDecoder::new(100);
    for b in &wire[..wire.len() - 1] {
        dec.push(Bytes::copy_from_slice(&[*b]));
        assert_eq!(dec.poll_message().unwrap(), None);
    }
    assert_eq!(
        dec.finish().unwrap_err().message(),
        "stream ended in the middle of a message (7 of 8 bytes received)"
    );
    dec.push(Bytes::copy_from_slice(&wire[wire.len() - 1..]));
    assert_eq!(&dec.poll_message().unwrap().unwrap()[..], b"abcdefgh");
    dec.finish().unwrap();
}

#[test]
fn over_limit_fails_before_body_arrives() {
    let mut dec = MessageDecoder::new(DEFAULT_MAX_RECV_MESSAGE_SIZE);
    // Only the prefix: 4 MiB + 1 declared.
    dec.push(Bytes::from_static(b"\x00\x00\x40\x00\x01"));
    let err = dec.poll_message().unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(
        err.message(),
        "received message larger than the limit (4194305 > 4194304 bytes)"
    );
    // Sticky, and later data is ignored.
    dec.push(Bytes::from_static(b"\x00\x00\x00\x00\x00"));
    assert_eq!(dec.poll_message().unwrap_err(), err);
    assert_eq!(dec.finish().unwrap_err(), err);
}

#[test]
fn exactly_the_limit_is_accepted() {
    let mut dec = MessageDecoder::new(3);
    dec.push(Bytes::from(frame(b"abc")));
    assert_eq!(&dec.poll_message().unwrap().unwrap()[..], b"abc");
}

#[test]
fn compressed_flag_without_grpc_encoding_is_internal() {
    for encoding in [None, Some(Bytes::from_static(b"identity"))] {
        let mut dec = MessageDecoder::new(100);
        dec.set_encoding(encoding);
        dec.push(Bytes::from_static(b"\x01\x00\x00\x00\x01x"));
        let err = dec.poll_message().unwrap_err();
        assert_eq!(err.code(), Code::Internal);
        assert_eq!(
            err.message(),
            "received a compressed message on a stream without grpc-encoding"
        );
    }
}

/// A message framed with `encoding` by the encoder side.
fn framed_with(msg: &[u8], encoding: Encoding, max: usize) -> Result<BytesMut, Status> {
    let mut buf = BytesMut::new();
    encode_message_with(
        &mut BytesCodec,
        &Bytes::copy_from_slice(msg),
        &mut buf,
        max,
        encoding,
    )?;
    Ok(buf)
}

#[test]
fn gzip_messages_round_trip_whole_and_split() {
    let msg = b"compress me, compress me, compress me".repeat(40);
    let wire = framed_with(&msg, Encoding::Gzip, usize::MAX).unwrap();
    assert_eq!(wire[0], 1, "the Compressed-Flag is set");
    assert!(wire.len() < msg.len() / 4);
    // Two messages, the second split byte by byte.
    let mut dec = MessageDecoder::new(msg.len());
    dec.set_encoding(Some(Bytes::from_static(b"gzip")));
    dec.push(wire.clone().freeze());
    for b in wire.iter() {
        dec.push(Bytes::copy_from_slice(&[*b]));
    }
    let got = drain(&mut dec);
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|m| m[..] == msg[..]));
    dec.finish().unwrap();
    // An uncompressed message on the same stream is fine too.
    dec.push(Bytes::from(frame(b"plain")));
    assert_eq!(&dec.poll_message().unwrap().unwrap()[..], b"plain");
}

#[test]
fn identity_encoding_frames_as_before() {
    let a = framed_with(b"abc", Encoding::Identity, 10).unwrap();
    assert_eq!(&a[..], &frame(b"abc")[..]);
}

#[test]
fn a_gzip_bomb_is_resource_exhausted_and_sticky() {
    // 32 MiB of zeros, about 32 KiB on the wire, against a 1 MiB limit.
    let wire = framed_with(&vec![0u8; 32 << 20], Encoding::Gzip, usize::MAX).unwrap();
    assert!(wire.len() < 64 << 10, "{}", wire.len());
    let mut dec = MessageDecoder::new(1 << 20);
    dec.set_encoding(Some(Bytes::from_static(b"gzip")));
    dec.push(wire.freeze());
    let err = dec.poll_message().unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
    dec.push(Bytes::from(frame(b"more")));
    assert_eq!(dec.poll_message().unwrap_err(), err);
    assert_eq!(dec.finish().unwrap_err(), err);
}

#[test]
fn corrupt_gzip_is_internal() {
    let mut dec = MessageDecoder::new(100);
    dec.set_encoding(Some(Bytes::from_static(b"gzip")));
    dec.push(Bytes::from_static(b"\x01\x00\x00\x00\x03abc"));
    assert_eq!(dec.poll_message().unwrap_err().code(), Code::Internal);
}

#[test]
fn unsupported_encoding_is_unimplemented() {
    let mut dec = MessageDecoder::new(100);
    dec.set_encoding(Some(Bytes::from_static(b"snappy")));
    // Uncompressed messages pass: the encoding only matters when used.
    dec.push(Bytes::from(frame(b"ok")));
    assert_eq!(&dec.poll_message().unwrap().unwrap()[..], b"ok");
    dec.push(Bytes::from_static(b"\x01\x00\x00\x00\x01x"));
    let err = dec.poll_message().unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert!(err.message().contains("snappy"), "{err}");
}

#[test]
fn compressed_send_limit_counts_the_wire_size() {
    let msg = vec![0u8; 10_000];
    // 10 000 zeros compress far below 100 bytes: sent.
    framed_with(&msg, Encoding::Gzip, 100).unwrap();
    // Random-looking bytes do not: over the limit, RESOURCE_EXHAUSTED.
    let noise: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let err = framed_with(&noise, Encoding::Gzip, 100).unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
}

#[test]
fn unknown_flag_is_internal_even_split() {
    let mut dec = MessageDecoder::new(100);
    dec.push(Bytes::from_static(b"\x02\x00"));
    assert_eq!(dec.poll_message().unwrap(), None);
    dec.push(Bytes::from_static(b"\x00\x00\x00"));
    let err = dec.poll_message().unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(
        err.message(),
        "invalid compressed flag 0x02 in message prefix"
    );
}

#[test]
fn end_mid_prefix_is_internal() {
    let mut dec = MessageDecoder::new(100);
    dec.push(Bytes::from_static(b"\x00\x00\x00"));
    assert_eq!(dec.poll_message().unwrap(), None);
    let err = dec.finish().unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(
        err.message(),
        "stream ended in the middle of a message prefix"
    );
}

#[test]
fn empty_chunks_are_ignored() {
    let mut dec = MessageDecoder::new(100);
    dec.push(Bytes::new());
    assert_eq!(dec.poll_message().unwrap(), None);
    assert!(!dec.is_mid_message());
}

proptest! {
    #[test]
    fn random_splits_decode_identically(
        msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..12),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let mut wire = BytesMut::new();
        for m in &msgs {
            encode_message(&mut BytesCodec, &Bytes::copy_from_slice(m), &mut wire, 1000).unwrap();
        }
        let wire = wire.freeze();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.push(0);
        points.push(wire.len());
        points.sort_unstable();
        let mut dec = MessageDecoder::new(300);
        let mut out = Vec::new();
        for w in points.windows(2) {
            dec.push(wire.slice(w[0]..w[1]));
            while let Some(m) = dec.poll_message().unwrap() {
                out.push(m.to_vec());
            }
        }
        prop_assert_eq!(out, msgs);
        prop_assert!(dec.finish().is_ok());
    }

    #[test]
    fn truncated_streams_never_finish_ok(
        msg in proptest::collection::vec(any::<u8>(), 0..64),
        cut in any::<prop::sample::Index>(),
    ) {
        let wire = frame(&msg);
        let cut = 1 + cut.index(wire.len() - 1);
        let mut dec = MessageDecoder::new(100);
        dec.push(Bytes::copy_from_slice(&wire[..cut]));
        prop_assert_eq!(dec.poll_message().unwrap(), None);
        let err = dec.finish().unwrap_err();
        prop_assert_eq!(err.code(), Code::Internal);
    }
}
