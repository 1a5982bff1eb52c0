//! When the DNS resolver resolves: the configuration ([`DnsConfig`],
//! [`DnsRefresh`]) and a pure scheduler fed events and `now` ([`Schedule`]).
//!
//! The rules, in one place:
//!
//! - the first resolution is due as soon as the resolver starts;
//! - after a success, the next one is due when the answer expires
//!   ([`DnsRefresh::Ttl`]: the smallest record TTL clamped to `[min, max]`),
//!   at a fixed period ([`DnsRefresh::Every`]) or only on request
//!   ([`DnsRefresh::Never`]);
//! - after a failure, the next attempt starts after the connection backoff
//!   of `doc/connection-backoff.md` (1 s, ×1.6, ±20 %, at most 120 s),
//!   counted from the start of the failed attempt; a success resets it;
//! - a re-resolution request (`resolve_now`) makes a resolution due at once,
//!   but never sooner than [`DnsConfig::min_resolution_interval`] after the
//!   previous one started; requests during a resolution coalesce into one
//!   after it; requests during an error backoff wait for the backoff (the
//!   retry is already scheduled, and a failing server gets no more load);
//! - a TTL or periodic refresh also honours the minimum interval; the error
//!   backoff alone governs retries after a failure (as in gRPC C-core).

use crate::backoff::{Backoff, BackoffConfig};
use std::time::{Duration, Instant};

/// When a DNS resolver refreshes a successful answer on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DnsRefresh {
    /// When the answer expires: the smallest TTL of its address records,
    /// clamped to `[min, max]` (`max` when the answer has no TTL).
    Ttl {
        /// The shortest refresh period.
        min: Duration,
        /// The longest refresh period.
        max: Duration,
    },
    /// At a fixed period, whatever the TTL.
    Every(Duration),
    /// Never on its own: only when the channel asks (a connection failed,
    /// a server sent GOAWAY), as grpc-go does.
    Never,
}

impl Default for DnsRefresh {
    /// `Ttl { min: 30 s, max: 300 s }`.
    fn default() -> Self {
        DnsRefresh::Ttl {
            min: Duration::from_secs(30),
            max: Duration::from_secs(300),
        }
    }
}

/// The configuration of the `dns:` resolver. Build it from
/// [`DnsConfig::default`] and the `with_*` methods.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DnsConfig {
    /// No resolution starts sooner than this after the previous one started
    /// (except retries after a failure, which follow `backoff`). Default
    /// 30 s, as in grpc-go and C-core; zero disables the limit.
    pub min_resolution_interval: Duration,
    /// When a successful answer is refreshed. Default
    /// `Ttl { min: 30 s, max: 300 s }`.
    pub refresh: DnsRefresh,
    /// Look up the service config in the TXT record `_grpc_config.<host>`
    /// (gRFC A2). Default false, as in grpc-go.
    pub txt_service_config: bool,
    /// How long one DNS query may take before it is retried (the resolver
    /// tries twice). Default 5 s (the `resolv.conf` default).
    pub query_timeout: Duration,
    /// The backoff between failed resolutions. Default
    /// `doc/connection-backoff.md`'s: 1 s, ×1.6, ±20 %, at most 120 s.
    pub backoff: BackoffConfig,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            min_resolution_interval: Duration::from_secs(30),
            refresh: DnsRefresh::default(),
            txt_service_config: false,
            query_timeout: Duration::from_secs(5),
            backoff: BackoffConfig::default(),
        }
    }
}

impl DnsConfig {
    /// Sets [`DnsConfig::min_resolution_interval`].
    pub fn with_min_resolution_interval(mut self, interval: Duration) -> Self {
        self.min_resolution_interval = interval;
        self
    }

    /// Sets [`DnsConfig::refresh`].
    pub fn with_refresh(mut self, refresh: DnsRefresh) -> Self {
        self.refresh = refresh;
        self
    }

    /// Sets [`DnsConfig::txt_service_config`].
    pub fn with_txt_service_config(mut self, enabled: bool) -> Self {
        self.txt_service_config = enabled;
        self
    }

    /// Sets [`DnsConfig::query_timeout`].
    pub fn with_query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = timeout;
        self
    }

    /// Sets [`DnsConfig::backoff`].
    pub fn with_backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }
}

/// The re-resolution timer of one DNS resolver: pure (no clock, no
/// runtime), fed events with `now`; [`Schedule::next`] says when the next
/// resolution is due.
///
/// A driver loops: wait until `next()` (or a request, which it passes to
/// [`Schedule::request`]); when due, call [`Schedule::resolving`], resolve,
/// then [`Schedule::succeeded`] or [`Schedule::failed`].
#[derive(Debug)]
pub(crate) struct Schedule {
    min_interval: Duration,
    refresh: DnsRefresh,
    backoff: Backoff,
    /// When the next resolution is due; `None` while one is in flight or
    /// when nothing is scheduled.
    due: Option<Instant>,
    /// When the last resolution started.
    last_start: Option<Instant>,
    in_flight: bool,
    /// A request arrived while a resolution was in flight.
    requested: bool,
    /// The last resolution failed: `due` is the backoff's retry.
    backing_off: bool,
}

impl Schedule {
    /// A schedule for `config`; `seed` drives the backoff's jitter.
    pub(crate) fn new(config: &DnsConfig, seed: u64) -> Self {
        Schedule {
            min_interval: config.min_resolution_interval,
            refresh: config.refresh,
            backoff: Backoff::new(config.backoff, seed),
            due: None,
            last_start: None,
            in_flight: false,
            requested: false,
            backing_off: false,
        }
    }

    /// The resolver started: the first resolution is due at once.
    pub(crate) fn start(&mut self, now: Instant) {
        self.due = Some(now);
    }

    /// The channel asks for a fresh resolution.
    pub(crate) fn request(&mut self, now: Instant) {
        if self.in_flight {
            self.requested = true;
        } else if !self.backing_off {
            let at = self.earliest(now);
            self.due = Some(self.due.map_or(at, |due| due.min(at)));
        }
    }

    /// A resolution starts.
    pub(crate) fn resolving(&mut self, now: Instant) {
        self.in_flight = true;
        self.requested = false;
        self.due = None;
        self.last_start = Some(now);
    }

    /// The resolution succeeded; `ttl` is the smallest TTL of its records.
    pub(crate) fn succeeded(&mut self, now: Instant, ttl: Option<Duration>) {
        self.in_flight = false;
        self.backing_off = false;
        self.backoff.reset();
        let period = match self.refresh {
            DnsRefresh::Ttl { min, max } => Some(ttl.unwrap_or(max).min(max).max(min)),
            DnsRefresh::Every(period) => Some(period),
            DnsRefresh::Never => None,
        };
        let earliest = self.earliest(now);
        self.due = period.map(|p| after(now, p).max(earliest));
        if std::mem::take(&mut self.requested) {
            self.due = Some(self.due.map_or(earliest, |due| due.min(earliest)));
        }
    }

    /// The resolution failed: retry after the backoff, counted from the
    /// start of the failed attempt.
    pub(crate) fn failed(&mut self, now: Instant) {
        self.in_flight = false;
        self.requested = false;
        self.backing_off = true;
        let delay = self.backoff.next_delay();
        let start = self.last_start.unwrap_or(now);
        self.due = Some(after(start, delay).max(now));
    }

    /// When the next resolution is due (it may be in the past: start it).
    pub(crate) fn next(&self) -> Option<Instant> {
        self.due
    }

    /// The earliest a resolution may start: `now`, or the minimum interval
    /// after the last start.
    fn earliest(&self, now: Instant) -> Instant {
        match self.last_start {
            Some(start) => after(start, self.min_interval).max(now),
            None => now,
        }
    }
}

/// `t + d`; a sum the clock cannot hold becomes a year ("never").
fn after(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(t)
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
