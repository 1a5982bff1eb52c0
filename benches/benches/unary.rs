//! A whole unary exchange through the sans-I/O core alone.

use criterion::{criterion_group, criterion_main, Criterion};
use tether_benches::UnaryRig;

fn unary(c: &mut Criterion) {
    let mut rig = UnaryRig::new();
    rig.call();
    c.bench_function("core/unary_exchange", |b| b.iter(|| rig.call()));
}

criterion_group!(benches, unary);
criterion_main!(benches);
