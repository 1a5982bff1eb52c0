//! Error codes (RFC 9113 §7) and protocol errors (§5.4).

use crate::frame::StreamId;
use std::fmt;

/// An HTTP/2 error code (RFC 9113 §7).
///
/// This is an open newtype: codes this crate does not know survive a round
/// trip, and `§7` says an unknown code "MUST NOT trigger any special
/// behavior" (treat it as [`ErrorCode::INTERNAL_ERROR`] where a meaning is needed).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// Graceful shutdown, or no error.
    pub const NO_ERROR: ErrorCode = ErrorCode(0x0);
    /// Unspecific protocol error.
    pub const PROTOCOL_ERROR: ErrorCode = ErrorCode(0x1);
    /// Unexpected internal error.
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(0x2);
    /// The flow-control protocol was violated.
    pub const FLOW_CONTROL_ERROR: ErrorCode = ErrorCode(0x3);
    /// A SETTINGS frame was not acknowledged in time.
    pub const SETTINGS_TIMEOUT: ErrorCode = ErrorCode(0x4);
    /// A frame arrived on a half-closed stream.
    pub const STREAM_CLOSED: ErrorCode = ErrorCode(0x5);
    /// A frame had an invalid size.
    pub const FRAME_SIZE_ERROR: ErrorCode = ErrorCode(0x6);
    /// The stream was refused before any application processing.
    pub const REFUSED_STREAM: ErrorCode = ErrorCode(0x7);
    /// The stream is no longer needed.
    pub const CANCEL: ErrorCode = ErrorCode(0x8);
    /// The field-block compression context could not be maintained.
    pub const COMPRESSION_ERROR: ErrorCode = ErrorCode(0x9);
    /// A CONNECT request's connection was reset.
    pub const CONNECT_ERROR: ErrorCode = ErrorCode(0xa);
    /// The peer is generating excessive load.
    pub const ENHANCE_YOUR_CALM: ErrorCode = ErrorCode(0xb);
    /// The transport does not meet minimum security requirements.
    pub const INADEQUATE_SECURITY: ErrorCode = ErrorCode(0xc);
    /// HTTP/1.1 must be used instead.
    pub const HTTP_1_1_REQUIRED: ErrorCode = ErrorCode(0xd);

    /// The name RFC 9113 (§7) gives this code, or `None` for an unknown code.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0 => "NO_ERROR",
            0x1 => "PROTOCOL_ERROR",
            0x2 => "INTERNAL_ERROR",
            0x3 => "FLOW_CONTROL_ERROR",
            0x4 => "SETTINGS_TIMEOUT",
            0x5 => "STREAM_CLOSED",
            0x6 => "FRAME_SIZE_ERROR",
            0x7 => "REFUSED_STREAM",
            0x8 => "CANCEL",
            0x9 => "COMPRESSION_ERROR",
            0xa => "CONNECT_ERROR",
            0xb => "ENHANCE_YOUR_CALM",
            0xc => "INADEQUATE_SECURITY",
            0xd => "HTTP_1_1_REQUIRED",
            _ => return None,
        })
    }

    /// Whether RFC 9113 (§7) defines this code.
    pub fn is_known(self) -> bool {
        self.name().is_some()
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "ErrorCode({:#x})", self.0),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<u32> for ErrorCode {
    fn from(v: u32) -> Self {
        ErrorCode(v)
    }
}

impl From<ErrorCode> for u32 {
    fn from(c: ErrorCode) -> u32 {
        c.0
    }
}

/// Whether an error ends the whole connection or one stream (RFC 9113 §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A connection error (§5.4.1): the client sends GOAWAY and closes.
    Connection,
    /// A stream error (§5.4.2): the client sends RST_STREAM on that stream.
    Stream(StreamId),
}

/// A protocol violation detected while processing input (RFC 9113 §5.4).
///
/// `code` is what goes on the wire (GOAWAY or RST_STREAM), `scope` says which,
/// and `detail` is a human-readable reason that names the rule broken.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProtoError {
    /// Connection or stream error.
    pub scope: Scope,
    /// The error code sent to the peer.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub detail: &'static str,
}

impl ProtoError {
    /// A connection error.
    pub const fn conn(code: ErrorCode, detail: &'static str) -> Self {
        ProtoError {
            scope: Scope::Connection,
            code,
            detail,
        }
    }

    /// A stream error on `id`.
    pub const fn stream(id: StreamId, code: ErrorCode, detail: &'static str) -> Self {
        ProtoError {
            scope: Scope::Stream(id),
            code,
            detail,
        }
    }

    /// Whether this is a connection error.
    pub fn is_connection(&self) -> bool {
        matches!(self.scope, Scope::Connection)
    }
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            Scope::Connection => write!(f, "connection error {}: {}", self.code, self.detail),
            Scope::Stream(id) => {
                write!(
                    f,
                    "stream error {} on stream {}: {}",
                    self.code,
                    id.value(),
                    self.detail
                )
            }
        }
    }
}

impl std::error::Error for ProtoError {}
