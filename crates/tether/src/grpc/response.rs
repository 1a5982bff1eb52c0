//! Reading response header blocks: content type, `grpc-status`,
//! `grpc-message`, `grpc-status-details-bin` (PROTOCOL-HTTP2.md,
//! "Responses"; http-grpc-status-mapping.md).

use super::percent;
use crate::base64;
use crate::metadata::Metadata;
use crate::status::{map::http_reason, Code, Status};
use bytes::Bytes;
use tether_h2::hpack::HeaderField;

/// The most body bytes of a non-gRPC response quoted in a status message.
pub const MAX_BODY_QUOTE: usize = 1024;

/// The first value of the field `name` (lowercase).
pub fn find<'a>(fields: &'a [HeaderField], name: &str) -> Option<&'a Bytes> {
    fields
        .iter()
        .find(|f| f.name == name.as_bytes())
        .map(|f| &f.value)
}

/// Whether a `content-type` is gRPC's: `application/grpc`, optionally
/// followed by `+format` or `;parameters` (case-insensitive).
pub fn is_grpc_content_type(value: &[u8]) -> bool {
    const BASE: &[u8] = b"application/grpc";
    value.len() >= BASE.len()
        && value[..BASE.len()].eq_ignore_ascii_case(BASE)
        && matches!(value.get(BASE.len()), None | Some(b'+' | b';'))
}

/// The size of a header list as HTTP/2 counts it (RFC 9113 §6.5.2: name +
/// value + 32 per field).
pub fn header_list_size(fields: &[HeaderField]) -> usize {
    fields.iter().map(HeaderField::size).sum()
}

/// The call's status from a block that carries `grpc-status` (trailers, or
/// the single block of a Trailers-Only response).
///
/// - no `grpc-status` → UNKNOWN (HOSTILE 71);
/// - a `grpc-status` that is not a decimal number → UNKNOWN naming it, and
///   a number outside 0-16 → UNKNOWN keeping the message (HOSTILE 70);
/// - `grpc-message` is percent-decoded leniently (HOSTILE 76);
/// - `grpc-status-details-bin` becomes [`Status::details`];
/// - bad base64 in any `-bin` field → INTERNAL (HOSTILE 77);
/// - the remaining fields become [`Status::metadata`].
pub fn status_from_trailers(fields: &[HeaderField]) -> Status {
    let metadata = match Metadata::from_fields(fields) {
        Ok(md) => md,
        Err(status) => return status,
    };
    let details = match find(fields, "grpc-status-details-bin") {
        None => Bytes::new(),
        Some(v) => match base64::decode(v) {
            Ok(d) => Bytes::from(d),
            Err(_) => {
                return Status::internal("invalid base64 in grpc-status-details-bin")
                    .with_metadata(metadata)
            }
        },
    };
    let message = find(fields, "grpc-message")
        .map(|m| percent::decode(m).into_owned())
        .unwrap_or_default();
    let status = match find(fields, "grpc-status") {
        None => Status::unknown(if message.is_empty() {
            "server sent trailers without grpc-status".to_owned()
        } else {
            format!("server sent trailers without grpc-status: {message}")
        }),
        Some(raw) => match parse_grpc_status(raw) {
            None => {
                let quoted = String::from_utf8_lossy(raw);
                Status::unknown(if message.is_empty() {
                    format!("invalid grpc-status {quoted:?}")
                } else {
                    format!("invalid grpc-status {quoted:?}: {message}")
                })
            }
            Some(n) if Code::from_i32(n).as_i32() != n => Status::unknown(if message.is_empty() {
                format!("unknown grpc-status {n}")
            } else {
                message
            }),
            Some(n) => Status::new(Code::from_i32(n), message),
        },
    };
    let pushback = crate::retry::policy::Pushback::parse(
        find(fields, "grpc-retry-pushback-ms").map(|v| &v[..]),
    );
    status
        .with_details(details)
        .with_metadata(metadata)
        .with_pushback(pushback)
}

/// Parses `grpc-status`: one to ten ASCII digits, nothing else.
fn parse_grpc_status(raw: &[u8]) -> Option<i32> {
    if raw.is_empty() || raw.len() > 10 || !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(raw).ok()?.parse().ok()
}

/// The status of a response that is not gRPC: an HTTP status other than
/// 200 (code from [`Code::from_http_status`], HOSTILE 66) or a 200 whose
/// `content-type` is missing or not gRPC (UNKNOWN, HOSTILE 68). The message
/// names what was wrong and quotes up to [`MAX_BODY_QUOTE`] bytes of `body`.
pub fn non_grpc_status(http_status: u16, content_type: Option<&[u8]>, body: &[u8]) -> Status {
    let mut message = if http_status != 200 {
        match http_reason(http_status) {
            Some(reason) => format!("unexpected HTTP status {http_status} ({reason})"),
            None => format!("unexpected HTTP status {http_status}"),
        }
    } else {
        match content_type {
            None => "missing content-type (HTTP status 200)".to_owned(),
            Some(ct) => format!(
                "unexpected content-type {:?} (HTTP status 200)",
                String::from_utf8_lossy(ct)
            ),
        }
    };
    if !body.is_empty() {
        let quote = &body[..body.len().min(MAX_BODY_QUOTE)];
        message.push_str("; body: ");
        message.push_str(&String::from_utf8_lossy(quote));
    }
    let code = if http_status == 200 {
        Code::Unknown
    } else {
        Code::from_http_status(http_status)
    };
    Status::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &'static str, value: &'static str) -> HeaderField {
        HeaderField {
            name: Bytes::from_static(name.as_bytes()),
            value: Bytes::from_static(value.as_bytes()),
        }
    }

    #[test]
    fn content_types() {
        for ok in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc+json",
            "application/grpc;charset=utf-8",
            "Application/GRPC",
        ] {
            assert!(is_grpc_content_type(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            "text/html",
            "application/grpcx",
            "application/json",
            "application/grp",
        ] {
            assert!(!is_grpc_content_type(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn full_trailers() {
        let s = status_from_trailers(&[
            f("grpc-status", "5"),
            f("grpc-message", "user%20not%20found"),
            f("grpc-status-details-bin", "CAU"),
            f("x-retry", "no"),
        ]);
        assert_eq!(s.code(), Code::NotFound);
        assert_eq!(s.message(), "user not found");
        assert_eq!(s.details().as_ref(), b"\x08\x05");
        assert_eq!(s.metadata().get("x-retry"), Some("no"));
        assert_eq!(s.metadata().len(), 1);
    }

    #[test]
    fn grpc_status_parsing() {
        let code = |v: &'static str| status_from_trailers(&[f("grpc-status", v)]);
        assert_eq!(code("0").code(), Code::Ok);
        assert_eq!(code("16").code(), Code::Unauthenticated);
        assert_eq!(code("17").code(), Code::Unknown);
        assert_eq!(code("17").message(), "unknown grpc-status 17");
        assert_eq!(code("abc").message(), "invalid grpc-status \"abc\"");
        for bad in ["", "-1", " 0", "0 ", "+3", "99999999999", "2147483648"] {
            assert_eq!(code(bad).code(), Code::Unknown, "{bad:?}");
        }
        let s = status_from_trailers(&[f("grpc-status", "99"), f("grpc-message", "custom")]);
        assert_eq!((s.code(), s.message()), (Code::Unknown, "custom"));
    }

    #[test]
    fn missing_grpc_status() {
        let s = status_from_trailers(&[f("x-a", "1")]);
        assert_eq!(s.code(), Code::Unknown);
        assert_eq!(s.message(), "server sent trailers without grpc-status");
        assert_eq!(s.metadata().get("x-a"), Some("1"));
    }

    #[test]
    fn bad_details_base64_is_internal() {
        let s = status_from_trailers(&[f("grpc-status", "0"), f("grpc-status-details-bin", "*")]);
        assert_eq!(s.code(), Code::Internal);
        assert_eq!(s.message(), "invalid base64 in grpc-status-details-bin");
    }

    #[test]
    fn non_grpc_messages() {
        let s = non_grpc_status(503, Some(b"text/plain"), b"overloaded");
        assert_eq!(s.code(), Code::Unavailable);
        assert_eq!(
            s.message(),
            "unexpected HTTP status 503 (Service Unavailable); body: overloaded"
        );
        let s = non_grpc_status(200, Some(b"text/html"), b"");
        assert_eq!(s.code(), Code::Unknown);
        assert_eq!(
            s.message(),
            "unexpected content-type \"text/html\" (HTTP status 200)"
        );
        let s = non_grpc_status(200, None, b"");
        assert_eq!(s.message(), "missing content-type (HTTP status 200)");
        let s = non_grpc_status(599, None, &[b'x'; 2000]);
        assert_eq!(s.code(), Code::Unknown);
        assert_eq!(
            s.message().len(),
            "unexpected HTTP status 599; body: ".len() + 1024
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(header_list_size(&[f("ab", "cde")]), 37);
        assert_eq!(find(&[f("a", "1"), f("a", "2")], "a").unwrap(), "1");
    }
}
