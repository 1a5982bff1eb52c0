//! Server frames written byte by byte (RFC 9113 §4.1, §6), so tests can
//! write malformed frames as easily as good ones, plus raw HPACK pieces
//! (RFC 7541 §5, §6) for hostile field blocks.

/// Frame type codes.
pub const DATA: u8 = 0x0;
/// HEADERS.
pub const HEADERS: u8 = 0x1;
/// PRIORITY.
pub const PRIORITY: u8 = 0x2;
/// RST_STREAM.
pub const RST_STREAM: u8 = 0x3;
/// SETTINGS.
pub const SETTINGS: u8 = 0x4;
/// PUSH_PROMISE.
pub const PUSH_PROMISE: u8 = 0x5;
/// PING.
pub const PING: u8 = 0x6;
/// GOAWAY.
pub const GOAWAY: u8 = 0x7;
/// WINDOW_UPDATE.
pub const WINDOW_UPDATE: u8 = 0x8;
/// CONTINUATION.
pub const CONTINUATION: u8 = 0x9;

/// END_STREAM / ACK.
pub const END_STREAM: u8 = 0x1;
/// ACK.
pub const ACK: u8 = 0x1;
/// END_HEADERS.
pub const END_HEADERS: u8 = 0x4;
/// PADDED.
pub const PADDED: u8 = 0x8;
/// PRIORITY flag on HEADERS.
pub const PRIORITY_FLAG: u8 = 0x20;

/// Setting ids.
pub const HEADER_TABLE_SIZE: u16 = 0x1;
/// SETTINGS_ENABLE_PUSH.
pub const ENABLE_PUSH: u16 = 0x2;
/// SETTINGS_MAX_CONCURRENT_STREAMS.
pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
/// SETTINGS_INITIAL_WINDOW_SIZE.
pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
/// SETTINGS_MAX_FRAME_SIZE.
pub const MAX_FRAME_SIZE: u16 = 0x5;
/// SETTINGS_MAX_HEADER_LIST_SIZE.
pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;

/// Any frame: 9-byte header (length from `payload`) and payload. The stream
/// id is written as given, so the reserved bit can be set.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    assert!(len < 1 << 24, "payload too long for a frame");
    let mut v = Vec::with_capacity(9 + len);
    v.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags]);
    v.extend_from_slice(&stream.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// SETTINGS with these (id, value) parameters.
pub fn settings(params: &[(u16, u32)]) -> Vec<u8> {
    let mut p = Vec::new();
    for (id, v) in params {
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&v.to_be_bytes());
    }
    frame(SETTINGS, 0, 0, &p)
}

/// SETTINGS ACK.
pub fn settings_ack() -> Vec<u8> {
    frame(SETTINGS, ACK, 0, &[])
}

/// DATA, unpadded.
pub fn data(stream: u32, data: &[u8], end_stream: bool) -> Vec<u8> {
    frame(DATA, if end_stream { END_STREAM } else { 0 }, stream, data)
}

/// Padded DATA: Pad Length `pad`, then `data`, then `pad` zero bytes.
pub fn data_padded(stream: u32, data: &[u8], pad: u8, end_stream: bool) -> Vec<u8> {
    let mut p = vec![pad];
    p.extend_from_slice(data);
    p.extend(std::iter::repeat(0).take(usize::from(pad)));
    let flags = PADDED | if end_stream { END_STREAM } else { 0 };
    frame(DATA, flags, stream, &p)
}

/// One HEADERS frame carrying `fragment` with the given flags.
pub fn headers_raw(stream: u32, fragment: &[u8], flags: u8) -> Vec<u8> {
    frame(HEADERS, flags, stream, fragment)
}

/// Padded HEADERS with END_HEADERS.
pub fn headers_padded(stream: u32, block: &[u8], pad: u8, end_stream: bool) -> Vec<u8> {
    let mut p = vec![pad];
    p.extend_from_slice(block);
    p.extend(std::iter::repeat(0).take(usize::from(pad)));
    let flags = PADDED | END_HEADERS | if end_stream { END_STREAM } else { 0 };
    frame(HEADERS, flags, stream, &p)
}

/// A field block as HEADERS plus CONTINUATIONs of at most `chunk` bytes each.
pub fn headers_block(stream: u32, block: &[u8], end_stream: bool, chunk: usize) -> Vec<u8> {
    let es = if end_stream { END_STREAM } else { 0 };
    let chunk = chunk.max(1);
    if block.len() <= chunk {
        return frame(HEADERS, es | END_HEADERS, stream, block);
    }
    let mut out = Vec::new();
    let mut pieces = block.chunks(chunk).peekable();
    let first = pieces.next().unwrap_or(&[]);
    out.extend(frame(HEADERS, es, stream, first));
    while let Some(piece) = pieces.next() {
        let flags = if pieces.peek().is_none() {
            END_HEADERS
        } else {
            0
        };
        out.extend(frame(CONTINUATION, flags, stream, piece));
    }
    out
}

/// CONTINUATION.
pub fn continuation(stream: u32, fragment: &[u8], end_headers: bool) -> Vec<u8> {
    frame(
        CONTINUATION,
        if end_headers { END_HEADERS } else { 0 },
        stream,
        fragment,
    )
}

/// PING.
pub fn ping(payload: [u8; 8], ack: bool) -> Vec<u8> {
    frame(PING, if ack { ACK } else { 0 }, 0, &payload)
}

/// GOAWAY.
pub fn goaway(last: u32, code: u32, debug: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&last.to_be_bytes());
    p.extend_from_slice(&code.to_be_bytes());
    p.extend_from_slice(debug);
    frame(GOAWAY, 0, 0, &p)
}

/// RST_STREAM.
pub fn rst(stream: u32, code: u32) -> Vec<u8> {
    frame(RST_STREAM, 0, stream, &code.to_be_bytes())
}

/// WINDOW_UPDATE.
pub fn window_update(stream: u32, increment: u32) -> Vec<u8> {
    frame(WINDOW_UPDATE, 0, stream, &increment.to_be_bytes())
}

/// PRIORITY on `stream` depending on `dep` (weight 16).
pub fn priority(stream: u32, dep: u32) -> Vec<u8> {
    let mut p = dep.to_be_bytes().to_vec();
    p.push(15);
    frame(PRIORITY, 0, stream, &p)
}

/// PUSH_PROMISE on `stream` promising `promised`, with a field block.
pub fn push_promise(stream: u32, promised: u32, block: &[u8]) -> Vec<u8> {
    let mut p = promised.to_be_bytes().to_vec();
    p.extend_from_slice(block);
    frame(PUSH_PROMISE, END_HEADERS, stream, &p)
}

/// A frame of an unknown type (0xbb).
pub fn unknown(stream: u32, payload: &[u8]) -> Vec<u8> {
    frame(0xbb, 0xff, stream, payload)
}

// ---- raw HPACK (RFC 7541) ----

/// An HPACK integer (§5.1) with an `n`-bit prefix, the high bits of the first
/// byte set to `high`.
pub fn hpack_int(n: u32, high: u8, value: u64) -> Vec<u8> {
    let max = (1u64 << n) - 1;
    if value < max {
        return vec![high | value as u8];
    }
    let mut out = vec![high | max as u8];
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
    out
}

/// A plain (non-Huffman) HPACK string (§5.2).
pub fn hpack_str(s: &[u8]) -> Vec<u8> {
    let mut out = hpack_int(7, 0, s.len() as u64);
    out.extend_from_slice(s);
    out
}

/// Literal field without indexing, new name (§6.2.2).
pub fn lit(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = vec![0x00];
    out.extend(hpack_str(name));
    out.extend(hpack_str(value));
    out
}

/// Literal field with incremental indexing, new name (§6.2.1).
pub fn lit_indexed(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = vec![0x40];
    out.extend(hpack_str(name));
    out.extend(hpack_str(value));
    out
}

/// Indexed field (§6.1).
pub fn indexed(index: u64) -> Vec<u8> {
    hpack_int(7, 0x80, index)
}

/// Dynamic table size update (§6.3).
pub fn size_update(size: u64) -> Vec<u8> {
    hpack_int(5, 0x20, size)
}

/// `:status: 200` from the static table (index 8).
pub const STATUS_200: u8 = 0x88;

/// A response head block made of raw pieces: `:status 200` then `rest`.
pub fn block_200(rest: &[u8]) -> Vec<u8> {
    let mut b = vec![STATUS_200];
    b.extend_from_slice(rest);
    b
}

/// Concatenates frames.
pub fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}
