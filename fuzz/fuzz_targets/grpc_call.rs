//! The gRPC layer above the core: one call's receive state machine
//! (`tether::grpc::CallRecv`) fed a fuzzed sequence of response events:
//! header blocks (`:status`, content-type, grpc-status, grpc-message,
//! grpc-encoding, `-bin` and other metadata), DATA carrying length-prefixed
//! messages (plain or gzip), trailers, resets, connection loss, deadline,
//! cancellation.
//!
//! Invariants: no panic; exactly one final status, and nothing after it;
//! no message longer than the receive limit; the call is finished once the
//! status is out; response metadata that was accepted parses again.
//!
//! Input layout: byte 0 picks the cardinality and the message limit; then
//! operations, each an opcode byte followed by its operands (see `next_op`).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};
use tether::grpc::{CallRecv, Cardinality, RecvEvent};
use tether_h2::conn::{CloseReason, ResponseHead};
use tether_h2::hpack::HeaderField;
use tether_h2::ErrorCode;

/// Header names the fuzzer picks by index (the interesting ones), or raw.
const NAMES: [&str; 12] = [
    "content-type",
    "grpc-status",
    "grpc-message",
    "grpc-encoding",
    "grpc-status-details-bin",
    "x-trace-bin",
    "x-custom",
    ":status",
    "grpc-accept-encoding",
    "content-length",
    "te",
    "Upper-Case",
];

/// Values the fuzzer picks by index, or raw.
const VALUES: [&str; 10] = [
    "application/grpc",
    "application/grpc+proto",
    "text/html",
    "0",
    "13",
    "gzip",
    "identity",
    "snappy",
    "%E2%9C%93 ok%",
    "AAEC",
];

struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    fn text(&mut self, table: &[&'static str]) -> Bytes {
        let b = self.byte().unwrap_or(0);
        if usize::from(b) < table.len() {
            Bytes::from_static(table[usize::from(b)].as_bytes())
        } else {
            let n = usize::from(b % 16);
            Bytes::copy_from_slice(self.bytes(n))
        }
    }

    fn fields(&mut self) -> Vec<HeaderField> {
        let n = usize::from(self.byte().unwrap_or(0) % 8);
        (0..n)
            .map(|_| HeaderField {
                name: self.text(&NAMES),
                value: self.text(&VALUES),
            })
            .collect()
    }
}

/// A gzip member of `body` (the fuzzer's bytes, so compressed messages
/// reach the inflater intact as often as corrupt ones).
fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(body);
    gz.finish().unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input { data };
    let Some(setup) = input.byte() else { return };
    let cardinality = if setup & 1 == 0 {
        Cardinality::Unary
    } else {
        Cardinality::Streaming
    };
    let max_message = 1usize << (4 + (setup >> 1) % 16); // 16 B .. 512 KiB
    let start = Instant::now();
    let mut call = CallRecv::new(cardinality)
        .with_max_message_size(max_message)
        .with_max_header_list_size(4096)
        .with_deadline(start + Duration::from_secs(1));
    let mut statuses = 0;
    let mut after_status = 0;
    let mut ops = 0;
    while let Some(op) = input.byte() {
        ops += 1;
        if ops > 64 {
            break;
        }
        match op % 9 {
            0 | 1 => {
                let status = match input.byte().unwrap_or(0) {
                    0..=199 => 200,
                    b => u16::from(b),
                };
                let fields = input.fields();
                let end = op & 0x80 != 0;
                call.handle_headers(ResponseHead::new(status, fields), end);
            }
            2 => {
                // Raw DATA: prefixes and all, as the fuzzer wrote them.
                let n = usize::from(input.byte().unwrap_or(0));
                let raw = Bytes::copy_from_slice(input.bytes(n));
                call.handle_data(raw, op & 0x80 != 0);
            }
            3 => {
                // One well-framed message, gzip-compressed or not.
                let n = usize::from(input.byte().unwrap_or(0));
                let body = input.bytes(n);
                let compressed = op & 0x40 != 0;
                let payload = if compressed { gzip(body) } else { body.to_vec() };
                let mut framed = vec![u8::from(compressed)];
                framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
                framed.extend_from_slice(&payload);
                call.handle_data(Bytes::from(framed), op & 0x80 != 0);
            }
            4 => {
                let fields = input.fields();
                call.handle_trailers(&fields);
            }
            5 => {
                let code = ErrorCode(u32::from(input.byte().unwrap_or(0) % 16));
                call.handle_reset(code, op & 0x80 != 0, None, start);
            }
            6 => call.handle_connection_closed(&CloseReason::TransportClosed),
            7 => call.handle_deadline(),
            _ => call.cancel(),
        }
        while let Some(event) = call.poll_event() {
            if statuses > 0 {
                after_status += 1;
            }
            match event {
                RecvEvent::Headers(md) => {
                    // What was accepted is valid metadata: it reads back.
                    for (key, _) in md.iter() {
                        assert!(md.contains_key(key));
                    }
                }
                RecvEvent::Message(m) => assert!(m.len() <= max_message, "message over the limit"),
                RecvEvent::Status(_) => statuses += 1,
                _ => {}
            }
        }
        assert!(statuses <= 1, "more than one final status");
        assert_eq!(after_status, 0, "an event after the final status");
        if statuses == 1 {
            assert!(call.is_finished());
        }
    }
    // Whatever the server did, losing the connection ends the call.
    call.handle_connection_closed(&CloseReason::TransportClosed);
    while let Some(event) = call.poll_event() {
        assert!(statuses == 0 || !matches!(event, RecvEvent::Status(_)));
        if let RecvEvent::Status(_) = event {
            statuses += 1;
        }
    }
    assert_eq!(statuses, 1, "the call ended with exactly one status");
});
