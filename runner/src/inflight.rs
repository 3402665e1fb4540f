//! A batch in flight between a reader and the engine: its place in the in-flight count
//! (`SharedState::batches_queued`) and its bytes of the read budget, owned by a ticket that
//! gives both back when dropped. Readers make tickets ([`crate::reader::Handoff`]); the
//! engine drops them once a batch's transaction committed.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::state::SharedState;

pub use crate::state::READ_BUDGET_KIB;

/// What an event takes of the read budget, in bytes.
pub trait Costed {
    fn cost_bytes(&self) -> usize;
}

/// What a batch takes of the read budget: its payload bytes plus a little per event, in
/// KiB, at least 1; one batch larger than the whole budget takes all of it.
pub(crate) fn cost_kib<M: Costed>(msgs: &[M]) -> u32 {
    let bytes: usize = msgs.iter().map(|m| m.cost_bytes()).sum();
    (bytes.div_ceil(1024).max(1) as u64).min(READ_BUDGET_KIB as u64) as u32
}

/// A batch's place in the in-flight count and its bytes of the read budget, given back when
/// dropped. Only [`crate::reader::Handoff::send`] makes one (or a test).
pub struct InFlight {
    shared: Arc<SharedState>,
    batches: u64,
    kib: u32,
    /// The reader's room for events in flight ([`crate::reader::ReadAhead`]), given back
    /// with the ticket.
    slots: Vec<tokio::sync::OwnedSemaphorePermit>,
}

impl InFlight {
    /// Counts one batch of `kib` KiB in flight. The caller has taken the bytes from the
    /// read budget already.
    pub(crate) fn new(
        shared: Arc<SharedState>,
        kib: u32,
        slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> InFlight {
        shared.batches_queued.fetch_add(1, Ordering::Relaxed);
        InFlight {
            shared,
            batches: 1,
            kib,
            slots: slot.into_iter().collect(),
        }
    }

    /// Takes over `other`'s count, bytes and places (batches merged into one transaction).
    pub fn absorb(&mut self, mut other: InFlight) {
        self.batches += std::mem::take(&mut other.batches);
        self.kib += std::mem::take(&mut other.kib);
        self.slots.append(&mut other.slots);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.batches > 0 {
            self.shared
                .batches_queued
                .fetch_sub(self.batches, Ordering::Relaxed);
        }
        if self.kib > 0 {
            self.shared.read_budget.add_permits(self.kib as usize);
        }
    }
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InFlight({} batches, {} KiB)", self.batches, self.kib)
    }
}
