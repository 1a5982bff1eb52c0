//! Name resolution (grpc/grpc `doc/naming.md`): a target names a
//! [`Resolver`], which reports [`Resolution`]s (addresses and an optional
//! service config) to the channel through a [`ResolverListener`] and accepts
//! re-resolution requests.
//!
//! Built in: `dns:` (hickory-resolver, A and AAAA, optional TXT service
//! config), static lists (`ipv4:`, `ipv6:`, `unix:`), `passthrough:`, and
//! [`ManualResolver`], which the application updates. An application plugs
//! in its own source of addresses (a service registry, a Kubernetes
//! Endpoints watcher) by implementing [`Resolver`].

use crate::status::Status;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::sync::mpsc;

/// One address a subchannel connects to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Address {
    /// An IP address and port.
    Tcp(SocketAddr),
    /// A Unix domain socket path.
    Unix(PathBuf),
    /// A host name resolved by the system when connecting (`passthrough:`).
    Name {
        /// The host name.
        host: String,
        /// The port.
        port: u16,
    },
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(a) => write!(f, "{a}"),
            Address::Unix(p) => write!(f, "unix:{}", p.display()),
            Address::Name { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// What a resolver found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolution {
    /// The addresses, in the resolver's order.
    pub addresses: Vec<Address>,
    /// A service config (gRPC service config JSON), if the resolver has one
    /// (DNS TXT `grpc_config=`, when enabled).
    pub service_config: Option<String>,
}

/// What a resolver reports: a resolution, or why it failed.
pub(crate) type Report = Result<Resolution, Status>;

/// Where a [`Resolver`] sends what it finds. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ResolverListener {
    tx: mpsc::UnboundedSender<Report>,
}

impl ResolverListener {
    /// A listener and the receiving end (for the channel, and for tests).
    pub(crate) fn new() -> (ResolverListener, mpsc::UnboundedReceiver<Report>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ResolverListener { tx }, rx)
    }

    /// Reports new addresses (the whole list: it replaces the last one).
    /// False once the channel no longer listens (the resolver may stop).
    pub fn update(&self, resolution: Resolution) -> bool {
        self.tx.send(Ok(resolution)).is_ok()
    }

    /// Reports a failure to resolve; the channel keeps the last good list
    /// and, with none, fails calls with `status`. False once the channel no
    /// longer listens.
    pub fn error(&self, status: Status) -> bool {
        self.tx.send(Err(status)).is_ok()
    }

    /// Whether the channel stopped listening (closed, or dropped).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// A source of addresses for a channel.
///
/// The channel calls [`Resolver::start`] once, when it first leaves IDLE
/// (from inside a tokio runtime: a resolver may spawn tasks), then
/// [`Resolver::resolve_now`] whenever it wants fresh addresses (a connection
/// failed, a server sent GOAWAY, a READY subchannel went IDLE). The channel
/// drops the resolver when it goes IDLE or shuts down: stop there (in
/// `Drop`), or when the listener reports it is closed.
///
/// ```
/// use tether::resolver::{Address, Resolution, Resolver, ResolverListener};
///
/// /// Always the same two backends.
/// struct Fixed(ResolverListenerSlot);
/// type ResolverListenerSlot = Option<ResolverListener>;
///
/// impl Resolver for Fixed {
///     fn start(&mut self, listener: ResolverListener) {
///         listener.update(Resolution {
///             addresses: vec![
///                 Address::Tcp("127.0.0.2:50051".parse().unwrap()),
///                 Address::Tcp("127.0.0.3:50051".parse().unwrap()),
///             ],
///             service_config: None,
///         });
///         self.0 = Some(listener);
///     }
///     fn resolve_now(&mut self) {}
/// }
/// ```
pub trait Resolver: Send + 'static {
    /// Starts resolving; every result goes to `listener`.
    fn start(&mut self, listener: ResolverListener);
    /// The channel asks for a fresh resolution. Rate limiting is the
    /// resolver's business (the DNS resolver honours a minimum interval).
    fn resolve_now(&mut self);
}
