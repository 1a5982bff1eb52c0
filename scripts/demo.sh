#!/usr/bin/env bash
# The demo: installs and starts two real, independent HTTP/2 servers on
# loopback (nghttpd from nghttp2, and a C-core gRPC server from Python grpcio),
# then drives tether's sans-I/O HTTP/2 core against them with the `tether`
# command, printing every frame, the server's settings and PING round-trip times.
# It stops the servers it started (by pid) when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash scripts/install-peers.sh
cargo build -q --release -p tether-cli
tether="$root/target/release/tether"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2; return 1
}

docroot=$(mktemp -d)
head -c 100000 /dev/urandom > "$docroot/file.bin"
h2port=$(port)
nghttpd --no-tls --address=127.0.0.1 -d "$docroot" "$h2port" >/dev/null 2>&1 &
pids+=($!)
grpcport=$(port)
"$root/.peers/venv/bin/python" tests/peers/health_server.py "$grpcport" >/dev/null 2>&1 &
pids+=($!)
wait_port "$h2port"; wait_port "$grpcport"

echo "### nghttpd on 127.0.0.1:$h2port: GET /file.bin (100 kB, more than one flow-control window)"
"$tether" trace "127.0.0.1:$h2port" /file.bin
echo
echo "### grpcio (C-core) on 127.0.0.1:$grpcport: grpc.health.v1.Health/Check"
"$tether" grpc-health "127.0.0.1:$grpcport"
echo
echo "### the same server, a service it does not know (grpc-status 5 NOT_FOUND expected)"
"$tether" grpc-health "127.0.0.1:$grpcport" no.such.service
