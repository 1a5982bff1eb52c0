#!/usr/bin/env bash
# `tether load` against grpc-go's own benchmark client, interleaved, on the
# same grpc-go benchmark server (.peers/bin; see tests/peers), release build.
#
#   benches/load-vs-go.sh [REPS] [SECONDS] [IN_FLIGHT]   (default 3 5 16)
#
# Both make unary grpc.testing.BenchmarkService/UnaryCall calls with a 1-byte
# payload asking for a 1-byte response (the go client's defaults -req 1
# -resp 1; tether load sends the same SimpleRequest bytes with --data-bytes),
# IN_FLIGHT calls at a time on one connection (go: -c 1 -r IN_FLIGHT, no
# warm-up; tether: --concurrency IN_FLIGHT, pick_first). Prints each run's
# calls/s, the medians and the ratio tether / go.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-3}
SECS=${2:-5}
CONC=${3:-16}
BIN=.peers/bin
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
TETHER=$CARGO_TARGET_DIR/release/tether
TMP=$(mktemp -d /tmp/load-vs-go.XXXXXX)
SPID=
cleanup() {
    if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; fi
    rm -rf "$TMP"
    # The go benchmark programs write their pprof profiles to /tmp/TEST_NAME.*
    rm -f /tmp/lvg_srv_$$.* /tmp/lvg_cli_$$.*
}
trap cleanup EXIT

for b in go-benchmark-server go-benchmark-client; do
    [ -x "$BIN/$b" ] || { echo "missing $BIN/$b: run scripts/install-peers.sh --with-go" >&2; exit 1; }
done
cargo build -q --release -p tether-cli

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN/go-benchmark-server" -port "$PORT" -test_name "lvg_srv_$$" >"$TMP/server.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
echo "# machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); server pid $SPID port $PORT"
echo "# $REPS interleaved runs of $SECS s, $CONC calls in flight"

# SimpleRequest { response_size: 1, payload { body: [0] } }
REQ=10011a03120100
med() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
go=() ; tl=()
for i in $(seq "$REPS"); do
    g=$("$BIN/go-benchmark-client" -port "$PORT" -test_name "lvg_cli_$$" -w 0 -d "$SECS" -c 1 -r "$CONC" \
        -rpc_type unary 2>&1 | sed -n 's/^qps: //p')
    t=$("$TETHER" load "http://127.0.0.1:$PORT" grpc.testing.BenchmarkService/UnaryCall \
        --concurrency "$CONC" --duration "${SECS}s" --data-bytes "$REQ" --json |
        python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["errors"]==0, r; print(round(r["rps"]))')
    echo "run $i: go-benchmark-client $g calls/s, tether load $t calls/s"
    go+=("$g"); tl+=("$t")
done
gm=$(printf '%s\n' "${go[@]}" | med)
tm=$(printf '%s\n' "${tl[@]}" | med)
awk -v g="$gm" -v t="$tm" 'BEGIN {printf "median: go-benchmark-client %.0f calls/s, tether load %.0f calls/s, ratio tether/go %.2f\n", g, t, t/g}'
