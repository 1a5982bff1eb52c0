//! A test driver for policies: feeds events under a virtual clock and
//! collects the actions they return.

use super::{Action, PickerSpec, Policy, SubchannelId};
use crate::connectivity::ConnectivityState;
use crate::resolver::Address;
use crate::status::Status;
use std::time::{Duration, Instant};

/// A policy, its virtual clock, and the time it started.
pub(crate) struct Driver<P> {
    pub(crate) policy: P,
    pub(crate) t0: Instant,
    pub(crate) now: Instant,
}

impl<P: Policy> Driver<P> {
    pub(crate) fn new(policy: P) -> Driver<P> {
        let t0 = Instant::now();
        Driver {
            policy,
            t0,
            now: t0,
        }
    }

    /// Every queued action.
    pub(crate) fn actions(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.policy.poll_action()).collect()
    }

    pub(crate) fn update(&mut self, addresses: &[Address]) -> Vec<Action> {
        self.policy.update_addresses(addresses, self.now);
        self.actions()
    }

    pub(crate) fn exit_idle(&mut self) -> Vec<Action> {
        self.policy.exit_idle(self.now);
        self.actions()
    }

    pub(crate) fn report(&mut self, id: SubchannelId, state: ConnectivityState) -> Vec<Action> {
        self.policy.subchannel_state(id, state, None, self.now);
        self.actions()
    }

    /// `id` reports TRANSIENT_FAILURE with an UNAVAILABLE `message`.
    pub(crate) fn fail(&mut self, id: SubchannelId, message: &str) -> Vec<Action> {
        let error = Status::unavailable(message);
        let state = ConnectivityState::TransientFailure;
        self.policy
            .subchannel_state(id, state, Some(&error), self.now);
        self.actions()
    }

    /// Moves the clock to `t0 + at`, firing every deadline on the way at
    /// its own time.
    pub(crate) fn run_until(&mut self, at: Duration) -> Vec<Action> {
        let end = self.t0 + at;
        let mut out = Vec::new();
        while let Some(t) = self.policy.poll_timeout().filter(|t| *t <= end) {
            self.now = self.now.max(t);
            self.policy.handle_timeout(self.now);
            out.extend(self.actions());
        }
        self.now = self.now.max(end);
        out
    }
}

pub(crate) fn tcp(s: &str) -> Address {
    Address::Tcp(s.parse().unwrap())
}

/// The subchannels created, in order.
pub(crate) fn created(actions: &[Action]) -> Vec<(SubchannelId, Address)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Create { id, address } => Some((*id, address.clone())),
            _ => None,
        })
        .collect()
}

pub(crate) fn connects(actions: &[Action]) -> Vec<SubchannelId> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Connect(id) => Some(*id),
            _ => None,
        })
        .collect()
}

pub(crate) fn removes(actions: &[Action]) -> Vec<SubchannelId> {
    let mut ids: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Remove(id) => Some(*id),
            _ => None,
        })
        .collect();
    ids.sort();
    ids
}

pub(crate) fn pickers(actions: &[Action]) -> Vec<(ConnectivityState, PickerSpec)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Picker { state, picker } => Some((*state, picker.clone())),
            _ => None,
        })
        .collect()
}

pub(crate) fn resolve_nows(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::ResolveNow))
        .count()
}

/// The message of the only picker in `actions`, which must fail calls.
pub(crate) fn fail_message(actions: &[Action]) -> String {
    match pickers(actions).as_slice() {
        [(ConnectivityState::TransientFailure, PickerSpec::Fail(s))] => s.message().to_owned(),
        other => panic!("expected one TRANSIENT_FAILURE picker, got {other:?}"),
    }
}
