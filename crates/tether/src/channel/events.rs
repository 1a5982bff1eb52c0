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
        /// The HTTP/2 error code (0 is NO_ERROR, 11 ENHANCE_YOUR_CALM).
        code: u32,
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
                let code = tether_h2::ErrorCode(*code);
                if debug.is_empty() {
                    write!(f, "GOAWAY {code}")
                } else {
                    write!(f, "GOAWAY {code} {debug:?}")
                }
            }
            ChannelEvent::SubchannelState { address, from, to } => {
                write!(f, "subchannel {address} {from} -> {to}")
            }
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
            code: 11,
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
