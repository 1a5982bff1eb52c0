//! Huffman coding of string literals (RFC 7541 §5.2, Appendix B).
//!
//! Decoding looks up the next `LOOKUP_BITS` (14) bits of a 64-bit bit buffer in a
//! generated table that yields every whole symbol in the window at once; codes longer
//! than the window fall back to a canonical-code search. The last bits of the
//! input go through a bit-exact one-symbol path that also judges the padding.
//! Encoding shifts codes into a 64-bit accumulator and stores 32 bits at a time.

use super::huffman_table::{
    CANON_COUNT, CANON_FIRST, CANON_OFFSET, CANON_SYMBOLS, DECODE, ENCODE, LOOKUP_BITS,
};
use bytes::{BufMut, BytesMut};
use std::fmt;

/// Malformed Huffman data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HuffmanError {
    /// Padding longer than 7 bits.
    PaddingTooLong,
    /// Padding not made of the most significant bits of EOS (all ones).
    BadPadding,
    /// The EOS symbol inside the string.
    Eos,
}

impl fmt::Display for HuffmanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HuffmanError::PaddingTooLong => "huffman padding longer than 7 bits",
            HuffmanError::BadPadding => "huffman padding is not a prefix of EOS",
            HuffmanError::Eos => "huffman EOS symbol inside a string",
        })
    }
}

impl std::error::Error for HuffmanError {}

/// The EOS symbol number.
const EOS: u16 = 256;

/// The longest code, in bits (EOS).
const MAX_CODE_LEN: u32 = 30;

/// Window lookups that 56 freshly buffered bits are sure to cover.
const LOOKUPS_PER_REFILL: u32 = 56 / LOOKUP_BITS;

/// The length of `src` once Huffman coded.
pub fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src
        .iter()
        .map(|&b| usize::from(ENCODE[usize::from(b)].1))
        .sum();
    bits.div_ceil(8)
}

/// Input octets encoded into one stack buffer before it is appended to the
/// output: 64 codes of at most 30 bits fill at most 240 octets.
const ENCODE_CHUNK: usize = 64;

/// Appends the Huffman coding of `src` to `dst`.
pub fn encode(src: &[u8], dst: &mut BytesMut) {
    // Header text codes to ~3/4 of its length: reserving the plain length
    // avoids a pass computing the exact one (appending grows if needed).
    dst.reserve(src.len());
    let mut acc: u64 = 0;
    let mut nbits: u32 = 0;
    // Codes collect in a 64-bit accumulator, flushed 32 bits at a time into a
    // stack buffer: one `BytesMut` append per 64 input octets, not per word.
    let mut buf = [0u8; ENCODE_CHUNK * 4];
    for chunk in src.chunks(ENCODE_CHUNK) {
        let mut n = 0usize;
        for &b in chunk {
            let (code, len) = ENCODE[usize::from(b)];
            // nbits < 32 here and len <= 30, so the accumulator never overflows.
            acc = (acc << len) | u64::from(code);
            nbits += u32::from(len);
            if nbits >= 32 {
                nbits -= 32;
                if let Some(slot) = buf.get_mut(n..n + 4) {
                    slot.copy_from_slice(&((acc >> nbits) as u32).to_be_bytes());
                }
                n += 4;
            }
        }
        dst.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    // RFC 7541 §5.2: the string is padded to an octet boundary with the most
    // significant bits of the EOS code (all ones).
    while nbits >= 8 {
        nbits -= 8;
        dst.put_u8((acc >> nbits) as u8);
    }
    if nbits > 0 {
        let pad = 8 - nbits;
        dst.put_u8(((acc << pad) as u8) | ((1u8 << pad) - 1));
    }
}

/// Output octets the fast path may write per round (4 lookups of up to 3
/// symbols, stored as one 16-octet word).
const ROUND_OUT: usize = 16;

/// Appends the decoding of `src` to `dst`.
pub fn decode(src: &[u8], dst: &mut BytesMut) -> Result<(), HuffmanError> {
    // Every code is at least 5 bits: at most len*8/5 symbols; the fast path
    // stores 16 octets a round, hence the slack. One resize, no per-octet
    // capacity checks.
    let start = dst.len();
    let max_out = src.len() * 8 / 5 + ROUND_OUT;
    dst.resize(start + max_out, 0);
    let result = decode_into(src, &mut dst[start..]);
    match result {
        Ok(n) => {
            dst.truncate(start + n);
            Ok(())
        }
        Err(e) => {
            dst.truncate(start);
            Err(e)
        }
    }
}

/// Decodes `src` into `out` (large enough, see [`decode`]); returns the length.
fn decode_into(src: &[u8], out: &mut [u8]) -> Result<usize, HuffmanError> {
    // `acc` holds input bits left-aligned: its top `nbits` bits are the next
    // unread bits; bits below them are zero or copies of the following input.
    let mut acc: u64 = 0;
    let mut nbits: u32 = 0;
    let mut pos = 0usize;
    let mut o = 0usize;

    // Fast path: while 8 whole input bytes remain, refill to >= 56 bits, then
    // do as many window lookups as 56 bits are sure to cover, gathering their
    // symbols in a 128-bit word stored with one bounds check per round.
    // A code longer than the window needs 30 buffered bits and ends the round.
    while let (Some(chunk), Some(dst)) = (src.get(pos..pos + 8), out.get_mut(o..o + ROUND_OUT)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        acc |= u64::from_be_bytes(word) >> nbits;
        let take = (63 - nbits) >> 3;
        pos += take as usize;
        nbits += take * 8;
        let mut syms: u128 = 0;
        let mut out_bits = 0u32;
        let mut long = false;
        for _ in 0..LOOKUPS_PER_REFILL {
            let entry = DECODE[(acc >> (64 - LOOKUP_BITS)) as usize];
            let count = (entry >> 5) & 3;
            if count == 0 {
                long = true;
                break;
            }
            // Octets past `count` in the entry are zero: OR-ing is safe.
            syms |= u128::from(entry >> 8) << out_bits;
            out_bits += count * 8;
            let used = entry & 0x1f;
            acc <<= used;
            nbits -= used;
        }
        dst.copy_from_slice(&syms.to_le_bytes());
        o += (out_bits / 8) as usize;
        if long && nbits >= MAX_CODE_LEN {
            let (sym, len) = decode_long((acc >> 34) as u32);
            if sym == EOS {
                // RFC 7541 §5.2: a Huffman-encoded string literal containing
                // the EOS symbol MUST be treated as a decoding error.
                return Err(HuffmanError::Eos);
            }
            if let Some(slot) = out.get_mut(o) {
                *slot = sym as u8;
            }
            o += 1;
            acc <<= len;
            nbits -= len;
        }
    }

    // Tail: bit-exact, one symbol at a time.
    loop {
        while nbits <= 56 {
            let Some(&b) = src.get(pos) else { break };
            acc |= u64::from(b) << (56 - nbits);
            nbits += 8;
            pos += 1;
        }
        if nbits == 0 {
            return Ok(o);
        }
        // Beyond the input, pretend the bits are ones (EOS-like padding).
        let peek = if nbits >= 64 {
            acc
        } else {
            (acc >> (64 - nbits) << (64 - nbits)) | (u64::MAX >> nbits)
        };
        let entry = DECODE[(peek >> (64 - LOOKUP_BITS)) as usize];
        let (sym, len) = if (entry >> 5) & 3 != 0 {
            let sym = ((entry >> 8) & 0xff) as u16;
            (sym, u32::from(ENCODE[usize::from(sym)].1))
        } else {
            decode_long((peek >> 34) as u32)
        };
        if len > nbits {
            // What is left is not a whole code: it must be padding.
            // RFC 7541 §5.2: padding strictly longer than 7 bits MUST be
            // treated as a decoding error.
            if nbits > 7 {
                return Err(HuffmanError::PaddingTooLong);
            }
            // RFC 7541 §5.2: padding not corresponding to the most significant
            // bits of the code for EOS MUST be treated as a decoding error.
            if acc >> (64 - nbits) != (1u64 << nbits) - 1 {
                return Err(HuffmanError::BadPadding);
            }
            return Ok(o);
        }
        if sym == EOS {
            // RFC 7541 §5.2: EOS inside the string MUST be a decoding error.
            return Err(HuffmanError::Eos);
        }
        if let Some(slot) = out.get_mut(o) {
            *slot = sym as u8;
        }
        o += 1;
        acc <<= len;
        nbits -= len;
    }
}

/// Decodes one code longer than the lookup window from the next 30 bits
/// (right-aligned in `bits30`), by the canonical-code ranges. Returns the
/// symbol (256 for EOS) and its length.
fn decode_long(bits30: u32) -> (u16, u32) {
    for len in LOOKUP_BITS + 1..=MAX_CODE_LEN {
        let code = bits30 >> (MAX_CODE_LEN - len);
        let l = len as usize;
        let delta = code.wrapping_sub(CANON_FIRST[l]);
        if delta < CANON_COUNT[l] {
            let idx = usize::from(CANON_OFFSET[l]) + delta as usize;
            return (CANON_SYMBOLS.get(idx).copied().unwrap_or(EOS), len);
        }
    }
    // Unreachable for a complete code: all ones is EOS at 30 bits.
    (EOS, MAX_CODE_LEN)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn dec(src: &[u8]) -> Result<Vec<u8>, HuffmanError> {
        let mut out = BytesMut::new();
        decode(src, &mut out).map(|()| out.to_vec())
    }

    fn enc(src: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(src, &mut out);
        assert_eq!(out.len(), encoded_len(src));
        out.to_vec()
    }

    #[test]
    fn rfc7541_c4_strings() {
        // RFC 7541 C.4.1-C.4.3 and C.6.1.
        let cases: [(&str, &[u8]); 6] = [
            ("f1e3c2e5f23a6ba0ab90f4ff", b"www.example.com"),
            ("a8eb10649cbf", b"no-cache"),
            ("25a849e95ba97d7f", b"custom-key"),
            ("25a849e95bb8e8b4bf", b"custom-value"),
            ("6402", b"302"),
            (
                "d07abe941054d444a8200595040b8166e082a62d1bff",
                b"Mon, 21 Oct 2013 20:13:21 GMT",
            ),
        ];
        for (wire, text) in cases {
            assert_eq!(dec(&hex(wire)).unwrap(), text);
            assert_eq!(enc(text), hex(wire));
        }
    }

    #[test]
    fn every_byte_round_trips() {
        let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        assert_eq!(dec(&enc(&all)).unwrap(), all);
        for b in 0..=255u8 {
            let s = [b, b'a', b];
            assert_eq!(dec(&enc(&s)).unwrap(), s);
        }
    }

    #[test]
    fn empty_string() {
        assert_eq!(enc(b""), Vec::<u8>::new());
        assert_eq!(dec(b"").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn padding_longer_than_7_bits() {
        // RFC 7541 §5.2: a whole byte of ones after 'a' (00011|111 11111111).
        assert_eq!(dec(&[0x1f, 0xff]), Err(HuffmanError::PaddingTooLong));
        assert_eq!(dec(&[0xff]), Err(HuffmanError::PaddingTooLong));
        // Long input so the fast path runs first.
        let mut long = enc(&[b'a'; 40]);
        long.push(0xff);
        assert_eq!(dec(&long), Err(HuffmanError::PaddingTooLong));
    }

    #[test]
    fn padding_not_ones() {
        // 'a' = 00011 then padding 000.
        assert_eq!(dec(&[0x18]), Err(HuffmanError::BadPadding));
        // 'a' then 110 padding.
        assert_eq!(dec(&[0x1e]), Err(HuffmanError::BadPadding));
    }

    #[test]
    fn eos_inside_string() {
        // EOS (30 ones) followed by two more ones as padding.
        assert_eq!(dec(&[0xff, 0xff, 0xff, 0xff]), Err(HuffmanError::Eos));
        // EOS in the middle of a long string, in the fast path.
        let mut bits = enc(&[b'0'; 16]); // 80 bits: exactly 10 bytes
        bits.extend_from_slice(&[0xff, 0xff, 0xff, 0xfc]); // EOS + "00"
        bits.extend_from_slice(&enc(&[b'0'; 16]));
        assert_eq!(dec(&bits), Err(HuffmanError::Eos));
    }

    #[test]
    fn long_codes_in_fast_and_tail_paths() {
        let s: Vec<u8> = (0..200u32).map(|i| (i * 37 % 256) as u8).collect();
        assert_eq!(dec(&enc(&s)).unwrap(), s);
    }

    /// Ad-hoc throughput check; run with
    /// `cargo test -p tether-h2 --release --lib huffman_decode_speed -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn huffman_decode_speed() {
        let text = b"application/grpc+proto; user-agent=grpc-go/1.64.0 \
            /helloworld.Greeter/SayHello www.example.com:443 trailers gzip, deflate \
            x-request-id=6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b ";
        let plain: Vec<u8> = text.iter().copied().cycle().take(1 << 20).collect();
        let coded = enc(&plain);
        let mut out = BytesMut::with_capacity(2 << 20);
        // Best of many rounds: the machine is shared, the minimum is the
        // least disturbed measurement.
        let mut best = f64::MAX;
        for _ in 0..300 {
            out.clear();
            let t = std::time::Instant::now();
            decode(std::hint::black_box(&coded), &mut out).unwrap();
            best = best.min(t.elapsed().as_secs_f64());
        }
        assert_eq!(&out[..], &plain[..]);
        let gbs = plain.len() as f64 / best / 1e9;
        println!("huffman decode: {gbs:.2} GB/s of output");
    }
}
