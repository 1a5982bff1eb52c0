//! RST_STREAM (§6.4).

use super::{Head, StreamId};
use crate::error::{ErrorCode, ProtoError};
use bytes::{Bytes, BytesMut};

/// A RST_STREAM frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RstStream {
    /// The stream.
    pub stream_id: StreamId,
    /// Why it was reset.
    pub code: ErrorCode,
}

impl RstStream {
    /// Decodes a RST_STREAM payload.
    pub fn decode(head: &Head, payload: Bytes) -> Result<RstStream, ProtoError> {
        let _ = (head, payload);
        todo!("frames helper")
    }

    /// Appends this frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let _ = dst;
        todo!("frames helper")
    }
}
