//! The connection's deadlines: one enum of timers, one table of `Option<Instant>`.
//!
//! [`super::Connection::poll_timeout`] is the minimum of the table and
//! [`super::Connection::handle_timeout`] fires every entry that is due.

use std::time::{Duration, Instant};

/// Every deadline a connection can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Our oldest unacknowledged SETTINGS must be acknowledged by then (§6.5.3).
    SettingsAck = 0,
    /// Send a keepalive PING when nothing was read until then (gRFC A8).
    KeepaliveIdle = 1,
    /// The keepalive PING must be answered (by any read) by then (gRFC A8).
    KeepaliveTimeout = 2,
    /// The oldest locally reset stream leaves the grace table then.
    ResetGrace = 3,
}

impl Timer {
    /// Every timer, in the order they fire when due at the same instant.
    pub(crate) const ALL: [Timer; 4] = [
        Timer::SettingsAck,
        Timer::KeepaliveTimeout,
        Timer::KeepaliveIdle,
        Timer::ResetGrace,
    ];
}

/// The table of deadlines.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    data: [Option<Instant>; 4],
}

impl TimerTable {
    /// Arms `timer` at `at` (replacing any earlier deadline).
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.data[timer as usize] = Some(at);
    }

    /// Arms `timer` at `now + after`; a deadline past what `Instant` can
    /// hold means "never" (the timer is disarmed).
    pub(crate) fn set_after(&mut self, timer: Timer, now: Instant, after: Duration) {
        self.data[timer as usize] = now.checked_add(after);
    }

    /// Disarms `timer`.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.data[timer as usize] = None;
    }

    /// The deadline of `timer`, if armed.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.data[timer as usize]
    }

    /// Whether `timer` is armed.
    pub(crate) fn is_set(&self, timer: Timer) -> bool {
        self.data[timer as usize].is_some()
    }

    /// The earliest armed deadline.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.data.iter().flatten().min().copied()
    }

    /// Disarms and returns the first timer due at `now`, in [`Timer::ALL`] order.
    pub(crate) fn expire_one(&mut self, now: Instant) -> Option<Timer> {
        for timer in Timer::ALL {
            if matches!(self.get(timer), Some(at) if at <= now) {
                self.stop(timer);
                return Some(timer);
            }
        }
        None
    }

    /// Disarms every timer.
    pub(crate) fn clear(&mut self) {
        self.data = [None; 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_timeout_is_the_minimum() {
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.set(Timer::KeepaliveIdle, t0 + Duration::from_secs(5));
        t.set(Timer::SettingsAck, t0 + Duration::from_secs(10));
        assert_eq!(t.next_timeout(), Some(t0 + Duration::from_secs(5)));
        t.stop(Timer::KeepaliveIdle);
        assert_eq!(t.next_timeout(), Some(t0 + Duration::from_secs(10)));
        assert!(t.is_set(Timer::SettingsAck));
        assert!(!t.is_set(Timer::KeepaliveIdle));
    }

    #[test]
    fn expire_fires_only_due_timers_and_disarms_them() {
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        t.set(Timer::ResetGrace, t0 + Duration::from_secs(1));
        t.set(Timer::KeepaliveTimeout, t0 + Duration::from_secs(1));
        t.set(Timer::SettingsAck, t0 + Duration::from_secs(3));
        assert_eq!(t.expire_one(t0), None);
        let now = t0 + Duration::from_secs(2);
        assert_eq!(t.expire_one(now), Some(Timer::KeepaliveTimeout));
        assert_eq!(t.expire_one(now), Some(Timer::ResetGrace));
        assert_eq!(t.expire_one(now), None);
        assert_eq!(t.get(Timer::SettingsAck), Some(t0 + Duration::from_secs(3)));
        t.clear();
        assert_eq!(t.next_timeout(), None);
        t.set_after(Timer::KeepaliveIdle, t0, Duration::MAX);
        assert_eq!(t.next_timeout(), None);
        t.set_after(Timer::KeepaliveIdle, t0, Duration::from_secs(1));
        assert_eq!(t.next_timeout(), Some(t0 + Duration::from_secs(1)));
    }
}
