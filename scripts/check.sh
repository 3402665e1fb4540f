#!/usr/bin/env bash
# The model-based checker over many seeds (release build): `just check SEEDS=200`.
#   SEEDS  how many seeds (default 50), FROM  the first (default 1), STEPS  operations per seed (40)
# One seed: scripts/check.sh --seed 17 (add --keep to keep its volumes and logs).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
ensure_libclang
cargo build --locked --release -p runner -p runnerctl
cargo build --locked --release -p e2e --bin check
if [ $# -gt 0 ]; then
  exec target/release/check --steps "${STEPS:-40}" "$@"
fi
exec target/release/check --seeds "${SEEDS:-50}" --from "${FROM:-1}" --steps "${STEPS:-40}"
