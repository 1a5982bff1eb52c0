//! GOAWAY (§6.8).

use super::{Head, StreamId};
use crate::error::{ErrorCode, ProtoError};
use bytes::{Bytes, BytesMut};

/// A GOAWAY frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoAway {
    /// The last stream the sender may have processed.
    pub last_stream_id: StreamId,
    /// Why the connection is closing.
    pub code: ErrorCode,
    /// Opaque debug data (a slice of the read buffer; callers cap what they keep).
    pub debug_data: Bytes,
}

impl GoAway {
    /// Decodes a GOAWAY payload.
    pub fn decode(head: &Head, payload: Bytes) -> Result<GoAway, ProtoError> {
        let _ = (head, payload);
        todo!("frames helper")
    }

    /// Appends this frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let _ = dst;
        todo!("frames helper")
    }
}
