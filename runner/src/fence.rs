//! The lease fence: the engine commits reader batches only while the shard's lease is known
//! to be held. The lease task extends the fence after each successful renewal to a little
//! before the lease would expire on the server; if renewals stop (NATS unreachable), the
//! fence closes before another runner can take the shard over, so two runners never apply
//! the same tenant's events at once.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    epoch().elapsed().as_millis() as u64
}

#[derive(Debug)]
pub struct Fence {
    /// Open until this many ms after the process epoch; `u64::MAX` for "always".
    until_ms: AtomicU64,
    /// When the lease was last confirmed (ms after the process epoch; `u64::MAX`: never).
    renewed_ms: AtomicU64,
}

impl Fence {
    /// A fence that never closes (tests and tools without a lease).
    pub fn open() -> Fence {
        Fence {
            until_ms: AtomicU64::new(u64::MAX),
            renewed_ms: AtomicU64::new(u64::MAX),
        }
    }

    /// A closed fence, opened by [`Fence::extend`].
    pub fn closed() -> Fence {
        Fence {
            until_ms: AtomicU64::new(0),
            renewed_ms: AtomicU64::new(u64::MAX),
        }
    }

    pub fn is_open(&self) -> bool {
        now_ms() < self.until_ms.load(Ordering::Acquire)
    }

    /// Opens the fence until `from + valid`.
    pub fn extend(&self, from: Instant, valid: Duration) {
        let from = from.saturating_duration_since(epoch()).as_millis() as u64;
        self.until_ms
            .store(from + valid.as_millis() as u64, Ordering::Release);
        self.renewed_ms.store(from, Ordering::Release);
    }

    /// How long ago the lease was last confirmed (`None`: never).
    pub fn since_renewal(&self) -> Option<Duration> {
        let at = self.renewed_ms.load(Ordering::Acquire);
        (at != u64::MAX).then(|| Duration::from_millis(now_ms().saturating_sub(at)))
    }

    /// Closes the fence for good (the lease is lost or given up).
    pub fn close(&self) {
        self.until_ms.store(0, Ordering::Release);
    }

    /// How long it has been closed, if it is.
    pub fn closed_for(&self) -> Option<Duration> {
        let until = self.until_ms.load(Ordering::Acquire);
        let now = now_ms();
        (now >= until).then(|| Duration::from_millis(now - until))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_closes_when_not_extended() {
        let f = Fence::closed();
        assert!(!f.is_open());
        f.extend(Instant::now(), Duration::from_millis(50));
        assert!(f.is_open());
        f.extend(
            Instant::now() - Duration::from_millis(100),
            Duration::from_millis(50),
        );
        assert!(!f.is_open());
        assert!(Fence::open().is_open());
        let f = Fence::open();
        f.close();
        assert!(!f.is_open());
    }
}
