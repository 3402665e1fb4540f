#!/usr/bin/env bash
# Quick start, part 1: a local stack you can watch and drive. Builds runner and runnerctl,
# then `runnerctl dev` starts nats-server with JetStream (installing it if missing), one
# runner on a temporary volume with the example sagas, a generator of sample events, and a
# live view of the runner's status. Ctrl-C stops and removes everything.
# Extra arguments go to `runnerctl dev` (see `runnerctl dev --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
ensure_libclang
say "building runner and runnerctl"
cargo build --locked -p runner -p runnerctl
exec target/debug/runnerctl dev "$@"
