//! Mappings from HTTP and HTTP/2 outcomes to gRPC codes and statuses.
//!
//! These are the rules of grpc/grpc `doc/http-grpc-status-mapping.md` and
//! `doc/PROTOCOL-HTTP2.md` ("Errors"), written as plain functions so that the
//! call state machine and the channel share one definition.

use super::{Code, Status};
use tether_h2::conn::CloseReason;
use tether_h2::ErrorCode;

/// The most GOAWAY debug data quoted in a status message.
const MAX_DEBUG_QUOTE: usize = 256;

impl Code {
    /// The code for a response whose `:status` is `status` and which carries
    /// no `grpc-status` (http-grpc-status-mapping.md).
    ///
    /// 400 → INTERNAL, 401 → UNAUTHENTICATED, 403 → PERMISSION_DENIED,
    /// 404 → UNIMPLEMENTED, 429/502/503/504 → UNAVAILABLE, anything else
    /// (including 200, whose absent `grpc-status` is itself the error) →
    /// UNKNOWN. 431 → INTERNAL: the mapping document does not list it, but
    /// the specification's rule for an oversized request header list is
    /// INTERNAL, and we follow the specification over what some
    /// implementations do (RESOURCE_EXHAUSTED).
    pub fn from_http_status(status: u16) -> Code {
        match status {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            431 => Code::Internal,
            _ => Code::Unknown,
        }
    }
}

impl Status {
    /// The status of a call whose stream the server reset with `code` before
    /// the call had a status (PROTOCOL-HTTP2.md, "Errors").
    ///
    /// `deadline_passed` says whether the call's deadline had passed when the
    /// reset arrived: a CANCEL is then the server enforcing `grpc-timeout`,
    /// and the call ends DEADLINE_EXCEEDED rather than CANCELLED.
    ///
    /// NO_ERROR (the response was cut before its trailers) → INTERNAL,
    /// REFUSED_STREAM → UNAVAILABLE (the server did no work: safe to retry),
    /// CANCEL → CANCELLED or DEADLINE_EXCEEDED, ENHANCE_YOUR_CALM →
    /// RESOURCE_EXHAUSTED, INADEQUATE_SECURITY → PERMISSION_DENIED, anything
    /// else (PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, unknown
    /// codes, ...) → INTERNAL.
    pub fn from_reset(code: ErrorCode, deadline_passed: bool) -> Status {
        let (grpc, what) = match code {
            ErrorCode::NO_ERROR => (
                Code::Internal,
                "server ended the stream with NO_ERROR before sending trailers",
            ),
            ErrorCode::REFUSED_STREAM => (
                Code::Unavailable,
                "server refused the stream before processing it",
            ),
            ErrorCode::CANCEL if deadline_passed => (
                Code::DeadlineExceeded,
                "deadline exceeded (server cancelled the stream)",
            ),
            ErrorCode::CANCEL => (Code::Cancelled, "server cancelled the stream"),
            ErrorCode::ENHANCE_YOUR_CALM => (
                Code::ResourceExhausted,
                "server reset the stream with ENHANCE_YOUR_CALM",
            ),
            ErrorCode::INADEQUATE_SECURITY => (
                Code::PermissionDenied,
                "server reset the stream with INADEQUATE_SECURITY",
            ),
            _ => {
                return Status::internal(format!("server reset the stream with {code}"));
            }
        };
        Status::new(grpc, what)
    }

    /// The status of a call that was still open when its connection ended:
    /// UNAVAILABLE, with a message naming the reason.
    pub fn from_close(reason: &CloseReason) -> Status {
        let message = match reason {
            CloseReason::Protocol(err) => format!("connection closed: {err}"),
            CloseReason::GoAway(info) => {
                let mut m = format!("connection closed by server GOAWAY {}", info.code);
                if !info.debug_data.is_empty() {
                    let end = info.debug_data.len().min(MAX_DEBUG_QUOTE);
                    let text = String::from_utf8_lossy(&info.debug_data[..end]);
                    m.push_str(&format!(" ({text})"));
                }
                m
            }
            CloseReason::KeepaliveTimeout => {
                "connection closed: keepalive ping not acknowledged in time".to_owned()
            }
            CloseReason::SettingsTimeout => {
                "connection closed: SETTINGS not acknowledged in time".to_owned()
            }
            CloseReason::TransportClosed => "connection closed by the transport".to_owned(),
            CloseReason::Local => "connection closed locally".to_owned(),
            _ => "connection closed".to_owned(),
        };
        match reason {
            CloseReason::Protocol(err) => Status::unavailable(message).with_source(err.clone()),
            _ => Status::unavailable(message),
        }
    }
}

/// The reason phrase of the HTTP statuses gRPC cares about, for messages.
pub(crate) fn http_reason(status: u16) -> Option<&'static str> {
    Some(match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tether_h2::conn::GoAwayInfo;
    use tether_h2::{ProtoError, StreamId};

    #[test]
    fn http_status_mapping() {
        let table = [
            (400, Code::Internal),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::Unimplemented),
            (429, Code::Unavailable),
            (502, Code::Unavailable),
            (503, Code::Unavailable),
            (504, Code::Unavailable),
            (431, Code::Internal),
            (200, Code::Unknown),
            (500, Code::Unknown),
            (302, Code::Unknown),
            (418, Code::Unknown),
        ];
        for (status, code) in table {
            assert_eq!(Code::from_http_status(status), code, "{status}");
        }
    }

    #[test]
    fn reset_mapping() {
        let table = [
            (ErrorCode::NO_ERROR, false, Code::Internal),
            (ErrorCode::REFUSED_STREAM, false, Code::Unavailable),
            (ErrorCode::CANCEL, false, Code::Cancelled),
            (ErrorCode::CANCEL, true, Code::DeadlineExceeded),
            (ErrorCode::ENHANCE_YOUR_CALM, false, Code::ResourceExhausted),
            (
                ErrorCode::INADEQUATE_SECURITY,
                false,
                Code::PermissionDenied,
            ),
            (ErrorCode::FLOW_CONTROL_ERROR, false, Code::Internal),
            (ErrorCode::PROTOCOL_ERROR, true, Code::Internal),
            (ErrorCode::INTERNAL_ERROR, false, Code::Internal),
            (ErrorCode(0x99), false, Code::Internal),
        ];
        for (h2, late, code) in table {
            assert_eq!(Status::from_reset(h2, late).code(), code, "{h2}");
        }
        assert_eq!(
            Status::from_reset(ErrorCode::FLOW_CONTROL_ERROR, false).message(),
            "server reset the stream with FLOW_CONTROL_ERROR"
        );
        assert_eq!(
            Status::from_reset(ErrorCode(0x99), false).message(),
            "server reset the stream with ErrorCode(0x99)"
        );
    }

    #[test]
    fn close_mapping_names_the_reason() {
        let goaway = CloseReason::GoAway(GoAwayInfo::new(
            StreamId::new(1),
            ErrorCode::ENHANCE_YOUR_CALM,
            Bytes::from_static(b"too_many_pings"),
        ));
        let s = Status::from_close(&goaway);
        assert_eq!(s.code(), Code::Unavailable);
        assert_eq!(
            s.message(),
            "connection closed by server GOAWAY ENHANCE_YOUR_CALM (too_many_pings)"
        );
        let s = Status::from_close(&CloseReason::KeepaliveTimeout);
        assert_eq!(s.code(), Code::Unavailable);
        assert!(s.message().contains("keepalive"), "{}", s.message());
        let s = Status::from_close(&CloseReason::Protocol(ProtoError::conn(
            ErrorCode::PROTOCOL_ERROR,
            "bad frame",
        )));
        assert_eq!(
            s.message(),
            "connection closed: connection error PROTOCOL_ERROR: bad frame"
        );
        assert_eq!(
            Status::from_close(&CloseReason::TransportClosed).code(),
            Code::Unavailable
        );
    }
}
