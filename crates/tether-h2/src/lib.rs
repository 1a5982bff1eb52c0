//! `tether-h2`: a sans-I/O HTTP/2 client core.
//!
//! This crate holds everything of HTTP/2 (RFC 9113) and HPACK (RFC 7541) that a
//! gRPC client needs, and nothing that does I/O or reads a clock:
//!
//! - [`frame`]: the ten frame types, one module each, decode and encode, and a
//!   [`frame::FrameDecoder`] that assembles CONTINUATION frames.
//! - [`hpack`]: the header compression decoder and encoder, with Huffman coding.
//! - [`conn`]: the client connection state machine ([`Connection`]): preface and
//!   SETTINGS, streams, flow control, PING and keepalive, GOAWAY and abuse limits.
//!
//! The connection is a pure function of the bytes handed to it and the time
//! passed in, which makes it easy to test with a virtual clock and to fuzz.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod conn;
pub mod error;
pub mod frame;
pub mod hpack;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;

pub use conn::{
    CallError, CloseReason, Config, Connection, Direction, Event, GoAwayInfo, Keepalive, Limits,
    Observer, PeerSettings, PingId, ResponseHead,
};
pub use error::{ErrorCode, ProtoError, Scope};
pub use frame::StreamId;
