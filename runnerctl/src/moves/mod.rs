//! Moving a tenant with its state from one shard to another, resumable: the operation
//! behind `runnerctl move` and the dashboard's move action. One module per phase.
//!
//! Phases, each recorded in `move.<tenant>` (hand-over bucket) once done, so a rerun
//! continues after the last recorded one and `--abort` knows what to undo:
//!
//! 1. [`preflight`] (nothing written): both shards live and running, the tenant placed on
//!    the source, the target holding no state for it, export formats compatible;
//! 2. [`release`]: the placement is parked as `moving:<from>:<to>` (compare-and-swap), so no
//!    shard serves the tenant; the source commits its last batch, records the release
//!    position in the tenant's claim and publishes the tenant's outbox;
//! 3. [`transfer`]: export from the source and import on the target (one transaction there,
//!    verified by counts and SHA-256);
//! 4. [`flip`]: the placement names the target (compare-and-swap); the target takes the
//!    claim and resumes right after the released position, on the imported checkpoints;
//! 5. [`cleanup`]: the source deletes its copy (unless `keep_source`).
//!
//! Two shards never serve the tenant at once (the placement is parked, and the claims
//! decide who serves), and since the target starts after the position up to which the
//! source applied everything, no event is lost or applied twice.

mod abort;
mod cleanup;
mod ctx;
mod flip;
pub mod from_snapshot;
mod preflight;
mod release;
mod transfer;

use std::time::Duration;

use shared::ids::{ShardId, TenantId};
use shared::placement::{MovePhase, moving_value};

pub use cleanup::Outcome;
pub use ctx::Report;
pub use preflight::Plan;

use crate::cli::NatsArgs;
use crate::exit::CliError;
use ctx::Ctx;
use preflight::{Checked, Wanted};

/// A move, or the abort of one.
#[derive(Debug, Clone)]
pub struct Request {
    pub tenant: TenantId,
    /// The target shard (not needed to abort).
    pub to: Option<String>,
    /// Why, for the audit trail.
    pub reason: Option<String>,
    pub keep_source: bool,
    /// Stop after the preflight with the plan.
    pub dry_run: bool,
    /// Roll an unfinished move back instead.
    pub abort: bool,
    /// Move even onto a cordoned shard.
    pub ignore_cordon: bool,
    /// How long to wait for each phase.
    pub timeout: Duration,
    /// Stop right after this phase is recorded, as if interrupted there (a test hook).
    pub stop_after: Option<MovePhase>,
}

/// How a move ended.
#[derive(Debug, Clone)]
pub enum Done {
    /// A dry run: what it would do.
    Planned(Plan),
    Moved(Outcome),
    /// An abort: the source (named) serves the tenant again.
    Aborted {
        from: String,
    },
    /// Stopped after the phase, as `stop_after` asked.
    Stopped(MovePhase),
}

/// Runs (or resumes, or aborts) a move, saying how it goes through `report`.
pub async fn run(
    req: &Request,
    nats_args: &NatsArgs,
    token: Option<String>,
    report: &dyn Report,
) -> Result<Done, CliError> {
    let ctx = Ctx::open(nats_args, token, req.timeout, report).await?;
    let tenant = &req.tenant;
    if req.abort {
        return Ok(Done::Aborted {
            from: abort::run(&ctx, tenant).await?,
        });
    }
    let Some(to) = req.to.clone() else {
        return Err(CliError::usage("--to SHARD is required (or --abort)"));
    };
    ShardId::new(to.clone()).map_err(|e| CliError::usage(format!("--to: {e}")))?;
    let t = tenant.as_str();
    let (mut rec, mut rev) = match ctx.record(t).await? {
        Some((r, rev)) => {
            if r.to != to {
                return Err(CliError::conflict(format!(
                    "a move of {t} from {} to {} is in progress (phase {}); rerun with --to {} to finish it, or --abort",
                    r.from,
                    r.to,
                    r.phase.as_str(),
                    r.to
                )));
            }
            report.note(&format!(
                "resuming the move of {t} from {} to {} after phase {}",
                r.from,
                r.to,
                r.phase.as_str()
            ));
            (r, rev)
        }
        None => {
            let want = Wanted {
                to: &to,
                reason: req.reason.clone(),
                keep_source: req.keep_source,
                dry_run: req.dry_run,
                ignore_cordon: req.ignore_cordon,
            };
            match preflight::run(&ctx, tenant, &want).await? {
                Checked::Plan(p) => return Ok(Done::Planned(p)),
                Checked::Recorded(rec, rev) => (rec, rev),
            }
        }
    };
    let parked = moving_value(&rec.from, &to);
    let stop = |phase| req.stop_after == Some(phase);
    if rec.phase == MovePhase::Releasing {
        release::run(&ctx, tenant, &mut rec, &mut rev, &parked).await?;
        if stop(MovePhase::Released) {
            return Ok(Done::Stopped(MovePhase::Released));
        }
    }
    let mut moved = None;
    if rec.phase == MovePhase::Released {
        moved = Some(transfer::run(&ctx, tenant, &mut rec, &mut rev).await?);
        if stop(MovePhase::Imported) {
            return Ok(Done::Stopped(MovePhase::Imported));
        }
    }
    if rec.phase == MovePhase::Imported {
        flip::run(&ctx, tenant, &mut rec, &mut rev, &parked).await?;
        if stop(MovePhase::Flipped) {
            return Ok(Done::Stopped(MovePhase::Flipped));
        }
    }
    Ok(Done::Moved(
        cleanup::run(&ctx, tenant, &rec, rev, moved).await?,
    ))
}
