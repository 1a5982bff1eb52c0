//! One round-robin pick through the channel's lock-free picker snapshot, over
//! 3 and 100 READY subchannels (`tether::channel::bench::PickBench`: no
//! driver, no socket; the lease is given back at once). What every call pays
//! to choose its connection; and the same through the peak_ewma picker
//! (power of two choices, the lease scored and its latency recorded).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use tether::channel::bench::PickBench;

fn pick(c: &mut Criterion) {
    let mut g = c.benchmark_group("pick");
    for n in [3usize, 100] {
        let bench = PickBench::new(n);
        assert!(bench.pick(), "PickBench::new({n}) picks nothing");
        g.bench_with_input(BenchmarkId::new("round_robin", n), &bench, |b, bench| {
            b.iter(|| black_box(bench.pick()))
        });
        // peak_ewma: a clock read, one draw, two costs, the pick; then the
        // same with the lease scored (the call counted as waiting) and its
        // latency sample taken when it is given back (a second clock read
        // and the estimate's update): what each call pays in all.
        let bench = PickBench::new_peak_ewma(n);
        assert!(bench.pick(), "PickBench::new_peak_ewma({n}) picks nothing");
        g.bench_with_input(BenchmarkId::new("peak_ewma", n), &bench, |b, bench| {
            b.iter(|| black_box(bench.pick()))
        });
        g.bench_with_input(
            BenchmarkId::new("peak_ewma_and_record", n),
            &bench,
            |b, bench| b.iter(|| black_box(bench.pick_and_record())),
        );
    }
    g.finish();
}

criterion_group!(benches, pick);
criterion_main!(benches);
