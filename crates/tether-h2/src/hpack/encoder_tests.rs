//! Unit tests of the encoder: integers, size updates, indexing policy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::hpack::Decoder;

fn block(e: &mut Encoder, fields: &[FieldRef<'_>]) -> Vec<u8> {
    let mut out = BytesMut::new();
    e.encode(fields.iter().copied(), &mut out);
    out.to_vec()
}

const GET: FieldRef<'static> = FieldRef::new(b":method", b"GET");

#[test]
fn c1_integer_encoding() {
    let mut out = BytesMut::new();
    write_int(&mut out, 0, 5, 10);
    write_int(&mut out, 0, 5, 1337);
    write_int(&mut out, 0, 8, 42);
    write_int(&mut out, 0xe0, 5, 31);
    assert_eq!(&out[..], &[0x0a, 0x1f, 0x9a, 0x0a, 0x2a, 0xff, 0x00]);
}

#[test]
fn no_size_update_by_default() {
    let mut e = Encoder::new(4096);
    assert_eq!(block(&mut e, &[GET]), vec![0x82]);
}

#[test]
fn peer_table_size_zero_then_max() {
    let mut e = Encoder::new(4096);
    e.set_peer_max_table_size(0);
    assert_eq!(block(&mut e, &[GET]), vec![0x20, 0x82]);
    assert_eq!(e.table().max_size(), 0);
    // 2^32-1 is capped at our 4,096.
    e.set_peer_max_table_size(u32::MAX);
    assert_eq!(block(&mut e, &[GET]), vec![0x3f, 0xe1, 0x1f, 0x82]);
    assert_eq!(e.table().max_size(), 4096);
    // Only once.
    assert_eq!(block(&mut e, &[GET]), vec![0x82]);
}

#[test]
fn down_then_up_signals_minimum_then_final() {
    // RFC 7541 §4.2: the smallest size in the interval, then the final one.
    let mut e = Encoder::new(4096);
    e.set_peer_max_table_size(100);
    e.set_peer_max_table_size(4096);
    assert_eq!(
        block(&mut e, &[GET]),
        vec![0x3f, 0x45, 0x3f, 0xe1, 0x1f, 0x82]
    );
}

#[test]
fn raise_above_cap_is_no_change() {
    let mut e = Encoder::new(4096);
    e.set_peer_max_table_size(65536);
    assert_eq!(block(&mut e, &[GET]), vec![0x82]);
}

#[test]
fn small_cap_is_announced_on_first_block() {
    let mut e = Encoder::new(256);
    assert_eq!(block(&mut e, &[GET]), vec![0x3f, 0xe1, 0x01, 0x82]);
    assert_eq!(block(&mut e, &[GET]), vec![0x82]);
}

#[test]
fn sensitive_fields_are_never_indexed() {
    let mut e = Encoder::new(4096);
    let secret = FieldRef {
        name: b"x-token",
        value: b"abc",
        sensitive: true,
    };
    let out = block(&mut e, &[secret]);
    assert_eq!(out[0], 0x10);
    assert_eq!(e.table().len(), 0);
    // authorization is never indexed even when not flagged; static name 23.
    let out = block(&mut e, &[FieldRef::new(b"authorization", b"Bearer x")]);
    assert_eq!(&out[..2], &[0x1f, 0x08]);
    assert_eq!(e.table().len(), 0);
    // A sensitive field equal to a static entry is still a literal.
    let out = block(
        &mut e,
        &[FieldRef {
            sensitive: true,
            ..GET
        }],
    );
    assert_eq!(out, vec![0x12, 0x03, b'G', b'E', b'T']);
}

#[test]
fn volatile_fields_are_not_indexed() {
    let mut e = Encoder::new(4096);
    let out = block(&mut e, &[FieldRef::new(b"grpc-timeout", b"1S")]);
    assert_eq!(out[0], 0x00);
    assert_eq!(e.table().len(), 0);
    let out = block(&mut e, &[FieldRef::new(b"content-length", b"5")]);
    // Static name 28, 4-bit prefix: 0f 0d, raw "5".
    assert_eq!(out, vec![0x0f, 0x0d, 0x01, b'5']);
}

#[test]
fn huge_fields_are_not_indexed() {
    let mut e = Encoder::new(4096);
    let big = vec![b'x'; 3100];
    block(&mut e, &[FieldRef::new(b"x-big", &big)]);
    assert_eq!(e.table().len(), 0);
}

#[test]
fn warm_grpc_request_is_a_handful_of_indexed_octets() {
    let request = [
        FieldRef::new(b":method", b"POST"),
        FieldRef::new(b":scheme", b"https"),
        FieldRef::new(b":path", b"/helloworld.Greeter/SayHello"),
        FieldRef::new(b":authority", b"greeter.default.svc.cluster.local:50051"),
        FieldRef::new(b"content-type", b"application/grpc"),
        FieldRef::new(b"te", b"trailers"),
        FieldRef::new(b"user-agent", b"tether/0.1"),
        FieldRef::new(b"grpc-accept-encoding", b"identity,gzip"),
    ];
    let mut e = Encoder::new(4096);
    let mut d = Decoder::new(4096);
    let first = block(&mut e, &request);
    let second = block(&mut e, &request);
    assert_eq!(second.len(), request.len(), "{second:02x?}");
    assert!(second.iter().all(|b| b & 0x80 != 0));
    for b in [first, second] {
        let mut n = 0;
        d.decode(&Bytes::from(b), usize::MAX, |_| n += 1).unwrap();
        assert_eq!(n, request.len());
    }
    assert_eq!(d.table_size(), e.table().size());
}
