//! Phase 3, transfer: export from the source, import on the target in one transaction
//! there, verified by counts and SHA-256.

use shared::ids::TenantId;
use shared::placement::{MovePhase, MoveRecord};
use shared::wire::TenantDataChange;

use super::ctx::Ctx;
use crate::exit::CliError;

/// Returns what the target imported.
pub async fn run(
    ctx: &Ctx<'_>,
    tenant: &TenantId,
    rec: &mut MoveRecord,
    rev: &mut u64,
) -> Result<TenantDataChange, CliError> {
    let (from, to) = (rec.from.clone(), rec.to.clone());
    ctx.step(3, &format!("export from {from}, import on {to}"));
    let export = ctx.admin(&from).await?.tenant_export(tenant).await?;
    let dst = ctx.admin(&to).await?;
    if dst.tenant_info(tenant).await?.has_state() {
        // A previous run imported (or half-knew it did): start the import over.
        dst.tenant_delete(tenant).await?;
    }
    let done = dst.tenant_import(tenant, export.clone()).await?;
    ctx.done(&format!(
        "{} bytes: {} instances, {} dedupe markers, {} checkpoints, {} timers, {} outbox entries, sha256 {}",
        export.len(),
        done.instances,
        done.dedupe,
        done.checkpoints,
        done.timers,
        done.outbox,
        done.sha256.as_deref().unwrap_or("-")
    ));
    rec.export_sha256 = done.sha256.clone();
    rec.exported_entries =
        Some(done.instances + done.dedupe + done.checkpoints + done.timers + done.outbox);
    ctx.advance(rec, rev, MovePhase::Imported).await?;
    Ok(done)
}
