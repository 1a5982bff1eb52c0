//! Cutting frames out of a read buffer, with CONTINUATION assembly (§4.3, §6.10).

use super::block::{Block, Opener};
use super::{Continuation, Frame, FrameType, Head, HEADER_LEN};
use crate::error::{ErrorCode, ProtoError};
use bytes::{Buf, Bytes, BytesMut};

/// The most `decode` reserves ahead for a partly received frame.
const RESERVE_HINT_CAP: usize = 64 * 1024;

/// Limits the decoder enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderLimits {
    /// Our SETTINGS_MAX_FRAME_SIZE: a larger frame is a CE(FRAME_SIZE_ERROR).
    pub max_frame_size: u32,
    /// CONTINUATION frames allowed after one HEADERS before CE(ENHANCE_YOUR_CALM).
    pub max_continuation_frames: u32,
    /// Bytes an assembled field block may reach before CE(ENHANCE_YOUR_CALM).
    pub max_header_block_bytes: u32,
    /// Entries one SETTINGS frame may carry before CE(ENHANCE_YOUR_CALM).
    pub max_settings_entries: usize,
}

impl Default for DecoderLimits {
    fn default() -> Self {
        DecoderLimits {
            max_frame_size: super::DEFAULT_MAX_FRAME_SIZE,
            max_continuation_frames: 64,
            max_header_block_bytes: 256 * 1024,
            max_settings_entries: 32,
        }
    }
}

/// One wire frame read from the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decoded {
    /// The header of the wire frame just read (every frame, CONTINUATION included).
    pub head: Head,
    /// The decoded frame, or `None` while a field block is still incomplete
    /// (a HEADERS or CONTINUATION without END_HEADERS was just read).
    pub frame: Option<Frame>,
}

/// Decodes frames from a read buffer.
///
/// Each call to [`FrameDecoder::decode`] consumes at most one wire frame.
/// HEADERS and PUSH_PROMISE frames without END_HEADERS open a field block
/// that the following CONTINUATION frames complete; the assembled frame is
/// returned with the last CONTINUATION.
///
/// Errors: a connection error is sticky (every later call returns it again:
/// the connection is over). A stream error (PRIORITY of the wrong length,
/// WINDOW_UPDATE with a zero increment on a stream) consumes its frame and
/// decoding may continue with the next one.
#[derive(Debug)]
pub struct FrameDecoder {
    limits: DecoderLimits,
    /// The field block being assembled, if any.
    block: Option<Block>,
    /// The connection error that ended decoding, if any.
    failed: Option<ProtoError>,
}

impl FrameDecoder {
    /// A decoder with these limits.
    pub fn new(limits: DecoderLimits) -> FrameDecoder {
        FrameDecoder {
            limits,
            block: None,
            failed: None,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &DecoderLimits {
        &self.limits
    }

    /// Changes our SETTINGS_MAX_FRAME_SIZE (once the peer has acknowledged it).
    pub fn set_max_frame_size(&mut self, max: u32) {
        self.limits.max_frame_size = max;
    }

    /// Whether a field block is being assembled (only CONTINUATION on its stream may follow).
    pub fn in_header_block(&self) -> bool {
        self.block.is_some()
    }

    /// Splits the next whole frame off the front of `buf` and decodes it.
    /// Returns `Ok(None)` when `buf` does not yet hold a whole frame.
    /// After a connection error the decoder must not be used again (it keeps
    /// returning that error); after a stream error it may.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, ProtoError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.decode_inner(buf);
        if let Err(err) = &result {
            if err.is_connection() {
                self.failed = Some(err.clone());
                self.block = None;
            }
        }
        result
    }

    fn decode_inner(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, ProtoError> {
        let Some(head_bytes) = buf.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let mut arr = [0u8; HEADER_LEN];
        arr.copy_from_slice(head_bytes);
        let head = Head::parse(&arr);

        // RFC 9113 §4.2: "An endpoint MUST send an error code of
        // FRAME_SIZE_ERROR if a frame exceeds the size defined in
        // SETTINGS_MAX_FRAME_SIZE". A stream error would be allowed for DATA,
        // but we choose a connection error for every type so that we never
        // buffer an oversized frame just to skip it (upgrading is allowed, §5.4).
        if head.length > self.limits.max_frame_size {
            return Err(ProtoError::conn(
                ErrorCode::FRAME_SIZE_ERROR,
                "frame larger than SETTINGS_MAX_FRAME_SIZE",
            ));
        }
        // Checked as soon as the header is here, before the payload arrives.
        self.check_block_order(&head)?;

        let Some(total) = usize::try_from(head.length)
            .ok()
            .and_then(|len| len.checked_add(HEADER_LEN))
        else {
            return Err(ProtoError::conn(
                ErrorCode::FRAME_SIZE_ERROR,
                "frame length does not fit in memory",
            ));
        };
        if buf.len() < total {
            // A hint only, capped so that 9 bytes from the peer cannot make
            // us allocate a whole maximum-size frame up front.
            buf.reserve((total - buf.len()).min(RESERVE_HINT_CAP));
            return Ok(None);
        }
        // Zero copy: the payload is a view of the read buffer.
        let mut payload = buf.split_to(total).freeze();
        payload.advance(HEADER_LEN);

        if head.kind == FrameType::CONTINUATION {
            let frame = self.continue_block(&head, payload)?;
            return Ok(Some(Decoded { head, frame }));
        }

        let frame = Frame::decode_with(&head, payload, self.limits.max_settings_entries)?;
        let opener = match frame {
            Frame::Headers(h) if !h.end_headers => Opener::Headers(h),
            Frame::PushPromise(p) if !p.end_headers => Opener::PushPromise(p),
            Frame::Headers(ref h) => {
                self.check_block_len(h.fragment.len())?;
                return Ok(Some(Decoded {
                    head,
                    frame: Some(frame),
                }));
            }
            Frame::PushPromise(ref p) => {
                self.check_block_len(p.fragment.len())?;
                return Ok(Some(Decoded {
                    head,
                    frame: Some(frame),
                }));
            }
            other => {
                return Ok(Some(Decoded {
                    head,
                    frame: Some(other),
                }))
            }
        };
        self.check_block_len(opener.first_fragment().len())?;
        self.block = Some(Block::new(opener));
        Ok(Some(Decoded { head, frame: None }))
    }

    /// Enforces that a field block is a contiguous run of frames.
    fn check_block_order(&self, head: &Head) -> Result<(), ProtoError> {
        match &self.block {
            // RFC 9113 §4.3: "Each field block is processed as a discrete unit.
            // Field blocks MUST be transmitted as a contiguous sequence of
            // frames, with no interleaved frames of any other type or from any
            // other stream." §6.2: a HEADERS without END_HEADERS "MUST be
            // followed by a CONTINUATION frame for the same stream. A receiver
            // MUST treat the receipt of any other type of frame or a frame on
            // a different stream as a connection error (Section 5.4.1) of
            // type PROTOCOL_ERROR."
            Some(block) => {
                if head.kind != FrameType::CONTINUATION {
                    return Err(ProtoError::conn(
                        ErrorCode::PROTOCOL_ERROR,
                        "frame other than CONTINUATION inside a field block",
                    ));
                }
                if head.stream_id != block.stream_id() {
                    return Err(ProtoError::conn(
                        ErrorCode::PROTOCOL_ERROR,
                        "CONTINUATION on another stream inside a field block",
                    ));
                }
                Ok(())
            }
            // RFC 9113 §6.10: "A CONTINUATION frame MUST be preceded by a
            // HEADERS, PUSH_PROMISE or CONTINUATION frame without the
            // END_HEADERS flag set. A recipient that observes violation of this
            // rule MUST respond with a connection error (Section 5.4.1) of type
            // PROTOCOL_ERROR."
            None if head.kind == FrameType::CONTINUATION => Err(ProtoError::conn(
                ErrorCode::PROTOCOL_ERROR,
                "CONTINUATION without an open field block",
            )),
            None => Ok(()),
        }
    }

    /// Adds a CONTINUATION to the open block; the whole frame when it ends.
    fn continue_block(&mut self, head: &Head, payload: Bytes) -> Result<Option<Frame>, ProtoError> {
        let cont = Continuation::decode(head, payload)?;
        let Some(mut block) = self.block.take() else {
            // Unreachable after check_block_order, but never panic.
            return Err(ProtoError::conn(
                ErrorCode::PROTOCOL_ERROR,
                "CONTINUATION without an open field block",
            ));
        };
        // CVE-2024-27316 family: a size cap alone is bypassed by zero-length
        // CONTINUATION frames, so the frames are counted too.
        if block.continuations() >= self.limits.max_continuation_frames {
            return Err(ProtoError::conn(
                ErrorCode::ENHANCE_YOUR_CALM,
                "too many CONTINUATION frames in one field block",
            ));
        }
        self.check_block_len(block.len().saturating_add(cont.fragment.len()))?;
        block.push(&cont.fragment);
        if cont.end_headers {
            Ok(Some(block.finish()))
        } else {
            self.block = Some(block);
            Ok(None)
        }
    }

    fn check_block_len(&self, len: usize) -> Result<(), ProtoError> {
        let max = usize::try_from(self.limits.max_header_block_bytes).unwrap_or(usize::MAX);
        if len > max {
            return Err(ProtoError::conn(
                ErrorCode::ENHANCE_YOUR_CALM,
                "field block larger than the configured limit",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;
    use crate::frame::{flags, Continuation, Headers, Ping, PushPromise, StreamId};

    fn ping_bytes() -> BytesMut {
        let mut b = BytesMut::new();
        Ping {
            ack: false,
            payload: [7; 8],
        }
        .encode(&mut b);
        b
    }

    #[test]
    fn needs_whole_header_then_whole_payload() {
        let whole = ping_bytes();
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        let mut buf = BytesMut::from(&whole[..8]);
        assert_eq!(dec.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(&whole[8..16]);
        assert_eq!(dec.decode(&mut buf).unwrap(), None);
        assert_eq!(buf.len(), 16);
        buf.extend_from_slice(&whole[16..]);
        let d = dec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(d.head.kind, FrameType::PING);
        assert_eq!(
            d.frame,
            Some(Frame::Ping(Ping {
                ack: false,
                payload: [7; 8]
            }))
        );
        assert!(buf.is_empty());
        assert_eq!(dec.decode(&mut buf).unwrap(), None);
    }

    #[test]
    fn data_payload_is_a_view_of_the_read_buffer() {
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        let mut buf = BytesMut::new();
        crate::frame::Data::encode(StreamId::new(1), b"payload", true, &mut buf);
        let start = buf[HEADER_LEN..].as_ptr();
        let d = dec.decode(&mut buf).unwrap().unwrap();
        match d.frame {
            Some(Frame::Data(data)) => {
                assert_eq!(data.data.as_ptr(), start);
                assert_eq!(data.data, Bytes::from_static(b"payload"));
                assert_eq!(data.flow_len, 7);
            }
            other => panic!("expected DATA, got {other:?}"),
        }
    }

    #[test]
    fn oversized_header_rejected_before_payload() {
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        // DATA of 16385 bytes announced; only the header is buffered.
        let mut buf = BytesMut::from(&[0x00, 0x40, 0x01, 0, 0, 0, 0, 0, 1][..]);
        let e = dec.decode(&mut buf).unwrap_err();
        assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn connection_errors_are_sticky() {
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        let mut buf = BytesMut::from(&[0, 0, 0, 0x9, flags::END_HEADERS, 0, 0, 0, 1][..]);
        let e = dec.decode(&mut buf).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        let mut more = ping_bytes();
        assert_eq!(dec.decode(&mut more).unwrap_err(), e);
    }

    #[test]
    fn stream_errors_consume_the_frame() {
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        let mut buf = BytesMut::from(&[0, 0, 4, 0x8, 0, 0, 0, 0, 3, 0, 0, 0, 0][..]);
        buf.extend_from_slice(&ping_bytes());
        let e = dec.decode(&mut buf).unwrap_err();
        assert_eq!(e.scope, Scope::Stream(StreamId::new(3)));
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        let d = dec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(d.head.kind, FrameType::PING);
    }

    #[test]
    fn single_headers_block_is_not_copied() {
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        let mut buf = BytesMut::new();
        Headers::encode_block(StreamId::new(1), b"abc", false, 16_384, &mut buf);
        let start = buf[HEADER_LEN..].as_ptr();
        let d = dec.decode(&mut buf).unwrap().unwrap();
        match d.frame {
            Some(Frame::Headers(h)) => {
                assert_eq!(h.fragment.as_ptr(), start);
                assert!(h.end_headers);
            }
            other => panic!("expected HEADERS, got {other:?}"),
        }
        assert!(!dec.in_header_block());
    }

    #[test]
    fn push_promise_block_is_assembled() {
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        let mut buf = BytesMut::new();
        PushPromise {
            stream_id: StreamId::new(1),
            promised_id: StreamId::new(2),
            end_headers: false,
            fragment: Bytes::from_static(b"ab"),
        }
        .encode(&mut buf);
        Continuation {
            stream_id: StreamId::new(1),
            end_headers: true,
            fragment: Bytes::from_static(b"cd"),
        }
        .encode(&mut buf);
        let first = dec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(first.frame, None);
        assert!(dec.in_header_block());
        let last = dec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(last.head.kind, FrameType::CONTINUATION);
        assert_eq!(
            last.frame,
            Some(Frame::PushPromise(PushPromise {
                stream_id: StreamId::new(1),
                promised_id: StreamId::new(2),
                end_headers: true,
                fragment: Bytes::from_static(b"abcd"),
            }))
        );
        assert!(!dec.in_header_block());
    }
}
