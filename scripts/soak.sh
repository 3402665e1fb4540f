#!/usr/bin/env bash
# The soak (release build): 3 shards, 50 tenants, steady events and placement churn for
# SOAK_SECS (default 300) on loopback. Prints throughput, apply latency, RSS over time and
# the exactly-once check; writes target/bench/soak.json; exits 1 if anything was lost or
# applied twice. Options (env): SOAK_SECS, SOAK_RATE, SOAK_TENANTS, SOAK_CHURN_S.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
ensure_libclang
cargo build --locked --release -p runner -p runnerctl -p e2e --bins
target/release/soak
