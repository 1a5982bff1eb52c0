#!/usr/bin/env bash
# Installs the independent peers the tests and the demo talk to:
#   - nghttpd (nghttp2-server, Debian): a non-gRPC HTTP/2 server
#   - a C-core gRPC server: Python grpcio + grpcio-health-checking from PyPI, in .peers/venv
#   - cargo-fuzz (crates.io), for the fuzz smoke run
# Idempotent: does nothing for what is already there. Needs root for apt (CI runs as root).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
peers="$root/.peers"
mkdir -p "$peers"

if ! command -v nghttpd >/dev/null 2>&1; then
    echo "install-peers: apt-get install nghttp2-server"
    apt-get update -qq >/dev/null 2>&1 || apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-server >/dev/null
fi

if [ ! -x "$peers/venv/bin/python" ] || ! "$peers/venv/bin/python" -c 'import grpc, grpc_health' 2>/dev/null; then
    echo "install-peers: python venv with grpcio (C-core)"
    python3 -m venv "$peers/venv"
    "$peers/venv/bin/pip" install -q --disable-pip-version-check grpcio grpcio-health-checking
fi

if [ "${1:-}" = "--with-fuzz" ] && ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "install-peers: cargo install cargo-fuzz"
    cargo install -q --locked cargo-fuzz
fi
echo "install-peers: nghttpd $(nghttpd --version 2>&1 | head -1 | awk '{print $NF}'), grpcio $("$peers/venv/bin/python" -c 'import grpc; print(grpc.__version__)')"
