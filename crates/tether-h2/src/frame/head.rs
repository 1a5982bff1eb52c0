//! The frame header (§4.1), stream identifiers, frame types and flags.

use bytes::BytesMut;

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
        let _ = src;
        todo!("frames helper")
    }

    /// Appends the 9-byte header to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let _ = dst;
        todo!("frames helper")
    }

    /// Whether `flag` is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}
