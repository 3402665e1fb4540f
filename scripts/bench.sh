#!/usr/bin/env bash
# Benchmarks, built with --release, each beside a baseline measured in the same run:
#   throughput  runner vs a raw JetStream consumer, latency at a steady rate, peak RSS
#   placement   placement reaction vs raw KV put-to-watch, start with 1,000 tenants placed
#   ops         full_reset replay rate vs live apply rate, drain latency of a busy runner
#   inspect     runnerctl inspect on 10k/100k/1M-entry volumes vs a full scan, peak RSS
#   tui         runnerctl tui frame time and idle CPU, 20 shards/2,000 tenants vs an empty fleet
#   timers      100,000 timers due within about a second: fire rate, due-to-fired delay
#   fleet       shards (1,4,16) x tenants per shard x placement: read amplification from the
#               server's counters, fleet apply latency at a steady rate
#   reads       how a shard could read only its share: filtered consumers, partition-group
#               streams, per-tenant readers, each vs a raw unfiltered read (issue 16's design)
#   snapshots   snapshot copy and upload at 100k and 1M instances vs a plain cp, applying
#               during a snapshot vs alone, restore-to-serving time vs a rebuild from the stream
# Usage: scripts/bench.sh [throughput] [placement] [ops] [inspect] [tui] [timers] [fleet] [reads] [snapshots]
#        (default: all but fleet and reads)
# Prints tables and writes target/bench/*.json. See docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
ensure_libclang
ensure_tmux
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(throughput placement ops inspect tui timers)
cargo build --locked --release -p runner -p runnerctl -p e2e --bins
for s in "${suites[@]}"; do
  case "$s" in
    throughput) target/release/bench ;;
    placement) target/release/bench_placement ;;
    ops) target/release/bench_ops ;;
    inspect) target/release/bench_inspect ;;
    tui) target/release/bench_tui ;;
    timers) target/release/bench_timers ;;
    fleet) target/release/bench_fleet ;;
    reads) target/release/bench_reads ;;
    snapshots) target/release/bench_snapshots ;;
    *) echo "unknown benchmark '$s': expected throughput, placement, ops, inspect, tui, timers, fleet, reads or snapshots" >&2; exit 2 ;;
  esac
  echo
done
