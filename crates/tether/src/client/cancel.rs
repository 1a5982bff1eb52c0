//! Explicit cancellation of calls.

use crate::driver::slot::Slot;
use crate::driver::{Command, ConnHandle};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Cancels calls: give a clone to a request with [`crate::Request::with_cancel`],
/// or take the one of a call in flight ([`crate::Streaming::cancel_handle`],
/// [`crate::ResponseFuture::cancel_handle`]); then [`CancelHandle::cancel`]
/// ends the call(s) CANCELLED: the stream is reset with RST_STREAM CANCEL
/// and the caller gets `Err(Status)` with [`crate::Code::Cancelled`].
///
/// Cheap to clone (an `Arc`), `Send + Sync`; one handle may cancel several
/// calls, and cancelling is final (later calls given it end at once).
/// A call that already has its final status is not affected.
///
/// ```no_run
/// # async fn f(channel: tether::Channel) {
/// use bytes::Bytes;
/// use tether::{BytesCodec, CancelHandle, Request};
/// let cancel = CancelHandle::new();
/// let request = Request::new(Bytes::new()).with_cancel(cancel.clone());
/// tokio::spawn(async move {
///     tokio::time::sleep(std::time::Duration::from_secs(1)).await;
///     cancel.cancel();
/// });
/// let err = channel.unary("/pkg.Svc/Slow", request, BytesCodec).await.unwrap_err();
/// assert_eq!(err.code(), tether::Code::Cancelled);
/// # }
/// ```
#[derive(Clone, Default)]
pub struct CancelHandle {
    inner: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    cancelled: bool,
    next_id: u64,
    /// The calls registered, by registration number.
    calls: HashMap<u64, Entry>,
}

#[derive(Default)]
struct Entry {
    /// The call's attempts (one, or several while hedging).
    attempts: Vec<(Arc<Slot>, ConnHandle)>,
    /// The call, waiting for a connection (or an interceptor).
    waker: Option<Waker>,
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl CancelHandle {
    /// A handle that has cancelled nothing yet.
    pub fn new() -> CancelHandle {
        CancelHandle::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cancels every call given this handle: each ends CANCELLED (RST_STREAM
    /// CANCEL on the wire when its stream is open), unless it already has
    /// its final status.
    pub fn cancel(&self) {
        let mut entries = Vec::new();
        {
            let mut st = self.lock();
            if st.cancelled {
                return;
            }
            st.cancelled = true;
            for e in st.calls.values_mut() {
                entries.push((std::mem::take(&mut e.attempts), e.waker.take()));
            }
        }
        for (attempts, waker) in entries {
            for (slot, conn) in attempts {
                cancel_attempt(&slot, &conn);
            }
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// Whether [`CancelHandle::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.lock().cancelled
    }

    /// Registers a call.
    pub(crate) fn register(&self) -> Registration {
        let mut st = self.lock();
        let id = st.next_id;
        st.next_id += 1;
        st.calls.insert(id, Entry::default());
        Registration {
            handle: self.clone(),
            id,
        }
    }
}

/// Ends an attempt CANCELLED on our side: its status replaces whatever it
/// had not yet handed to the call, and the driver resets the stream.
pub(crate) fn cancel_attempt(slot: &Arc<Slot>, conn: &ConnHandle) {
    let mut st = slot.lock();
    if st.recv.is_finished() {
        return; // the final status is decided
    }
    st.queue.clear();
    st.queued_bytes = 0;
    st.recv.cancel();
    st.collect();
    st.done = true;
    st.wake();
    st.wake_sender();
    drop(st);
    conn.send(Command::Reset(slot.clone()));
}

/// One call's place in a [`CancelHandle`], removed on drop.
pub(crate) struct Registration {
    handle: CancelHandle,
    id: u64,
}

impl Registration {
    /// The handle.
    pub(crate) fn handle(&self) -> &CancelHandle {
        &self.handle
    }

    /// Whether the handle was cancelled.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.handle.is_cancelled()
    }

    /// Ready once the handle is cancelled.
    pub(crate) fn poll_cancelled(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.handle.lock();
        if st.cancelled {
            return Poll::Ready(());
        }
        if let Some(e) = st.calls.get_mut(&self.id) {
            e.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// A (new) attempt of the call, cancelled with it; if the handle is
    /// already cancelled, the attempt is cancelled at once. Attempts that
    /// are over are forgotten.
    pub(crate) fn set_attempt(&self, slot: &Arc<Slot>, conn: &ConnHandle) {
        let mut st = self.handle.lock();
        if st.cancelled {
            drop(st);
            cancel_attempt(slot, conn);
            return;
        }
        if let Some(e) = st.calls.get_mut(&self.id) {
            e.attempts.retain(|(s, _)| !s.lock().done);
            e.attempts.push((slot.clone(), conn.clone()));
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.handle.lock().calls.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_shareable_and_cancelling_is_final() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<CancelHandle>();
        let h = CancelHandle::new();
        let reg = h.clone().register();
        assert!(!reg.is_cancelled());
        h.cancel();
        h.cancel();
        assert!(reg.is_cancelled());
        drop(reg);
        assert!(h.lock().calls.is_empty(), "a dropped registration stays");
    }
}
