//! Outlier detection (gRFC A50) as a wrapper around any policy: every
//! `interval` it looks at each subchannel's calls since the last sweep
//! (successes and failures, counted by the calls themselves) and ejects
//! the outliers from the pickers for `baseEjectionTime × times ejected`
//! (at most `max(baseEjectionTime, maxEjectionTime)`). Ejected
//! subchannels keep their connections; they come back when their time is
//! up. A call counts as failed when it ends UNAVAILABLE or
//! DEADLINE_EXCEEDED (the pod's fault, not the application's).
//!
//! Sans-I/O like the other policies: the channel hands the counts in
//! ([`Policy::call_counts`]) when the sweep is due.

use super::rng::Rng;
use super::{Action, PickerSpec, Policy, SubchannelId};
use crate::connectivity::ConnectivityState;
use crate::resolver::Address;
use crate::service_config::{FailurePercentageEjection, OutlierDetection, SuccessRateEjection};
use crate::status::Status;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// One subchannel's calls over one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CallCounts {
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
}

impl CallCounts {
    fn volume(&self) -> u64 {
        self.succeeded + self.failed
    }
}

/// What a sweep knows of one subchannel.
#[derive(Clone, Debug, Default)]
struct Entry {
    counts: CallCounts,
    /// When it was ejected, while it is.
    ejected_at: Option<Instant>,
    /// Times ejected, decremented each interval it is not.
    multiplier: u32,
}

/// The ejection state machine of gRFC A50 (no policy around it).
#[derive(Debug)]
pub(crate) struct Detector {
    config: OutlierDetection,
    entries: BTreeMap<SubchannelId, Entry>,
    rng: Rng,
}

/// A change a sweep made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    Ejected(SubchannelId),
    Returned(SubchannelId),
}

impl Detector {
    pub(crate) fn new(config: OutlierDetection, seed: u64) -> Detector {
        Detector {
            config,
            entries: BTreeMap::new(),
            rng: Rng::new(seed),
        }
    }

    /// Tracks `ids` too (new ones start clean). A subchannel that leaves
    /// the READY set keeps its entry, its ejection included: only its
    /// removal ([`Detector::forget`]) drops it.
    pub(crate) fn track(&mut self, ids: &[SubchannelId]) {
        for id in ids {
            self.entries.entry(*id).or_default();
        }
    }

    /// The subchannel is gone.
    pub(crate) fn forget(&mut self, id: SubchannelId) {
        self.entries.remove(&id);
    }

    pub(crate) fn is_ejected(&self, id: SubchannelId) -> bool {
        self.entries
            .get(&id)
            .is_some_and(|e| e.ejected_at.is_some())
    }

    /// One sweep with the counts of the interval that just ended.
    pub(crate) fn sweep(
        &mut self,
        counts: &[(SubchannelId, CallCounts)],
        now: Instant,
    ) -> Vec<Change> {
        for e in self.entries.values_mut() {
            e.counts = CallCounts::default();
        }
        for (id, c) in counts {
            if let Some(e) = self.entries.get_mut(id) {
                e.counts = *c;
            }
        }
        let mut changes = Vec::new();
        if let Some(sr) = self.config.success_rate_ejection {
            self.success_rate(sr, now, &mut changes);
        }
        if let Some(fp) = self.config.failure_percentage_ejection {
            self.failure_percentage(fp, now, &mut changes);
        }
        let base = self.config.base_ejection_time;
        let cap = base.max(self.config.max_ejection_time);
        for (id, e) in &mut self.entries {
            match e.ejected_at {
                None => e.multiplier = e.multiplier.saturating_sub(1),
                Some(at) => {
                    let time = base.saturating_mul(e.multiplier).min(cap);
                    if now >= at + time {
                        e.ejected_at = None;
                        changes.push(Change::Returned(*id));
                    }
                }
            }
        }
        changes
    }

    /// Whether one more ejection stays within `maxEjectionPercent` (at
    /// least one may always be ejected).
    fn may_eject(&self) -> bool {
        let total = self.entries.len() as u64;
        let ejected = self
            .entries
            .values()
            .filter(|e| e.ejected_at.is_some())
            .count() as u64;
        ejected == 0 || ejected * 100 < u64::from(self.config.max_ejection_percent) * total
    }

    fn eject(
        &mut self,
        id: SubchannelId,
        enforcement: u32,
        now: Instant,
        changes: &mut Vec<Change>,
    ) {
        if (self.rng.next_u64() % 100) as u32 >= enforcement {
            return;
        }
        if let Some(e) = self.entries.get_mut(&id) {
            if e.ejected_at.is_none() {
                e.ejected_at = Some(now);
                e.multiplier += 1;
                changes.push(Change::Ejected(id));
            }
        }
    }

    fn success_rate(&mut self, sr: SuccessRateEjection, now: Instant, changes: &mut Vec<Change>) {
        let volume = u64::from(sr.request_volume);
        let rates: Vec<(SubchannelId, f64)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.counts.volume() >= volume && e.counts.volume() > 0)
            .map(|(id, e)| (*id, e.counts.succeeded as f64 / e.counts.volume() as f64))
            .collect();
        if rates.len() < sr.minimum_hosts as usize || rates.is_empty() {
            return;
        }
        let n = rates.len() as f64;
        let mean = rates.iter().map(|(_, r)| r).sum::<f64>() / n;
        let variance = rates.iter().map(|(_, r)| (r - mean).powi(2)).sum::<f64>() / n;
        let threshold = mean - variance.sqrt() * (f64::from(sr.stdev_factor) / 1000.0);
        for (id, rate) in rates {
            if !self.may_eject() {
                return;
            }
            if rate < threshold {
                self.eject(id, sr.enforcement_percentage, now, changes);
            }
        }
    }

    fn failure_percentage(
        &mut self,
        fp: FailurePercentageEjection,
        now: Instant,
        changes: &mut Vec<Change>,
    ) {
        let volume = u64::from(fp.request_volume);
        // A50: enough *addresses with requestVolume calls*, not addresses.
        let counted = self
            .entries
            .values()
            .filter(|e| e.counts.volume() >= volume && e.counts.volume() > 0)
            .count();
        if counted < fp.minimum_hosts as usize {
            return;
        }
        let candidates: Vec<(SubchannelId, CallCounts)> =
            self.entries.iter().map(|(id, e)| (*id, e.counts)).collect();
        for (id, c) in candidates {
            if !self.may_eject() {
                return;
            }
            if c.volume() < volume || c.volume() == 0 {
                continue;
            }
            if c.failed * 100 > u64::from(fp.threshold) * c.volume() {
                self.eject(id, fp.enforcement_percentage, now, changes);
            }
        }
    }
}

/// A policy with outlier detection around it.
pub(crate) struct WithOutlierDetection {
    child: Box<dyn Policy>,
    detector: Detector,
    interval: Duration,
    next_sweep: Option<Instant>,
    /// The child's last picker, republished without the ejected.
    last_picker: Option<(ConnectivityState, PickerSpec)>,
    out: VecDeque<Action>,
}

impl WithOutlierDetection {
    pub(crate) fn new(child: Box<dyn Policy>, config: OutlierDetection, seed: u64) -> Self {
        WithOutlierDetection {
            child,
            interval: config.interval.max(Duration::from_millis(1)),
            detector: Detector::new(config, seed),
            next_sweep: None,
            last_picker: None,
            out: VecDeque::new(),
        }
    }

    fn enabled(&self) -> bool {
        self.detector.config.success_rate_ejection.is_some()
            || self.detector.config.failure_percentage_ejection.is_some()
    }

    /// Moves the child's actions out, filtering its pickers.
    fn drain_child(&mut self) {
        while let Some(action) = self.child.poll_action() {
            match action {
                Action::Picker { state, picker } => {
                    if let PickerSpec::Ready { ready, .. } = &picker {
                        self.detector.track(ready);
                    }
                    self.last_picker = Some((state, picker.clone()));
                    self.out.push_back(self.filtered(state, picker));
                }
                Action::Remove(id) => {
                    self.detector.forget(id);
                    self.out.push_back(Action::Remove(id));
                }
                other => self.out.push_back(other),
            }
        }
    }

    /// `picker` without the ejected subchannels (unless that leaves none:
    /// then as it is, rather than failing every call).
    fn filtered(&self, state: ConnectivityState, picker: PickerSpec) -> Action {
        let picker = match picker {
            PickerSpec::Ready { ready, start } => {
                let kept: Vec<_> = ready
                    .iter()
                    .copied()
                    .filter(|id| !self.detector.is_ejected(*id))
                    .collect();
                if kept.is_empty() {
                    PickerSpec::Ready { ready, start }
                } else {
                    PickerSpec::Ready { ready: kept, start }
                }
            }
            other => other,
        };
        Action::Picker { state, picker }
    }
}

impl std::fmt::Debug for WithOutlierDetection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithOutlierDetection")
            .field("detector", &self.detector)
            .finish()
    }
}

impl Policy for WithOutlierDetection {
    fn update_addresses(&mut self, addresses: &[Address], now: Instant) {
        if self.next_sweep.is_none() && self.enabled() {
            self.next_sweep = Some(now + self.interval);
        }
        self.child.update_addresses(addresses, now);
    }

    fn resolver_error(&mut self, status: Status, now: Instant) {
        self.child.resolver_error(status, now);
    }

    fn subchannel_state(
        &mut self,
        id: SubchannelId,
        state: ConnectivityState,
        error: Option<&Status>,
        now: Instant,
    ) {
        self.child.subchannel_state(id, state, error, now);
    }

    fn exit_idle(&mut self, now: Instant) {
        self.child.exit_idle(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.child.poll_timeout().is_some_and(|t| t <= now) {
            self.child.handle_timeout(now);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match (self.child.poll_timeout(), self.next_sweep) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.drain_child();
        self.out.pop_front()
    }

    fn sweep_due(&self, now: Instant) -> bool {
        self.next_sweep.is_some_and(|t| t <= now)
    }

    fn call_counts(&mut self, counts: &[(SubchannelId, CallCounts)], now: Instant) {
        self.next_sweep = Some(now + self.interval);
        let changes = self.detector.sweep(counts, now);
        if changes.is_empty() {
            return;
        }
        for change in &changes {
            self.out.push_back(match *change {
                Change::Ejected(id) => Action::Ejected { id, ejected: true },
                Change::Returned(id) => Action::Ejected { id, ejected: false },
            });
        }
        if let Some((state, picker)) = self.last_picker.clone() {
            let action = self.filtered(state, picker);
            self.out.push_back(action);
        }
    }
}

#[cfg(test)]
#[path = "outlier_tests.rs"]
mod tests;
