//! PUSH_PROMISE (§6.6). A client that sends SETTINGS_ENABLE_PUSH = 0 treats
//! its receipt as a connection error; it is decoded for observers and peers.

use super::pad::{encode_padded, unpad};
use super::{flags, FrameType, Head, StreamId};
use crate::error::{ErrorCode, ProtoError};
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
        // RFC 9113 §6.6: "If the Stream Identifier field specifies the value
        // 0x00, a recipient MUST respond with a connection error (Section
        // 5.4.1) of type PROTOCOL_ERROR."
        if head.stream_id.is_zero() {
            return Err(ProtoError::conn(
                ErrorCode::PROTOCOL_ERROR,
                "PUSH_PROMISE on stream 0",
            ));
        }
        // RFC 9113 §4.2: too small for the Promised Stream ID → FRAME_SIZE_ERROR;
        // §6.6: padding past the fragment → PROTOCOL_ERROR.
        let parts = unpad(
            head,
            payload,
            4,
            "PUSH_PROMISE too short for the promised stream",
        )?;
        let promised = match <[u8; 4]>::try_from(&parts.fixed[..]) {
            // RFC 9113 §6.6: the promised id carries a reserved bit, ignored.
            Ok(bytes) => StreamId::new(u32::from_be_bytes(bytes)),
            Err(_) => {
                return Err(ProtoError::conn(
                    ErrorCode::FRAME_SIZE_ERROR,
                    "PUSH_PROMISE too short for the promised stream",
                ))
            }
        };
        Ok(PushPromise {
            stream_id: head.stream_id,
            promised_id: promised,
            end_headers: head.has(flags::END_HEADERS),
            fragment: parts.content,
        })
    }

    /// Appends this frame to `dst` (unpadded).
    pub fn encode(&self, dst: &mut BytesMut) {
        self.encode_parts(None, dst);
    }

    /// Appends this frame to `dst` with `pad_len` bytes of padding.
    pub fn encode_padded(&self, pad_len: u8, dst: &mut BytesMut) {
        self.encode_parts(Some(pad_len), dst);
    }

    fn encode_parts(&self, pad: Option<u8>, dst: &mut BytesMut) {
        let f = if self.end_headers {
            flags::END_HEADERS
        } else {
            0
        };
        let promised = self.promised_id.value().to_be_bytes();
        encode_padded(
            FrameType::PUSH_PROMISE,
            f,
            self.stream_id,
            &promised,
            &self.fragment,
            pad,
            dst,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;

    fn head(flags: u8, stream: u32, len: usize) -> Head {
        Head::new(
            len as u32,
            FrameType::PUSH_PROMISE,
            flags,
            StreamId::new(stream),
        )
    }

    #[test]
    fn test_parse() {
        let payload = [1, 0x80, 0, 0, 2, 0x82, 0];
        let p = PushPromise::decode(
            &head(flags::PADDED | flags::END_HEADERS, 1, 7),
            Bytes::copy_from_slice(&payload),
        )
        .unwrap();
        assert_eq!(
            p,
            PushPromise {
                stream_id: StreamId::new(1),
                promised_id: StreamId::new(2),
                end_headers: true,
                fragment: Bytes::from_static(&[0x82]),
            }
        );
    }

    #[test]
    fn test_emit() {
        let p = PushPromise {
            stream_id: StreamId::new(1),
            promised_id: StreamId::new(2),
            end_headers: true,
            fragment: Bytes::from_static(&[0x82]),
        };
        let mut dst = BytesMut::new();
        p.encode(&mut dst);
        assert_eq!(&dst[..], &[0, 0, 5, 5, 0x4, 0, 0, 0, 1, 0, 0, 0, 2, 0x82]);
        let mut dst = BytesMut::new();
        p.encode_padded(1, &mut dst);
        assert_eq!(
            &dst[..],
            &[0, 0, 7, 5, 0xc, 0, 0, 0, 1, 1, 0, 0, 0, 2, 0x82, 0]
        );
    }

    #[test]
    fn stream_zero_is_connection_protocol_error() {
        let e = PushPromise::decode(&head(0, 0, 4), Bytes::from_static(&[0, 0, 0, 2])).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn too_short_is_frame_size_error() {
        let e = PushPromise::decode(&head(0, 1, 3), Bytes::from_static(&[0, 0, 2])).unwrap_err();
        assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
        assert_eq!(e.scope, Scope::Connection);
        let e = PushPromise::decode(&head(flags::PADDED, 1, 0), Bytes::new()).unwrap_err();
        assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
    }

    #[test]
    fn padding_past_fragment_is_protocol_error() {
        let payload = [2, 0, 0, 0, 2, 0];
        let e = PushPromise::decode(&head(flags::PADDED, 1, 6), Bytes::copy_from_slice(&payload))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }
}
