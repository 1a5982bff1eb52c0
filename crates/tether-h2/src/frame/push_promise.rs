//! PUSH_PROMISE (§6.6). A client that sends SETTINGS_ENABLE_PUSH = 0 treats
//! its receipt as a connection error; it is decoded for observers and peers.

use super::{Head, StreamId};
use crate::error::ProtoError;
use bytes::{Bytes, BytesMut};

/// A PUSH_PROMISE frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushPromise {
    /// The associated stream.
    pub stream_id: StreamId,
    /// The promised stream.
    pub promised_id: StreamId,
    /// END_HEADERS was set.
    pub end_headers: bool,
    /// The field block fragment, padding removed.
    pub fragment: Bytes,
}

impl PushPromise {
    /// Decodes a PUSH_PROMISE payload.
    pub fn decode(head: &Head, payload: Bytes) -> Result<PushPromise, ProtoError> {
        let _ = (head, payload);
        todo!("frames helper")
    }

    /// Appends this frame to `dst` (unpadded).
    pub fn encode(&self, dst: &mut BytesMut) {
        let _ = dst;
        todo!("frames helper")
    }
}
