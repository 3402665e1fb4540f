//! Local infrastructure for tests, benchmarks and `runnerctl dev`: finding (or installing)
//! and running `nats-server` with JetStream on loopback. Not used by the runner itself.

pub mod cluster;
pub mod nats_server;

pub use cluster::NatsCluster;
pub use nats_server::{NatsServer, ServerOptions, find_or_install_nats_server};

/// True when the environment asks to keep temporary dirs of tests and dev stacks
/// (`RUNNER_KEEP_TMP=1`), for looking at them after a failure.
pub fn keep_tmp() -> bool {
    std::env::var("RUNNER_KEEP_TMP").is_ok_and(|v| v == "1" || v == "true")
}

/// A small deterministic generator (xorshift64) for tests and benchmarks that must replay a
/// schedule from its seed. Not for anything that needs real randomness.
#[derive(Debug, Clone)]
pub struct Xorshift(u64);

impl Xorshift {
    pub fn new(seed: u64) -> Xorshift {
        Xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    /// One of `v`'s items.
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }

    /// As a closure `n -> 0..n`, for code that takes one.
    pub fn into_fn(mut self) -> impl FnMut(u64) -> u64 {
        move |n| self.below(n)
    }
}
