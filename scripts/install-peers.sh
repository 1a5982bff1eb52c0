#!/usr/bin/env bash
# Installs the independent peers the tests, the benchmarks and the demo talk to.
# Everything lands under .peers/ (gitignored), except Debian packages.
#
#   - nghttpd (nghttp2-server, Debian): a non-gRPC HTTP/2 server
#   - dnsmasq (dnsmasq-base, Debian: the binary only, no system DNS service), a DNS
#     server on a loopback port for the dns: resolver tests (crates/tether/tests/channel_support/dns.rs)
#   - C-core gRPC via Python grpcio (PyPI) in .peers/venv, with grpcio-tools;
#     Python stubs generated from proto/ into .peers/py/ (tests/peers/interop_server.py uses them)
#   - a test CA and a server certificate (openssl) in .peers/tls/
#   - with --with-go: grpc-go 1.33.3 built from Debian's source package (no GitHub, no Go proxy):
#       .peers/bin/go-interop-server   .peers/bin/go-interop-client
#       .peers/bin/go-benchmark-server .peers/bin/go-benchmark-client
#       .peers/bin/go-policy-server    (ours: tests/peers/go/policy_server/main.go)
#   - with --with-fuzz: cargo-fuzz (crates.io), for the fuzz smoke run
#
# Idempotent: does nothing for what is already there (a second run takes about a second).
# Needs root for apt (CI runs as root). Flags can be combined in any order.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
peers="$root/.peers"
mkdir -p "$peers"

with_go=0
with_fuzz=0
for arg in "$@"; do
    case "$arg" in
        --with-go) with_go=1 ;;
        --with-fuzz) with_fuzz=1 ;;
        *) echo "install-peers: unknown flag $arg (known: --with-go --with-fuzz)" >&2; exit 2 ;;
    esac
done

say() { echo "install-peers: $*"; }
apt_updated=0
apt_update() {
    if [ "$apt_updated" = 0 ]; then
        say "apt-get update"
        apt-get update -qq >/dev/null 2>&1 || apt-get update
        apt_updated=1
    fi
}
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_update
        say "apt-get install ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
            >"$peers/apt.log" 2>&1 || { cat "$peers/apt.log"; exit 1; }
    fi
}

# --- nghttpd -----------------------------------------------------------------
if ! command -v nghttpd >/dev/null 2>&1; then
    apt_install nghttp2-server
fi
command -v openssl >/dev/null 2>&1 || apt_install openssl

# --- dnsmasq: the binary only (the `dnsmasq` package would start a system DNS server) ---
if [ ! -x /usr/sbin/dnsmasq ] && ! command -v dnsmasq >/dev/null 2>&1; then
    apt_install dnsmasq-base
fi
dnsmasq_bin=$(command -v dnsmasq 2>/dev/null || echo /usr/sbin/dnsmasq)

# --- C-core: Python grpcio ---------------------------------------------------
venv="$peers/venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import grpc, grpc_health, grpc_reflection, grpc_tools' 2>/dev/null; then
    say "python venv with grpcio, grpcio-health-checking, grpcio-reflection, grpcio-tools (C-core) in .peers/venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check grpcio grpcio-health-checking grpcio-reflection grpcio-tools
fi

# Python stubs from OUR protos. Our files use the upstream import paths (grpc/testing/...),
# which would make Python modules named grpc.testing.* and collide with the grpcio package
# `grpc`; so the generated modules are renamed: grpc/testing -> tether_testing,
# grpc/health/v1 -> tether_health.
py="$peers/py"
proto_sum=$(cat proto/grpc/testing/*.proto proto/grpc/health/v1/*.proto | sha256sum | cut -c1-16)
if [ "$(cat "$py/.stamp" 2>/dev/null)" != "$proto_sum" ]; then
    say "generating Python stubs from proto/ into .peers/py"
    rm -rf "$py"
    mkdir -p "$py/gen"
    "$venv/bin/python" -m grpc_tools.protoc -I proto --python_out="$py/gen" --grpc_python_out="$py/gen" \
        grpc/testing/empty.proto grpc/testing/messages.proto grpc/testing/test.proto \
        grpc/health/v1/health.proto
    mkdir -p "$py/tether_testing" "$py/tether_health"
    mv "$py"/gen/grpc/testing/*.py "$py/tether_testing/"
    mv "$py"/gen/grpc/health/v1/*.py "$py/tether_health/"
    rm -rf "$py/gen"
    touch "$py/tether_testing/__init__.py" "$py/tether_health/__init__.py"
    sed -i -e 's/^from grpc\.testing import /from tether_testing import /' \
        -e 's/^from grpc\.health\.v1 import /from tether_health import /' \
        "$py"/tether_testing/*.py "$py"/tether_health/*.py
    echo "$proto_sum" >"$py/.stamp"
fi

# --- TLS: a test CA and a server certificate ----------------------------------
tls="$peers/tls"
if [ ! -s "$tls/server.pem" ] || [ ! -s "$tls/ca.pem" ]; then
    say "test CA and server certificate (foo.test.google.fr, *.test.google.fr, localhost, 127.0.0.1) in .peers/tls"
    rm -rf "$tls"
    mkdir -p "$tls"
    (
        cd "$tls"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
            -subj "/CN=tether test CA" -keyout ca.key -out ca.pem \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/CN=foo.test.google.fr" -keyout server.key -out server.csr 2>/dev/null
        cat >server.ext <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:foo.test.google.fr,DNS:*.test.google.fr,DNS:localhost,IP:127.0.0.1
EOF
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile server.ext -out server.pem 2>/dev/null
        rm -f server.csr server.ext ca.srl
        chmod 644 ./*.pem ./*.key
    )
fi

if [ ! -s "$tls/client.pem" ]; then
    say "test client certificate (mTLS, signed by the test CA) in .peers/tls"
    (
        cd "$tls"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/CN=tether test client" -keyout client.key -out client.csr 2>/dev/null
        printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
            "extendedKeyUsage=clientAuth" >client.ext
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile client.ext -out client.pem 2>/dev/null
        rm -f client.csr client.ext ca.srl
        chmod 644 client.pem client.key
    )
fi

# --- grpc-go from Debian's source package -------------------------------------
go_bins="go-interop-server go-interop-client go-benchmark-server go-benchmark-client go-policy-server"
# Bump when the recipe below changes, so that existing .peers/ trees are rebuilt.
go_recipe="golang-google-grpc 1.33.3-2, loopback patch, gzip registered, recipe 5 (policy server: x-fail-attempts, x-call-id, -delay, -die_after_messages)"
go_ready() {
    [ "$(cat "$peers/bin/.go-recipe" 2>/dev/null)" = "$go_recipe" ] || return 1
    for b in $go_bins; do [ -x "$peers/bin/$b" ] || return 1; done
    [ "$peers/bin/go-policy-server" -nt tests/peers/go/policy_server/main.go ] || return 1
}
if [ "$with_go" = 1 ] && ! go_ready; then
    if ! grep -rqsE '^(Types: deb-src|deb-src )' /etc/apt/sources.list.d/ /etc/apt/sources.list; then
        # The source package comes from the archive this machine already
        # installs golang-google-grpc-dev from (apt-cache policy names it):
        # no mirror host is written into this repository.
        apt_update
        origin=$(apt-cache policy golang-google-grpc-dev 2>/dev/null |
            awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[a-z+]+:\/\// && $3 ~ /\// { print $2, $3; exit }')
        [ -n "$origin" ] || { echo "install-peers: no apt source offers golang-google-grpc-dev (see apt-cache policy golang-google-grpc-dev)" >&2; exit 1; }
        uri=${origin%% *}
        suite=${origin#* }
        component=${suite#*/}
        suite=${suite%%/*}
        # Keep the archive's key: the Signed-By of the deb822 stanza with that URI, if any.
        signed_by=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
            awk -v uri="$uri" 'BEGIN { RS = ""; FS = "\n" }
                index($0, uri) { for (i = 1; i <= NF; i++) if ($i ~ /^Signed-By:/) { print $i; exit } }')
        say "adding a deb-src entry for $uri $suite $component: /etc/apt/sources.list.d/tether-deb-src.sources"
        {
            echo "Types: deb-src"
            echo "URIs: $uri"
            echo "Suites: $suite"
            echo "Components: $component"
            [ -z "$signed_by" ] || echo "$signed_by"
        } >/etc/apt/sources.list.d/tether-deb-src.sources
        apt_updated=0 # the next apt-get update must see it
    fi
    apt_install golang-go golang-google-grpc-dev golang-github-golang-protobuf-1-5-dev \
        golang-google-protobuf-dev dpkg-dev
    grpc_src="$peers/go/src/google.golang.org/grpc"
    if [ "$(cat "$peers/bin/.go-recipe" 2>/dev/null)" != "$go_recipe" ]; then
        rm -rf "$peers/bin" "$grpc_src"
    fi
    if [ ! -f "$grpc_src/interop/server/server.go" ]; then
        apt-cache showsrc golang-google-grpc 2>/dev/null | grep -q '^Version: 1.33.3-2$' || apt_update
        say "apt-get source golang-google-grpc=1.33.3-2 into .peers/src"
        rm -rf "$peers/src"
        mkdir -p "$peers/src"
        (cd "$peers/src" && apt-get source -qq golang-google-grpc=1.33.3-2 >/dev/null 2>&1 ||
            { cd "$peers/src" && apt-get source golang-google-grpc=1.33.3-2; })
        rm -rf "$grpc_src"
        mkdir -p "$(dirname "$grpc_src")"
        cp -a "$peers/src/golang-google-grpc-1.33.3" "$grpc_src"
        # Upstream's servers listen on every interface (":"+port); ours listen on loopback only.
        say "patching the GOPATH copy: interop and benchmark servers listen on 127.0.0.1 only"
        sed -i 's/net.Listen("tcp", ":"+p)/net.Listen("tcp", "127.0.0.1:"+p)/' "$grpc_src/interop/server/server.go"
        sed -i 's/net.Listen("tcp", ":"+\*port)/net.Listen("tcp", "127.0.0.1:"+*port)/' "$grpc_src/benchmark/server/main.go"
        grep -q '"127.0.0.1:"+p)' "$grpc_src/interop/server/server.go"
        grep -q '"127.0.0.1:"+\*port)' "$grpc_src/benchmark/server/main.go"
        # grpc-go decompresses (and answers compressed) only with a registered
        # codec; the 1.33 interop server registers none, so the compressed
        # interop cases would be UNIMPLEMENTED. One added file registers gzip.
        say "patching the GOPATH copy: the interop server registers gzip"
        printf 'package main\n\nimport _ "google.golang.org/grpc/encoding/gzip"\n' \
            >"$grpc_src/interop/server/gzip_codec.go"
    fi
    mkdir -p "$peers/bin" "$peers/gocache"
    gobuild() {
        (cd "$grpc_src" && GO111MODULE=off GOFLAGS= GOPATH="$peers/go:/usr/share/gocode" \
            GOCACHE="$peers/gocache" go build -o "$peers/bin/$1" "$2")
    }
    for pair in go-interop-server:./interop/server go-interop-client:./interop/client \
        go-benchmark-server:./benchmark/server go-benchmark-client:./benchmark/client; do
        name=${pair%%:*}
        if [ ! -x "$peers/bin/$name" ]; then
            say "go build ${pair#*:} -> .peers/bin/$name"
            gobuild "$name" "${pair#*:}"
        fi
    done
    say "go build tests/peers/go/policy_server -> .peers/bin/go-policy-server"
    gobuild go-policy-server "$root/tests/peers/go/policy_server/main.go"
    echo "$go_recipe" >"$peers/bin/.go-recipe"
fi

if [ "$with_fuzz" = 1 ] && ! command -v cargo-fuzz >/dev/null 2>&1; then
    say "cargo install cargo-fuzz"
    cargo install -q --locked cargo-fuzz
fi

summary="nghttpd $(nghttpd --version 2>&1 | head -1 | awk '{print $NF}')"
summary="$summary, dnsmasq $("$dnsmasq_bin" --version 2>/dev/null | head -1 | awk '{print $3}')"
summary="$summary, grpcio $("$venv/bin/python" -c 'import grpc; print(grpc.__version__)')"
if [ -x "$peers/bin/go-interop-server" ]; then
    summary="$summary, grpc-go 1.33.3 ($(go version | awk '{print $3}')) in .peers/bin"
fi
say "$summary"
