//! `tether`: a gRPC client for Rust, written from the bytes up.
//!
//! [`Channel`] is the entry point: a lazy, cheap-to-clone virtual connection
//! to a target (`dns:`, `ipv4:`, `unix:`, `http://`, `https://` with TLS and
//! ALPN `h2`...), load-balanced over the target's addresses (pick_first or
//! round_robin), with one tokio task per connection and the four call
//! types (unary, server streaming, client streaming, bidirectional). Streaming calls take a bare
//! message stream or a [`Request`] around one ([`IntoStreamingRequest`]);
//! [`Channel::bidi`] and [`Channel::client_stream`] hand back a [`Sender`].
//! A [`CancelHandle`] cancels a call (CANCELLED); an [`Interceptor`]
//! ([`ChannelBuilder::interceptor`]) sees every call's method and metadata
//! before it starts and its final status.
//! [`ChannelBuilder::on_event`] reports every [`ChannelEvent`] (state
//! changes, connections, PING round-trip times, GOAWAYs, keepalive
//! doubling); [`Channel::keepalive_time`] and [`Channel::rtt`] give the
//! current values.
//!
//! ```no_run
//! use bytes::Bytes;
//! use std::time::Duration;
//! use tether::{BytesCodec, Channel, Keepalive, Request};
//!
//! # async fn run() -> Result<(), tether::Status> {
//! let channel = Channel::builder("http://127.0.0.1:50051")?
//!     .keepalive(Keepalive::new(Duration::from_secs(30), Duration::from_secs(10)))
//!     .build()?;
//! // grpc.health.v1.HealthCheckRequest { service: "" } is empty on the wire.
//! let request = Request::new(Bytes::new()).with_timeout(Duration::from_secs(2));
//! let response = channel
//!     .unary("/grpc.health.v1.Health/Check", request, BytesCodec)
//!     .await?;
//! assert_eq!(&response.message()[..], b"\x08\x01"); // status: SERVING
//! # Ok(()) }
//! ```
//!
//! Under it lies the gRPC layer on top of the sans-I/O HTTP/2 core
//! [`tether_h2`], all pure (no I/O, no clock, no threads):
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
//! Around it, the channel's parts:
//!
//! - [`resolver`]: targets (`dns:`, `ipv4:`, `ipv6:`, `unix:`,
//!   `passthrough:`), the DNS resolver and its refresh knobs, and the
//!   [`resolver::Resolver`] trait an application implements to bring its
//!   own addresses;
//! - [`service_config`]: gRPC service config JSON (load-balancing policy,
//!   per-method timeout, wait-for-ready and message size limits);
//! - [`channel`]: the channel, its builder, events and subchannel snapshots;
//! - [`transport`]: TLS settings ([`TlsConfig`]);
//! - [`health`]: the standard health service (`grpc.health.v1`): generated
//!   stubs, a one-shot [`health::check`] and a [`health::watch`] stream of
//!   one service's status that survives reconnections;
//! - [`raw`]: one HTTP/2 connection on the same driver, every frame and
//!   event handed to the caller (`tether trace`).
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod backoff;
mod base64;
pub mod channel;
pub mod client;
pub mod codec;
pub mod connectivity;
mod driver;
pub mod grpc;
pub mod health;
pub(crate) mod lb;
pub mod metadata;
pub mod raw;
pub mod resolver;
mod retry;
pub mod service_config;
pub mod status;
mod subchannel;
pub mod transport;

pub use channel::{Channel, ChannelBuilder, ChannelEvent};
pub use client::{
    CancelHandle, InterceptFuture, Interceptor, IntoRequest, IntoStreamingRequest, Request,
    Response, ResponseFuture, Sender, Streaming,
};
pub use codec::{BytesCodec, Codec, ProstCodec};
pub use connectivity::ConnectivityState;
/// The `Stream` trait request streams implement, re-exported so generated
/// code and callers need no `futures-core` dependency of their own.
pub use futures_core;
pub use grpc::Encoding;
pub use metadata::{Metadata, MetadataError, MetadataValue};
pub use retry::RetryStop;
pub use status::{Code, Status};
/// Keepalive settings for [`ChannelBuilder::keepalive`] (gRFC A8).
pub use tether_h2::Keepalive;
pub use transport::TlsConfig;
