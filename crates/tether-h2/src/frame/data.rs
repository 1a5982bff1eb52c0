//! DATA (§6.1).

use super::pad::{encode_padded, unpad};
use super::{flags, FrameType, Head, StreamId};
use crate::error::{ErrorCode, ProtoError};
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
        // RFC 9113 §6.1: "If a DATA frame is received whose Stream Identifier
        // field is 0x00, the recipient MUST respond with a connection error
        // (Section 5.4.1) of type PROTOCOL_ERROR."
        if head.stream_id.is_zero() {
            return Err(ProtoError::conn(
                ErrorCode::PROTOCOL_ERROR,
                "DATA on stream 0",
            ));
        }
        // RFC 9113 §6.9.1: "The entire DATA frame payload is included in flow
        // control, including the Pad Length and Padding fields if present."
        let flow_len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        let parts = unpad(head, payload, 0, "DATA too short")?;
        Ok(Data {
            stream_id: head.stream_id,
            data: parts.content,
            end_stream: head.has(flags::END_STREAM),
            flow_len,
        })
    }

    /// Appends an unpadded DATA frame carrying `data` to `dst`.
    pub fn encode(stream_id: StreamId, data: &[u8], end_stream: bool, dst: &mut BytesMut) {
        encode_padded(
            FrameType::DATA,
            end_flag(end_stream),
            stream_id,
            &[],
            data,
            None,
            dst,
        );
    }

    /// Appends a PADDED DATA frame carrying `data` and `pad_len` bytes of
    /// padding to `dst` (for scripted peers and tests).
    pub fn encode_padded(
        stream_id: StreamId,
        data: &[u8],
        pad_len: u8,
        end_stream: bool,
        dst: &mut BytesMut,
    ) {
        encode_padded(
            FrameType::DATA,
            end_flag(end_stream),
            stream_id,
            &[],
            data,
            Some(pad_len),
            dst,
        );
    }

    /// Appends this frame to `dst`, padded so that its payload length is
    /// `flow_len` when `flow_len` exceeds the data length (the padding is
    /// capped at 255 bytes), unpadded otherwise.
    pub fn encode_frame(&self, dst: &mut BytesMut) {
        let extra = usize::try_from(self.flow_len)
            .unwrap_or(usize::MAX)
            .saturating_sub(self.data.len());
        if extra == 0 {
            Data::encode(self.stream_id, &self.data, self.end_stream, dst);
        } else {
            let pad = u8::try_from(extra - 1).unwrap_or(u8::MAX);
            Data::encode_padded(self.stream_id, &self.data, pad, self.end_stream, dst);
        }
    }
}

fn end_flag(end_stream: bool) -> u8 {
    if end_stream {
        flags::END_STREAM
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;

    fn head(flags: u8, stream: u32, len: usize) -> Head {
        Head::new(len as u32, FrameType::DATA, flags, StreamId::new(stream))
    }

    #[test]
    fn test_parse() {
        let payload = Bytes::from_static(b"hello");
        let d = Data::decode(&head(flags::END_STREAM, 1, 5), payload.clone()).unwrap();
        assert_eq!(d.stream_id, StreamId::new(1));
        assert_eq!(d.data, Bytes::from_static(b"hello"));
        assert!(d.end_stream);
        assert_eq!(d.flow_len, 5);
        // Zero copy: the data points into the payload buffer.
        assert_eq!(d.data.as_ptr(), payload.as_ptr());
    }

    #[test]
    fn test_parse_padded() {
        let payload = Bytes::from_static(&[3, b'h', b'i', 0, 0, 0]);
        let d = Data::decode(&head(flags::PADDED, 3, 6), payload.clone()).unwrap();
        assert_eq!(d.data, Bytes::from_static(b"hi"));
        assert!(!d.end_stream);
        assert_eq!(d.flow_len, 6);
        assert_eq!(d.data.as_ptr(), payload[1..].as_ptr());
    }

    #[test]
    fn pad_255_with_a_few_bytes_is_accepted() {
        let mut payload = vec![255u8, b'a', b'b', b'c'];
        payload.extend_from_slice(&[0; 255]);
        let d = Data::decode(&head(flags::PADDED, 1, 259), Bytes::from(payload)).unwrap();
        assert_eq!(d.data, Bytes::from_static(b"abc"));
        assert_eq!(d.flow_len, 259);
    }

    #[test]
    fn undefined_flags_are_ignored() {
        let d = Data::decode(&head(0xf6, 1, 1), Bytes::from_static(b"x")).unwrap();
        assert_eq!(d.data, Bytes::from_static(b"x"));
        assert!(!d.end_stream);
    }

    #[test]
    fn stream_zero_is_connection_protocol_error() {
        let e = Data::decode(&head(0, 0, 1), Bytes::from_static(b"x")).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn padded_empty_is_frame_size_error() {
        let e = Data::decode(&head(flags::PADDED, 1, 0), Bytes::new()).unwrap_err();
        assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn pad_length_equal_to_payload_is_protocol_error() {
        let e =
            Data::decode(&head(flags::PADDED, 1, 3), Bytes::from_static(&[3, 0, 0])).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn pad_filling_whole_payload_is_accepted() {
        let d = Data::decode(&head(flags::PADDED, 1, 3), Bytes::from_static(&[2, 0, 0])).unwrap();
        assert!(d.data.is_empty());
        assert_eq!(d.flow_len, 3);
    }

    #[test]
    fn test_emit() {
        let mut dst = BytesMut::new();
        Data::encode(StreamId::new(1), b"hey", true, &mut dst);
        assert_eq!(&dst[..], &[0, 0, 3, 0, 1, 0, 0, 0, 1, b'h', b'e', b'y']);
    }

    #[test]
    fn test_emit_padded() {
        let mut dst = BytesMut::new();
        Data::encode_padded(StreamId::new(5), b"a", 2, false, &mut dst);
        assert_eq!(&dst[..], &[0, 0, 4, 0, 0x8, 0, 0, 0, 5, 2, b'a', 0, 0]);
    }

    #[test]
    fn encode_frame_rebuilds_padding_from_flow_len() {
        let d = Data {
            stream_id: StreamId::new(1),
            data: Bytes::from_static(b"ab"),
            end_stream: false,
            flow_len: 6,
        };
        let mut dst = BytesMut::new();
        d.encode_frame(&mut dst);
        assert_eq!(
            &dst[..],
            &[0, 0, 6, 0, 0x8, 0, 0, 0, 1, 3, b'a', b'b', 0, 0, 0]
        );
    }
}
