//! pick_first (grpc/grpc `doc/load-balancing.md`, gRFC A62, gRFC A61):
//! connect to one address of the list and send every call there.
//!
//! - The list is de-duplicated, shuffled when `shuffle_address_list` is set
//!   (A62, with the seeded PRNG given to [`PickFirst::new`]), then its
//!   address families are interleaved (A61).
//! - Lazy (A62): an address list does not start connecting; the first
//!   [`Policy::exit_idle`] does. An `exit_idle` that comes before any list
//!   makes the policy CONNECTING, and the first list then connects at once.
//! - Happy Eyeballs (A61): one *pass* walks the list. It connects to the
//!   first address; if that attempt is neither READY nor failed after
//!   `connection_attempt_delay` (250 ms), it also connects to the next one,
//!   without giving up on the first; a failure of the newest attempt starts
//!   the next one at once. The first subchannel to become READY wins and
//!   every other one is removed.
//! - When every address has failed once, the channel goes
//!   TRANSIENT_FAILURE and asks for re-resolution; TRANSIENT_FAILURE is
//!   sticky (A62): the subchannels keep retrying with their own backoff,
//!   their CONNECTING reports are ignored, and the first READY wins. Each
//!   further round of as many failures as there are subchannels asks for
//!   re-resolution again. A new list keeps a sticky TRANSIENT_FAILURE; one
//!   that ends an empty list or a resolver error goes CONNECTING.
//! - When the READY subchannel loses its connection (reports IDLE), the
//!   channel goes IDLE and asks for re-resolution; the next `exit_idle`
//!   starts a new pass.
//! - A new list while READY: if it still holds the selected address, the
//!   connection stays and nothing else is created. Otherwise a pass over the
//!   new list starts while calls keep going to the old subchannel (its
//!   picker stays published) until a new subchannel is READY, or every new
//!   address has failed, or the old connection is lost.
//! - A list that is kept across updates keeps its subchannels (matched by
//!   address), so an attempt in progress is not restarted.
//! - An empty list: TRANSIENT_FAILURE ("no addresses") and re-resolution;
//!   a resolver error without a list: TRANSIENT_FAILURE with its status.

use super::list::{dedup, interleave_families};
use super::outbox::Outbox;
use super::rng::Rng;
use super::{Action, PickerSpec, Policy, SubchannelId};
use crate::connectivity::ConnectivityState;
use crate::resolver::Address;
use crate::status::Status;
use std::time::{Duration, Instant};

/// gRFC A61's Connection Attempt Delay.
pub(crate) const DEFAULT_CONNECTION_ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// One subchannel, as pick_first sees it.
#[derive(Debug)]
struct Sub {
    id: SubchannelId,
    address: Address,
    /// Its last reported state (CONNECTING as soon as it is asked to).
    state: ConnectivityState,
    /// Sent `Connect` at least once (it retries by itself since).
    asked: bool,
    /// Reported TRANSIENT_FAILURE during the current pass.
    failed: bool,
}

/// A Happy Eyeballs pass over `PickFirst::subchannels`.
#[derive(Debug)]
struct Pass {
    /// Index of the newest attempt.
    current: usize,
    /// When to start the next attempt, if there is a next one.
    timer: Option<Instant>,
}

/// The pick_first policy (see the module documentation).
#[derive(Debug)]
pub(crate) struct PickFirst {
    shuffle: bool,
    rng: Rng,
    attempt_delay: Duration,
    next_id: u64,
    /// The latest list, prepared (de-duplicated, shuffled, interleaved).
    addresses: Vec<Address>,
    /// Subchannels of the current list in attempt order: those of a pass,
    /// or the one left IDLE after a lost connection.
    subchannels: Vec<Sub>,
    /// The READY subchannel calls go to. While a pass runs beside it, its
    /// address has left the list.
    selected: Option<Sub>,
    pass: Option<Pass>,
    /// The channel state last published (IDLE before any).
    state: ConnectivityState,
    /// TRANSIENT_FAILURE came from connection failures (A62 sticky), not
    /// from an empty list or a resolver error.
    sticky: bool,
    last_error: Option<Status>,
    /// Failures seen since the last re-resolution request, in sticky
    /// TRANSIENT_FAILURE.
    failures: usize,
    out: Outbox,
}

impl PickFirst {
    /// Numbers subchannels from `first` (a channel that replaces its
    /// policy keeps the new ids apart from the old ones).
    pub(crate) fn with_first_id(mut self, first: u64) -> Self {
        self.next_id = first;
        self
    }

    /// A pick_first policy; `shuffle` is `shuffle_address_list` (A62) and
    /// `seed` fixes its shuffles.
    pub(crate) fn new(shuffle: bool, seed: u64) -> PickFirst {
        PickFirst {
            shuffle,
            rng: Rng::new(seed),
            attempt_delay: DEFAULT_CONNECTION_ATTEMPT_DELAY,
            next_id: 0,
            addresses: Vec::new(),
            subchannels: Vec::new(),
            selected: None,
            pass: None,
            state: ConnectivityState::Idle,
            sticky: false,
            last_error: None,
            failures: 0,
            out: Outbox::default(),
        }
    }

    /// Sets the Happy Eyeballs connection attempt delay (250 ms by default).
    #[allow(dead_code)] // the tests set it; the channel uses the default
    pub(crate) fn with_connection_attempt_delay(mut self, delay: Duration) -> PickFirst {
        self.attempt_delay = delay;
        self
    }

    fn prepare(&mut self, addresses: &[Address]) -> Vec<Address> {
        let mut list = dedup(addresses);
        if self.shuffle {
            self.rng.shuffle(&mut list);
        }
        interleave_families(list)
    }

    fn set_state(&mut self, state: ConnectivityState, picker: PickerSpec) {
        self.state = state;
        self.out.publish(state, picker);
    }

    fn fail_picker(&self) -> PickerSpec {
        let last = match &self.last_error {
            Some(e) => e.to_string(),
            None => "connection failed".to_owned(),
        };
        let status = Status::unavailable(format!(
            "pick_first: all {} addresses failed; last error: {last}",
            self.subchannels.len()
        ));
        // The last connection error (and its I/O or TLS cause) as the source.
        PickerSpec::Fail(match &self.last_error {
            Some(e) => status.with_source(e.clone()),
            None => status,
        })
    }

    fn remove(&mut self, sub: Sub) {
        self.out.push(Action::Remove(sub.id));
    }

    fn remove_all(&mut self) {
        for sub in std::mem::take(&mut self.subchannels) {
            self.remove(sub);
        }
    }

    /// Matches the subchannels to `addresses`: kept addresses keep theirs,
    /// new ones get a new (IDLE) subchannel, the others are removed.
    fn reconcile(&mut self) {
        let mut old = std::mem::take(&mut self.subchannels);
        let mut subs = Vec::with_capacity(self.addresses.len());
        for address in &self.addresses {
            if let Some(pos) = old.iter().position(|s| &s.address == address) {
                subs.push(old.swap_remove(pos));
                continue;
            }
            let id = SubchannelId(self.next_id);
            self.next_id += 1;
            self.out.push(Action::Create {
                id,
                address: address.clone(),
            });
            subs.push(Sub {
                id,
                address: address.clone(),
                state: ConnectivityState::Idle,
                asked: false,
                failed: false,
            });
        }
        for sub in old {
            self.remove(sub);
        }
        self.subchannels = subs;
    }

    fn start_pass(&mut self, now: Instant) {
        self.reconcile();
        for sub in &mut self.subchannels {
            sub.failed = false;
        }
        self.pass = Some(Pass {
            current: 0,
            timer: None,
        });
        self.attempt(now);
    }

    /// Starts the attempt at `pass.current`, skipping subchannels that are
    /// in backoff, and arms the timer for the next one.
    fn attempt(&mut self, now: Instant) {
        let Some(pass) = self.pass.as_mut() else {
            return;
        };
        pass.timer = None;
        let len = self.subchannels.len();
        while let Some(sub) = self.subchannels.get_mut(pass.current) {
            match sub.state {
                ConnectivityState::Idle => {
                    sub.state = ConnectivityState::Connecting;
                    sub.asked = true;
                    self.out.push(Action::Connect(sub.id));
                }
                // Already trying (kept from an earlier pass): wait for it.
                ConnectivityState::Connecting => {}
                // In backoff: it retries by itself; go on to the next.
                ConnectivityState::TransientFailure if pass.current + 1 < len => {
                    pass.current += 1;
                    continue;
                }
                _ => return,
            }
            if pass.current + 1 < len {
                pass.timer = Some(now + self.attempt_delay);
            }
            return;
        }
    }

    /// The newest attempt failed, or its delay passed: start the next one.
    fn next_attempt(&mut self, now: Instant) {
        let len = self.subchannels.len();
        if let Some(pass) = self.pass.as_mut() {
            pass.timer = None;
            if pass.current + 1 < len {
                pass.current += 1;
                self.attempt(now);
            }
        }
    }

    fn win(&mut self, pos: usize) {
        let mut winner = self.subchannels.remove(pos);
        winner.state = ConnectivityState::Ready;
        let id = winner.id;
        self.remove_all();
        if let Some(old) = self.selected.replace(winner) {
            self.remove(old);
        }
        self.pass = None;
        self.sticky = false;
        self.failures = 0;
        self.set_state(
            ConnectivityState::Ready,
            PickerSpec::Ready {
                ready: vec![id],
                start: 0,
            },
        );
    }

    /// The selected subchannel left READY (its connection was lost).
    fn lose_selected(&mut self, state: ConnectivityState) {
        let Some(mut sub) = self.selected.take() else {
            return;
        };
        self.out.push(Action::ResolveNow);
        sub.state = state;
        if self.pass.is_some() {
            // Its address left the list; the pass for the new one goes on.
            self.remove(sub);
            self.set_state(ConnectivityState::Connecting, PickerSpec::Queue);
        } else {
            self.subchannels.push(sub);
            self.set_state(ConnectivityState::Idle, PickerSpec::Queue);
        }
    }

    /// The selected subchannel went READY -> TRANSIENT_FAILURE: its
    /// connection is up but its health check says it is not serving (only
    /// with health checking under pick_first). Move on to the next address
    /// now (the pass skips it while it is in TRANSIENT_FAILURE; it wins
    /// again if it is the first to be READY) rather than wait in IDLE.
    fn unhealthy_selected(&mut self, now: Instant) {
        let Some(mut sub) = self.selected.take() else {
            return;
        };
        sub.state = ConnectivityState::TransientFailure;
        if self.pass.is_some() {
            self.remove(sub);
        } else {
            self.subchannels.push(sub);
        }
        self.set_state(ConnectivityState::Connecting, PickerSpec::Queue);
        if self.pass.is_none() && !self.addresses.is_empty() {
            self.start_pass(now);
        }
    }

    fn end_pass_if_all_failed(&mut self) {
        if self.pass.is_none() || !self.subchannels.iter().all(|s| s.failed) {
            return;
        }
        self.pass = None;
        if let Some(old) = self.selected.take() {
            self.remove(old);
        }
        self.sticky = true;
        self.failures = 0;
        self.out.push(Action::ResolveNow);
        let picker = self.fail_picker();
        self.set_state(ConnectivityState::TransientFailure, picker);
    }

    fn failed(&mut self, pos: usize, error: Option<&Status>, now: Instant) {
        if let Some(e) = error {
            self.last_error = Some(e.clone());
        }
        if let Some(sub) = self.subchannels.get_mut(pos) {
            sub.state = ConnectivityState::TransientFailure;
            sub.failed = true;
        }
        if let Some(pass) = &self.pass {
            if pass.current == pos {
                self.next_attempt(now);
            }
            self.end_pass_if_all_failed();
        } else if self.sticky {
            self.failures += 1;
            if self.failures >= self.subchannels.len() {
                self.failures = 0;
                self.out.push(Action::ResolveNow);
            }
        }
        if self.sticky && self.state == ConnectivityState::TransientFailure {
            // The newest error, for the calls that fail now.
            let picker = self.fail_picker();
            self.set_state(ConnectivityState::TransientFailure, picker);
        }
    }
}

impl Policy for PickFirst {
    fn update_addresses(&mut self, addresses: &[Address], now: Instant) {
        let list = self.prepare(addresses);
        self.addresses = list;
        if self.addresses.is_empty() {
            self.pass = None;
            self.remove_all();
            if let Some(old) = self.selected.take() {
                self.remove(old);
            }
            self.sticky = false;
            self.out.push(Action::ResolveNow);
            self.set_state(
                ConnectivityState::TransientFailure,
                PickerSpec::Fail(Status::unavailable(
                    "pick_first: the resolver returned no addresses",
                )),
            );
            return;
        }
        if let Some(selected) = &self.selected {
            if self.addresses.contains(&selected.address) {
                // Keep the connection; drop a pass started by an earlier list.
                self.pass = None;
                self.remove_all();
            } else {
                self.start_pass(now);
            }
            return;
        }
        match self.state {
            ConnectivityState::Idle => {
                // Lazy: drop a leftover whose address is gone, connect later.
                let (keep, gone) = std::mem::take(&mut self.subchannels)
                    .into_iter()
                    .partition(|s| self.addresses.contains(&s.address));
                self.subchannels = keep;
                for sub in gone {
                    self.remove(sub);
                }
                self.set_state(ConnectivityState::Idle, PickerSpec::Queue);
            }
            ConnectivityState::Connecting => self.start_pass(now),
            ConnectivityState::TransientFailure => {
                if !self.sticky {
                    self.set_state(ConnectivityState::Connecting, PickerSpec::Queue);
                }
                self.start_pass(now);
            }
            ConnectivityState::Ready | ConnectivityState::Shutdown => {}
        }
    }

    fn resolver_error(&mut self, status: Status, _now: Instant) {
        if self.selected.is_some() || !self.addresses.is_empty() {
            return; // keep using the last list
        }
        self.sticky = false;
        self.set_state(
            ConnectivityState::TransientFailure,
            PickerSpec::Fail(status),
        );
    }

    fn subchannel_state(
        &mut self,
        id: SubchannelId,
        state: ConnectivityState,
        error: Option<&Status>,
        now: Instant,
    ) {
        if self.selected.as_ref().map(|s| s.id) == Some(id) {
            if state == ConnectivityState::TransientFailure {
                self.unhealthy_selected(now);
            } else if state != ConnectivityState::Ready {
                self.lose_selected(state);
            }
            return;
        }
        let Some(pos) = self.subchannels.iter().position(|s| s.id == id) else {
            return; // removed already
        };
        match state {
            ConnectivityState::Ready => self.win(pos),
            ConnectivityState::TransientFailure => self.failed(pos, error, now),
            ConnectivityState::Connecting => self.subchannels[pos].state = state,
            ConnectivityState::Idle => {
                let trying = self.pass.is_some() || self.sticky;
                let sub = &mut self.subchannels[pos];
                sub.state = state;
                if trying && sub.asked {
                    sub.state = ConnectivityState::Connecting;
                    self.out.push(Action::Connect(id));
                }
            }
            ConnectivityState::Shutdown => {}
        }
    }

    fn exit_idle(&mut self, now: Instant) {
        if self.state != ConnectivityState::Idle || self.selected.is_some() {
            return;
        }
        self.set_state(ConnectivityState::Connecting, PickerSpec::Queue);
        if !self.addresses.is_empty() {
            self.start_pass(now);
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        let due = self
            .pass
            .as_ref()
            .and_then(|p| p.timer)
            .is_some_and(|t| t <= now);
        if due {
            self.next_attempt(now);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.pass.as_ref().and_then(|p| p.timer)
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.out.pop()
    }
}

#[cfg(test)]
#[path = "pick_first_tests.rs"]
mod tests;
