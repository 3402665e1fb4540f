//! Local infrastructure for tests, benchmarks and `runnerctl dev`: finding (or installing)
//! and running `nats-server` with JetStream on loopback. Not used by the runner itself.

pub mod nats_server;

pub use nats_server::{NatsServer, ServerOptions, find_or_install_nats_server};

/// True when the environment asks to keep temporary dirs of tests and dev stacks
/// (`RUNNER_KEEP_TMP=1`), for looking at them after a failure.
pub fn keep_tmp() -> bool {
    std::env::var("RUNNER_KEEP_TMP").is_ok_and(|v| v == "1" || v == "true")
}
