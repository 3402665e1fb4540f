//! What the runner's tasks tell the admin API about themselves: lifecycle state, NATS
//! connection, the engine's view of its tenants and readers, and current problems.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use shared::edge_storage::CursorMode;
use shared::layout::Group;
use shared::wire::RunnerState;

/// Event bytes read from NATS and not yet taken by the engine, at most (in KiB): what the
/// readers hold in memory is bounded by bytes, not by message counts (a burst of large
/// events used to be bounded only by 64 batches of 1,000 messages of up to the size
/// limit each).
pub const READ_BUDGET_KIB: u32 = 64 * 1024;

/// Which reader: the reader of a whole group's stream (the single layout's one stream is
/// group 0), or a tenant's own reader (a lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReaderId {
    Group(Group),
    Lane(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantView {
    pub mode: CursorMode,
    pub reader: ReaderId,
    pub group: Group,
    /// Read by a reader of its own for as long as it is served here (its group is not read
    /// whole by this shard), not catching up to a group reader.
    pub own_reader: bool,
    /// For a tenant on a reader of its own: every event of it up to here is applied (a live
    /// tenant is at its group reader's position).
    pub position: u64,
}

impl EngineView {
    /// Every event of `tenant` up to the returned sequence (of its group's stream) is
    /// applied here.
    pub fn position_of(&self, tenant: &str) -> Option<u64> {
        self.tenants.get(tenant).map(|v| {
            if v.mode == CursorMode::Live {
                // Beyond the group reader where its own reader had gone before it went live.
                self.positions
                    .get(&v.group)
                    .copied()
                    .unwrap_or(0)
                    .max(v.position)
            } else {
                v.position
            }
        })
    }
}

/// The engine's tenants and positions, refreshed after every commit.
#[derive(Debug, Clone, Default)]
pub struct EngineView {
    /// Reader position of each group read whole.
    pub positions: BTreeMap<Group, u64>,
    pub tenants: BTreeMap<String, TenantView>,
}

pub struct SharedState {
    pub started_at_ms: u64,
    state: Mutex<RunnerState>,
    pub nats_connected: AtomicBool,
    nats_problem: Mutex<Option<String>>,
    storage_problem: Mutex<Option<String>>,
    lease_problem: Mutex<Option<String>>,
    pub engine_alive: AtomicBool,
    pub engine: Mutex<EngineView>,
    consumers: Mutex<HashMap<ReaderId, String>>,
    /// Wakes the lease keeper to publish a heartbeat now (state or tenants changed).
    pub heartbeat_now: tokio::sync::Notify,
    /// Tenants placed here but not served yet, with the reason.
    pub waiting: Mutex<BTreeMap<String, String>>,
    /// Replays running and recently finished (by the engine).
    pub replays: Mutex<Vec<shared::wire::ReplayStatus>>,
    /// Per reader, `(ms, sequence)`: at that time (this host's clock) the stream held
    /// nothing for the reader beyond `sequence`, and the reader had delivered it all
    /// (`reader::confirm_delivered`). Group readers and tenants' own readers have it.
    pub confirmed: Mutex<HashMap<ReaderId, (u64, u64)>>,
    /// Lanes whose tenant may have timers pending: only those confirm where they stand
    /// (nothing else needs a lane's watermark, and each confirmation is a request).
    pub confirm_lanes: Mutex<std::collections::HashSet<u64>>,
    /// KiB of events readers may still hand to the engine (see `reader::READ_BUDGET_KIB`).
    pub read_budget: tokio::sync::Semaphore,
    /// Batches sent by readers and not yet taken by the engine.
    pub batches_queued: std::sync::atomic::AtomicU64,
    /// Reader tasks alive (a drain waits for 0).
    pub readers_running: std::sync::atomic::AtomicU64,
    /// The drain in progress or done.
    pub drain: Mutex<Option<shared::wire::DrainStatus>>,
    /// Releases not recorded in the hand-over bucket yet.
    handoff_problem: Mutex<Option<String>>,
    /// The placement manager has read the bucket and acquired what it could (positions are
    /// reported only from then on, so a restart never overwrites the last report of a
    /// volume before the state it describes was looked at).
    pub placement_ready: AtomicBool,
    /// `ended` records the placement manager owes shards it took tenants over from.
    pub ended: Mutex<Vec<shared::placement::EndedRecord>>,
    /// Why the runner must stop and not start again as it is (exit 3), once known.
    pub fatal: Mutex<Option<String>>,
    /// (tenant, saga) pairs that had events although the saga is not declared, so status
    /// can show their dead letters.
    undeclared: Mutex<std::collections::BTreeSet<(String, String)>>,
}

impl SharedState {
    pub fn new() -> SharedState {
        SharedState {
            started_at_ms: shared::now_ms(),
            state: Mutex::new(RunnerState::Starting),
            nats_connected: AtomicBool::new(false),
            nats_problem: Mutex::new(None),
            storage_problem: Mutex::new(None),
            lease_problem: Mutex::new(None),
            engine_alive: AtomicBool::new(false),
            engine: Mutex::new(EngineView::default()),
            consumers: Mutex::new(HashMap::new()),
            heartbeat_now: tokio::sync::Notify::new(),
            waiting: Mutex::new(BTreeMap::new()),
            replays: Mutex::new(Vec::new()),
            readers_running: std::sync::atomic::AtomicU64::new(0),
            batches_queued: std::sync::atomic::AtomicU64::new(0),
            read_budget: tokio::sync::Semaphore::new(READ_BUDGET_KIB as usize),
            confirmed: Mutex::new(HashMap::new()),
            confirm_lanes: Mutex::new(Default::default()),
            drain: Mutex::new(None),
            fatal: Mutex::new(None),
            handoff_problem: Mutex::new(None),
            placement_ready: AtomicBool::new(false),
            ended: Mutex::new(Vec::new()),
            undeclared: Mutex::new(Default::default()),
        }
    }

    pub fn state(&self) -> RunnerState {
        *self.state.lock().expect("state lock")
    }

    pub fn set_state(&self, s: RunnerState) {
        *self.state.lock().expect("state lock") = s;
        self.heartbeat_now.notify_one();
    }

    pub fn set_nats_problem(&self, p: Option<String>) {
        *self.nats_problem.lock().expect("lock") = p;
    }

    pub fn set_storage_problem(&self, p: Option<String>) {
        *self.storage_problem.lock().expect("lock") = p;
    }

    pub fn set_lease_problem(&self, p: Option<String>) {
        *self.lease_problem.lock().expect("lock") = p;
    }

    pub fn set_handoff_problem(&self, p: Option<String>) {
        *self.handoff_problem.lock().expect("lock") = p;
    }

    pub fn set_consumer(&self, reader: ReaderId, name: Option<String>) {
        let mut c = self.consumers.lock().expect("lock");
        match name {
            Some(n) => c.insert(reader, n),
            None => c.remove(&reader),
        };
    }

    /// What [`SharedState::confirmed`] holds for a reader (`(0, 0)`: nothing yet).
    pub fn confirmed_of(&self, reader: ReaderId) -> (u64, u64) {
        self.confirmed
            .lock()
            .expect("lock")
            .get(&reader)
            .copied()
            .unwrap_or((0, 0))
    }

    pub fn consumer(&self, reader: ReaderId) -> Option<String> {
        self.consumers.lock().expect("lock").get(&reader).cloned()
    }

    pub fn note_undeclared(&self, tenant: &str, saga: &str) {
        let mut u = self.undeclared.lock().expect("lock");
        if !u.contains(&(tenant.to_string(), saga.to_string())) {
            u.insert((tenant.to_string(), saga.to_string()));
        }
    }

    /// Undeclared sagas that had events for `tenant`.
    pub fn undeclared_of(&self, tenant: &str) -> Vec<String> {
        self.undeclared
            .lock()
            .expect("lock")
            .iter()
            .filter(|(t, _)| t == tenant)
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// Why the runner does not take work now (empty when it does).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.state() {
            RunnerState::Running => {}
            s => out.push(format!("runner is {}", s.as_str())),
        }
        match self.nats_problem.lock().expect("lock").clone() {
            Some(p) => out.push(p),
            None if !self.nats_connected.load(Ordering::Relaxed) => {
                out.push("not connected to NATS".into())
            }
            None => {}
        }
        if let Some(p) = self.storage_problem.lock().expect("lock").clone() {
            out.push(p);
        }
        if let Some(p) = self.lease_problem.lock().expect("lock").clone() {
            out.push(p);
        }
        if let Some(p) = self.fatal.lock().expect("lock").clone() {
            out.push(p);
        }
        if let Some(p) = self.handoff_problem.lock().expect("lock").clone() {
            out.push(p);
        }
        if !self.engine_alive.load(Ordering::Relaxed) && self.state() != RunnerState::Starting {
            out.push("the engine thread is not running".into());
        }
        out
    }
}

impl Default for SharedState {
    fn default() -> Self {
        Self::new()
    }
}
