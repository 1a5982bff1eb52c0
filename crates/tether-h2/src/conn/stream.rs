//! One request stream: its state (RFC 9113 §5.1), windows and send buffer.

use super::flow::{RecvWindow, SendWindow};
use super::CallError;
use crate::frame::StreamId;
use crate::hpack::FieldRef;
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::VecDeque;

/// The stream states of RFC 9113 §5.1 that a client-initiated stream passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamState {
    /// Id assigned, HEADERS not sent yet (waiting for MAX_CONCURRENT_STREAMS).
    Idle,
    /// HEADERS sent, both sides open.
    Open,
    /// We sent END_STREAM; the response is still coming.
    HalfClosedLocal,
    /// The server sent END_STREAM; we are still sending.
    HalfClosedRemote,
    /// Both sides ended.
    Closed,
}

/// Where the response is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecvPhase {
    /// Waiting for the final response head; `informational` 1xx blocks seen.
    Head {
        /// 1xx header blocks skipped so far.
        informational: u32,
    },
    /// The final head arrived: DATA or trailers follow.
    Body,
    /// The server sent END_STREAM.
    Closed,
}

/// Header fields kept by value, for blocks encoded later (a stream waiting
/// for a slot, trailers behind queued DATA): HPACK blocks must be encoded in
/// the order they go on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OwnedFields {
    bytes: Vec<u8>,
    lens: Vec<(usize, usize, bool)>,
}

impl OwnedFields {
    /// Copies `fields`.
    pub(crate) fn new(fields: &[FieldRef<'_>]) -> OwnedFields {
        let total = fields.iter().map(|f| f.name.len() + f.value.len()).sum();
        let mut bytes = Vec::with_capacity(total);
        let mut lens = Vec::with_capacity(fields.len());
        for f in fields {
            bytes.extend_from_slice(f.name);
            bytes.extend_from_slice(f.value);
            lens.push((f.name.len(), f.value.len(), f.sensitive));
        }
        OwnedFields { bytes, lens }
    }

    /// The fields again, borrowed.
    pub(crate) fn iter(&self) -> impl Iterator<Item = FieldRef<'_>> {
        let mut at = 0;
        self.lens.iter().map(move |&(n, v, sensitive)| {
            let name = self.bytes.get(at..at + n).unwrap_or_default();
            let value = self.bytes.get(at + n..at + n + v).unwrap_or_default();
            at += n + v;
            FieldRef {
                name,
                value,
                sensitive,
            }
        })
    }
}

/// One stream.
#[derive(Debug)]
pub(crate) struct Stream {
    /// The request head, while the stream waits for a slot (with END_STREAM).
    pub(crate) pending_head: Option<(OwnedFields, bool)>,
    /// Whether our HEADERS went out (the stream left the idle state).
    pub(crate) headers_sent: bool,
    /// Credit the server gave us.
    pub(crate) send_window: SendWindow,
    /// Credit we gave the server.
    pub(crate) recv_window: RecvWindow,
    /// Where the response is.
    pub(crate) recv: RecvPhase,
    /// Whether END_STREAM went out.
    pub(crate) send_closed: bool,
    /// Whether END_STREAM is queued (after the buffered DATA, or as trailers).
    pub(crate) end_queued: bool,
    /// Trailers to send once the buffered DATA is out.
    pub(crate) trailers: Option<OwnedFields>,
    /// Whether the stream is in the connection's send queue.
    pub(crate) in_send_queue: bool,
    /// Whether the application waits for [`super::Event::SendReady`].
    pub(crate) want_send_ready: bool,
    send_buf: SendBuf,
    buffered: usize,
}

/// A stream's queued DATA: the first chunk inline, so that a stream that
/// never has more than one chunk queued (a unary request) allocates nothing.
/// `rest` is empty while `first` is `None`.
#[derive(Debug, Default)]
struct SendBuf {
    first: Option<Bytes>,
    rest: VecDeque<Bytes>,
}

impl SendBuf {
    fn push_back(&mut self, data: Bytes) {
        if self.first.is_none() {
            self.first = Some(data);
        } else {
            self.rest.push_back(data);
        }
    }

    fn front_mut(&mut self) -> Option<&mut Bytes> {
        self.first.as_mut()
    }

    fn pop_front(&mut self) {
        self.first = self.rest.pop_front();
    }

    fn clear(&mut self) {
        self.first = None;
        self.rest.clear();
    }
}

impl Stream {
    /// A new idle stream with these windows.
    pub(crate) fn new(send_window: u32, recv_window: u32) -> Stream {
        Stream {
            pending_head: None,
            headers_sent: false,
            send_window: SendWindow::new(send_window),
            recv_window: RecvWindow::new(recv_window, recv_window),
            recv: RecvPhase::Head { informational: 0 },
            send_closed: false,
            end_queued: false,
            trailers: None,
            in_send_queue: false,
            want_send_ready: false,
            send_buf: SendBuf::default(),
            buffered: 0,
        }
    }

    /// The §5.1 state.
    pub(crate) fn state(&self) -> StreamState {
        let recv_closed = self.recv == RecvPhase::Closed;
        match (self.headers_sent, self.send_closed, recv_closed) {
            (false, _, _) => StreamState::Idle,
            (true, false, false) => StreamState::Open,
            (true, true, false) => StreamState::HalfClosedLocal,
            (true, false, true) => StreamState::HalfClosedRemote,
            (true, true, true) => StreamState::Closed,
        }
    }

    /// Octets queued and not yet sent.
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    /// Whether DATA, an END_STREAM or trailers wait to be sent.
    pub(crate) fn has_pending_send(&self) -> bool {
        self.headers_sent && !self.send_closed && (self.buffered > 0 || self.end_queued)
    }

    /// Queues DATA (accepted while fewer than `limit` octets are buffered).
    pub(crate) fn queue_data(
        &mut self,
        id: StreamId,
        data: Bytes,
        end_stream: bool,
        limit: usize,
    ) -> Result<(), CallError> {
        if self.end_queued || self.send_closed {
            return Err(CallError::SendClosed(id));
        }
        if self.buffered >= limit {
            self.want_send_ready = true;
            return Err(CallError::SendBufferFull(id));
        }
        self.buffered = self.buffered.saturating_add(data.len());
        if !data.is_empty() {
            self.send_buf.push_back(data);
        }
        self.end_queued = end_stream;
        if self.buffered >= limit {
            self.want_send_ready = true;
        }
        Ok(())
    }

    /// Queues trailers after the buffered DATA.
    pub(crate) fn queue_trailers(
        &mut self,
        id: StreamId,
        fields: &[FieldRef<'_>],
    ) -> Result<(), CallError> {
        if self.end_queued || self.send_closed {
            return Err(CallError::SendClosed(id));
        }
        self.trailers = Some(OwnedFields::new(fields));
        self.end_queued = true;
        Ok(())
    }

    /// Moves the first `n` buffered octets (`n <= buffered`) into `dst`.
    pub(crate) fn take_into(&mut self, mut n: usize, dst: &mut BytesMut) {
        while n > 0 {
            let Some(front) = self.send_buf.front_mut() else {
                break;
            };
            let k = n.min(front.len());
            dst.put_slice(&front[..k]);
            if k == front.len() {
                self.send_buf.pop_front();
            } else {
                let _ = front.split_to(k);
            }
            n -= k;
            self.buffered -= k;
        }
    }

    /// Drops everything queued for sending (the stream was reset).
    pub(crate) fn clear_send(&mut self) {
        self.send_buf.clear();
        self.buffered = 0;
        self.trailers = None;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn state_follows_section_5_1() {
        let mut s = Stream::new(65_535, 65_535);
        assert_eq!(s.state(), StreamState::Idle);
        s.headers_sent = true;
        assert_eq!(s.state(), StreamState::Open);
        s.recv = RecvPhase::Closed;
        assert_eq!(s.state(), StreamState::HalfClosedRemote);
        s.send_closed = true;
        assert_eq!(s.state(), StreamState::Closed);
        s.recv = RecvPhase::Body;
        assert_eq!(s.state(), StreamState::HalfClosedLocal);
    }

    #[test]
    fn send_buffer_is_bounded_and_split_exactly() {
        let id = StreamId::new(1);
        let mut s = Stream::new(65_535, 65_535);
        s.headers_sent = true;
        assert!(!s.has_pending_send());
        s.queue_data(id, Bytes::from_static(b"hello"), false, 8)
            .unwrap();
        assert!(!s.want_send_ready);
        s.queue_data(id, Bytes::from_static(b"world"), false, 8)
            .unwrap();
        assert!(s.want_send_ready);
        assert_eq!(s.buffered(), 10);
        assert_eq!(
            s.queue_data(id, Bytes::from_static(b"!"), false, 8),
            Err(CallError::SendBufferFull(id))
        );
        let mut dst = BytesMut::new();
        s.take_into(7, &mut dst);
        assert_eq!(&dst[..], b"hellowo");
        assert_eq!(s.buffered(), 3);
        s.queue_data(id, Bytes::from_static(b"!"), true, 8).unwrap();
        assert_eq!(
            s.queue_data(id, Bytes::new(), true, 8),
            Err(CallError::SendClosed(id))
        );
        s.take_into(4, &mut dst);
        assert_eq!(&dst[..], b"helloworld!");
        assert_eq!(s.buffered(), 0);
        assert!(s.has_pending_send());
    }

    #[test]
    fn trailers_close_the_sending_side() {
        let id = StreamId::new(3);
        let mut s = Stream::new(1, 1);
        let t = [
            FieldRef::new(b"grpc-status", b"0"),
            FieldRef::new(b"x", b"yz"),
        ];
        s.queue_trailers(id, &t).unwrap();
        assert_eq!(s.queue_trailers(id, &t), Err(CallError::SendClosed(id)));
        let owned = s.trailers.as_ref().unwrap();
        assert_eq!(owned.iter().collect::<Vec<_>>(), t.to_vec());
    }
}
