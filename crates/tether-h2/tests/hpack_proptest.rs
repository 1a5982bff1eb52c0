//! Property tests: random header lists round-trip through our encoder and
//! decoder at random table sizes, with size changes between blocks; random
//! bytes never make the decoder panic; Huffman round-trips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use tether_h2::hpack::{huffman, Decoder, Encoder, FieldRef};

#[derive(Debug, Clone)]
struct Field {
    name: Vec<u8>,
    value: Vec<u8>,
    sensitive: bool,
}

fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            ":path",
            ":authority",
            ":status",
            "content-type",
            "grpc-timeout",
            "authorization",
            "user-agent",
            "x-custom",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        "[a-z0-9-]{0,12}".prop_map(String::into_bytes),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec!["", "200", "application/grpc", "/", "a"])
            .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
        prop::collection::vec(any::<u8>(), 200..400),
    ]
}

fn field() -> impl Strategy<Value = Field> {
    (name(), value(), prop::bool::weighted(0.1)).prop_map(|(name, value, sensitive)| Field {
        name,
        value,
        sensitive,
    })
}

/// A block of fields, and maybe a new peer table size to apply before it.
fn blocks() -> impl Strategy<Value = Vec<(Option<u32>, Vec<Field>)>> {
    let size = prop_oneof![Just(0u32), Just(64), Just(256), Just(4096), 0u32..9000];
    prop::collection::vec(
        (
            prop::option::weighted(0.2, size),
            prop::collection::vec(field(), 0..12),
        ),
        1..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encoder_decoder_round_trip(
        cap in prop_oneof![Just(0usize), Just(256), Just(4096), 0usize..8192],
        start in prop_oneof![Just(4096u32), 0u32..8192],
        blocks in blocks(),
    ) {
        let mut e = Encoder::new(cap);
        let mut d = Decoder::new(start as usize);
        e.set_peer_max_table_size(start);
        for (change, fields) in blocks {
            if let Some(size) = change {
                // Our SETTINGS_HEADER_TABLE_SIZE changed and was acknowledged.
                d.set_max_table_size(size as usize);
                e.set_peer_max_table_size(size);
            }
            let mut block = BytesMut::new();
            e.encode(
                fields.iter().map(|f| FieldRef { name: &f.name, value: &f.value, sensitive: f.sensitive }),
                &mut block,
            );
            let mut got = Vec::new();
            d.decode(&block.freeze(), usize::MAX, |f| got.push((f.name, f.value))).unwrap();
            let want: Vec<(Bytes, Bytes)> = fields
                .iter()
                .map(|f| (Bytes::from(f.name.clone()), Bytes::from(f.value.clone())))
                .collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(d.table_size(), e.table().size());
            prop_assert!(e.table().size() <= cap);
        }
    }

    #[test]
    fn random_bytes_never_panic(blocks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..8)) {
        let mut d = Decoder::new(4096);
        for b in blocks {
            let _ = d.decode(&Bytes::from(b), 1024, |_| {});
            prop_assert!(d.table_size() <= 4096);
        }
    }

    #[test]
    fn huffman_round_trip(s in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut coded = BytesMut::new();
        huffman::encode(&s, &mut coded);
        prop_assert_eq!(coded.len(), huffman::encoded_len(&s));
        let mut out = BytesMut::new();
        huffman::decode(&coded, &mut out).unwrap();
        prop_assert_eq!(&out[..], &s[..]);
    }

    #[test]
    fn huffman_random_input_never_panics(s in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut out = BytesMut::new();
        if huffman::decode(&s, &mut out).is_ok() {
            // Whatever decodes re-encodes to the same bits.
            let mut again = BytesMut::new();
            huffman::encode(&out, &mut again);
            prop_assert_eq!(&again[..], &s[..]);
        }
    }
}
