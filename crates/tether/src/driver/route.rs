//! The driver's commands from calls and the routing of core events to them.

use super::slot::{Slot, SlotState, RECV_BACKLOG, SEND_BACKLOG};
use super::{Command, Driver};
use crate::grpc::RecvEvent;
use crate::raw::RawEvent;
use crate::status::Status;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Instant;
use tether_h2::conn::CallError;
use tether_h2::hpack::FieldRef;
use tether_h2::{Connection, ErrorCode, Event, StreamId};

impl Driver {
    pub(super) fn command(&mut self, cmd: Command, now: Instant) {
        match cmd {
            Command::Open(slot) => self.open(slot, now),
            Command::Pump(slot) => {
                let mut st = slot.lock();
                if let Some(id) = st.id.filter(|id| self.calls.contains_key(id)) {
                    pump(&mut self.conn, id, &mut st);
                }
            }
            Command::Release(slot) => {
                let mut st = slot.lock();
                st.release_asked = false;
                if let Some(id) = st.id {
                    self.conn
                        .release_capacity(id, std::mem::take(&mut st.unreleased));
                }
            }
            Command::Reset(slot) => {
                let mut st = slot.lock();
                if let Some(id) = st.id {
                    if self.calls.remove(&id).is_some() {
                        let _ = self.conn.reset(id, ErrorCode::CANCEL);
                        st.reset_sent = true;
                    }
                    self.conn
                        .release_capacity(id, std::mem::take(&mut st.unreleased));
                }
                st.done = true;
                st.send_queue.clear();
            }
            Command::RawOpen(open) => {
                let (fields, body) = *open;
                self.raw_open(&fields, body, now);
            }
            Command::RawPing => {
                let sent = self.conn.ping(now);
                self.raw_event(RawEvent::PingSent(sent));
            }
            Command::RawClose => self.conn.close(ErrorCode::NO_ERROR, now),
        }
    }

    /// A command that came after the connection ended: an attempt not
    /// yet opened is handed back unsent (its call retries it elsewhere);
    /// a raw request is refused.
    pub(super) fn refuse(&mut self, cmd: Command) {
        match cmd {
            Command::Open(slot) => {
                let mut st = slot.lock();
                if !st.done {
                    st.retry = true;
                    st.done = true;
                    st.send_queue.clear();
                    st.wake_sender();
                    st.wake();
                }
            }
            Command::Reset(slot) => slot.lock().done = true,
            Command::Pump(_) | Command::Release(_) | Command::RawClose => {}
            Command::RawOpen(_) => self.raw_event(RawEvent::Opened(Err(CallError::Closed))),
            Command::RawPing => self.raw_event(RawEvent::PingSent(Err(CallError::Closed))),
        }
    }

    /// `tether::raw`: opens a stream with `fields`, then sends `body`.
    fn raw_open(&mut self, fields: &[(Bytes, Bytes)], body: Option<Bytes>, now: Instant) {
        let refs: Vec<FieldRef<'_>> = fields.iter().map(|(n, v)| FieldRef::new(n, v)).collect();
        let opened = self.conn.open_stream(&refs, body.is_none(), now);
        let opened = match (opened, body) {
            (Ok(id), Some(body)) => self.conn.send_data(id, body, true).map(|()| id),
            (opened, _) => opened,
        };
        self.raw_event(RawEvent::Opened(opened));
    }

    fn raw_event(&self, event: RawEvent) {
        if let Some(tx) = &self.raw {
            let _ = tx.send(event);
        }
    }

    fn open(&mut self, slot: Arc<Slot>, now: Instant) {
        let mut st = slot.lock();
        if st.done {
            return; // cancelled before it was opened
        }
        let mut fields = recycle(std::mem::take(&mut self.fields));
        slot.head.fields_into(&mut fields);
        let opened = self.conn.open_stream(&fields, false, now);
        self.fields = recycle(fields);
        match opened {
            Ok(id) => {
                st.id = Some(id);
                if let Some(body) = &slot.body {
                    st.send_end = true;
                    // The whole request at once, straight to the core (the
                    // send queue is for streaming requests).
                    match self.conn.send_data(id, body.clone(), true) {
                        Err(CallError::SendBufferFull(_)) => {
                            st.send_bytes += body.len();
                            st.send_queue.push_back(body.clone());
                        }
                        // Sent, or the stream's sending side is over.
                        _ => st.end_sent = true,
                    }
                }
                pump(&mut self.conn, id, &mut st);
                drop(st);
                self.calls.insert(id, slot);
            }
            Err(CallError::Closed | CallError::StreamIdsExhausted) => {
                // Nothing was sent: another connection may take it. The
                // slot is over (its request pump must not wait on it).
                st.retry = true;
                st.done = true;
                st.wake_sender();
                st.wake();
            }
            Err(e) => {
                let status = match e {
                    CallError::HeaderListTooLarge { size, limit } => Status::resource_exhausted(
                        format!("request metadata too large ({size} > {limit} bytes)"),
                    ),
                    other => Status::internal(format!("failed to open a stream: {other:?}")),
                };
                finish_locally(&mut st, status);
            }
        }
    }

    pub(super) fn event(&mut self, event: Event, now: Instant) {
        if let Some(tx) = &self.raw {
            // tether::raw: everything to the caller; its DATA is credited
            // back at once.
            if let Event::Data {
                stream_id, data, ..
            } = &event
            {
                self.conn.release_capacity(*stream_id, data.len());
            }
            self.finished |= matches!(event, Event::Closed(_));
            let _ = tx.send(RawEvent::Core(event));
            return;
        }
        let stream_id = match &event {
            Event::Headers { stream_id, .. }
            | Event::Data { stream_id, .. }
            | Event::Trailers { stream_id, .. }
            | Event::StreamReset { stream_id, .. } => *stream_id,
            Event::SendReady(id) => {
                if let Some(slot) = self.calls.get(id) {
                    pump(&mut self.conn, *id, &mut slot.lock());
                }
                return;
            }
            Event::Connected(settings) => {
                if let Some(owner) = self.owner() {
                    owner.max_concurrent_streams(self.id, settings.max_concurrent_streams);
                    owner.connected(self.id);
                }
                return;
            }
            Event::SettingsChanged(settings) => {
                if let Some(owner) = self.owner() {
                    owner.max_concurrent_streams(self.id, settings.max_concurrent_streams);
                }
                return;
            }
            Event::GoAway(info) => {
                if let Some(owner) = self.owner() {
                    owner.going_away(self.id, info);
                }
                for id in &info.unprocessed {
                    if let Some(slot) = self.calls.remove(id) {
                        let mut st = slot.lock();
                        if st.committed {
                            // It answered, yet its GOAWAY says it did not
                            // process it: not retried, ended here (nothing
                            // else would end it).
                            finish_locally(
                                &mut st,
                                Status::unavailable(
                                    "the server's GOAWAY disowned a stream it had answered",
                                ),
                            );
                        } else {
                            unprocessed(&mut st, "the server did not process the call (GOAWAY)");
                        }
                    }
                }
                return;
            }
            Event::Closed(reason) => {
                for (_, slot) in self.calls.drain() {
                    let mut st = slot.lock();
                    st.recv.handle_connection_closed(reason);
                    st.collect();
                    st.done = true;
                    st.send_queue.clear();
                    st.wake_sender();
                    st.wake();
                }
                if let Some(owner) = self.owner() {
                    owner.closed(self.id, reason);
                }
                self.finished = true;
                return;
            }
            Event::PingAck { rtt, .. } => {
                if let Some(owner) = self.owner() {
                    owner.ping_rtt(self.id, *rtt);
                }
                return;
            }
            _ => return,
        };
        let data_len = match &event {
            Event::Data { data, .. } => data.len(),
            _ => 0,
        };
        let Some(slot) = self.calls.get(&stream_id) else {
            // A stream the call gave up: credit its bytes back at once.
            self.conn.release_capacity(stream_id, data_len);
            return;
        };
        let slot = slot.clone();
        let mut st = slot.lock();
        if let Event::StreamReset {
            code: ErrorCode::REFUSED_STREAM,
            remote: true,
            ..
        } = &event
        {
            if !st.committed {
                self.calls.remove(&stream_id);
                unprocessed(&mut st, "the server refused the stream (REFUSED_STREAM)");
                return;
            }
        }
        if let Event::StreamReset {
            remote: false,
            error: None,
            ..
        } = &event
        {
            // The connection failed (keepalive, EOF): `Event::Closed` follows
            // with the reason, which names the failure better (from_close).
            return;
        }
        st.committed = true;
        st.unreleased += data_len;
        st.feed(event, now);
        if let Some(code) = st.recv.reset_code() {
            if !st.reset_sent {
                st.reset_sent = true;
                let _ = self.conn.reset(stream_id, code);
            }
        }
        if st.recv.is_finished() {
            self.calls.remove(&stream_id);
            st.done = true;
            st.send_queue.clear();
            st.wake_sender();
            self.conn
                .release_capacity(stream_id, std::mem::take(&mut st.unreleased));
        } else if st.queued_bytes <= RECV_BACKLOG && st.unreleased > 0 {
            self.conn
                .release_capacity(stream_id, std::mem::take(&mut st.unreleased));
        }
        st.wake();
    }
}

/// Empties `fields` and gives its allocation a new lifetime, so that one
/// vector serves the header fields of every call (they borrow each call's
/// head only while its stream is opened). An empty vector is rebuilt in
/// place: the standard library reuses the allocation when collecting a
/// `vec::IntoIter` into a vector of a same-sized type.
// `filter(..)` would keep the lifetime: the point is to change it.
#[allow(clippy::unnecessary_filter_map)]
pub(super) fn recycle<'b>(mut fields: Vec<FieldRef<'_>>) -> Vec<FieldRef<'b>> {
    fields.clear();
    fields.into_iter().filter_map(|_| None).collect()
}

/// The attempt was never processed: the call retries it elsewhere.
fn unprocessed(st: &mut SlotState, _why: &str) {
    st.retry = true;
    st.done = true;
    st.send_queue.clear();
    st.wake_sender();
    st.wake();
}

/// Ends the call with `status` without a stream.
fn finish_locally(st: &mut SlotState, status: Status) {
    st.queue.push_back(RecvEvent::Status(status));
    st.done = true;
    st.send_queue.clear();
    st.wake_sender();
    st.wake();
}

/// Moves queued request messages into the core's send buffer, then
/// END_STREAM once the request stream has ended.
fn pump(conn: &mut Connection, id: StreamId, st: &mut SlotState) {
    while let Some(front) = st.send_queue.front() {
        let last = st.send_queue.len() == 1 && st.send_end;
        match conn.send_data(id, front.clone(), last) {
            Ok(()) => {
                if let Some(b) = st.send_queue.pop_front() {
                    st.send_bytes -= b.len();
                }
                st.end_sent |= last;
            }
            Err(CallError::SendBufferFull(_)) => break,
            Err(_) => {
                // The stream's sending side is over (the server ended it).
                st.send_queue.clear();
                st.send_bytes = 0;
                st.end_sent = true;
                break;
            }
        }
    }
    if st.send_queue.is_empty() && st.send_end && !st.end_sent {
        st.end_sent = true;
        let _ = conn.send_data(id, Bytes::new(), true);
    }
    if st.send_bytes < SEND_BACKLOG {
        st.wake_sender();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycle_keeps_the_allocation() {
        let name = String::from("x-a");
        let mut v = vec![FieldRef::new(name.as_bytes(), b"1"); 9];
        v.reserve(3);
        let (ptr, cap) = (v.as_ptr() as usize, v.capacity());
        let v: Vec<FieldRef<'static>> = recycle(v);
        drop(name);
        assert!(v.is_empty());
        assert_eq!((v.as_ptr() as usize, v.capacity()), (ptr, cap));
    }
}
