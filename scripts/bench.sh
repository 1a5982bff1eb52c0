#!/usr/bin/env bash
# Reproduces the figures of BENCHMARKS.md:
#   1. criterion benches (tether side by side with fluke-hpack and httlib-hpack in the same run);
#   2. heap allocations per operation (a counting global allocator);
#   3. instructions per operation under callgrind, differencing two run lengths so start-up cancels.
# Criterion's wall times are noisy on shared machines: read the ratios and the instruction counts.
#   BENCH_QUICK=1  shorter criterion runs (1 s warm-up, 3 s measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
crit_args=(--noplot)
if [ "${BENCH_QUICK:-0}" = 1 ]; then crit_args+=(--warm-up-time 1 --measurement-time 3); fi

echo "=== criterion"
cargo bench -p tether-benches -- "${crit_args[@]}" 2>&1 | grep -E '^[a-z]+/|time:|thrpt:'

echo
echo "=== allocations"
cargo build -q --release -p tether-benches --bins
./target/release/alloc_count

instr() { # instr BIN ARGS... N -> instructions per op
    local n1=$1; shift
    local a b
    a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" "$n1" 2>&1 | sed -n 's/.*Collected : //p')
    b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" "$((2 * n1))" 2>&1 | sed -n 's/.*Collected : //p')
    echo $(((b - a) / n1))
}

echo
echo "=== instructions (callgrind)"
echo "core unary exchange: $(instr 10000 ./target/release/instr) instructions/call"
for op in decode_headers decode_trailers encode_request huffman_decode huffman_encode; do
    # Huffman ops work on 64 KiB per op: fewer iterations.
    case $op in huffman_*) n=4 ;; *) n=10000 ;; esac
    line="$op:"
    for imp in tether tether-borrowed fluke fluke-borrowed httlib; do
        if ./target/release/hpack_instr "$imp" "$op" 1 >/dev/null 2>&1; then
            line="$line $imp=$(instr "$n" ./target/release/hpack_instr "$imp" "$op")"
        fi
    done
    echo "$line"
done
