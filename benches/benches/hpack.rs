//! HPACK decode and encode, and Huffman coding, side by side with two
//! independent implementations from crates.io: fluke-hpack and httlib-hpack.
//!
//! Like is compared with like:
//! - decode, borrowed fields: `tether-borrowed` (`Decoder::decode_with`)
//!   against `fluke-hpack` (`decode_with_cb`, borrowed `Cow`s);
//! - decode, owned fields: `tether` (`Decoder::decode`, `Bytes` fields)
//!   against `fluke-hpack-owned` (`decode`, a `Vec` of owned pairs) and
//!   `httlib-hpack` (owned `Vec`s);
//! - encode: all three index what they can; fluke never Huffman-codes,
//!   httlib (as configured here) and tether do;
//! - Huffman: against httlib-huffman and fluke-hpack's decoder (fluke has no
//!   Huffman encoder).
//!
//! Instruction counts of the same workloads: `src/bin/hpack_instr.rs`.

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use tether_benches::{huffman_text, request_fields, response_header_blocks, trailer_blocks};
use tether_h2::hpack::{huffman, Decoder, Encoder};

const LIMIT: usize = 16 * 1024;

fn decode_block(c: &mut Criterion, name: &str, (first, warm): (Vec<u8>, Vec<u8>)) {
    let mut g = c.benchmark_group(format!("hpack/decode_{name}"));
    let first_b = Bytes::from(first.clone());
    let warm_b = Bytes::from(warm.clone());

    let mut ours = Decoder::new(4096);
    ours.decode(&first_b, LIMIT, |_| {})
        .expect("tether decodes the first block");
    // Owned: each field is a `HeaderField` of two `Bytes`.
    g.bench_function("tether", |b| {
        b.iter(|| {
            let mut n = 0;
            ours.decode(black_box(&warm_b), LIMIT, |f| n += f.value.len())
                .expect("decode");
            n
        })
    });

    // Borrowed: the callback sees slices, no refcounting, no copies.
    g.bench_function("tether-borrowed", |b| {
        b.iter(|| {
            let mut n = 0;
            ours.decode_with(black_box(&warm_b), LIMIT, |_, v| n += v.len())
                .expect("decode");
            n
        })
    });

    let mut fluke = fluke_hpack::Decoder::new();
    fluke.decode(&first).expect("fluke decodes the first block");
    // Owned: a Vec of (Vec<u8>, Vec<u8>), compare with `tether`.
    g.bench_function("fluke-hpack-owned", |b| {
        b.iter(|| {
            let fields = fluke.decode(black_box(&warm)).expect("decode");
            fields.iter().map(|(_, v)| v.len()).sum::<usize>()
        })
    });
    // Borrowed `Cow`s, compare with `tether-borrowed`.
    g.bench_function("fluke-hpack", |b| {
        b.iter(|| {
            let mut n = 0;
            fluke
                .decode_with_cb(black_box(&warm), |_, v| n += v.len())
                .expect("decode");
            n
        })
    });

    let mut httlib = httlib_hpack::Decoder::default();
    let mut dst = Vec::new();
    httlib
        .decode(&mut first.clone(), &mut dst)
        .expect("httlib decodes the first block");
    g.bench_function("httlib-hpack", |b| {
        b.iter(|| {
            // httlib consumes its input buffer: the copy is part of its API's cost.
            let mut buf = black_box(&warm).clone();
            let mut dst = Vec::with_capacity(8);
            httlib.decode(&mut buf, &mut dst).expect("decode");
            dst.len()
        })
    });
    g.finish();
}

fn decode(c: &mut Criterion) {
    decode_block(c, "response_headers", response_header_blocks());
    decode_block(c, "trailers", trailer_blocks());
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("hpack/encode_request_headers");
    let fields = request_fields();

    let mut ours = Encoder::new(4096);
    let mut out = BytesMut::with_capacity(512);
    ours.encode(fields, &mut out);
    g.bench_function("tether", |b| {
        b.iter(|| {
            out.clear();
            ours.encode(black_box(fields), &mut out);
            out.len()
        })
    });

    let mut fluke = fluke_hpack::Encoder::new();
    let pairs: Vec<(&[u8], &[u8])> = fields.iter().map(|f| (f.name, f.value)).collect();
    let mut vout = Vec::with_capacity(512);
    fluke
        .encode_into(pairs.iter().copied(), &mut vout)
        .expect("encode");
    g.bench_function("fluke-hpack", |b| {
        b.iter(|| {
            vout.clear();
            fluke
                .encode_into(black_box(&pairs).iter().copied(), &mut vout)
                .expect("encode");
            vout.len()
        })
    });

    let mut httlib = httlib_hpack::Encoder::default();
    let flags = httlib_hpack::Encoder::HUFFMAN_VALUE
        | httlib_hpack::Encoder::WITH_INDEXING
        | httlib_hpack::Encoder::BEST_FORMAT;
    let owned: Vec<(Vec<u8>, Vec<u8>)> = fields
        .iter()
        .map(|f| (f.name.to_vec(), f.value.to_vec()))
        .collect();
    for (n, v) in &owned {
        httlib
            .encode((n.clone(), v.clone(), flags), &mut vout)
            .expect("encode");
    }
    g.bench_function("httlib-hpack", |b| {
        b.iter(|| {
            vout.clear();
            // httlib takes owned Vecs: the clones are part of its API's cost.
            for (n, v) in black_box(&owned) {
                httlib
                    .encode((n.clone(), v.clone(), flags), &mut vout)
                    .expect("encode");
            }
            vout.len()
        })
    });
    g.finish();
}

fn huffman_bench(c: &mut Criterion) {
    let text = huffman_text();
    let mut encoded = BytesMut::new();
    huffman::encode(&text, &mut encoded);
    let encoded = encoded.freeze();

    let mut g = c.benchmark_group("huffman/decode");
    g.throughput(Throughput::Bytes(text.len() as u64));
    let mut out = BytesMut::with_capacity(text.len());
    g.bench_function("tether", |b| {
        b.iter(|| {
            out.clear();
            huffman::decode(black_box(&encoded), &mut out).expect("decode");
            out.len()
        })
    });
    let mut fluke = fluke_hpack::huffman::HuffmanDecoder::new();
    g.bench_function("fluke-hpack", |b| {
        b.iter(|| fluke.decode(black_box(&encoded)).expect("decode").len())
    });
    let mut vout = Vec::with_capacity(text.len());
    g.bench_function("httlib-huffman", |b| {
        b.iter(|| {
            vout.clear();
            httlib_huffman::decode(
                black_box(&encoded),
                &mut vout,
                httlib_huffman::DecoderSpeed::FiveBits,
            )
            .expect("decode");
            vout.len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("huffman/encode");
    g.throughput(Throughput::Bytes(text.len() as u64));
    let mut out = BytesMut::with_capacity(text.len());
    g.bench_function("tether", |b| {
        b.iter(|| {
            out.clear();
            huffman::encode(black_box(&text), &mut out);
            out.len()
        })
    });
    g.bench_function("httlib-huffman", |b| {
        b.iter(|| {
            vout.clear();
            httlib_huffman::encode(black_box(&text), &mut vout).expect("encode");
            vout.len()
        })
    });
    g.finish();
}

criterion_group!(benches, decode, encode, huffman_bench);
criterion_main!(benches);
