//! Wire types of the runner's admin HTTP API, shared by the server (`runner`) and its
//! clients (`runnerctl`). Field names are part of the API: add fields, never rename them.

use serde::{Deserialize, Serialize};

pub use crate::edge_storage::CursorMode;
use crate::ids::{SagaName, TenantId};

/// Lifecycle state of a runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerState {
    /// Opening the volume, connecting to NATS, creating streams.
    Starting,
    /// Reading and applying events.
    Running,
    /// Draining (`POST /admin/drain` or SIGTERM): no new fetches, in-flight batches
    /// committed, the outbox flushed, timers held.
    Draining,
    /// Drained: nothing in flight; `POST /admin/resume` returns it to service.
    Drained,
    /// Stopping after a failure (lost lease, engine stopped).
    Stopping,
}

impl std::fmt::Display for RunnerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RunnerState {
    /// Draining, drained or stopping: not taking new work.
    pub fn is_stopping(self) -> bool {
        matches!(
            self,
            RunnerState::Draining | RunnerState::Drained | RunnerState::Stopping
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunnerState::Starting => "starting",
            RunnerState::Running => "running",
            RunnerState::Draining => "draining",
            RunnerState::Drained => "drained",
            RunnerState::Stopping => "stopping",
        }
    }
}

/// Where a replay is (`ReplayStatus.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayState {
    /// Re-reading the stream.
    Running,
    /// The runner drains; the replay continues on resume.
    Paused,
    /// Every event up to the target was re-read.
    Completed,
    /// The tenant was released to another shard; it continues there after the last position.
    Cancelled,
}

impl ReplayState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayState::Running => "running",
            ReplayState::Paused => "paused",
            ReplayState::Completed => "completed",
            ReplayState::Cancelled => "cancelled",
        }
    }

    /// Running or paused: not over yet.
    pub fn is_active(self) -> bool {
        matches!(self, ReplayState::Running | ReplayState::Paused)
    }
}

/// How a runner is given its tenants (`StatusResponse.assignment`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// `RUNNER_TENANT_ALLOWLIST`, fixed for the process.
    #[default]
    Allowlist,
    /// A NATS KV placement bucket, followed live.
    Placement,
}

impl Assignment {
    pub fn as_str(self) -> &'static str {
        match self {
            Assignment::Allowlist => "allowlist",
            Assignment::Placement => "placement",
        }
    }
}

/// The stable code of an admin API error (`ErrorBody.error`), for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    NotFound,
    UnsupportedMediaType,
    PayloadTooLarge,
    TooLarge,
    /// The runner is still starting.
    Starting,
    Unavailable,
    Storage,
    Internal,
    Draining,
    NotDrained,
    NotRunning,
    UnknownTenant,
    UnknownSaga,
    UnknownReplay,
    ReplayRunning,
    TenantServed,
    TenantHasState,
    /// The request took longer than the runner's request timeout.
    Timeout,
    /// A code this client does not know (a newer runner).
    #[serde(other)]
    Other,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::NotFound => "not_found",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Starting => "starting",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Storage => "storage",
            ErrorCode::Internal => "internal",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Draining => "draining",
            ErrorCode::NotDrained => "not_drained",
            ErrorCode::NotRunning => "not_running",
            ErrorCode::UnknownTenant => "unknown_tenant",
            ErrorCode::UnknownSaga => "unknown_saga",
            ErrorCode::UnknownReplay => "unknown_replay",
            ErrorCode::ReplayRunning => "replay_running",
            ErrorCode::TenantServed => "tenant_served",
            ErrorCode::TenantHasState => "tenant_has_state",
            ErrorCode::Other => "other",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `POST /admin/resume` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeResponse {
    pub state: RunnerState,
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

/// A snapshot, as `/admin/status` reports the newest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotBrief {
    pub id: String,
    pub taken_at_ms: u64,
    pub bytes: u64,
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
    /// The event stream (the base name of the group streams in a partitioned layout) and
    /// its last sequence (when NATS answered; single layout only).
    pub stream: String,
    pub stream_last_seq: Option<u64>,
    /// The event layout: `single` or `partitioned/<G>`.
    #[serde(default)]
    pub layout: String,
    /// The shard's reader of the single stream (of the first group read whole when
    /// partitioned).
    pub reader: ReaderStatus,
    /// Partitioned layout: each group stream this shard reads or has tenants in.
    #[serde(default)]
    pub groups: Vec<GroupStatus>,
    /// One entry per tenant served, sorted by tenant.
    pub tenants: Vec<TenantStatus>,
    /// How tenants are assigned: `allowlist` or `placement` (then `placement_bucket`).
    #[serde(default)]
    pub assignment: Assignment,
    #[serde(default)]
    pub placement_bucket: Option<String>,
    /// Tenants placed here that are not served yet, and why (e.g. waiting for their previous
    /// shard to release them).
    #[serde(default)]
    pub waiting: Vec<WaitingTenant>,
    /// Sum of every tenant's counters.
    pub totals: Counters,
    /// Events delivered to this runner by its readers since it started, its tenants' or not:
    /// its read share, beside `totals.applied`.
    #[serde(default)]
    pub events_read: u64,
    /// Events whose subject names no valid tenant or saga (dead-lettered to
    /// `dlq.invalid-subject`).
    pub invalid_subjects: u64,
    /// Messages waiting in the outbox (commands and dead letters).
    pub outbox_depth: u64,
    /// When the oldest of them was written (none: the outbox is empty); a relay that is
    /// stuck shows as an age that grows.
    #[serde(default)]
    pub outbox_oldest_at_ms: Option<u64>,
    /// Timers waiting to fire.
    pub timers_pending: u64,
    pub volume: VolumeStatus,
    /// What is wrong right now, in words (empty when healthy).
    pub problems: Vec<String>,
    /// The drain in progress or done (none while running normally).
    #[serde(default)]
    pub drain: Option<DrainStatus>,
    /// Set while the shard is cordoned (`runnerctl cordon`): it serves its tenants, and
    /// placement tools do not pick it as a target.
    #[serde(default)]
    pub cordon: Option<crate::placement::CordonRecord>,
    /// The shard's newest snapshot in the snapshot bucket (as read at the start, then each
    /// one this runner stored); `None` when it has none.
    #[serde(default)]
    pub snapshot: Option<SnapshotBrief>,
    /// Replays running, paused, or finished since the runner started (latest 100).
    #[serde(default)]
    pub replays: Vec<ReplayStatus>,
}

/// `POST /admin/drain` body (optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrainRequest {
    /// How long the outbox flush may take before the runner counts as drained with
    /// entries left (they are published after resume or at the next start). Default
    /// 30000, at most 600000.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// Progress of a drain, in `/admin/status` and the answers of drain and resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainStatus {
    pub state: RunnerState,
    pub started_at_ms: u64,
    pub completed_at_ms: Option<u64>,
    /// The outbox flush bound of this drain.
    pub timeout_ms: u64,
    /// Readers not stopped yet.
    pub readers_running: u64,
    /// Batches read but not committed yet.
    pub in_flight_batches: u64,
    /// Outbox entries not published (and acknowledged) yet.
    pub outbox_left: u64,
    /// What keeps the drain from completing, in words (empty once drained).
    pub blockers: Vec<String>,
    /// Set when the drain completed with the outbox not flushed in time.
    pub note: Option<String>,
}

/// What a replay deletes before the stream is re-read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReplayMode {
    /// The checkpoint: only events without a dedupe marker are applied again.
    #[default]
    CheckpointOnly,
    /// The checkpoint and the dedupe markers: every retained event is applied again.
    CheckpointAndDedupe,
    /// Checkpoint, dedupe markers, instances, pending outbox and timers: state is rebuilt.
    FullReset,
}

impl ReplayMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayMode::CheckpointOnly => "checkpoint_only",
            ReplayMode::CheckpointAndDedupe => "checkpoint_and_dedupe",
            ReplayMode::FullReset => "full_reset",
        }
    }

    /// Whether the mode deletes more than the checkpoint.
    pub fn is_destructive(self) -> bool {
        self != ReplayMode::CheckpointOnly
    }
}

/// `POST /admin/replay` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    pub tenant_id: TenantId,
    pub saga_name: SagaName,
    pub mode: ReplayMode,
    #[serde(default)]
    pub dry_run: bool,
}

/// Entries a replay deletes (or would delete), per table, for its tenant+saga.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayDeletes {
    pub checkpoints: u64,
    pub dedupe: u64,
    pub instances: u64,
    pub outbox: u64,
    pub timers: u64,
}

/// The part of the stream a replay re-reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRange {
    /// `evt.<tenant>.<saga>`
    pub subject: String,
    /// First and last retained sequence of the subject (none: no event retained).
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// Events of the subject the stream retains.
    pub events: u64,
    /// The stream's first sequence: above 1, older events of every subject are gone.
    pub stream_first_seq: u64,
}

/// A replay's preview: what it deletes and what it re-reads. The answer to a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayPlan {
    pub tenant_id: String,
    pub saga_name: String,
    pub mode: ReplayMode,
    pub deletes: ReplayDeletes,
    pub stream: StreamRange,
    /// E.g. the stream no longer retains every event the saga applied.
    pub warnings: Vec<String>,
}

/// `POST /admin/replay` answer (202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayAccepted {
    pub replay_id: String,
    /// `/admin/replay/<id>`
    pub status_url: String,
    pub plan: ReplayPlan,
}

/// `GET /admin/replay/<id>`: a replay's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayStatus {
    pub replay_id: String,
    pub tenant_id: String,
    pub saga_name: String,
    pub mode: ReplayMode,
    /// `running`, `paused` (the runner drains), `completed`, `cancelled` (the tenant was
    /// released to another shard; it continues there after the last position).
    pub state: ReplayState,
    pub started_at_ms: u64,
    pub completed_at_ms: Option<u64>,
    /// What the reset deleted, in one transaction.
    pub deleted: ReplayDeletes,
    /// First sequence re-read, and the subject's last sequence when the replay started.
    pub from_seq: Option<u64>,
    pub target_seq: Option<u64>,
    /// Sequence re-read so far (of any saga of the tenant).
    pub position: u64,
    /// The tenant's position when the reset was committed: every event of it up to here
    /// had been applied.
    #[serde(default)]
    pub reset_at: Option<u64>,
    /// Every timer of the tenant due at or before this (ms) had fired when the reset was
    /// committed (0: none fired then).
    #[serde(default)]
    pub timers_through_ms: Option<u64>,
    /// Events of the saga re-read, and what became of them.
    pub scanned: u64,
    pub applied: u64,
    pub skipped_dedupe: u64,
    /// At or below the checkpoint (seen again).
    pub skipped_other: u64,
    /// The instance's state has no transition for the event.
    pub ignored: u64,
    pub dead_lettered: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingTenant {
    pub tenant: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatsStatus {
    /// The servers configured (scheme, host, port; never a password).
    pub url: String,
    pub connected: bool,
    /// Servers in the cluster the runner reached, as that server told it (1: no cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_size: Option<usize>,
    /// `RUNNER_REPLICAS` as set (`auto` or a count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_setting: Option<String>,
    /// Each stream and KV bucket the runner uses, with the copies JetStream keeps of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage: Vec<StoredItem>,
}

/// A stream or KV bucket the runner uses, and its replica count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredItem {
    /// `stream` or `bucket`.
    pub kind: String,
    pub name: String,
    pub replicas: usize,
    /// Set when the count is below what the cluster allows (every server up to 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderStatus {
    /// Name of the main reader's consumer on the event stream (none while it is recreated).
    pub consumer: Option<String>,
    /// Every event up to this sequence has been handled for every live tenant.
    pub position: u64,
}

/// One group stream of a partitioned layout, as a shard reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    pub group: u16,
    pub stream: String,
    /// Read whole by a reader of the group (else each tenant here has a reader of its own).
    pub read_whole: bool,
    /// The group reader's position (read whole only).
    pub position: Option<u64>,
    /// The stream's last sequence, when NATS answered.
    pub stream_last_seq: Option<u64>,
    /// Tenants of this group served here.
    pub tenants: u64,
    /// The group reader's consumer.
    pub consumer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantStatus {
    pub tenant: String,
    /// `live` (served by its group's reader), or `catching_up` (read by a consumer of its
    /// own: until it reaches the group reader, or for good when `own_reader`).
    pub mode: CursorMode,
    /// Read by a consumer of its own for as long as it is served here: this shard does not
    /// read its partition group whole.
    #[serde(default)]
    pub own_reader: bool,
    /// Its partition group (0 in the single layout).
    #[serde(default)]
    pub group: u16,
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
    /// Pages holding data (freed pages, reused before the file grows, not counted).
    pub used_bytes: u64,
    /// The data file's upper bound (`RUNNER_VOLUME_MAX_MB`); commits fail beyond it.
    #[serde(default)]
    pub max_bytes: u64,
    /// Space left on the filesystem holding the volume (unknown: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_available_bytes: Option<u64>,
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
    /// A stable code: `not_found`, `bad_request`, `unauthorized`, ...
    pub error: ErrorCode,
    /// What went wrong and what to do, for people.
    pub message: String,
}

/// `GET /admin/tenants/<tenant>`: what this runner holds for a tenant, served or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantInfo {
    pub tenant: String,
    pub shard_id: String,
    /// Served by this runner now.
    pub served: bool,
    /// Entries of the tenant in the volume, over all its sagas (from the `stats` table).
    pub instances: u64,
    pub dedupe: u64,
    pub checkpoints: u64,
    pub outbox: u64,
    pub timers: u64,
    /// `live`, `catching_up`, `released`, or none if it never served the tenant.
    pub cursor_mode: Option<CursorMode>,
    pub cursor_seq: Option<u64>,
    /// The export format version this runner writes and reads.
    pub export_format_version: u32,
    /// An import of the tenant's state started and did not finish: the tenant is not served
    /// until its partial state is deleted (and imported again).
    #[serde(default)]
    pub import_incomplete: bool,
}

impl TenantInfo {
    pub fn has_state(&self) -> bool {
        self.import_incomplete
            || self.instances + self.dedupe + self.checkpoints + self.outbox + self.timers > 0
    }

    pub fn entries(&self) -> u64 {
        self.instances + self.dedupe + self.checkpoints + self.outbox + self.timers
    }
}

/// Answer of `POST /admin/tenants/<tenant>/import` and `DELETE /admin/tenants/<tenant>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantDataChange {
    pub tenant: String,
    pub instances: u64,
    pub dedupe: u64,
    pub checkpoints: u64,
    pub outbox: u64,
    pub timers: u64,
    /// The export's SHA-256 (import only).
    pub sha256: Option<String>,
}

#[cfg(test)]
mod tests {
    //! Hostile admin API request bodies: `POST /admin/drain` and `POST /admin/replay` are
    //! deserialized from whatever a client sends.

    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    const REPLAY_FIELDS: [&str; 4] = ["tenant_id", "saga_name", "mode", "dry_run"];
    const DRAIN_FIELDS: [&str; 1] = ["timeout_ms"];

    /// Any JSON value, a few levels deep.
    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter_map("finite", |f| {
                serde_json::Number::from_f64(f).map(Value::Number)
            }),
            ".{0,12}".prop_map(Value::String),
            prop::sample::select(vec![
                "checkpoint_only",
                "checkpoint_and_dedupe",
                "full_reset",
                "acme",
                ""
            ])
            .prop_map(|s| Value::String(s.into())),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(".{0,8}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Objects whose keys are mostly the request's own field names: near-valid requests.
    fn request_like(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
        proptest::collection::vec(
            (
                prop_oneof![4 => prop::sample::select(fields.to_vec()).prop_map(String::from), 1 => ".{0,8}"],
                json(),
            ),
            0..6,
        )
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
    }

    /// JSON-ish text: fragments of requests, hostile numbers and strings, duplicate keys,
    /// deep nesting, truncation.
    fn jsonish_text() -> impl Strategy<Value = Vec<u8>> {
        let fragment = prop_oneof![
            prop::sample::select(vec![
                "{",
                "}",
                "[",
                "]",
                ",",
                ":",
                "\"tenant_id\"",
                "\"saga_name\"",
                "\"mode\"",
                "\"dry_run\"",
                "\"timeout_ms\"",
                "\"acme\"",
                "\"order\"",
                "\"full_reset\"",
                "true",
                "null",
                "1e999",
                "-0",
                "18446744073709551616",
                "-1",
                "1.5",
                "\"\\ud800\"",
                "\"\\u0000\"",
                "\"a\\\"b\"",
                " ",
                "\n",
                "\u{feff}",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
            (1usize..3000).prop_map(|n| [vec![b'['; n], vec![b']'; n]].concat()),
            (1usize..3000).prop_map(|n| "{\"a\":".repeat(n).into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..4),
        ];
        proptest::collection::vec(fragment, 0..16).prop_map(|v| v.concat())
    }

    fn object_keys(v: &Value) -> Option<Vec<&str>> {
        v.as_object()
            .map(|o| o.keys().map(String::as_str).collect())
    }

    /// Every value of `doc` (objects recursively) is in `typed` with the same value.
    fn assert_subset(doc: &Value, typed: &Value, path: &str) {
        match (doc, typed) {
            (Value::Object(d), Value::Object(t)) => {
                for (k, v) in d {
                    let Some(tv) = t.get(k) else {
                        panic!("{path}.{k}: in the docs, not in the typed answer {typed}");
                    };
                    assert_subset(v, tv, &format!("{path}.{k}"));
                }
            }
            (Value::Array(d), Value::Array(t)) => {
                assert_eq!(d.len(), t.len(), "{path}");
                for (i, (a, b)) in d.iter().zip(t).enumerate() {
                    assert_subset(a, b, &format!("{path}[{i}]"));
                }
            }
            _ => assert_eq!(doc, typed, "{path}"),
        }
    }

    /// The JSON examples of docs/admin-api.md parse into the wire types, and the types write
    /// back exactly what the examples show: typed states and codes changed no byte of the
    /// API.
    #[test]
    fn documented_examples_round_trip_through_the_wire_types() {
        fn typed<T: serde::de::DeserializeOwned + Serialize>(v: &Value) -> Option<Value> {
            serde_json::from_value::<T>(v.clone())
                .ok()
                .map(|t| serde_json::to_value(t).unwrap())
        }
        let doc = include_str!("../../docs/admin-api.md");
        let mut checked = 0;
        for block in doc.split("```json\n").skip(1) {
            let text = block.split("```").next().unwrap();
            let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
            let candidates = [
                typed::<StatusResponse>(&v),
                typed::<ErrorBody>(&v),
                typed::<Readiness>(&v),
                typed::<DrainStatus>(&v),
                typed::<ReplayRequest>(&v),
                typed::<ReplayPlan>(&v),
                typed::<ReplayStatus>(&v),
                typed::<ResumeResponse>(&v),
                typed::<crate::snapshots::SnapshotTaken>(&v),
            ];
            let t = candidates
                .into_iter()
                .flatten()
                .next()
                .unwrap_or_else(|| panic!("no wire type reads the documented example {text}"));
            assert_subset(&v, &t, "$");
            checked += 1;
        }
        assert!(checked >= 6, "only {checked} examples found");
    }

    /// Each state and code enum writes the same string its `as_str` gives, and reads it back.
    #[test]
    fn enum_strings_are_the_serialized_ones() {
        fn check<T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
            v: T,
            s: &str,
        ) {
            assert_eq!(serde_json::to_value(&v).unwrap(), Value::String(s.into()));
            assert_eq!(
                serde_json::from_value::<T>(Value::String(s.into())).unwrap(),
                v
            );
        }
        for v in [
            RunnerState::Starting,
            RunnerState::Running,
            RunnerState::Draining,
            RunnerState::Drained,
            RunnerState::Stopping,
        ] {
            check(v, v.as_str());
        }
        for v in [
            ReplayState::Running,
            ReplayState::Paused,
            ReplayState::Completed,
            ReplayState::Cancelled,
        ] {
            check(v, v.as_str());
        }
        for v in [
            CursorMode::Live,
            CursorMode::CatchingUp,
            CursorMode::Released,
        ] {
            check(v, v.as_str());
        }
        for v in [Assignment::Allowlist, Assignment::Placement] {
            check(v, v.as_str());
        }
        for v in [
            ErrorCode::BadRequest,
            ErrorCode::Unauthorized,
            ErrorCode::NotFound,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::PayloadTooLarge,
            ErrorCode::TooLarge,
            ErrorCode::Starting,
            ErrorCode::Unavailable,
            ErrorCode::Storage,
            ErrorCode::Internal,
            ErrorCode::Draining,
            ErrorCode::NotDrained,
            ErrorCode::NotRunning,
            ErrorCode::UnknownTenant,
            ErrorCode::UnknownSaga,
            ErrorCode::UnknownReplay,
            ErrorCode::ReplayRunning,
            ErrorCode::TenantServed,
            ErrorCode::TenantHasState,
        ] {
            check(v, v.as_str());
        }
        // A code from a newer runner is read, not refused.
        assert_eq!(
            serde_json::from_value::<ErrorCode>(Value::String("brand_new".into())).unwrap(),
            ErrorCode::Other
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]

        /// Any bytes: a request or an error with a message; never a panic, and an accepted
        /// body holds only the request's fields, each once.
        #[test]
        fn request_bodies_from_arbitrary_bytes(
            bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..64), jsonish_text()],
        ) {
            match serde_json::from_slice::<ReplayRequest>(&bytes) {
                Ok(r) => {
                    let v: Value = serde_json::from_slice(&bytes).unwrap();
                    // serde also takes a struct as an array of its fields, in order.
                    let ok = match object_keys(&v) {
                        Some(keys) => keys.iter().all(|k| REPLAY_FIELDS.contains(k)),
                        None => v.as_array().is_some_and(|a| a.len() <= REPLAY_FIELDS.len()),
                    };
                    prop_assert!(ok, "{}", v);
                    prop_assert_eq!(serde_json::from_value::<ReplayRequest>(v).unwrap(), r);
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            match serde_json::from_slice::<DrainRequest>(&bytes) {
                Ok(r) => {
                    let v: Value = serde_json::from_slice(&bytes).unwrap();
                    let ok = match object_keys(&v) {
                        Some(keys) => keys.iter().all(|k| DRAIN_FIELDS.contains(k)),
                        None => v.as_array().is_some_and(|a| a.len() <= DRAIN_FIELDS.len()),
                    };
                    prop_assert!(ok, "{}", v);
                    prop_assert_eq!(serde_json::from_value::<DrainRequest>(v).unwrap(), r);
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        /// Any JSON value: parsed from the value and from its text alike; accepted only with
        /// known fields of the right types, the required ones present.
        #[test]
        fn request_bodies_from_arbitrary_json(
            v in prop_oneof![json(), request_like(&REPLAY_FIELDS), request_like(&DRAIN_FIELDS)],
        ) {
            let text = serde_json::to_vec(&v).unwrap();
            let from_value = serde_json::from_value::<ReplayRequest>(v.clone());
            let from_text = serde_json::from_slice::<ReplayRequest>(&text);
            prop_assert_eq!(from_value.as_ref().ok(), from_text.as_ref().ok());
            if let (Ok(r), Some(o)) = (from_value, v.as_object()) {
                prop_assert!(o.keys().all(|k| REPLAY_FIELDS.contains(&k.as_str())));
                prop_assert_eq!(o["tenant_id"].as_str(), Some(r.tenant_id.as_str()));
                prop_assert_eq!(o["saga_name"].as_str(), Some(r.saga_name.as_str()));
                let mode: ReplayMode = serde_json::from_value(o["mode"].clone()).unwrap();
                prop_assert_eq!(mode, r.mode);
                prop_assert_eq!(o.get("dry_run").and_then(Value::as_bool).unwrap_or(false), r.dry_run);
            }
            let from_value = serde_json::from_value::<DrainRequest>(v.clone());
            let from_text = serde_json::from_slice::<DrainRequest>(&text);
            prop_assert_eq!(from_value.as_ref().ok(), from_text.as_ref().ok());
            if let (Ok(r), Some(o)) = (from_value, v.as_object()) {
                prop_assert!(o.keys().all(|k| DRAIN_FIELDS.contains(&k.as_str())));
                prop_assert_eq!(o.get("timeout_ms").and_then(Value::as_u64), r.timeout_ms);
            }
            // Answers the CLI reads: garbage is an error, not a panic.
            let _ = serde_json::from_slice::<StatusResponse>(&text);
            let _ = serde_json::from_slice::<ErrorBody>(&text);
            let _ = serde_json::from_slice::<ReplayStatus>(&text);
            let _ = serde_json::from_slice::<TenantInfo>(&text);
        }

        /// Valid requests round-trip, with or without the optional fields, and an unknown
        /// field is refused by name.
        #[test]
        fn valid_requests_round_trip_and_unknown_fields_are_refused(
            tenant_id in "[A-Za-z0-9_-]{1,20}", saga_name in "[A-Za-z0-9_-]{1,20}",
            mode in prop::sample::select(vec![
                ReplayMode::CheckpointOnly, ReplayMode::CheckpointAndDedupe, ReplayMode::FullReset,
            ]),
            dry_run in any::<bool>(), timeout_ms in any::<Option<u64>>(),
            extra in "[a-z_]{1,12}",
        ) {
            let r = ReplayRequest {
                tenant_id: TenantId::new(tenant_id).unwrap(),
                saga_name: SagaName::new(saga_name).unwrap(),
                mode,
                dry_run,
            };
            let text = serde_json::to_vec(&r).unwrap();
            prop_assert_eq!(&serde_json::from_slice::<ReplayRequest>(&text).unwrap(), &r);
            let mut v = serde_json::to_value(&r).unwrap();
            if !dry_run {
                v.as_object_mut().unwrap().remove("dry_run");
                prop_assert_eq!(&serde_json::from_value::<ReplayRequest>(v.clone()).unwrap(), &r);
            }
            if !REPLAY_FIELDS.contains(&extra.as_str()) {
                v.as_object_mut().unwrap().insert(extra.clone(), Value::Null);
                let e = serde_json::from_value::<ReplayRequest>(v).unwrap_err().to_string();
                prop_assert!(e.contains(&format!("unknown field `{extra}`")), "{}", e);
            }
            let d = DrainRequest { timeout_ms };
            let text = serde_json::to_vec(&d).unwrap();
            prop_assert_eq!(serde_json::from_slice::<DrainRequest>(&text).unwrap(), d);
        }
    }
}

/// One instance in a listing: `GET /admin/tenants/<t>/sagas/<s>/instances`, `runnerctl get
/// instances` and `runnerctl inspect <volume> instances` print the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSummary {
    pub key: String,
    pub state: String,
    pub version: u64,
    pub updated_at_ms: u64,
    pub last_seq: u64,
}

/// A page of a saga's instances in key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstancePage {
    pub items: Vec<InstanceSummary>,
    /// Pass as `after` for the next page; null when this was the last.
    pub next_after: Option<String>,
}
