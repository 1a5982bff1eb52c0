//! What a channel's handle, its control task and its subchannels share:
//! connection settings, the published picker and state, observability.

use super::events::{ChannelEvent, Events};
use super::picker::Picker;
use crate::backoff::BackoffConfig;
use crate::connectivity::ConnectivityState;
use crate::lb::SubchannelId;
use crate::retry::buffer::Budget;
use crate::retry::throttle::Throttle;
use crate::service_config::ServiceConfig;
use crate::status::Status;
use crate::subchannel::Subchannel;
use crate::transport::Security;
use arc_swap::{ArcSwap, ArcSwapOption};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tether_h2::Keepalive;
use tokio::sync::{mpsc, watch, Notify};

/// How long an extra connection (A105) stays open without calls.
pub(crate) const DEFAULT_EXTRA_IDLE: Duration = Duration::from_secs(30);

/// What the control task is told.
#[derive(Debug)]
pub(crate) enum ControlMsg {
    /// A call (or `state(true)`) wants the channel out of IDLE.
    ExitIdle,
    /// A subchannel's state changed.
    SubchannelState {
        id: SubchannelId,
        state: ConnectivityState,
        /// Boxed: keeps the message (and the queue's blocks) small.
        error: Option<Box<Status>>,
    },
    /// Fresh addresses wanted (a connection failed or got GOAWAY).
    ResolveNow,
    /// `Channel::reset_connect_backoff`.
    ResetBackoff,
    /// `Channel::close`, or the last handle was dropped.
    Close,
}

/// Shared by the handle, the control task and the subchannels.
pub(crate) struct ChannelShared {
    pub(crate) security: Security,
    pub(crate) http2: tether_h2::Config,
    pub(crate) backoff: BackoffConfig,
    pub(crate) max_connections: usize,
    /// An extra connection (A105) idle this long closes.
    pub(crate) extra_idle: Duration,
    pub(crate) events: Events,
    pub(crate) ctl: mpsc::UnboundedSender<ControlMsg>,
    /// How calls are routed now (read without a lock).
    pub(crate) picker: ArcSwap<Picker>,
    /// Bumped after each new picker (calls waiting for one watch it).
    pub(crate) picker_gen: watch::Sender<u64>,
    pub(crate) state: watch::Sender<ConnectivityState>,
    /// The service config in force (default or from the resolver); set
    /// through [`ChannelShared::set_service_config`].
    pub(crate) service_config: ArcSwap<Option<ServiceConfig>>,
    /// The resolver has reported once (addresses or an error): until then
    /// a call waits before reading its method config, which the first
    /// resolution may bring (grpc-go waits the same way).
    resolved: AtomicBool,
    /// Woken when `resolved` is set.
    resolved_notify: Notify,
    /// Retry throttling (gRFC A6), when the service config has
    /// `retryThrottling`.
    pub(crate) throttle: ArcSwapOption<Throttle>,
    /// The memory request messages kept for retries may use.
    pub(crate) retry_budget: Arc<Budget>,
    /// Numbers calls, for their retry jitter.
    call_seq: AtomicU32,
    /// Calls in flight, and when the last one ended (ms since `epoch`),
    /// for the idle timeout.
    pub(crate) calls: AtomicUsize,
    pub(crate) last_call_ms: AtomicU64,
    pub(crate) epoch: Instant,
    seed: u64,
    keepalive: Mutex<Option<Keepalive>>,
    rtt: Mutex<Option<Duration>>,
    /// The subchannels, for snapshots.
    pub(crate) subchannels: Mutex<Vec<Arc<Subchannel>>>,
    /// Client-side health checking (gRFC A17) as configured in code.
    pub(crate) health: HealthSettings,
    /// The request head of a `grpc.health.v1.Health/Watch` stream on this
    /// channel (scheme, authority, user agent), cloned for each stream.
    pub(crate) health_watch_head: crate::grpc::RequestHead,
}

/// Client-side health checking as set on the builder.
#[derive(Clone, Debug, Default)]
pub(crate) struct HealthSettings {
    /// The service to check (`ChannelBuilder::health_check`); a service
    /// config's `healthCheckConfig.serviceName` applies when this is `None`.
    pub(crate) service: Option<String>,
    /// Health-check under pick_first too (beyond gRFC A17).
    pub(crate) with_pick_first: bool,
}

impl ChannelShared {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        security: Security,
        http2: tether_h2::Config,
        backoff: BackoffConfig,
        max_connections: usize,
        events: Events,
        ctl: mpsc::UnboundedSender<ControlMsg>,
        service_config: Option<ServiceConfig>,
        seed: u64,
    ) -> ChannelShared {
        ChannelShared {
            keepalive: Mutex::new(http2.keepalive),
            security,
            http2,
            backoff,
            max_connections: max_connections.max(1),
            extra_idle: DEFAULT_EXTRA_IDLE,
            events,
            ctl,
            picker: ArcSwap::from_pointee(Picker::Idle),
            picker_gen: watch::Sender::new(0),
            state: watch::Sender::new(ConnectivityState::Idle),
            throttle: ArcSwapOption::from(
                service_config
                    .as_ref()
                    .and_then(|c| c.retry_throttling)
                    .map(|t| Arc::new(Throttle::new(t))),
            ),
            service_config: ArcSwap::from_pointee(service_config),
            resolved: AtomicBool::new(false),
            resolved_notify: Notify::new(),
            retry_budget: Arc::new(Budget::new(
                crate::retry::buffer::DEFAULT_CHANNEL_LIMIT,
                crate::retry::buffer::DEFAULT_CALL_LIMIT,
            )),
            call_seq: AtomicU32::new(0),
            calls: AtomicUsize::new(0),
            last_call_ms: AtomicU64::new(0),
            epoch: crate::driver::now(),
            seed,
            health: HealthSettings::default(),
            health_watch_head: crate::grpc::RequestHead::new(
                crate::grpc::Scheme::Http,
                bytes::Bytes::new(),
                bytes::Bytes::from_static(crate::subchannel::health::WATCH_PATH.as_bytes()),
            ),
            rtt: Mutex::new(None),
            subchannels: Mutex::new(Vec::new()),
        }
    }

    /// A seed for jitter and shuffles.
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// A number for each call (mixed into its retry jitter).
    pub(crate) fn call_seq(&self) -> u32 {
        self.call_seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Puts a service config in force, with its retry throttling: the
    /// token bucket is kept when the settings did not change, else a new,
    /// full one starts.
    pub(crate) fn set_service_config(&self, config: Option<ServiceConfig>) {
        let wanted = config.as_ref().and_then(|c| c.retry_throttling);
        let current = self.throttle.load();
        match (wanted, current.as_deref()) {
            (Some(w), Some(t)) if t.same_settings(w) => {}
            (Some(w), _) => self.throttle.store(Some(Arc::new(Throttle::new(w)))),
            (None, _) => self.throttle.store(None),
        }
        self.service_config.store(Arc::new(config));
    }

    /// The resolver reported (the first time: calls waiting for it go on).
    pub(crate) fn mark_resolved(&self) {
        if !self.resolved.swap(true, Ordering::AcqRel) {
            self.resolved_notify.notify_waiters();
        }
    }

    /// Whether the resolver has reported once.
    pub(crate) fn is_resolved(&self) -> bool {
        self.resolved.load(Ordering::Acquire)
    }

    /// Waits until the resolver has reported once, or `until` passes
    /// (false then).
    pub(crate) async fn wait_resolved(&self, until: Option<tokio::time::Instant>) -> bool {
        let notified = self.resolved_notify.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        if self.is_resolved() {
            return true;
        }
        match until {
            Some(t) => tokio::time::timeout_at(t, notified).await.is_ok(),
            None => {
                notified.await;
                true
            }
        }
    }

    /// The keepalive of new connections.
    pub(crate) fn keepalive(&self) -> Option<Keepalive> {
        *lock(&self.keepalive)
    }

    /// gRFC A8: a GOAWAY `too_many_pings` doubles the keepalive time of new
    /// connections.
    pub(crate) fn double_keepalive(&self) {
        let mut ka = lock(&self.keepalive);
        if let Some(ka) = ka.as_mut() {
            ka.time = ka
                .time
                .saturating_mul(2)
                .min(Duration::from_secs(u32::MAX.into()));
            // gRFC A8 asks for a log line; a library reports it as an event
            // (ChannelBuilder::on_event), which applications already collect.
            self.events
                .push(ChannelEvent::KeepaliveDoubled { time: ka.time });
        }
    }

    pub(crate) fn rtt(&self) -> Option<Duration> {
        *lock(&self.rtt)
    }

    pub(crate) fn set_rtt(&self, rtt: Duration) {
        *lock(&self.rtt) = Some(rtt);
    }

    /// Publishes a new picker and the channel's state (nothing after
    /// SHUTDOWN, which is final).
    pub(crate) fn publish(&self, state: ConnectivityState, picker: Picker) {
        let mut picker = Some(picker);
        self.state.send_if_modified(|cur| {
            let from = *cur;
            if from == ConnectivityState::Shutdown {
                return false;
            }
            if let Some(p) = picker.take() {
                self.picker.store(Arc::new(p));
            }
            if from == state {
                return false;
            }
            *cur = state;
            // Queued under the watch's lock: in the order of the changes.
            self.events
                .push(ChannelEvent::StateChanged { from, to: state });
            true
        });
        if picker.is_none() {
            self.picker_gen.send_modify(|g| *g += 1);
        }
    }

    /// A call starts (idle timeout bookkeeping).
    pub(crate) fn call_started(&self) {
        self.calls.fetch_add(1, Ordering::AcqRel);
    }

    /// A call ended.
    /// Milliseconds since the channel was built, on tokio's clock.
    pub(crate) fn now_ms(&self) -> u64 {
        crate::driver::now()
            .saturating_duration_since(self.epoch)
            .as_millis() as u64
    }

    /// Nanoseconds since the channel was built, on tokio's clock (the
    /// latency scores' time base).
    pub(crate) fn now_ns(&self) -> u64 {
        let d = crate::driver::now().saturating_duration_since(self.epoch);
        d.as_secs() * 1_000_000_000 + u64::from(d.subsec_nanos())
    }

    pub(crate) fn call_ended(&self) {
        let ms = self.now_ms();
        self.last_call_ms.store(ms, Ordering::Relaxed);
        self.calls.fetch_sub(1, Ordering::AcqRel);
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
