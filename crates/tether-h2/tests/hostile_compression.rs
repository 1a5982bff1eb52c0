//! Malformed HPACK from the server, through whole connections
//! (docs/hostile-peers.md section D, items 25-33). Every decoding failure is a connection error of
//! type COMPRESSION_ERROR (RFC 9113 §4.3).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::Bytes;
use support::wire::{self, *};
use support::{f, request, test_config, Peer, Sent};
use tether_h2::conn::{Event, ResponseHead};
use tether_h2::hpack::HeaderField;
use tether_h2::{ErrorCode, StreamId};

fn open_one() -> Peer {
    let mut p = Peer::established();
    p.open(true);
    p.take_sent();
    p
}

/// Sends `block` as the response head of stream 1 and expects CE(COMPRESSION_ERROR).
fn expect_compression_error(what: &str, block: &[u8]) {
    let mut p = open_one();
    p.recv(&wire::headers_raw(1, block, END_HEADERS));
    assert_eq!(
        p.goaways(),
        vec![(0, ErrorCode::COMPRESSION_ERROR)],
        "{what}: {:?}",
        p.sent
    );
    p.assert_conn_error(ErrorCode::COMPRESSION_ERROR);
    assert!(
        !p.events.iter().any(|e| matches!(e, Event::Headers { .. })),
        "{what}"
    );
}

fn expect_head(p: &Peer, stream: u32, fields: &[(&str, &str)]) {
    let want = Event::Headers {
        stream_id: StreamId::new(stream),
        head: ResponseHead::new(
            200,
            fields
                .iter()
                .map(|(n, v)| HeaderField {
                    name: Bytes::copy_from_slice(n.as_bytes()),
                    value: Bytes::copy_from_slice(v.as_bytes()),
                })
                .collect(),
        ),
        end_stream: false,
    };
    assert_eq!(p.events, vec![want]);
}

/// HOSTILE D25: indexed field with index 0, or past static + dynamic tables (7541 §6.1, §2.3.3).
#[test]
fn d25_bad_indexes_are_compression_errors() {
    expect_compression_error("index 0", &[0x80]);
    expect_compression_error("index 62 with an empty dynamic table", &wire::indexed(62));
    expect_compression_error(
        "index 70 after :status",
        &wire::block_200(&wire::indexed(70)),
    );
    let mut lit_bad_name = wire::hpack_int(4, 0x00, 99); // literal, name index 99
    lit_bad_name.extend(wire::hpack_str(b"v"));
    expect_compression_error("literal name index 99", &lit_bad_name);
}

/// HOSTILE D26: a dynamic table size update after a field representation (7541 §4.2).
#[test]
fn d26_size_update_after_field_is_compression_error() {
    expect_compression_error(
        "update after field",
        &wire::block_200(&wire::size_update(0)),
    );
}

/// HOSTILE D27: a size update above our SETTINGS_HEADER_TABLE_SIZE (4,096) (7541 §6.3).
#[test]
fn d27_size_update_above_our_setting_is_compression_error() {
    let mut b = wire::size_update(4097);
    b.push(STATUS_200);
    assert_eq!(&b[..3], &[0x3f, 0xe2, 0x1f]);
    expect_compression_error("update to 4097", &b);
}

/// HOSTILE D28: bad Huffman strings (7541 §5.2).
#[test]
fn d28_bad_huffman_is_compression_error() {
    // Literal without indexing, Huffman-coded new name, plain value "x".
    let block = |name_huff: &[u8]| {
        let mut b = vec![STATUS_200, 0x00];
        b.extend(wire::hpack_int(7, 0x80, name_huff.len() as u64));
        b.extend_from_slice(name_huff);
        b.extend(wire::hpack_str(b"x"));
        b
    };
    // Control: 'a' is 00011, padded with ones: 0x1f is valid.
    let mut p = open_one();
    p.recv(&wire::headers_raw(1, &block(&[0x1f]), END_HEADERS));
    expect_head(&p, 1, &[("a", "x")]);
    p.assert_no_error();

    expect_compression_error("padding not all ones", &block(&[0x18]));
    expect_compression_error("padding longer than 7 bits", &block(&[0x1f, 0xff]));
    expect_compression_error("EOS inside the string", &block(&[0xff, 0xff, 0xff, 0xfc]));
}

/// HOSTILE D29: integer overflow and string lengths past the block (7541 §5.1, §5.2).
#[test]
fn d29_integer_overflow_and_long_strings_are_compression_errors() {
    let mut overflow = vec![0xff];
    overflow.extend([0xff; 10]);
    overflow.push(0x7f);
    expect_compression_error("indexed with a 2^70 index", &overflow);
    let mut size_overflow = vec![0x3f];
    size_overflow.extend([0xff; 10]);
    size_overflow.push(0x01);
    expect_compression_error("size update overflow", &size_overflow);
    // Literal with a value length of 1,000 but 3 bytes left.
    let mut long = vec![STATUS_200, 0x00];
    long.extend(wire::hpack_str(b"x-a"));
    long.extend(wire::hpack_int(7, 0, 1000));
    long.extend_from_slice(b"abc");
    expect_compression_error("string past the block", &long);
    // A length of 2^32 + 5.
    let mut huge = vec![STATUS_200, 0x00];
    huge.extend(wire::hpack_int(7, 0, (1 << 32) + 5));
    expect_compression_error("string length 2^32", &huge);
}

/// HOSTILE D30: a block truncated mid-representation at END_HEADERS (RFC 9113 §4.3).
#[test]
fn d30_truncated_block_is_compression_error() {
    expect_compression_error("mid string", &[STATUS_200, 0x40, 0x05, b'a', b'b']);
    expect_compression_error("mid integer", &[STATUS_200, 0xff]);
    expect_compression_error("after literal opcode", &[STATUS_200, 0x00]);
    // Split over HEADERS + CONTINUATION, still truncated at END_HEADERS.
    let mut p = open_one();
    p.recv(&wire::cat(&[
        wire::headers_raw(1, &[STATUS_200, 0x40], 0),
        wire::continuation(1, &[0x05, b'a'], true),
    ]));
    p.assert_conn_error(ErrorCode::COMPRESSION_ERROR);
}

/// HOSTILE D31: a representation split across HEADERS/CONTINUATION, and two
/// size updates at the start of a block, are fine.
#[test]
fn d31_split_representation_and_two_size_updates_are_accepted() {
    let mut p = open_one();
    let mut block = wire::size_update(0);
    block.extend(wire::size_update(4096));
    block.push(STATUS_200);
    block.extend(wire::lit_indexed(b"x-split", b"across frames"));
    // Cut inside the literal's value.
    let cut = block.len() - 5;
    p.recv(&wire::cat(&[
        wire::headers_raw(1, &block[..cut], 0),
        wire::continuation(1, &block[cut..], true),
    ]));
    expect_head(&p, 1, &[("x-split", "across frames")]);
    p.assert_no_error();
}

/// HOSTILE D32: the server allows a 2^32-1 byte table; our encoder keeps its
/// own cap (4,096), so a decoder with a 4,096-byte table follows every block.
#[test]
fn d32_huge_peer_table_size_is_capped_by_our_encoder() {
    let mut p = Peer::established_with(test_config(), &[(HEADER_TABLE_SIZE, u32::MAX)]);
    let mut want = Vec::new();
    for i in 0..40 {
        // 1,000-byte values: each would stay indexed in a table larger than 4 KiB.
        let v = format!("{i:04}{}", "x".repeat(996));
        let mut fields = request("/test.Svc/Call");
        fields.push(f("x-big", &v));
        // Repeat an earlier value to tempt the encoder into an evicted index.
        fields.push(f("x-old", &format!("{:04}{}", i / 2, "y".repeat(996))));
        p.try_open(&fields, true).unwrap();
        want.push(fields);
        let id = 2 * i + 1;
        p.send_headers(id, &[f(":status", "200"), f("grpc-status", "0")], true);
    }
    // The harness decoder (4,096-byte table) would panic on a size update
    // above 4,096 or decode wrong values after a divergent eviction.
    let got: Vec<_> = p.headers_sent().into_iter().map(|h| h.1).collect();
    assert_eq!(got, want);
    p.assert_no_error();
}

/// HOSTILE D33: the server allows no table: our next block starts with a
/// size update to 0 (7541 §4.2, §6.3).
#[test]
fn d33_zero_peer_table_size_emits_size_update_first() {
    let mut p = Peer::established_with(test_config(), &[(HEADER_TABLE_SIZE, 0)]);
    p.open(true);
    p.open(true);
    let blocks: Vec<Bytes> = p
        .sent
        .iter()
        .filter_map(|s| match s {
            Sent::Headers { block, .. } => Some(block.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(blocks.len(), 2);
    assert_eq!(
        blocks[0][0],
        0x20,
        "size update to 0 first: {:02x?}",
        &blocks[0][..4]
    );
    assert_ne!(
        blocks[1][0] & 0xe0,
        0x20,
        "only once: {:02x?}",
        &blocks[1][..4]
    );
    // Nothing is indexed: both blocks are the same bytes after the update.
    assert_eq!(&blocks[0][1..], &blocks[1][..]);
}
