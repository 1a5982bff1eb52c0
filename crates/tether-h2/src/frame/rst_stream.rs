//! RST_STREAM (§6.4).

use super::{FrameType, Head, StreamId};
use crate::error::{ErrorCode, ProtoError};
use bytes::{BufMut, Bytes, BytesMut};

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
        // RFC 9113 §6.4: "If a RST_STREAM frame is received with a stream
        // identifier of 0x00, the recipient MUST treat this as a connection
        // error (Section 5.4.1) of type PROTOCOL_ERROR."
        if head.stream_id.is_zero() {
            return Err(ProtoError::conn(
                ErrorCode::PROTOCOL_ERROR,
                "RST_STREAM on stream 0",
            ));
        }
        // RFC 9113 §6.4: "A RST_STREAM frame with a length other than 4 octets
        // MUST be treated as a connection error (Section 5.4.1) of type
        // FRAME_SIZE_ERROR."
        let Ok(code) = <[u8; 4]>::try_from(&payload[..]) else {
            return Err(ProtoError::conn(
                ErrorCode::FRAME_SIZE_ERROR,
                "RST_STREAM length is not 4",
            ));
        };
        Ok(RstStream {
            stream_id: head.stream_id,
            code: ErrorCode(u32::from_be_bytes(code)),
        })
    }

    /// Appends this frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        Head::new(4, FrameType::RST_STREAM, 0, self.stream_id).encode(dst);
        dst.put_u32(self.code.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;

    fn head(stream: u32, len: usize) -> Head {
        Head::new(
            len as u32,
            FrameType::RST_STREAM,
            0xff,
            StreamId::new(stream),
        )
    }

    #[test]
    fn test_parse() {
        let r = RstStream::decode(&head(3, 4), Bytes::from_static(&[0, 0, 0, 8])).unwrap();
        assert_eq!(r.stream_id, StreamId::new(3));
        assert_eq!(r.code, ErrorCode::CANCEL);
        // Unknown codes survive.
        let r = RstStream::decode(&head(3, 4), Bytes::from_static(&[0xde, 0xad, 0, 1])).unwrap();
        assert_eq!(r.code, ErrorCode(0xdead_0001));
    }

    #[test]
    fn test_emit() {
        let r = RstStream {
            stream_id: StreamId::new(3),
            code: ErrorCode::REFUSED_STREAM,
        };
        let mut dst = BytesMut::new();
        r.encode(&mut dst);
        assert_eq!(&dst[..], &[0, 0, 4, 3, 0, 0, 0, 0, 3, 0, 0, 0, 7]);
    }

    #[test]
    fn stream_zero_is_connection_protocol_error() {
        let e = RstStream::decode(&head(0, 4), Bytes::from_static(&[0, 0, 0, 8])).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn wrong_length_is_connection_frame_size_error() {
        for len in [0usize, 3, 5, 8] {
            let e = RstStream::decode(&head(1, len), Bytes::from(vec![0; len])).unwrap_err();
            assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
            assert_eq!(e.scope, Scope::Connection);
        }
    }
}
