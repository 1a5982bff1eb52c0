//! PING (§6.7).

use super::{flags, FrameType, Head, StreamId};
use crate::error::{ErrorCode, ProtoError};
use bytes::{BufMut, Bytes, BytesMut};

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
        // RFC 9113 §6.7: "If a PING frame is received with a Stream Identifier
        // field value other than 0x00, the recipient MUST respond with a
        // connection error (Section 5.4.1) of type PROTOCOL_ERROR."
        if !head.stream_id.is_zero() {
            return Err(ProtoError::conn(
                ErrorCode::PROTOCOL_ERROR,
                "PING on a non-zero stream",
            ));
        }
        // RFC 9113 §6.7: "Receipt of a PING frame with a length field value
        // other than 8 MUST be treated as a connection error (Section 5.4.1)
        // of type FRAME_SIZE_ERROR."
        let Ok(data) = <[u8; 8]>::try_from(&payload[..]) else {
            return Err(ProtoError::conn(
                ErrorCode::FRAME_SIZE_ERROR,
                "PING length is not 8",
            ));
        };
        Ok(Ping {
            ack: head.has(flags::ACK),
            payload: data,
        })
    }

    /// Appends this frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let f = if self.ack { flags::ACK } else { 0 };
        Head::new(8, FrameType::PING, f, StreamId::ZERO).encode(dst);
        dst.put_slice(&self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;

    fn head(flags: u8, stream: u32, len: usize) -> Head {
        Head::new(len as u32, FrameType::PING, flags, StreamId::new(stream))
    }

    #[test]
    fn test_parse() {
        let p = Ping::decode(&head(0, 0, 8), Bytes::from_static(b"12345678")).unwrap();
        assert_eq!(
            p,
            Ping {
                ack: false,
                payload: *b"12345678"
            }
        );
        let p = Ping::decode(&head(0xff, 0, 8), Bytes::from_static(b"12345678")).unwrap();
        assert!(p.ack);
    }

    #[test]
    fn test_emit() {
        let p = Ping {
            ack: true,
            payload: [1, 2, 3, 4, 5, 6, 7, 8],
        };
        let mut dst = BytesMut::new();
        p.encode(&mut dst);
        assert_eq!(
            &dst[..],
            &[0, 0, 8, 6, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]
        );
    }

    #[test]
    fn non_zero_stream_is_connection_protocol_error() {
        let e = Ping::decode(&head(0, 1, 8), Bytes::from_static(&[0; 8])).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn wrong_length_is_connection_frame_size_error() {
        for len in [0usize, 7, 9, 16] {
            let e = Ping::decode(&head(0, 0, len), Bytes::from(vec![0; len])).unwrap_err();
            assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
            assert_eq!(e.scope, Scope::Connection);
        }
    }
}
