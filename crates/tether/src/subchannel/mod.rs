//! A subchannel: one address, its connections, its backoff and its
//! connectivity state (grpc/grpc `doc/connectivity-semantics-and-api.md`).
//!
//! - It connects only when its policy asks ([`Subchannel::connect`]), then
//!   retries with the connection backoff (`doc/connection-backoff.md`)
//!   until READY: CONNECTING, TRANSIENT_FAILURE, CONNECTING...
//! - A READY subchannel that loses its connection goes IDLE and waits for
//!   the policy to ask again.
//! - A graceful GOAWAY starts a replacement connection at once while the
//!   old one drains (connect-before-drain): the subchannel stays READY and
//!   calls that arrive meanwhile wait for the replacement.
//! - When every connection is at the server's MAX_CONCURRENT_STREAMS it
//!   opens another, up to the channel's `max_connections_per_subchannel`
//!   (gRFC A105); calls wait for room meanwhile.
//!
//! Calls pick a connection without taking the subchannel's lock: READY
//! connections are published as a snapshot ([`ArcSwap`]).

pub(crate) mod conn;
mod connect;
pub(crate) mod health;

pub use health::SubchannelHealth;

use crate::backoff::Backoff;
use crate::channel::shared::{ChannelShared, ControlMsg};
use crate::channel::ChannelEvent;
use crate::connectivity::ConnectivityState;
use crate::lb::SubchannelId;
use crate::resolver::Address;
use crate::status::Status;
use arc_swap::ArcSwap;
use conn::{Conn, Lease};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::{oneshot, Notify};

/// One address of the channel.
pub(crate) struct Subchannel {
    pub(crate) id: SubchannelId,
    pub(crate) address: Address,
    shared: Arc<ChannelShared>,
    /// Itself, for the driver callbacks (which get `&self`).
    me: Weak<Subchannel>,
    /// Wakes a connect loop waiting out its backoff (reset, shutdown).
    kick: Notify,
    /// The connections that take new calls (READY, not draining).
    ready: ArcSwap<Vec<Arc<Conn>>>,
    /// Woken when a connection gains room, a connection becomes READY, or
    /// the subchannel stops being usable.
    room: Notify,
    /// Calls waiting on `room`.
    waiters: AtomicUsize,
    /// Woken when the state changes or the subchannel is removed (the
    /// health-check task waits on it).
    changed: Notify,
    /// Its latency score (peak_ewma; idle under other policies).
    score: crate::lb::Score,
    /// The score's time constant, as the last scored call gave it (ns).
    decay_ns: AtomicU64,
    /// Calls finished since outlier detection's last sweep: succeeded and
    /// failed (UNAVAILABLE, DEADLINE_EXCEEDED).
    calls_succeeded: AtomicU64,
    calls_failed: AtomicU64,
    /// Ejected by outlier detection (out of the pickers for now).
    ejected: std::sync::atomic::AtomicBool,
    /// Calls are counted (outlier detection is on): without it the call
    /// path pays one relaxed load, not a locked add.
    counting: std::sync::atomic::AtomicBool,
    st: Mutex<SubState>,
}

impl fmt::Debug for Subchannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subchannel")
            .field("id", &self.id)
            .field("address", &self.address)
            .finish()
    }
}

/// The mutable part of a subchannel.
struct SubState {
    /// The connection state (READY: a connection takes calls).
    state: ConnectivityState,
    /// What the policy was last told: `state`, except that a READY
    /// subchannel under health checking is CONNECTING until its first
    /// answer and TRANSIENT_FAILURE while not serving (gRFC A17).
    reported: ConnectivityState,
    /// The service checked (`Some` once health checking is on).
    health_service: Option<String>,
    /// The latest health verdict (`None`: not checked).
    health: Option<SubchannelHealth>,
    /// Every live connection, draining ones included.
    conns: Vec<Arc<Conn>>,
    /// The main connect loop is running.
    connecting: bool,
    /// The connect loop replaces a connection that received GOAWAY: the
    /// subchannel stays READY during its first attempt.
    replacing: bool,
    /// Extra connection attempts in flight (A105).
    growing: usize,
    /// Attempts waiting for the server's first SETTINGS, by connection id.
    pending: HashMap<u64, oneshot::Sender<()>>,
    /// SETTINGS_MAX_CONCURRENT_STREAMS seen before the connection was
    /// published, by connection id.
    early_limits: HashMap<u64, Option<u32>>,
    backoff: Backoff,
    next_conn: u64,
    last_error: Option<Status>,
    rtt: Option<Duration>,
    /// Removed by the policy (or the channel closed): no new connection.
    removed: bool,
    /// A task closes idle extra connections.
    reaping: bool,
}

/// What a call gets from [`Subchannel::pick`].
pub(crate) enum Pick {
    /// A place on a connection.
    Lease(Lease),
    /// A connection is coming (replacement or A105): wait for room.
    Wait,
    /// Not usable now (no READY connection).
    Unavailable,
}

/// A read-only view of one subchannel (see `Channel::subchannels`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SubchannelSnapshot {
    /// Its address.
    pub address: Address,
    /// Its connectivity state.
    pub state: ConnectivityState,
    /// Its live connections (draining ones included).
    pub connections: usize,
    /// Calls in flight on its connections.
    pub streams_in_flight: usize,
    /// The last connection error, if the last attempt failed.
    pub last_error: Option<Status>,
    /// The latest PING round-trip time on one of its connections.
    pub rtt: Option<Duration>,
    /// Its health, when health checking is on (gRFC A17; see
    /// `ChannelBuilder::health_check`).
    pub health: Option<SubchannelHealth>,
    /// Under peak_ewma: its latency estimate now (the peak-sensitive
    /// moving average, decayed), `None` before its first response.
    pub latency_estimate: Option<Duration>,
    /// Under peak_ewma: calls picked for it still waiting for their first
    /// response.
    pub calls_waiting: u32,
    /// Ejected by outlier detection (gRFC A50): no new calls until its
    /// ejection time is over; its connections stay.
    pub ejected: bool,
}

impl Subchannel {
    pub(crate) fn new(id: SubchannelId, address: Address, shared: Arc<ChannelShared>) -> Arc<Self> {
        let seed = shared.seed() ^ id.0.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let backoff = Backoff::new(shared.backoff, seed);
        Arc::new_cyclic(|me| Subchannel {
            id,
            address,
            shared,
            me: me.clone(),
            kick: Notify::new(),
            ready: ArcSwap::from_pointee(Vec::new()),
            room: Notify::new(),
            waiters: AtomicUsize::new(0),
            changed: Notify::new(),
            score: crate::lb::Score::default(),
            decay_ns: AtomicU64::new(crate::lb::DEFAULT_DECAY.as_nanos() as u64),
            calls_succeeded: AtomicU64::new(0),
            calls_failed: AtomicU64::new(0),
            ejected: std::sync::atomic::AtomicBool::new(false),
            counting: std::sync::atomic::AtomicBool::new(false),
            st: Mutex::new(SubState {
                state: ConnectivityState::Idle,
                reported: ConnectivityState::Idle,
                health_service: None,
                health: None,
                conns: Vec::new(),
                connecting: false,
                replacing: false,
                growing: 0,
                pending: HashMap::new(),
                early_limits: HashMap::new(),
                backoff,
                next_conn: 0,
                last_error: None,
                rtt: None,
                removed: false,
                reaping: false,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, SubState> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place on a connection with room: the first under the server's
    /// limit; when all are full, another connection is opened if the
    /// channel allows (the call waits for it), else the least loaded one
    /// takes the call (the HTTP/2 core queues the stream).
    pub(crate) fn pick(self: &Arc<Self>) -> Pick {
        let ready = self.ready.load();
        let mut least: Option<&Arc<Conn>> = None;
        for conn in ready.iter() {
            if conn.try_acquire() {
                return Pick::Lease(Lease::new(conn.clone(), self.clone()));
            }
            if least.map_or(true, |l| conn.load() < l.load()) {
                least = Some(conn);
            }
        }
        let Some(least) = least else {
            let st = self.lock();
            return if st.state == ConnectivityState::Ready && st.connecting && !st.removed {
                Pick::Wait
            } else {
                Pick::Unavailable
            };
        };
        // Every connection is at the server's MAX_CONCURRENT_STREAMS.
        if self.grow() {
            return Pick::Wait;
        }
        least.acquire();
        Pick::Lease(Lease::new(least.clone(), self.clone()))
    }

    /// Starts another connection when the channel allows one more (A105);
    /// true if one is on its way.
    fn grow(self: &Arc<Self>) -> bool {
        let mut st = self.lock();
        if st.removed || st.state != ConnectivityState::Ready {
            return false;
        }
        let live = st.conns.iter().filter(|c| !c.is_draining()).count();
        if live + st.growing + usize::from(st.connecting) < self.shared.max_connections {
            st.growing += 1;
            drop(st);
            self.spawn_extra();
            return true;
        }
        st.growing > 0
    }

    /// A call gave its place back: wake calls waiting for room.
    pub(crate) fn room_freed(&self) {
        // SeqCst, paired with `wait_for_room`: either this load sees the
        // waiter, or the waiter's re-check sees the freed place.
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.room.notify_waiters();
        }
    }

    /// Waits until room may have appeared (or `until` passes); the caller
    /// picks again. The wait is registered first, then the subchannel is
    /// checked once more: room that appeared between the caller's pick
    /// and the registration (a replacement connection published, a place
    /// freed) returns at once instead of being missed until `until`.
    pub(crate) async fn wait_for_room(self: &Arc<Self>, until: tokio::time::Instant) {
        let notified = self.room.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        self.waiters.fetch_add(1, Ordering::SeqCst);
        // Counted off however the wait ends (the caller may drop it when
        // a new picker comes first).
        struct Registered<'a>(&'a AtomicUsize);
        impl Drop for Registered<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _registered = Registered(&self.waiters);
        if !self.would_wait() {
            return;
        }
        let _ = tokio::time::timeout_at(until, notified).await;
    }

    /// Whether a pick now would still wait: no connection has room and a
    /// connection is on its way (what `pick` answers with `Pick::Wait`).
    fn would_wait(&self) -> bool {
        let ready = self.ready.load();
        if ready.iter().any(|c| c.has_room()) {
            return false;
        }
        let st = self.lock();
        if st.removed || st.state != ConnectivityState::Ready {
            return false;
        }
        if ready.is_empty() {
            st.connecting
        } else {
            st.growing > 0
        }
    }

    /// Publishes the connections that take new calls.
    fn publish(&self, st: &SubState) {
        let ready: Vec<Arc<Conn>> = st
            .conns
            .iter()
            .filter(|c| !c.is_draining())
            .cloned()
            .collect();
        self.ready.store(Arc::new(ready));
        self.room.notify_waiters();
    }

    /// Sets the connection state; reports what the policy should see.
    fn set_state(&self, st: &mut SubState, to: ConnectivityState) {
        if st.state == to || st.removed {
            return;
        }
        st.state = to;
        if to == ConnectivityState::Ready && st.health_service.is_some() {
            // A new connection: not used until its first answer (gRFC A17).
            st.health = Some(SubchannelHealth::Checking);
        }
        self.report(st);
        self.changed.notify_waiters();
    }

    /// Reports a change of what the policy should see (the connection
    /// state, narrowed by health when checked) to the channel and as an
    /// event.
    fn report(&self, st: &mut SubState) {
        let to = match (st.state, st.health) {
            (ConnectivityState::Ready, Some(health)) => health.connectivity(),
            (state, _) => state,
        };
        let from = st.reported;
        if from == to || st.removed {
            return;
        }
        st.reported = to;
        self.shared.events.push(ChannelEvent::SubchannelState {
            address: self.address.to_string(),
            from,
            to,
        });
        let error = (to == ConnectivityState::TransientFailure)
            .then(|| match st.health {
                Some(SubchannelHealth::NotServing(s)) if st.state == ConnectivityState::Ready => {
                    Some(Box::new(Status::unavailable(format!(
                        "health check of {}: {s:?}",
                        self.address
                    ))))
                }
                _ => st.last_error.clone().map(Box::new),
            })
            .flatten();
        let _ = self.shared.ctl.send(ControlMsg::SubchannelState {
            id: self.id,
            state: to,
            error,
        });
        self.room.notify_waiters();
    }

    /// Turns health checking of `service` on (before the first connect).
    pub(crate) fn enable_health(self: &Arc<Self>, service: String) {
        let mut st = self.lock();
        if st.health_service.is_some() || st.removed {
            return;
        }
        st.health_service = Some(service.clone());
        drop(st);
        tokio::spawn(health::run(self.clone(), service));
    }

    /// The health task's verdict; `announce`: as a `ChannelEvent` too.
    pub(crate) fn set_health(&self, health: SubchannelHealth, announce: bool) {
        let mut st = self.lock();
        if st.health == Some(health) || st.removed {
            return;
        }
        st.health = Some(health);
        if announce {
            self.shared.events.push(ChannelEvent::SubchannelHealth {
                address: self.address.to_string(),
                health,
            });
        }
        self.report(&mut st);
    }

    /// Whether a connection is READY.
    pub(crate) fn is_ready(&self) -> bool {
        self.lock().state == ConnectivityState::Ready
    }

    /// Resolves once no connection is READY (or the subchannel is removed).
    pub(crate) async fn wait_not_ready(&self) {
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            {
                let st = self.lock();
                if st.removed || st.state != ConnectivityState::Ready {
                    return;
                }
            }
            changed.await;
        }
    }

    /// Waits until a connection is READY (true) or the subchannel is
    /// removed (false).
    pub(crate) async fn wait_ready_for_health(&self) -> bool {
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            {
                let st = self.lock();
                if st.removed {
                    return false;
                }
                if st.state == ConnectivityState::Ready && !self.ready.load().is_empty() {
                    return true;
                }
            }
            changed.await;
        }
    }

    /// Resolves once the subchannel is removed.
    pub(crate) async fn removed_notified(&self) {
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            if self.lock().removed {
                return;
            }
            changed.await;
        }
    }

    /// Removed by the policy or the channel: no new calls or connections;
    /// calls in flight finish, then each connection closes (its driver
    /// ends once no call holds it).
    pub(crate) fn shutdown(&self) {
        let mut st = self.lock();
        st.removed = true;
        st.conns.clear();
        st.pending.clear();
        self.ready.store(Arc::new(Vec::new()));
        drop(st);
        self.room.notify_waiters();
        self.kick.notify_waiters();
        self.changed.notify_waiters();
    }

    /// Skips the current backoff: a subchannel waiting to retry retries now.
    pub(crate) fn reset_backoff(&self) {
        self.lock().backoff.reset();
        self.kick.notify_waiters();
    }

    /// Makes the subchannel READY on `conn` without a driver or a report
    /// to the channel (benchmarks and tests).
    pub(crate) fn install_ready(&self, conn: Arc<Conn>) {
        let mut st = self.lock();
        st.conns.push(conn);
        st.state = ConnectivityState::Ready;
        st.reported = ConnectivityState::Ready;
        self.publish(&st);
    }

    pub(crate) fn snapshot(&self) -> SubchannelSnapshot {
        let st = self.lock();
        SubchannelSnapshot {
            address: self.address.clone(),
            state: st.state,
            connections: st.conns.len(),
            streams_in_flight: st.conns.iter().map(|c| c.load()).sum(),
            last_error: st.last_error.clone(),
            rtt: st.rtt,
            health: st.health,
            latency_estimate: self.latency_estimate(),
            calls_waiting: self.score.waiting(),
            ejected: self.ejected.load(Ordering::Relaxed),
        }
    }

    /// A call on it ended: `failed` when UNAVAILABLE or DEADLINE_EXCEEDED
    /// (outlier detection's counts).
    pub(crate) fn count_call(&self, failed: bool) {
        if !self.counting.load(Ordering::Relaxed) {
            return;
        }
        let counter = if failed {
            &self.calls_failed
        } else {
            &self.calls_succeeded
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts its calls from now on (outlier detection's sweeps).
    pub(crate) fn count_calls(&self) {
        self.counting.store(true, Ordering::Relaxed);
    }

    /// The calls finished since the last time this was asked.
    pub(crate) fn take_call_counts(&self) -> crate::lb::CallCounts {
        crate::lb::CallCounts {
            succeeded: self.calls_succeeded.swap(0, Ordering::Relaxed),
            failed: self.calls_failed.swap(0, Ordering::Relaxed),
        }
    }

    /// Outlier detection ejected it, or let it back.
    pub(crate) fn set_ejected(&self, ejected: bool) {
        self.ejected.store(ejected, Ordering::Relaxed);
    }

    /// Its latency score (peak_ewma).
    pub(crate) fn score(&self) -> &crate::lb::Score {
        &self.score
    }

    /// The estimate now, under the decay of the last scored call.
    fn latency_estimate(&self) -> Option<Duration> {
        let decay = Duration::from_nanos(self.decay_ns.load(Ordering::Relaxed));
        self.score
            .estimate(self.shared.now_ns(), decay)
            .map(|ns| Duration::from_nanos(ns as u64))
    }

    /// A scored call picked at `start` got its first response (or ended):
    /// one latency sample; a peak (the estimate at least doubled, by 1 ms
    /// or more) is reported as a `ChannelEvent::LatencyPeak`.
    pub(crate) fn scored(&self, start: u64, decay: Duration) {
        let now = self.shared.now_ns();
        self.decay_ns.store(
            u64::try_from(decay.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        let (before, after) = self.score.finish(start, now, decay);
        let events = &self.shared.events;
        if let (true, Some(before)) = (events.enabled(), before) {
            if after >= 2.0 * before && after - before >= 1e6 {
                events.push(ChannelEvent::LatencyPeak {
                    address: self.address.to_string(),
                    before: Duration::from_nanos(before as u64),
                    estimate: Duration::from_nanos(after as u64),
                });
                events.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::BackoffConfig;
    use crate::channel::events::Events;
    use crate::driver::ConnHandle;
    use crate::transport::Security;
    use tokio::sync::mpsc;

    fn subchannel() -> Arc<Subchannel> {
        let (ctl, _) = mpsc::unbounded_channel();
        let shared = Arc::new(ChannelShared::new(
            Security::Plaintext,
            tether_h2::Config::default(),
            BackoffConfig::default(),
            1,
            Events::new(Vec::new()),
            ctl,
            None,
            1,
        ));
        let address = Address::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], 1)));
        Subchannel::new(SubchannelId(0), address, shared)
    }

    fn conn(id: u64, max: u32) -> (Arc<Conn>, mpsc::UnboundedReceiver<crate::driver::Command>) {
        let (handle, rx) = ConnHandle::detached(id);
        (Arc::new(Conn::new(handle, Some(max))), rx)
    }

    // A GOAWAY drained the only connection; the replacement is being
    // dialled (the subchannel stays READY): a call's pick answers Wait.
    // If the replacement is published after that pick but before the call
    // starts waiting, the wait must end at once, not at the call's
    // deadline (the lost wake-up behind a DEADLINE_EXCEEDED in
    // channel_lb_peers' max_connection_age test).
    #[tokio::test(start_paused = true)]
    async fn room_published_between_pick_and_wait_is_not_missed() {
        let sub = subchannel();
        let (old, _rx_old) = conn(1, 100);
        sub.install_ready(old.clone());
        {
            let mut st = sub.lock();
            old.set_draining();
            st.connecting = true;
            st.replacing = true;
            sub.publish(&st);
        }
        assert!(matches!(sub.pick(), Pick::Wait));
        // The replacement lands now, before the call waits.
        let (new, _rx_new) = conn(2, 100);
        {
            let mut st = sub.lock();
            st.connecting = false;
            st.conns.push(new);
            sub.publish(&st);
        }
        let t0 = tokio::time::Instant::now();
        sub.wait_for_room(t0 + Duration::from_secs(10)).await;
        assert_eq!(
            t0.elapsed(),
            Duration::ZERO,
            "the wait missed the published connection"
        );
        assert!(matches!(sub.pick(), Pick::Lease(_)));
        assert_eq!(sub.waiters.load(Ordering::SeqCst), 0);
    }

    // Every connection full, an extra one coming: a place freed between
    // the pick and the wait ends the wait at once.
    #[tokio::test(start_paused = true)]
    async fn place_freed_between_pick_and_wait_is_not_missed() {
        let sub = subchannel();
        let (c, _rx) = conn(1, 1);
        sub.install_ready(c);
        let lease = match sub.pick() {
            Pick::Lease(l) => l,
            _ => panic!("the first call gets the place"),
        };
        sub.lock().growing = 1;
        assert!(matches!(sub.pick(), Pick::Wait));
        drop(lease);
        let t0 = tokio::time::Instant::now();
        sub.wait_for_room(t0 + Duration::from_secs(10)).await;
        assert_eq!(
            t0.elapsed(),
            Duration::ZERO,
            "the wait missed the freed place"
        );
    }

    // With nothing coming, the wait lasts until woken or `until`, and a
    // wait given up early is counted off.
    #[tokio::test(start_paused = true)]
    async fn a_wait_with_nothing_coming_lasts_until_its_bound() {
        let sub = subchannel();
        let (c, _rx) = conn(1, 1);
        sub.install_ready(c);
        let _lease = match sub.pick() {
            Pick::Lease(l) => l,
            _ => panic!("the first call gets the place"),
        };
        sub.lock().growing = 1;
        let t0 = tokio::time::Instant::now();
        sub.wait_for_room(t0 + Duration::from_secs(3)).await;
        assert_eq!(t0.elapsed(), Duration::from_secs(3));
        let wait = sub.wait_for_room(t0 + Duration::from_secs(60));
        let _ = tokio::time::timeout(Duration::from_secs(1), wait).await;
        assert_eq!(
            sub.waiters.load(Ordering::SeqCst),
            0,
            "a dropped wait stays counted"
        );
    }
}
