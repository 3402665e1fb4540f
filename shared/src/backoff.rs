//! Exponential backoff with jitter, the one way both binaries wait between retries. The
//! jitter (each wait is drawn between half and all of the current step) keeps a fleet that
//! lost NATS at the same moment from retrying in lockstep when it comes back.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    /// Waits start near `first` and double up to `max`.
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            step: first,
        }
    }

    /// The next wait: a random point in [step/2, step], then the step doubles.
    pub fn next_wait(&mut self) -> Duration {
        let step = self.step;
        self.step = (self.step * 2).min(self.max);
        let half = step / 2;
        half + half.mul_f64(unit_random())
    }

    /// The wait before retry number `attempt` (1-based) without keeping state, for callbacks
    /// that are handed the attempt count (async-nats' reconnect delay).
    pub fn for_attempt(first: Duration, max: Duration, attempt: usize) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31) as u32;
        let step = first.saturating_mul(1u32 << doublings).min(max);
        let half = step / 2;
        half + half.mul_f64(unit_random())
    }

    /// The current step (the most the next wait can be).
    pub fn step(&self) -> Duration {
        self.step
    }

    /// Back to the first step (after a success).
    pub fn reset(&mut self) {
        self.step = self.first;
    }
}

/// A random number in [0, 1), from the standard library's per-process random keys.
fn unit_random() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stateless_waits_follow_the_attempt_within_their_jitter() {
        let (first, max) = (Duration::from_millis(100), Duration::from_secs(5));
        for attempt in 0..100usize {
            let step = first
                .saturating_mul(1u32 << attempt.saturating_sub(1).min(31) as u32)
                .min(max);
            let w = Backoff::for_attempt(first, max, attempt);
            assert!(
                w >= step / 2 && w <= step,
                "attempt {attempt}: {w:?} vs {step:?}"
            );
        }
    }

    #[test]
    fn waits_grow_to_the_cap_within_their_jitter_and_reset() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(800));
        let mut prev_step = Duration::from_millis(100);
        for _ in 0..8 {
            let w = b.next_wait();
            assert!(
                w >= prev_step / 2 && w <= prev_step,
                "{w:?} for step {prev_step:?}"
            );
            prev_step = (prev_step * 2).min(Duration::from_millis(800));
        }
        b.reset();
        assert!(b.next_wait() <= Duration::from_millis(100));
        // Not all the same: jitter spreads a fleet.
        let waits: std::collections::BTreeSet<Duration> = (0..20)
            .map(|_| Backoff::new(Duration::from_secs(1), Duration::from_secs(1)).next_wait())
            .collect();
        assert!(waits.len() > 10);
    }
}
