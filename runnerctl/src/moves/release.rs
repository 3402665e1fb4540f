//! Phase 2, release: the placement is parked as `moving:<from>:<to>` (compare-and-swap), so
//! no shard serves the tenant; the source commits its last batch, records the release
//! position in the tenant's claim and publishes the tenant's outbox.

use shared::ids::TenantId;
use shared::placement::{ClaimRecord, ClaimState, MovePhase, MoveRecord, claim_key};

use super::ctx::Ctx;
use crate::exit::CliError;

pub async fn run(
    ctx: &Ctx<'_>,
    tenant: &TenantId,
    rec: &mut MoveRecord,
    rev: &mut u64,
    parked: &str,
) -> Result<(), CliError> {
    let (t, from) = (tenant.as_str(), rec.from.clone());
    ctx.step(2, &format!("release {t} on {from}"));
    ctx.swap_placement(t, &from, parked).await?;
    let pos = ctx
        .wait(
            &format!("{from} to release {t} and publish its outbox"),
            || async {
                let claim = ctx
                    .handoff
                    .get(claim_key(t))
                    .await
                    .ok()
                    .flatten()
                    .and_then(|v| serde_json::from_slice::<ClaimRecord>(&v).ok());
                let released = match &claim {
                    Some(c) if c.shard == from && c.state == ClaimState::Released => {
                        Some(c.position)
                    }
                    None => Some(0),
                    _ => None,
                };
                let Some(pos) = released else { return Ok(None) };
                let info = ctx.info(&from, tenant).await?;
                Ok((!info.served && info.outbox == 0).then_some(pos))
            },
        )
        .await?;
    ctx.done(&format!(
        "released at stream position {pos}, outbox published"
    ));
    ctx.advance(rec, rev, MovePhase::Released).await
}
