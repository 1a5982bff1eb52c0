//! One connection of a subchannel as the call path sees it: its driver
//! handle, how many calls it carries, the server's stream limit, and a
//! [`Lease`] that holds one stream's place on it.

use super::Subchannel;
use crate::driver::ConnHandle;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A READY connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) handle: ConnHandle,
    /// Calls leased on it (in flight).
    load: AtomicUsize,
    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS (`usize::MAX`: none).
    max_streams: AtomicUsize,
    /// The server sent GOAWAY: no new calls here.
    draining: AtomicBool,
    /// An extra connection (A105): it closes once idle for a while.
    extra: bool,
    /// For extra connections: when the last call on it ended (ms on the
    /// channel's clock); 0 while it carries calls.
    idle_since_ms: AtomicU64,
}

impl Conn {
    pub(crate) fn new(handle: ConnHandle, max_streams: Option<u32>) -> Conn {
        Conn {
            handle,
            load: AtomicUsize::new(0),
            max_streams: AtomicUsize::new(limit(max_streams)),
            draining: AtomicBool::new(false),
            extra: false,
            idle_since_ms: AtomicU64::new(0),
        }
    }

    /// Marks an extra connection (A105), idle since `now_ms`.
    pub(crate) fn into_extra(mut self, now_ms: u64) -> Conn {
        self.extra = true;
        self.idle_since_ms = AtomicU64::new(now_ms.max(1));
        self
    }

    pub(crate) fn is_extra(&self) -> bool {
        self.extra
    }

    /// For an extra connection with no call: since when (ms), else `None`.
    pub(crate) fn idle_since_ms(&self) -> Option<u64> {
        if self.load() > 0 {
            return None;
        }
        match self.idle_since_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(ms),
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.handle.id()
    }

    pub(crate) fn load(&self) -> usize {
        self.load.load(Ordering::Relaxed)
    }

    pub(crate) fn max_streams(&self) -> usize {
        self.max_streams.load(Ordering::Relaxed)
    }

    pub(crate) fn set_max_streams(&self, max: Option<u32>) {
        self.max_streams.store(limit(max), Ordering::Relaxed);
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    pub(crate) fn set_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Whether a stream would fit under the server's limit now (SeqCst:
    /// the re-check of a call about to wait for room, paired with
    /// `Subchannel::room_freed`).
    pub(crate) fn has_room(&self) -> bool {
        self.load.load(Ordering::SeqCst) < self.max_streams()
    }

    /// Takes a stream's place if the connection has room under the
    /// server's limit.
    pub(crate) fn try_acquire(&self) -> bool {
        let max = self.max_streams();
        let prev = self.load.fetch_add(1, Ordering::AcqRel);
        if prev < max {
            return true;
        }
        self.load.fetch_sub(1, Ordering::AcqRel);
        false
    }

    /// Takes a place whatever the limit (the core queues the stream).
    pub(crate) fn acquire(&self) {
        self.load.fetch_add(1, Ordering::AcqRel);
    }

    /// Gives a place back; an extra connection left without calls notes
    /// when (the reaper closes it after the idle period).
    fn release(&self, sub: &Subchannel) {
        // SeqCst: see `has_room`.
        if self.load.fetch_sub(1, Ordering::SeqCst) == 1 && self.extra {
            self.idle_since_ms
                .store(sub.shared.now_ms().max(1), Ordering::Relaxed);
        }
    }
}

fn limit(max: Option<u32>) -> usize {
    max.map_or(usize::MAX, |m| m as usize)
}

/// One call's place on a connection; gives it back when dropped (and wakes
/// calls waiting for room on the subchannel).
#[derive(Debug)]
pub(crate) struct Lease {
    conn: Arc<Conn>,
    sub: Arc<Subchannel>,
    /// Under peak_ewma: when the call was picked (ns on the channel's
    /// clock) and the estimate's time constant, until its first response.
    scoring: Option<(u64, Duration)>,
    /// How the call ended, when it did: counted for outlier detection
    /// when the lease is given back.
    outcome: Option<bool>,
}

impl Lease {
    /// For a connection whose place was already taken.
    pub(crate) fn new(conn: Arc<Conn>, sub: Arc<Subchannel>) -> Lease {
        Lease {
            conn,
            sub,
            scoring: None,
            outcome: None,
        }
    }

    pub(crate) fn handle(&self) -> &ConnHandle {
        &self.conn.handle
    }

    /// The call's latency feeds its subchannel's score (peak_ewma).
    pub(crate) fn start_scoring(&mut self, now_ns: u64, decay: Duration) {
        self.sub.score().start(now_ns);
        self.scoring = Some((now_ns, decay));
    }

    /// The attempt ended with `code` (counted when the lease is given
    /// back: UNAVAILABLE and DEADLINE_EXCEEDED are failures).
    pub(crate) fn set_outcome(&mut self, code: crate::Code) {
        self.outcome = Some(matches!(
            code,
            crate::Code::Unavailable | crate::Code::DeadlineExceeded
        ));
    }

    /// Stops scoring without a sample (calls whose first response waits
    /// on the client: client-streaming and bidi).
    pub(crate) fn unscore(&mut self) {
        if let Some((start, _)) = self.scoring.take() {
            self.sub.score().abandon(start);
        }
    }

    /// The attempt got its first response (headers or a status): one
    /// latency sample (once; nothing unless scored).
    pub(crate) fn responded(&mut self) {
        if let Some((start, decay)) = self.scoring.take() {
            self.sub.scored(start, decay);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Ended without a response (deadline, cancellation, lost
        // connection): its time so far is a sample too.
        self.responded();
        if let Some(failed) = self.outcome {
            self.sub.count_call(failed);
        }
        self.conn.release(&self.sub);
        self.sub.room_freed();
    }
}
