//! WINDOW_UPDATE (§6.9).

use super::{FrameType, Head, StreamId};
use crate::error::{ErrorCode, ProtoError};
use bytes::{BufMut, Bytes, BytesMut};

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
        // RFC 9113 §6.9: "A WINDOW_UPDATE frame with a length other than 4
        // octets MUST be treated as a connection error (Section 5.4.1) of
        // type FRAME_SIZE_ERROR."
        let Ok(bytes) = <[u8; 4]>::try_from(&payload[..]) else {
            return Err(ProtoError::conn(
                ErrorCode::FRAME_SIZE_ERROR,
                "WINDOW_UPDATE length is not 4",
            ));
        };
        // The reserved bit is ignored (§6.9).
        let increment = u32::from_be_bytes(bytes) & 0x7fff_ffff;
        // RFC 9113 §6.9: "A receiver MUST treat the receipt of a WINDOW_UPDATE
        // frame with a flow-control window increment of 0 as a stream error
        // (Section 5.4.2) of type PROTOCOL_ERROR; errors on the connection
        // flow-control window MUST be treated as a connection error."
        if increment == 0 {
            const DETAIL: &str = "WINDOW_UPDATE increment is 0";
            return Err(if head.stream_id.is_zero() {
                ProtoError::conn(ErrorCode::PROTOCOL_ERROR, DETAIL)
            } else {
                ProtoError::stream(head.stream_id, ErrorCode::PROTOCOL_ERROR, DETAIL)
            });
        }
        Ok(WindowUpdate {
            stream_id: head.stream_id,
            increment,
        })
    }

    /// Appends this frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        Head::new(4, FrameType::WINDOW_UPDATE, 0, self.stream_id).encode(dst);
        dst.put_u32(self.increment & 0x7fff_ffff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;

    fn head(stream: u32, len: usize) -> Head {
        Head::new(
            len as u32,
            FrameType::WINDOW_UPDATE,
            0,
            StreamId::new(stream),
        )
    }

    #[test]
    fn test_parse() {
        let w = WindowUpdate::decode(&head(0, 4), Bytes::from_static(&[0, 1, 0, 0])).unwrap();
        assert_eq!(
            w,
            WindowUpdate {
                stream_id: StreamId::ZERO,
                increment: 65_536
            }
        );
        // Reserved bit ignored.
        let w = WindowUpdate::decode(&head(1, 4), Bytes::from_static(&[0xff; 4])).unwrap();
        assert_eq!(w.increment, 0x7fff_ffff);
    }

    #[test]
    fn test_emit() {
        let w = WindowUpdate {
            stream_id: StreamId::new(5),
            increment: 1000,
        };
        let mut dst = BytesMut::new();
        w.encode(&mut dst);
        assert_eq!(&dst[..], &[0, 0, 4, 8, 0, 0, 0, 0, 5, 0, 0, 0x03, 0xe8]);
    }

    #[test]
    fn wrong_length_is_connection_frame_size_error() {
        for (stream, len) in [(0u32, 3usize), (1, 5), (1, 0)] {
            let e =
                WindowUpdate::decode(&head(stream, len), Bytes::from(vec![1; len])).unwrap_err();
            assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
            assert_eq!(e.scope, Scope::Connection);
        }
    }

    #[test]
    fn zero_increment_on_stream_is_stream_protocol_error() {
        let e = WindowUpdate::decode(&head(3, 4), Bytes::from_static(&[0; 4])).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Stream(StreamId::new(3)));
        // Only the reserved bit set: still a zero increment.
        let e =
            WindowUpdate::decode(&head(3, 4), Bytes::from_static(&[0x80, 0, 0, 0])).unwrap_err();
        assert_eq!(e.scope, Scope::Stream(StreamId::new(3)));
    }

    #[test]
    fn zero_increment_on_connection_is_connection_protocol_error() {
        let e = WindowUpdate::decode(&head(0, 4), Bytes::from_static(&[0; 4])).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }
}
