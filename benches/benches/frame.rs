//! Frame header parse and zero-copy DATA decode.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use tether_benches::{data_frames, frame_header, parse_head};
use tether_h2::frame::{DecoderLimits, FrameDecoder};

fn header_parse(c: &mut Criterion) {
    let h = frame_header();
    c.bench_function("frame/header_parse", |b| {
        b.iter(|| parse_head(black_box(&h)))
    });
}

fn data_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame/data_decode");
    for size in [1024usize, 16_384] {
        let n = (4 << 20) / size;
        let wire = data_frames(n, size);
        g.throughput(Throughput::Bytes((n * size) as u64));
        g.bench_function(format!("{size}B_frames"), |b| {
            b.iter_batched_ref(
                || BytesMut::from(&wire[..]),
                |buf| {
                    let mut dec = FrameDecoder::new(DecoderLimits::default());
                    let mut total = 0usize;
                    while let Ok(Some(d)) = dec.decode(buf) {
                        total += d.head.length as usize;
                    }
                    black_box(total)
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, header_parse, data_decode);
criterion_main!(benches);
