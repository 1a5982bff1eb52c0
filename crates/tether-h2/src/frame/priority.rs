//! PRIORITY (§6.3). Deprecated by RFC 9113 but still parsed.

use super::{Head, StreamId};
use crate::error::ProtoError;
use bytes::{Bytes, BytesMut};

/// Priority fields of PRIORITY and HEADERS frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrioritySpec {
    /// The stream this one depends on.
    pub dependency: StreamId,
    /// The exclusive bit.
    pub exclusive: bool,
    /// Weight minus one, as on the wire.
    pub weight: u8,
}

/// A PRIORITY frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    /// The stream.
    pub stream_id: StreamId,
    /// The priority fields.
    pub spec: PrioritySpec,
}

impl Priority {
    /// Decodes a PRIORITY payload.
    pub fn decode(head: &Head, payload: Bytes) -> Result<Priority, ProtoError> {
        let _ = (head, payload);
        todo!("frames helper")
    }

    /// Appends this frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let _ = dst;
        todo!("frames helper")
    }
}
