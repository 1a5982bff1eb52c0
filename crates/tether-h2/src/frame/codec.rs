//! Cutting frames out of a read buffer, with CONTINUATION assembly (§4.3, §6.10).

use super::{Frame, Head};
use crate::error::ProtoError;
use bytes::BytesMut;

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
pub struct Decoded {
    /// The header of the wire frame just read (every frame, CONTINUATION included).
    pub head: Head,
    /// The decoded frame, or `None` while a field block is still incomplete
    /// (a HEADERS or CONTINUATION without END_HEADERS was just read).
    pub frame: Option<Frame>,
}

/// Decodes frames from a read buffer.
#[derive(Debug)]
pub struct FrameDecoder {
    limits: DecoderLimits,
}

impl FrameDecoder {
    /// A decoder with these limits.
    pub fn new(limits: DecoderLimits) -> FrameDecoder {
        FrameDecoder { limits }
    }

    /// Changes our SETTINGS_MAX_FRAME_SIZE (once the peer has acknowledged it).
    pub fn set_max_frame_size(&mut self, max: u32) {
        self.limits.max_frame_size = max;
    }

    /// Whether a field block is being assembled (only CONTINUATION on its stream may follow).
    pub fn in_header_block(&self) -> bool {
        todo!("frames helper")
    }

    /// Splits the next whole frame off the front of `buf` and decodes it.
    /// Returns `Ok(None)` when `buf` does not yet hold a whole frame.
    /// After an error the decoder must not be used again.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, ProtoError> {
        let _ = buf;
        todo!("frames helper")
    }
}
