//! `runnerctl move <tenant> --to <shard> --from-snapshot [ID]`: a move without a live
//! source. The shard that served the tenant is gone for good (its volume lost, no restore
//! of the whole shard wanted); the tenant's state comes from that shard's snapshot instead
//! (docs/runbooks.md#a-shards-volume-was-lost).
//!
//! 1. **preflight**: the source is not running (its lease expired), the target is running,
//!    not cordoned, and holds nothing of the tenant; the tenant's claim names the source.
//! 2. **snapshot**: the source's newest snapshot holding the tenant (or the one named) is
//!    downloaded and verified into a scratch directory; the tenant's position in it is
//!    checked against the event stream (events gone since are refused, exit 7, unless
//!    `--accept-loss`); its outbox entries already published (found in the command and
//!    dead-letter streams) are dropped; the tenant is exported.
//! 3. **import**: the placement is parked (`moving:<from>:<to>`), the target imports the
//!    export in one transaction.
//! 4. **flip**: the claim is released at the snapshot's position with `restored_from`, the
//!    placement names the target; the target records what was published for the tenant
//!    since the snapshot (so nothing is published again), takes the claim and re-applies
//!    the events since the snapshot.
//!
//! Rerunning after an interruption starts over: a parked placement of this move is taken
//! as its own, and a copy the target imported is deleted first.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use shared::edge_storage::snapshot::tenant_positions;
use shared::edge_storage::{DATA_FILE, OutboxEntry, TableId, Volume, WriteOptions, decode_value};
use shared::ids::TenantId;
use shared::placement::{
    AuditEntry, ClaimRecord, ClaimState, RestoredFrom, claim_key, cordon_key, moving_value,
};
use shared::snapshots::{self, Gap, Summary};

use super::ctx::{Ctx, Report};
use crate::cli::NatsArgs;
use crate::exit::{CliError, Kind};
use crate::nats::{registry, who};

/// The move as asked for.
pub struct Request {
    pub tenant: TenantId,
    pub to: String,
    /// A snapshot id, or `latest`.
    pub snapshot: String,
    pub accept_loss: bool,
    pub ignore_cordon: bool,
    pub reason: Option<String>,
    pub timeout: Duration,
}

/// How it ended.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub tenant: String,
    pub from: String,
    pub to: String,
    pub snapshot: Summary,
    /// The tenant's position in the snapshot: the target re-applies everything after it.
    pub position: u64,
    /// The tenant's outbox entries in the snapshot that were already published (dropped).
    pub outbox_dropped: u64,
    pub imported: shared::wire::TenantDataChange,
    /// Events since the snapshot the stream no longer holds (accepted with --accept-loss).
    pub lost: Vec<Gap>,
    pub elapsed_ms: u64,
}

pub async fn run(
    req: &Request,
    nats_args: &NatsArgs,
    token: Option<String>,
    report: &dyn Report,
) -> Result<Restored, CliError> {
    let ctx = Ctx::open(nats_args, token, req.timeout, report).await?;
    let (tenant, t, to) = (&req.tenant, req.tenant.as_str(), req.to.as_str());
    // 1. preflight
    ctx.step(1, "preflight");
    let claim_entry = ctx
        .handoff
        .entry(claim_key(t))
        .await
        .map_err(|e| CliError::failure(format!("cannot read the claim of {t}: {e}")))?
        .filter(|e| e.operation == async_nats::jetstream::kv::Operation::Put);
    let claim: Option<ClaimRecord> = claim_entry
        .as_ref()
        .and_then(|e| serde_json::from_slice(&e.value).ok());
    let (placed, _) = ctx.placement_of(t).await?;
    let from = match (&claim, &placed) {
        (Some(c), _) => c.shard.clone(),
        (None, Some(p)) => p.clone(),
        (None, None) => {
            return Err(CliError::not_found(format!(
                "{t} has no claim and no placement: no shard ever served it, so there is no snapshot to take its state from"
            )));
        }
    };
    if from == to {
        return Err(CliError::refused(format!(
            "{t} was served by {to} itself: restore the shard's volume instead (`runnerctl restore {to} --to <dir>`)"
        )));
    }
    let parked = moving_value(&from, to);
    let resuming = placed.as_deref() == Some(parked.as_str());
    let live = registry(&ctx.nats).await?;
    if live.iter().any(|r| r.shard_id == from) {
        return Err(CliError::refused(format!(
            "shard {from}, which served {t}, is running: its state is live there; move it with `runnerctl move {t} --to {to}` (this takes it from a snapshot only when the source is gone)"
        )));
    }
    if !req.ignore_cordon
        && ctx
            .handoff
            .get(cordon_key(to))
            .await
            .ok()
            .flatten()
            .is_some()
    {
        return Err(CliError::refused(format!(
            "shard {to} is cordoned: no tenant is moved onto it; nothing changed (`runnerctl uncordon {to}`, or --ignore-cordon)"
        )));
    }
    let dst = ctx.shard(to).await?;
    if dst.state != shared::wire::RunnerState::Running {
        return Err(CliError::refused(format!(
            "shard {to} is {}: it must be running to import the tenant",
            dst.state
        )));
    }
    let admin = ctx.admin(to).await?;
    let held = admin.tenant_info(tenant).await?;
    if held.has_state() {
        if !resuming {
            return Err(CliError::refused(format!(
                "shard {to} already holds {} entries for {t}; merging states is not supported; nothing changed",
                held.entries()
            )));
        }
        report.note(&format!(
            "resuming: {t}'s placement is parked for this move; deleting what {to} imported before"
        ));
        admin.tenant_delete(tenant).await?;
    }
    ctx.done(&format!(
        "{t} was served by {from}, which is not running; {to} holds nothing of it"
    ));

    // 2. snapshot
    ctx.step(2, &format!("take {t}'s state from a snapshot of {from}"));
    let store = crate::cmd::snapshots::store(&ctx.nats, &nats_args.snapshot_bucket).await?;
    let all = snapshots::list(&store, Some(&from))
        .await
        .map_err(CliError::failure)?;
    let candidates: Vec<&Summary> = if req.snapshot == "latest" {
        all.iter().rev().collect()
    } else {
        all.iter().filter(|s| s.id == req.snapshot).collect()
    };
    if candidates.is_empty() {
        return Err(CliError::not_found(format!(
            "shard {from} has no snapshot{} in bucket {} (`runnerctl snapshots {from}`)",
            if req.snapshot == "latest" {
                String::new()
            } else {
                format!(" {}", req.snapshot)
            },
            nats_args.snapshot_bucket
        )));
    }
    // The newest snapshot whose description holds the tenant (descriptions are small:
    // no volume is downloaded to look).
    let mut chosen = None;
    for s in &candidates {
        match snapshots::describe(&store, &from, &s.id).await {
            Ok(d) if d.positions.contains_key(t) => {
                chosen = Some(((*s).clone(), d.positions[t]));
                break;
            }
            Ok(_) if req.snapshot != "latest" => {
                return Err(CliError::not_found(format!(
                    "snapshot {} of {from} holds nothing of {t}",
                    s.id
                )));
            }
            Ok(_) => {}
            Err(e) => report.note(&format!("skipping snapshot {}: {e}", s.id)),
        }
    }
    let Some((summary, position)) = chosen else {
        return Err(CliError::not_found(format!(
            "no snapshot of {from} holds {t} ({} looked at)",
            candidates.len()
        )));
    };
    let scratch = tempfile::Builder::new()
        .prefix("runnerctl-snapshot-")
        .tempdir()
        .map_err(|e| CliError::failure(format!("cannot make a scratch directory: {e}")))?;
    let dir = scratch.path();
    snapshots::download(&store, &from, &summary.id, &dir.join(DATA_FILE)).await?;
    let vol = Volume::open_for_write(dir, &WriteOptions::new(&from)).map_err(|e| {
        CliError::new(
            Kind::Unreadable,
            format!(
                "snapshot {} is refused: its data is not {from}'s volume: {e}",
                summary.id
            ),
        )
    })?;
    if vol.read(tenant_positions)?.get(t) != Some(&position) {
        return Err(CliError::new(
            Kind::Unreadable,
            format!(
                "snapshot {} is refused: its data does not hold {t} at position {position}, as its description says",
                summary.id
            ),
        ));
    }
    let layout = vol.read(shared::edge_storage::snapshot::volume_layout)?;
    let ends = snapshots::stream_ends(&ctx.nats.js, &layout)
        .await
        .map_err(|e| CliError::new(Kind::Unreachable, e))?;
    let lost = vol.read(|r| snapshots::gaps(r, [(t, Some(position))], &ends))?;
    if !lost.is_empty() && !req.accept_loss {
        return Err(CliError::refused(format!(
            "nothing changed: the event stream no longer holds events of {t} since snapshot {} of {from}: {}. Pass --accept-loss to go on without them",
            summary.id,
            snapshots::describe_gaps(&lost)
        )));
    }
    // Its outbox entries the lost shard published: the target must not publish them again.
    let published: BTreeSet<String> = snapshots::published_since_snapshot(
        &ctx.nats.js,
        (
            shared::names::DEFAULT_COMMAND_STREAM,
            shared::names::DEFAULT_DLQ_STREAM,
        ),
        summary.taken_at_ms,
        snapshots::Whose::Tenant(t),
    )
    .await
    .map_err(|e| CliError::new(Kind::Unreachable, e))?
    .into_iter()
    .collect();
    let outbox_dropped = vol.write(|w| {
        let mut gone = Vec::new();
        w.scan(TableId::Outbox, &[], None, |k, v| {
            let e: OutboxEntry = decode_value(v)?;
            if e.tenant == t && published.contains(&e.msg_id) {
                gone.push((k.to_vec(), e.saga));
            }
            Ok(true)
        })?;
        for (k, s) in &gone {
            w.delete_outbox(k, t, s)?;
        }
        Ok::<_, shared::edge_storage::StorageError>(gone.len() as u64)
    })?;
    let mut export = Vec::new();
    let (stream_id, timers_through) = vol.read(|r| {
        shared::edge_storage::export::export(r, t, None, &mut export)?;
        let g = layout.group_of(t);
        Ok::<_, shared::edge_storage::StorageError>((
            r.meta_str(&shared::edge_storage::meta::stream_id(&layout, g))?,
            r.meta_u64(&shared::edge_storage::meta::fired_through(t))?
                .unwrap_or(0),
        ))
    })?;
    drop(vol);
    ctx.done(&format!(
        "snapshot {} (taken {}): {t} at stream position {position}, {} bytes exported, {outbox_dropped} published outbox entries dropped",
        summary.id,
        crate::output::utc(summary.taken_at_ms),
        export.len()
    ));

    // 3. import
    ctx.step(3, &format!("import on {to}"));
    if !resuming {
        match &placed {
            Some(p) => {
                ctx.swap_placement(t, p, &parked).await?;
            }
            None => {
                ctx.placement
                    .create(t, Bytes::from(parked.clone()))
                    .await
                    .map_err(|e| {
                        CliError::conflict(format!(
                            "the placement of {t} changed while this command ran ({e}); rerun"
                        ))
                    })?;
            }
        }
    }
    let imported = admin.tenant_import(tenant, Bytes::from(export)).await?;
    ctx.done(&format!(
        "{to} imported {} instances, {} dedupe markers, {} timers",
        imported.instances, imported.dedupe, imported.timers
    ));

    // 4. flip
    ctx.step(4, &format!("place {t} on {to}"));
    let rec = ClaimRecord {
        shard: from.clone(),
        state: ClaimState::Released,
        position,
        updated_at_ms: shared::now_ms(),
        volume_id: None,
        stream_id,
        timers_through_ms: timers_through,
        restored_from: Some(RestoredFrom {
            snapshot: summary.id.clone(),
            taken_at_ms: summary.taken_at_ms,
        }),
    };
    let body = Bytes::from(serde_json::to_vec(&rec).expect("serialisable"));
    let written = match &claim_entry {
        Some(e) => ctx
            .handoff
            .update(claim_key(t), body, e.revision)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        None => ctx
            .handoff
            .create(claim_key(t), body)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
    };
    written.map_err(|e| {
        CliError::conflict(format!(
            "the claim of {t} changed while this command ran ({e}); rerun to continue"
        ))
    })?;
    let revision = ctx.swap_placement(t, &parked, to).await?;
    ctx.wait(&format!("{to} to serve {t}"), || async {
        Ok(ctx.info(to, tenant).await?.served.then_some(()))
    })
    .await?;
    let (user, host) = who();
    ctx.nats
        .audit_best_effort(&AuditEntry {
            action: "move-from-snapshot".into(),
            tenant: t.to_string(),
            before: Some(from.clone()),
            after: Some(to.to_string()),
            revision,
            who: user,
            host,
            at_ms: shared::now_ms(),
            reason: req.reason.clone(),
            forced: !lost.is_empty(),
        })
        .await;
    ctx.done(&format!(
        "{to} serves {t} from position {position} (placement revision {revision})"
    ));
    Ok(Restored {
        tenant: t.to_string(),
        from,
        to: to.to_string(),
        snapshot: summary,
        position,
        outbox_dropped,
        imported,
        lost,
        elapsed_ms: ctx.started.elapsed().as_millis() as u64,
    })
}
