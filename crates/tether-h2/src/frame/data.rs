//! DATA (§6.1).

use super::{Head, StreamId};
use crate::error::ProtoError;
use bytes::{Bytes, BytesMut};

/// A DATA frame. `data` is a slice of the read buffer: no copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Data {
    /// The stream.
    pub stream_id: StreamId,
    /// The payload with padding removed.
    pub data: Bytes,
    /// END_STREAM was set.
    pub end_stream: bool,
    /// The whole frame payload length (data, Pad Length field and padding):
    /// what counts against flow control (§6.9.1).
    pub flow_len: u32,
}

impl Data {
    /// Decodes a DATA frame payload.
    pub fn decode(head: &Head, payload: Bytes) -> Result<Data, ProtoError> {
        let _ = (head, payload);
        todo!("frames helper")
    }

    /// Appends an unpadded DATA frame carrying `data` to `dst`.
    pub fn encode(stream_id: StreamId, data: &[u8], end_stream: bool, dst: &mut BytesMut) {
        let _ = (stream_id, data, end_stream, dst);
        todo!("frames helper")
    }
}
