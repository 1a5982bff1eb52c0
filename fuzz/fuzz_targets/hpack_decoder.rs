//! Arbitrary field blocks through the HPACK decoder, several blocks in a row
//! on one decoder (dynamic table state carries over).
//! Invariants: no panic; the handed-out header list never exceeds the limit;
//! the table never exceeds its maximum size.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tether_h2::hpack::Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else { return };
    let table = [0usize, 64, 256, 4096][usize::from(ctl & 3)];
    let limit = [128usize, 1024, 16 * 1024, 1 << 20][usize::from((ctl >> 2) & 3)];
    let mut dec = Decoder::new(table);
    // Blocks are separated by the byte 0xff 0x00 0xff, which rarely matters to HPACK.
    for block in split(rest) {
        let block = Bytes::copy_from_slice(block);
        let mut handed = 0usize;
        match dec.decode(&block, limit, |f| handed += f.size()) {
            Ok(out) => {
                assert!(handed <= limit, "handed out {handed} over the limit {limit}");
                assert!(out.over_limit || out.list_size == handed);
            }
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        }
        assert!(dec.table_size() <= table);
    }
});

fn split(mut s: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some(i) = s.windows(3).position(|w| w == [0xff, 0x00, 0xff]) {
        out.push(&s[..i]);
        s = &s[i + 3..];
    }
    out.push(s);
    out
}
