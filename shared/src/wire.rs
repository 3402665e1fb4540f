//! Wire types of the runner's admin HTTP API, shared by the server (`runner`) and its
//! clients (`runnerctl`). Field names are part of the API: add fields, never rename them.

use serde::{Deserialize, Serialize};

/// Lifecycle state of a runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerState {
    /// Opening the volume, connecting to NATS, creating streams.
    Starting,
    /// Reading and applying events.
    Running,
    /// Stopping: in-flight batches finish, the outbox is flushed.
    Stopping,
}

impl RunnerState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunnerState::Starting => "starting",
            RunnerState::Running => "running",
            RunnerState::Stopping => "stopping",
        }
    }
}

/// Event counters of a tenant+saga (or their totals), since the runner started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Events whose transition was applied.
    pub applied: u64,
    /// Events skipped because their dedupe marker exists (a duplicate event id).
    pub deduped: u64,
    /// Events at or below the checkpoint, seen again (after a restart or recreate).
    pub skipped: u64,
    /// Events the instance's state does not handle.
    pub ignored: u64,
    /// Events that could not be parsed or applied, sent to `dlq.<tenant>.<saga>`.
    pub dead_lettered: u64,
    /// Timers that fired.
    pub timers_fired: u64,
}

impl Counters {
    pub fn add(&mut self, o: &Counters) {
        self.applied += o.applied;
        self.deduped += o.deduped;
        self.skipped += o.skipped;
        self.ignored += o.ignored;
        self.dead_lettered += o.dead_lettered;
        self.timers_fired += o.timers_fired;
    }
}

/// `GET /admin/status`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusResponse {
    pub shard_id: String,
    /// Version of the runner binary.
    pub version: String,
    pub state: RunnerState,
    pub started_at_ms: u64,
    pub nats: NatsStatus,
    /// The event stream and its last sequence (when NATS answered).
    pub stream: String,
    pub stream_last_seq: Option<u64>,
    /// The shard's main reader.
    pub reader: ReaderStatus,
    /// One entry per tenant served, sorted by tenant.
    pub tenants: Vec<TenantStatus>,
    /// How tenants are assigned: `allowlist` or `placement` (then `placement_bucket`).
    #[serde(default)]
    pub assignment: String,
    #[serde(default)]
    pub placement_bucket: Option<String>,
    /// Tenants placed here that are not served yet, and why (e.g. waiting for their previous
    /// shard to release them).
    #[serde(default)]
    pub waiting: Vec<WaitingTenant>,
    /// Sum of every tenant's counters.
    pub totals: Counters,
    /// Events whose subject names no valid tenant or saga (dead-lettered to
    /// `dlq.invalid-subject`).
    pub invalid_subjects: u64,
    /// Messages waiting in the outbox (commands and dead letters).
    pub outbox_depth: u64,
    /// Timers waiting to fire.
    pub timers_pending: u64,
    pub volume: VolumeStatus,
    /// What is wrong right now, in words (empty when healthy).
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingTenant {
    pub tenant: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatsStatus {
    pub url: String,
    pub connected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderStatus {
    /// Name of the main reader's consumer on the event stream (none while it is recreated).
    pub consumer: Option<String>,
    /// Every event up to this sequence has been handled for every live tenant.
    pub position: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantStatus {
    pub tenant: String,
    /// `live` (served by the main reader) or `catching_up` (read by a consumer of its own
    /// until it reaches the main reader).
    pub mode: String,
    /// The consumer reading this tenant's events now.
    pub consumer: Option<String>,
    pub sagas: Vec<SagaStatus>,
    pub outbox_depth: u64,
    pub timers_pending: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SagaStatus {
    pub saga: String,
    /// False for a saga that is not in the saga file but had events (all dead-lettered);
    /// such a saga has no checkpoint and no lag.
    pub declared: bool,
    /// Last stream sequence applied (or skipped) for this tenant+saga; 0 if none yet.
    pub checkpoint: u64,
    /// Sequence of the last event on `evt.<tenant>.<saga>` in the stream, if any.
    pub stream_last_seq: Option<u64>,
    /// `stream_last_seq - checkpoint` (in stream sequences, not events); 0 when caught up.
    pub lag: Option<u64>,
    pub counters: Counters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeStatus {
    pub path: String,
    pub file_bytes: u64,
    pub used_bytes: u64,
}

/// `GET /readyz` (also `GET /healthz`): whether the runner takes work, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    pub ready: bool,
    pub reasons: Vec<String>,
}

/// Body of every error answer of the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable code: `not_found`, `bad_request`, `unauthorized`, `conflict`, ...
    pub error: String,
    /// What went wrong and what to do, for people.
    pub message: String,
}
