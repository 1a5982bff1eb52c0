//! Load balancing: policies are plain structs fed with events (a new
//! address list, a subchannel's state, the clock) that return actions
//! (create, connect or remove subchannels, ask for re-resolution, publish a
//! new picker). They do no I/O and read no clock, like the HTTP/2 core, so
//! they are tested under a virtual clock without a runtime.

mod ewma;
mod list;
mod outbox;
mod outlier;
mod pick_first;
pub(crate) mod rng;
mod round_robin;
#[cfg(test)]
mod testing;

// The channel's control task builds its policy from these.
pub(crate) use ewma::{two_choices, Score, DEFAULT_DECAY};
pub(crate) use outlier::{CallCounts, WithOutlierDetection};
pub(crate) use pick_first::PickFirst;
pub(crate) use round_robin::RoundRobin;

use crate::connectivity::ConnectivityState;
use crate::resolver::Address;
use crate::status::Status;
use std::time::Instant;

/// A subchannel, as a policy names it (ids are chosen by the policy and
/// never reused within a channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SubchannelId(pub(crate) u64);

/// What a policy asks the channel to do.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Action {
    /// Create a subchannel for `address` (IDLE: it does not connect yet).
    Create {
        /// Its id.
        id: SubchannelId,
        /// Its address.
        address: Address,
    },
    /// Start connecting this IDLE subchannel.
    Connect(SubchannelId),
    /// Remove this subchannel: it takes no new call, its in-flight calls
    /// finish, then its connections close.
    Remove(SubchannelId),
    /// Ask the resolver for fresh addresses.
    ResolveNow,
    /// Outlier detection ejected a subchannel from the pickers (`true`),
    /// or its ejection is over (`false`); it keeps its connections.
    Ejected {
        /// The subchannel.
        id: SubchannelId,
        /// Ejected now, or back.
        ejected: bool,
    },
    /// Publish a new picker; `state` is the channel's connectivity state.
    Picker {
        /// The channel's state.
        state: ConnectivityState,
        /// How calls are routed now.
        picker: PickerSpec,
    },
}

/// How calls are routed, as a policy describes it; the channel turns it
/// into the picker calls read.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PickerSpec {
    /// Calls go to these READY subchannels in turn, the first call to
    /// `ready[start % ready.len()]`.
    Ready {
        /// READY subchannels (never empty).
        ready: Vec<SubchannelId>,
        /// Where the rotation starts.
        start: usize,
    },
    /// No subchannel is READY yet: calls wait for the next picker.
    Queue,
    /// Calls fail at once with this status (unless wait-for-ready, which
    /// wait for the next picker).
    Fail(Status),
}

/// A load-balancing policy (sans-I/O).
pub(crate) trait Policy: Send {
    /// A new address list from the resolver (it replaces the last one).
    fn update_addresses(&mut self, addresses: &[Address], now: Instant);
    /// The resolver failed: with no address list yet, calls fail with
    /// `status`; with one, it is kept.
    fn resolver_error(&mut self, status: Status, now: Instant);
    /// A subchannel's state changed (`error` is the last connection error
    /// when `state` is TRANSIENT_FAILURE).
    fn subchannel_state(
        &mut self,
        id: SubchannelId,
        state: ConnectivityState,
        error: Option<&Status>,
        now: Instant,
    );
    /// A call wants a connection while the policy is IDLE.
    fn exit_idle(&mut self, now: Instant);
    /// A deadline from [`Policy::poll_timeout`] passed.
    fn handle_timeout(&mut self, now: Instant);
    /// The next deadline, if any.
    fn poll_timeout(&self) -> Option<Instant>;
    /// The next action, until `None`.
    fn poll_action(&mut self) -> Option<Action>;
    /// Whether the policy wants each subchannel's call counts now
    /// (outlier detection's sweep).
    fn sweep_due(&self, _now: Instant) -> bool {
        false
    }
    /// The calls each subchannel finished since the last sweep.
    fn call_counts(&mut self, _counts: &[(SubchannelId, CallCounts)], _now: Instant) {}
}
