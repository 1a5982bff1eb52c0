//! The picker calls read: a snapshot the control task swaps whenever its
//! policy publishes one (no channel-wide lock on the call path).

use crate::status::Status;
use crate::subchannel::conn::Lease;
use crate::subchannel::{Pick, Subchannel};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How calls are routed now.
#[derive(Debug)]
pub(crate) enum Picker {
    /// The channel is IDLE: a call asks it to connect, then waits.
    Idle,
    /// Not READY yet: calls wait for the next picker.
    Queue,
    /// Calls fail with this status (wait-for-ready calls wait).
    Fail(Status),
    /// READY subchannels, taken in turn.
    Ready {
        subchannels: Box<[Arc<Subchannel>]>,
        next: AtomicUsize,
    },
    /// READY subchannels, the cheaper of two drawn at random (peak_ewma).
    P2c {
        subchannels: Box<[Arc<Subchannel>]>,
        /// Draws (SplitMix64 state).
        rng: AtomicU64,
        /// The moving average's time constant.
        decay: Duration,
    },
    /// The channel is closed.
    Shutdown,
}

/// What a pick found.
pub(crate) enum Picked {
    Lease(Lease),
    /// A subchannel expects room soon (replacement or extra connection).
    Wait(Arc<Subchannel>),
    /// Nothing usable in this picker.
    None,
}

impl Picker {
    /// A ready picker whose rotation starts at `start`.
    pub(crate) fn ready(subchannels: Vec<Arc<Subchannel>>, start: usize) -> Picker {
        Picker::Ready {
            subchannels: subchannels.into_boxed_slice(),
            next: AtomicUsize::new(start),
        }
    }

    /// A peak_ewma picker over `subchannels`.
    pub(crate) fn p2c(subchannels: Vec<Arc<Subchannel>>, seed: u64, decay: Duration) -> Picker {
        Picker::P2c {
            subchannels: subchannels.into_boxed_slice(),
            rng: AtomicU64::new(seed),
            decay,
        }
    }

    /// Power of two choices: two distinct READY subchannels drawn at
    /// random, the call goes to the one with the lower cost (peak EWMA
    /// latency × (calls waiting + 1)); if it has no usable connection, to
    /// the other, else to any in turn. The lease is scored: its latency
    /// feeds the subchannel's estimate.
    pub(crate) fn pick_p2c(
        subchannels: &[Arc<Subchannel>],
        rng: &AtomicU64,
        decay: Duration,
        now_ns: u64,
    ) -> Picked {
        score(
            Picker::choose_p2c(subchannels, rng, decay, now_ns),
            now_ns,
            decay,
        )
    }

    /// [`Picker::pick_p2c`] without scoring the lease (the choice alone).
    pub(crate) fn choose_p2c(
        subchannels: &[Arc<Subchannel>],
        rng: &AtomicU64,
        decay: Duration,
        now_ns: u64,
    ) -> Picked {
        let n = subchannels.len();
        if n < 2 {
            return Picker::pick_ready(subchannels, &AtomicUsize::new(0));
        }
        // A plain load and store, not a read-modify-write: two racing
        // calls may draw the same pair, which costs nothing but a
        // coincidence, and the pick saves a locked instruction.
        let state = rng
            .load(Ordering::Relaxed)
            .wrapping_add(crate::lb::rng::GAMMA);
        rng.store(state, Ordering::Relaxed);
        let r = crate::lb::rng::mix(state);
        let (a, b) = crate::lb::two_choices(r, n);
        let (sa, sb) = (&subchannels[a], &subchannels[b]);
        let (first, second) = if sb.score().cost(now_ns, decay) < sa.score().cost(now_ns, decay) {
            (sb, sa)
        } else {
            (sa, sb)
        };
        let mut wait = None;
        for sub in [first, second] {
            match sub.pick() {
                Pick::Lease(lease) => return Picked::Lease(lease),
                Pick::Wait => wait = wait.or_else(|| Some(sub.clone())),
                Pick::Unavailable => {}
            }
        }
        match Picker::pick_ready(subchannels, &AtomicUsize::new(r as usize)) {
            Picked::None => wait.map_or(Picked::None, Picked::Wait),
            picked => picked,
        }
    }

    /// Round robin over the READY subchannels: the next one in turn, or
    /// the one after it when that one has no usable connection any more.
    pub(crate) fn pick_ready(subchannels: &[Arc<Subchannel>], next: &AtomicUsize) -> Picked {
        let n = subchannels.len();
        if n == 0 {
            return Picked::None;
        }
        let start = next.fetch_add(1, Ordering::Relaxed);
        let mut wait = None;
        for k in 0..n {
            let sub = &subchannels[(start.wrapping_add(k)) % n];
            match sub.pick() {
                Pick::Lease(lease) => return Picked::Lease(lease),
                Pick::Wait => {
                    if wait.is_none() {
                        wait = Some(sub.clone());
                    }
                }
                Pick::Unavailable => {}
            }
        }
        match wait {
            Some(sub) => Picked::Wait(sub),
            None => Picked::None,
        }
    }
}

/// Starts scoring a picked lease.
fn score(picked: Picked, now_ns: u64, decay: Duration) -> Picked {
    match picked {
        Picked::Lease(mut lease) => {
            lease.start_scoring(now_ns, decay);
            Picked::Lease(lease)
        }
        other => other,
    }
}
