#!/usr/bin/env bash
# tether's client against grpc-go's, side by side in one run, both against
# the same grpc-go 1.33.3 benchmark server (.peers/bin; see tests/peers).
#
#   benches/grpc-vs-go.sh [REPS]      (default 3 repetitions; medians printed)
#
# Measures (client process only; the server runs normally):
#   - unary round trip, 1 B request/response, 1 and 16 calls in flight:
#     calls/s, median latency, client CPU per call (tether: /proc/self/stat
#     utime+stime; grpc-go: the CPU time its benchmark client prints, run
#     with -w 0 so it covers exactly the counted calls), heap allocations
#     and bytes per call (tether: counting global allocator);
#   - bidi ping-pong (StreamingCall) with 1 B and 1 MiB responses;
#   - server-streaming throughput of 1 MiB messages on one connection
#     (UnconstrainedStreamingCall: the server sends without pause) against
#     a raw loopback TCP copy of 1 MiB buffers;
#   - live heap per idle READY connection (100 channels);
#   - instructions per unary call under callgrind, current-thread runtime,
#     differencing 2000 and 4000 calls (start-up cancels). grpc-go's
#     benchmark client cannot run under callgrind (its always-on pprof
#     SIGPROF trips a callgrind assertion), so a 30-line count-based grpc-go
#     client written here is built into a temp dir for that part.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-3}
BIN=.peers/bin
TC=target/release/grpc_client
TMP=$(mktemp -d /tmp/grpc-vs-go.XXXXXX)
SPID=
cleanup() {
    if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

for b in go-benchmark-server go-benchmark-client; do
    [ -x "$BIN/$b" ] || { echo "missing $BIN/$b: run scripts/install-peers.sh --with-go" >&2; exit 1; }
done
cargo build -q --release -p tether-benches --bin grpc_client

# The count-based grpc-go client for callgrind (no profiler, no timers).
mkdir -p "$TMP/gopath/src/gocount"
cat > "$TMP/gopath/src/gocount/main.go" <<'EOF'
// N unary BenchmarkService calls on one connection, then exit.
package main

import (
	"context"
	"flag"
	"log"

	"google.golang.org/grpc"
	pb "google.golang.org/grpc/benchmark/grpc_testing"
)

func main() {
	port := flag.String("port", "50051", "server port on 127.0.0.1")
	calls := flag.Int("n", 1000, "calls")
	flag.Parse()
	cc, err := grpc.Dial("127.0.0.1:"+*port, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		log.Fatal(err)
	}
	client := pb.NewBenchmarkServiceClient(cc)
	req := &pb.SimpleRequest{ResponseSize: 1, Payload: &pb.Payload{Body: make([]byte, 1)}}
	for i := 0; i < *calls; i++ {
		if _, err := client.UnaryCall(context.Background(), req); err != nil {
			log.Fatal(err)
		}
	}
}
EOF
PEERS=$(cd .peers && pwd -P)
(cd "$TMP/gopath/src/gocount" && GO111MODULE=off GOFLAGS= \
    GOPATH="$TMP/gopath:$PEERS/go:/usr/share/gocode" GOCACHE="$TMP/gocache" \
    go build -o "$TMP/go-unary-count" .)

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN/go-benchmark-server" -port "$PORT" -test_name "gvg_srv_$$" >"$TMP/server.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
kill -0 "$SPID" || { cat "$TMP/server.log"; exit 1; }
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); server pid $SPID port $PORT; $REPS reps"

# key=value from a tether line
kv() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
med() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
# Go durations (1.5s, 950ms, 12.3µs) in seconds
gosecs() { awk '{v=$1; if (v ~ /ms$/) {sub(/ms$/,"",v); v/=1e3} else if (v ~ /µs$/) {sub(/µs$/,"",v); v/=1e6} else if (v ~ /m[0-9.]+s$/) {split(v,p,"m"); sub(/s$/,"",p[2]); v=p[1]*60+p[2]} else {sub(/s$/,"",v)}; print v}'; }

GO_D=3
go_run() { # rpc_type conc req resp -> "qps p50_us cpu_us_per_call"
    local out qps p50 cpu
    out=$("$BIN/go-benchmark-client" -port "$PORT" -test_name "gvg_cli_$$" -w 0 -d $GO_D -c 1 -r "$2" \
        -req "$3" -resp "$4" -rpc_type "$1" 2>&1)
    qps=$(sed -n 's/^qps: //p' <<<"$out")
    p50=$(sed -n 's|^Latency: (50/90/99 %ile): \([^/]*\)/.*|\1|p' <<<"$out" | gosecs)
    cpu=$(sed -n 's/^Client CPU utilization: //p' <<<"$out" | gosecs)
    awk -v q="$qps" -v l="$p50" -v c="$cpu" -v d=$GO_D 'BEGIN {printf "%.0f %.1f %.2f\n", q, l*1e6, c*1e6/(q*d)}'
}

row() { printf '%-44s %12s %10s %12s %10s %10s %8s\n' "$@"; }
echo
row "workload" "calls/s" "p50 us" "cpu us/call" "allocs" "bytes" "MiB/s"
bench() { # label, go args (or -), tether args
    local label=$1 goargs=$2; shift 2
    local t=() g=()
    for _ in $(seq "$REPS"); do
        t+=("$("$TC" --port "$PORT" "$@")")
        if [ "$goargs" != - ]; then
            # shellcheck disable=SC2086
            g+=("$(go_run $goargs)")
        fi
    done
    local f
    f() { printf '%s\n' "${t[@]}" | kv "$1" | med; }
    row "tether $label" "$(f calls_per_s)" "$(f p50_us)" "$(f cpu_us_per_call)" "$(f allocs_per_call)" "$(f bytes_per_call)" "$(f MiB_per_s)"
    if [ "$goargs" != - ]; then
        local gf
        gf() { printf '%s\n' "${g[@]}" | awk -v i="$1" '{print $i}' | med; }
        row "grpc-go ${label% current-thread}" "$(gf 1)" "$(gf 2)" "$(gf 3)" "" "" ""
    fi
}
bench "unary 1B c=1 current-thread" "unary 1 1 1" --mode unary --conc 1 --calls 30000 --warmup 2000
bench "unary 1B c=1 multi-thread" - --mode unary --conc 1 --calls 30000 --warmup 2000 --runtime multi
bench "unary 1B c=16 current-thread" "unary 16 1 1" --mode unary --conc 16 --calls 90000 --warmup 5000
bench "unary 1B c=16 multi-thread" - --mode unary --conc 16 --calls 90000 --warmup 5000 --runtime multi
bench "unary 64B c=1 current-thread" "unary 1 64 64" --mode unary --conc 1 --calls 30000 --warmup 2000 --req 64 --resp 64
bench "ping-pong 1B c=1" "streaming 1 1 1" --mode stream --conc 1 --calls 40000 --warmup 2000
bench "ping-pong 1MiB resp c=1" "streaming 1 1 1048576" --mode stream --conc 1 --calls 1000 --warmup 50 --resp 1048576
bench "server stream 1MiB (unconstrained, prost)" - --mode unconstrained --calls 2000 --warmup 100 --resp 1048576
bench "server stream 1MiB (unconstrained, bytes)" - --mode unconstrained_raw --calls 2000 --warmup 100 --resp 1048576

echo
tcp=$(for _ in $(seq "$REPS"); do "$TC" --mode tcp --calls 4000 --warmup 200 | kv MiB_per_s; done | med)
raw=$(for _ in $(seq "$REPS"); do "$TC" --port "$PORT" --mode unconstrained_raw --calls 2000 --warmup 100 --resp 1048576 | kv MiB_per_s; done | med)
echo "raw loopback TCP copy (1 MiB writes): $tcp MiB/s; tether server stream (bytes): $raw MiB/s; ratio $(awk -v a="$raw" -v b="$tcp" 'BEGIN {printf "%.2f", a/b}') (target >= 0.80)"

idle=$(for _ in $(seq "$REPS"); do "$TC" --port "$PORT" --mode idle --conns 100 | kv live_bytes_per_conn; done | med)
echo "live heap per idle READY connection (100 channels): $idle bytes (target <= 16384)"

echo
ir() { valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : //p'; }
t1=$(ir "$TC" --port "$PORT" --mode unary --calls 2000 --warmup 200)
t2=$(ir "$TC" --port "$PORT" --mode unary --calls 4000 --warmup 200)
g1=$(GODEBUG=asyncpreemptoff=1 ir "$TMP/go-unary-count" -port "$PORT" -n 2000)
g2=$(GODEBUG=asyncpreemptoff=1 ir "$TMP/go-unary-count" -port "$PORT" -n 4000)
tir=$(( (t2 - t1) / 2000 )); gir=$(( (g2 - g1) / 2000 ))
echo "instructions per unary call (callgrind, (Ir@4000 - Ir@2000)/2000): tether $tir, grpc-go $gir, ratio $(awk -v a=$tir -v b=$gir 'BEGIN {printf "%.2f", a/b}') (target <= 0.35)"
echo "  raw: tether $t1 / $t2, grpc-go $g1 / $g2"
