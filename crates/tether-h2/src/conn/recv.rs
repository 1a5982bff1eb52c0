//! Input: reading and dispatching frames; HEADERS and DATA, checked against
//! the stream states (RFC 9113 §5.1), flow control (§6.9) and abuse limits.

use super::lifecycle::Gone;
use super::observe::Direction;
use super::ping::PingKind;
use super::stream::RecvPhase;
use super::validate::{BlockKind, FieldChecker};
use super::{Connection, Event, ResponseHead};
use crate::error::{ErrorCode, ProtoError, Scope};
use crate::frame::{flags, Data, Decoded, Frame, FrameType, Headers};
use crate::frame::{StreamId, HEADER_LEN};
use crate::hpack::HeaderField;
use std::time::Instant;

/// The most fields the reused decoding vector keeps room for between blocks.
const FIELD_BUF_KEEP: usize = 32;

/// What we know about a stream id a frame names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Known {
    /// In the stream map with its HEADERS sent.
    Live,
    /// Never opened (HEADERS not sent, even id, or above what we sent).
    Idle,
    /// We reset it within the grace period.
    Reset,
    /// The server reset it within the grace period.
    RemoteReset,
    /// Both sides ended it (END_STREAM each way) within the grace period.
    Ended,
    /// Closed and forgotten.
    Forgotten,
}

const FIRST_NOT_SETTINGS: &str = "first server frame is not SETTINGS (§3.4)";

pub(super) const fn pe(detail: &'static str) -> ProtoError {
    ProtoError::conn(ErrorCode::PROTOCOL_ERROR, detail)
}

impl Connection {
    /// Decodes and handles every whole frame in the read buffer.
    pub(super) fn process_read_buf(&mut self, now: Instant) {
        while !self.closed {
            if !self.connected && !self.preface_ok() {
                self.connection_error(pe(FIRST_NOT_SETTINGS));
                return;
            }
            let before = self.read_buf.len();
            let (frame_len, kind) = match self.read_buf.get(..4) {
                Some(&[a, b, c, k]) => {
                    let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
                    (Some(HEADER_LEN + len), FrameType(k))
                }
                _ => (None, FrameType::DATA),
            };
            match self.frames.decode(&mut self.read_buf) {
                Ok(None) => break,
                Ok(Some(decoded)) => {
                    if let Err(e) = self.on_frame(decoded, now) {
                        self.on_error(e);
                    }
                }
                Err(e) => {
                    // A stream-scoped error for a frame the decoder consumed
                    // whole (outside a field block) leaves the connection usable.
                    let consumed = Some(before - self.read_buf.len()) == frame_len;
                    let Scope::Stream(id) = e.scope else {
                        self.connection_error(e);
                        continue;
                    };
                    if !consumed || self.frames.in_header_block() {
                        self.connection_error(ProtoError::conn(e.code, e.detail));
                        continue;
                    }
                    match self.known(id) {
                        Known::Live => self.on_error(e),
                        // RFC 9113 §5.1: PRIORITY is allowed on idle streams,
                        // and RST_STREAM must not be sent on them.
                        Known::Idle if kind == FrameType::PRIORITY => {
                            if let Err(e) = self.count_ignored() {
                                self.connection_error(e);
                            }
                        }
                        Known::Idle => {
                            self.connection_error(pe("frame on a stream we did not open (§5.1.1)"))
                        }
                        // RFC 9113 §6.3 (PRIORITY of the wrong length) and
                        // §6.9 (zero increment) are stream errors; a stream
                        // that ended without our RST_STREAM has no frames
                        // in flight that could excuse them: RST_STREAM.
                        Known::RemoteReset | Known::Ended => {
                            self.closed_stream_error(id, e.code);
                        }
                        // §5.1: after our RST_STREAM the server may still
                        // send frames until it sees it: absorbed.
                        Known::Reset | Known::Forgotten => {}
                    }
                }
            }
        }
    }

    /// Whether the start of the read buffer can still be a server preface:
    /// a SETTINGS frame without ACK. Checked before the frame decoder so an
    /// HTTP/1.1 reply is a PROTOCOL_ERROR, not a FRAME_SIZE_ERROR.
    fn preface_ok(&self) -> bool {
        let kind_ok = self
            .read_buf
            .get(3)
            .map_or(true, |&k| FrameType(k) == FrameType::SETTINGS);
        let flags_ok = self.read_buf.get(4).map_or(true, |&f| f & flags::ACK == 0);
        kind_ok && flags_ok
    }

    pub(super) fn known(&self, id: StreamId) -> Known {
        match self.streams.get(&id) {
            Some(s) if s.headers_sent => Known::Live,
            Some(_) => Known::Idle,
            None if !id.is_client_initiated() || id.value() > self.highest_sent => Known::Idle,
            None => match self.recently_gone(id) {
                Some(Gone::LocalReset) => Known::Reset,
                Some(Gone::RemoteReset) => Known::RemoteReset,
                Some(Gone::Ended) => Known::Ended,
                None => Known::Forgotten,
            },
        }
    }

    /// DATA or HEADERS on a stream that is no longer live.
    fn stale_frame(&mut self, id: StreamId, known: Known) -> Result<(), ProtoError> {
        match known {
            // RFC 9113 §5.1 (closed): "An endpoint that receives any frame
            // other than PRIORITY after receiving a RST_STREAM MUST treat that
            // as a stream error (Section 5.4.2) of type STREAM_CLOSED."
            Known::RemoteReset => {
                self.closed_stream_error(id, ErrorCode::STREAM_CLOSED);
                Ok(())
            }
            // DATA or HEADERS after the server's END_STREAM on a stream both
            // sides ended. RFC 7540 §5.1 (closed) requires a connection error
            // of type STREAM_CLOSED; RFC 9113 §5.1 allows it (§6.1 and §6.2
            // would also allow a stream error). We take the connection error:
            // a server whose stream states disagree with ours cannot be
            // trusted with the other streams.
            Known::Ended => Err(ProtoError::conn(
                ErrorCode::STREAM_CLOSED,
                "DATA or HEADERS on a stream both sides ended (§5.1)",
            )),
            Known::Forgotten => self.count_ignored(),
            _ => Ok(()),
        }
    }

    /// Frames on long-forgotten streams, PRIORITY and unknown frames are
    /// ignored but counted (HOSTILE K.92).
    pub(super) fn count_ignored(&mut self) -> Result<(), ProtoError> {
        self.ignored = self.ignored.saturating_add(1);
        if self.ignored > self.config.limits.max_ignored_frames {
            return Err(ProtoError::conn(
                ErrorCode::ENHANCE_YOUR_CALM,
                "too many ignored frames (PRIORITY, unknown, closed streams)",
            ));
        }
        Ok(())
    }

    fn on_frame(&mut self, d: Decoded, now: Instant) -> Result<(), ProtoError> {
        if let Some(obs) = self.observer.as_mut() {
            obs.frame(Direction::Received, &d.head, d.frame.as_ref());
        }
        if !self.connected && (d.head.kind != FrameType::SETTINGS || d.head.has(flags::ACK)) {
            // RFC 9113 §3.4: "The server connection preface consists of a
            // potentially empty SETTINGS frame ... that MUST be the first frame
            // the server sends" ... "MUST treat an invalid connection preface
            // as a connection error of type PROTOCOL_ERROR".
            return Err(pe(FIRST_NOT_SETTINGS));
        }
        let Some(frame) = d.frame else {
            return Ok(());
        };
        match frame {
            Frame::Data(f) => self.recv_data(f, now),
            Frame::Headers(f) => self.recv_headers(f),
            Frame::Priority(_) | Frame::Unknown(_) => self.count_ignored(),
            Frame::RstStream(f) => self.recv_rst(f),
            Frame::Settings(f) => self.recv_settings(f, now),
            // RFC 9113 §6.6: "A client cannot push. ... a client that has set
            // SETTINGS_ENABLE_PUSH to 0 ... MUST treat the receipt of a
            // PUSH_PROMISE frame as a connection error of type PROTOCOL_ERROR."
            Frame::PushPromise(_) => Err(pe("PUSH_PROMISE with push disabled (§6.6)")),
            Frame::Ping(f) => self.recv_ping(f, now),
            Frame::GoAway(f) => self.recv_goaway(f),
            Frame::WindowUpdate(f) => self.recv_window_update(f),
        }
    }

    fn recv_headers(&mut self, f: Headers) -> Result<(), ProtoError> {
        let id = f.stream_id;
        let max = self.config.max_header_list_size as usize;
        let phase = match self.known(id) {
            // RFC 9113 §5.1.1 / §5.1: HEADERS on an idle stream the client never
            // opened is a connection error of type PROTOCOL_ERROR.
            Known::Idle => return Err(pe("HEADERS on a stream we did not open (§5.1.1)")),
            known @ (Known::Reset | Known::RemoteReset | Known::Ended | Known::Forgotten) => {
                // RFC 9113 §4.3: a field block must be decoded even when the
                // stream is discarded, or the HPACK state diverges.
                self.hpack_dec
                    .decode(&f.fragment, max, |_| {})
                    .map_err(|_| cmp())?;
                return self.stale_frame(id, known);
            }
            Known::Live => match self.streams.get(&id) {
                Some(s) => s.recv,
                None => return Ok(()),
            },
        };
        let kind = match phase {
            RecvPhase::Head { .. } => BlockKind::Response,
            _ => BlockKind::Trailers,
        };
        let mut checker = FieldChecker::new(kind);
        // Decoded into a reused vector, then moved into one of the exact size
        // (none for an empty block).
        let mut scratch = std::mem::take(&mut self.field_buf);
        let outcome = self
            .hpack_dec
            .decode(&f.fragment, max, |hf| checker.field(hf, &mut scratch));
        let mut fields: Vec<HeaderField> = Vec::with_capacity(scratch.len());
        fields.append(&mut scratch);
        if scratch.capacity() <= FIELD_BUF_KEEP {
            self.field_buf = scratch;
        }
        let outcome = outcome.map_err(|_| cmp())?;
        if phase == RecvPhase::Closed {
            // RFC 9113 §5.1 half-closed (remote): "If an endpoint receives
            // additional frames, other than WINDOW_UPDATE, PRIORITY, or
            // RST_STREAM, for a stream that is in this state, it MUST respond
            // with a stream error of type STREAM_CLOSED."
            return Err(ProtoError::stream(
                id,
                ErrorCode::STREAM_CLOSED,
                "HEADERS after END_STREAM (§5.1)",
            ));
        }
        if outcome.over_limit {
            // HOSTILE C.23: far over our limit is abuse.
            if outcome.list_size / 4 > max {
                return Err(ProtoError::conn(
                    ErrorCode::ENHANCE_YOUR_CALM,
                    "response header list more than 4x SETTINGS_MAX_HEADER_LIST_SIZE",
                ));
            }
            return Err(ProtoError::stream(
                id,
                ErrorCode::PROTOCOL_ERROR,
                "response header list over SETTINGS_MAX_HEADER_LIST_SIZE (§10.5.1)",
            ));
        }
        // RFC 9113 §8.1.1: "Malformed requests or responses that are detected
        // MUST be treated as a stream error of type PROTOCOL_ERROR."
        let status = checker
            .finish()
            .map_err(|d| ProtoError::stream(id, ErrorCode::PROTOCOL_ERROR, d))?;
        let Some(stream) = self.streams.get_mut(&id) else {
            return Ok(());
        };
        match phase {
            RecvPhase::Head { informational } => {
                if (100..200).contains(&status) {
                    // RFC 9113 §8.1: "A HEADERS frame with the END_STREAM flag
                    // set that carries an informational status code is malformed".
                    if f.end_stream {
                        return Err(ProtoError::stream(
                            id,
                            ErrorCode::PROTOCOL_ERROR,
                            "1xx response with END_STREAM (§8.1)",
                        ));
                    }
                    let informational = informational.saturating_add(1);
                    if informational > self.config.limits.max_informational {
                        return Err(ProtoError::conn(
                            ErrorCode::ENHANCE_YOUR_CALM,
                            "too many 1xx responses on one stream",
                        ));
                    }
                    stream.recv = RecvPhase::Head { informational };
                    return Ok(());
                }
                stream.recv = if f.end_stream {
                    RecvPhase::Closed
                } else {
                    RecvPhase::Body
                };
                self.events.push_back(Event::Headers {
                    stream_id: id,
                    head: ResponseHead { status, fields },
                    end_stream: f.end_stream,
                });
            }
            _ => {
                // RFC 9113 §8.1: "An endpoint that receives a HEADERS frame
                // without the END_STREAM flag set after receiving the HEADERS
                // frame that opens a request or after receiving a final
                // (non-informational) status code MUST treat the corresponding
                // request or response as malformed".
                if !f.end_stream {
                    return Err(ProtoError::stream(
                        id,
                        ErrorCode::PROTOCOL_ERROR,
                        "trailers without END_STREAM (§8.1)",
                    ));
                }
                stream.recv = RecvPhase::Closed;
                self.events.push_back(Event::Trailers {
                    stream_id: id,
                    fields,
                });
            }
        }
        if f.end_stream {
            self.maybe_finish(id);
        }
        Ok(())
    }

    fn recv_data(&mut self, f: Data, now: Instant) -> Result<(), ProtoError> {
        let id = f.stream_id;
        let n = f.flow_len;
        let known = self.known(id);
        if known == Known::Idle {
            return Err(pe("DATA on a stream we did not open (§5.1.1)"));
        }
        // RFC 9113 §6.9.1: a receiver MAY treat DATA beyond the connection
        // window as a connection error of type FLOW_CONTROL_ERROR.
        self.conn_recv.receive(n).map_err(|_| {
            ProtoError::conn(
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA beyond the connection window (§6.9.1)",
            )
        })?;
        if known != Known::Live {
            // HOSTILE I.63: credit discarded DATA back or the connection stalls.
            self.credit_conn(i64::from(n));
            return self.stale_frame(id, known);
        }
        if f.data.is_empty() && !f.end_stream {
            // HOSTILE K.91 (CVE-2019-9518): empty DATA frames cost us work.
            self.empty_data = self.empty_data.saturating_add(1);
            if self.empty_data > self.config.limits.max_empty_data_frames {
                return Err(ProtoError::conn(
                    ErrorCode::ENHANCE_YOUR_CALM,
                    "too many empty DATA frames",
                ));
            }
        }
        let Some(stream) = self.streams.get_mut(&id) else {
            return Ok(());
        };
        let err = match stream.recv {
            // RFC 9113 §8.1: a response starts with a HEADERS frame; DATA first is malformed.
            RecvPhase::Head { .. } => Some((
                ErrorCode::PROTOCOL_ERROR,
                "DATA before the response HEADERS (§8.1)",
            )),
            // RFC 9113 §5.1 half-closed (remote): other frames "MUST" get STREAM_CLOSED.
            RecvPhase::Closed => Some((ErrorCode::STREAM_CLOSED, "DATA after END_STREAM (§5.1)")),
            RecvPhase::Body => match stream.recv_window.receive(n) {
                Ok(()) => None,
                // RFC 9113 §6.9.1: "the receiver MAY respond with a stream error ... FLOW_CONTROL_ERROR".
                Err(_) => Some((
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "DATA beyond the stream window (§6.9.1)",
                )),
            },
        };
        if let Some((code, detail)) = err {
            self.credit_conn(i64::from(n));
            return Err(ProtoError::stream(id, code, detail));
        }
        let len = f.data.len();
        // Padding counts against flow control; credit it back at once (§6.1).
        let padding = i64::from(n) - len as i64;
        let stream_inc = stream.recv_window.release(padding);
        stream.recv_window.hold(len);
        if f.end_stream {
            stream.recv = RecvPhase::Closed;
        }
        if let Some(inc) = stream_inc.filter(|_| !f.end_stream) {
            self.write_window_update(id, inc);
        }
        self.credit_conn(padding);
        self.conn_recv.hold(len);
        if len > 0 || f.end_stream {
            self.events.push_back(Event::Data {
                stream_id: id,
                data: f.data,
                end_stream: f.end_stream,
            });
        }
        if self.bdp.as_mut().is_some_and(|b| b.on_data(n)) {
            self.send_ping(PingKind::Bdp, now);
        }
        if f.end_stream {
            self.maybe_finish(id);
        }
        Ok(())
    }

    /// Releases `n` octets of the connection receive window.
    fn credit_conn(&mut self, n: i64) {
        if let Some(inc) = self.conn_recv.release(n) {
            self.write_window_update(StreamId::ZERO, inc);
            self.observe_recv_window(StreamId::ZERO);
        }
    }

    pub(super) fn observe_recv_window(&mut self, id: StreamId) {
        if let Some(obs) = self.observer.as_mut() {
            let w = if id.is_zero() {
                self.conn_recv.get()
            } else {
                self.streams.get(&id).map_or(0, |s| s.recv_window.get())
            };
            obs.window(Direction::Received, id, w);
        }
    }

    /// [`Connection::release_capacity`].
    pub(super) fn release(&mut self, id: StreamId, n: usize) {
        if let Some(inc) = self.conn_recv.release_held(n) {
            self.write_window_update(StreamId::ZERO, inc);
            self.observe_recv_window(StreamId::ZERO);
        }
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        let inc = s.recv_window.release_held(n);
        // No point in more credit once the server ended the stream.
        if let Some(inc) = inc.filter(|_| s.recv != RecvPhase::Closed) {
            self.write_window_update(id, inc);
            self.observe_recv_window(id);
        }
    }
}

fn cmp() -> ProtoError {
    // RFC 9113 §4.3: "A decoding error in a field block MUST be treated as a
    // connection error of type COMPRESSION_ERROR."
    ProtoError::conn(ErrorCode::COMPRESSION_ERROR, "HPACK decoding failed (§4.3)")
}
