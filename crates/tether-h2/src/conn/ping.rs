//! PINGs we send (user, keepalive, BDP) and the BDP window estimator.
//!
//! Each kind has its own payload tag in the first octet and a counter in the
//! other seven, so an ACK tells which ping it answers. An ACK whose payload we
//! never sent is ignored (§6.7 gives it no meaning).

use super::PingId;
use std::time::{Duration, Instant};

/// Who asked for a PING.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PingKind {
    /// [`super::Connection::ping`].
    User(PingId),
    /// The keepalive timer (gRFC A8).
    Keepalive,
    /// The BDP estimator.
    Bdp,
}

impl PingKind {
    fn tag(self) -> u8 {
        match self {
            PingKind::User(_) => b'u',
            PingKind::Keepalive => b'k',
            PingKind::Bdp => b'b',
        }
    }
}

/// The most user PINGs ([`super::Connection::ping`]) unacknowledged at once;
/// past it `ping` is refused with [`super::CallError::TooManyPings`].
pub(crate) const MAX_USER_PINGS: usize = 32;

/// The most PINGs of all kinds unacknowledged at once: the user's, plus one
/// keepalive PING (never a second while one is in flight) and one BDP PING
/// (the estimator waits for its ACK). A server that never ACKs can so not
/// make the table grow (RFC 9113 §6.7 obliges it to ACK, but §10.5 asks us to
/// bound what a peer can make us hold).
const MAX_OUTSTANDING: usize = MAX_USER_PINGS + 2;

/// PINGs sent and not yet acknowledged.
#[derive(Debug, Default)]
pub(crate) struct Pings {
    counter: u64,
    outstanding: Vec<([u8; 8], PingKind, Instant)>,
}

impl Pings {
    /// A fresh id for a user ping.
    pub(crate) fn next_user_id(&mut self) -> PingId {
        self.counter = self.counter.wrapping_add(1);
        PingId(self.counter)
    }

    /// Records a PING of `kind` sent at `now`; returns its payload.
    pub(crate) fn start(&mut self, kind: PingKind, now: Instant) -> [u8; 8] {
        self.counter = self.counter.wrapping_add(1);
        let n = match kind {
            PingKind::User(id) => id.0,
            _ => self.counter,
        };
        let mut payload = n.to_be_bytes();
        payload[0] = kind.tag();
        if self.outstanding.len() >= MAX_OUTSTANDING {
            // Not reached through `Connection` (each kind is bounded before
            // it gets here); kept as a backstop: forget the oldest.
            self.outstanding.remove(0);
        }
        self.outstanding.push((payload, kind, now));
        payload
    }

    /// An ACK arrived at `now`: which ping it answers and the RTT, if it is ours.
    pub(crate) fn ack(&mut self, payload: [u8; 8], now: Instant) -> Option<(PingKind, Duration)> {
        let i = self.outstanding.iter().position(|p| p.0 == payload)?;
        let (_, kind, sent) = self.outstanding.swap_remove(i);
        Some((kind, now.saturating_duration_since(sent)))
    }

    /// How many PINGs are unanswered.
    pub(crate) fn len(&self) -> usize {
        self.outstanding.len()
    }

    /// How many user PINGs are unanswered.
    pub(crate) fn user_count(&self) -> usize {
        self.outstanding
            .iter()
            .filter(|p| matches!(p.1, PingKind::User(_)))
            .count()
    }

    /// Whether a PING of `kind` is unanswered.
    pub(crate) fn outstanding(&self, kind: PingKind) -> bool {
        self.outstanding.iter().any(|p| p.1 == kind)
    }

    /// Forgets unanswered pings of `kind`.
    pub(crate) fn forget(&mut self, kind: PingKind) {
        self.outstanding.retain(|p| p.1 != kind);
    }
}

/// The largest window the estimator grows to (as grpc-go's `bdpLimit`).
pub(crate) const BDP_LIMIT: u32 = 16 * 1024 * 1024;

/// Bandwidth-delay product estimation: while a BDP PING is in flight, count
/// the DATA octets received; when the count reaches 2/3 of the window, the
/// window limits throughput, so grow it to twice the count.
#[derive(Debug)]
pub(crate) struct Bdp {
    window: u32,
    sample: u64,
    pinging: bool,
}

impl Bdp {
    /// An estimator starting from the current stream window.
    pub(crate) fn new(window: u32) -> Bdp {
        Bdp {
            window,
            sample: 0,
            pinging: false,
        }
    }

    /// `n` flow-controlled octets arrived; returns whether to send a BDP PING.
    pub(crate) fn on_data(&mut self, n: u32) -> bool {
        if self.window >= BDP_LIMIT {
            return false;
        }
        self.sample = self.sample.saturating_add(u64::from(n));
        if self.pinging {
            return false;
        }
        self.pinging = true;
        true
    }

    /// The BDP PING was acknowledged: the new window, if it should grow.
    pub(crate) fn on_ack(&mut self) -> Option<u32> {
        let sample = std::mem::take(&mut self.sample);
        self.pinging = false;
        if sample.saturating_mul(3) < u64::from(self.window).saturating_mul(2) {
            return None;
        }
        let new = sample.saturating_mul(2).min(u64::from(BDP_LIMIT));
        let new = u32::try_from(new).ok()?;
        if new <= self.window {
            return None;
        }
        self.window = new;
        Some(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_match_their_ping_and_measure_rtt() {
        let t0 = Instant::now();
        let mut p = Pings::default();
        let id = p.next_user_id();
        let user = p.start(PingKind::User(id), t0);
        let ka = p.start(PingKind::Keepalive, t0 + Duration::from_millis(5));
        assert_ne!(user, ka);
        assert_eq!(user[0], b'u');
        assert_eq!(ka[0], b'k');
        assert!(p.outstanding(PingKind::Keepalive));
        assert_eq!(p.ack([0; 8], t0), None);
        let t1 = t0 + Duration::from_millis(30);
        assert_eq!(
            p.ack(ka, t1),
            Some((PingKind::Keepalive, Duration::from_millis(25)))
        );
        assert_eq!(p.ack(ka, t1), None);
        assert_eq!(
            p.ack(user, t1),
            Some((PingKind::User(id), Duration::from_millis(30)))
        );
        assert!(!p.outstanding(PingKind::Keepalive));
    }

    #[test]
    fn bdp_grows_when_the_window_is_the_bottleneck() {
        let mut b = Bdp::new(65_535);
        assert!(b.on_data(16_384));
        assert!(!b.on_data(16_384));
        // 32 KiB < 2/3 of 64 KiB: no growth.
        assert_eq!(b.on_ack(), None);
        assert!(b.on_data(30_000));
        assert!(!b.on_data(20_000));
        assert_eq!(b.on_ack(), Some(100_000));
        assert!(b.on_data(10_000_000));
        assert_eq!(b.on_ack(), Some(BDP_LIMIT));
        assert!(!b.on_data(1));
    }
}
