//! The frame header (§4.1), stream identifiers, frame types and flags.

use bytes::{BufMut, BytesMut};

/// The largest value of the 24-bit length field.
const MAX_LENGTH: u32 = (1 << 24) - 1;

/// A stream identifier: 31 bits; the reserved high bit is cleared on parse (§4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct StreamId(u32);

impl StreamId {
    /// The connection control stream, 0.
    pub const ZERO: StreamId = StreamId(0);
    /// The largest stream identifier, 2^31 - 1.
    pub const MAX: StreamId = StreamId((1 << 31) - 1);

    /// A stream id from a number; the reserved bit is cleared.
    pub const fn new(v: u32) -> StreamId {
        StreamId(v & 0x7fff_ffff)
    }
    /// The numeric value.
    pub const fn value(self) -> u32 {
        self.0
    }
    /// Whether this is stream 0.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// Whether a client opened this stream (odd ids, §5.1.1).
    pub const fn is_client_initiated(self) -> bool {
        self.0 % 2 == 1
    }
}

/// A frame type code: an open newtype, so unknown types survive (§4.1, §5.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameType(pub u8);

impl FrameType {
    /// DATA.
    pub const DATA: FrameType = FrameType(0x0);
    /// HEADERS.
    pub const HEADERS: FrameType = FrameType(0x1);
    /// PRIORITY.
    pub const PRIORITY: FrameType = FrameType(0x2);
    /// RST_STREAM.
    pub const RST_STREAM: FrameType = FrameType(0x3);
    /// SETTINGS.
    pub const SETTINGS: FrameType = FrameType(0x4);
    /// PUSH_PROMISE.
    pub const PUSH_PROMISE: FrameType = FrameType(0x5);
    /// PING.
    pub const PING: FrameType = FrameType(0x6);
    /// GOAWAY.
    pub const GOAWAY: FrameType = FrameType(0x7);
    /// WINDOW_UPDATE.
    pub const WINDOW_UPDATE: FrameType = FrameType(0x8);
    /// CONTINUATION.
    pub const CONTINUATION: FrameType = FrameType(0x9);
}

/// Frame flags (§6).
pub mod flags {
    /// DATA, HEADERS: the last frame the endpoint sends on the stream.
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING: this frame acknowledges.
    pub const ACK: u8 = 0x1;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: the field block ends here.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS, PUSH_PROMISE: a Pad Length field is present.
    pub const PADDED: u8 = 0x8;
    /// HEADERS: the priority fields are present.
    pub const PRIORITY: u8 = 0x20;
}

/// The 9-byte frame header (§4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Payload length (24 bits).
    pub length: u32,
    /// Frame type.
    pub kind: FrameType,
    /// Flags; undefined flags are kept here but ignored by decoders.
    pub flags: u8,
    /// Stream identifier, reserved bit cleared.
    pub stream_id: StreamId,
}

impl Head {
    /// Parses a frame header. Never fails: every 9-byte string is a header.
    pub fn parse(src: &[u8; 9]) -> Head {
        let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = *src;
        Head {
            length: u32::from_be_bytes([0, l0, l1, l2]),
            kind: FrameType(kind),
            flags,
            // RFC 9113 §4.1: the reserved bit "MUST remain unset (0x0) when
            // sending and MUST be ignored when receiving".
            stream_id: StreamId::new(u32::from_be_bytes([s0, s1, s2, s3])),
        }
    }

    /// Appends the 9-byte header to `dst`.
    ///
    /// `length` must fit in 24 bits (it is masked otherwise); the reserved
    /// bit of the stream id is always sent as zero (§4.1).
    pub fn encode(&self, dst: &mut BytesMut) {
        debug_assert!(self.length <= MAX_LENGTH, "frame length over 24 bits");
        let [_, l0, l1, l2] = (self.length & MAX_LENGTH).to_be_bytes();
        dst.put_slice(&[l0, l1, l2, self.kind.0, self.flags]);
        dst.put_u32(self.stream_id.value());
    }

    /// A header with this length, type, flags and stream.
    pub const fn new(length: u32, kind: FrameType, flags: u8, stream_id: StreamId) -> Head {
        Head {
            length,
            kind,
            flags,
            stream_id,
        }
    }

    /// Whether `flag` is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse() {
        let bytes = [0x00, 0x40, 0x01, 0x00, 0x09, 0x80, 0x00, 0x00, 0x03];
        let head = Head::parse(&bytes);
        assert_eq!(head.length, 16_385);
        assert_eq!(head.kind, FrameType::DATA);
        assert_eq!(head.flags, 0x09);
        // Reserved bit set on the wire: ignored.
        assert_eq!(head.stream_id, StreamId::new(3));
        assert_eq!(head.stream_id.value(), 3);
        assert!(head.has(flags::END_STREAM));
        assert!(head.has(flags::PADDED));
        assert!(!head.has(flags::END_HEADERS));
    }

    #[test]
    fn test_parse_max_values() {
        let head = Head::parse(&[0xff; 9]);
        assert_eq!(head.length, 16_777_215);
        assert_eq!(head.kind, FrameType(0xff));
        assert_eq!(head.flags, 0xff);
        assert_eq!(head.stream_id, StreamId::MAX);
    }

    #[test]
    fn test_emit() {
        let head = Head::new(
            0x01_02_03,
            FrameType::HEADERS,
            0x25,
            StreamId::new(0x0102_0304),
        );
        let mut dst = BytesMut::new();
        head.encode(&mut dst);
        assert_eq!(
            &dst[..],
            &[0x01, 0x02, 0x03, 0x01, 0x25, 0x01, 0x02, 0x03, 0x04]
        );
    }

    #[test]
    fn emit_clears_reserved_bit() {
        let head = Head::new(0, FrameType::PING, 0, StreamId::new(0xffff_ffff));
        let mut dst = BytesMut::new();
        head.encode(&mut dst);
        assert_eq!(&dst[5..], &[0x7f, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn round_trip() {
        let head = Head::new(42, FrameType(0xee), 0xa5, StreamId::new(7));
        let mut dst = BytesMut::new();
        head.encode(&mut dst);
        let mut arr = [0u8; 9];
        arr.copy_from_slice(&dst);
        assert_eq!(Head::parse(&arr), head);
    }

    #[test]
    fn stream_id_helpers() {
        assert!(StreamId::ZERO.is_zero());
        assert!(StreamId::new(1).is_client_initiated());
        assert!(!StreamId::new(2).is_client_initiated());
        assert_eq!(StreamId::new(0x8000_0000), StreamId::ZERO);
    }
}
