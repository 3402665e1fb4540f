#!/usr/bin/env bash
# Benchmarks, built with --release: runner throughput beside a raw JetStream consumer on the
# same server in the same run, latency at a steady rate, peak RSS. Prints a table and writes
# target/bench/*.json. See docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
ensure_libclang
cargo build --locked --release -p runner -p e2e --bins
target/release/bench "$@"
