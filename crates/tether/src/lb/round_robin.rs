//! round_robin (grpc/grpc `doc/load-balancing.md`): one subchannel per
//! distinct address, all connecting at once, calls spread over the READY
//! ones in turn.
//!
//! - Eager: every subchannel is told to connect as soon as it is created,
//!   and again at once when it loses its connection (reports IDLE).
//! - An address kept across updates keeps its subchannel; a removed one
//!   gets `Remove`; a new one gets `Create` and `Connect`.
//! - The picker lists the READY subchannels in address order and starts
//!   its rotation at an index drawn from the seeded PRNG; a new one is
//!   published whenever that set changes.
//! - State: any READY gives READY; else any subchannel that is trying
//!   (CONNECTING, or IDLE and reconnecting) gives CONNECTING with a queuing
//!   picker; else TRANSIENT_FAILURE, failing calls with the latest
//!   connection error. TRANSIENT_FAILURE is sticky per subchannel (gRFC
//!   A62's rule as gRPC applies it to round_robin): a failed subchannel
//!   that retries and reports CONNECTING still counts as failed until it
//!   is READY, so the channel stays TRANSIENT_FAILURE until a subchannel
//!   is READY (or a new address is added).
//! - Re-resolution is requested when a subchannel leaves READY and when
//!   every subchannel has failed.
//! - An empty list, or a resolver error before any list: TRANSIENT_FAILURE
//!   with a clear status.

use super::list::dedup;
use super::outbox::Outbox;
use super::rng::Rng;
use super::{Action, PickerSpec, Policy, SubchannelId};
use crate::connectivity::ConnectivityState;
use crate::resolver::Address;
use crate::status::Status;
use std::time::Instant;

/// One subchannel, as round_robin sees it.
#[derive(Debug)]
struct Sub {
    id: SubchannelId,
    address: Address,
    /// Its state, TRANSIENT_FAILURE sticky until READY or IDLE.
    state: ConnectivityState,
}

/// The round_robin policy (see the module documentation).
#[derive(Debug)]
pub(crate) struct RoundRobin {
    rng: Rng,
    next_id: u64,
    /// In address order.
    subchannels: Vec<Sub>,
    last_error: Option<Status>,
    out: Outbox,
}

impl RoundRobin {
    /// Numbers subchannels from `first` (a channel that replaces its
    /// policy keeps the new ids apart from the old ones).
    pub(crate) fn with_first_id(mut self, first: u64) -> Self {
        self.next_id = first;
        self
    }

    /// A round_robin policy; `seed` fixes where its pickers start.
    pub(crate) fn new(seed: u64) -> RoundRobin {
        RoundRobin {
            rng: Rng::new(seed),
            next_id: 0,
            subchannels: Vec::new(),
            last_error: None,
            out: Outbox::default(),
        }
    }

    fn create(&mut self, address: &Address) -> Sub {
        let id = SubchannelId(self.next_id);
        self.next_id += 1;
        self.out.push(Action::Create {
            id,
            address: address.clone(),
        });
        self.out.push(Action::Connect(id));
        Sub {
            id,
            address: address.clone(),
            state: ConnectivityState::Connecting,
        }
    }

    /// Publishes the picker the subchannels' states call for, if it changed.
    fn update_picker(&mut self) {
        if self.subchannels.is_empty() {
            return;
        }
        let ready: Vec<SubchannelId> = self
            .subchannels
            .iter()
            .filter(|s| s.state == ConnectivityState::Ready)
            .map(|s| s.id)
            .collect();
        if !ready.is_empty() {
            if let Some((ConnectivityState::Ready, PickerSpec::Ready { ready: r, .. })) =
                self.out.published()
            {
                if *r == ready {
                    return; // the same set: keep the rotation going
                }
            }
            let start = self.rng.below(ready.len());
            let picker = PickerSpec::Ready { ready, start };
            self.out.publish(ConnectivityState::Ready, picker);
        } else if self
            .subchannels
            .iter()
            .any(|s| s.state != ConnectivityState::TransientFailure)
        {
            self.out
                .publish(ConnectivityState::Connecting, PickerSpec::Queue);
        } else {
            let was_failing = matches!(
                self.out.published(),
                Some((ConnectivityState::TransientFailure, _))
            );
            if !was_failing {
                self.out.push(Action::ResolveNow);
            }
            let last = match &self.last_error {
                Some(e) => e.to_string(),
                None => "connection failed".to_owned(),
            };
            let mut status = Status::unavailable(format!(
                "round_robin: all {} addresses failed; last error: {last}",
                self.subchannels.len()
            ));
            // The last connection error (and its I/O or TLS cause) as the source.
            if let Some(e) = &self.last_error {
                status = status.with_source(e.clone());
            }
            self.out.publish(
                ConnectivityState::TransientFailure,
                PickerSpec::Fail(status),
            );
        }
    }
}

impl Policy for RoundRobin {
    fn update_addresses(&mut self, addresses: &[Address], _now: Instant) {
        let list = dedup(addresses);
        let mut old = std::mem::take(&mut self.subchannels);
        if list.is_empty() {
            for sub in old {
                self.out.push(Action::Remove(sub.id));
            }
            self.out.push(Action::ResolveNow);
            self.out.publish(
                ConnectivityState::TransientFailure,
                PickerSpec::Fail(Status::unavailable(
                    "round_robin: the resolver returned no addresses",
                )),
            );
            return;
        }
        let mut subs = Vec::with_capacity(list.len());
        for address in &list {
            match old.iter().position(|s| &s.address == address) {
                Some(pos) => subs.push(old.swap_remove(pos)),
                None => subs.push(self.create(address)),
            }
        }
        for sub in old {
            self.out.push(Action::Remove(sub.id));
        }
        self.subchannels = subs;
        self.update_picker();
    }

    fn resolver_error(&mut self, status: Status, _now: Instant) {
        if self.subchannels.is_empty() {
            self.out.publish(
                ConnectivityState::TransientFailure,
                PickerSpec::Fail(status),
            );
        }
    }

    fn subchannel_state(
        &mut self,
        id: SubchannelId,
        state: ConnectivityState,
        error: Option<&Status>,
        _now: Instant,
    ) {
        let Some(sub) = self.subchannels.iter_mut().find(|s| s.id == id) else {
            return; // removed already
        };
        let was_ready = sub.state == ConnectivityState::Ready;
        match state {
            ConnectivityState::Ready | ConnectivityState::TransientFailure => sub.state = state,
            // Retrying after a failure: still failed (sticky).
            ConnectivityState::Connecting => {
                if sub.state != ConnectivityState::TransientFailure {
                    sub.state = state;
                }
            }
            // Lost its connection: reconnect at once.
            ConnectivityState::Idle => {
                sub.state = ConnectivityState::Connecting;
                self.out.push(Action::Connect(id));
            }
            ConnectivityState::Shutdown => return,
        }
        if was_ready && state != ConnectivityState::Ready {
            self.out.push(Action::ResolveNow);
        }
        if state == ConnectivityState::TransientFailure {
            if let Some(e) = error {
                self.last_error = Some(e.clone());
            }
        }
        self.update_picker();
    }

    fn exit_idle(&mut self, _now: Instant) {
        // Never IDLE once it has addresses; before, the channel resolves.
        if self.subchannels.is_empty() && self.out.published().is_none() {
            self.out
                .publish(ConnectivityState::Connecting, PickerSpec::Queue);
        }
    }

    fn handle_timeout(&mut self, _now: Instant) {}

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.out.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lb::testing::*;
    use ConnectivityState::{Connecting, Idle, Ready};

    fn started(seed: u64, n: usize) -> (Driver<RoundRobin>, Vec<SubchannelId>) {
        let mut d = Driver::new(RoundRobin::new(seed));
        let list: Vec<Address> = (1..=n).map(|i| tcp(&format!("10.0.0.{i}:443"))).collect();
        let acts = d.update(&list);
        let ids: Vec<SubchannelId> = created(&acts).into_iter().map(|(id, _)| id).collect();
        (d, ids)
    }

    fn ready_set(actions: &[Action]) -> Vec<Vec<SubchannelId>> {
        pickers(actions)
            .into_iter()
            .filter_map(|(state, p)| match p {
                PickerSpec::Ready { ready, start } => {
                    assert_eq!(state, Ready);
                    assert!(start < ready.len());
                    Some(ready)
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_address_gets_a_subchannel_and_connects_at_once() {
        let mut d = Driver::new(RoundRobin::new(1));
        let list = [tcp("10.0.0.1:1"), tcp("10.0.0.2:1"), tcp("10.0.0.1:1")];
        let acts = d.update(&list);
        let made = created(&acts);
        let addrs: Vec<Address> = made.iter().map(|(_, a)| a.clone()).collect();
        assert_eq!(addrs, vec![tcp("10.0.0.1:1"), tcp("10.0.0.2:1")]);
        let ids: Vec<SubchannelId> = made.iter().map(|(id, _)| *id).collect();
        assert_eq!(connects(&acts), ids);
        assert_eq!(pickers(&acts), vec![(Connecting, PickerSpec::Queue)]);
    }

    #[test]
    fn ready_set_changes_publish_pickers_in_address_order() {
        let (mut d, ids) = started(1, 3);
        assert_eq!(ready_set(&d.report(ids[2], Ready)), vec![vec![ids[2]]]);
        assert_eq!(
            ready_set(&d.report(ids[0], Ready)),
            vec![vec![ids[0], ids[2]]]
        );
        // CONNECTING of a non-READY subchannel changes nothing.
        assert!(d.report(ids[1], Connecting).is_empty());
        let acts = d.fail(ids[2], "refused");
        assert_eq!(ready_set(&acts), vec![vec![ids[0]]]);
        assert_eq!(resolve_nows(&acts), 1, "left READY: re-resolve");
    }

    #[test]
    fn rotation_start_depends_on_the_seed() {
        let starts: Vec<usize> = (0..16)
            .map(|seed| {
                let (mut d, ids) = started(seed, 4);
                for id in &ids[..3] {
                    d.report(*id, Ready);
                }
                let acts = d.report(ids[3], Ready);
                match pickers(&acts).as_slice() {
                    [(Ready, PickerSpec::Ready { start, .. })] => *start,
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        assert!(starts.iter().all(|s| *s < 4));
        let mut distinct = starts.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > 1, "{starts:?}");
        // Same seed, same start.
        let again = {
            let (mut d, ids) = started(5, 4);
            let mut last = Vec::new();
            for id in &ids {
                last = d.report(*id, Ready);
            }
            pickers(&last)
        };
        assert!(
            matches!(again.as_slice(), [(Ready, PickerSpec::Ready { start, .. })] if *start == starts[5])
        );
    }

    #[test]
    fn all_failed_is_sticky_transient_failure_with_the_last_error() {
        let (mut d, ids) = started(1, 2);
        let acts = d.fail(ids[0], "first refused");
        assert!(pickers(&acts).is_empty(), "one still connecting: {acts:?}");
        let acts = d.fail(ids[1], "second refused");
        let msg = fail_message(&acts);
        assert!(msg.contains("second refused"), "{msg}");
        assert!(msg.contains("all 2 addresses failed"), "{msg}");
        assert_eq!(resolve_nows(&acts), 1);
        // Retrying does not leave TRANSIENT_FAILURE.
        assert!(d.report(ids[0], Connecting).is_empty());
        // A newer error is published, without another re-resolution.
        let acts = d.fail(ids[0], "timed out");
        assert!(fail_message(&acts).contains("timed out"));
        assert_eq!(resolve_nows(&acts), 0);
        // Recovery.
        assert_eq!(ready_set(&d.report(ids[1], Ready)), vec![vec![ids[1]]]);
    }

    #[test]
    fn kept_addresses_keep_their_subchannel_removed_ones_are_removed() {
        let (mut d, ids) = started(1, 3);
        d.report(ids[0], Ready);
        d.report(ids[1], Ready);
        let acts = d.update(&[
            tcp("10.0.0.9:443"),
            tcp("10.0.0.2:443"),
            tcp("10.0.0.1:443"),
        ]);
        let made = created(&acts);
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].1, tcp("10.0.0.9:443"));
        assert!(!ids.contains(&made[0].0), "ids are never reused");
        assert_eq!(connects(&acts), vec![made[0].0]);
        assert_eq!(removes(&acts), vec![ids[2]]);
        // Same READY set, in the new address order.
        assert_eq!(ready_set(&acts), vec![vec![ids[1], ids[0]]]);
        // A report from the removed subchannel is ignored.
        assert!(d.report(ids[2], Ready).is_empty());
    }

    #[test]
    fn idle_reconnects_at_once_and_re_resolves() {
        let (mut d, ids) = started(1, 2);
        d.report(ids[0], Ready);
        let acts = d.report(ids[0], Idle);
        assert_eq!(connects(&acts), vec![ids[0]]);
        assert_eq!(resolve_nows(&acts), 1);
        assert_eq!(pickers(&acts), vec![(Connecting, PickerSpec::Queue)]);
        assert_eq!(ready_set(&d.report(ids[0], Ready)), vec![vec![ids[0]]]);
    }

    #[test]
    fn no_addresses_and_resolver_errors_fail_clearly() {
        let mut d = Driver::new(RoundRobin::new(1));
        let acts = {
            d.policy
                .resolver_error(Status::unavailable("dns: no such host"), d.now);
            d.actions()
        };
        assert_eq!(fail_message(&acts), "dns: no such host");
        let (mut d, ids) = started(1, 2);
        let acts = d.update(&[]);
        assert_eq!(removes(&acts), ids);
        assert_eq!(resolve_nows(&acts), 1);
        assert!(fail_message(&acts).contains("no addresses"));
        // With a list, a resolver error keeps it.
        let (mut d, _) = started(1, 2);
        d.policy.resolver_error(Status::unavailable("x"), d.now);
        assert!(d.actions().is_empty());
    }
}
