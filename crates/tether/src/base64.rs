//! Base64 with the standard alphabet (RFC 4648 §4), as gRPC uses it for
//! `-bin` metadata values (PROTOCOL-HTTP2.md): we send it unpadded and accept
//! it padded or unpadded.

use ::base64::alphabet::STANDARD;
use ::base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use ::base64::engine::DecodePaddingMode;
use ::base64::Engine;

/// The standard alphabet; unpadded out, padded or unpadded in (padding, when
/// present, must be complete); unused low bits of the last character are
/// ignored, as most gRPC implementations do.
const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

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
    let start = dst.len();
    dst.resize(start + encoded_len(src.len()), 0);
    // The slice is exactly the encoded length, so this cannot fail; a
    // failure would leave `dst` as it was.
    match ENGINE.encode_slice(src, &mut dst[start..]) {
        Ok(n) => dst.truncate(start + n),
        Err(_) => dst.truncate(start),
    }
}

/// Decodes padded or unpadded base64; characters outside the alphabet,
/// including whitespace, are errors.
pub(crate) fn decode(src: &[u8]) -> Result<Vec<u8>, InvalidBase64> {
    // Partial padding ("Zg=") is refused, as the engine would accept it.
    if src.ends_with(b"=") && src.len() % 4 != 0 {
        return Err(InvalidBase64);
    }
    ENGINE.decode(src).map_err(|_| InvalidBase64)
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
