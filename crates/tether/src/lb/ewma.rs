//! The load signal of `peak_ewma`: per subchannel, a peak-sensitive
//! exponentially weighted moving average of response latency (Finagle's
//! and Linkerd's "peak EWMA"), and the cost the picker compares between
//! two random subchannels (power of two choices):
//!
//! `cost = max(estimate, mean wait of the calls still waiting) × (waiting + 1)`
//!
//! - A response slower than the estimate replaces it at once (the peak);
//!   a faster one pulls it down with weight `1 − e^(−Δt/τ)`.
//! - Without responses the estimate decays toward zero (`× e^(−Δt/τ)`),
//!   so a subchannel that was slow is tried again after a few `τ`.
//! - Calls still waiting count their elapsed time: a subchannel whose
//!   calls hang grows expensive before any of them completes.
//! - A subchannel never scored costs 0 while idle (it is tried) and a
//!   large penalty while its first call waits (one probe at a time).
//!
//! Latency is the time from the pick to the attempt's first response
//! (response headers or a status), or to its end if none came (a
//! deadline, a cancellation, a lost connection). Calls with a request
//! stream (client-streaming, bidi) are not scored: a server may hold its
//! headers until the client has sent, which says nothing of its speed.
//!
//! Per subchannel, lock-free (atomics): calls on different subchannels
//! share nothing. Estimate and stamp are two atomics: a reader may pair
//! one update's estimate with the previous stamp, an error of one decay
//! step that a load signal tolerates.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// The default decay time constant τ.
pub(crate) const DEFAULT_DECAY: Duration = Duration::from_secs(10);

/// The cost of a never-scored subchannel while a call waits on it (in
/// nanoseconds, as a latency): large, so that it gets one probe at a
/// time, finite, so that costs still compare.
const PENALTY_NS: f64 = 1e12;

/// Marks an estimate that has no sample yet.
const UNSCORED: u64 = u64::MAX;

/// The latency score of one subchannel.
#[derive(Debug)]
pub(crate) struct Score {
    /// The estimate in nanoseconds (`f64` bits), [`UNSCORED`] before the
    /// first sample.
    estimate: AtomicU64,
    /// When the estimate was last updated (ns on the channel's clock).
    stamp: AtomicU64,
    /// Calls waiting for their first response.
    waiting: AtomicU32,
    /// The sum of their start times (ns).
    waiting_since: AtomicU64,
}

impl Default for Score {
    fn default() -> Self {
        Score {
            estimate: AtomicU64::new(UNSCORED),
            stamp: AtomicU64::new(0),
            waiting: AtomicU32::new(0),
            waiting_since: AtomicU64::new(0),
        }
    }
}

/// `e^(−dt/τ)`, the weight of the past after `dt`. Between calls `dt` is
/// tiny next to `τ` (milliseconds against seconds): there a third-order
/// series is exact to 1e-12 and far cheaper than `exp`.
fn decay(dt_ns: u64, tau: Duration) -> f64 {
    let tau_ns = tau.as_secs_f64() * 1e9;
    let x = dt_ns as f64 / tau_ns.max(1.0);
    if x < 1e-3 {
        1.0 - x * (1.0 - x * (0.5 - x / 6.0))
    } else {
        (-x).exp()
    }
}

impl Score {
    /// A call was picked at `now_ns`.
    pub(crate) fn start(&self, now_ns: u64) {
        self.waiting_since.fetch_add(now_ns, Ordering::Relaxed);
        self.waiting.fetch_add(1, Ordering::Relaxed);
    }

    /// The call picked at `start_ns` is forgotten without a sample.
    pub(crate) fn abandon(&self, start_ns: u64) {
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        self.waiting_since.fetch_sub(start_ns, Ordering::Relaxed);
    }

    /// The call picked at `start_ns` got its first response (or ended) at
    /// `now_ns`: one latency sample. Returns the estimate before and after
    /// (nanoseconds; `None` before: the first sample).
    pub(crate) fn finish(&self, start_ns: u64, now_ns: u64, tau: Duration) -> (Option<f64>, f64) {
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        self.waiting_since.fetch_sub(start_ns, Ordering::Relaxed);
        let rtt = now_ns.saturating_sub(start_ns) as f64;
        let stamp = self.stamp.swap(now_ns, Ordering::AcqRel);
        let mut before = None;
        let mut after = rtt;
        let _ = self
            .estimate
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |bits| {
                if bits == UNSCORED {
                    before = None;
                    after = rtt;
                } else {
                    let old = f64::from_bits(bits);
                    before = Some(old);
                    after = if rtt > old {
                        rtt
                    } else {
                        let w = decay(now_ns.saturating_sub(stamp), tau);
                        old * w + rtt * (1.0 - w)
                    };
                }
                Some(after.to_bits())
            });
        (before, after)
    }

    /// The estimate now (decayed since its last update), `None` before
    /// the first sample.
    pub(crate) fn estimate(&self, now_ns: u64, tau: Duration) -> Option<f64> {
        let bits = self.estimate.load(Ordering::Acquire);
        if bits == UNSCORED {
            return None;
        }
        let stamp = self.stamp.load(Ordering::Acquire);
        Some(f64::from_bits(bits) * decay(now_ns.saturating_sub(stamp), tau))
    }

    /// Calls waiting for their first response.
    pub(crate) fn waiting(&self) -> u32 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// What a call sent here is expected to cost (see the module docs).
    pub(crate) fn cost(&self, now_ns: u64, tau: Duration) -> f64 {
        let waiting = self.waiting.load(Ordering::Relaxed);
        let estimate = match self.estimate(now_ns, tau) {
            Some(e) => e,
            None if waiting == 0 => return 0.0,
            None => PENALTY_NS,
        };
        let mut latency = estimate;
        if waiting > 0 {
            // The waiting calls' total wait, modulo 2^64 like the sum of
            // their starts (which wraps after long uptimes): exact while
            // the true total is under 584 years.
            let since = self.waiting_since.load(Ordering::Relaxed);
            let total = now_ns.wrapping_mul(u64::from(waiting)).wrapping_sub(since);
            // A reader racing an update may see a count and a sum out of
            // step: a total "in the future" wraps to a huge value; treat
            // anything past 2^63 as that race (no wait).
            let total = if total > u64::MAX / 2 { 0 } else { total };
            latency = latency.max(total as f64 / f64::from(waiting));
        }
        latency * f64::from(waiting + 1)
    }
}

/// The index among two candidates `a` and `b` (of `n`) drawn from `r`.
pub(crate) fn two_choices(r: u64, n: usize) -> (usize, usize) {
    debug_assert!(n >= 2);
    let a = (r as usize) % n;
    let b = (a + 1 + ((r >> 32) as usize) % (n - 1)) % n;
    (a, b)
}

#[cfg(test)]
#[test]
fn the_series_matches_exp() {
    let tau = Duration::from_secs(10);
    for dt in [
        0u64,
        1,
        1_000,
        1_000_000,
        9_999_999,
        10_000_000,
        500_000_000,
        10_000_000_000,
    ] {
        let want = (-(dt as f64) / 1e10).exp();
        assert!((decay(dt, tau) - want).abs() < 1e-12, "dt {dt}");
    }
}

#[cfg(test)]
#[path = "ewma_tests.rs"]
mod tests;
