//! The `dns:` resolver: A and AAAA records through hickory-resolver, from
//! the server the target names or the system's (`/etc/resolv.conf`),
//! optionally the TXT service config (gRFC A2), re-resolved on the
//! [`Schedule`]: at the answer's TTL, on request, and after failures with
//! backoff.

use super::schedule::Schedule;
use super::{Address, DnsConfig, Resolution, Resolver, ResolverListener};
use crate::status::Status;
use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfigGroup, ResolveHosts, ResolverConfig,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::TokioResolver;
use std::collections::hash_map::RandomState;
use std::future::{poll_fn, Future};
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Resolves a host name through DNS and keeps the answer fresh.
///
/// [`Resolver::start`] spawns one tokio task that resolves at once, reports
/// every answer (addresses in the order the server gave them, and the raw
/// JSON after `grpc_config=` in the TXT record `_grpc_config.<host>` when
/// [`DnsConfig::txt_service_config`] is set), and re-resolves as
/// [`DnsConfig`] says. A failure (no such name, no records, no answer) is
/// reported as UNAVAILABLE and retried with backoff. The task ends when
/// the listener closes or the resolver is dropped.
///
/// An IP literal (`dns:///127.0.0.1:50051`) resolves to itself, without DNS.
#[derive(Debug)]
pub struct DnsResolver {
    query: Arc<Query>,
    wake: Arc<Notify>,
    task: Option<JoinHandle<()>>,
    /// The listener, kept for an IP literal (which needs no task).
    literal: Option<(IpAddr, ResolverListener)>,
}

/// What to ask and whom.
#[derive(Debug)]
struct Query {
    host: String,
    port: u16,
    server: Option<SocketAddr>,
    config: DnsConfig,
}

impl DnsResolver {
    /// A resolver of `host`, reporting addresses with `port`, asking
    /// `server` (the system's name servers when `None`).
    pub fn new(
        host: impl Into<String>,
        port: u16,
        server: Option<SocketAddr>,
        config: DnsConfig,
    ) -> Self {
        DnsResolver {
            query: Arc::new(Query {
                host: host.into(),
                port,
                server,
                config,
            }),
            wake: Arc::new(Notify::new()),
            task: None,
            literal: None,
        }
    }
}

impl Resolver for DnsResolver {
    fn start(&mut self, listener: ResolverListener) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Ok(ip) = self.query.host.parse::<IpAddr>() {
            listener.update(literal(ip, self.query.port));
            self.literal = Some((ip, listener));
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let task = run(self.query.clone(), self.wake.clone(), listener);
                self.task = Some(runtime.spawn(task));
            }
            Err(_) => {
                listener.error(Status::internal(format!(
                    "DNS resolution of {} cannot start outside a tokio runtime",
                    self.query.host
                )));
            }
        }
    }

    fn resolve_now(&mut self) {
        match &self.literal {
            Some((ip, listener)) => {
                listener.update(literal(*ip, self.query.port));
            }
            None => self.wake.notify_one(),
        }
    }
}

impl Drop for DnsResolver {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn literal(ip: IpAddr, port: u16) -> Resolution {
    Resolution {
        addresses: vec![Address::Tcp(SocketAddr::new(ip, port))],
        service_config: None,
    }
}

/// The clock of the task: tokio's, so that tests with paused time work.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// The resolver task: waits for the schedule or a request, resolves,
/// reports, until the listener closes.
async fn run(query: Arc<Query>, wake: Arc<Notify>, listener: ResolverListener) {
    let seed = RandomState::new().hash_one(&query.host);
    let mut schedule = Schedule::new(&query.config, seed);
    schedule.start(now());
    let mut dns = None;
    loop {
        let due = schedule.next();
        if due.is_some_and(|due| due <= now()) {
            schedule.resolving(now());
            let mut resolution = pin!(resolve(&mut dns, &query));
            let outcome = loop {
                match next_event(resolution.as_mut(), &wake, &listener).await {
                    Event::Done(outcome) => break outcome,
                    Event::Woken => schedule.request(now()),
                    Event::Closed => return,
                }
            };
            let delivered = match outcome {
                Ok((found, ttl)) => {
                    schedule.succeeded(now(), ttl);
                    listener.update(found)
                }
                Err(status) => {
                    schedule.failed(now());
                    listener.error(status)
                }
            };
            if !delivered {
                return;
            }
            continue;
        }
        let event = match due {
            Some(due) => {
                let timer = pin!(tokio::time::sleep_until(due.into()));
                next_event(timer, &wake, &listener).await
            }
            None => next_event(pin!(std::future::pending()), &wake, &listener).await,
        };
        match event {
            Event::Done(()) => {}
            Event::Woken => schedule.request(now()),
            Event::Closed => return,
        }
    }
}

enum Event<T> {
    /// The future finished.
    Done(T),
    /// `resolve_now`.
    Woken,
    /// The listener closed.
    Closed,
}

/// Polls `fut` until it finishes, a re-resolution request arrives or the
/// listener closes, whichever comes first.
async fn next_event<F: Future>(
    mut fut: Pin<&mut F>,
    wake: &Notify,
    listener: &ResolverListener,
) -> Event<F::Output> {
    let mut closed = pin!(listener.tx.closed());
    let mut woken = pin!(wake.notified());
    poll_fn(|cx| {
        if closed.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Event::Closed);
        }
        if woken.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Event::Woken);
        }
        fut.as_mut().poll(cx).map(Event::Done)
    })
    .await
}

/// One resolution: the addresses, the smallest TTL of the records, and the
/// service config when enabled. `dns` is built on first use (reading the
/// system configuration may fail; the next attempt tries again).
async fn resolve(
    dns: &mut Option<TokioResolver>,
    query: &Query,
) -> Result<(Resolution, Option<Duration>), Status> {
    let host = &query.host;
    let failed = |why: &dyn std::fmt::Display| {
        Status::unavailable(format!("DNS resolution of {host} failed: {why}"))
    };
    let dns = match dns {
        Some(dns) => dns,
        None => dns.insert(build(query).map_err(|e| failed(&e))?),
    };
    // The schedule decides when answers are refreshed: always ask the
    // server, so that a refresh sees a changed answer.
    dns.clear_cache();
    let lookup = dns.lookup_ip(host.as_str()).await.map_err(|e| failed(&e))?;
    let addresses: Vec<Address> = lookup
        .iter()
        .map(|ip| Address::Tcp(SocketAddr::new(ip, query.port)))
        .collect();
    if addresses.is_empty() {
        return Err(failed(&"no addresses"));
    }
    let ttl = lookup
        .as_lookup()
        .records()
        .iter()
        .map(|record| record.ttl())
        .min()
        .map(|secs| Duration::from_secs(secs.into()));
    let service_config = match query.config.txt_service_config {
        true => txt_service_config(dns, host).await,
        false => None,
    };
    Ok((
        Resolution {
            addresses,
            service_config,
        },
        ttl,
    ))
}

/// gRFC A2: the text after `grpc_config=` in a TXT record of
/// `_grpc_config.<host>` (its strings joined). A failed TXT lookup means
/// no service config, not a failed resolution.
async fn txt_service_config(dns: &TokioResolver, host: &str) -> Option<String> {
    let lookup = dns.txt_lookup(format!("_grpc_config.{host}")).await.ok()?;
    lookup.iter().find_map(|txt| {
        let text: Vec<u8> = txt
            .txt_data()
            .iter()
            .flat_map(|s| s.iter().copied())
            .collect();
        let text = String::from_utf8(text).ok()?;
        text.strip_prefix("grpc_config=").map(str::to_owned)
    })
}

fn build(query: &Query) -> Result<TokioResolver, hickory_resolver::ResolveError> {
    let provider = TokioConnectionProvider::default();
    let mut builder = match query.server {
        Some(server) => {
            // UDP, and TCP when UDP fails or the answer is truncated.
            let servers =
                NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true);
            let config = ResolverConfig::from_parts(None, vec![], servers);
            let mut builder = TokioResolver::builder_with_config(config, provider);
            // The named server answers alone, not /etc/hosts.
            builder.options_mut().use_hosts_file = ResolveHosts::Never;
            builder
        }
        None => TokioResolver::builder(provider)?,
    };
    let options = builder.options_mut();
    options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    options.timeout = query.config.query_timeout;
    options.try_tcp_on_error = true;
    Ok(builder.build())
}

#[cfg(test)]
#[path = "dns_tests.rs"]
mod tests;
