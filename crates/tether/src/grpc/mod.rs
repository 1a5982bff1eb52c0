//! Low-level, sans-I/O pieces of the gRPC protocol over HTTP/2
//! (grpc/grpc `doc/PROTOCOL-HTTP2.md`).
//!
//! Most applications never touch this module: the channel and the generated
//! clients use it. It is public for drivers, tests and tools:
//!
//! - [`request`]: the request header block handed to the HTTP/2 core;
//! - [`framing`]: length-prefixed message encoding and incremental decoding;
//! - [`compression`]: message compression (`grpc-encoding`, gzip);
//! - [`call`]: [`CallRecv`], the per-call receive state machine fed with the
//!   core's stream events, yielding headers, messages and the final status;
//! - [`response`]: reading response headers and trailers into a status;
//! - [`timeout`] and [`percent`]: the `grpc-timeout` and `grpc-message`
//!   encodings.

pub mod call;
pub mod compression;
pub mod framing;
pub mod percent;
pub mod request;
pub mod response;
pub mod timeout;

pub use call::{CallRecv, Cardinality, RecvEvent, CANCELLED_BY_CLIENT};
pub use compression::Encoding;
pub use framing::{encode_message, encode_message_with, MessageDecoder};
pub use request::{RequestHead, Scheme};
