//! Padding (§6.1, §6.2, §6.6): the optional Pad Length field shared by DATA,
//! HEADERS and PUSH_PROMISE, split off and checked in one place.

use super::{flags, FrameType, Head, StreamId};
use crate::error::{ErrorCode, ProtoError};
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// A padded frame payload cut into its parts (all slices of the payload).
#[derive(Debug)]
pub(crate) struct Unpadded {
    /// The fixed fields that sit between Pad Length and the content
    /// (priority fields of HEADERS, promised stream of PUSH_PROMISE).
    pub(crate) fixed: Bytes,
    /// The content: data or field block fragment, padding removed.
    pub(crate) content: Bytes,
}

/// Splits `payload` into `fixed_len` bytes of fixed fields and the content,
/// removing the Pad Length field and the padding when PADDED is set.
///
/// `short` is the detail used when the payload cannot hold the fixed fields.
pub(crate) fn unpad(
    head: &Head,
    mut payload: Bytes,
    fixed_len: usize,
    short: &'static str,
) -> Result<Unpadded, ProtoError> {
    let pad_len = if head.has(flags::PADDED) {
        // RFC 9113 §4.2: a frame "too small to contain mandatory frame data"
        // MUST be treated as FRAME_SIZE_ERROR; a PADDED frame must hold the
        // Pad Length byte.
        if payload.is_empty() {
            return Err(ProtoError::conn(
                ErrorCode::FRAME_SIZE_ERROR,
                "PADDED frame too short for the Pad Length field",
            ));
        }
        usize::from(payload.get_u8())
    } else {
        0
    };
    if payload.len() < fixed_len {
        return Err(ProtoError::conn(ErrorCode::FRAME_SIZE_ERROR, short));
    }
    let fixed = payload.split_to(fixed_len);
    // RFC 9113 §6.1: "If the length of the padding is the length of the frame
    // payload or greater, the recipient MUST treat this as a connection error
    // of type PROTOCOL_ERROR." §6.2 and §6.6 say the same of padding that
    // "exceeds the size remaining for the field block fragment".
    let Some(content_len) = payload.len().checked_sub(pad_len) else {
        return Err(ProtoError::conn(
            ErrorCode::PROTOCOL_ERROR,
            "Pad Length exceeds the frame payload",
        ));
    };
    payload.truncate(content_len);
    Ok(Unpadded {
        fixed,
        content: payload,
    })
}

/// Appends a frame made of optional padding, fixed fields and content.
///
/// With `pad = Some(n)` the PADDED flag is set and `n` zero bytes of padding
/// follow the content (§6.1: padding octets MUST be zero when sending).
pub(crate) fn encode_padded(
    kind: FrameType,
    mut frame_flags: u8,
    stream_id: StreamId,
    fixed: &[u8],
    content: &[u8],
    pad: Option<u8>,
    dst: &mut BytesMut,
) {
    let pad_fields = pad.map_or(0, |n| 1 + usize::from(n));
    if pad.is_some() {
        frame_flags |= flags::PADDED;
    } else {
        frame_flags &= !flags::PADDED;
    }
    let length = pad_fields + fixed.len() + content.len();
    let head = Head::new(
        u32::try_from(length).unwrap_or(u32::MAX),
        kind,
        frame_flags,
        stream_id,
    );
    dst.reserve(super::HEADER_LEN + length);
    head.encode(dst);
    if let Some(n) = pad {
        dst.put_u8(n);
    }
    dst.put_slice(fixed);
    dst.put_slice(content);
    if let Some(n) = pad {
        dst.put_bytes(0, usize::from(n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;

    fn head(flags: u8, len: usize) -> Head {
        Head::new(len as u32, FrameType::DATA, flags, StreamId::new(1))
    }

    #[test]
    fn unpadded_payload_is_all_content() {
        let p = Bytes::from_static(b"abc");
        let u = unpad(&head(0, 3), p, 0, "short").unwrap();
        assert_eq!(u.content, Bytes::from_static(b"abc"));
        assert!(u.fixed.is_empty());
    }

    #[test]
    fn padded_payload_strips_padding() {
        let p = Bytes::from_static(&[2, b'x', b'y', 0, 0]);
        let u = unpad(&head(flags::PADDED, 5), p, 1, "short").unwrap();
        assert_eq!(u.fixed, Bytes::from_static(b"x"));
        assert_eq!(u.content, Bytes::from_static(b"y"));
    }

    #[test]
    fn padding_filling_the_rest_is_allowed() {
        let p = Bytes::from_static(&[3, 0, 0, 0]);
        let u = unpad(&head(flags::PADDED, 4), p, 0, "short").unwrap();
        assert!(u.content.is_empty());
    }

    #[test]
    fn padding_past_the_end_is_protocol_error() {
        let p = Bytes::from_static(&[4, 0, 0, 0]);
        let e = unpad(&head(flags::PADDED, 4), p, 0, "short").unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn empty_padded_payload_is_frame_size_error() {
        let e = unpad(&head(flags::PADDED, 0), Bytes::new(), 0, "short").unwrap_err();
        assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn fixed_fields_missing_is_frame_size_error() {
        let p = Bytes::from_static(&[0, 1, 2]);
        let e = unpad(&head(flags::PADDED, 3), p, 4, "short").unwrap_err();
        assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR);
        assert_eq!(e.detail, "short");
    }

    #[test]
    fn encode_padded_layout() {
        let mut dst = BytesMut::new();
        encode_padded(
            FrameType::DATA,
            flags::END_STREAM,
            StreamId::new(1),
            b"F",
            b"cc",
            Some(2),
            &mut dst,
        );
        assert_eq!(
            &dst[..],
            &[0, 0, 6, 0, 0x09, 0, 0, 0, 1, 2, b'F', b'c', b'c', 0, 0]
        );
    }
}
