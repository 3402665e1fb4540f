//! Phase 4, flip: the placement names the target (compare-and-swap); the target takes the
//! claim and resumes right after the released position, on the imported checkpoints.

use shared::ids::TenantId;
use shared::placement::{MovePhase, MoveRecord};

use super::ctx::Ctx;
use crate::exit::CliError;

pub async fn run(
    ctx: &Ctx<'_>,
    tenant: &TenantId,
    rec: &mut MoveRecord,
    rev: &mut u64,
    parked: &str,
) -> Result<(), CliError> {
    let (t, from, to) = (tenant.as_str(), rec.from.clone(), rec.to.clone());
    ctx.step(4, &format!("place {t} on {to}"));
    let revision = ctx.swap_placement(t, parked, &to).await?;
    ctx.wait(&format!("{to} to serve {t}"), || async {
        Ok(ctx.info(&to, tenant).await?.served.then_some(()))
    })
    .await?;
    ctx.done(&format!("{to} serves {t} (placement revision {revision})"));
    ctx.audit("move", rec, &from, &to, revision).await;
    ctx.advance(rec, rev, MovePhase::Flipped).await
}
