//! Phase 1, preflight: nothing is written before every check passed. Both shards live and
//! running, the tenant placed on the source, the target holding no state for it, export
//! formats compatible. A dry run stops here with the plan.

use serde::Serialize;
use shared::ids::TenantId;
use shared::placement::{MovePhase, MoveRecord};
use shared::routes;
use shared::wire::{RunnerState, TenantInfo};

use super::ctx::Ctx;
use crate::exit::CliError;
use crate::nats::who;

/// What a move would do (`--dry-run`).
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub tenant: String,
    pub from: String,
    pub to: String,
    /// What the source holds for the tenant: what moves.
    pub source: TenantInfo,
    pub keep_source: bool,
}

/// The move as the operator asked for it.
pub struct Wanted<'a> {
    pub to: &'a str,
    pub reason: Option<String>,
    pub keep_source: bool,
    pub dry_run: bool,
    /// Move even onto a cordoned shard.
    pub ignore_cordon: bool,
}

pub enum Checked {
    /// A dry run: the plan, nothing written.
    Plan(Plan),
    /// The move is recorded (phase `releasing`) at this revision.
    Recorded(MoveRecord, u64),
}

pub async fn run(ctx: &Ctx<'_>, tenant: &TenantId, want: &Wanted<'_>) -> Result<Checked, CliError> {
    let (t, to) = (tenant.as_str(), want.to);
    ctx.step(1, "preflight");
    let from = source_shard(ctx, t, to).await?;
    if !want.ignore_cordon
        && let Some(c) = ctx
            .handoff
            .get(shared::placement::cordon_key(to))
            .await
            .ok()
            .flatten()
    {
        let c: Option<shared::placement::CordonRecord> = serde_json::from_slice(&c).ok();
        return Err(CliError::refused(format!(
            "shard {to} is cordoned{}: no tenant is moved onto it; nothing changed (`runnerctl uncordon {to}`, or --ignore-cordon)",
            c.map(|c| crate::cmd::cordon::describe(&c))
                .unwrap_or_default()
        )));
    }
    let (src, dst) = (ctx.shard(&from).await?, ctx.shard(to).await?);
    for s in [&src, &dst] {
        if s.state != RunnerState::Running {
            return Err(CliError::refused(format!(
                "shard {} is {}: a move needs both shards running (`runnerctl resume {}`)",
                s.shard_id, s.state, s.shard_id
            )));
        }
    }
    let source = ctx.info(&from, tenant).await?;
    let target = ctx.info(to, tenant).await?;
    if target.has_state() {
        return Err(CliError::refused(format!(
            "shard {to} already holds {} entries for {t}; merging states is not supported: inspect them, and delete them (DELETE {} on {to}) if they are stale",
            target.entries(),
            routes::tenant(tenant)
        )));
    }
    if source.export_format_version > target.export_format_version {
        return Err(CliError::refused(format!(
            "shard {from} writes export format {} but {to} reads only up to {}: upgrade {to} first",
            source.export_format_version, target.export_format_version
        )));
    }
    ctx.done(&format!(
        "{t} on {from}: {} instances, {} dedupe markers, {} checkpoints, {} timers, {} outbox entries; {to} holds nothing for it",
        source.instances, source.dedupe, source.checkpoints, source.timers, source.outbox
    ));
    if want.dry_run {
        return Ok(Checked::Plan(Plan {
            tenant: t.into(),
            from,
            to: to.into(),
            source,
            keep_source: want.keep_source,
        }));
    }
    let (user, host) = who();
    let now = shared::now_ms();
    let rec = MoveRecord {
        tenant: t.into(),
        from,
        to: to.into(),
        phase: MovePhase::Releasing,
        started_at_ms: now,
        updated_at_ms: now,
        who: format!("{user}@{host}"),
        reason: want.reason.clone(),
        keep_source: want.keep_source,
        export_sha256: None,
        exported_entries: None,
    };
    let rev = ctx.save(&rec, None).await?;
    Ok(Checked::Recorded(rec, rev))
}

/// The shard the tenant is placed on, which must not be `to` or a parked placement.
async fn source_shard(ctx: &Ctx<'_>, t: &str, to: &str) -> Result<String, CliError> {
    let from = match ctx.placement_of(t).await?.0 {
        None => {
            return Err(CliError::not_found(format!(
                "{t} is not placed: there is nothing to move (`runnerctl place` places it)"
            )));
        }
        Some(c) if c.starts_with("moving:") => {
            return Err(CliError::conflict(format!(
                "{t} is parked as '{c}' without a move record; fix the placement with `runnerctl place`"
            )));
        }
        Some(c) => c,
    };
    if from == to {
        return Err(CliError::refused(format!(
            "{t} is already placed on {to}; nothing to move"
        )));
    }
    Ok(from)
}
