//! WINDOW_UPDATE (§6.9).

use super::{Head, StreamId};
use crate::error::ProtoError;
use bytes::{Bytes, BytesMut};

/// A WINDOW_UPDATE frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowUpdate {
    /// The stream, or zero for the connection window.
    pub stream_id: StreamId,
    /// The increment (1 to 2^31 - 1).
    pub increment: u32,
}

impl WindowUpdate {
    /// Decodes a WINDOW_UPDATE payload.
    pub fn decode(head: &Head, payload: Bytes) -> Result<WindowUpdate, ProtoError> {
        let _ = (head, payload);
        todo!("frames helper")
    }

    /// Appends this frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let _ = dst;
        todo!("frames helper")
    }
}
