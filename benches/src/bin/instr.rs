//! Runs N warm unary exchanges through the core; run it under callgrind
//! twice with different N and difference the totals so start-up cancels:
//! `scripts/bench.sh` does this.

use tether_benches::UnaryRig;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let mut rig = UnaryRig::new();
    for _ in 0..100 {
        rig.call();
    }
    let mut total = 0;
    for _ in 0..n {
        total += rig.call();
    }
    println!("{n} calls, {total} body bytes");
}
