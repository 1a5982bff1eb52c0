//! CONTINUATION (§6.10).

use super::{flags, FrameType, Head, StreamId};
use crate::error::{ErrorCode, ProtoError};
use bytes::{BufMut, Bytes, BytesMut};

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
        // RFC 9113 §6.10: "If a CONTINUATION frame is received with a Stream
        // Identifier field of 0x00, the recipient MUST respond with a
        // connection error (Section 5.4.1) of type PROTOCOL_ERROR."
        if head.stream_id.is_zero() {
            return Err(ProtoError::conn(
                ErrorCode::PROTOCOL_ERROR,
                "CONTINUATION on stream 0",
            ));
        }
        Ok(Continuation {
            stream_id: head.stream_id,
            end_headers: head.has(flags::END_HEADERS),
            fragment: payload,
        })
    }

    /// Appends this frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        Continuation::encode_fragment(self.stream_id, &self.fragment, self.end_headers, dst);
    }

    /// Appends a CONTINUATION frame carrying `fragment` to `dst`.
    pub(crate) fn encode_fragment(
        stream_id: StreamId,
        fragment: &[u8],
        end_headers: bool,
        dst: &mut BytesMut,
    ) {
        let f = if end_headers { flags::END_HEADERS } else { 0 };
        let len = u32::try_from(fragment.len()).unwrap_or(u32::MAX);
        dst.reserve(super::HEADER_LEN + fragment.len());
        Head::new(len, FrameType::CONTINUATION, f, stream_id).encode(dst);
        dst.put_slice(fragment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;

    #[test]
    fn test_parse() {
        let head = Head::new(2, FrameType::CONTINUATION, 0xfc, StreamId::new(9));
        let c = Continuation::decode(&head, Bytes::from_static(b"xy")).unwrap();
        assert_eq!(
            c,
            Continuation {
                stream_id: StreamId::new(9),
                end_headers: true,
                fragment: Bytes::from_static(b"xy"),
            }
        );
    }

    #[test]
    fn test_emit() {
        let c = Continuation {
            stream_id: StreamId::new(9),
            end_headers: false,
            fragment: Bytes::from_static(b"xy"),
        };
        let mut dst = BytesMut::new();
        c.encode(&mut dst);
        assert_eq!(&dst[..], &[0, 0, 2, 9, 0, 0, 0, 0, 9, b'x', b'y']);
    }

    #[test]
    fn stream_zero_is_connection_protocol_error() {
        let head = Head::new(
            0,
            FrameType::CONTINUATION,
            flags::END_HEADERS,
            StreamId::ZERO,
        );
        let e = Continuation::decode(&head, Bytes::new()).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }
}
