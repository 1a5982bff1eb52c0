//! Start, stream bookkeeping, errors (§5.4), timers, and the end of a connection.

use super::stream::Stream;
use super::timer::Timer;
use super::{settings, CallError, CloseReason, Connection, Event, PingKind};
use crate::error::{ErrorCode, ProtoError, Scope};
use crate::frame::{GoAway, RstStream, Settings, StreamId, WindowUpdate, DEFAULT_WINDOW_SIZE};
use crate::hpack::FieldRef;
use bytes::{BufMut, Bytes};
use std::time::Instant;

/// The client connection preface (§3.4).
pub(crate) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Most ended streams remembered for the grace period.
const MAX_GRACE_ENTRIES: usize = 1024;

/// How a recently ended stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gone {
    /// We sent RST_STREAM: frames in flight are absorbed silently (§5.1).
    LocalReset,
    /// The server sent RST_STREAM: more frames (other than PRIORITY) are a
    /// stream error of type STREAM_CLOSED (§5.1 closed).
    RemoteReset,
    /// Both sides sent END_STREAM (neither reset it): the server has no
    /// frames in flight that could excuse a bad one (§5.1 closed).
    Ended,
}

impl Connection {
    /// Queues the preface, our SETTINGS and the connection WINDOW_UPDATE.
    pub(super) fn start(&mut self, conn_window: u32, now: Instant) {
        // RFC 9113 §3.4: "the client connection preface starts with a sequence
        // of 24 octets ... This sequence MUST be followed by a SETTINGS frame".
        self.out.put_slice(PREFACE);
        let ours = Settings {
            ack: false,
            params: settings::initial_settings(&self.config),
        };
        let at = self.out.len();
        ours.encode(&mut self.out);
        self.observe_out(at);
        self.unacked_settings.push_back(true);
        self.timers
            .set_after(Timer::SettingsAck, now, self.config.settings_timeout);
        if conn_window > DEFAULT_WINDOW_SIZE {
            let inc = conn_window - DEFAULT_WINDOW_SIZE;
            let at = self.out.len();
            WindowUpdate {
                stream_id: StreamId::ZERO,
                increment: inc,
            }
            .encode(&mut self.out);
            self.observe_out(at);
            self.conn_recv.grow(conn_window);
        }
        self.preface_len = self.out.len();
        if let Some(ka) = self.config.keepalive {
            if ka.permit_without_calls {
                self.timers.set_after(Timer::KeepaliveIdle, now, ka.time);
            }
        }
    }

    /// How many streams may be open at once now.
    fn stream_limit(&self) -> usize {
        let limit = if self.connected {
            self.peer.max_concurrent_streams.unwrap_or(u32::MAX)
        } else {
            self.config.initial_max_concurrent_streams
        };
        usize::try_from(limit).unwrap_or(usize::MAX)
    }

    /// `open_stream` without the bookkeeping of `now`.
    pub(super) fn open(
        &mut self,
        fields: &[FieldRef<'_>],
        end_stream: bool,
        now: Instant,
    ) -> Result<StreamId, CallError> {
        if self.closed || self.closing || self.goaway.is_some() {
            return Err(CallError::Closed);
        }
        if let Some(limit) = self.peer.max_header_list_size {
            // RFC 9113 §6.5.2: SETTINGS_MAX_HEADER_LIST_SIZE "informs a peer
            // of the maximum field section size that the sender is prepared to accept".
            let size: usize = fields
                .iter()
                .map(|f| f.name.len() + f.value.len() + 32)
                .sum();
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            if size > limit {
                return Err(CallError::HeaderListTooLarge { size, limit });
            }
        }
        // RFC 9113 §5.1.1: stream identifiers cannot be reused; past 2^31-1
        // a new connection is needed.
        if self.next_id > StreamId::MAX.value() {
            return Err(CallError::StreamIdsExhausted);
        }
        let id = StreamId::new(self.next_id);
        self.next_id += 2;
        let mut stream = Stream::new(self.peer.initial_window_size, self.stream_window);
        if self.waiting.is_empty() && self.active < self.stream_limit() {
            self.streams.insert(id, stream);
            self.send_headers(id, fields.iter().copied(), end_stream);
        } else {
            stream.pending_head = Some((super::stream::OwnedFields::new(fields), end_stream));
            self.streams.insert(id, stream);
            self.waiting.push_back(id);
        }
        if let Some(ka) = self.config.keepalive {
            if !self.timers.is_set(Timer::KeepaliveIdle)
                && !self.timers.is_set(Timer::KeepaliveTimeout)
            {
                self.timers.set_after(Timer::KeepaliveIdle, now, ka.time);
            }
        }
        Ok(id)
    }

    /// After any input or call: start waiting streams, end a draining connection.
    pub(super) fn progress(&mut self) {
        if self.closed {
            return;
        }
        while self.goaway.is_none() && self.active < self.stream_limit() {
            let Some(id) = self.waiting.pop_front() else {
                break;
            };
            let Some(head) = self
                .streams
                .get_mut(&id)
                .and_then(|s| s.pending_head.take())
            else {
                continue;
            };
            let (fields, end_stream) = head;
            self.send_headers(id, fields.iter(), end_stream);
            self.events.push_back(Event::StreamStarted(id));
        }
        if self.streams.is_empty() {
            if let Some(info) = &self.goaway {
                let info = info.clone();
                self.finish(CloseReason::GoAway(info));
            } else if self.closing {
                self.finish(CloseReason::Local);
            }
        }
    }

    /// Forgets stream `id`, freeing its concurrency slot.
    pub(super) fn remove_stream(&mut self, id: StreamId) -> Option<Stream> {
        let s = self.streams.remove(&id)?;
        if s.headers_sent {
            self.active = self.active.saturating_sub(1);
        }
        Some(s)
    }

    /// Removes a stream whose both sides ended.
    pub(super) fn maybe_finish(&mut self, id: StreamId) {
        if self
            .streams
            .get(&id)
            .is_some_and(|s| s.state() == super::stream::StreamState::Closed)
        {
            self.remove_stream(id);
            self.remember(id, Gone::Ended);
        }
    }

    /// Sends RST_STREAM(`code`) for `id` (if its HEADERS went out) and forgets it.
    pub(super) fn reset_stream(&mut self, id: StreamId, code: ErrorCode) -> Option<Stream> {
        let mut s = self.remove_stream(id)?;
        s.clear_send();
        if !s.headers_sent {
            self.waiting.retain(|w| *w != id);
        }
        if s.headers_sent {
            self.write_frame_rst(RstStream {
                stream_id: id,
                code,
            });
            self.remember(id, Gone::LocalReset);
        }
        Some(s)
    }

    /// Remembers an ended stream for `limits.reset_grace`.
    pub(super) fn remember(&mut self, id: StreamId, gone: Gone) {
        let Some(until) = self.now.checked_add(self.config.limits.reset_grace) else {
            return;
        };
        if self.recent.len() >= MAX_GRACE_ENTRIES {
            self.recent.pop_front();
        }
        self.recent.push_back((id, until, gone));
        if !self.timers.is_set(Timer::ResetGrace) {
            self.timers.set(Timer::ResetGrace, until);
        }
    }

    /// How `id` ended, if it ended recently.
    pub(super) fn recently_gone(&self, id: StreamId) -> Option<Gone> {
        self.recent.iter().rev().find(|r| r.0 == id).map(|r| r.2)
    }

    /// A stream error (RFC 9113 §5.4.2) on a stream that already ended and
    /// that we did not reset: RST_STREAM with `code`. Used for §5.1 (closed):
    /// "An endpoint that receives any frame other than PRIORITY after
    /// receiving a RST_STREAM MUST treat that as a stream error (Section
    /// 5.4.2) of type STREAM_CLOSED", and for the frame-level stream errors
    /// (§6.3 PRIORITY length, §6.9 zero increment), which the RFC does not
    /// excuse on a closed stream. The application already saw the stream
    /// end: no event, one RST_STREAM, then the stream is absorbed like one
    /// we reset.
    pub(super) fn closed_stream_error(&mut self, id: StreamId, code: ErrorCode) {
        self.write_frame_rst(RstStream {
            stream_id: id,
            code,
        });
        self.remember(id, Gone::LocalReset);
        self.count_local_reset();
    }

    /// Handles a protocol error of either scope.
    pub(super) fn on_error(&mut self, err: ProtoError) {
        match err.scope {
            Scope::Connection => self.connection_error(err),
            Scope::Stream(id) => self.stream_error(id, err),
        }
    }

    /// RFC 9113 §5.4.2: "An endpoint that detects a stream error sends a
    /// RST_STREAM frame ... that contains the stream identifier of the stream
    /// where the error occurred".
    fn stream_error(&mut self, id: StreamId, err: ProtoError) {
        if self.reset_stream(id, err.code).is_none() {
            return;
        }
        self.events.push_back(Event::StreamReset {
            stream_id: id,
            code: err.code,
            remote: false,
            error: Some(err),
        });
        self.count_local_reset();
    }

    fn count_local_reset(&mut self) {
        self.local_resets = self.local_resets.saturating_add(1);
        if self.local_resets > self.config.limits.max_local_resets {
            // HOSTILE K.90 (CVE-2019-9514, CVE-2025-8671): cap resets we are made to send.
            self.connection_error(ProtoError::conn(
                ErrorCode::ENHANCE_YOUR_CALM,
                "too many streams reset for protocol errors",
            ));
        }
    }

    /// RFC 9113 §5.4.1: "An endpoint that encounters a connection error SHOULD
    /// first send a GOAWAY frame ... After sending the GOAWAY frame for an
    /// error condition, the endpoint MUST close the TCP connection."
    pub(super) fn connection_error(&mut self, err: ProtoError) {
        let reason = if err.code == ErrorCode::SETTINGS_TIMEOUT {
            CloseReason::SettingsTimeout
        } else {
            CloseReason::Protocol(err.clone())
        };
        self.fail_with_goaway(err, reason);
    }

    fn fail_with_goaway(&mut self, err: ProtoError, reason: CloseReason) {
        if self.closed {
            return;
        }
        // Only the preface may precede our GOAWAY if it was never sent.
        self.out.truncate(self.preface_len);
        self.acks.clear();
        self.queued_acks = 0;
        // Last stream id 0: a client processes no server-initiated streams.
        self.write_frame_goaway(GoAway {
            last_stream_id: StreamId::ZERO,
            code: err.code,
            debug_data: Bytes::from_static(err.detail.as_bytes()),
        });
        self.fail_streams(err.code, Some(err));
        self.finish(reason);
    }

    /// Every stream fails with [`Event::StreamReset`] (`remote: false`).
    pub(super) fn fail_streams(&mut self, code: ErrorCode, error: Option<crate::ProtoError>) {
        let streams = std::mem::take(&mut self.streams);
        for id in streams.into_keys() {
            self.events.push_back(Event::StreamReset {
                stream_id: id,
                code,
                remote: false,
                error: error.clone(),
            });
        }
        self.waiting.clear();
        self.send_queue.clear();
        self.active = 0;
    }

    /// The connection has ended: no more input, timers or events.
    pub(super) fn finish(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.streams.clear();
        self.waiting.clear();
        self.send_queue.clear();
        self.timers.clear();
        self.read_buf = bytes::BytesMut::new();
        self.events.push_back(Event::Closed(reason));
    }

    /// [`Connection::close`].
    pub(super) fn start_close(&mut self, code: ErrorCode) {
        if self.closed || self.closing {
            return;
        }
        self.closing = true;
        self.write_frame_goaway(GoAway {
            last_stream_id: StreamId::ZERO,
            code,
            debug_data: Bytes::new(),
        });
    }

    /// A timer fired.
    pub(super) fn on_timer(&mut self, timer: Timer, now: Instant) {
        match timer {
            Timer::SettingsAck => {
                // RFC 9113 §6.5.3: "If the sender of a SETTINGS frame does not
                // receive an acknowledgment within a reasonable amount of time,
                // it MAY issue a connection error of type SETTINGS_TIMEOUT."
                self.connection_error(ProtoError::conn(
                    ErrorCode::SETTINGS_TIMEOUT,
                    "SETTINGS not acknowledged in time (§6.5.3)",
                ));
            }
            Timer::KeepaliveIdle => {
                let Some(ka) = self.config.keepalive else {
                    return;
                };
                if !ka.permit_without_calls && self.streams.is_empty() {
                    return;
                }
                // At most one keepalive PING in flight: a server that keeps
                // sending but never ACKs must not make us send (and remember)
                // one more per interval. The timeout still detects a dead
                // peer (gRFC A8: any read counts).
                if self.pings.outstanding(PingKind::Keepalive) {
                    self.timers
                        .set_after(Timer::KeepaliveTimeout, now, ka.timeout);
                    return;
                }
                // Keepalive::max_pings_without_data (C-core's
                // GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA): parked, with no
                // timeout either (nothing was asked of the peer), until we
                // send DATA or HEADERS (`note_data_sent`).
                if ka
                    .max_pings_without_data
                    .is_some_and(|max| self.keepalive_pings_without_data >= max)
                {
                    self.keepalive_parked = true;
                    return;
                }
                // Keepalive::min_ping_interval: not before `min` after the
                // previous keepalive PING.
                let earliest = ka
                    .min_ping_interval
                    .zip(self.last_keepalive_ping)
                    .and_then(|(min, last)| last.checked_add(min));
                if let Some(at) = earliest.filter(|at| now < *at) {
                    self.timers.set(Timer::KeepaliveIdle, at);
                    return;
                }
                self.send_ping(PingKind::Keepalive, now);
                self.last_keepalive_ping = Some(now);
                self.keepalive_pings_without_data =
                    self.keepalive_pings_without_data.saturating_add(1);
                self.timers
                    .set_after(Timer::KeepaliveTimeout, now, ka.timeout);
            }
            Timer::KeepaliveTimeout => {
                // gRFC A8: no read within the timeout: the transport is dead.
                // Nothing is sent; streams fail with CANCEL (the gRPC layer
                // maps the close reason to UNAVAILABLE).
                self.pings.forget(PingKind::Keepalive);
                self.fail_streams(ErrorCode::CANCEL, None);
                self.finish(CloseReason::KeepaliveTimeout);
            }
            Timer::ResetGrace => {
                while self.recent.front().is_some_and(|r| r.1 <= now) {
                    self.recent.pop_front();
                }
                if let Some(&(_, t, _)) = self.recent.front() {
                    // Sweep in batches, at most about four times per grace
                    // period: one timer per ended stream would wake an idle
                    // connection once per call. Entries may so be kept up
                    // to a quarter period longer (still bounded in number).
                    let batch = now.checked_add(self.config.limits.reset_grace / 4);
                    self.timers
                        .set(Timer::ResetGrace, batch.map_or(t, |b| t.max(b)));
                }
            }
        }
    }
}
