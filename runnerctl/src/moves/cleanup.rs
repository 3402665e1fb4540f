//! Phase 5, cleanup: the source deletes its copy (unless `--keep-source`), but never the
//! last copy: the target must hold the state. The move record goes.

use serde::Serialize;
use shared::ids::TenantId;
use shared::placement::MoveRecord;
use shared::wire::TenantDataChange;

use super::ctx::Ctx;
use crate::exit::CliError;

/// A finished move.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub tenant: String,
    pub from: String,
    pub to: String,
    /// What the target imported (when resumed past the import: what it holds).
    pub moved: TenantDataChange,
    pub source_deleted: Option<TenantDataChange>,
    pub elapsed_ms: u64,
}

/// `moved`: what this run imported, if it did.
pub async fn run(
    ctx: &Ctx<'_>,
    tenant: &TenantId,
    rec: &MoveRecord,
    rev: u64,
    moved: Option<TenantDataChange>,
) -> Result<Outcome, CliError> {
    let (t, from, to) = (tenant.as_str(), rec.from.clone(), rec.to.clone());
    ctx.step(5, &format!("clean up {from}"));
    let source_deleted = if rec.keep_source {
        ctx.done("kept the copy on the source (--keep-source)");
        None
    } else {
        let target = ctx.info(&to, tenant).await?;
        let source = ctx.info(&from, tenant).await?;
        if source.has_state() && !target.has_state() {
            return Err(CliError::refused(format!(
                "{to} serves {t} but holds none of its state, while {from} still holds {} entries: not deleting them. Something removed the imported copy; copy it back with `runnerctl inspect` export and the admin import, or place {t} on {from} again",
                source.entries()
            )));
        }
        let d = ctx.admin(&from).await?.tenant_delete(tenant).await?;
        ctx.done(&format!(
            "deleted {} instances and {} dedupe markers on {from}",
            d.instances, d.dedupe
        ));
        Some(d)
    };
    ctx.forget(t, rev).await;
    let target = ctx.info(&to, tenant).await?;
    Ok(Outcome {
        tenant: t.into(),
        from,
        to,
        moved: moved.unwrap_or(TenantDataChange {
            tenant: t.into(),
            instances: target.instances,
            dedupe: target.dedupe,
            checkpoints: target.checkpoints,
            outbox: target.outbox,
            timers: target.timers,
            sha256: rec.export_sha256.clone(),
        }),
        source_deleted,
        elapsed_ms: ctx.started.elapsed().as_millis() as u64,
    })
}
