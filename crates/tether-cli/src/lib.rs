//! Library side of the `tether` command.
//!
//! [`trace::run`] makes one request through the library's own connection
//! driver ([`tether::raw`], the task every channel connection runs in): it
//! sends PINGs and reports every frame in both directions, window changes,
//! the server's settings and the measured round-trip times. It is
//! `tether trace` ([`trace::main`]: a URL, `https://` over rustls, or a
//! gRPC call with `--grpc`) and serves the interop tests against real
//! servers.
//!
//! [`demo::run`] is `tether demo`: a [`tether::Channel`] with keepalive
//! making calls against a gRPC interop server, printing every
//! [`tether::ChannelEvent`], each call's latency and status, and a summary.
//!
//! [`call::run`] and [`list::run`] are `tether call` and `tether list` (the
//! work of grpcurl): JSON requests and responses through dynamic messages,
//! with types from `.proto` files or server reflection ([`reflect`]).
//! [`health::main`] is `tether health`: a drop-in for grpc_health_probe
//! (its flags and exit codes) on a [`tether::Channel`], with `--watch`.

pub mod call;
pub mod demo;
pub mod health;
pub mod list;
pub mod load;
pub mod reflect;
pub mod trace;
