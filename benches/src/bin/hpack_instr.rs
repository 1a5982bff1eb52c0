//! Runs one HPACK or Huffman operation N times, for instruction counting
//! under callgrind: run it twice with different N and difference the totals
//! so start-up and warm-up cancel out.
//!
//! `hpack_instr <impl> <op> <n>`
//! - impl: `tether` (owned fields), `tether-borrowed` (`decode_with`),
//!   `fluke` (`decode`, owned `Vec` pairs), `fluke-borrowed`
//!   (`decode_with_cb`, borrowed `Cow`s), `httlib`. The borrowed variants only
//!   differ from the plain ones for the decode ops.
//! - op: `decode_headers` (warm 4-field gRPC response HEADERS),
//!   `decode_trailers` (warm 2-field trailers), `encode_request` (warm
//!   9-field gRPC request), `huffman_decode` / `huffman_encode` (64 KiB of
//!   header-like text per op).
//!
//! ```text
//! for n in 10000 20000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/hpack_instr tether decode_headers $n 2>&1 | grep Collected
//! done
//! ```

use bytes::{Bytes, BytesMut};
use std::hint::black_box;
use std::process::ExitCode;
use tether_benches::{huffman_text, request_fields, response_header_blocks, trailer_blocks};
use tether_h2::hpack::{huffman, Decoder, Encoder};

const LIMIT: usize = 16 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(imp), Some(op), Some(n)) = (
        args.get(1),
        args.get(2),
        args.get(3).and_then(|a| a.parse::<u64>().ok()),
    ) else {
        eprintln!(
            "usage: hpack_instr <tether|tether-borrowed|fluke|fluke-borrowed|httlib> \
             <decode_headers|decode_trailers|encode_request|huffman_decode|huffman_encode> <n>"
        );
        return ExitCode::FAILURE;
    };
    let sum = match op.as_str() {
        "decode_headers" => decode(imp, response_header_blocks(), n),
        "decode_trailers" => decode(imp, trailer_blocks(), n),
        "encode_request" => encode(imp, n),
        "huffman_decode" => huffman_decode(imp, n),
        "huffman_encode" => huffman_encode(imp, n),
        _ => None,
    };
    match sum {
        Some(sum) => {
            println!("{imp} {op} x{n}: checksum {sum}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("hpack_instr: no {imp} implementation of {op}");
            ExitCode::FAILURE
        }
    }
}

fn decode(imp: &str, (first, warm): (Vec<u8>, Vec<u8>), n: u64) -> Option<usize> {
    let mut sum = 0usize;
    match imp {
        "tether" | "tether-borrowed" => {
            let (first, warm) = (Bytes::from(first), Bytes::from(warm));
            let mut d = Decoder::new(4096);
            d.decode(&first, LIMIT, |_| {}).expect("first block");
            let borrowed = imp == "tether-borrowed";
            for _ in 0..n {
                if borrowed {
                    d.decode_with(black_box(&warm), LIMIT, |_, v| sum += v.len())
                        .expect("decode");
                } else {
                    d.decode(black_box(&warm), LIMIT, |f| sum += f.value.len())
                        .expect("decode");
                }
            }
        }
        "fluke" | "fluke-borrowed" => {
            let mut d = fluke_hpack::Decoder::new();
            d.decode(&first).expect("first block");
            let borrowed = imp == "fluke-borrowed";
            for _ in 0..n {
                if borrowed {
                    d.decode_with_cb(black_box(&warm), |_, v| sum += v.len())
                        .expect("decode");
                } else {
                    let fields = d.decode(black_box(&warm)).expect("decode");
                    sum += fields.iter().map(|(_, v)| v.len()).sum::<usize>();
                }
            }
        }
        "httlib" => {
            let mut d = httlib_hpack::Decoder::default();
            let mut dst = Vec::new();
            d.decode(&mut first.clone(), &mut dst).expect("first block");
            for _ in 0..n {
                // httlib consumes its input buffer: the copy is part of its API's cost.
                let mut buf = black_box(&warm).clone();
                let mut dst = Vec::with_capacity(8);
                d.decode(&mut buf, &mut dst).expect("decode");
                sum += dst.iter().map(|(_, v, _)| v.len()).sum::<usize>();
            }
        }
        _ => return None,
    }
    Some(sum)
}

fn encode(imp: &str, n: u64) -> Option<usize> {
    let fields = request_fields();
    let mut sum = 0usize;
    match imp {
        "tether" | "tether-borrowed" => {
            let mut e = Encoder::new(4096);
            let mut out = BytesMut::with_capacity(512);
            e.encode(fields, &mut out);
            for _ in 0..n {
                out.clear();
                e.encode(black_box(fields), &mut out);
                sum += out.len();
            }
        }
        "fluke" | "fluke-borrowed" => {
            let mut e = fluke_hpack::Encoder::new();
            let pairs: Vec<(&[u8], &[u8])> = fields.iter().map(|f| (f.name, f.value)).collect();
            let mut out = Vec::with_capacity(512);
            e.encode_into(pairs.iter().copied(), &mut out)
                .expect("encode");
            for _ in 0..n {
                out.clear();
                e.encode_into(black_box(&pairs).iter().copied(), &mut out)
                    .expect("encode");
                sum += out.len();
            }
        }
        "httlib" => {
            let mut e = httlib_hpack::Encoder::default();
            let flags = httlib_hpack::Encoder::HUFFMAN_VALUE
                | httlib_hpack::Encoder::WITH_INDEXING
                | httlib_hpack::Encoder::BEST_FORMAT;
            let owned: Vec<(Vec<u8>, Vec<u8>)> = fields
                .iter()
                .map(|f| (f.name.to_vec(), f.value.to_vec()))
                .collect();
            let mut out = Vec::with_capacity(512);
            for (k, v) in &owned {
                e.encode((k.clone(), v.clone(), flags), &mut out)
                    .expect("encode");
            }
            for _ in 0..n {
                out.clear();
                // httlib takes owned Vecs: the clones are part of its API's cost.
                for (k, v) in black_box(&owned) {
                    e.encode((k.clone(), v.clone(), flags), &mut out)
                        .expect("encode");
                }
                sum += out.len();
            }
        }
        _ => return None,
    }
    Some(sum)
}

fn huffman_decode(imp: &str, n: u64) -> Option<usize> {
    let text = huffman_text();
    let mut coded = BytesMut::new();
    huffman::encode(&text, &mut coded);
    let mut sum = 0usize;
    match imp {
        "tether" | "tether-borrowed" => {
            let mut out = BytesMut::with_capacity(text.len() * 2);
            for _ in 0..n {
                out.clear();
                huffman::decode(black_box(&coded), &mut out).expect("decode");
                sum += out.len();
            }
        }
        "fluke" | "fluke-borrowed" => {
            let mut d = fluke_hpack::huffman::HuffmanDecoder::new();
            for _ in 0..n {
                sum += d.decode(black_box(&coded)).expect("decode").len();
            }
        }
        "httlib" => {
            let mut out = Vec::with_capacity(text.len() * 2);
            for _ in 0..n {
                out.clear();
                httlib_huffman::decode(
                    black_box(&coded),
                    &mut out,
                    httlib_huffman::DecoderSpeed::FiveBits,
                )
                .expect("decode");
                sum += out.len();
            }
        }
        _ => return None,
    }
    Some(sum)
}

fn huffman_encode(imp: &str, n: u64) -> Option<usize> {
    let text = huffman_text();
    let mut sum = 0usize;
    match imp {
        "tether" | "tether-borrowed" => {
            let mut out = BytesMut::with_capacity(text.len());
            for _ in 0..n {
                out.clear();
                huffman::encode(black_box(&text), &mut out);
                sum += out.len();
            }
        }
        "httlib" => {
            let mut out = Vec::with_capacity(text.len());
            for _ in 0..n {
                out.clear();
                httlib_huffman::encode(black_box(&text), &mut out).expect("encode");
                sum += out.len();
            }
        }
        // fluke-hpack has no Huffman encoder (it never Huffman-codes).
        _ => return None,
    }
    Some(sum)
}
