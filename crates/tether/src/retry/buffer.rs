//! The request side of a streaming call that may be retried or hedged:
//! the messages sent so far are kept (within limits) so that a new attempt
//! can be sent the whole request again, and every live attempt is fed the
//! messages that follow.

use crate::driver::slot::{Slot, SEND_BACKLOG};
use crate::driver::{Command, ConnHandle};
use crate::status::Status;
use bytes::Bytes;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// grpc-java's defaults (gRFC A6 leaves them to the client): 16 MiB of
/// request messages kept for retries per channel, 1 MiB per call.
pub(crate) const DEFAULT_CHANNEL_LIMIT: usize = 16 << 20;
pub(crate) const DEFAULT_CALL_LIMIT: usize = 1 << 20;

/// The retry buffer's memory across a channel's calls.
#[derive(Debug)]
pub(crate) struct Budget {
    used: AtomicUsize,
    limit: usize,
    per_call: usize,
}

impl Budget {
    pub(crate) fn new(limit: usize, per_call: usize) -> Budget {
        Budget {
            used: AtomicUsize::new(0),
            limit,
            per_call: per_call.min(limit),
        }
    }

    /// Reserves `n` more bytes for a call that holds `held` already; false
    /// (nothing reserved) when the call or the channel would go over.
    pub(crate) fn try_take(&self, held: usize, n: usize) -> bool {
        if held.saturating_add(n) > self.per_call {
            return false;
        }
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(n).filter(|&t| t <= self.limit)
            })
            .is_ok()
    }

    pub(crate) fn give_back(&self, n: usize) {
        if n > 0 {
            self.used.fetch_sub(n, Ordering::AcqRel);
        }
    }

    /// Bytes held now, across the channel.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// Shared by a streaming call and the task pumping its request stream.
#[derive(Debug)]
pub(crate) struct Outbound {
    budget: Arc<Budget>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The encoded messages sent so far, while the call may still retry.
    kept: Vec<Bytes>,
    kept_bytes: usize,
    /// Messages handed to attempts so far (kept or not).
    sent: usize,
    /// The request stream has ended.
    ended: bool,
    /// Messages are kept for new attempts (until the call commits).
    keeping: bool,
    /// The call has a retry or hedging policy (else only transparent
    /// retries of attempts that ended unprocessed follow).
    policy: bool,
    /// An attempt ended with a status and no policy can follow it: the
    /// request stream is over.
    over: bool,
    /// The buffer outgrew its limits: the call must commit.
    overflowed: bool,
    /// A request message failed to encode: the call ends with it.
    error: Option<Status>,
    /// The attempts being fed.
    targets: Vec<(Arc<Slot>, ConnHandle)>,
    /// The call is over: the pump stops.
    closed: bool,
    /// The pump, waiting for room, a target or the next message.
    pump: Option<Waker>,
    /// The call, to hear about an overflow or an error.
    call: Option<Waker>,
}

impl Outbound {
    /// `keeping`: whether messages are kept for retries at all (the call
    /// has a retry or hedging policy).
    pub(crate) fn new(budget: Arc<Budget>, keeping: bool, policy: bool) -> Outbound {
        Outbound {
            budget,
            state: Mutex::new(State {
                kept: Vec::new(),
                kept_bytes: 0,
                sent: 0,
                ended: false,
                keeping,
                policy,
                over: false,
                overflowed: false,
                error: None,
                targets: Vec::new(),
                closed: false,
                pump: None,
                call: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts feeding a new attempt: it is first given every message sent
    /// so far (and END_STREAM if the stream ended). False when that is
    /// impossible: messages were sent that are no longer kept.
    pub(crate) fn attach(&self, slot: &Arc<Slot>, conn: &ConnHandle) -> bool {
        let mut st = self.lock();
        if st.closed || (st.sent > 0 && !st.keeping) {
            return false;
        }
        {
            let mut s = slot.lock();
            for m in &st.kept {
                s.send_bytes += m.len();
                s.send_queue.push_back(m.clone());
            }
            s.send_end = st.ended;
        }
        st.targets.push((slot.clone(), conn.clone()));
        if let Some(w) = st.pump.take() {
            w.wake();
        }
        true
    }

    /// Whether a new attempt could be given the whole request.
    pub(crate) fn can_replay(&self) -> bool {
        let st = self.lock();
        !st.closed && (st.sent == 0 || st.keeping)
    }

    /// The call committed to the attempt of `slot`: nothing more is kept
    /// (the memory goes back to the channel), the other attempts are no
    /// longer fed.
    pub(crate) fn commit(&self, slot: &Arc<Slot>) {
        let mut st = self.lock();
        self.release(&mut st);
        st.targets.retain(|(s, _)| Arc::ptr_eq(s, slot));
        // It may wait on an attempt no longer fed.
        if let Some(w) = st.pump.take() {
            w.wake();
        }
    }

    fn release(&self, st: &mut State) {
        st.keeping = false;
        st.kept = Vec::new();
        self.budget.give_back(std::mem::take(&mut st.kept_bytes));
    }

    /// The call is over: the pump stops, the memory goes back.
    pub(crate) fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        self.release(&mut st);
        st.targets.clear();
        if let Some(w) = st.pump.take() {
            w.wake();
        }
    }

    /// Whether the buffer overflowed (the call must commit), and an
    /// encoding error to end the call with; registers the call's waker.
    pub(crate) fn poll_state(&self, cx: &mut Context<'_>) -> (bool, Option<Status>) {
        let mut st = self.lock();
        st.call = Some(cx.waker().clone());
        (st.overflowed, st.error.take())
    }

    /// Ready(true) when every attempt fed has room for another message (or
    /// none is fed), Ready(false) once the call is over.
    fn poll_room(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut st = self.lock();
        if st.closed || st.over {
            return Poll::Ready(false);
        }
        let mut ended = false;
        st.targets.retain(|(s, _)| {
            let s = s.lock();
            ended |= s.done && !s.retry;
            !s.done
        });
        if st.targets.is_empty() && ended && !st.policy {
            // The attempt ended with a status (not unprocessed) and no
            // policy may retry it: the sender sees the end, as without
            // retries.
            st.over = true;
            return Poll::Ready(false);
        }
        if st.targets.is_empty() {
            if st.keeping {
                // Between attempts: the next one starts only when the call
                // is polled, which an application may do only after
                // sending everything; so messages go to the buffer
                // meanwhile (bounded: past its limits the call commits).
                return Poll::Ready(true);
            }
            if st.sent > 0 {
                // Nothing can be replayed: the call is over for the
                // request stream (its sender sees the end).
                return Poll::Ready(false);
            }
            // A transparent retry of an attempt nothing was sent on.
            st.pump = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let mut full = false;
        for (slot, _) in &st.targets {
            let mut s = slot.lock();
            if s.send_bytes >= SEND_BACKLOG {
                s.send_waker = Some(cx.waker().clone());
                full = true;
                break;
            }
        }
        if full {
            st.pump = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(true)
    }

    /// Registers the pump's waker (with the call and with each attempt
    /// fed, so that an attempt's end wakes it); true once the call is over.
    fn closed(&self, cx: &mut Context<'_>) -> bool {
        let mut st = self.lock();
        st.pump = Some(cx.waker().clone());
        for (slot, _) in &st.targets {
            let mut s = slot.lock();
            if s.done {
                return !st.policy && !s.retry || st.closed;
            }
            s.send_waker = Some(cx.waker().clone());
        }
        st.closed
    }

    /// Hands one encoded message to every attempt fed, keeping it while
    /// the call may retry.
    fn push(&self, message: Bytes) {
        let mut st = self.lock();
        st.sent += 1;
        if st.keeping {
            if self.budget.try_take(st.kept_bytes, message.len()) {
                st.kept_bytes += message.len();
                st.kept.push(message.clone());
            } else {
                self.release(&mut st);
                st.overflowed = true;
                if let Some(w) = st.call.take() {
                    w.wake();
                }
            }
        }
        for (slot, conn) in &st.targets {
            let mut s = slot.lock();
            if s.done {
                continue;
            }
            let was_empty = s.send_queue.is_empty();
            s.send_bytes += message.len();
            s.send_queue.push_back(message.clone());
            drop(s);
            if was_empty {
                conn.send(Command::Pump(slot.clone()));
            }
        }
    }

    /// The request stream ended: END_STREAM on every attempt fed.
    fn finish(&self) {
        let mut st = self.lock();
        st.ended = true;
        for (slot, conn) in &st.targets {
            slot.lock().send_end = true;
            conn.send(Command::Pump(slot.clone()));
        }
    }

    /// A message failed to encode: the call ends with `status`.
    fn fail(&self, status: Status) {
        let mut st = self.lock();
        st.error = Some(status);
        if let Some(w) = st.call.take() {
            w.wake();
        }
    }
}

/// Pulls the request stream of a client-streaming or bidirectional call
/// as the attempts' send queues have room, encodes each message and hands
/// it to every live attempt; then END_STREAM. Stops when the call ends.
pub(crate) async fn pump_requests<C, S>(
    out: Arc<Outbound>,
    stream: S,
    codec: Arc<Mutex<C>>,
    max_send: usize,
    encoding: crate::grpc::Encoding,
) where
    C: crate::codec::Codec,
    S: futures_core::Stream<Item = C::Encode>,
{
    use std::future::poll_fn;
    let mut stream = std::pin::pin!(stream);
    loop {
        if !poll_fn(|cx| out.poll_room(cx)).await {
            return;
        }
        let next = poll_fn(|cx| {
            if out.closed(cx) {
                return Poll::Ready(None);
            }
            stream.as_mut().poll_next(cx).map(Some)
        })
        .await;
        let Some(item) = next else { return };
        let Some(item) = item else {
            out.finish();
            return;
        };
        let mut buf = bytes::BytesMut::new();
        let encoded = {
            let mut codec = codec.lock().unwrap_or_else(|e| e.into_inner());
            crate::grpc::encode_message_with(&mut *codec, &item, &mut buf, max_send, encoding)
        };
        match encoded {
            Ok(()) => out.push(buf.freeze()),
            Err(status) => {
                out.fail(status);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::{CallRecv, Cardinality, RequestHead, Scheme};

    fn slot() -> Arc<Slot> {
        let head = RequestHead::new(Scheme::Http, "a", "/p.S/M");
        Arc::new(Slot::new(head, None, CallRecv::new(Cardinality::Streaming)))
    }

    fn queued(slot: &Slot) -> Vec<Bytes> {
        slot.lock().send_queue.iter().cloned().collect()
    }

    /// A later attempt gets every message sent so far, then the rest; the
    /// first attempt only what followed its attach.
    #[test]
    fn attempts_get_the_whole_request() {
        let out = Outbound::new(Arc::new(Budget::new(1 << 20, 1 << 10)), true, true);
        let (conn, _rx) = ConnHandle::detached(1);
        let first = slot();
        assert!(out.attach(&first, &conn));
        out.push(Bytes::from_static(b"a"));
        out.push(Bytes::from_static(b"b"));
        first.lock().done = true; // the first attempt failed
        let second = slot();
        assert!(out.attach(&second, &conn));
        out.push(Bytes::from_static(b"c"));
        out.finish();
        assert_eq!(
            queued(&first),
            ["a", "b"].map(|m| Bytes::from_static(m.as_bytes()))
        );
        assert_eq!(
            queued(&second),
            ["a", "b", "c"].map(|m| Bytes::from_static(m.as_bytes()))
        );
        assert!(second.lock().send_end);
        assert_eq!(second.lock().send_bytes, 3);
        out.close();
        assert!(!out.attach(&slot(), &conn), "attached after the end");
    }

    /// Past the per-call limit nothing is kept: the call must commit, no
    /// new attempt can be fed, and the channel's budget is given back.
    #[test]
    fn overflow_releases_the_buffer_and_forbids_replay() {
        let budget = Arc::new(Budget::new(1 << 20, 10));
        let out = Outbound::new(budget.clone(), true, true);
        let (conn, _rx) = ConnHandle::detached(1);
        let first = slot();
        assert!(out.attach(&first, &conn));
        out.push(Bytes::from_static(b"123456"));
        assert_eq!(budget.used(), 6);
        assert!(out.can_replay());
        out.push(Bytes::from_static(b"7890ab"));
        assert_eq!(budget.used(), 0, "the kept bytes went back");
        assert!(!out.can_replay());
        assert!(!out.attach(&slot(), &conn));
        struct Noop;
        impl std::task::Wake for Noop {
            fn wake(self: Arc<Self>) {}
        }
        let waker = Waker::from(Arc::new(Noop));
        let (overflowed, error) = out.poll_state(&mut Context::from_waker(&waker));
        assert!(overflowed && error.is_none());
        // The live attempt still gets every message.
        assert_eq!(queued(&first).len(), 2);
    }

    /// An attempt that never left the client (the driver marks it retry
    /// and done) is no longer fed: the pump does not wait for room on it.
    /// (Found in review: the driver set only `retry`, and the pump stalled
    /// on the dead attempt's full queue.)
    #[test]
    fn an_unsent_attempt_does_not_stall_the_pump() {
        let out = Outbound::new(Arc::new(Budget::new(16 << 20, 1 << 20)), true, true);
        let (conn, _rx) = ConnHandle::detached(1);
        let dead = slot();
        assert!(out.attach(&dead, &conn));
        {
            let mut s = dead.lock();
            s.retry = true;
            s.done = true;
        }
        let live = slot();
        assert!(out.attach(&live, &conn));
        for _ in 0..65 {
            out.push(Bytes::from(vec![0u8; 1024]));
        }
        {
            let mut s = live.lock();
            s.send_queue.clear();
            s.send_bytes = 0;
        }
        struct Noop;
        impl std::task::Wake for Noop {
            fn wake(self: Arc<Self>) {}
        }
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        assert!(
            out.poll_room(&mut cx).is_ready(),
            "the pump waits on a dead attempt"
        );
        assert_eq!(dead.lock().send_bytes, 0, "a dead attempt was fed");
    }

    /// Committing frees the buffer at once.
    #[test]
    fn commit_frees_the_buffer() {
        let budget = Arc::new(Budget::new(1 << 20, 1 << 10));
        let out = Outbound::new(budget.clone(), true, true);
        let (conn, _rx) = ConnHandle::detached(1);
        let first = slot();
        assert!(out.attach(&first, &conn));
        out.push(Bytes::from_static(b"abc"));
        assert_eq!(budget.used(), 3);
        out.commit(&first);
        assert_eq!(budget.used(), 0);
        out.push(Bytes::from_static(b"def"));
        assert_eq!(budget.used(), 0, "nothing kept after the commit");
        assert_eq!(queued(&first).len(), 2);
    }

    #[test]
    fn budget_limits_per_call_and_per_channel() {
        let b = Budget::new(100, 60);
        assert!(b.try_take(0, 60));
        assert!(!b.try_take(60, 1), "the call's limit");
        assert!(b.try_take(0, 40));
        assert!(!b.try_take(0, 1), "the channel's limit");
        assert_eq!(b.used(), 100);
        b.give_back(60);
        assert!(b.try_take(0, 50));
        assert_eq!(b.used(), 90);
    }
}
