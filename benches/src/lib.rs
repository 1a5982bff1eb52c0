//! Shared helpers for tether's criterion benchmarks (see `benches/`).
