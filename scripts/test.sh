#!/usr/bin/env bash
# The project's test command (README.md; .ci/run calls it). On a fresh machine
# it installs what it needs (scripts/install-peers.sh), then runs, in order:
# fmt, clippy, doc, the fuzz smoke run, and the whole test suite, including
# the interop tests against real peers (TETHER_REQUIRE_PEERS=1: a missing peer fails).
#
#   FUZZ_SECONDS=N   seconds per fuzz target (default 20; 0 skips the fuzz smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_seconds=${FUZZ_SECONDS:-20}

step() { printf '\n=== %s\n' "$*"; }

step "install peers"
if [ "$fuzz_seconds" != 0 ]; then
    bash scripts/install-peers.sh --with-go --with-fuzz
else
    bash scripts/install-peers.sh --with-go
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo doc -D warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

if [ "$fuzz_seconds" != 0 ]; then
    step "fuzz smoke run: ${fuzz_seconds}s per target"
    for target in $(cd fuzz && cargo +nightly fuzz list); do
        echo "--- fuzz target $target"
        scratch=$(mktemp -d)
        (cd fuzz && cargo +nightly fuzz run "$target" "$scratch" "corpus/$target" -- \
            -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tail -n 4)
        rm -rf "$scratch"
    done
fi

step "cargo test"
log=$(mktemp)
# --no-fail-fast: one failing test binary does not hide the others' results.
status=0
TETHER_REQUIRE_PEERS=1 cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || status=$?
passed=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -E '^test result: ' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
rm -f "$log"
echo
echo "tests: $passed passed, $failed failed"
exit "$status"
