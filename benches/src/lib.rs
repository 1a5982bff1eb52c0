//! Shared workloads for tether's benchmarks: the criterion benches in
//! `benches/`, the allocation counter (`src/bin/alloc_count.rs`) and the
//! instruction counter run under callgrind (`src/bin/instr.rs`) all measure
//! the same code.

pub mod grpc;

use bytes::{BufMut, Bytes, BytesMut};
use std::time::Instant;
use tether_h2::frame::{flags, FrameType, Head, StreamId};
use tether_h2::hpack::FieldRef;
use tether_h2::{Config, Connection, Event};

/// A typical gRPC unary request's header fields.
pub fn request_fields() -> [FieldRef<'static>; 9] {
    [
        FieldRef::new(b":method", b"POST"),
        FieldRef::new(b":scheme", b"http"),
        FieldRef::new(b":path", b"/grpc.testing.TestService/UnaryCall"),
        FieldRef::new(b":authority", b"127.0.0.1:50051"),
        FieldRef::new(b"content-type", b"application/grpc"),
        FieldRef::new(b"user-agent", b"tether/0.1.0"),
        FieldRef::new(b"te", b"trailers"),
        FieldRef::new(b"grpc-accept-encoding", b"identity,deflate,gzip"),
        FieldRef::new(b"grpc-timeout", b"999994u"),
    ]
}

/// A typical gRPC response header block as a server encodes it the first
/// time (literals with incremental indexing) and every later time (indexed).
pub fn response_header_blocks() -> (Vec<u8>, Vec<u8>) {
    let mut first = vec![0x88]; // :status 200 (static 8)
    lit_indexed_static(&mut first, 31, b"application/grpc"); // content-type
    lit_indexed_new(
        &mut first,
        b"grpc-accept-encoding",
        b"identity,deflate,gzip",
    );
    lit_indexed_new(&mut first, b"grpc-encoding", b"identity");
    // Dynamic indexes: 62 grpc-encoding, 63 grpc-accept-encoding, 64 content-type.
    let warm = vec![0x88, 0x80 | 64, 0x80 | 63, 0x80 | 62];
    (first, warm)
}

/// A typical gRPC trailer block, first time and warm (after the headers above).
pub fn trailer_blocks() -> (Vec<u8>, Vec<u8>) {
    let mut first = Vec::new();
    lit_indexed_new(&mut first, b"grpc-status", b"0");
    lit_indexed_new(&mut first, b"grpc-message", b"");
    // Now: 62 grpc-message, 63 grpc-status.
    let warm = vec![0x80 | 63, 0x80 | 62];
    (first, warm)
}

fn lit_indexed_static(dst: &mut Vec<u8>, index: u8, value: &[u8]) {
    // RFC 7541 §6.2.1 with a 6-bit index (< 63 here) and a raw 7-bit length (< 127).
    dst.push(0x40 | index);
    dst.push(value.len() as u8);
    dst.extend_from_slice(value);
}

fn lit_indexed_new(dst: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    dst.push(0x40);
    dst.push(name.len() as u8);
    dst.extend_from_slice(name);
    dst.push(value.len() as u8);
    dst.extend_from_slice(value);
}

/// 64 KiB of text typical of header values (paths, user agents, dates,
/// tokens), for the Huffman benches.
pub fn huffman_text() -> Vec<u8> {
    let sample: &[u8] = b"/grpc.testing.TestService/UnaryCall Mozilla/5.0 (X11; Linux x86_64) \
        application/grpc+proto Sat, 21 Nov 2026 19:52:03 GMT text/html; charset=utf-8 \
        eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0 max-age=31536000; includeSubDomains ";
    sample.iter().copied().cycle().take(64 * 1024).collect()
}

/// Appends a frame header + payload, written by hand (not by the code under test).
pub fn put_frame(dst: &mut BytesMut, kind: FrameType, fl: u8, stream: u32, payload: &[u8]) {
    let head = [
        (payload.len() >> 16) as u8,
        (payload.len() >> 8) as u8,
        payload.len() as u8,
        kind.0,
        fl,
    ];
    dst.put_slice(&head);
    dst.put_u32(stream);
    dst.put_slice(payload);
}

/// `n` DATA frames of `size` bytes each on stream 1, as one read buffer.
pub fn data_frames(n: usize, size: usize) -> Bytes {
    let payload = vec![0x5a; size];
    let mut b = BytesMut::with_capacity(n * (size + 9));
    for _ in 0..n {
        put_frame(&mut b, FrameType::DATA, 0, 1, &payload);
    }
    b.freeze()
}

/// A 9-byte frame header to parse.
pub fn frame_header() -> [u8; 9] {
    [0x00, 0x40, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01]
}

/// Parses `frame_header()`, for the header-parse bench.
pub fn parse_head(b: &[u8; 9]) -> Head {
    Head::parse(b)
}

/// A client connection established against a scripted server, ready to run
/// unary exchanges through the core alone: request HEADERS + DATA out,
/// response HEADERS + DATA + trailers in.
pub struct UnaryRig {
    conn: Connection,
    now: Instant,
    out: BytesMut,
    inbox: BytesMut,
    next_id: u32,
    calls: u64,
    request: Bytes,
    response_message: Vec<u8>,
    /// Response header and trailer blocks: (first call, warm table).
    headers: (Vec<u8>, Vec<u8>),
    trailers: (Vec<u8>, Vec<u8>),
}

impl UnaryRig {
    /// Handshakes a fresh connection.
    pub fn new() -> UnaryRig {
        let now = Instant::now();
        let mut conn = Connection::new(Config::default(), now);
        let mut out = BytesMut::with_capacity(64 * 1024);
        conn.poll_transmit(&mut out);
        out.clear();
        let mut inbox = BytesMut::new();
        // Server SETTINGS (MAX_CONCURRENT_STREAMS 100) and the ACK of ours.
        put_frame(&mut inbox, FrameType::SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]);
        put_frame(&mut inbox, FrameType::SETTINGS, flags::ACK, 0, &[]);
        conn.handle_read(&inbox, now);
        inbox.clear();
        conn.poll_transmit(&mut out);
        out.clear();
        while conn.poll_event().is_some() {}
        // A 64-byte request message with its 5-byte gRPC prefix.
        let mut req = vec![0, 0, 0, 0, 64];
        req.extend_from_slice(&[7; 64]);
        let mut resp = vec![0, 0, 0, 0, 64];
        resp.extend_from_slice(&[9; 64]);
        UnaryRig {
            conn,
            now,
            out,
            inbox,
            next_id: 1,
            calls: 0,
            request: Bytes::from(req),
            response_message: resp,
            // After one full exchange the server's table holds, newest first:
            // 62 grpc-message, 63 grpc-status, 64 grpc-encoding,
            // 65 grpc-accept-encoding, 66 content-type.
            headers: (
                response_header_blocks().0,
                vec![0x88, 0x80 | 66, 0x80 | 65, 0x80 | 64],
            ),
            trailers: trailer_blocks(),
        }
    }

    /// One unary exchange. Returns the response body length.
    pub fn call(&mut self) -> usize {
        let fields = request_fields();
        let id = match self.conn.open_stream(&fields, false, self.now) {
            Ok(id) => id,
            Err(e) => panic!("open_stream: {e:?}"),
        };
        debug_assert_eq!(id, StreamId::new(self.next_id));
        if let Err(e) = self.conn.send_data(id, self.request.clone(), true) {
            panic!("send_data: {e:?}");
        }
        self.out.clear();
        self.conn.poll_transmit(&mut self.out);

        let warm = self.calls > 0;
        self.inbox.clear();
        let stream = self.next_id;
        // A real server returns the connection window it received as request
        // DATA (the stream window dies with the stream).
        let credit = (self.request.len() as u32).to_be_bytes();
        put_frame(&mut self.inbox, FrameType::WINDOW_UPDATE, 0, 0, &credit);
        let hb: &[u8] = if warm {
            &self.headers.1
        } else {
            &self.headers.0
        };
        put_frame(
            &mut self.inbox,
            FrameType::HEADERS,
            flags::END_HEADERS,
            stream,
            hb,
        );
        put_frame(
            &mut self.inbox,
            FrameType::DATA,
            0,
            stream,
            &self.response_message,
        );
        let tb: &[u8] = if warm {
            &self.trailers.1
        } else {
            &self.trailers.0
        };
        put_frame(
            &mut self.inbox,
            FrameType::HEADERS,
            flags::END_HEADERS | flags::END_STREAM,
            stream,
            tb,
        );
        self.conn.handle_read(&self.inbox, self.now);
        let mut body = 0;
        let mut done = false;
        while let Some(ev) = self.conn.poll_event() {
            match ev {
                Event::Data {
                    stream_id, data, ..
                } => {
                    body += data.len();
                    self.conn.release_capacity(stream_id, data.len());
                }
                Event::Trailers { .. } => done = true,
                Event::Headers { .. } => {}
                other => panic!("unexpected event {other:?}"),
            }
        }
        assert!(done, "the exchange did not complete");
        self.out.clear();
        self.conn.poll_transmit(&mut self.out);
        self.next_id += 2;
        self.calls += 1;
        body
    }
}

impl Default for UnaryRig {
    fn default() -> Self {
        UnaryRig::new()
    }
}
