//! Channel observability: what happened to the channel and its
//! connections, reported to the callbacks given to
//! [`super::ChannelBuilder::on_event`].

use crate::connectivity::ConnectivityState;
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Something that happened to a channel or one of its connections.
///
/// Its `Display` form is one line for logs:
/// `state IDLE -> CONNECTING`, `connected to 127.0.0.1:50051`,
/// `ping rtt 0.143 ms`, `GOAWAY ENHANCE_YOUR_CALM "too_many_pings"`...
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelEvent {
    /// The connectivity state changed.
    StateChanged {
        /// The state before.
        from: ConnectivityState,
        /// The state now.
        to: ConnectivityState,
    },
    /// A connection is established (the server's first SETTINGS arrived).
    Connected {
        /// The peer: `ip:port`, or `unix:/path`.
        addr: String,
    },
    /// A connection ended.
    ConnectionClosed {
        /// Why, as calls open on it were told (`"connection closed by the
        /// transport"`, `"... keepalive ping not acknowledged in time"`...).
        reason: String,
    },
    /// A PING (keepalive or bandwidth probe) was acknowledged after this
    /// round-trip time.
    PingRtt(Duration),
    /// The server sent GOAWAY: no new calls on that connection.
    GoAway {
        /// The HTTP/2 error code (`ErrorCode::NO_ERROR`,
        /// `ErrorCode::ENHANCE_YOUR_CALM`...; RFC 9113 §7), typed: it prints
        /// by name and compares against the constants.
        code: tether_h2::ErrorCode,
        /// The debug data, lossily decoded as UTF-8.
        debug: String,
    },
    /// A subchannel (one address) changed state.
    SubchannelState {
        /// Its address (`ip:port`, `unix:/path`).
        address: String,
        /// The state before.
        from: ConnectivityState,
        /// The state now.
        to: ConnectivityState,
    },
    /// A subchannel's health changed (client-side health checking, gRFC
    /// A17; see `ChannelBuilder::health_check`). `Disabled` comes once,
    /// when the server answered UNIMPLEMENTED (no health service: the
    /// subchannel is used as healthy).
    SubchannelHealth {
        /// Its address.
        address: String,
        /// The new health.
        health: crate::subchannel::SubchannelHealth,
    },
    /// The resolver reported addresses (first, or different from the last
    /// report).
    Resolved {
        /// The addresses, in the resolver's order.
        addresses: Vec<String>,
    },
    /// The resolver failed (the last good addresses are kept), or its
    /// service config was invalid and ignored.
    ResolutionFailed {
        /// Why.
        error: String,
    },
    /// The server said `too_many_pings`: the keepalive time of new
    /// connections was doubled to `time` (gRFC A8).
    KeepaliveDoubled {
        /// The new keepalive time.
        time: Duration,
    },
    /// Under peak_ewma: a response at least twice as slow as a
    /// subchannel's estimate (and 1 ms or more slower) raised it at once;
    /// calls now go elsewhere until it decays or faster responses pull it
    /// down.
    LatencyPeak {
        /// The subchannel's address.
        address: String,
        /// The estimate before.
        before: Duration,
        /// The estimate now.
        estimate: Duration,
    },
    /// Outlier detection (gRFC A50) ejected a subchannel from the pickers
    /// (`ejected: true`), or its ejection time is over.
    SubchannelEjected {
        /// Its address.
        address: String,
        /// Ejected now, or back.
        ejected: bool,
    },
    /// A call's attempt failed with a retryable status and the call will
    /// try again after `delay` (gRFC A6 `retryPolicy`).
    Retry {
        /// The call's method (`/pkg.Svc/Method`).
        method: String,
        /// The number of the attempt about to start (2 for the first retry).
        attempt: u32,
        /// The failed attempt's status code.
        code: crate::Code,
        /// The wait before it: the randomized backoff, or the server's
        /// `grpc-retry-pushback-ms`.
        delay: Duration,
        /// The delay came from the server's pushback.
        pushback: bool,
    },
    /// A hedged attempt is sent (gRFC A6 `hedgingPolicy`).
    Hedge {
        /// The call's method.
        method: String,
        /// The number of the attempt (2 for the first hedge).
        attempt: u32,
    },
    /// An attempt the server never processed (GOAWAY, REFUSED_STREAM), or
    /// that never left the client, is sent again at once (gRFC A6
    /// transparent retry; it counts neither against `maxAttempts` nor
    /// against the throttle).
    TransparentRetry {
        /// The call's method.
        method: String,
        /// The attempt reached the server (refused) rather than never
        /// being sent.
        reached_server: bool,
    },
    /// A call that has a retry or hedging policy will make no further
    /// attempt although it could have: throttled, pushback, `maxAttempts`,
    /// the deadline, or its request outgrew the retry buffer.
    RetryStopped {
        /// The call's method.
        method: String,
        /// Attempts made so far.
        attempts: u32,
        /// The status code of the failure that was not retried (`None`
        /// when no failure triggered it: a buffer overflow, a throttled
        /// hedge).
        code: Option<crate::Code>,
        /// Why.
        reason: crate::RetryStop,
    },
}

impl fmt::Display for ChannelEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelEvent::StateChanged { from, to } => write!(f, "state {from} -> {to}"),
            ChannelEvent::Connected { addr } => write!(f, "connected to {addr}"),
            ChannelEvent::ConnectionClosed { reason } => write!(f, "{reason}"),
            ChannelEvent::PingRtt(rtt) => {
                write!(f, "ping rtt {:.3} ms", rtt.as_secs_f64() * 1e3)
            }
            ChannelEvent::GoAway { code, debug } => {
                if debug.is_empty() {
                    write!(f, "GOAWAY {code}")
                } else {
                    write!(f, "GOAWAY {code} {debug:?}")
                }
            }
            ChannelEvent::SubchannelState { address, from, to } => {
                write!(f, "subchannel {address} {from} -> {to}")
            }
            ChannelEvent::SubchannelHealth { address, health } => match health {
                crate::subchannel::SubchannelHealth::Disabled => write!(
                    f,
                    "subchannel {address}: health check UNIMPLEMENTED by the server; used as healthy"
                ),
                _ => write!(f, "subchannel {address} health {health}"),
            },
            ChannelEvent::Resolved { addresses } => {
                write!(f, "resolved {} address", addresses.len())?;
                if addresses.len() != 1 {
                    write!(f, "es")?;
                }
                if !addresses.is_empty() {
                    write!(f, ": {}", addresses.join(", "))?;
                }
                Ok(())
            }
            ChannelEvent::ResolutionFailed { error } => write!(f, "resolution failed: {error}"),
            ChannelEvent::KeepaliveDoubled { time } => {
                write!(f, "keepalive time doubled to {time:?} (too_many_pings)")
            }
            ChannelEvent::LatencyPeak {
                address,
                before,
                estimate,
            } => {
                let (b, e) = (before.as_secs_f64() * 1e3, estimate.as_secs_f64() * 1e3);
                write!(f, "{address}: latency estimate {b:.1} ms -> {e:.1} ms")
            }
            ChannelEvent::SubchannelEjected { address, ejected } => {
                if *ejected {
                    write!(f, "{address}: ejected (outlier detection)")
                } else {
                    write!(f, "{address}: back from ejection")
                }
            }
            ChannelEvent::Retry {
                method,
                attempt,
                code,
                delay,
                pushback,
            } => {
                let ms = delay.as_secs_f64() * 1e3;
                let why = if *pushback { " (server pushback)" } else { "" };
                write!(f, "{method}: {code}, attempt {attempt} in {ms:.1} ms{why}")
            }
            ChannelEvent::Hedge { method, attempt } => {
                write!(f, "{method}: hedged attempt {attempt}")
            }
            ChannelEvent::TransparentRetry {
                method,
                reached_server,
            } => {
                let why = if *reached_server {
                    "not processed by the server"
                } else {
                    "never sent"
                };
                write!(f, "{method}: transparent retry ({why})")
            }
            ChannelEvent::RetryStopped {
                method,
                attempts,
                code,
                reason,
            } => {
                write!(f, "{method}: no further attempt after {attempts}")?;
                if let Some(code) = code {
                    write!(f, " ({code})")?;
                }
                write!(f, ": {}", reason.as_str())
            }
        }
    }
}

/// A callback given to [`super::ChannelBuilder::on_event`].
pub(crate) type Hook = Arc<dyn Fn(&ChannelEvent) + Send + Sync>;

/// The channel's callbacks and the events waiting for them.
///
/// Events are queued where they happen (often under the channel's lock,
/// which keeps them in order) and delivered by [`Events::flush`] once that
/// lock is released, so a callback may call back into the channel. One
/// thread delivers at a time; a flush that finds another under way leaves
/// the queue to it.
#[derive(Default)]
pub(crate) struct Events {
    hooks: Vec<Hook>,
    queue: Mutex<VecDeque<ChannelEvent>>,
    delivering: Mutex<()>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("hooks", &self.hooks.len())
            .finish()
    }
}

impl Events {
    pub(crate) fn new(hooks: Vec<Hook>) -> Events {
        Events {
            hooks,
            ..Events::default()
        }
    }

    /// Whether anybody listens (building an event can then be skipped).
    pub(crate) fn enabled(&self) -> bool {
        !self.hooks.is_empty()
    }

    /// Queues `event`; call [`Events::flush`] after releasing locks.
    pub(crate) fn push(&self, event: ChannelEvent) {
        if self.enabled() {
            lock(&self.queue).push_back(event);
        }
    }

    /// Delivers the queued events, in order.
    pub(crate) fn flush(&self) {
        if !self.enabled() {
            return;
        }
        loop {
            let Ok(guard) = self.delivering.try_lock() else {
                // Another thread (or this one, from inside a callback) is
                // delivering and will see what we queued.
                return;
            };
            loop {
                let next = lock(&self.queue).pop_front();
                let Some(event) = next else { break };
                for hook in &self.hooks {
                    hook(&event);
                }
            }
            drop(guard);
            // An event queued between our last look and the unlock.
            if lock(&self.queue).is_empty() {
                return;
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder() -> (Arc<Mutex<Vec<String>>>, Hook) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        (
            seen,
            Arc::new(move |e: &ChannelEvent| s.lock().unwrap().push(e.to_string())),
        )
    }

    #[test]
    fn events_are_delivered_in_order_on_flush() {
        let (seen, hook) = recorder();
        let events = Events::new(vec![hook]);
        events.push(ChannelEvent::StateChanged {
            from: ConnectivityState::Idle,
            to: ConnectivityState::Connecting,
        });
        events.push(ChannelEvent::PingRtt(Duration::from_micros(1500)));
        assert!(seen.lock().unwrap().is_empty());
        events.flush();
        assert_eq!(
            *seen.lock().unwrap(),
            ["state IDLE -> CONNECTING", "ping rtt 1.500 ms"]
        );
    }

    #[test]
    fn a_callback_may_queue_more_events() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let events: Arc<Mutex<Option<Arc<Events>>>> = Arc::new(Mutex::new(None));
        let (s, e) = (seen.clone(), events.clone());
        let hook: Hook = Arc::new(move |ev: &ChannelEvent| {
            s.lock().unwrap().push(ev.to_string());
            if let ChannelEvent::GoAway { .. } = ev {
                let events = e.lock().unwrap().clone().unwrap();
                events.push(ChannelEvent::KeepaliveDoubled {
                    time: Duration::from_secs(2),
                });
                events.flush(); // re-entrant: left to the outer flush
            }
        });
        let ev = Arc::new(Events::new(vec![hook]));
        *events.lock().unwrap() = Some(ev.clone());
        ev.push(ChannelEvent::GoAway {
            code: tether_h2::ErrorCode::ENHANCE_YOUR_CALM,
            debug: "too_many_pings".into(),
        });
        ev.flush();
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "GOAWAY ENHANCE_YOUR_CALM \"too_many_pings\"",
                "keepalive time doubled to 2s (too_many_pings)"
            ]
        );
        *events.lock().unwrap() = None;
    }

    #[test]
    fn without_callbacks_nothing_is_queued() {
        let events = Events::new(Vec::new());
        events.push(ChannelEvent::PingRtt(Duration::ZERO));
        assert!(lock(&events.queue).is_empty());
        events.flush();
    }
}
