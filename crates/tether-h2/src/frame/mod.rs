//! HTTP/2 frames (RFC 9113 §4, §6): one module per frame type.
//!
//! Each frame type has `decode(&Head, Bytes) -> Result<Self, ProtoError>` that
//! enforces the length and stream-identifier rules of §6 with the right error
//! code and scope, and an `encode` that appends the frame to a `BytesMut`.
//! [`FrameDecoder`] cuts frames out of a read buffer and assembles HEADERS and
//! CONTINUATION frames into one field block.
// Tests may unwrap: a panic there is a failed test, not a peer-reachable crash.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod block;
mod codec;
mod continuation;
mod data;
mod goaway;
mod head;
mod headers;
mod pad;
mod ping;
mod priority;
mod push_promise;
mod rst_stream;
mod settings;
mod window_update;

pub use codec::{Decoded, DecoderLimits, FrameDecoder};
pub use continuation::Continuation;
pub use data::Data;
pub use goaway::GoAway;
pub use head::{flags, FrameType, Head, StreamId};
pub use headers::Headers;
pub use ping::Ping;
pub use priority::{Priority, PrioritySpec};
pub use push_promise::PushPromise;
pub use rst_stream::RstStream;
pub use settings::{Setting, SettingId, Settings};
pub use window_update::WindowUpdate;

use crate::error::{ErrorCode, ProtoError};
use bytes::{BufMut, Bytes, BytesMut};

/// Length of the fixed frame header (§4.1).
pub const HEADER_LEN: usize = 9;
/// The initial and smallest SETTINGS_MAX_FRAME_SIZE (§6.5.2).
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 16_384;
/// The largest allowed SETTINGS_MAX_FRAME_SIZE (§6.5.2).
pub const MAX_MAX_FRAME_SIZE: u32 = 16_777_215;
/// The largest flow-control window (§6.9.1).
pub const MAX_WINDOW_SIZE: u32 = (1 << 31) - 1;
/// The initial flow-control window (§6.9.2).
pub const DEFAULT_WINDOW_SIZE: u32 = 65_535;

/// A decoded frame. CONTINUATION frames never appear here: the
/// [`FrameDecoder`] folds them into the [`Headers`] (or [`PushPromise`]) they continue.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// DATA (§6.1).
    Data(Data),
    /// HEADERS (§6.2), with the whole field block once assembled.
    Headers(Headers),
    /// PRIORITY (§6.3).
    Priority(Priority),
    /// RST_STREAM (§6.4).
    RstStream(RstStream),
    /// SETTINGS (§6.5).
    Settings(Settings),
    /// PUSH_PROMISE (§6.6).
    PushPromise(PushPromise),
    /// PING (§6.7).
    Ping(Ping),
    /// GOAWAY (§6.8).
    GoAway(GoAway),
    /// WINDOW_UPDATE (§6.9).
    WindowUpdate(WindowUpdate),
    /// A frame of a type this crate does not know; its payload is discarded (§4.1, §5.5).
    Unknown(Head),
}

impl Frame {
    /// Decodes one frame that is not CONTINUATION from its header and payload.
    ///
    /// The payload length should equal `head.length`; the decoders go by
    /// the payload itself.
    /// A CONTINUATION given here has no field block to continue and is a
    /// connection error of type PROTOCOL_ERROR (§6.10); [`FrameDecoder`]
    /// handles CONTINUATION itself. SETTINGS are decoded with the default
    /// entry cap of [`DecoderLimits`].
    pub fn decode(head: &Head, payload: Bytes) -> Result<Frame, ProtoError> {
        Frame::decode_with(head, payload, DecoderLimits::default().max_settings_entries)
    }

    /// [`Frame::decode`] with an explicit cap on SETTINGS entries.
    pub fn decode_with(
        head: &Head,
        payload: Bytes,
        max_settings_entries: usize,
    ) -> Result<Frame, ProtoError> {
        Ok(match head.kind {
            FrameType::DATA => Frame::Data(Data::decode(head, payload)?),
            FrameType::HEADERS => Frame::Headers(Headers::decode(head, payload)?),
            FrameType::PRIORITY => Frame::Priority(Priority::decode(head, payload)?),
            FrameType::RST_STREAM => Frame::RstStream(RstStream::decode(head, payload)?),
            FrameType::SETTINGS => {
                Frame::Settings(Settings::decode(head, payload, max_settings_entries)?)
            }
            FrameType::PUSH_PROMISE => Frame::PushPromise(PushPromise::decode(head, payload)?),
            FrameType::PING => Frame::Ping(Ping::decode(head, payload)?),
            FrameType::GOAWAY => Frame::GoAway(GoAway::decode(head, payload)?),
            FrameType::WINDOW_UPDATE => Frame::WindowUpdate(WindowUpdate::decode(head, payload)?),
            // RFC 9113 §6.10: a CONTINUATION not preceded by a HEADERS,
            // PUSH_PROMISE or CONTINUATION without END_HEADERS "MUST" be a
            // connection error of type PROTOCOL_ERROR.
            FrameType::CONTINUATION => {
                return Err(ProtoError::conn(
                    ErrorCode::PROTOCOL_ERROR,
                    "CONTINUATION without an open field block",
                ))
            }
            // RFC 9113 §4.1, §5.5: "Implementations MUST ignore and discard
            // frames of unknown types."
            _ => Frame::Unknown(*head),
        })
    }

    /// The stream this frame belongs to (zero for connection frames).
    pub fn stream_id(&self) -> StreamId {
        match self {
            Frame::Data(f) => f.stream_id,
            Frame::Headers(f) => f.stream_id,
            Frame::Priority(f) => f.stream_id,
            Frame::RstStream(f) => f.stream_id,
            Frame::Settings(_) | Frame::Ping(_) | Frame::GoAway(_) => StreamId::ZERO,
            Frame::PushPromise(f) => f.stream_id,
            Frame::WindowUpdate(f) => f.stream_id,
            Frame::Unknown(head) => head.stream_id,
        }
    }

    /// Appends this frame to `dst` as one wire frame, for peers and tests.
    ///
    /// DATA is padded when `flow_len` exceeds the data length (the padding is
    /// rebuilt from it, at most 255 bytes); HEADERS and PUSH_PROMISE are
    /// written as one frame with their own END_HEADERS flag; an unknown frame
    /// is written with its header and `length` zero bytes of payload.
    pub fn encode(&self, dst: &mut BytesMut) {
        match self {
            Frame::Data(f) => f.encode_frame(dst),
            Frame::Headers(f) => f.encode(dst),
            Frame::Priority(f) => f.encode(dst),
            Frame::RstStream(f) => f.encode(dst),
            Frame::Settings(f) => f.encode(dst),
            Frame::PushPromise(f) => f.encode(dst),
            Frame::Ping(f) => f.encode(dst),
            Frame::GoAway(f) => f.encode(dst),
            Frame::WindowUpdate(f) => f.encode(dst),
            Frame::Unknown(head) => {
                head.encode(dst);
                dst.put_bytes(0, head.length as usize);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;

    fn decode(bytes: &[u8]) -> Result<Frame, ProtoError> {
        let mut arr = [0u8; HEADER_LEN];
        arr.copy_from_slice(&bytes[..HEADER_LEN]);
        let head = Head::parse(&arr);
        Frame::decode(&head, Bytes::copy_from_slice(&bytes[HEADER_LEN..]))
    }

    #[test]
    fn unknown_type_is_kept_as_unknown() {
        let f = decode(&[0, 0, 3, 0xfa, 0xff, 0, 0, 0, 5, 1, 2, 3]).unwrap();
        let head = Head::new(3, FrameType(0xfa), 0xff, StreamId::new(5));
        assert_eq!(f, Frame::Unknown(head));
        assert_eq!(f.stream_id(), StreamId::new(5));
    }

    #[test]
    fn bare_continuation_is_protocol_error() {
        let e = decode(&[0, 0, 0, 0x9, 0x4, 0, 0, 0, 1]).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn dispatch_by_type() {
        let ping = decode(&[0, 0, 8, 0x6, 0x1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        assert_eq!(
            ping,
            Frame::Ping(Ping {
                ack: true,
                payload: [1, 2, 3, 4, 5, 6, 7, 8]
            })
        );
        assert_eq!(ping.stream_id(), StreamId::ZERO);
        let wu = decode(&[0, 0, 4, 0x8, 0, 0, 0, 0, 3, 0, 0, 1, 0]).unwrap();
        assert_eq!(
            wu,
            Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::new(3),
                increment: 256
            })
        );
        assert_eq!(wu.stream_id(), StreamId::new(3));
    }

    #[test]
    fn encode_then_decode_every_kind() {
        let frames = vec![
            Frame::Data(Data {
                stream_id: StreamId::new(1),
                data: Bytes::from_static(b"hello"),
                end_stream: true,
                flow_len: 9,
            }),
            Frame::Headers(Headers {
                stream_id: StreamId::new(3),
                end_stream: false,
                end_headers: true,
                priority: Some(PrioritySpec {
                    dependency: StreamId::new(1),
                    exclusive: true,
                    weight: 15,
                }),
                fragment: Bytes::from_static(b"\x82"),
            }),
            Frame::Priority(Priority {
                stream_id: StreamId::new(5),
                spec: PrioritySpec {
                    dependency: StreamId::ZERO,
                    exclusive: false,
                    weight: 0,
                },
            }),
            Frame::RstStream(RstStream {
                stream_id: StreamId::new(7),
                code: ErrorCode(0xabc),
            }),
            Frame::Settings(Settings {
                ack: false,
                params: vec![Setting {
                    id: SettingId::MAX_FRAME_SIZE,
                    value: 20_000,
                }],
            }),
            Frame::PushPromise(PushPromise {
                stream_id: StreamId::new(1),
                promised_id: StreamId::new(2),
                end_headers: true,
                fragment: Bytes::from_static(b"ab"),
            }),
            Frame::Ping(Ping {
                ack: false,
                payload: [9; 8],
            }),
            Frame::GoAway(GoAway {
                last_stream_id: StreamId::new(9),
                code: ErrorCode::ENHANCE_YOUR_CALM,
                debug_data: Bytes::from_static(b"too_many_pings"),
            }),
            Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::ZERO,
                increment: MAX_WINDOW_SIZE,
            }),
            Frame::Unknown(Head::new(2, FrameType(0x42), 0, StreamId::new(1))),
        ];
        for frame in frames {
            let mut dst = BytesMut::new();
            frame.encode(&mut dst);
            assert_eq!(decode(&dst).unwrap(), frame);
        }
    }
}
