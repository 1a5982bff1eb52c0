//! A response: headers metadata, the message (or message stream), trailers.

use crate::metadata::Metadata;

/// A response message (or a [`crate::Streaming`] of them) with the response
/// headers' metadata and, when known, the trailers' metadata.
#[derive(Debug)]
pub struct Response<T> {
    metadata: Metadata,
    message: T,
    trailers: Option<Metadata>,
    attempts: u32,
}

impl<T> Response<T> {
    pub(crate) fn new(metadata: Metadata, message: T, trailers: Option<Metadata>) -> Self {
        Response {
            metadata,
            message,
            trailers,
            attempts: 1,
        }
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// How many attempts the call took: 1, or more when it was retried
    /// (a `retryPolicy`, or transparently: the server never processed an
    /// attempt) or hedged (every hedge sent counts). Set for unary,
    /// client-streaming and server-streaming calls (for the last, the
    /// attempts until the response headers committed the call).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The response headers' custom metadata (initial metadata).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The message.
    pub fn message(&self) -> &T {
        &self.message
    }

    /// The message, dropping the metadata.
    pub fn into_message(self) -> T {
        self.message
    }

    /// The trailers' custom metadata: set for unary and client-streaming
    /// calls (for streaming responses see [`crate::Streaming::trailers`]).
    pub fn trailers(&self) -> Option<&Metadata> {
        self.trailers.as_ref()
    }

    /// Headers metadata, message, trailers metadata.
    pub fn into_parts(self) -> (Metadata, T, Option<Metadata>) {
        (self.metadata, self.message, self.trailers)
    }
}
