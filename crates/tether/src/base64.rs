//! Base64 with the standard alphabet (RFC 4648 §4), as gRPC uses it for
//! `-bin` metadata values (PROTOCOL-HTTP2.md): we send it unpadded and accept
//! it padded or unpadded.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Marks a byte that is not in the alphabet.
const INVALID: u8 = 0xff;

/// The reverse table: byte → 6-bit value, or [`INVALID`].
const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Why a value is not base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InvalidBase64;

/// The length of the unpadded encoding of `n` bytes.
pub(crate) const fn encoded_len(n: usize) -> usize {
    (n / 3) * 4
        + match n % 3 {
            0 => 0,
            1 => 2,
            _ => 3,
        }
}

/// Appends the unpadded encoding of `src` to `dst`.
pub(crate) fn encode_into(src: &[u8], dst: &mut Vec<u8>) {
    dst.reserve(encoded_len(src.len()));
    let mut chunks = src.chunks_exact(3);
    for c in &mut chunks {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        dst.extend_from_slice(&[
            ALPHABET[(n >> 18) as usize & 63],
            ALPHABET[(n >> 12) as usize & 63],
            ALPHABET[(n >> 6) as usize & 63],
            ALPHABET[n as usize & 63],
        ]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            dst.push(ALPHABET[(n >> 18) as usize & 63]);
            dst.push(ALPHABET[(n >> 12) as usize & 63]);
        }
        [a, b] => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            dst.push(ALPHABET[(n >> 18) as usize & 63]);
            dst.push(ALPHABET[(n >> 12) as usize & 63]);
            dst.push(ALPHABET[(n >> 6) as usize & 63]);
        }
        _ => {}
    }
}

/// Decodes padded or unpadded base64. Padding, when present, must be
/// complete (the length a multiple of four); characters outside the alphabet,
/// including whitespace, are errors. Unused low bits of the last character
/// are ignored, as most gRPC implementations do.
pub(crate) fn decode(src: &[u8]) -> Result<Vec<u8>, InvalidBase64> {
    let body = if src.ends_with(b"==") {
        &src[..src.len() - 2]
    } else if src.ends_with(b"=") {
        &src[..src.len() - 1]
    } else {
        src
    };
    if body.len() != src.len() && src.len() % 4 != 0 {
        return Err(InvalidBase64);
    }
    if body.len() % 4 == 1 {
        return Err(InvalidBase64);
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    let mut chunks = body.chunks(4);
    for chunk in &mut chunks {
        let mut n: u32 = 0;
        for &b in chunk {
            let v = DECODE[usize::from(b)];
            if v == INVALID {
                return Err(InvalidBase64);
            }
            n = (n << 6) | u32::from(v);
        }
        match chunk.len() {
            4 => out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]),
            3 => out.extend_from_slice(&[(n >> 10) as u8, (n >> 2) as u8]),
            2 => out.push((n >> 4) as u8),
            _ => return Err(InvalidBase64),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(src: &[u8]) -> String {
        let mut v = Vec::new();
        encode_into(src, &mut v);
        assert_eq!(v.len(), encoded_len(src.len()));
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn rfc4648_vectors_unpadded() {
        assert_eq!(enc(b""), "");
        assert_eq!(enc(b"f"), "Zg");
        assert_eq!(enc(b"fo"), "Zm8");
        assert_eq!(enc(b"foo"), "Zm9v");
        assert_eq!(enc(b"foob"), "Zm9vYg");
        assert_eq!(enc(b"fooba"), "Zm9vYmE");
        assert_eq!(enc(b"foobar"), "Zm9vYmFy");
        assert_eq!(enc(&[0xfb, 0xff]), "+/8");
    }

    #[test]
    fn decodes_padded_and_unpadded() {
        for (text, bytes) in [
            ("Zg==", &b"f"[..]),
            ("Zg", b"f"),
            ("Zm8=", b"fo"),
            ("Zm8", b"fo"),
            ("Zm9v", b"foo"),
            ("Zm9vYmFy", b"foobar"),
            ("", b""),
            ("+/8", &[0xfb, 0xff]),
        ] {
            assert_eq!(decode(text.as_bytes()).unwrap(), bytes, "{text}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "Z", "Zm9vY", "Zg=", "Z===", "Zm9v=", "Zm 9v", "Zm9v\n", "Zm-_", "=", "==", "Zg==Zg",
        ] {
            assert_eq!(decode(bad.as_bytes()), Err(InvalidBase64), "{bad:?}");
        }
    }

    #[test]
    fn round_trips_every_length() {
        let data: Vec<u8> = (0..=255u8).collect();
        for n in 0..data.len() {
            assert_eq!(decode(enc(&data[..n]).as_bytes()).unwrap(), &data[..n]);
        }
    }
}
