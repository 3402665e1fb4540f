//! `--abort`: rolls an unfinished move back, so the source serves the tenant again, and
//! removes what the target imported.

use shared::ids::TenantId;
use shared::placement::{MovePhase, moving_value};

use super::ctx::Ctx;
use crate::exit::CliError;

/// Returns the shard that serves the tenant again (the source).
pub async fn run(ctx: &Ctx<'_>, tenant: &TenantId) -> Result<String, CliError> {
    let t = tenant.as_str();
    let Some((rec, rev)) = ctx.record(t).await? else {
        return Err(CliError::not_found(format!(
            "no move of {t} is in progress"
        )));
    };
    if rec.phase >= MovePhase::Flipped {
        return Err(CliError::refused(format!(
            "the move of {t} is past the flip ({} serves it); finish it by rerunning `runnerctl move {t} --to {}`, or move it back with `runnerctl move {t} --to {}` afterwards",
            rec.to, rec.to, rec.from
        )));
    }
    let (from, to) = (rec.from.clone(), rec.to.clone());
    // The flip may have happened before the move was interrupted (its phase not recorded
    // yet): then the target holds the tenant's only current state, and may serve it. The
    // placement is checked first, and moved back before anything is deleted, so that an
    // abort can never remove the state a shard is placed to serve.
    let parked = moving_value(&from, &to);
    match ctx.placement_of(t).await?.0 {
        Some(p) if p == to => {
            return Err(CliError::refused(format!(
                "the placement of {t} already names {to}: the move flipped before it was interrupted, and {to} holds the tenant's state; nothing was removed. Finish the move with `runnerctl move {t} --to {to}` (then move it back if you want it on {from})"
            )));
        }
        Some(p) if p == parked => {}
        other => {
            return Err(CliError::conflict(format!(
                "the placement of {t} is {} instead of '{parked}': somebody changed it during the move; nothing was removed. Check `runnerctl history {t}`",
                other
                    .map(|o| format!("'{o}'"))
                    .unwrap_or_else(|| "unset".into())
            )));
        }
    }
    ctx.step(1, &format!("place {t} back on {from}"));
    let revision = ctx.swap_placement(t, &parked, &from).await?;
    ctx.wait(&format!("{from} to serve {t} again"), || async {
        Ok(ctx.info(&from, tenant).await?.served.then_some(()))
    })
    .await?;
    ctx.done(&format!("{from} serves {t} again"));
    ctx.step(2, &format!("remove what {to} imported"));
    let target = ctx.info(&to, tenant).await?;
    if target.has_state() && !target.served {
        let d = ctx.admin(&to).await?.tenant_delete(tenant).await?;
        ctx.done(&format!("deleted {} instances on {to}", d.instances));
    } else {
        ctx.done("nothing to remove");
    }
    ctx.audit("move-abort", &rec, &to, &from, revision).await;
    ctx.forget(t, rev).await;
    Ok(from)
}
