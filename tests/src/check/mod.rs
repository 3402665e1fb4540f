//! The model-based checker: a seeded driver runs the real `runner` and `runnerctl` against
//! a real nats-server on a random schedule (bursts, duplicates, timers, SIGKILLs, NATS
//! restarts, placement flips, moves killed and aborted, replays in every mode, a recreated
//! stream), then compares every volume and the command and dead-letter streams with what
//! the reference model ([`model`]) computes from the same history. A failure prints its
//! seed and the command that runs it again.
//!
//! `cargo run -p e2e --bin check -- --seeds N` (or `just check SEEDS=N`) runs seeds 1..=N;
//! `--seed S` runs one. CI runs a few (`tests/tests/check.rs`).

pub mod driver;
pub mod model;

pub use driver::{Config, Report, run};
