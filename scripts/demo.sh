#!/usr/bin/env bash
# The demo: a tether channel against a real gRPC server (grpc-go's interop
# server) on loopback, with keepalive, surviving the server's death.
#
#   1. installs the peers (bash scripts/install-peers.sh --with-go) and builds
#      the `tether` command;
#   2. starts .peers/bin/go-interop-server on a free port and runs
#      `tether demo http://127.0.0.1:PORT`: a channel with keepalive 2 s /
#      1 s (permit without calls) that prints every channel event (state
#      changes, connections, PING round-trip times, GOAWAYs) with a
#      timestamp, and makes an EmptyCall or UnaryCall every 300 ms
#      (wait-for-ready), printing each call's latency and status;
#   3. at ~4 s KILLS the server and restarts it on the same port ~2 s later:
#      the channel goes IDLE, CONNECTING, TRANSIENT_FAILURE (backoff 1 s,
#      x1.6), then CONNECTING and READY again; the calls made meanwhile wait
#      and succeed;
#   4. from ~9 s makes no calls for 7.5 s: keepalive PINGs go out every 2 s,
#      which grpc-go (default enforcement: at most one ping per 5 minutes,
#      none without calls) answers with GOAWAY ENHANCE_YOUR_CALM
#      "too_many_pings"; the channel doubles its keepalive time (gRFC A8) and
#      reconnects for the next calls;
#   5. prints a summary and exits 0 only if calls succeeded after the restart.
# Then, briefly, every frame of one request against nghttpd and a C-core gRPC
# server (`tether trace`, `tether grpc-health`).
#
# Every server it starts is bounded by `timeout` and killed by pid at the end.
# (grpc-go's interop server listens on all interfaces; the demo only talks to
# it over 127.0.0.1.)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash scripts/install-peers.sh --with-go >&2
cargo build -q -p tether-cli
tether="$root/target/debug/tether"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2; return 1
}

gport=$(port)
start_go() {
    timeout 60 "$root/.peers/bin/go-interop-server" --port="$gport" >/dev/null 2>&1 &
    go_pid=$!
    pids+=("$go_pid")
    wait_port "$gport"
}

echo "### tether demo: grpc-go interop server on 127.0.0.1:$gport, killed at ~4 s, back ~2 s later"
start_go
timeout 40 "$tether" demo "http://127.0.0.1:$gport" &
demo_pid=$!
pids+=("$demo_pid")
sleep 4
# $go_pid is `timeout`; the server is its child.
server_pid=$(pgrep -P "$go_pid" || echo "$go_pid")
echo "### demo.sh: kill -KILL $server_pid (the server process)"
kill -KILL "$server_pid"
wait "$go_pid" 2>/dev/null || true
sleep 2
echo "### demo.sh: restarting the server on port $gport"
start_go
status=0
wait "$demo_pid" || status=$?
kill "$go_pid" 2>/dev/null || true
if [ "$status" -ne 0 ]; then
    echo "### the demo FAILED (exit $status)"
    exit "$status"
fi
echo "### the demo passed: calls succeeded after the server restart"

if [ "${DEMO_CORE:-1}" = 1 ]; then
    echo
    echo "### the raw core (tether-h2 over a blocking socket), frame by frame"
    docroot=$(mktemp -d)
    head -c 100000 /dev/urandom > "$docroot/file.bin"
    h2port=$(port)
    timeout 60 nghttpd --no-tls --address=127.0.0.1 -d "$docroot" "$h2port" >/dev/null 2>&1 &
    pids+=($!)
    grpcport=$(port)
    timeout 60 "$root/.peers/venv/bin/python" tests/peers/health_server.py "$grpcport" >/dev/null 2>&1 &
    pids+=($!)
    wait_port "$h2port"; wait_port "$grpcport"
    echo "### nghttpd on 127.0.0.1:$h2port: GET /file.bin (100 kB, more than one flow-control window)"
    "$tether" trace "127.0.0.1:$h2port" /file.bin | tail -n 12
    echo
    echo "### grpcio (C-core) on 127.0.0.1:$grpcport: grpc.health.v1.Health/Check"
    "$tether" grpc-health "127.0.0.1:$grpcport"
    rm -rf "$docroot"
fi
