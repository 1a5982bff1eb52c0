//! A whole client connection driven by a fuzzed server byte stream.
//!
//! The client opens several streams (one with a request body), sends pings
//! and keeps keepalive on, while the input is fed to it as the server's bytes
//! in arbitrary segments, with virtual time passing between segments.
//! Invariants: no panic, no hang (every call returns), the client's output
//! is always a well-formed frame stream, and after `Closed` nothing more happens.
//!
//! Input layout: byte 0 picks the segment sizes, byte 1 the time step; the
//! rest is the server's byte stream.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};
use tether_h2::conn::Keepalive;
use tether_h2::frame::{DecoderLimits, FrameDecoder};
use tether_h2::hpack::FieldRef;
use tether_h2::{Config, Connection, ErrorCode, Event};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct Wire {
    buf: BytesMut,
    dec: FrameDecoder,
    preface_seen: bool,
}

impl Wire {
    /// Checks that what the client wrote is a valid preface and frame sequence.
    fn check(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if !self.preface_seen {
            if self.buf.len() < PREFACE.len() {
                return;
            }
            assert_eq!(&self.buf[..PREFACE.len()], PREFACE);
            let _ = self.buf.split_to(PREFACE.len());
            self.preface_seen = true;
        }
        while let Some(_frame) = self.dec.decode(&mut self.buf).expect("client output is well-formed") {}
    }
}

fn request(path: &[u8]) -> [FieldRef<'_>; 6] {
    [
        FieldRef::new(b":method", b"POST"),
        FieldRef::new(b":scheme", b"http"),
        FieldRef::new(b":path", path),
        FieldRef::new(b":authority", b"fuzz.local"),
        FieldRef::new(b"content-type", b"application/grpc"),
        FieldRef::new(b"te", b"trailers"),
    ]
}

fuzz_target!(|data: &[u8]| {
    let [seg, step, rest @ ..] = data else { return };
    let seg = usize::from(*seg % 64) + 1;
    let step = Duration::from_millis(u64::from(*step) * 40);
    let start = Instant::now();
    let mut now = start;
    let mut config = Config::default();
    // Both keepalive knobs on (off by default) so their scheduling is fuzzed too.
    config.keepalive = Some(
        Keepalive::new(Duration::from_secs(1), Duration::from_secs(1))
            .permit_without_calls(true)
            .min_ping_interval(Duration::from_secs(2))
            .max_pings_without_data(3),
    );
    let mut conn = Connection::new(config, now);
    let mut wire = Wire {
        buf: BytesMut::new(),
        // The server's view: our frames never exceed the default maximum.
        dec: FrameDecoder::new(DecoderLimits { max_settings_entries: 64, ..DecoderLimits::default() }),
        preface_seen: false,
    };
    let mut ids = Vec::new();
    for path in [&b"/a.S/One"[..], b"/a.S/Two", b"/a.S/Three"] {
        if let Ok(id) = conn.open_stream(&request(path), false, now) {
            ids.push(id);
        }
    }
    if let Some(&id) = ids.first() {
        let _ = conn.send_data(id, Bytes::from_static(&[0, 0, 0, 0, 3, 1, 2, 3]), true);
    }
    let _ = conn.ping(now);
    let mut out = BytesMut::new();
    let mut closed = false;
    for (i, chunk) in rest.chunks(seg).enumerate() {
        conn.handle_read(chunk, now);
        now += step;
        if conn.poll_timeout().is_some_and(|t| t <= now) {
            conn.handle_timeout(now);
        }
        // Some application activity between reads.
        match i % 7 {
            2 => {
                let _ = conn.open_stream(&request(b"/a.S/Late"), true, now);
            }
            4 => {
                if let Some(&id) = ids.get(1) {
                    let _ = conn.reset(id, ErrorCode::CANCEL);
                }
            }
            5 => {
                let _ = conn.ping(now);
            }
            _ => {}
        }
        out.clear();
        conn.poll_transmit(&mut out);
        wire.check(&out);
        while let Some(ev) = conn.poll_event() {
            assert!(!closed, "an event after Closed: {ev:?}");
            match ev {
                Event::Data { stream_id, data, .. } => conn.release_capacity(stream_id, data.len()),
                Event::Closed(_) => closed = true,
                _ => {}
            }
        }
    }
    conn.handle_eof(now);
    out.clear();
    conn.poll_transmit(&mut out);
    wire.check(&out);
    while let Some(ev) = conn.poll_event() {
        assert!(!closed, "an event after Closed: {ev:?}");
        if matches!(ev, Event::Closed(_)) {
            closed = true;
        }
    }
    assert!(closed, "EOF always ends the connection");
});
