//! Generator of `crates/tether-h2/src/hpack/huffman_table.rs`.
//!
//! The only input is RFC 7541 Appendix B ([`appendix_b::CODES`]). The output
//! holds the encoding table, a multi-symbol decoding table indexed by the next
//! [`LOOKUP_BITS`] bits of input, and the canonical-code tables used for the
//! codes longer than that. Run `cargo run -p tether-h2-gen` to rewrite it; a
//! test checks the committed file is what [`generate`] produces.

pub mod appendix_b;

use appendix_b::CODES;
use std::fmt::Write as _;

/// How many input bits one decoding-table lookup looks at.
pub const LOOKUP_BITS: u32 = 14;

/// The longest code (EOS), in bits.
const MAX_LEN: usize = 30;

/// The symbol number of EOS.
const EOS: usize = 256;

/// Where the generated file lives, relative to this crate's manifest directory.
pub const OUTPUT_PATH: &str = "../tether-h2/src/hpack/huffman_table.rs";

/// Checks the typed-in table: Kraft sum exactly 1 (complete code), prefix-free,
/// and canonical (codes of one length are consecutive, in symbol order, and
/// each length continues from the previous one). Returns what went wrong.
pub fn check_codes() -> Result<(), String> {
    // Kraft sum, scaled by 2^30: a complete prefix code sums to exactly 2^30.
    let mut kraft: u64 = 0;
    for (sym, &(code, len)) in CODES.iter().enumerate() {
        let len = usize::from(len);
        if !(5..=MAX_LEN).contains(&len) {
            return Err(format!("symbol {sym}: length {len} out of range"));
        }
        if u64::from(code) >> len != 0 {
            return Err(format!(
                "symbol {sym}: code {code:#x} longer than {len} bits"
            ));
        }
        kraft += 1u64 << (MAX_LEN - len);
    }
    if kraft != 1u64 << MAX_LEN {
        return Err(format!("Kraft sum {kraft:#x} is not 2^30"));
    }
    // Canonical: sorted by (length, symbol), each code is the previous plus one,
    // shifted left when the length grows.
    let order = canonical_order();
    let mut expect: u64 = 0;
    let mut prev_len = usize::from(CODES[order[0]].1);
    for &sym in &order {
        let (code, len) = CODES[sym];
        let len = usize::from(len);
        expect <<= len - prev_len;
        prev_len = len;
        if u64::from(code) != expect {
            return Err(format!(
                "symbol {sym}: code {code:#x}, canonical order wants {expect:#x}"
            ));
        }
        expect += 1;
    }
    // A complete canonical code whose every code is distinct is prefix-free.
    Ok(())
}

/// Symbols sorted by (code length, symbol).
fn canonical_order() -> Vec<usize> {
    let mut order: Vec<usize> = (0..CODES.len()).collect();
    order.sort_by_key(|&s| (CODES[s].1, s));
    order
}

/// Decodes, from the top of a `LOOKUP_BITS`-bit window, as many whole symbols
/// as fit (at most 3, and never EOS). Returns the symbols and the bits used.
fn decode_window(window: u32) -> (Vec<u8>, u32) {
    let mut syms = Vec::new();
    let mut used = 0u32;
    'outer: while syms.len() < 3 {
        for (sym, &(code, len)) in CODES.iter().enumerate().take(EOS) {
            let len = u32::from(len);
            if used + len > LOOKUP_BITS {
                continue;
            }
            let bits = (window >> (LOOKUP_BITS - used - len)) & ((1 << len) - 1);
            if bits == code {
                syms.push(sym as u8);
                used += len;
                continue 'outer;
            }
        }
        break;
    }
    (syms, used)
}

/// The generated Rust source of `huffman_table.rs`.
pub fn generate() -> String {
    let mut out = String::new();
    out.push_str(
        "//! Huffman tables of RFC 7541 Appendix B. GENERATED, DO NOT EDIT: run\n\
         //! `cargo run -p tether-h2-gen` (source: crates/tether-h2-gen/src/lib.rs).\n\n",
    );
    out.push_str("/// `(code, bit length)` per symbol, code right-aligned; index 256 is EOS.\n");
    out.push_str("#[rustfmt::skip]\npub(super) const ENCODE: [(u32, u8); 257] = [\n");
    for chunk in CODES.chunks(4) {
        out.push_str("   ");
        for (code, len) in chunk {
            let _ = write!(out, " ({code:#x}, {len}),");
        }
        out.push('\n');
    }
    out.push_str("];\n\n");

    let _ = writeln!(out, "/// Input bits looked at by one [`DECODE`] lookup.");
    let _ = writeln!(out, "pub(super) const LOOKUP_BITS: u32 = {LOOKUP_BITS};\n");
    out.push_str(
        "/// Indexed by the next `LOOKUP_BITS` input bits: bits consumed in bits\n\
         /// 0..5, symbol count in 5..7, symbols in 8..16, 16..24 and 24..32.\n\
         /// A count of 0 means the next code is longer than `LOOKUP_BITS`.\n",
    );
    let size = 1usize << LOOKUP_BITS;
    let _ = writeln!(
        out,
        "#[rustfmt::skip]\npub(super) static DECODE: [u32; {size}] = ["
    );
    for row in 0..size / 8 {
        out.push_str("   ");
        for col in 0..8 {
            let window = (row * 8 + col) as u32;
            let (syms, used) = decode_window(window);
            let mut entry = used | (syms.len() as u32) << 5;
            for (i, &s) in syms.iter().enumerate() {
                entry |= u32::from(s) << (8 + 8 * i);
            }
            let _ = write!(out, " {entry:#010x},");
        }
        out.push('\n');
    }
    out.push_str("];\n\n");

    // Canonical tables for the long codes: per length, the first code, how many
    // codes there are, and where their symbols start in CANON_SYMBOLS.
    let order = canonical_order();
    let mut first = [0u32; MAX_LEN + 1];
    let mut count = [0u32; MAX_LEN + 1];
    let mut offset = [0u16; MAX_LEN + 1];
    for (i, &sym) in order.iter().enumerate().rev() {
        let (code, len) = CODES[sym];
        let len = usize::from(len);
        first[len] = code;
        offset[len] = i as u16;
        count[len] += 1;
    }
    let arrays: [(&str, &str, String); 3] = [
        (
            "/// Per code length: the first (smallest) code of that length.",
            "CANON_FIRST: [u32; 31]",
            first
                .iter()
                .map(|v| format!("{v:#x}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "/// Per code length: how many codes have that length.",
            "CANON_COUNT: [u32; 31]",
            count
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "/// Per code length: index in [`CANON_SYMBOLS`] of its first symbol.",
            "CANON_OFFSET: [u16; 31]",
            offset
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    for (doc, decl, body) in arrays {
        let _ = writeln!(
            out,
            "{doc}\n#[rustfmt::skip]\npub(super) const {decl} = [{body}];\n"
        );
    }
    out.push_str("/// Symbols sorted by (code length, symbol).\n");
    out.push_str("#[rustfmt::skip]\npub(super) const CANON_SYMBOLS: [u16; 257] = [\n");
    for chunk in order.chunks(16) {
        out.push_str("   ");
        for s in chunk {
            let _ = write!(out, " {s},");
        }
        out.push('\n');
    }
    out.push_str("];\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appendix_b_is_complete_and_canonical() {
        assert_eq!(check_codes(), Ok(()));
    }

    #[test]
    fn appendix_b_spot_checks() {
        // Rows read off RFC 7541 Appendix B.
        assert_eq!(CODES[b'a' as usize], (0x3, 5));
        assert_eq!(CODES[b'/' as usize], (0x18, 6));
        assert_eq!(CODES[b'<' as usize], (0x7ffc, 15));
        assert_eq!(CODES[255], (0x3ffffee, 26));
        assert_eq!(CODES[EOS], (0x3fffffff, 30));
    }

    #[test]
    fn committed_table_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(OUTPUT_PATH);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generate(),
            "{} is stale: run `cargo run -p tether-h2-gen`",
            path.display()
        );
    }

    #[test]
    fn window_of_two_short_codes() {
        // "aa" = 00011 00011, then 2 bits of anything: two symbols, 10 bits.
        let (syms, used) = decode_window(0b0001_1000_1100 << (LOOKUP_BITS - 12));
        assert_eq!((syms, used), (vec![b'a', b'a'], 10));
    }
}
