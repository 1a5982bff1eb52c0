//! One round-robin pick through the channel's lock-free picker snapshot, over
//! 3 and 100 READY subchannels (`tether::channel::bench::PickBench`: no
//! driver, no socket; the lease is given back at once). What every call pays
//! to choose its connection.

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
    }
    g.finish();
}

criterion_group!(benches, pick);
criterion_main!(benches);
