//! Connection-level and stream-control frames from the server: RST_STREAM,
//! SETTINGS, PING, GOAWAY and WINDOW_UPDATE (RFC 9113 §6.4 to §6.9).

use super::lifecycle::Gone;
use super::observe::Direction;
use super::ping::PingKind;
use super::recv::{pe, Known};
use super::stream::RecvPhase;
use super::{settings, Connection, Event, GoAwayInfo};
use crate::error::{ErrorCode, ProtoError};
use crate::frame::{GoAway, Ping, RstStream, Setting, SettingId, Settings, StreamId, WindowUpdate};
use bytes::Bytes;
use std::time::Instant;

impl Connection {
    pub(super) fn recv_rst(&mut self, f: RstStream) -> Result<(), ProtoError> {
        let id = f.stream_id;
        match self.known(id) {
            // RFC 9113 §6.4: "If a RST_STREAM frame identifying an idle stream
            // is received, the recipient MUST treat this as a connection error
            // of type PROTOCOL_ERROR."
            Known::Idle => Err(pe("RST_STREAM on an idle stream (§6.4)")),
            // §5.4.2: never answer a RST_STREAM with a RST_STREAM.
            Known::Reset | Known::RemoteReset | Known::Ended | Known::Forgotten => Ok(()),
            Known::Live => {
                let Some(s) = self.remove_stream(id) else {
                    return Ok(());
                };
                self.remember(id, Gone::RemoteReset);
                // RFC 9113 §8.1: a server may send RST_STREAM(NO_ERROR) after a
                // complete response; the response stands.
                if s.recv != RecvPhase::Closed {
                    self.events.push_back(Event::StreamReset {
                        stream_id: id,
                        code: f.code,
                        remote: true,
                        error: None,
                    });
                }
                Ok(())
            }
        }
    }

    pub(super) fn recv_settings(&mut self, f: Settings, now: Instant) -> Result<(), ProtoError> {
        if f.ack {
            // RFC 9113 §6.5.3: an ACK answers one SETTINGS we sent; one with
            // none outstanding is a PROTOCOL_ERROR (as h2 and nghttp2 do).
            let Some(initial) = self.unacked_settings.pop_front() else {
                return Err(pe("SETTINGS ACK without outstanding SETTINGS (§6.5.3)"));
            };
            if initial {
                // Our lowered limits apply once the server has seen them.
                self.hpack_dec
                    .set_max_table_size(self.config.header_table_size as usize);
            }
            if self.unacked_settings.is_empty() {
                self.timers.stop(super::timer::Timer::SettingsAck);
            } else {
                self.timers.set_after(
                    super::timer::Timer::SettingsAck,
                    now,
                    self.config.settings_timeout,
                );
            }
            self.events.push_back(Event::SettingsAcked);
            return Ok(());
        }
        for s in f.params {
            // RFC 9113 §6.5.3: "The values in the SETTINGS frame MUST be
            // processed in the order they appear".
            match settings::apply(&mut self.peer, s)? {
                settings::Effect::HeaderTableSize(v) => self.hpack_enc.set_peer_max_table_size(v),
                settings::Effect::WindowDelta(delta) => self.shift_send_windows(delta)?,
                settings::Effect::Concurrency | settings::Effect::None => {}
            }
        }
        // RFC 9113 §6.5.3: "Upon receiving and processing ... the recipient
        // MUST immediately emit a SETTINGS frame with the ACK flag set."
        self.queue_ack(None)?;
        let ev = if self.connected {
            Event::SettingsChanged(self.peer)
        } else {
            Event::Connected(self.peer)
        };
        self.connected = true;
        self.events.push_back(ev);
        self.schedule_all();
        Ok(())
    }

    /// RFC 9113 §6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE change moves every
    /// stream send window by the difference; one past 2^31-1 is a connection
    /// error of type FLOW_CONTROL_ERROR.
    fn shift_send_windows(&mut self, delta: i64) -> Result<(), ProtoError> {
        for s in self.streams.values_mut() {
            s.send_window.adjust(delta).map_err(|_| {
                ProtoError::conn(
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "SETTINGS_INITIAL_WINDOW_SIZE change overflows a stream window (§6.9.2)",
                )
            })?;
        }
        Ok(())
    }

    pub(super) fn recv_ping(&mut self, f: Ping, now: Instant) -> Result<(), ProtoError> {
        if !f.ack {
            // RFC 9113 §6.7: "Receivers of a PING frame that does not include
            // an ACK flag MUST send a PING frame with the ACK flag set in
            // response, with an identical frame payload."
            return self.queue_ack(Some(f.payload));
        }
        // RFC 9113 §6.7: "PING responses ... MUST NOT" be responded to; an
        // ACK for a payload we never sent is ignored.
        let Some((kind, rtt)) = self.pings.ack(f.payload, now) else {
            return Ok(());
        };
        self.rtt = Some(rtt);
        if let Some(obs) = self.observer.as_mut() {
            obs.ping_rtt(rtt);
        }
        let id = match kind {
            PingKind::User(id) => Some(id),
            PingKind::Keepalive => None,
            PingKind::Bdp => {
                if let Some(new) = self.bdp.as_mut().and_then(|b| b.on_ack()) {
                    self.grow_windows(new, now);
                }
                None
            }
        };
        self.events.push_back(Event::PingAck { id, rtt });
        Ok(())
    }

    /// BDP: raise our stream window (SETTINGS) and connection window (WINDOW_UPDATE).
    fn grow_windows(&mut self, new: u32, now: Instant) {
        if new > self.stream_window {
            self.stream_window = new;
            for s in self.streams.values_mut() {
                s.recv_window.set_initial(new);
            }
            let f = Settings {
                ack: false,
                params: vec![Setting {
                    id: SettingId::INITIAL_WINDOW_SIZE,
                    value: new,
                }],
            };
            self.write_frame_settings(f, now);
        }
        if let Some(inc) = self.conn_recv.grow(new) {
            self.write_window_update(StreamId::ZERO, inc);
            self.observe_recv_window(StreamId::ZERO);
        }
    }

    pub(super) fn recv_goaway(&mut self, f: GoAway) -> Result<(), ProtoError> {
        let last = f.last_stream_id;
        // RFC 9113 §6.8: the last stream id names a stream the receiver
        // initiated; an even one from a server cannot be ours.
        if !last.is_zero() && !last.is_client_initiated() {
            return Err(pe("GOAWAY last stream id is not a client stream (§6.8)"));
        }
        // RFC 9113 §6.8: "Endpoints MUST NOT increase the value they send in
        // the last stream identifier".
        if self
            .goaway
            .as_ref()
            .is_some_and(|g| last > g.last_stream_id)
        {
            return Err(pe("GOAWAY raised the last stream id (§6.8)"));
        }
        // Streams above `last` and streams never started were not processed
        // (§6.8): listed, then forgotten without an event.
        let unprocessed: Vec<StreamId> = self
            .streams
            .iter()
            .filter(|(id, s)| **id > last || !s.headers_sent)
            .map(|(id, _)| *id)
            .collect();
        for id in &unprocessed {
            self.remove_stream(*id);
        }
        self.waiting.clear();
        // Copied, not sliced: a slice would keep the whole read buffer the
        // frame arrived in alive (up to our MAX_FRAME_SIZE, 16 MiB) for as
        // long as the GOAWAY is remembered; the cap must bound memory too.
        let keep = f.debug_data.len().min(self.config.limits.max_goaway_debug);
        let debug_data = Bytes::copy_from_slice(f.debug_data.get(..keep).unwrap_or_default());
        let mut info = GoAwayInfo::new(last, f.code, debug_data);
        info.unprocessed = unprocessed;
        self.events.push_back(Event::GoAway(info.clone()));
        self.goaway = Some(info);
        Ok(())
    }

    pub(super) fn recv_window_update(&mut self, f: WindowUpdate) -> Result<(), ProtoError> {
        let id = f.stream_id;
        let inc = i64::from(f.increment);
        if id.is_zero() {
            // RFC 9113 §6.9.1: a window past 2^31-1 on the connection is a
            // connection error of type FLOW_CONTROL_ERROR.
            self.conn_send.adjust(inc).map_err(|_| {
                ProtoError::conn(
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "connection window over 2^31-1 (§6.9.1)",
                )
            })?;
            if let Some(obs) = self.observer.as_mut() {
                obs.window(Direction::Sent, id, self.conn_send.get());
            }
            self.schedule_all();
            return Ok(());
        }
        match self.known(id) {
            Known::Idle => Err(pe("WINDOW_UPDATE on a stream we did not open (§5.1)")),
            // §6.9: WINDOW_UPDATE can follow END_STREAM; ignore on closed streams.
            Known::Reset | Known::RemoteReset | Known::Ended | Known::Forgotten => Ok(()),
            Known::Live => {
                let Some(s) = self.streams.get_mut(&id) else {
                    return Ok(());
                };
                // RFC 9113 §6.9.1: past 2^31-1 on a stream: a stream error FLOW_CONTROL_ERROR.
                s.send_window.adjust(inc).map_err(|_| {
                    ProtoError::stream(
                        id,
                        ErrorCode::FLOW_CONTROL_ERROR,
                        "stream window over 2^31-1 (§6.9.1)",
                    )
                })?;
                let w = s.send_window.get();
                if let Some(obs) = self.observer.as_mut() {
                    obs.window(Direction::Sent, id, w);
                }
                self.schedule(id);
                Ok(())
            }
        }
    }
}
