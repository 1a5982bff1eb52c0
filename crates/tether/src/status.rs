//! The outcome of a call: [`Code`], message, details and trailing metadata.

mod code;
pub(crate) mod map;

pub use code::Code;

use crate::metadata::Metadata;
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;

/// The status a call ends with: a [`Code`], a message for people, optional
/// binary details (`grpc-status-details-bin`, usually a serialized
/// `google.rpc.Status`) and the trailing metadata the server sent.
///
/// A `Status` is also this crate's error type: every failure, local or
/// remote, is a `Status` whose code follows the gRPC specification. A
/// failure that came from below gRPC (an I/O error, a TLS error, an HTTP/2
/// protocol error) keeps that error as its [`std::error::Error::source`].
#[derive(Clone, Debug)]
pub struct Status {
    code: Code,
    message: String,
    details: Bytes,
    metadata: Metadata,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
    /// The server's `grpc-retry-pushback-ms` (gRFC A6), read from the
    /// trailers with the status.
    pushback: crate::retry::policy::Pushback,
}

/// Two statuses are equal when their code, message, details and metadata
/// are; the [`source`](std::error::Error::source) is not compared.
impl PartialEq for Status {
    fn eq(&self, other: &Status) -> bool {
        self.code == other.code
            && self.message == other.message
            && self.details == other.details
            && self.metadata == other.metadata
    }
}

impl Eq for Status {}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(message: impl Into<String>) -> Status {
                Status::new(Code::$code, message)
            }
        )*
    };
}

impl Status {
    /// A status with this code and message, no details and no metadata.
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status {
            code,
            message: message.into(),
            details: Bytes::new(),
            metadata: Metadata::new(),
            source: None,
            pushback: crate::retry::policy::Pushback::None,
        }
    }

    /// This status with `source` as the lower-level error that caused it
    /// (returned by [`std::error::Error::source`]).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Status {
        self.source = Some(Arc::new(source));
        self
    }

    /// Success: [`Code::Ok`] with an empty message.
    pub fn ok() -> Status {
        Status::new(Code::Ok, String::new())
    }

    constructors! {
        /// A [`Code::Cancelled`] status.
        cancelled => Cancelled,
        /// A [`Code::Unknown`] status.
        unknown => Unknown,
        /// A [`Code::InvalidArgument`] status.
        invalid_argument => InvalidArgument,
        /// A [`Code::DeadlineExceeded`] status.
        deadline_exceeded => DeadlineExceeded,
        /// A [`Code::NotFound`] status.
        not_found => NotFound,
        /// A [`Code::AlreadyExists`] status.
        already_exists => AlreadyExists,
        /// A [`Code::PermissionDenied`] status.
        permission_denied => PermissionDenied,
        /// A [`Code::ResourceExhausted`] status.
        resource_exhausted => ResourceExhausted,
        /// A [`Code::FailedPrecondition`] status.
        failed_precondition => FailedPrecondition,
        /// A [`Code::Aborted`] status.
        aborted => Aborted,
        /// A [`Code::OutOfRange`] status.
        out_of_range => OutOfRange,
        /// A [`Code::Unimplemented`] status.
        unimplemented => Unimplemented,
        /// A [`Code::Internal`] status.
        internal => Internal,
        /// A [`Code::Unavailable`] status.
        unavailable => Unavailable,
        /// A [`Code::DataLoss`] status.
        data_loss => DataLoss,
        /// A [`Code::Unauthenticated`] status.
        unauthenticated => Unauthenticated,
    }

    /// This status with `details` as its binary details.
    pub fn with_details(mut self, details: Bytes) -> Status {
        self.details = details;
        self
    }

    /// This status with the server's `grpc-retry-pushback-ms`.
    pub(crate) fn with_pushback(mut self, pushback: crate::retry::policy::Pushback) -> Status {
        self.pushback = pushback;
        self
    }

    /// What the trailers' `grpc-retry-pushback-ms` said.
    pub(crate) fn pushback(&self) -> crate::retry::policy::Pushback {
        self.pushback
    }

    /// This status with `metadata` as its trailing metadata.
    pub fn with_metadata(mut self, metadata: Metadata) -> Status {
        self.metadata = metadata;
        self
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The message (percent-decoded `grpc-message`, or a local description).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The binary details (`grpc-status-details-bin`, base64-decoded); empty
    /// when the server sent none.
    pub fn details(&self) -> &Bytes {
        &self.details
    }

    /// The trailing metadata (reserved fields such as `grpc-status` removed).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The trailing metadata, mutably.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// Whether the code is [`Code::Ok`].
    pub fn is_ok(&self) -> bool {
        self.code == Code::Ok
    }
}

impl fmt::Display for Status {
    /// `CODE` or `CODE: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{}: {}", self.code, self.message)
        }
    }
}

impl std::error::Error for Status {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<Code> for Status {
    /// A status with this code and an empty message.
    fn from(code: Code) -> Status {
        Status::new(code, String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_set_code_and_message() {
        let s = Status::unavailable("no backends");
        assert_eq!(s.code(), Code::Unavailable);
        assert_eq!(s.message(), "no backends");
        assert!(s.details().is_empty());
        assert!(s.metadata().is_empty());
        assert_eq!(Status::cancelled("x").code(), Code::Cancelled);
        assert_eq!(Status::unauthenticated("x").code(), Code::Unauthenticated);
        assert_eq!(Status::data_loss("x").code(), Code::DataLoss);
        assert!(Status::ok().is_ok());
        assert!(!Status::internal("").is_ok());
    }

    #[test]
    fn display() {
        assert_eq!(
            Status::not_found("no such user").to_string(),
            "NOT_FOUND: no such user"
        );
        assert_eq!(Status::from(Code::Aborted).to_string(), "ABORTED");
    }

    #[test]
    fn details_and_metadata() {
        let mut md = Metadata::new();
        md.append("retry-info", "later").unwrap();
        let s = Status::internal("boom")
            .with_details(Bytes::from_static(b"\x08\x0d"))
            .with_metadata(md.clone());
        assert_eq!(s.details().as_ref(), b"\x08\x0d");
        assert_eq!(s.metadata(), &md);
        let err: &dyn std::error::Error = &s;
        assert_eq!(err.to_string(), "INTERNAL: boom");
        assert!(err.source().is_none());
    }

    #[test]
    fn the_source_error_is_kept_and_not_compared() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let s = Status::unavailable("failed to connect").with_source(io);
        let source = std::error::Error::source(&s).expect("a source");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("an io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
        // Clones share it; equality ignores it.
        assert!(std::error::Error::source(&s.clone()).is_some());
        assert_eq!(s, Status::unavailable("failed to connect"));
    }
}
