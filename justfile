# Tasks for runner + runnerctl. `just` is optional: every recipe is a script in scripts/.

# List the recipes
default:
    @just --list

# Start a local stack (NATS, a runner, sample events) and watch it; Ctrl-C stops it
dev *ARGS:
    ./scripts/dev.sh {{ARGS}}

# Run the whole test suite (installs what is missing)
test *ARGS:
    ./scripts/test.sh {{ARGS}}

# Benchmarks (release build) beside same-run baselines: `just bench [throughput] [placement] [ops] [inspect] [tui] [timers] [fleet] [reads] [snapshots]` -> target/bench/
bench *ARGS:
    ./scripts/bench.sh {{ARGS}}

# The model-based checker: SEEDS seeds of random schedules against the reference model (release)
check SEEDS="50" FROM="1":
    SEEDS={{SEEDS}} FROM={{FROM}} ./scripts/check.sh

# Soak (release): 3 shards, 50 tenants, events and placement churn for SOAK_SECS (default 300)
soak:
    ./scripts/soak.sh

# Formatting and clippy, as CI runs them
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

# Format the code
fmt:
    cargo fmt --all

# Regenerate completions/ and docs/man/ from the CLI
completions:
    UPDATE_COMPLETIONS=1 cargo test -p runnerctl completions
