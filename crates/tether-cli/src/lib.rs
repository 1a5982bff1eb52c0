//! Library side of the `tether` command.
//!
//! [`trace::run`] drives the sans-I/O [`tether_h2::Connection`] over a
//! blocking `std::net::TcpStream`: it makes one request, sends PINGs, and
//! reports every frame in both directions, the server's settings and the
//! measured round-trip times. It is the smallest possible driver for the
//! core, used by the demo and by the interop tests against real servers.
//!
//! [`demo::run`] is `tether demo`: a [`tether::Channel`] with keepalive
//! making calls against a gRPC interop server, printing every
//! [`tether::ChannelEvent`], each call's latency and status, and a summary.

pub mod demo;
pub mod trace;
