//! HEADERS (§6.2).

use super::{Head, PrioritySpec, StreamId};
use crate::error::ProtoError;
use bytes::{Bytes, BytesMut};

/// A HEADERS frame. After [`super::FrameDecoder`] assembly, `fragment` is
/// the whole field block and `end_headers` is true.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headers {
    /// The stream.
    pub stream_id: StreamId,
    /// END_STREAM was set.
    pub end_stream: bool,
    /// END_HEADERS was set (or the block was completed by CONTINUATION).
    pub end_headers: bool,
    /// Priority fields, when the PRIORITY flag was set.
    pub priority: Option<PrioritySpec>,
    /// The field block fragment, padding removed.
    pub fragment: Bytes,
}

impl Headers {
    /// Decodes one HEADERS frame payload (without following CONTINUATIONs).
    pub fn decode(head: &Head, payload: Bytes) -> Result<Headers, ProtoError> {
        let _ = (head, payload);
        todo!("frames helper")
    }

    /// Appends a field block as one HEADERS frame followed by as many
    /// CONTINUATION frames as `max_frame_size` requires.
    pub fn encode_block(
        stream_id: StreamId,
        block: &[u8],
        end_stream: bool,
        max_frame_size: u32,
        dst: &mut BytesMut,
    ) {
        let _ = (stream_id, block, end_stream, max_frame_size, dst);
        todo!("frames helper")
    }
}
