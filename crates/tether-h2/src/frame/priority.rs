//! PRIORITY (§6.3). Deprecated by RFC 9113 (§5.3.2) but still parsed.

use super::{FrameType, Head, StreamId};
use crate::error::{ErrorCode, ProtoError};
use bytes::{BufMut, Bytes, BytesMut};

/// Priority fields of PRIORITY and HEADERS frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrioritySpec {
    /// The stream this one depends on.
    pub dependency: StreamId,
    /// The exclusive bit.
    pub exclusive: bool,
    /// Weight minus one, as on the wire.
    pub weight: u8,
}

impl PrioritySpec {
    /// Length of the priority fields on the wire.
    pub const LEN: usize = 5;

    /// Parses the 5 bytes of priority fields (Exclusive, Stream Dependency, Weight).
    pub fn parse(src: &[u8; 5]) -> PrioritySpec {
        let [d0, d1, d2, d3, weight] = *src;
        let dep = u32::from_be_bytes([d0, d1, d2, d3]);
        PrioritySpec {
            dependency: StreamId::new(dep),
            exclusive: dep & 0x8000_0000 != 0,
            weight,
        }
    }

    /// Appends the 5 bytes of priority fields to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let excl = if self.exclusive { 0x8000_0000 } else { 0 };
        dst.put_u32(self.dependency.value() | excl);
        dst.put_u8(self.weight);
    }

    /// The priority fields as bytes.
    pub(crate) fn to_bytes(self) -> [u8; 5] {
        let excl = if self.exclusive { 0x8000_0000 } else { 0 };
        let [a, b, c, d] = (self.dependency.value() | excl).to_be_bytes();
        [a, b, c, d, self.weight]
    }

    /// Parses priority fields from a slice that must be exactly 5 bytes long.
    pub(crate) fn from_slice(src: &[u8]) -> Option<PrioritySpec> {
        let arr: &[u8; 5] = src.try_into().ok()?;
        Some(PrioritySpec::parse(arr))
    }
}

/// A PRIORITY frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    /// The stream.
    pub stream_id: StreamId,
    /// The priority fields.
    pub spec: PrioritySpec,
}

impl Priority {
    /// Decodes a PRIORITY payload.
    pub fn decode(head: &Head, payload: Bytes) -> Result<Priority, ProtoError> {
        // RFC 9113 §6.3: "If a PRIORITY frame is received with a stream
        // identifier of 0x00, the recipient MUST respond with a connection
        // error (Section 5.4.1) of type PROTOCOL_ERROR."
        if head.stream_id.is_zero() {
            return Err(ProtoError::conn(
                ErrorCode::PROTOCOL_ERROR,
                "PRIORITY on stream 0",
            ));
        }
        // RFC 9113 §6.3: "A PRIORITY frame with a length other than 5 octets
        // MUST be treated as a stream error (Section 5.4.2) of type
        // FRAME_SIZE_ERROR."
        let Some(spec) = PrioritySpec::from_slice(&payload) else {
            return Err(ProtoError::stream(
                head.stream_id,
                ErrorCode::FRAME_SIZE_ERROR,
                "PRIORITY length is not 5",
            ));
        };
        // RFC 9113 §5.3.1: "A stream cannot depend on itself. An endpoint MUST
        // treat this as a stream error (Section 5.4.2) of type PROTOCOL_ERROR."
        if spec.dependency == head.stream_id {
            return Err(ProtoError::stream(
                head.stream_id,
                ErrorCode::PROTOCOL_ERROR,
                "PRIORITY makes a stream depend on itself",
            ));
        }
        Ok(Priority {
            stream_id: head.stream_id,
            spec,
        })
    }

    /// Appends this frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        Head::new(5, FrameType::PRIORITY, 0, self.stream_id).encode(dst);
        self.spec.encode(dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;

    fn head(stream: u32, len: usize) -> Head {
        Head::new(len as u32, FrameType::PRIORITY, 0, StreamId::new(stream))
    }

    #[test]
    fn test_parse() {
        let p = Priority::decode(&head(3, 5), Bytes::from_static(&[0x80, 0, 0, 1, 0xff])).unwrap();
        assert_eq!(p.stream_id, StreamId::new(3));
        assert_eq!(
            p.spec,
            PrioritySpec {
                dependency: StreamId::new(1),
                exclusive: true,
                weight: 255
            }
        );
    }

    #[test]
    fn test_emit() {
        let p = Priority {
            stream_id: StreamId::new(3),
            spec: PrioritySpec {
                dependency: StreamId::new(1),
                exclusive: true,
                weight: 15,
            },
        };
        let mut dst = BytesMut::new();
        p.encode(&mut dst);
        assert_eq!(&dst[..], &[0, 0, 5, 2, 0, 0, 0, 0, 3, 0x80, 0, 0, 1, 15]);
        assert_eq!(p.spec.to_bytes(), [0x80, 0, 0, 1, 15]);
    }

    #[test]
    fn stream_zero_is_connection_protocol_error() {
        let e = Priority::decode(&head(0, 5), Bytes::from_static(&[0, 0, 0, 1, 0])).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn wrong_length_is_stream_frame_size_error() {
        for len in [0usize, 4, 6] {
            let e = Priority::decode(&head(7, len), Bytes::from(vec![0; len])).unwrap_err();
            assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
            assert_eq!(e.scope, Scope::Stream(StreamId::new(7)));
        }
    }

    #[test]
    fn self_dependency_is_stream_protocol_error() {
        let e = Priority::decode(&head(5, 5), Bytes::from_static(&[0, 0, 0, 5, 0])).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Stream(StreamId::new(5)));
    }
}
