//! One call in flight: picks a connection, opens an attempt there, waits
//! for its events, retries transparently an attempt the server never
//! processed, enforces the deadline, and cancels on drop.

use crate::channel::Channel;
use crate::codec::Codec;
use crate::driver::slot::{Slot, RECV_BACKLOG, SEND_BACKLOG};
use crate::driver::{Command, ConnHandle};
use crate::grpc::{encode_message, CallRecv, Cardinality, RecvEvent, RequestHead};
use crate::status::Status;
use crate::subchannel::conn::Lease;
use bytes::{Bytes, BytesMut};
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::time::{Instant, Sleep};

/// How many times an attempt the server never processed is retried.
const TRANSPARENT_RETRIES: u8 = 2;

/// Options fixed for the whole call.
pub(crate) struct CallOptions {
    pub(crate) cardinality: Cardinality,
    pub(crate) deadline: Option<Instant>,
    pub(crate) wait_for_ready: bool,
    /// The largest response message accepted.
    pub(crate) max_recv: usize,
    /// Unary and server-streaming calls hold their whole request and can be
    /// retried on another connection.
    pub(crate) retryable: bool,
}

/// A call with an attempt in flight.
pub(crate) struct ActiveCall {
    channel: Channel,
    slot: Arc<Slot>,
    /// The attempt's place on its connection.
    lease: Lease,
    opts: CallOptions,
    sleep: Option<Pin<Box<Sleep>>>,
    retries_left: u8,
    finished: bool,
}

enum Step {
    Event(RecvEvent),
    Retry,
}

impl ActiveCall {
    /// Picks a connection and opens the first attempt.
    pub(crate) async fn start(
        channel: &Channel,
        head: RequestHead,
        body: Option<Bytes>,
        opts: CallOptions,
    ) -> Result<ActiveCall, Status> {
        let slot = Arc::new(Slot::new(head, body, new_recv(&opts)));
        let shared = channel.shared();
        shared.call_started();
        let lease = match channel.pick(opts.wait_for_ready, opts.deadline).await {
            Ok(lease) => lease,
            Err(status) => {
                shared.call_ended();
                return Err(status);
            }
        };
        let sleep = opts.deadline.map(|d| Box::pin(tokio::time::sleep_until(d)));
        let call = ActiveCall {
            channel: channel.clone(),
            slot,
            lease,
            opts,
            sleep,
            retries_left: TRANSPARENT_RETRIES,
            finished: false,
        };
        if !call.conn().send(Command::Open(call.slot.clone())) {
            call.slot.lock().retry = true;
        }
        Ok(call)
    }

    /// The attempt's slot and connection (for the request pump).
    pub(crate) fn attempt(&self) -> (Arc<Slot>, ConnHandle) {
        (self.slot.clone(), self.conn().clone())
    }

    fn conn(&self) -> &ConnHandle {
        self.lease.handle()
    }

    /// The next event; after a [`RecvEvent::Status`] nothing follows.
    pub(crate) async fn event(&mut self) -> RecvEvent {
        loop {
            match poll_fn(|cx| self.poll_step(cx)).await {
                Step::Event(e) => return e,
                Step::Retry => {
                    if let Err(status) = self.retry().await {
                        self.finished = true;
                        return RecvEvent::Status(status);
                    }
                }
            }
        }
    }

    /// The next event, without transparent retry (for response streams,
    /// which exist only after the response headers committed the call).
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<RecvEvent> {
        self.poll_step(cx).map(|step| match step {
            Step::Event(e) => e,
            Step::Retry => {
                self.finished = true;
                RecvEvent::Status(Status::unavailable("stream refused by the server"))
            }
        })
    }

    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        if self.finished {
            return Poll::Ready(Step::Event(RecvEvent::Status(Status::internal(
                "call already ended",
            ))));
        }
        let deadline_passed = self
            .sleep
            .as_mut()
            .is_some_and(|s| s.as_mut().poll(cx).is_ready());
        let mut st = self.slot.lock();
        if deadline_passed && !st.recv.is_finished() && !st.retry {
            self.sleep = None;
            st.recv.handle_deadline();
            st.collect();
            st.done = true;
            drop(st);
            self.conn().send(Command::Reset(self.slot.clone()));
            st = self.slot.lock();
        }
        if let Some(event) = st.queue.pop_front() {
            match &event {
                RecvEvent::Message(m) => {
                    st.queued_bytes -= m.len() + crate::grpc::framing::PREFIX_LEN;
                    if st.queued_bytes <= RECV_BACKLOG
                        && st.unreleased > 0
                        && !st.release_asked
                        && !st.done
                    {
                        st.release_asked = true;
                        self.conn().send(Command::Release(self.slot.clone()));
                    }
                }
                RecvEvent::Status(_) => self.finished = true,
                _ => {}
            }
            return Poll::Ready(Step::Event(event));
        }
        if st.retry {
            return Poll::Ready(if deadline_passed {
                self.finished = true;
                Step::Event(RecvEvent::Status(Status::deadline_exceeded(
                    "deadline exceeded",
                )))
            } else {
                Step::Retry
            });
        }
        st.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Opens a new attempt on a (new) connection.
    async fn retry(&mut self) -> Result<(), Status> {
        if !self.opts.retryable || self.retries_left == 0 {
            return Err(Status::unavailable(
                "the server did not process the call (GOAWAY or REFUSED_STREAM)",
            ));
        }
        self.retries_left -= 1;
        let slot = Arc::new(Slot::new(
            self.slot.head.clone(),
            self.slot.body.clone(),
            new_recv(&self.opts),
        ));
        self.slot = slot;
        self.lease = self
            .channel
            .pick(self.opts.wait_for_ready, self.opts.deadline)
            .await?;
        if !self.conn().send(Command::Open(self.slot.clone())) {
            self.slot.lock().retry = true;
        }
        Ok(())
    }

    /// Ends the call on our side with `status` (a message that failed to
    /// decode): the stream is reset with CANCEL.
    pub(crate) fn fail(&mut self) {
        self.cancel();
        self.finished = true;
    }

    fn cancel(&mut self) {
        let mut st = self.slot.lock();
        if st.done && st.recv.is_finished() {
            return;
        }
        st.recv.cancel();
        st.done = true;
        st.wake_sender();
        drop(st);
        self.conn().send(Command::Reset(self.slot.clone()));
    }
}

impl Drop for ActiveCall {
    fn drop(&mut self) {
        if !self.finished {
            // Dropped before its end: RST_STREAM CANCEL.
            self.cancel();
        }
        self.channel.shared().call_ended();
    }
}

fn new_recv(opts: &CallOptions) -> CallRecv {
    let mut recv = CallRecv::new(opts.cardinality).with_max_message_size(opts.max_recv);
    if let Some(d) = opts.deadline {
        recv = recv.with_deadline(d.into_std());
    }
    recv
}

/// Pulls the request stream of a client-streaming or bidirectional call as
/// the slot's send queue has room, encodes each message and hands it to the
/// driver; then END_STREAM. Stops when the call ends.
pub(crate) async fn pump_requests<C, S>(
    slot: Arc<Slot>,
    conn: ConnHandle,
    stream: S,
    codec: Arc<Mutex<C>>,
    max_send: usize,
) where
    C: Codec,
    S: futures_core::Stream<Item = C::Encode>,
{
    let mut stream = pin!(stream);
    loop {
        // Wait for room (or the end of the call).
        let go = poll_fn(|cx| {
            let mut st = slot.lock();
            if st.done {
                Poll::Ready(false)
            } else if st.send_bytes < SEND_BACKLOG {
                Poll::Ready(true)
            } else {
                st.send_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        if !go {
            return;
        }
        let next = poll_fn(|cx| {
            {
                let mut st = slot.lock();
                if st.done {
                    return Poll::Ready(None);
                }
                st.send_waker = Some(cx.waker().clone());
            }
            stream.as_mut().poll_next(cx).map(Some)
        })
        .await;
        let Some(item) = next else { return };
        let Some(item) = item else {
            slot.lock().send_end = true;
            conn.send(Command::Pump(slot.clone()));
            return;
        };
        let mut buf = BytesMut::new();
        let encoded = {
            let mut codec = codec.lock().unwrap_or_else(|e| e.into_inner());
            encode_message(&mut *codec, &item, &mut buf, max_send)
        };
        let mut st = slot.lock();
        if let Err(status) = encoded {
            st.queue.push_back(RecvEvent::Status(status));
            st.done = true;
            st.wake();
            drop(st);
            conn.send(Command::Reset(slot.clone()));
            return;
        }
        let was_empty = st.send_queue.is_empty();
        st.send_bytes += buf.len();
        st.send_queue.push_back(buf.freeze());
        drop(st);
        if was_empty {
            conn.send(Command::Pump(slot.clone()));
        }
    }
}
