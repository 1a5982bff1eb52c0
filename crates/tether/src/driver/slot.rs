//! The state one call shares with its connection's driver task.
//!
//! The driver feeds the call's [`CallRecv`] with the core's stream events
//! and moves the decoded [`RecvEvent`]s into the slot's queue; the call
//! pops them. Request messages of streaming calls go the other way through
//! the slot's send queue. A `std` mutex guards it: both sides hold it for a
//! few instructions only and never across an `.await`.

use crate::grpc::{CallRecv, RecvEvent, RequestHead};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::task::Waker;
use std::time::Instant;
use tether_h2::{Event, StreamId};

/// Headers, message and status.
const UNARY_EVENTS: usize = 3;

/// Complete response messages buffered for a call beyond which the driver
/// stops crediting flow-control windows (back-pressure on the server).
pub(crate) const RECV_BACKLOG: usize = 64 * 1024;
/// Encoded request bytes buffered for a call beyond which the request
/// stream is no longer polled.
pub(crate) const SEND_BACKLOG: usize = 64 * 1024;

/// One attempt of a call on one connection.
#[derive(Debug)]
pub(crate) struct Slot {
    /// The request header block.
    pub(crate) head: RequestHead,
    /// The single request message of unary and server-streaming calls,
    /// sent with END_STREAM right after the headers.
    pub(crate) body: Option<Bytes>,
    state: Mutex<SlotState>,
}

/// The mutable part of a [`Slot`].
#[derive(Debug)]
pub(crate) struct SlotState {
    /// The HTTP/2 stream, once the driver opened it.
    pub(crate) id: Option<StreamId>,
    /// The receive state machine (driven by the driver).
    pub(crate) recv: CallRecv,
    /// Decoded events waiting for the call.
    pub(crate) queue: VecDeque<RecvEvent>,
    /// Wire bytes of the messages in `queue`.
    pub(crate) queued_bytes: usize,
    /// DATA bytes received but not yet credited back to the windows.
    pub(crate) unreleased: usize,
    /// A release command is in flight.
    pub(crate) release_asked: bool,
    /// The task to wake when `queue` grows or `retry` is set.
    pub(crate) waker: Option<Waker>,
    /// The server never processed this attempt (GOAWAY above its stream,
    /// REFUSED_STREAM, or a connection that refused to open it).
    pub(crate) retry: bool,
    /// The driver has forgotten the stream (its status is queued, or the
    /// call cancelled it).
    pub(crate) done: bool,
    /// Something was received for this attempt (no transparent retry then).
    pub(crate) committed: bool,
    /// The RST_STREAM the call needed has been sent.
    pub(crate) reset_sent: bool,
    /// Encoded request messages waiting for the core's send buffer.
    pub(crate) send_queue: VecDeque<Bytes>,
    /// Bytes in `send_queue`.
    pub(crate) send_bytes: usize,
    /// The request stream has ended: END_STREAM follows the queue.
    pub(crate) send_end: bool,
    /// END_STREAM has been handed to the core (or the stream is gone).
    pub(crate) end_sent: bool,
    /// The task pulling the request stream, waiting for room.
    pub(crate) send_waker: Option<Waker>,
}

impl Slot {
    /// A new attempt.
    pub(crate) fn new(head: RequestHead, body: Option<Bytes>, recv: CallRecv) -> Slot {
        Slot {
            head,
            body,
            state: Mutex::new(SlotState {
                id: None,
                recv,
                queue: VecDeque::new(),
                queued_bytes: 0,
                unreleased: 0,
                release_asked: false,
                waker: None,
                retry: false,
                done: false,
                committed: false,
                reset_sent: false,
                send_queue: VecDeque::new(),
                send_bytes: 0,
                send_end: false,
                end_sent: false,
                send_waker: None,
            }),
        }
    }

    /// Locks the state (a poisoned lock is still usable: every update
    /// leaves the state consistent).
    pub(crate) fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SlotState {
    /// Feeds one core event to the receive machine, which queues what it
    /// produces straight into `queue` (lent to it meanwhile): one queue
    /// allocation per call, sized for the three events of a unary response.
    pub(crate) fn feed(&mut self, event: Event, now: Instant) {
        self.collect();
        let before = self.queue.len();
        if self.queue.capacity() == 0 {
            self.queue.reserve_exact(UNARY_EVENTS);
        }
        std::mem::swap(&mut self.queue, self.recv.events_mut());
        self.recv.handle_event(event, now);
        std::mem::swap(&mut self.queue, self.recv.events_mut());
        for event in self.queue.range(before..) {
            if let RecvEvent::Message(m) = event {
                self.queued_bytes += m.len() + crate::grpc::framing::PREFIX_LEN;
            }
        }
    }

    /// Moves what the receive machine produced into the queue.
    pub(crate) fn collect(&mut self) {
        while let Some(event) = self.recv.poll_event() {
            if let RecvEvent::Message(m) = &event {
                self.queued_bytes += m.len() + crate::grpc::framing::PREFIX_LEN;
            }
            self.queue.push_back(event);
        }
    }

    /// Wakes the call.
    pub(crate) fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Wakes the request pump.
    pub(crate) fn wake_sender(&mut self) {
        if let Some(w) = self.send_waker.take() {
            w.wake();
        }
    }
}
