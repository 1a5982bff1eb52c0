//! Percent-encoding of `grpc-message` (PROTOCOL-HTTP2.md, "Status-Message").
//!
//! The message is UTF-8 text; on the wire every byte outside 0x20-0x7E, and
//! `%` itself, is written as `%XX`. Decoding is lenient (HOSTILE 76): a
//! broken escape is kept as it is and invalid UTF-8 is replaced, so a bad
//! message never fails the call.

use std::borrow::Cow;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Percent-encodes `message` for `grpc-message`.
pub fn encode(message: &str) -> Cow<'_, str> {
    let needs = |b: u8| !(0x20..=0x7e).contains(&b) || b == b'%';
    if !message.bytes().any(needs) {
        return Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len() + 8);
    for b in message.bytes() {
        if needs(b) {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push(char::from(b));
        }
    }
    Cow::Owned(out)
}

/// Decodes a `grpc-message` value as well as possible: valid `%XX` escapes
/// (either case) become bytes, anything else passes through unchanged, and
/// the result is read as UTF-8 with invalid sequences replaced by U+FFFD.
pub fn decode(value: &[u8]) -> Cow<'_, str> {
    if !value.contains(&b'%') {
        return String::from_utf8_lossy(value);
    }
    let mut bytes = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if b == b'%' {
            if let (Some(hi), Some(lo)) = (hex(value.get(i + 1)), hex(value.get(i + 2))) {
                bytes.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        bytes.push(b);
        i += 1;
    }
    Cow::Owned(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

fn hex(b: Option<&u8>) -> Option<u8> {
    match *b? {
        c @ b'0'..=b'9' => Some(c - b'0'),
        c @ b'a'..=b'f' => Some(c - b'a' + 10),
        c @ b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_leaves_printable_ascii() {
        assert!(matches!(
            encode("plain text ~!"),
            Cow::Borrowed("plain text ~!")
        ));
    }

    #[test]
    fn encode_escapes_percent_controls_and_utf8() {
        assert_eq!(encode("100%"), "100%25");
        assert_eq!(encode("a\nb\tc"), "a%0Ab%09c");
        assert_eq!(encode("caf\u{e9}"), "caf%C3%A9");
        assert_eq!(encode("\u{7f}"), "%7F");
    }

    #[test]
    fn decode_valid_escapes() {
        assert_eq!(decode(b"caf%C3%A9 100%25"), "caf\u{e9} 100%");
        assert_eq!(decode(b"%c3%a9"), "\u{e9}");
        assert!(matches!(decode(b"no escapes"), Cow::Borrowed("no escapes")));
    }

    #[test]
    fn decode_is_lenient() {
        assert_eq!(decode(b"50% off"), "50% off");
        assert_eq!(decode(b"%"), "%");
        assert_eq!(decode(b"%4"), "%4");
        assert_eq!(decode(b"%zz%41"), "%zzA");
        assert_eq!(decode(b"bad %FF byte"), "bad \u{fffd} byte");
        assert_eq!(decode(b"raw \xff"), "raw \u{fffd}");
        assert_eq!(decode(b"%C3"), "\u{fffd}");
    }

    #[test]
    fn round_trip() {
        for s in ["", "ok", "a%b", "\u{1f600} emoji", "line\r\nend", "%%%"] {
            assert_eq!(decode(encode(s).as_bytes()), s);
        }
    }
}
