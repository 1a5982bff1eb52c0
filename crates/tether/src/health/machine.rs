//! The health-check stream of one subchannel, as a pure state machine
//! (gRFC A17, "Client Behavior" and "Client Workflow").
//!
//! [`HealthMachine`] reads no clock and does no I/O: its owner (the
//! subchannel) tells it what happened, with the time, and gets back an
//! [`Update`]: the health the load-balancing policy should see and what to
//! do next. The owner runs the `grpc.health.v1.Health/Watch` call on the
//! subchannel's connection itself.
//!
//! Choices, each from A17 unless said otherwise:
//!
//! - A new connection starts the `Watch()` call at once ("When a subchannel
//!   first establishes a connection ... the client will immediately start
//!   the `Watch()` call"); its health is [`HealthState::Pending`] until the
//!   first response ("The subchannel will stay in state CONNECTING until it
//!   receives the first health-check response", and "Race Conditions and
//!   Subchannel Startup").
//! - A response `SERVING` is [`HealthState::Serving`] (READY); any other
//!   status (`NOT_SERVING`, `SERVICE_UNKNOWN`, `UNKNOWN`, a number we do not
//!   know) is [`HealthState::NotServing`] (TRANSIENT_FAILURE).
//! - The call ending with `UNIMPLEMENTED` disables health checking: the
//!   subchannel is healthy ([`HealthState::Disabled`]), the call is not
//!   retried ([`Next::Stop`]) and the machine says so once
//!   ([`Update::just_disabled`], for A17's channel trace event: tether
//!   reports it as a channel event).
//! - The call ending with any other status, OK included, is
//!   TRANSIENT_FAILURE ([`HealthState::NotServing`]`(`[`ServingStatus::Unknown`]`)`)
//!   until the retry starts; the retry is [`HealthState::Pending`] again
//!   ("When the next attempt starts, the subchannel will transition to state
//!   `CONNECTING`"). Retries follow the channel's connection backoff
//!   ([`Backoff`], `doc/connection-backoff.md`), measured from the start of
//!   the failed attempt; a response message resets it, "so the next attempt
//!   will occur immediately, but any subsequent attempt will be subject to
//!   exponential backoff".
//! - Losing the connection ends the call (A17: "the client will cancel the
//!   `Watch()` call" when the subchannel shuts down or gets a GOAWAY; the
//!   owner drops it): the health is [`HealthState::Pending`] again (nothing
//!   is known of the next connection) and nothing is scheduled until a
//!   connection is back. Not in A17 but what grpc-go and C-core do, each
//!   new connection starts health checking afresh with a fresh backoff,
//!   even after an `UNIMPLEMENTED` (the server behind the address may have
//!   changed); the "disabled" notice is still given only once per machine,
//!   so a flapping connection does not flood the events.

use super::ServingStatus;
use crate::backoff::{Backoff, BackoffConfig};
use crate::status::{Code, Status};
use std::time::Instant;

/// The health of one subchannel as the load-balancing policy should see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HealthState {
    /// Health checking started (or will, once connected), no answer yet:
    /// not usable yet (A17: CONNECTING).
    Pending,
    /// The server answered `SERVING`: usable (A17: READY).
    Serving,
    /// The server answered anything else (`NOT_SERVING`, `SERVICE_UNKNOWN`,
    /// `UNKNOWN`), or the call failed and waits for its retry
    /// (`NotServing(Unknown)`): unusable (A17: TRANSIENT_FAILURE).
    NotServing(ServingStatus),
    /// The server does not implement the health service (`UNIMPLEMENTED`):
    /// health checking is off for this connection, treat as healthy.
    Disabled,
}

impl HealthState {
    /// Whether the policy may pick the subchannel (when it is connected).
    #[cfg(test)]
    pub(crate) fn is_usable(self) -> bool {
        matches!(self, HealthState::Serving | HealthState::Disabled)
    }
}

/// What the owner of a [`HealthMachine`] should do next about the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Start a `Watch()` call at this time (now or later: the backoff), then
    /// report it with [`HealthMachine::stream_opened`].
    OpenAt(Instant),
    /// Nothing to schedule: a call is open, or there is no connection.
    Wait,
    /// Health checking is disabled on this connection: start no call until
    /// a new connection ([`HealthMachine::connected`]).
    Stop,
}

/// The outcome of one input of a [`HealthMachine`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Update {
    /// The health now.
    pub(crate) health: HealthState,
    /// Whether `health` differs from the health before this input (the
    /// policy needs a new picker only then).
    pub(crate) changed: bool,
    /// What to do next.
    pub(crate) next: Next,
    /// `true` once in the machine's life: on the input where the server's
    /// `UNIMPLEMENTED` first disabled health checking (A17: record one
    /// trace event).
    pub(crate) just_disabled: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No connection.
    Disconnected,
    /// Connected, no call: the next one starts at `at`.
    Waiting { at: Instant },
    /// A call is open since `started`; `answered` once it got a message.
    Open { started: Instant, answered: bool },
    /// `UNIMPLEMENTED` on this connection.
    Disabled,
}

/// The health-check (`Watch()`) call of one subchannel: see the module docs.
#[derive(Clone, Debug)]
pub(crate) struct HealthMachine {
    phase: Phase,
    health: HealthState,
    backoff: Backoff,
    /// The "disabled" notice was given.
    told_disabled: bool,
}

impl HealthMachine {
    /// A machine for a subchannel that is not connected yet; `config` is the
    /// channel's backoff, `seed` drives its jitter.
    pub(crate) fn new(config: BackoffConfig, seed: u64) -> HealthMachine {
        HealthMachine {
            phase: Phase::Disconnected,
            health: HealthState::Pending,
            backoff: Backoff::new(config, seed),
            told_disabled: false,
        }
    }

    /// The health now.
    #[cfg(test)]
    pub(crate) fn health(&self) -> HealthState {
        self.health
    }

    /// What to do next (as the last [`Update`] said).
    pub(crate) fn next(&self) -> Next {
        match self.phase {
            Phase::Disconnected | Phase::Open { .. } => Next::Wait,
            Phase::Waiting { at } => Next::OpenAt(at),
            Phase::Disabled => Next::Stop,
        }
    }

    /// The subchannel's connection is up (first time, or again after a
    /// loss): start the call now (A17 "Client Workflow"), health
    /// [`HealthState::Pending`] until its first answer; the backoff starts
    /// afresh. On a connection that already has a call, this restarts it.
    pub(crate) fn connected(&mut self, now: Instant) -> Update {
        self.backoff.reset();
        self.phase = Phase::Waiting { at: now };
        self.update(HealthState::Pending, false)
    }

    /// The subchannel's connection is gone: the call (if any) is dropped
    /// with it, health [`HealthState::Pending`], nothing scheduled
    /// ([`Next::Wait`]) until [`HealthMachine::connected`].
    pub(crate) fn disconnected(&mut self, _now: Instant) -> Update {
        self.phase = Phase::Disconnected;
        self.update(HealthState::Pending, false)
    }

    /// The owner started the call the last [`Next::OpenAt`] asked for.
    /// Health [`HealthState::Pending`] (A17: "When the next attempt starts,
    /// the subchannel will transition to state `CONNECTING`"). Ignored
    /// without a connection or when disabled.
    pub(crate) fn stream_opened(&mut self, now: Instant) -> Update {
        match self.phase {
            Phase::Disconnected | Phase::Disabled => self.unchanged(),
            Phase::Waiting { .. } | Phase::Open { .. } => {
                self.phase = Phase::Open {
                    started: now,
                    answered: false,
                };
                self.update(HealthState::Pending, false)
            }
        }
    }

    /// A response message with `status` arrived on the open call: the
    /// health follows it, and the backoff is reset (A17). Ignored when no
    /// call is open.
    pub(crate) fn message(&mut self, _now: Instant, status: ServingStatus) -> Update {
        let Phase::Open { started, .. } = self.phase else {
            return self.unchanged();
        };
        self.phase = Phase::Open {
            started,
            answered: true,
        };
        self.backoff.reset();
        let health = match status {
            ServingStatus::Serving => HealthState::Serving,
            other => HealthState::NotServing(other),
        };
        self.update(health, false)
    }

    /// The open call ended with `status` (from the server, or a local
    /// failure such as the stream being reset). `UNIMPLEMENTED`: disabled,
    /// healthy, [`Next::Stop`]. Anything else (OK included: a `Watch()`
    /// should never end): unusable until the retry, which is now if the
    /// call got a message, else one backoff delay after the call started.
    /// Ignored when no call is open.
    pub(crate) fn stream_ended(&mut self, now: Instant, status: &Status) -> Update {
        let Phase::Open { started, answered } = self.phase else {
            return self.unchanged();
        };
        if status.code() == Code::Unimplemented {
            self.phase = Phase::Disabled;
            let first = !self.told_disabled;
            self.told_disabled = true;
            return self.update(HealthState::Disabled, first);
        }
        let at = if answered {
            // The backoff was reset by the message: retry at once; the
            // next failure waits INITIAL_BACKOFF.
            now
        } else {
            let delay = self.backoff.next_delay();
            started.checked_add(delay).unwrap_or(now).max(now)
        };
        self.phase = Phase::Waiting { at };
        self.update(HealthState::NotServing(ServingStatus::Unknown), false)
    }

    fn update(&mut self, health: HealthState, just_disabled: bool) -> Update {
        let changed = health != self.health;
        self.health = health;
        Update {
            health,
            changed,
            next: self.next(),
            just_disabled,
        }
    }

    fn unchanged(&self) -> Update {
        Update {
            health: self.health,
            changed: false,
            next: self.next(),
            just_disabled: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// A connected machine with the default (jittered) backoff, and the
    /// time it connected.
    fn connected(seed: u64) -> (HealthMachine, Instant) {
        let t0 = Instant::now();
        let mut m = HealthMachine::new(BackoffConfig::default(), seed);
        assert_eq!(m.health(), HealthState::Pending);
        assert_eq!(m.next(), Next::Wait, "nothing before a connection");
        let u = m.connected(t0);
        assert_eq!(u.next, Next::OpenAt(t0), "A17: the call starts at once");
        assert_eq!(u.health, HealthState::Pending);
        (m, t0)
    }

    fn open_at(u: Update) -> Instant {
        match u.next {
            Next::OpenAt(t) => t,
            other => panic!("expected OpenAt, got {other:?}"),
        }
    }

    fn unavailable() -> Status {
        Status::unavailable("connection reset")
    }

    #[test]
    fn backoff_grows_within_jitter_and_caps_over_many_failures() {
        for seed in 0..20 {
            let (mut m, mut now) = connected(seed);
            let mut base = 1.0f64;
            for attempt in 0..40 {
                m.stream_opened(now);
                // The call fails a little after it started.
                let end = now + Duration::from_millis(50);
                let u = m.stream_ended(end, &unavailable());
                assert_eq!(u.health, HealthState::NotServing(ServingStatus::Unknown));
                let at = open_at(u);
                let delay = (at - now).as_secs_f64();
                if attempt == 0 {
                    assert_eq!(at - now, secs(1.0), "first retry: INITIAL_BACKOFF");
                } else {
                    base = (base * 1.6).min(120.0);
                    assert!(
                        delay >= base * 0.8 - 1e-6 && delay <= base * 1.2 + 1e-6,
                        "seed {seed} attempt {attempt}: {delay} s vs {base} s"
                    );
                }
                assert!(delay <= 144.0 + 1e-6, "capped at MAX_BACKOFF + 20 %");
                now = at;
            }
            assert_eq!(base, 120.0, "the cap was reached");
        }
    }

    #[test]
    fn retry_is_never_in_the_past() {
        let (mut m, t0) = connected(1);
        m.stream_opened(t0);
        // The call took longer than the backoff delay.
        let late = t0 + secs(30.0);
        assert_eq!(open_at(m.stream_ended(late, &unavailable())), late);
    }

    #[test]
    fn a_message_resets_the_backoff_and_the_retry_is_immediate() {
        let (mut m, mut now) = connected(7);
        // Grow the backoff: 6 failures without answers.
        for _ in 0..6 {
            m.stream_opened(now);
            now = open_at(m.stream_ended(now, &unavailable()));
        }
        m.stream_opened(now);
        let u = m.message(now, ServingStatus::Serving);
        assert_eq!(u.health, HealthState::Serving);
        assert!(u.changed);
        assert_eq!(u.next, Next::Wait);
        let end = now + secs(100.0);
        assert_eq!(
            open_at(m.stream_ended(end, &Status::ok())),
            end,
            "A17: after a message the next attempt occurs immediately"
        );
        // ... "but any subsequent attempt will be subject to exponential
        // backoff": INITIAL_BACKOFF, not the grown delay.
        m.stream_opened(end);
        assert_eq!(
            open_at(m.stream_ended(end, &unavailable())),
            end + secs(1.0)
        );
    }

    #[test]
    fn unimplemented_disables_once_and_is_healthy() {
        let (mut m, t0) = connected(3);
        m.stream_opened(t0);
        let u = m.stream_ended(t0, &Status::unimplemented("no health service"));
        assert_eq!(u.health, HealthState::Disabled);
        assert!(u.health.is_usable());
        assert!(u.changed);
        assert!(u.just_disabled);
        assert_eq!(u.next, Next::Stop);
        // Nothing more happens on this connection, and no second notice.
        let again = m.stream_ended(t0, &Status::unimplemented("again"));
        assert!(!again.just_disabled);
        assert!(!again.changed);
        assert_eq!(again.next, Next::Stop);
        assert_eq!(m.stream_opened(t0).next, Next::Stop);
        assert_eq!(
            m.message(t0, ServingStatus::NotServing).health,
            HealthState::Disabled
        );
        // A new connection checks again (the server may have changed); a
        // second UNIMPLEMENTED disables again without a second notice.
        let t1 = t0 + secs(5.0);
        m.disconnected(t1);
        let u = m.connected(t1);
        assert_eq!(u.health, HealthState::Pending);
        assert_eq!(u.next, Next::OpenAt(t1));
        m.stream_opened(t1);
        let u = m.stream_ended(t1, &Status::unimplemented("still none"));
        assert_eq!(u.health, HealthState::Disabled);
        assert_eq!(u.next, Next::Stop);
        assert!(!u.just_disabled, "the notice is given once");
    }

    #[test]
    fn not_serving_then_serving_then_stream_end_then_retry() {
        let (mut m, t0) = connected(5);
        let u = m.stream_opened(t0);
        assert_eq!(u.health, HealthState::Pending);
        assert!(
            !u.health.is_usable(),
            "A17: not READY before the first answer"
        );
        assert_eq!(u.next, Next::Wait);

        let u = m.message(t0, ServingStatus::NotServing);
        assert_eq!(u.health, HealthState::NotServing(ServingStatus::NotServing));
        assert!(u.changed && !u.health.is_usable());

        let t1 = t0 + secs(2.0);
        let u = m.message(t1, ServingStatus::Serving);
        assert_eq!(u.health, HealthState::Serving);
        assert!(u.changed && u.health.is_usable());
        let u = m.message(t1, ServingStatus::Serving);
        assert!(!u.changed, "a repeated status is no change");

        // The server ends the call: TRANSIENT_FAILURE, retried at once
        // (a message came on this call).
        let t2 = t1 + secs(3.0);
        let u = m.stream_ended(t2, &unavailable());
        assert_eq!(u.health, HealthState::NotServing(ServingStatus::Unknown));
        assert!(u.changed && !u.health.is_usable());
        assert_eq!(u.next, Next::OpenAt(t2));
        assert!(!u.just_disabled);

        // The retry is CONNECTING (Pending), then its answer counts.
        let u = m.stream_opened(t2);
        assert_eq!(u.health, HealthState::Pending);
        assert!(u.changed);
        assert_eq!(
            m.message(t2, ServingStatus::Serving).health,
            HealthState::Serving
        );
    }

    #[test]
    fn service_unknown_and_unknown_are_unusable() {
        for status in [ServingStatus::ServiceUnknown, ServingStatus::Unknown] {
            let (mut m, t0) = connected(9);
            m.stream_opened(t0);
            let u = m.message(t0, status);
            assert_eq!(u.health, HealthState::NotServing(status));
            assert!(!u.health.is_usable(), "{status:?}");
            assert_eq!(u.next, Next::Wait, "the call stays open");
        }
        // And from the wire: numbers we do not know are UNKNOWN.
        assert_eq!(ServingStatus::from(3), ServingStatus::ServiceUnknown);
        assert_eq!(ServingStatus::from(42), ServingStatus::Unknown);
        assert_eq!(ServingStatus::from(-1), ServingStatus::Unknown);
    }

    #[test]
    fn losing_the_connection_waits_for_the_next_one() {
        let (mut m, t0) = connected(11);
        m.stream_opened(t0);
        m.message(t0, ServingStatus::Serving);
        // Grow nothing, lose the connection.
        let t1 = t0 + secs(1.0);
        let u = m.disconnected(t1);
        assert_eq!(u.health, HealthState::Pending);
        assert!(u.changed);
        assert_eq!(u.next, Next::Wait);
        // Inputs about the dropped call are ignored.
        assert_eq!(m.stream_ended(t1, &unavailable()).next, Next::Wait);
        assert_eq!(
            m.message(t1, ServingStatus::Serving).health,
            HealthState::Pending
        );
        assert_eq!(m.stream_opened(t1).next, Next::Wait);
        // Back: the call starts at once, with a fresh backoff.
        let t2 = t1 + secs(4.0);
        assert_eq!(m.connected(t2).next, Next::OpenAt(t2));
        m.stream_opened(t2);
        assert_eq!(open_at(m.stream_ended(t2, &unavailable())), t2 + secs(1.0));
    }
}
