//! Records of the placement protocol, shared by the runner and `runnerctl`: the shard
//! registry (which is also the shard lease), tenant claims and position reports (the
//! hand-over), the audit trail of placement edits, and the runner's notices.
//!
//! Buckets (NATS KV):
//! * placement (`RUNNER_TENANT_PLACEMENT_BUCKET`, runnerctl default `runner_placement`):
//!   key = tenant, value = shard id. Written by operators (`runnerctl place`).
//! * registry (`runner_shards`): key = shard id, value = [`ShardRecord`]. The bucket's
//!   `max_age` is the lease time: a runner creates its key to take the shard and updates it
//!   (compare-and-swap) to keep it; a dead runner's key expires.
//! * handoff (`runner_handoff`): `claim.<tenant>` = [`ClaimRecord`] (who serves a tenant, or
//!   where its last owner released it), `positions.<shard>` = [`PositionsRecord`] (how far
//!   each tenant of a shard was applied, reported with every heartbeat) and
//!   `ended.<shard>.<tenant>` = [`EndedRecord`] (where a shard's ownership of a tenant ended,
//!   for that shard to read when it comes back), and `cordon.<shard>` = [`CordonRecord`]
//!   (present while an operator keeps new tenants off the shard).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::wire::Counters;

/// Default name of the placement bucket used by `runnerctl` and `runnerctl dev`.
pub const DEFAULT_PLACEMENT_BUCKET: &str = "runner_placement";
/// Default name of the shard registry (and lease) bucket.
pub const DEFAULT_REGISTRY_BUCKET: &str = "runner_shards";
/// Default name of the hand-over bucket (claims and position reports).
pub const DEFAULT_HANDOFF_BUCKET: &str = "runner_handoff";
/// Stream of audit entries (`audit.placement.<tenant>`).
pub const AUDIT_STREAM: &str = "RUNNER_AUDIT";
/// Revisions kept per key in the placement bucket (for `runnerctl history`).
pub const PLACEMENT_HISTORY: i64 = 64;

/// Key of a tenant's claim in the hand-over bucket.
pub fn claim_key(tenant: &str) -> String {
    format!("claim.{tenant}")
}

/// Key of a shard's cordon in the hand-over bucket: present while the shard is cordoned.
pub fn cordon_key(shard: &str) -> String {
    format!("cordon.{shard}")
}

/// A cordoned shard keeps serving its tenants, but `runnerctl place`, `move` and
/// `rebalance` do not pick it as a target (`runnerctl cordon`, like `kubectl cordon`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CordonRecord {
    pub shard: String,
    #[serde(default)]
    pub reason: Option<String>,
    /// `user@host` of who cordoned it.
    pub by: String,
    pub at_ms: u64,
}

/// Key of a shard's position report in the hand-over bucket.
pub fn positions_key(shard: &str) -> String {
    format!("positions.{shard}")
}

/// Subject of the audit entries of a tenant's placement.
pub fn audit_subject(tenant: &str) -> String {
    format!("audit.placement.{tenant}")
}

/// Subject a runner publishes its notices on (core NATS, not stored).
pub fn notice_subject(shard: &str) -> String {
    format!("runner.notice.{shard}")
}

/// A runner's heartbeat in the registry; holding the key is holding the shard's lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    pub shard_id: String,
    pub admin_url: String,
    pub version: String,
    pub state: crate::wire::RunnerState,
    pub host: String,
    pub pid: u32,
    pub started_at_ms: u64,
    pub heartbeat_at_ms: u64,
    /// How long the lease lasts without a heartbeat.
    pub lease_ms: u64,
    /// Tenants served now.
    pub tenants: Vec<String>,
    pub counters: Counters,
    /// Events delivered to the runner by its readers since it started, its tenants' or not
    /// (its read share, beside `counters.applied`).
    #[serde(default)]
    pub events_read: u64,
    /// The volume the runner writes (`meta.volume_id`).
    #[serde(default)]
    pub volume_id: String,
}

/// Who serves a tenant, or where it was last released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRecord {
    /// The shard that serves (or last served) the tenant.
    pub shard: String,
    pub state: ClaimState,
    /// Every event of the tenant up to this stream sequence was applied by `shard` (for a
    /// release: its final position; for an active claim: where `shard` took the tenant, or
    /// later).
    pub position: u64,
    pub updated_at_ms: u64,
    /// The volume of `shard` holding the tenant's state (`meta.volume_id`). A shard that
    /// finds its own claim made with another volume knows its state was lost. `None`: the
    /// state is not tied to a volume (an operator accepted its loss, or a claim from before
    /// volumes were recorded).
    #[serde(default)]
    pub volume_id: Option<String>,
    /// The identity of the event stream `position` is a sequence of
    /// (`names::msg_id::stream_identity`); a position in another stream means nothing.
    #[serde(default)]
    pub stream_id: Option<String>,
    /// When the tenant was last released: its timers due at or before this (ms) had fired
    /// (0: none fired at the release). Kept by the shard that takes the claim.
    #[serde(default)]
    pub timers_through_ms: u64,
    /// On a release written by `runnerctl move --from-snapshot`: the tenant's state (imported on
    /// the shard placed next) comes from this snapshot, and `position` is the snapshot's.
    /// The shard taking the claim first records what was published since the snapshot, so
    /// that re-applying the events since does not publish it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_from: Option<RestoredFrom>,
}

/// A snapshot a tenant's state was restored from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoredFrom {
    pub snapshot: String,
    pub taken_at_ms: u64,
}

/// Key of the record a new owner leaves for the shard it took a tenant from: where the old
/// owner's ownership ended (`ended.<shard>.<tenant>`).
pub fn ended_key(shard: &str, tenant: &str) -> String {
    format!("ended.{shard}.{tenant}")
}

/// Where a shard's ownership of a tenant ended: its successor applies everything after
/// `position` itself. The old shard, if it still holds unpublished commands of the tenant,
/// publishes those caused at or before `position` (nobody else has them) and drops the
/// rest (the successor made them again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedRecord {
    pub tenant: String,
    /// The shard that owned the tenant.
    pub shard: String,
    /// The shard that took it over.
    pub by: String,
    pub position: u64,
    /// Taken over from a shard whose lease expired (rather than released by it).
    pub taken_over: bool,
    #[serde(default)]
    pub stream_id: Option<String>,
    pub at_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    /// `shard` serves the tenant now.
    Active,
    /// `shard` stopped serving it after applying everything up to `position`.
    Released,
}

/// How far each tenant of a shard was applied, reported with every heartbeat; what a new
/// owner starts after when the old one crashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionsRecord {
    pub shard: String,
    pub at_ms: u64,
    pub tenants: BTreeMap<String, u64>,
    /// The volume the positions were applied to, and the stream they are sequences of.
    #[serde(default)]
    pub volume_id: Option<String>,
    #[serde(default)]
    pub stream_id: Option<String>,
}

/// Who changed a placement, when, why, and from what to what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// `place` or `unplace`.
    pub action: String,
    pub tenant: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The placement key's revision written by the change.
    pub revision: u64,
    pub who: String,
    pub host: String,
    pub at_ms: u64,
    pub reason: Option<String>,
    /// The change was made with `--force` over a refusal.
    pub forced: bool,
}

/// Something a runner did, published on `runner.notice.<shard>` as it happens (for
/// dashboards, `runnerctl watch`, and measurements).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub shard: String,
    pub at_ms: u64,
    pub kind: NoticeKind,
    pub tenant: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The runner took the shard's lease.
    LeaseAcquired,
    /// A tenant is served here now (its reader is running).
    TenantStarted,
    /// A tenant is no longer served here (its last batch committed, released).
    TenantReleased,
    /// A tenant waits for its previous owner to release it.
    TenantWaiting,
    /// A tenant was taken over from a crashed shard.
    TenantTakenOver,
    /// The runner's state changed.
    State,
}

/// Key of a tenant's move record in the hand-over bucket.
pub fn move_key(tenant: &str) -> String {
    format!("move.{tenant}")
}

/// Where a `runnerctl move` stands; each phase is recorded once done, so a rerun resumes
/// after the last one recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovePhase {
    /// Checked; the placement is (being) parked as `moving:<from>:<to>`.
    Releasing,
    /// The source released the tenant (its last batch committed, its outbox flushed).
    Released,
    /// The target imported the source's export (counts and checksum verified).
    Imported,
    /// The placement names the target and the target serves the tenant.
    Flipped,
}

impl MovePhase {
    pub fn as_str(self) -> &'static str {
        match self {
            MovePhase::Releasing => "releasing",
            MovePhase::Released => "released",
            MovePhase::Imported => "imported",
            MovePhase::Flipped => "flipped",
        }
    }
}

/// A tenant move in progress (`move.<tenant>` in the hand-over bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveRecord {
    pub tenant: String,
    pub from: String,
    pub to: String,
    pub phase: MovePhase,
    pub started_at_ms: u64,
    pub updated_at_ms: u64,
    pub who: String,
    pub reason: Option<String>,
    pub keep_source: bool,
    /// Counts and checksum of the export imported on the target.
    #[serde(default)]
    pub export_sha256: Option<String>,
    #[serde(default)]
    pub exported_entries: Option<u64>,
}

/// What a placement value says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementValue {
    Shard(crate::ids::ShardId),
    /// `moving:<from>:<to>`: a tenant move is under way; no shard serves the tenant.
    Moving {
        from: String,
        to: String,
    },
    Invalid(String),
}

/// The placement value that parks a tenant while `runnerctl move` hands its state over.
pub fn moving_value(from: &str, to: &str) -> String {
    format!("moving:{from}:{to}")
}

pub fn parse_placement_value(v: &[u8]) -> PlacementValue {
    if let Some(rest) = v.strip_prefix(b"moving:")
        && let Ok(rest) = std::str::from_utf8(rest)
        && let Some((from, to)) = rest.trim().split_once(':')
    {
        return PlacementValue::Moving {
            from: from.to_string(),
            to: to.to_string(),
        };
    }
    match std::str::from_utf8(v) {
        Ok(s) => match crate::ids::ShardId::new(s.trim()) {
            Ok(id) => PlacementValue::Shard(id),
            Err(e) => PlacementValue::Invalid(e.to_string()),
        },
        Err(_) => PlacementValue::Invalid("the value is not UTF-8".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_values_name_both_shards() {
        assert_eq!(
            parse_placement_value(moving_value("shard-a", "shard-b").as_bytes()),
            PlacementValue::Moving {
                from: "shard-a".into(),
                to: "shard-b".into()
            }
        );
        assert!(matches!(
            parse_placement_value(b"moving:"),
            PlacementValue::Invalid(_)
        ));
    }

    #[test]
    fn placement_values() {
        assert!(
            matches!(parse_placement_value(b"shard-a"), PlacementValue::Shard(s) if s.as_str() == "shard-a")
        );
        assert!(matches!(
            parse_placement_value(b" shard-a\n"),
            PlacementValue::Shard(_)
        ));
        assert!(matches!(
            parse_placement_value(b""),
            PlacementValue::Invalid(_)
        ));
        assert!(matches!(
            parse_placement_value(b"shard a"),
            PlacementValue::Invalid(_)
        ));
        assert!(matches!(
            parse_placement_value(&[0xff]),
            PlacementValue::Invalid(_)
        ));
    }
}
