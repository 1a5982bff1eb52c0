//! `tether`: a gRPC client for Rust, written from the bytes up.
//!
//! This crate is the gRPC layer on top of the sans-I/O HTTP/2 core
//! [`tether_h2`]. Everything here is pure (no I/O, no clock, no threads):
//!
//! - [`Status`] and [`Code`]: how a call ends, with the specification's
//!   mappings from HTTP statuses, RST_STREAM codes and connection failures;
//! - [`Metadata`]: custom request and response metadata (ASCII and `-bin`);
//! - [`Codec`], [`ProstCodec`], [`BytesCodec`]: message serialization;
//! - [`ConnectivityState`]: the channel states of the connectivity spec;
//! - [`grpc`] (low level): request headers, message framing, and
//!   [`grpc::CallRecv`], the per-call receive state machine that turns the
//!   core's stream events into headers, messages and a final status;
//! - [`backoff`] (low level): connection backoff per the gRPC specification.
//!
//! The async driver, `Channel` and the generated clients build on these.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod backoff;
mod base64;
pub mod codec;
pub mod connectivity;
pub mod grpc;
pub mod metadata;
pub mod status;

pub use codec::{BytesCodec, Codec, ProstCodec};
pub use connectivity::ConnectivityState;
pub use metadata::{Metadata, MetadataError, MetadataValue};
pub use status::{Code, Status};
