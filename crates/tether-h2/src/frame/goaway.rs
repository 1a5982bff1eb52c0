//! GOAWAY (§6.8).

use super::{FrameType, Head, StreamId};
use crate::error::{ErrorCode, ProtoError};
use bytes::{Buf, BufMut, Bytes, BytesMut};

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
    pub fn decode(head: &Head, mut payload: Bytes) -> Result<GoAway, ProtoError> {
        // RFC 9113 §6.8: "An endpoint MUST treat a GOAWAY frame with a stream
        // identifier other than 0x00 as a connection error (Section 5.4.1) of
        // type PROTOCOL_ERROR."
        if !head.stream_id.is_zero() {
            return Err(ProtoError::conn(
                ErrorCode::PROTOCOL_ERROR,
                "GOAWAY on a non-zero stream",
            ));
        }
        // RFC 9113 §4.2: a frame "too small to contain mandatory frame data"
        // MUST be a FRAME_SIZE_ERROR; GOAWAY has 8 bytes of mandatory fields.
        if payload.len() < 8 {
            return Err(ProtoError::conn(
                ErrorCode::FRAME_SIZE_ERROR,
                "GOAWAY shorter than 8 bytes",
            ));
        }
        // The reserved bit of Last-Stream-ID is ignored (StreamId::new clears it).
        let last_stream_id = StreamId::new(payload.get_u32());
        let code = ErrorCode(payload.get_u32());
        Ok(GoAway {
            last_stream_id,
            code,
            debug_data: payload,
        })
    }

    /// Appends this frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let len = 8 + self.debug_data.len();
        let head = Head::new(
            u32::try_from(len).unwrap_or(u32::MAX),
            FrameType::GOAWAY,
            0,
            StreamId::ZERO,
        );
        dst.reserve(super::HEADER_LEN + len);
        head.encode(dst);
        dst.put_u32(self.last_stream_id.value());
        dst.put_u32(self.code.0);
        dst.put_slice(&self.debug_data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;

    fn head(stream: u32, len: usize) -> Head {
        Head::new(len as u32, FrameType::GOAWAY, 0, StreamId::new(stream))
    }

    #[test]
    fn test_parse() {
        let payload = [0x80, 0, 0, 5, 0, 0, 0, 0xb, b'h', b'i'];
        let g = GoAway::decode(&head(0, 10), Bytes::copy_from_slice(&payload)).unwrap();
        assert_eq!(
            g,
            GoAway {
                last_stream_id: StreamId::new(5),
                code: ErrorCode::ENHANCE_YOUR_CALM,
                debug_data: Bytes::from_static(b"hi"),
            }
        );
    }

    #[test]
    fn test_parse_without_debug_data() {
        let payload = [0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        let g = GoAway::decode(&head(0, 8), Bytes::copy_from_slice(&payload)).unwrap();
        assert_eq!(g.last_stream_id, StreamId::MAX);
        assert_eq!(g.code, ErrorCode::NO_ERROR);
        assert!(g.debug_data.is_empty());
    }

    #[test]
    fn test_emit() {
        let g = GoAway {
            last_stream_id: StreamId::new(7),
            code: ErrorCode::PROTOCOL_ERROR,
            debug_data: Bytes::from_static(b"x"),
        };
        let mut dst = BytesMut::new();
        g.encode(&mut dst);
        assert_eq!(
            &dst[..],
            &[0, 0, 9, 7, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, b'x']
        );
    }

    #[test]
    fn non_zero_stream_is_connection_protocol_error() {
        let e = GoAway::decode(&head(1, 8), Bytes::from_static(&[0; 8])).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn short_is_connection_frame_size_error() {
        for len in [0usize, 4, 7] {
            let e = GoAway::decode(&head(0, len), Bytes::from(vec![0; len])).unwrap_err();
            assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
            assert_eq!(e.scope, Scope::Connection);
        }
    }
}
