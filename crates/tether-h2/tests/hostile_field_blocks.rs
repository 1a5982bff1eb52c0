//! Field blocks and CONTINUATION (docs/hostile-peers.md section C, items
//! 19-24).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::Bytes;
use support::wire::{self, *};
use support::{response_head, Peer};
use tether_h2::conn::{Event, ResponseHead};
use tether_h2::hpack::HeaderField;
use tether_h2::{ErrorCode, StreamId};

fn hf(n: &str, v: &str) -> HeaderField {
    HeaderField {
        name: Bytes::copy_from_slice(n.as_bytes()),
        value: Bytes::copy_from_slice(v.as_bytes()),
    }
}

/// Established client with streams 1 and 3 open, nothing received on them.
fn two_streams() -> Peer {
    let mut p = Peer::established();
    p.open(true);
    p.open(true);
    p.take_sent();
    p.take_events();
    p
}

/// HOSTILE C19: after HEADERS without END_HEADERS only a CONTINUATION on the
/// same stream may follow (§4.3, §6.10): anything else is CE(PROTOCOL_ERROR).
#[test]
fn c19_interleaved_frame_inside_a_field_block_is_protocol_error() {
    let open_block = wire::headers_raw(1, &[0x88], 0);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("DATA same stream", wire::data(1, b"x", false)),
        ("PING", wire::ping([0; 8], false)),
        ("unknown type", wire::unknown(1, b"")),
        (
            "HEADERS on stream 3",
            wire::headers_raw(3, &[0x88], END_HEADERS),
        ),
        ("SETTINGS", wire::settings(&[])),
        ("WINDOW_UPDATE", wire::window_update(0, 1)),
    ];
    for (what, bytes) in cases {
        let mut p = two_streams();
        p.recv(&wire::cat(&[open_block.clone(), bytes]));
        assert_eq!(p.goaways(), vec![(0, ErrorCode::PROTOCOL_ERROR)], "{what}");
        p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
        assert!(
            !p.events.iter().any(|e| matches!(e, Event::Headers { .. })),
            "{what}: no half block may be delivered"
        );
    }
}

/// HOSTILE C20: CONTINUATION with no open block, or on another stream: CE(PROTOCOL_ERROR).
#[test]
fn c20_stray_continuation_is_protocol_error() {
    let mut p = two_streams();
    p.recv(&wire::continuation(1, &[0x88], true));
    p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);

    let mut p = two_streams();
    p.recv(&wire::cat(&[
        wire::headers_raw(1, &[0x88], 0),
        wire::continuation(3, &[], true),
    ]));
    p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);

    // A CONTINUATION after a block that already ended.
    let mut p = two_streams();
    p.recv(&wire::cat(&[
        wire::headers_raw(1, &[0x88], END_HEADERS),
        wire::continuation(1, &[], true),
    ]));
    p.assert_conn_error(ErrorCode::PROTOCOL_ERROR);
}

/// HOSTILE C21: a field block over many CONTINUATIONs (1-byte and empty fragments) is fine.
#[test]
fn c21_block_over_many_continuations_is_accepted() {
    let mut p = two_streams();
    let mut fields = response_head();
    fields.push(support::f("x-custom", "some value"));
    let block = p.encode(&fields);
    assert!(block.len() > 20 && block.len() < 60, "len {}", block.len());
    let mut bytes = wire::headers_raw(1, &block[..1], 0);
    for b in &block[1..] {
        bytes.extend(wire::continuation(1, &[*b], false));
    }
    bytes.extend(wire::continuation(1, &[], false));
    bytes.extend(wire::continuation(1, &[], true));
    p.recv(&bytes);
    assert_eq!(
        p.events,
        vec![Event::Headers {
            stream_id: StreamId::new(1),
            head: ResponseHead::new(
                200,
                vec![
                    hf("content-type", "application/grpc"),
                    hf("x-custom", "some value")
                ]
            ),
            end_stream: false,
        }]
    );
    p.assert_no_error();
}

/// HOSTILE C22: a response header list over our SETTINGS_MAX_HEADER_LIST_SIZE
/// (16 KiB) fails that stream only, and the block is still decoded so the
/// dynamic table stays in sync (§4.3, §10.5.1).
#[test]
fn c22_header_list_over_limit_is_stream_error_and_table_stays_in_sync() {
    let mut p = two_streams();
    // Stream 1: `x-tag: one` inserted into the table, then a 20,000-byte
    // literal that is not indexed: list size ≈ 20 KiB > 16 KiB.
    let big = vec![b'v'; 20_000];
    let block = wire::block_200(&wire::cat(&[
        wire::lit_indexed(b"x-tag", b"one"),
        wire::lit(b"x-big", &big),
    ]));
    p.recv(&wire::headers_block(1, &block, false, 16_384));
    // Like grpc-go, the client answers an oversized response with PROTOCOL_ERROR.
    p.assert_stream_error(1, ErrorCode::PROTOCOL_ERROR);
    assert!(!p.events.iter().any(|e| matches!(e, Event::Headers { .. })));
    p.take_sent();
    p.take_events();

    // Stream 3 refers to the entry inserted by the refused block (index 62).
    let block = wire::block_200(&wire::indexed(62));
    p.recv(&wire::headers_raw(3, &block, END_HEADERS));
    assert_eq!(
        p.events,
        vec![Event::Headers {
            stream_id: StreamId::new(3),
            head: ResponseHead::new(200, vec![hf("x-tag", "one")]),
            end_stream: false,
        }]
    );
    p.assert_no_error();
}

/// HOSTILE C23: a field block many times over the limits (300 KiB, past the
/// 256 KiB block cap): CE(ENHANCE_YOUR_CALM).
#[test]
fn c23_header_block_far_over_limit_is_enhance_your_calm() {
    let mut p = two_streams();
    let mut rest = Vec::new();
    for i in 0..30 {
        rest.extend(wire::lit(format!("x-h{i}").as_bytes(), &vec![b'a'; 10_000]));
    }
    let block = wire::block_200(&rest);
    assert!(block.len() > 300_000);
    p.recv(&wire::headers_block(1, &block, false, 16_384));
    p.assert_conn_error(ErrorCode::ENHANCE_YOUR_CALM);
}

/// HOSTILE C24: a field block for a stream we reset is still decoded
/// (HPACK state is connection-wide): no error, and later blocks decode.
#[test]
fn c24_block_for_reset_stream_is_still_decoded() {
    let mut p = two_streams();
    p.client.reset(StreamId::new(1), ErrorCode::CANCEL).unwrap();
    p.step();
    assert_eq!(p.rsts(), vec![(1, ErrorCode::CANCEL)]);
    p.take_sent();
    p.take_events();
    // The server had already sent these before it saw our RST_STREAM.
    let block = wire::block_200(&wire::lit_indexed(b"x-tag", b"two"));
    p.recv(&wire::headers_raw(1, &block, END_HEADERS));
    p.recv(&wire::headers_raw(
        1,
        &wire::lit(b"grpc-status", b"1"),
        END_HEADERS | END_STREAM,
    ));
    assert_eq!(p.events, vec![], "nothing for a stream we reset");
    p.recv(&wire::headers_raw(
        3,
        &wire::block_200(&wire::indexed(62)),
        END_HEADERS,
    ));
    assert_eq!(
        p.events,
        vec![Event::Headers {
            stream_id: StreamId::new(3),
            head: ResponseHead::new(200, vec![hf("x-tag", "two")]),
            end_stream: false,
        }]
    );
    p.assert_no_error();
}
