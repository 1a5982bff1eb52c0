//! CONTINUATION (§6.10).

use super::{Head, StreamId};
use crate::error::ProtoError;
use bytes::{Bytes, BytesMut};

/// A CONTINUATION frame (the decoder folds these into HEADERS; this type is
/// for peers and tests that write them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Continuation {
    /// The stream.
    pub stream_id: StreamId,
    /// END_HEADERS was set.
    pub end_headers: bool,
    /// The field block fragment.
    pub fragment: Bytes,
}

impl Continuation {
    /// Decodes a CONTINUATION payload.
    pub fn decode(head: &Head, payload: Bytes) -> Result<Continuation, ProtoError> {
        let _ = (head, payload);
        todo!("frames helper")
    }

    /// Appends this frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let _ = dst;
        todo!("frames helper")
    }
}
