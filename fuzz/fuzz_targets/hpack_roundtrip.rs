//! Random header lists through our encoder and back through our decoder,
//! with table size changes between blocks. Invariant: decode(encode(x)) == x.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tether_h2::hpack::{Decoder, Encoder, FieldRef};

fuzz_target!(|data: &[u8]| {
    let mut enc = Encoder::new(4096);
    let mut dec = Decoder::new(4096);
    // Blocks separated by 0xfe; in a block, fields separated by 0xfd, name and
    // value by 0xfc; a leading 0xfb byte in a block sets the peer table size
    // from the next byte (x 64) before encoding it.
    for block in data.split(|&b| b == 0xfe) {
        let mut block = block;
        if let [0xfb, n, rest @ ..] = block {
            enc.set_peer_max_table_size(u32::from(*n) * 64);
            block = rest;
        }
        let fields: Vec<(&[u8], &[u8], bool)> = block
            .split(|&b| b == 0xfd)
            .filter(|f| !f.is_empty())
            .map(|f| {
                let mut it = f.splitn(2, |&b| b == 0xfc);
                let name = it.next().unwrap_or_default();
                let value = it.next().unwrap_or_default();
                (name, value, name.first().is_some_and(|b| b & 1 == 1))
            })
            .collect();
        let mut out = BytesMut::new();
        enc.encode(
            fields.iter().map(|&(n, v, s)| FieldRef { name: n, value: v, sensitive: s }),
            &mut out,
        );
        let block = out.freeze();
        let mut got: Vec<(Bytes, Bytes)> = Vec::new();
        dec.decode(&block, usize::MAX, |f| got.push((f.name, f.value)))
            .expect("our own encoding decodes");
        assert_eq!(got.len(), fields.len());
        for ((gn, gv), (n, v, _)) in got.iter().zip(&fields) {
            assert_eq!(&gn[..], *n);
            assert_eq!(&gv[..], *v);
        }
    }
});
