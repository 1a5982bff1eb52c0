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

# Per unary call through the channel (needs .peers/bin/go-benchmark-server:
# scripts/install-peers.sh --with-go): one channel to one server, and
# round_robin over three servers (127.0.0.1, three ports), current-thread
# runtime; instructions = (Ir at 20,000 calls - Ir at 10,000) / 10,000,
# median of 3; allocations from grpc_client's counting allocator.
echo
echo "=== per unary call through the channel (callgrind, grpc-go benchmark servers)"
if [ -x .peers/bin/go-benchmark-server ]; then
    tmp=$(mktemp -d /tmp/bench.XXXXXX)
    pids=()
    stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp" /tmp/bench_srv*_$$.cpu; }
    trap stop EXIT
    ports=()
    for i in 1 2 3; do
        p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        .peers/bin/go-benchmark-server -port "$p" -test_name "bench_srv${i}_$$" >"$tmp/srv$i.log" 2>&1 &
        pids+=($!)
        ports+=("$p")
        for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.05; done
    done
    rr="ipv4:127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
    per_call() { # ARGS... -> median instructions per call of 3 repetitions
        for _ in 1 2 3; do
            a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null ./target/release/grpc_client "$@" --calls 10000 --warmup 500 2>&1 | sed -n 's/.*Collected : //p')
            b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null ./target/release/grpc_client "$@" --calls 20000 --warmup 500 2>&1 | sed -n 's/.*Collected : //p')
            echo $(((b - a) / 10000))
        done | sort -n | sed -n 2p
    }
    allocs() { ./target/release/grpc_client "$@" --calls 10000 --warmup 1000 | tr ' ' '\n' | grep -E '^(allocs|bytes)_per_call=' | xargs; }
    echo "one channel, one server:   $(per_call --port "${ports[0]}" --mode unary) instructions/call; $(allocs --port "${ports[0]}" --mode unary)"
    echo "round_robin, 3 servers:    $(per_call --mode unary --target "$rr" --lb round_robin) instructions/call; $(allocs --mode unary --target "$rr" --lb round_robin)"
    echo "one channel, retry policy configured, unused: $(per_call --port "${ports[0]}" --mode unary --retry on) instructions/call; $(allocs --port "${ports[0]}" --mode unary --retry on)"
    echo "(allocations include 2 of the benchmark's own: the request clone and the response payload)"
else
    echo "skipped: no .peers/bin/go-benchmark-server (scripts/install-peers.sh --with-go)"
fi
