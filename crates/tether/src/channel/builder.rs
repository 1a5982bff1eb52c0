//! Building a channel.

use super::control::{Control, ResolverSource};
use super::events::{ChannelEvent, Events, Hook};
use super::shared::ChannelShared;
use super::{Channel, Handle};
use crate::backoff::BackoffConfig;
use crate::client::Interceptor;
use crate::connectivity::ConnectivityState;
use crate::grpc::framing::{DEFAULT_MAX_RECV_MESSAGE_SIZE, DEFAULT_MAX_SEND_MESSAGE_SIZE};
use crate::grpc::{request::user_agent, Scheme};
use crate::resolver::{DnsConfig, Resolver, Target};
use crate::service_config::{LbConfig, ServiceConfig};
use crate::status::Status;
use crate::transport::{Security, TlsConfig};
use bytes::Bytes;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tether_h2::Keepalive;

/// The default idle timeout (as in gRPC).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Options of a [`Channel`]; [`ChannelBuilder::build`] makes it (lazily).
pub struct ChannelBuilder {
    source: Source,
    target: String,
    /// `https://`: TLS by default.
    tls_default: bool,
    default_authority: String,
    tls: Option<TlsConfig>,
    keepalive: Option<Keepalive>,
    backoff: BackoffConfig,
    connect_timeout: Option<Duration>,
    user_agent: Option<String>,
    max_recv: usize,
    max_send: usize,
    compression: crate::grpc::Encoding,
    health: super::shared::HealthSettings,
    http2: tether_h2::Config,
    authority: Option<String>,
    hooks: Vec<Hook>,
    interceptors: Vec<Arc<dyn Interceptor>>,
    dns: DnsConfig,
    lb: Option<LbConfig>,
    service_config: Option<ServiceConfig>,
    max_connections: usize,
    extra_idle: Duration,
    idle_timeout: Option<Duration>,
    retries: bool,
    retry_buffer: (usize, usize),
}

enum Source {
    Target(Target),
    Custom(Box<dyn Resolver>),
}

impl std::fmt::Debug for ChannelBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelBuilder")
            .field("target", &self.target)
            .field("tls", &self.tls)
            .field("keepalive", &self.keepalive)
            .field("backoff", &self.backoff)
            .field("connect_timeout", &self.connect_timeout)
            .field("user_agent", &self.user_agent)
            .field("max_recv", &self.max_recv)
            .field("max_send", &self.max_send)
            .field("compression", &self.compression)
            .field("health", &self.health)
            .field("http2", &self.http2)
            .field("authority", &self.authority)
            .field("on_event", &self.hooks.len())
            .field("interceptors", &self.interceptors.len())
            .field("dns", &self.dns)
            .field("load_balancing", &self.lb)
            .field("service_config", &self.service_config)
            .field("max_connections_per_subchannel", &self.max_connections)
            .field("idle_timeout", &self.idle_timeout)
            .field("retries", &self.retries)
            .field("retry_buffer", &self.retry_buffer)
            .finish()
    }
}

impl ChannelBuilder {
    pub(super) fn new(target: &str) -> Result<Self, Status> {
        let parsed = Target::parse(target)?;
        Ok(ChannelBuilder::common(
            Source::Target(parsed.target),
            target.to_owned(),
            parsed.authority,
            parsed.tls,
        ))
    }

    pub(super) fn with_resolver(authority: &str, resolver: Box<dyn Resolver>) -> Self {
        ChannelBuilder::common(
            Source::Custom(resolver),
            format!("custom resolver for {authority}"),
            authority.to_owned(),
            false,
        )
    }

    fn common(source: Source, target: String, authority: String, tls_default: bool) -> Self {
        ChannelBuilder {
            source,
            target,
            tls_default,
            default_authority: authority,
            tls: None,
            keepalive: None,
            backoff: BackoffConfig::default(),
            connect_timeout: None,
            user_agent: None,
            max_recv: DEFAULT_MAX_RECV_MESSAGE_SIZE,
            max_send: DEFAULT_MAX_SEND_MESSAGE_SIZE,
            compression: crate::grpc::Encoding::Identity,
            health: super::shared::HealthSettings::default(),
            http2: tether_h2::Config::default(),
            authority: None,
            hooks: Vec::new(),
            interceptors: Vec::new(),
            dns: DnsConfig::default(),
            lb: None,
            service_config: None,
            max_connections: 1,
            extra_idle: super::shared::DEFAULT_EXTRA_IDLE,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            retries: true,
            retry_buffer: (
                crate::retry::buffer::DEFAULT_CHANNEL_LIMIT,
                crate::retry::buffer::DEFAULT_CALL_LIMIT,
            ),
        }
    }

    /// TLS settings (an `https://` target uses [`TlsConfig::default`],
    /// webpki roots, unless set; setting it on an `http://` target turns
    /// TLS on too).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Keepalive (gRFC A8): a PING after `time` without reads, the
    /// connection closed if nothing is read within `timeout` after it. See
    /// [`Keepalive`] for `permit_without_calls` (ping even with no call
    /// open), `min_ping_interval` and `max_pings_without_data` (all off by
    /// default).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether::{Channel, Keepalive};
    ///
    /// # fn f() -> Result<(), tether::Status> {
    /// let channel = Channel::builder("http://127.0.0.1:50051")?
    ///     .keepalive(
    ///         Keepalive::new(Duration::from_secs(60), Duration::from_secs(20))
    ///             .permit_without_calls(true),
    ///     )
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn keepalive(mut self, keepalive: Keepalive) -> Self {
        self.keepalive = Some(keepalive);
        self
    }

    /// The minimum connect timeout (TCP, TLS and the HTTP/2 handshake);
    /// the deadline is the larger of it and the current backoff (20 s by
    /// default, per the connection backoff specification).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = Some(d);
        self
    }

    /// The reconnection backoff.
    pub fn backoff(mut self, cfg: BackoffConfig) -> Self {
        self.backoff = cfg;
        self
    }

    /// A `user-agent` prefix (`"my-app/1.2"` gives `"my-app/1.2 tether/x.y.z"`).
    pub fn user_agent(mut self, prefix: &str) -> Self {
        self.user_agent = Some(prefix.to_owned());
        self
    }

    /// The largest response message accepted (4 MiB by default); larger is
    /// RESOURCE_EXHAUSTED.
    pub fn max_recv_message_size(mut self, n: usize) -> Self {
        self.max_recv = n;
        self
    }

    /// The largest request message sent; larger is RESOURCE_EXHAUSTED.
    pub fn max_send_message_size(mut self, n: usize) -> Self {
        self.max_send = n;
        self
    }

    /// Compresses every call's request messages with `encoding` (gzip), as
    /// grpc doc/compression.md describes; a call can choose otherwise with
    /// [`crate::Request::with_compression`]. Off by default. Responses are
    /// decompressed whatever this says: every request offers
    /// `grpc-accept-encoding: gzip`.
    pub fn send_compressed(mut self, encoding: crate::grpc::Encoding) -> Self {
        self.compression = encoding;
        self
    }

    /// Client-side health checking (gRFC A17): every subchannel watches
    /// `service` (`""` for the server's overall health) with
    /// `grpc.health.v1.Health/Watch` on its own connection and takes new
    /// calls only while the answer is SERVING. Applies under `round_robin`
    /// (as the specification says) and, with
    /// [`ChannelBuilder::health_check_pick_first`], under `pick_first`.
    /// Overrides the service config's `healthCheckConfig.serviceName`.
    pub fn health_check(mut self, service: &str) -> Self {
        self.health.service = Some(service.to_owned());
        self
    }

    /// Health-check under `pick_first` too (beyond gRFC A17, which leaves
    /// pick_first unchecked): a NOT_SERVING address makes the policy move
    /// on to the next one instead of sending calls into a draining pod.
    pub fn health_check_pick_first(mut self, on: bool) -> Self {
        self.health.with_pick_first = on;
        self
    }

    /// HTTP/2 settings: windows, frame size, limits (its `keepalive` is
    /// replaced by [`ChannelBuilder::keepalive`] when that is set).
    pub fn http2(mut self, cfg: tether_h2::Config) -> Self {
        self.http2 = cfg;
        self
    }

    /// Sends this `:authority` instead of the target's `host:port`.
    pub fn authority(mut self, a: &str) -> Self {
        self.authority = Some(a.to_owned());
        self
    }

    /// Calls `f` with every [`ChannelEvent`]: state changes, connections
    /// made and closed, PING round-trip times, GOAWAYs, keepalive doubling.
    /// Several callbacks may be set; each sees every event, in order.
    ///
    /// `f` runs on the task that saw the event (a connection's driver, a
    /// caller, the connect loop), with no lock of the channel held: it may
    /// call the channel, but should be quick (it delays that task).
    ///
    /// ```no_run
    /// # fn f() -> Result<(), tether::Status> {
    /// let channel = tether::Channel::builder("http://127.0.0.1:50051")?
    ///     .on_event(|e| eprintln!("channel: {e}"))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn on_event(mut self, f: impl Fn(&ChannelEvent) + Send + Sync + 'static) -> Self {
        self.hooks.push(std::sync::Arc::new(f));
        self
    }

    /// Adds an [`Interceptor`]: its `on_start` sees each call's method path
    /// and request metadata before the call starts (and may change the
    /// metadata, asynchronously, or fail the call), its `on_end` the call's
    /// final status. Several run in the order added. Generated clients go
    /// through them like any call.
    pub fn interceptor(mut self, interceptor: impl Interceptor) -> Self {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// The load-balancing policy (pick_first by default). A service config
    /// from the resolver (DNS TXT, when enabled) takes precedence.
    pub fn load_balancing(mut self, lb: LbConfig) -> Self {
        self.lb = Some(lb);
        self
    }

    /// The default service config (gRPC service config JSON): its
    /// `loadBalancingConfig`, `healthCheckConfig`, `retryThrottling` and
    /// its `methodConfig` (`timeout`, `waitForReady`,
    /// `maxRequestMessageBytes`, `maxResponseMessageBytes`, `retryPolicy`,
    /// `hedgingPolicy`). Bad JSON, a wrong type or an out-of-range value
    /// is INVALID_ARGUMENT naming the JSON path. A service config from the
    /// resolver (DNS TXT, when enabled) replaces it while it is valid.
    ///
    /// ```
    /// # fn f() -> Result<(), tether::Status> {
    /// let channel = tether::Channel::builder("dns:///my-service.default.svc.cluster.local:50051")?
    ///     .default_service_config(r#"{
    ///         "loadBalancingConfig": [{"round_robin": {}}],
    ///         "methodConfig": [{
    ///             "name": [{"service": "pkg.Svc"}],
    ///             "timeout": "2s",
    ///             "retryPolicy": {
    ///                 "maxAttempts": 3,
    ///                 "initialBackoff": "0.1s",
    ///                 "maxBackoff": "1s",
    ///                 "backoffMultiplier": 2,
    ///                 "retryableStatusCodes": ["UNAVAILABLE"]
    ///             }
    ///         }],
    ///         "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}
    ///     }"#)?
    ///     .build()?;
    /// # let _ = channel; Ok(()) }
    /// ```
    pub fn default_service_config(mut self, json: &str) -> Result<Self, Status> {
        self.service_config = Some(ServiceConfig::parse(json)?);
        Ok(self)
    }

    /// Whether the service config's `retryPolicy` and `hedgingPolicy`
    /// apply (on by default). Off, calls are only retried transparently
    /// (attempts the server never processed, gRFC A6), for applications
    /// that run their own retry loop.
    pub fn retries(mut self, enabled: bool) -> Self {
        self.retries = enabled;
        self
    }

    /// The memory request messages may hold so that calls can be retried
    /// or hedged (gRFC A6's `retry_buffer_size_in_bytes` and
    /// `per_rpc_buffer_limit_in_bytes`; grpc-java's defaults: 16 MiB per
    /// channel, 1 MiB per call). A call whose request outgrows either
    /// limit commits to its current attempt: it is no longer retried.
    pub fn retry_buffer(mut self, per_channel: usize, per_call: usize) -> Self {
        self.retry_buffer = (per_channel, per_call);
        self
    }

    /// DNS resolution: minimum interval between re-resolutions (30 s),
    /// refresh while healthy (by TTL, clamped to [30 s, 5 min]), service
    /// config from TXT records (off). See [`DnsConfig`].
    pub fn dns(mut self, dns: DnsConfig) -> Self {
        self.dns = dns;
        self
    }

    /// How many connections a subchannel may open to its address when
    /// every one it has is at the server's MAX_CONCURRENT_STREAMS (gRFC
    /// A105); 1 (the default) never opens a second one.
    pub fn max_connections_per_subchannel(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long an extra connection opened for
    /// [`ChannelBuilder::max_connections_per_subchannel`] stays open
    /// without calls before it closes (30 s by default). The first
    /// connection of a subchannel stays until the channel's idle timeout.
    pub fn extra_connection_idle_timeout(mut self, d: Duration) -> Self {
        self.extra_idle = d;
        self
    }

    /// With no call for this long, the channel goes IDLE: its connections
    /// close and its resolver stops; the next call reconnects. 30 minutes
    /// by default; `None` never.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The channel, IDLE: nothing connects before the first call.
    ///
    /// Fails only on a TLS configuration rustls refuses (a CA certificate
    /// it cannot use, a client key that does not match its certificate):
    /// INVALID_ARGUMENT naming the problem, here rather than as UNAVAILABLE
    /// on every connection attempt.
    pub fn build(self) -> Result<Channel, Status> {
        let is_unix = matches!(self.source, Source::Target(Target::Unix(_)));
        let tls = match (self.tls, self.tls_default) {
            _ if is_unix => None,
            (Some(t), _) => Some(t),
            (None, true) => Some(TlsConfig::default()),
            (None, false) => None,
        };
        let scheme = if tls.is_some() {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let authority = self.authority.unwrap_or(self.default_authority);
        let host = host_of(&authority).to_owned();
        let security = match tls {
            None => Security::Plaintext,
            Some(t) => Security::Tls {
                config: t.client_config()?,
                server_name: t
                    .server_name_override()
                    .map_or_else(|| host.clone(), str::to_owned),
            },
        };
        let mut http2 = self.http2;
        if self.keepalive.is_some() {
            http2.keepalive = self.keepalive;
        }
        let mut backoff = self.backoff;
        if let Some(t) = self.connect_timeout {
            backoff.min_connect_timeout = t;
        }
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let (ctl, rx) = tokio::sync::mpsc::unbounded_channel();
        let default_lb = self
            .lb
            .or_else(|| {
                self.service_config
                    .as_ref()
                    .and_then(|c| c.load_balancing.clone())
            })
            .unwrap_or(LbConfig::PickFirst {
                shuffle_address_list: false,
            });
        let mut shared = ChannelShared::new(
            security,
            http2,
            backoff,
            self.max_connections,
            Events::new(self.hooks),
            ctl,
            self.service_config.clone(),
            seed,
        );
        shared.extra_idle = self.extra_idle;
        shared.retry_budget = Arc::new(crate::retry::buffer::Budget::new(
            self.retry_buffer.0,
            self.retry_buffer.1,
        ));
        shared.health = self.health;
        shared.health_watch_head = crate::grpc::RequestHead::new(
            scheme,
            Bytes::from(authority.clone()),
            Bytes::from_static(crate::subchannel::health::WATCH_PATH.as_bytes()),
        )
        .with_user_agent(user_agent(self.user_agent.as_deref()));
        let shared = Arc::new(shared);
        let source = match self.source {
            Source::Target(target) => ResolverSource::Target {
                target,
                dns: self.dns,
            },
            Source::Custom(r) => ResolverSource::Custom(Some(r)),
        };
        let control = Control::new(
            shared.clone(),
            rx,
            source,
            default_lb,
            self.service_config,
            host,
            self.idle_timeout,
        );
        Ok(Channel {
            inner: Arc::new(Handle {
                shared,
                control: Mutex::new(Some(control)),
                target: self.target,
                scheme,
                authority: Bytes::from(authority),
                user_agent: user_agent(self.user_agent.as_deref()),
                max_recv: self.max_recv,
                max_send: self.max_send,
                compression: self.compression,
                interceptors: self.interceptors.into(),
                retries: self.retries,
            }),
        })
    }

    /// Builds the channel and connects it: waits for READY, or fails with
    /// the connection error when the first attempt fails.
    pub async fn connect(self) -> Result<Channel, Status> {
        let channel = self.build()?;
        let mut rx = channel.inner.shared.state.subscribe();
        channel.state(true);
        loop {
            let state = *rx.borrow_and_update();
            match state {
                ConnectivityState::Ready => return Ok(channel),
                ConnectivityState::TransientFailure | ConnectivityState::Shutdown => {
                    let picker = channel.inner.shared.picker.load();
                    return Err(match &**picker {
                        super::picker::Picker::Fail(status) => status.clone(),
                        _ => Status::unavailable("channel closed"),
                    });
                }
                _ => {}
            }
            if rx.changed().await.is_err() {
                return Err(Status::unavailable("channel shut down"));
            }
        }
    }
}

/// The host part of an authority (`host:port`, `[v6]:port`, `host`), for
/// the TLS server name.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(h, _)| h);
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Channel>();
}
