//! PING (§6.7).

use super::Head;
use crate::error::ProtoError;
use bytes::{Bytes, BytesMut};

/// A PING frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ping {
    /// ACK flag.
    pub ack: bool,
    /// Opaque data.
    pub payload: [u8; 8],
}

impl Ping {
    /// Decodes a PING payload.
    pub fn decode(head: &Head, payload: Bytes) -> Result<Ping, ProtoError> {
        let _ = (head, payload);
        todo!("frames helper")
    }

    /// Appends this frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let _ = dst;
        todo!("frames helper")
    }
}
