//! Response and trailer field validation (RFC 9113 §8.1, §8.2, §8.3).
//!
//! The checker sees the fields one by one as the HPACK decoder produces them,
//! keeps the regular fields and remembers `:status`, so no field is moved or
//! copied after decoding. Any violation makes the response malformed, which
//! the connection turns into a stream error PROTOCOL_ERROR (§8.1.1).

use crate::hpack::HeaderField;

/// What kind of field block is being checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockKind {
    /// A response head (1xx or final): `:status` first.
    Response,
    /// Trailers: no pseudo-header at all.
    Trailers,
}

/// Checks one field block, field by field.
#[derive(Debug)]
pub(crate) struct FieldChecker {
    kind: BlockKind,
    status: Option<u16>,
    seen_regular: bool,
    error: Option<&'static str>,
}

impl FieldChecker {
    /// A checker for one block of `kind`.
    pub(crate) fn new(kind: BlockKind) -> FieldChecker {
        FieldChecker {
            kind,
            status: None,
            seen_regular: false,
            error: None,
        }
    }

    /// Checks `field`; regular fields are pushed to `out` while the block is valid.
    pub(crate) fn field(&mut self, field: HeaderField, out: &mut Vec<HeaderField>) {
        if self.error.is_some() {
            return;
        }
        match self.check(&field) {
            Ok(true) => out.push(field),
            Ok(false) => {}
            Err(e) => self.error = Some(e),
        }
    }

    /// The verdict: the `:status` of a response (0 for trailers), or the rule broken.
    pub(crate) fn finish(self) -> Result<u16, &'static str> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.kind {
            BlockKind::Trailers => Ok(0),
            // RFC 9113 §8.3.2: "For HTTP/2 responses, a single ":status"
            // pseudo-header field is defined ... MUST be included".
            BlockKind::Response => self.status.ok_or("response without :status (§8.3.2)"),
        }
    }

    /// `Ok(true)`: keep the field; `Ok(false)`: it was `:status`.
    fn check(&mut self, f: &HeaderField) -> Result<bool, &'static str> {
        let name = &f.name[..];
        if let Some(pseudo) = name.strip_prefix(b":") {
            // RFC 9113 §8.1: "Pseudo-header fields MUST NOT appear in a trailer section."
            if self.kind == BlockKind::Trailers {
                return Err("pseudo-header field in trailers (§8.1)");
            }
            // RFC 9113 §8.3: "All pseudo-header fields MUST appear in a field
            // block before all regular field lines."
            if self.seen_regular {
                return Err("pseudo-header field after a regular field (§8.3)");
            }
            // RFC 9113 §8.3: "Pseudo-header fields defined for requests MUST
            // NOT appear in responses"; undefined ones make it malformed too.
            if pseudo != b"status" {
                return Err("request or unknown pseudo-header in a response (§8.3)");
            }
            if self.status.is_some() {
                return Err("duplicate :status (§8.3.2)");
            }
            self.status = Some(parse_status(&f.value)?);
            return Ok(false);
        }
        self.seen_regular = true;
        check_name(name)?;
        check_value(&f.value)?;
        check_connection_specific(name, &f.value)?;
        Ok(true)
    }
}

/// `:status` is exactly three ASCII digits, 100 to 999 (RFC 9110 §15).
fn parse_status(v: &[u8]) -> Result<u16, &'static str> {
    let digits = match v {
        [a, b, c] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => [*a, *b, *c],
        _ => return Err(":status is not three digits (§8.3.2)"),
    };
    let n = digits
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    if n < 100 {
        return Err(":status below 100 (§8.3.2)");
    }
    // RFC 9113 §8.6: the 101 (Switching Protocols) status code is not
    // applicable to HTTP/2.
    if n == 101 {
        return Err(":status 101 is not allowed in HTTP/2 (§8.6)");
    }
    Ok(n)
}

/// Bytes allowed in a regular field name (RFC 9113 §8.2.1: not 0x00-0x20,
/// 0x41-0x5a (uppercase), 0x7f-0xff, nor a colon outside pseudo-headers).
const NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x21;
    while b < 0x7f {
        t[b] = !(b >= 0x41 && b <= 0x5a) && b != b':' as usize;
        b += 1;
    }
    t
};

/// Bytes never allowed in a field value (RFC 9113 §8.2.1: NUL, LF, CR).
const VALUE_BAD: [bool; 256] = {
    let mut t = [false; 256];
    t[0] = true;
    t[b'\n' as usize] = true;
    t[b'\r' as usize] = true;
    t
};

fn check_name(name: &[u8]) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty field name (§8.2.1)");
    }
    // RFC 9113 §8.2.1: "A field name MUST NOT contain characters in the ranges
    // 0x00-0x20, 0x41-0x5a, or 0x7f-0xff" and, pseudo-headers aside, "MUST NOT
    // include a colon". One table lookup per byte; the reason is worked out
    // only on the (rare) failure.
    if name.iter().all(|&b| NAME_BYTE[usize::from(b)]) {
        return Ok(());
    }
    if name.iter().any(u8::is_ascii_uppercase) {
        return Err("uppercase field name (§8.2.1)");
    }
    Err("invalid character in field name (§8.2.1)")
}

fn check_value(value: &[u8]) -> Result<(), &'static str> {
    // RFC 9113 §8.2.1: "A field value MUST NOT contain the zero value (ASCII
    // NUL, 0x00), line feed (ASCII LF, 0x0a), or carriage return (ASCII CR,
    // 0x0d) at any position."
    if value.iter().any(|&b| VALUE_BAD[usize::from(b)]) {
        return Err("NUL, CR or LF in a field value (§8.2.1)");
    }
    // RFC 9113 §8.2.1: "A field value MUST NOT start or end with an ASCII
    // whitespace character (ASCII SP or HTAB, 0x20 or 0x09)."
    let ws = |b: &u8| *b == b' ' || *b == b'\t';
    if value.first().is_some_and(ws) || value.last().is_some_and(ws) {
        return Err("field value starts or ends with whitespace (§8.2.1)");
    }
    Ok(())
}

fn check_connection_specific(name: &[u8], value: &[u8]) -> Result<(), &'static str> {
    // RFC 9113 §8.2.2: "An endpoint MUST NOT generate an HTTP/2 message
    // containing connection-specific header fields" ... "Any message
    // containing connection-specific header fields MUST be treated as
    // malformed"; "the TE header field ... MUST NOT contain any value other
    // than "trailers"".
    match name {
        b"connection" | b"keep-alive" | b"proxy-connection" | b"transfer-encoding" | b"upgrade" => {
            Err("connection-specific header field (§8.2.2)")
        }
        b"te" if value != b"trailers" => Err("te other than \"trailers\" (§8.2.2)"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn f(n: &'static str, v: &'static str) -> HeaderField {
        HeaderField {
            name: Bytes::from_static(n.as_bytes()),
            value: Bytes::from_static(v.as_bytes()),
        }
    }

    fn run(kind: BlockKind, fields: &[HeaderField]) -> (Result<u16, &'static str>, usize) {
        let mut c = FieldChecker::new(kind);
        let mut out = Vec::new();
        for x in fields {
            c.field(x.clone(), &mut out);
        }
        (c.finish(), out.len())
    }

    fn resp(fields: &[HeaderField]) -> Result<u16, &'static str> {
        run(BlockKind::Response, fields).0
    }

    #[test]
    fn valid_response_keeps_regular_fields() {
        let r = run(
            BlockKind::Response,
            &[
                f(":status", "200"),
                f("content-type", "application/grpc"),
                f("te", "trailers"),
            ],
        );
        assert_eq!(r, (Ok(200), 2));
    }

    #[test]
    fn status_rules() {
        assert_eq!(resp(&[]), Err("response without :status (§8.3.2)"));
        assert_eq!(
            resp(&[f("a", "b")]),
            Err("response without :status (§8.3.2)")
        );
        assert_eq!(
            resp(&[f(":status", "20")]),
            Err(":status is not three digits (§8.3.2)")
        );
        assert_eq!(
            resp(&[f(":status", "2x0")]),
            Err(":status is not three digits (§8.3.2)")
        );
        assert_eq!(
            resp(&[f(":status", "099")]),
            Err(":status below 100 (§8.3.2)")
        );
        assert_eq!(
            resp(&[f(":status", "101")]),
            Err(":status 101 is not allowed in HTTP/2 (§8.6)")
        );
        assert_eq!(resp(&[f(":status", "103")]), Ok(103));
        assert_eq!(
            resp(&[f(":status", "200"), f(":status", "200")]),
            Err("duplicate :status (§8.3.2)")
        );
    }

    #[test]
    fn pseudo_header_rules() {
        assert_eq!(
            resp(&[f("a", "b"), f(":status", "200")]),
            Err("pseudo-header field after a regular field (§8.3)")
        );
        for p in [
            ":path",
            ":method",
            ":scheme",
            ":authority",
            ":protocol",
            ":foo",
        ] {
            assert_eq!(
                resp(&[f(":status", "200"), f(p, "x")]),
                Err("request or unknown pseudo-header in a response (§8.3)"),
                "{p}"
            );
        }
        assert_eq!(
            run(BlockKind::Trailers, &[f(":status", "200")]).0,
            Err("pseudo-header field in trailers (§8.1)")
        );
        assert_eq!(
            run(BlockKind::Trailers, &[f("grpc-status", "0")]),
            (Ok(0), 1)
        );
    }

    #[test]
    fn name_and_value_rules() {
        let s = f(":status", "200");
        assert_eq!(
            resp(&[s.clone(), f("Foo", "x")]),
            Err("uppercase field name (§8.2.1)")
        );
        assert_eq!(
            resp(&[s.clone(), f("", "x")]),
            Err("empty field name (§8.2.1)")
        );
        assert_eq!(
            resp(&[s.clone(), f("a b", "x")]),
            Err("invalid character in field name (§8.2.1)")
        );
        assert_eq!(
            resp(&[s.clone(), f("a:b", "x")]),
            Err("invalid character in field name (§8.2.1)")
        );
        for v in ["a\rb", "a\nb", "a\0b"] {
            assert_eq!(
                resp(&[s.clone(), f("x", v)]),
                Err("NUL, CR or LF in a field value (§8.2.1)")
            );
        }
        assert_eq!(
            resp(&[s.clone(), f("x", " a")]),
            Err("field value starts or ends with whitespace (§8.2.1)")
        );
        assert_eq!(resp(&[s, f("x", "a b"), f("y", "")]), Ok(200));
    }

    #[test]
    fn connection_specific_fields() {
        let s = f(":status", "200");
        for n in [
            "connection",
            "keep-alive",
            "proxy-connection",
            "transfer-encoding",
            "upgrade",
        ] {
            assert_eq!(
                resp(&[s.clone(), f(n, "x")]),
                Err("connection-specific header field (§8.2.2)")
            );
        }
        assert_eq!(
            run(BlockKind::Trailers, &[f("te", "gzip")]).0,
            Err("te other than \"trailers\" (§8.2.2)")
        );
    }
}
