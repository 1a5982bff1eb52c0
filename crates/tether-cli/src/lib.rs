//! Library side of the `tether` command.
//!
//! [`trace::run`] drives the sans-I/O [`tether_h2::Connection`] over a
//! blocking `std::net::TcpStream`: it makes one request, sends PINGs, and
//! reports every frame in both directions, the server's settings and the
//! measured round-trip times. It is the smallest possible driver for the
//! core, used by the demo and by the interop tests against real servers,
//! and `tether trace` ([`trace::main`]: a URL, `https://` over rustls, or a
//! gRPC call with `--grpc`).
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
