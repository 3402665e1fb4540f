//! The first start on a volume restored from a snapshot (docs/storage.md#snapshots,
//! docs/runbooks.md#a-shards-volume-was-lost).
//!
//! Before anything is read or published, once:
//! 1. **Which tenants** the volume serves: those of the allowlist, or those whose claims name
//!    this shard. A tenant claimed here but absent from the snapshot (it arrived after it)
//!    starts from the beginning of the stream.
//! 2. **The gap check**: each tenant reads on from its position in the snapshot. If its
//!    stream no longer holds the sequences right after that position (its limits removed
//!    them), events of the tenant that the lost volume had applied may be gone for good: the
//!    runner refuses to start (exit 3) naming the tenants, their sagas and the sequences,
//!    unless the operator accepted the loss (`RUNNER_RESTORE_ACCEPT_LOSS=true`, or
//!    `runnerctl restore --accept-loss`).
//! 3. **The guard**: every command and dead letter the lost volume published after the
//!    snapshot is in the command and dead-letter streams. Their ids (`Nats-Msg-Id`) are read
//!    from there (from two minutes before the snapshot, headers only) and recorded in the
//!    volume; re-applying the events since the snapshot then rebuilds the same state
//!    without publishing any of them again, however long after the duplicate window.
//!    Copies in the snapshot's outbox that were published are dropped. The engine ends the
//!    guard once every tenant is past the stream's end as of the check, and its timers past
//!    the time of the check.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use async_nats::jetstream::{self, kv::Operation};
use futures_util::StreamExt;
use shared::edge_storage::Volume;
use shared::edge_storage::snapshot::{RestoreGuard, tenant_positions};
use shared::placement::{ClaimRecord, ClaimState};
use tracing::{info, warn};

use crate::app::RunError;

/// Ids recorded per write transaction.
const IDS_PER_TXN: usize = 20_000;

/// What [`check_at_start`] needs.
pub struct Check<'a> {
    pub vol: &'a Arc<Volume>,
    pub js: &'a jetstream::Context,
    pub layout: &'a shared::layout::Layout,
    pub shard: &'a str,
    pub volume_id: &'a str,
    /// The allowlist, or `None` under placement (the claims say).
    pub allowlist: Option<Vec<String>>,
    pub handoff_bucket: &'a str,
    pub commands_stream: &'a str,
    pub dlq_stream: &'a str,
    pub accept_loss: bool,
}

/// Does the checks of a restored volume's first start and installs the guard; nothing for
/// any other volume. An `Err` stops the runner (exit 3 for lost events).
pub async fn check_at_start(c: Check<'_>) -> Result<(), RunError> {
    let Some(rec) = c.vol.read(|r| r.restored())? else {
        return Ok(());
    };
    if rec.checked_at_ms.is_some() {
        return Ok(());
    }
    let started = Instant::now();
    info!(snapshot = %rec.snapshot, taken_at_ms = rec.taken_at_ms, "first start on a volume restored from a snapshot: checking the event stream and the published commands");
    let tenants = served(&c).await?;
    let positions = c.vol.read(tenant_positions)?;
    let ends = shared::snapshots::stream_ends(c.js, c.layout)
        .await
        .map_err(RunError::Runtime)?;
    // Tenants whose events the stream no longer fully holds since their position.
    let lost = c.vol.read(|r| {
        shared::snapshots::gaps(
            r,
            tenants
                .iter()
                .map(|t| (t.as_str(), positions.get(t).copied())),
            &ends,
        )
    })?;
    let accepted = c.accept_loss || rec.accepted_loss.is_some();
    if !lost.is_empty() {
        let text = shared::snapshots::describe_gaps(&lost);
        if !accepted {
            return Err(RunError::Stream(format!(
                "volume restored from snapshot {} (taken at {} ms): the event stream no longer holds events it has not applied, which the lost volume may have applied: {text}. Serving would go on without them. Restore a newer snapshot if there is one (`runnerctl snapshots {}`), or accept the loss: start with RUNNER_RESTORE_ACCEPT_LOSS=true (see docs/runbooks.md#a-shards-volume-was-lost)",
                rec.snapshot, rec.taken_at_ms, c.shard
            )));
        }
        warn!(snapshot = %rec.snapshot, "serving a restored volume although the stream no longer holds events since the snapshot (the loss was accepted): {text}");
    }
    let until: BTreeMap<u16, u64> = ends.iter().map(|(g, (_, last))| (*g, *last)).collect();
    let ids = shared::snapshots::published_since_snapshot(
        c.js,
        (c.commands_stream, c.dlq_stream),
        rec.taken_at_ms,
        shared::snapshots::Whose::Tenants(&tenants),
    )
    .await
    .map_err(RunError::Runtime)?;
    let found = ids.len() as u64;
    let guard = RestoreGuard {
        snapshot: rec.snapshot.clone(),
        built_at_ms: shared::now_ms(),
        until,
        tenants: tenants.iter().cloned().collect(),
        ids: found,
        suppressed: 0,
    };
    let vol = c.vol.clone();
    let dropped = tokio::task::spawn_blocking(move || {
        for chunk in ids.chunks(IDS_PER_TXN) {
            vol.write(|w| w.add_published(chunk.iter().map(String::as_str)))?;
        }
        vol.write(|w| w.install_guard(&guard))
    })
    .await
    .map_err(|e| RunError::Runtime(e.to_string()))??;
    info!(
        snapshot = %rec.snapshot,
        tenants = tenants.len(),
        published = found,
        dropped_from_outbox = dropped,
        took_ms = started.elapsed().as_millis() as u64,
        "restored volume checked: {found} commands and dead letters published since the snapshot will not be published again; {dropped} copies in its outbox dropped"
    );
    Ok(())
}

/// The tenants the restored volume will serve.
async fn served(c: &Check<'_>) -> Result<BTreeSet<String>, RunError> {
    if let Some(list) = &c.allowlist {
        return Ok(list.iter().cloned().collect());
    }
    let bucket = match shared::nats::open_bucket(c.js, c.handoff_bucket).await {
        Ok(b) => b,
        Err(shared::nats::BucketError::NotFound(_)) => return Ok(BTreeSet::new()),
        Err(e) => return Err(RunError::Runtime(e.to_string())),
    };
    let fail =
        |e: &dyn std::fmt::Display| RunError::Runtime(format!("cannot read the claims: {e}"));
    let keys: Vec<String> = bucket
        .keys()
        .await
        .map_err(|e| fail(&e))?
        .filter_map(|k| async move { k.ok() })
        .filter(|k| std::future::ready(k.starts_with("claim.")))
        .collect()
        .await;
    let claims: Vec<Result<(String, Option<ClaimRecord>), RunError>> =
        futures_util::stream::iter(keys)
            .map(|k| {
                let bucket = &bucket;
                async move {
                    let entry = bucket.entry(k.clone()).await.map_err(|e| fail(&e))?;
                    let claim = entry
                        .filter(|e| e.operation == Operation::Put)
                        .and_then(|e| serde_json::from_slice::<ClaimRecord>(&e.value).ok());
                    Ok((k.trim_start_matches("claim.").to_string(), claim))
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
    let mut out = BTreeSet::new();
    for r in claims {
        if let (t, Some(cl)) = r?
            && cl.shard == c.shard
            && cl.state == ClaimState::Active
            && cl.volume_id.as_deref().is_none_or(|v| v == c.volume_id)
        {
            out.insert(t);
        }
    }
    Ok(out)
}

/// One tenant's state restored from a snapshot onto this shard (`runnerctl move
/// --from-snapshot`, the claim's `restored_from`): before the shard takes the tenant, records what
/// was published for it since the snapshot and adds the tenant to the guard, so that
/// re-applying its events since the snapshot publishes none of it again. Idempotent.
pub async fn guard_tenant(
    js: &jetstream::Context,
    vol: &Arc<Volume>,
    layout: &shared::layout::Layout,
    tenant: &str,
    from: &shared::placement::RestoredFrom,
    streams: (&str, &str),
) -> Result<(), String> {
    let g = layout.group_of(tenant);
    let until = shared::snapshots::stream_ends(js, layout)
        .await?
        .get(&g)
        .map(|(_, last)| *last)
        .unwrap_or(0);
    let ids = shared::snapshots::published_since_snapshot(
        js,
        streams,
        from.taken_at_ms,
        shared::snapshots::Whose::Tenant(tenant),
    )
    .await?;
    let guard = RestoreGuard {
        snapshot: from.snapshot.clone(),
        built_at_ms: shared::now_ms(),
        until: BTreeMap::from([(g, until)]),
        tenants: vec![tenant.to_string()],
        ids: ids.len() as u64,
        suppressed: 0,
    };
    let (vol, t, n) = (vol.clone(), tenant.to_string(), ids.len());
    let dropped = tokio::task::spawn_blocking(move || {
        vol.write(|w| {
            w.add_published(ids.iter().map(String::as_str))?;
            w.merge_guard(&guard, Some(&t))
        })
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    info!(
        tenant,
        snapshot = %from.snapshot,
        published = n,
        dropped_from_outbox = dropped,
        "tenant restored from a snapshot: {n} commands and dead letters published for it since will not be published again"
    );
    Ok(())
}
