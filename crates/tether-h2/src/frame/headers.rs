//! HEADERS (§6.2).

use super::pad::{encode_padded, unpad};
use super::{flags, Continuation, FrameType, Head, PrioritySpec, StreamId};
use crate::error::{ErrorCode, ProtoError};
use bytes::{Bytes, BytesMut};

/// A HEADERS frame. After [`super::FrameDecoder`] assembly, `fragment` is
/// the whole field block and `end_headers` is true.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headers {
    /// The stream.
    pub stream_id: StreamId,
    /// END_STREAM was set.
    pub end_stream: bool,
    /// END_HEADERS was set (or the block was completed by CONTINUATION).
    pub end_headers: bool,
    /// Priority fields, when the PRIORITY flag was set.
    pub priority: Option<PrioritySpec>,
    /// The field block fragment, padding removed.
    pub fragment: Bytes,
}

impl Headers {
    /// Decodes one HEADERS frame payload (without following CONTINUATIONs).
    pub fn decode(head: &Head, payload: Bytes) -> Result<Headers, ProtoError> {
        // RFC 9113 §6.2: "If a HEADERS frame is received whose Stream
        // Identifier field is 0x00, the recipient MUST respond with a
        // connection error (Section 5.4.1) of type PROTOCOL_ERROR."
        if head.stream_id.is_zero() {
            return Err(ProtoError::conn(
                ErrorCode::PROTOCOL_ERROR,
                "HEADERS on stream 0",
            ));
        }
        let has_priority = head.has(flags::PRIORITY);
        let fixed_len = if has_priority { PrioritySpec::LEN } else { 0 };
        // RFC 9113 §4.2: a frame too small for its mandatory fields (Pad
        // Length, priority fields) is a FRAME_SIZE_ERROR; §6.2: padding that
        // exceeds the room left for the fragment is a PROTOCOL_ERROR.
        let parts = unpad(
            head,
            payload,
            fixed_len,
            "HEADERS too short for priority fields",
        )?;
        let priority = if has_priority {
            PrioritySpec::from_slice(&parts.fixed)
        } else {
            None
        };
        if let Some(spec) = priority {
            // RFC 9113 §5.3.1: "A stream cannot depend on itself. An endpoint
            // MUST treat this as a stream error ... of type PROTOCOL_ERROR."
            // Upgraded to a connection error (always allowed, §5.4): a stream
            // error here would drop a field block the HPACK decoder must see.
            if spec.dependency == head.stream_id {
                return Err(ProtoError::conn(
                    ErrorCode::PROTOCOL_ERROR,
                    "HEADERS makes a stream depend on itself",
                ));
            }
        }
        Ok(Headers {
            stream_id: head.stream_id,
            end_stream: head.has(flags::END_STREAM),
            end_headers: head.has(flags::END_HEADERS),
            priority,
            fragment: parts.content,
        })
    }

    /// Appends a field block as one HEADERS frame followed by as many
    /// CONTINUATION frames as `max_frame_size` requires.
    ///
    /// END_STREAM goes on the HEADERS frame, END_HEADERS on the last frame.
    /// An empty block is one empty HEADERS frame with END_HEADERS.
    pub fn encode_block(
        stream_id: StreamId,
        block: &[u8],
        end_stream: bool,
        max_frame_size: u32,
        dst: &mut BytesMut,
    ) {
        // Never 0 (no progress) and never above what the 24-bit length holds.
        let chunk = max_frame_size.clamp(1, super::MAX_MAX_FRAME_SIZE);
        let chunk = usize::try_from(chunk).unwrap_or(usize::MAX);
        let (first, mut rest) = block.split_at(block.len().min(chunk));
        let headers = Headers {
            stream_id,
            end_stream,
            end_headers: rest.is_empty(),
            priority: None,
            fragment: Bytes::new(),
        };
        headers.encode_parts(first, None, dst);
        while !rest.is_empty() {
            let (part, tail) = rest.split_at(rest.len().min(chunk));
            rest = tail;
            Continuation::encode_fragment(stream_id, part, rest.is_empty(), dst);
        }
    }

    /// Appends this frame to `dst` as one unpadded HEADERS frame with its own
    /// END_STREAM, END_HEADERS and PRIORITY flags.
    pub fn encode(&self, dst: &mut BytesMut) {
        self.encode_parts(&self.fragment, None, dst);
    }

    /// Appends this frame to `dst` as one PADDED HEADERS frame with `pad_len`
    /// bytes of padding (for scripted peers and tests).
    pub fn encode_padded(&self, pad_len: u8, dst: &mut BytesMut) {
        self.encode_parts(&self.fragment, Some(pad_len), dst);
    }

    fn encode_parts(&self, fragment: &[u8], pad: Option<u8>, dst: &mut BytesMut) {
        let mut f = 0;
        if self.end_stream {
            f |= flags::END_STREAM;
        }
        if self.end_headers {
            f |= flags::END_HEADERS;
        }
        let prio = self.priority.map(PrioritySpec::to_bytes);
        if prio.is_some() {
            f |= flags::PRIORITY;
        }
        let fixed: &[u8] = match &prio {
            Some(bytes) => bytes,
            None => &[],
        };
        encode_padded(
            FrameType::HEADERS,
            f,
            self.stream_id,
            fixed,
            fragment,
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
        Head::new(len as u32, FrameType::HEADERS, flags, StreamId::new(stream))
    }

    #[test]
    fn test_parse() {
        let h = Headers::decode(
            &head(flags::END_STREAM | flags::END_HEADERS, 1, 2),
            Bytes::from_static(&[0x82, 0x84]),
        )
        .unwrap();
        assert_eq!(
            h,
            Headers {
                stream_id: StreamId::new(1),
                end_stream: true,
                end_headers: true,
                priority: None,
                fragment: Bytes::from_static(&[0x82, 0x84]),
            }
        );
    }

    #[test]
    fn test_parse_padded_with_priority() {
        let f = flags::PADDED | flags::PRIORITY | flags::END_HEADERS;
        let payload = [2, 0x80, 0, 0, 1, 9, 0x82, 0, 0];
        let h = Headers::decode(&head(f, 3, 9), Bytes::copy_from_slice(&payload)).unwrap();
        assert_eq!(h.fragment, Bytes::from_static(&[0x82]));
        assert!(h.end_headers);
        assert!(!h.end_stream);
        assert_eq!(
            h.priority,
            Some(PrioritySpec {
                dependency: StreamId::new(1),
                exclusive: true,
                weight: 9
            })
        );
    }

    #[test]
    fn test_emit() {
        let h = Headers {
            stream_id: StreamId::new(1),
            end_stream: true,
            end_headers: true,
            priority: None,
            fragment: Bytes::from_static(&[0x82]),
        };
        let mut dst = BytesMut::new();
        h.encode(&mut dst);
        assert_eq!(&dst[..], &[0, 0, 1, 1, 0x5, 0, 0, 0, 1, 0x82]);
    }

    #[test]
    fn test_emit_padded_with_priority() {
        let h = Headers {
            stream_id: StreamId::new(3),
            end_stream: false,
            end_headers: true,
            priority: Some(PrioritySpec {
                dependency: StreamId::new(1),
                exclusive: false,
                weight: 7,
            }),
            fragment: Bytes::from_static(&[0x82]),
        };
        let mut dst = BytesMut::new();
        h.encode_padded(1, &mut dst);
        let want = [0, 0, 8, 1, 0x2c, 0, 0, 0, 3, 1, 0, 0, 0, 1, 7, 0x82, 0];
        assert_eq!(&dst[..], &want);
        let mut arr = [0u8; 9];
        arr.copy_from_slice(&dst[..9]);
        let back = Headers::decode(&Head::parse(&arr), dst.split_off(9).freeze()).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn encode_block_splits_into_continuations() {
        let mut dst = BytesMut::new();
        Headers::encode_block(StreamId::new(5), b"abcdefg", true, 3, &mut dst);
        let want: &[u8] = &[
            0, 0, 3, 1, 0x1, 0, 0, 0, 5, b'a', b'b', b'c', // HEADERS, END_STREAM
            0, 0, 3, 9, 0x0, 0, 0, 0, 5, b'd', b'e', b'f', // CONTINUATION
            0, 0, 1, 9, 0x4, 0, 0, 0, 5, b'g', // CONTINUATION, END_HEADERS
        ];
        assert_eq!(&dst[..], want);
    }

    #[test]
    fn encode_block_single_frame_and_empty() {
        let mut dst = BytesMut::new();
        Headers::encode_block(StreamId::new(1), b"ab", false, 16_384, &mut dst);
        assert_eq!(&dst[..], &[0, 0, 2, 1, 0x4, 0, 0, 0, 1, b'a', b'b']);
        let mut dst = BytesMut::new();
        Headers::encode_block(StreamId::new(1), b"", true, 16_384, &mut dst);
        assert_eq!(&dst[..], &[0, 0, 0, 1, 0x5, 0, 0, 0, 1]);
        // Exactly one frame's worth: no trailing empty CONTINUATION.
        let mut dst = BytesMut::new();
        Headers::encode_block(StreamId::new(1), b"abc", false, 3, &mut dst);
        assert_eq!(&dst[..], &[0, 0, 3, 1, 0x4, 0, 0, 0, 1, b'a', b'b', b'c']);
    }

    #[test]
    fn stream_zero_is_connection_protocol_error() {
        let e = Headers::decode(&head(flags::END_HEADERS, 0, 1), Bytes::from_static(&[0x82]))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn padded_empty_is_frame_size_error() {
        let e = Headers::decode(&head(flags::PADDED, 1, 0), Bytes::new()).unwrap_err();
        assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn priority_flag_without_room_is_frame_size_error() {
        let e =
            Headers::decode(&head(flags::PRIORITY, 1, 4), Bytes::from_static(&[0; 4])).unwrap_err();
        assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
        assert_eq!(e.scope, Scope::Connection);
        // PADDED + PRIORITY: 1 + 5 bytes needed.
        let f = flags::PADDED | flags::PRIORITY;
        let e = Headers::decode(&head(f, 1, 5), Bytes::from_static(&[0; 5])).unwrap_err();
        assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn padding_past_fragment_is_protocol_error() {
        let e = Headers::decode(&head(flags::PADDED, 1, 3), Bytes::from_static(&[3, 0, 0]))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
        // With priority fields, padding may not eat into them.
        let f = flags::PADDED | flags::PRIORITY;
        let payload = [1, 0, 0, 0, 0, 0];
        let e = Headers::decode(&head(f, 1, 6), Bytes::copy_from_slice(&payload)).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn self_dependency_is_connection_protocol_error() {
        let payload = [0, 0, 0, 3, 0];
        let e = Headers::decode(
            &head(flags::PRIORITY, 3, 5),
            Bytes::copy_from_slice(&payload),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn fragment_is_zero_copy() {
        let payload = Bytes::from_static(&[0x82, 0x86]);
        let h = Headers::decode(&head(flags::END_HEADERS, 1, 2), payload.clone()).unwrap();
        assert_eq!(h.fragment.as_ptr(), payload.as_ptr());
    }
}
