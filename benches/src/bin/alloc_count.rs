//! Counts heap allocations on the hot paths with a counting global allocator:
//! per DATA frame decoded, per static-table header decoded, per unary exchange
//! through the core, per round-robin pick of a connection (3 and 100 READY
//! subchannels). Run: `cargo run --release -p tether-benches --bin alloc_count`.
#![allow(unsafe_code)] // a global allocator is unsafe by definition; test tooling only

use bytes::{Bytes, BytesMut};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use tether::channel::bench::PickBench;
use tether_benches::{data_frames, UnaryRig};
use tether_h2::frame::{DecoderLimits, FrameDecoder};
use tether_h2::hpack::Decoder;

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(l.size() as u64, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(n as u64, Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn measure<T>(n: u64, f: impl FnOnce() -> T) -> (f64, f64) {
    let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    std::hint::black_box(f());
    let (a1, b1) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    ((a1 - a0) as f64 / n as f64, (b1 - b0) as f64 / n as f64)
}

fn main() {
    const N: u64 = 10_000;
    let wire = data_frames(N as usize, 1024);
    let mut buf = BytesMut::from(&wire[..]);
    let mut dec = FrameDecoder::new(DecoderLimits::default());
    let (a, b) = measure(N, || {
        let mut frames = 0;
        while let Ok(Some(_)) = dec.decode(&mut buf) {
            frames += 1;
        }
        assert_eq!(frames, N);
    });
    println!("data_frame_decode      allocs/frame {a:.3}  bytes/frame {b:.1}");

    // :method GET, :path /, :scheme http, :status 200, accept-encoding gzip, deflate ... all static.
    let block = Bytes::from_static(&[0x82, 0x84, 0x86, 0x88, 0x90, 0x8d, 0x87, 0x83, 0x85, 0x89]);
    let mut hp = Decoder::new(4096);
    let (a, b) = measure(N * 10, || {
        for _ in 0..N {
            let mut n = 0;
            hp.decode(&block, 16 * 1024, |_| n += 1)
                .expect("static block decodes");
            assert_eq!(n, 10);
        }
    });
    println!("static_header_decode   allocs/field {a:.3}  bytes/field {b:.1}");

    let mut rig = UnaryRig::new();
    for _ in 0..100 {
        rig.call();
    }
    let (a, b) = measure(N, || {
        for _ in 0..N {
            rig.call();
        }
    });
    println!("core_unary_exchange    allocs/call {a:.2}  bytes/call {b:.1}");

    for n in [3usize, 100] {
        let bench = PickBench::new(n);
        // Warm-up: every subchannel picked a few times.
        for _ in 0..4 * n {
            assert!(bench.pick());
        }
        let (a, b) = measure(N, || {
            for _ in 0..N {
                assert!(bench.pick());
            }
        });
        println!("round_robin_pick n={n:<3}  allocs/pick {a:.3}  bytes/pick {b:.1}");
        let bench = PickBench::new_peak_ewma(n);
        for _ in 0..4 * n {
            assert!(bench.pick());
        }
        let (a, b) = measure(N, || {
            for _ in 0..N {
                assert!(bench.pick_and_record());
            }
        });
        println!(
            "peak_ewma_pick n={n:<3}    allocs/pick {a:.3}  bytes/pick {b:.1} (latency recorded)"
        );
    }
}
