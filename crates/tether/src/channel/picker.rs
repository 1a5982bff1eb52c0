//! The picker calls read: a snapshot the control task swaps whenever its
//! policy publishes one (no channel-wide lock on the call path).

use crate::status::Status;
use crate::subchannel::conn::Lease;
use crate::subchannel::{Pick, Subchannel};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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
