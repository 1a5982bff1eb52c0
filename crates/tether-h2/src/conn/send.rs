//! Output: frames written into the transmit buffer, and DATA scheduling.
//!
//! Control frames and HEADERS are encoded when queued, in order, into one
//! buffer (so HPACK blocks reach the wire in the order they were encoded);
//! PING and SETTINGS ACKs have their own buffer that goes first (§6.7).
//! DATA is cut from the stream send buffers at `poll_transmit` time, as the
//! flow-control windows allow.

use super::observe::Direction;
use super::ping::PingKind;
use super::{Connection, Event};
use crate::error::{ErrorCode, ProtoError};
use crate::frame::{flags, Data, Frame, FrameType, GoAway, Head, Headers, Ping, RstStream};
use crate::frame::{Settings, StreamId, WindowUpdate, HEADER_LEN};
use crate::hpack::FieldRef;
use bytes::{Bytes, BytesMut};
use std::time::Instant;

/// Below this many octets (unless the rest of the data fits, or the peer's
/// SETTINGS_INITIAL_WINDOW_SIZE is tiny) a DATA frame waits for more window:
/// a peer granting 1-byte updates must not make us send 1-byte frames
/// (HOSTILE K.93). Updates read together are coalesced anyway, because DATA
/// is cut at `poll_transmit` time.
const MIN_DATA_CHUNK: usize = 1024;

/// What one turn of a stream in the send queue achieved.
enum Turn {
    /// Sent something; more is queued.
    More,
    /// Waiting for flow-control credit.
    Blocked,
    /// Nothing left to send.
    Done,
}

impl Connection {
    /// [`Connection::poll_transmit`].
    pub(super) fn transmit(&mut self, buf: &mut BytesMut) -> usize {
        let start = buf.len();
        // The preface and our SETTINGS come before anything, ACKs included.
        if self.preface_len > 0 {
            let n = self.preface_len.min(self.out.len());
            buf.extend_from_slice(&self.out.split_to(n));
            self.preface_len = 0;
        }
        loop {
            // RFC 9113 §6.7: PING responses "SHOULD" be sent with higher
            // priority than any other frame.
            buf.extend_from_slice(&self.acks);
            self.acks.clear();
            self.queued_acks = 0;
            buf.extend_from_slice(&self.out);
            self.out.clear();
            if self.closed {
                break;
            }
            self.write_data(buf);
            // Finishing a stream can start a waiting one.
            self.progress();
            if self.out.is_empty() && self.acks.is_empty() {
                break;
            }
        }
        if self.out.capacity() > super::BUF_KEEP {
            self.out = BytesMut::new();
        }
        buf.len() - start
    }

    /// Puts `id` in the send queue if it has something to send.
    pub(super) fn schedule(&mut self, id: StreamId) {
        if let Some(s) = self.streams.get_mut(&id) {
            if !s.in_send_queue && s.has_pending_send() {
                s.in_send_queue = true;
                self.send_queue.push_back(id);
            }
        }
    }

    /// Puts every stream with something to send in the queue (windows grew).
    pub(super) fn schedule_all(&mut self) {
        for (id, s) in self.streams.iter_mut() {
            if !s.in_send_queue && s.has_pending_send() {
                s.in_send_queue = true;
                self.send_queue.push_back(*id);
            }
        }
    }

    /// Writes DATA (and trailers) round-robin, one frame per stream per turn.
    fn write_data(&mut self, buf: &mut BytesMut) {
        let mut turns = self.send_queue.len();
        while turns > 0 {
            turns -= 1;
            let Some(id) = self.send_queue.pop_front() else {
                break;
            };
            match self.stream_turn(id, buf) {
                Turn::More => {
                    turns += 1;
                    self.send_queue.push_back(id);
                }
                Turn::Blocked => self.send_queue.push_back(id),
                Turn::Done => {
                    if let Some(s) = self.streams.get_mut(&id) {
                        s.in_send_queue = false;
                    }
                    self.maybe_finish(id);
                }
            }
        }
    }

    fn stream_turn(&mut self, id: StreamId, buf: &mut BytesMut) -> Turn {
        let Some(s) = self.streams.get_mut(&id) else {
            return Turn::Done;
        };
        if !s.has_pending_send() {
            return Turn::Done;
        }
        let max_frame = usize::try_from(self.peer.max_frame_size).unwrap_or(usize::MAX);
        let buffered = s.buffered();
        if buffered > 0 {
            let avail = s.send_window.available().min(self.conn_send.available());
            let n = buffered.min(avail).min(max_frame);
            // Wait for a useful amount of credit, but never for more than the
            // peer's initial window could ever grant (or we would deadlock).
            let iws = usize::try_from(self.peer.initial_window_size / 2).unwrap_or(0);
            if n == 0 || n < buffered.min(MIN_DATA_CHUNK).min(iws) {
                return Turn::Blocked;
            }
            let end = n == buffered && s.end_queued && s.trailers.is_none();
            let at = buf.len();
            Head {
                length: n as u32,
                kind: FrameType::DATA,
                flags: if end { flags::END_STREAM } else { 0 },
                stream_id: id,
            }
            .encode(buf);
            s.take_into(n, buf);
            s.send_window.consume(n);
            self.conn_send.consume(n);
            if end {
                s.send_closed = true;
            }
            let limit = self.config.limits.max_send_buffer;
            if s.want_send_ready && s.buffered() < limit / 2 {
                s.want_send_ready = false;
                self.events.push_back(Event::SendReady(id));
            }
            let more = s.has_pending_send();
            self.note_data_sent();
            if let Some(obs) = self.observer.as_mut() {
                let head = Head::parse(&header_at(buf, at));
                let payload =
                    Bytes::copy_from_slice(buf.get(at + HEADER_LEN..).unwrap_or_default());
                let frame = Frame::Data(Data {
                    stream_id: id,
                    flow_len: n as u32,
                    data: payload,
                    end_stream: end,
                });
                obs.frame(Direction::Sent, &head, Some(&frame));
            }
            return if more { Turn::More } else { Turn::Done };
        }
        // Only the end of the stream is left: trailers or an empty DATA.
        s.send_closed = true;
        let trailers = s.trailers.take();
        self.note_data_sent();
        match trailers {
            Some(t) => {
                self.hpack_buf.clear();
                self.hpack_enc.encode(t.iter(), &mut self.hpack_buf);
                self.write_block(id, true, Some(buf));
            }
            None => {
                let at = buf.len();
                Data::encode(id, &[], true, buf);
                self.observe_sent(buf, at);
            }
        }
        Turn::Done
    }

    /// Encodes and queues the HEADERS of stream `id`.
    pub(super) fn send_headers<'a>(
        &mut self,
        id: StreamId,
        fields: impl IntoIterator<Item = FieldRef<'a>>,
        end_stream: bool,
    ) {
        self.hpack_buf.clear();
        self.hpack_enc.encode(fields, &mut self.hpack_buf);
        self.write_block(id, end_stream, None);
        self.note_data_sent();
        self.highest_sent = self.highest_sent.max(id.value());
        self.active += 1;
        if let Some(s) = self.streams.get_mut(&id) {
            s.headers_sent = true;
            if end_stream {
                s.end_queued = true;
                s.send_closed = true;
            }
        }
        self.schedule(id);
    }

    /// Writes `hpack_buf` as HEADERS (+ CONTINUATION) into `dst`, or `out`.
    fn write_block(&mut self, id: StreamId, end_stream: bool, dst: Option<&mut BytesMut>) {
        let dst = match dst {
            Some(d) => d,
            None => &mut self.out,
        };
        let at = dst.len();
        Headers::encode_block(
            id,
            &self.hpack_buf,
            end_stream,
            self.peer.max_frame_size,
            dst,
        );
        if let Some(obs) = self.observer.as_mut() {
            let mut head = Head::parse(&header_at(dst, at));
            head.length = self.hpack_buf.len() as u32;
            head.flags |= flags::END_HEADERS;
            let frame = Frame::Headers(Headers {
                stream_id: id,
                end_stream,
                end_headers: true,
                priority: None,
                fragment: Bytes::copy_from_slice(&self.hpack_buf),
            });
            obs.frame(Direction::Sent, &head, Some(&frame));
        }
    }

    /// Calls the observer for the control frame written at `at` in `buf`.
    fn observe_sent(&mut self, buf: &BytesMut, at: usize) {
        let Some(obs) = self.observer.as_mut() else {
            return;
        };
        let head = Head::parse(&header_at(buf, at));
        let payload = Bytes::copy_from_slice(buf.get(at + HEADER_LEN..).unwrap_or_default());
        let frame = Frame::decode(&head, payload).ok();
        obs.frame(Direction::Sent, &head, frame.as_ref());
    }

    /// Queues RST_STREAM.
    pub(super) fn write_frame_rst(&mut self, f: RstStream) {
        let at = self.out.len();
        f.encode(&mut self.out);
        self.observe_out(at);
    }

    /// Queues GOAWAY.
    pub(super) fn write_frame_goaway(&mut self, f: GoAway) {
        let at = self.out.len();
        f.encode(&mut self.out);
        self.observe_out(at);
    }

    /// Queues SETTINGS (not an ACK) and tracks its ACK (§6.5.3).
    pub(super) fn write_frame_settings(&mut self, f: Settings, now: Instant) {
        let at = self.out.len();
        f.encode(&mut self.out);
        self.observe_out(at);
        self.unacked_settings.push_back(false);
        if !self.timers.is_set(super::timer::Timer::SettingsAck) {
            self.timers.set_after(
                super::timer::Timer::SettingsAck,
                now,
                self.config.settings_timeout,
            );
        }
    }

    /// Queues a WINDOW_UPDATE (stream 0: the connection window).
    pub(super) fn write_window_update(&mut self, id: StreamId, increment: u32) {
        let at = self.out.len();
        WindowUpdate {
            stream_id: id,
            increment,
        }
        .encode(&mut self.out);
        self.observe_out(at);
    }

    /// Queues a PING of `kind`.
    pub(super) fn send_ping(&mut self, kind: PingKind, now: Instant) {
        let payload = self.pings.start(kind, now);
        let at = self.out.len();
        Ping {
            ack: false,
            payload,
        }
        .encode(&mut self.out);
        self.observe_out(at);
    }

    /// Queues an ACK (PING or SETTINGS) ahead of other frames, bounded by
    /// `limits.max_queued_acks` (HOSTILE K.88, CVE-2019-9512/9515).
    pub(super) fn queue_ack(&mut self, ping: Option<[u8; 8]>) -> Result<(), ProtoError> {
        if self.queued_acks >= self.config.limits.max_queued_acks {
            return Err(ProtoError::conn(
                ErrorCode::ENHANCE_YOUR_CALM,
                "too many PING/SETTINGS ACKs queued and not written",
            ));
        }
        self.queued_acks += 1;
        let at = self.acks.len();
        match ping {
            Some(payload) => Ping { ack: true, payload }.encode(&mut self.acks),
            None => Settings::ack().encode(&mut self.acks),
        }
        if self.observer.is_some() {
            let acks = std::mem::take(&mut self.acks);
            self.observe_sent(&acks, at);
            self.acks = acks;
        }
        Ok(())
    }

    pub(super) fn observe_out(&mut self, at: usize) {
        if self.observer.is_some() {
            let out = std::mem::take(&mut self.out);
            self.observe_sent(&out, at);
            self.out = out;
        }
    }
}

/// The 9 header octets at `at` (zeros if the buffer is short, which our own
/// encoders never leave it).
fn header_at(buf: &[u8], at: usize) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    if let Some(src) = buf.get(at..at + HEADER_LEN) {
        h.copy_from_slice(src);
    }
    h
}
