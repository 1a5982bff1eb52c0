//! Building a channel.

use super::events::{ChannelEvent, Events, Hook};
use super::subchannel::Inner;
use super::Channel;
use crate::backoff::BackoffConfig;
use crate::connectivity::ConnectivityState;
use crate::grpc::framing::{DEFAULT_MAX_RECV_MESSAGE_SIZE, DEFAULT_MAX_SEND_MESSAGE_SIZE};
use crate::grpc::{request::user_agent, Scheme};
use crate::status::Status;
use crate::transport::{Target, TlsConfig};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tether_h2::Keepalive;

/// Options of a [`Channel`]; [`ChannelBuilder::build`] makes it (lazily).
pub struct ChannelBuilder {
    target: Target,
    tls: Option<TlsConfig>,
    keepalive: Option<Keepalive>,
    backoff: BackoffConfig,
    connect_timeout: Option<Duration>,
    user_agent: Option<String>,
    max_recv: usize,
    max_send: usize,
    http2: tether_h2::Config,
    authority: Option<String>,
    hooks: Vec<Hook>,
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
            .field("http2", &self.http2)
            .field("authority", &self.authority)
            .field("on_event", &self.hooks.len())
            .finish()
    }
}

impl ChannelBuilder {
    pub(super) fn new(target: &str) -> Result<Self, Status> {
        Ok(ChannelBuilder {
            target: Target::parse(target)?,
            tls: None,
            keepalive: None,
            backoff: BackoffConfig::default(),
            connect_timeout: None,
            user_agent: None,
            max_recv: DEFAULT_MAX_RECV_MESSAGE_SIZE,
            max_send: DEFAULT_MAX_SEND_MESSAGE_SIZE,
            http2: tether_h2::Config::default(),
            authority: None,
            hooks: Vec::new(),
        })
    }

    /// TLS settings (an `https://` target uses [`TlsConfig::default`],
    /// webpki roots, unless set; setting it on an `http://` target turns
    /// TLS on too).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Keepalive (gRFC A8): a PING after `time` without reads, the
    /// connection closed if nothing is read within `timeout` after it;
    /// `permit_without_calls` pings even with no call open.
    pub fn keepalive(
        mut self,
        time: Duration,
        timeout: Duration,
        permit_without_calls: bool,
    ) -> Self {
        self.keepalive = Some(Keepalive {
            time,
            timeout,
            permit_without_calls,
        });
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
    ///     .build();
    /// # Ok(()) }
    /// ```
    pub fn on_event(mut self, f: impl Fn(&ChannelEvent) + Send + Sync + 'static) -> Self {
        self.hooks.push(std::sync::Arc::new(f));
        self
    }

    /// The channel, IDLE: nothing connects before the first call.
    pub fn build(self) -> Channel {
        let tls = match (&self.target, self.tls) {
            (
                Target::Tcp {
                    scheme: Scheme::Https,
                    ..
                },
                None,
            ) => Some(TlsConfig::default()),
            (Target::Tcp { .. }, tls) => tls,
            (Target::Unix { .. }, _) => None,
        };
        let scheme = if tls.is_some() {
            Scheme::Https
        } else {
            self.target.scheme()
        };
        let server_name = tls
            .as_ref()
            .and_then(|t| t.server_name_override().map(str::to_owned));
        let tls = tls.map(|t| t.client_config());
        let authority = Bytes::from(
            self.authority
                .unwrap_or_else(|| self.target.authority().to_owned()),
        );
        let mut http2 = self.http2;
        if self.keepalive.is_some() {
            http2.keepalive = self.keepalive;
        }
        let mut backoff = self.backoff;
        if let Some(t) = self.connect_timeout {
            backoff.min_connect_timeout = t;
        }
        let inner = Inner::new(
            self.target,
            tls,
            server_name,
            scheme,
            authority,
            user_agent(self.user_agent.as_deref()),
            self.max_recv,
            self.max_send,
            http2,
            backoff,
            Events::new(self.hooks),
        );
        Channel {
            inner: Arc::new(inner),
        }
    }

    /// Builds the channel and connects it: waits for READY, or fails with
    /// the connection error when the first attempt fails.
    pub async fn connect(self) -> Result<Channel, Status> {
        let channel = self.build();
        let mut rx = channel.inner.subscribe();
        channel.state(true);
        loop {
            let state = *rx.borrow_and_update();
            match state {
                ConnectivityState::Ready => return Ok(channel),
                ConnectivityState::TransientFailure | ConnectivityState::Shutdown => {
                    return Err(channel.inner.last_error());
                }
                _ => {}
            }
            if rx.changed().await.is_err() {
                return Err(Status::unavailable("channel shut down"));
            }
        }
    }
}

// Inner::new takes many arguments by design (it is one constructor call).
#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Channel>();
    is::<Arc<Inner>>();
}
