#!/usr/bin/env bash
# Quick start, part 1: a local stack you can watch and drive. Builds runner and runnerctl,
# then `runnerctl dev` starts nats-server with JetStream (installing it if missing), two
# runner shards on temporary volumes with the example sagas and tenants placed across them,
# a generator of sample events, and a live view of the runners' status. Ctrl-C stops and
# removes everything.
# Extra arguments go to `runnerctl dev` (see `runnerctl dev --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
ensure_libclang
say "building runner and runnerctl"
cargo build --locked -p runner -p runnerctl
exec target/debug/runnerctl dev "$@"
