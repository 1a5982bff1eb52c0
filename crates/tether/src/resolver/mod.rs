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

mod dns;
mod manual;
mod passthrough;
mod schedule;
mod static_list;
mod target;

pub use dns::DnsResolver;
pub use manual::ManualResolver;
pub use schedule::{DnsConfig, DnsRefresh};
pub use target::{ParsedTarget, Target};

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

/// What a resolver found: [`Resolution::new`], then
/// [`Resolution::with_service_config`] (non-exhaustive, so that fields such
/// as attributes can be added).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolution {
    /// The addresses, in the resolver's order.
    pub addresses: Vec<Address>,
    /// A service config, if the resolver has one: gRPC service config JSON
    /// (an object), or the text of a DNS TXT `grpc_config=` record (a JSON
    /// array of choices, gRFC A2), which the channel narrows to the choice
    /// for this client.
    pub service_config: Option<String>,
}

impl Resolution {
    /// These addresses, no service config.
    pub fn new(addresses: Vec<Address>) -> Resolution {
        Resolution {
            addresses,
            service_config: None,
        }
    }

    /// With this service config (JSON, see [`Resolution::service_config`]).
    pub fn with_service_config(mut self, json: impl Into<String>) -> Resolution {
        self.service_config = Some(json.into());
        self
    }
}

/// What a resolver reports: a resolution, or why it failed.
pub(crate) type Report = Result<Resolution, Status>;

/// Where a [`Resolver`] sends what it finds. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ResolverListener {
    tx: mpsc::UnboundedSender<Box<Report>>,
}

/// The receiving end of a [`ResolverListener`]: the reports, in order.
/// (Reports travel boxed: an idle channel's queue stays small.)
#[derive(Debug)]
pub struct ResolverReports {
    rx: mpsc::UnboundedReceiver<Box<Report>>,
}

impl ResolverReports {
    /// The next report; `None` once every listener is gone.
    pub async fn recv(&mut self) -> Option<Result<Resolution, Status>> {
        self.rx.recv().await.map(|r| *r)
    }

    /// The next report if one is queued.
    pub fn try_recv(&mut self) -> Option<Result<Resolution, Status>> {
        self.rx.try_recv().ok().map(|r| *r)
    }

    /// Whether every listener is gone.
    pub fn is_closed(&self) -> bool {
        self.rx.is_closed()
    }

    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Report>> {
        self.rx.poll_recv(cx).map(|r| r.map(|r| *r))
    }
}

impl ResolverListener {
    /// A listener and the receiving end of its reports: what the channel
    /// uses, and what a test of a [`Resolver`] (or a program driving one
    /// outside a channel) reads.
    pub fn new() -> (ResolverListener, ResolverReports) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ResolverListener { tx }, ResolverReports { rx })
    }

    /// Reports new addresses (the whole list: it replaces the last one).
    /// False once the channel no longer listens (the resolver may stop).
    pub fn update(&self, resolution: Resolution) -> bool {
        self.tx.send(Box::new(Ok(resolution))).is_ok()
    }

    /// Reports a failure to resolve; the channel keeps the last good list
    /// and, with none, fails calls with `status`. False once the channel no
    /// longer listens.
    pub fn error(&self, status: Status) -> bool {
        self.tx.send(Box::new(Err(status))).is_ok()
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
/// drops the resolver when it shuts down, and drops the resolvers it made
/// from a target (`dns:`...) when it goes IDLE (a new one is made when it
/// leaves IDLE); a resolver given to `Channel::builder_with_resolver` is
/// kept while IDLE and started only once. Stop in `Drop`, or when the
/// listener reports it is closed.
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
///         listener.update(Resolution::new(vec![
///             Address::Tcp("127.0.0.2:50051".parse().unwrap()),
///             Address::Tcp("127.0.0.3:50051".parse().unwrap()),
///         ]));
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

/// The resolver of a parsed target: DNS (configured by `dns`), a static
/// list (`ipv4:`, `ipv6:`, `unix:`), or passthrough.
pub(crate) fn for_target(target: &Target, dns: &DnsConfig) -> Box<dyn Resolver> {
    match target {
        Target::Dns { server, host, port } => {
            Box::new(DnsResolver::new(host.clone(), *port, *server, dns.clone()))
        }
        Target::Ipv4(list) | Target::Ipv6(list) => Box::new(static_list::StaticResolver::new(
            list.iter().copied().map(Address::Tcp).collect(),
        )),
        Target::Unix(path) => Box::new(static_list::StaticResolver::new(vec![Address::Unix(
            path.clone(),
        )])),
        Target::Passthrough { host, port } => Box::new(passthrough::resolver(host.clone(), *port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn first_report(target: &str) -> Resolution {
        let parsed = Target::parse(target).unwrap();
        let mut resolver = for_target(&parsed.target, &DnsConfig::default());
        let (listener, mut rx) = ResolverListener::new();
        resolver.start(listener);
        rx.recv().await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn every_scheme_gets_its_resolver() {
        let tcp = |s: &str| Address::Tcp(s.parse().unwrap());
        let cases = [
            (
                "ipv4:127.0.0.1:1,127.0.0.2",
                vec![tcp("127.0.0.1:1"), tcp("127.0.0.2:443")],
            ),
            ("ipv6:[::1]:5", vec![tcp("[::1]:5")]),
            (
                "unix:///tmp/x.sock",
                vec![Address::Unix("/tmp/x.sock".into())],
            ),
            (
                "passthrough:///h:7",
                vec![Address::Name {
                    host: "h".into(),
                    port: 7,
                }],
            ),
            // DNS of an IP literal: no query.
            ("dns:///127.0.0.9:8", vec![tcp("127.0.0.9:8")]),
            ("http://[::1]", vec![tcp("[::1]:80")]),
        ];
        for (target, addresses) in cases {
            assert_eq!(first_report(target).await.addresses, addresses, "{target}");
        }
    }
}
