//! `runnerctl release <tenant> --accept-state-loss`: the way out when a shard came back with
//! an empty volume. Such a shard does not serve the tenants whose state was on the lost
//! volume (their claims name it): it waits, saying "state lost", so that nothing is applied
//! twice or on empty state unnoticed. This marks the tenant's claim released at the last
//! position known for it, tied to no volume; the shard placed for the tenant then takes it
//! after that position, with empty state, as after any hand-over without state.

use async_nats::jetstream::kv::Operation;
use bytes::Bytes;
use serde::Serialize;
use shared::ids::TenantId;
use shared::placement::{AuditEntry, ClaimRecord, ClaimState, ShardRecord, claim_key};

use crate::cli::{NatsArgs, ReleaseArgs};
use crate::exit::{CliError, Kind};
use crate::nats::{connect, registry, who};
use crate::output::{self, Format};

#[derive(Serialize)]
struct Released {
    tenant: String,
    shard: String,
    position: u64,
    lost_volume: Option<String>,
    changed: bool,
}

pub async fn run(args: ReleaseArgs, nats_args: &NatsArgs, format: Format) -> anyhow::Result<()> {
    let tenant = TenantId::new(args.tenant.clone()).map_err(|e| CliError::usage(e.to_string()))?;
    let t = tenant.as_str();
    if !args.accept_state_loss {
        return Err(CliError::usage(
            "release changes a tenant's hand-over record by hand; it is only for a tenant whose state was lost with its shard's volume: pass --accept-state-loss to say so (`runnerctl placements` and the shard's status show such tenants as waiting, \"state lost\")",
        )
        .into());
    }
    let nats = connect(nats_args).await?;
    let handoff = nats
        .bucket(
            &nats_args.handoff_bucket,
            "no runner has handed a tenant over yet",
        )
        .await?;
    let entry = handoff
        .entry(claim_key(t))
        .await
        .map_err(|e| CliError::new(Kind::Failure, format!("cannot read the claim of {t}: {e}")))?
        .filter(|e| e.operation == Operation::Put)
        .ok_or_else(|| {
            CliError::new(
                Kind::NotFound,
                format!(
                    "{t} has no claim: no shard ever served it, so there is nothing to release"
                ),
            )
        })?;
    let claim: ClaimRecord = serde_json::from_slice(&entry.value).map_err(|e| {
        CliError::new(
            Kind::Failure,
            format!("the claim of {t} is unreadable: {e}"),
        )
    })?;
    let done = |changed| Released {
        tenant: t.to_string(),
        shard: claim.shard.clone(),
        position: claim.position,
        lost_volume: claim.volume_id.clone(),
        changed,
    };
    if claim.state == ClaimState::Released && claim.volume_id.is_none() {
        let r = done(false);
        match format {
            Format::Json => output::json(&r),
            Format::Table => output::println(&format!(
                "{t}: already released at {} with no volume; nothing changed",
                r.position
            )),
        }
        return Ok(());
    }
    // A live holder on the volume the claim names has the state: nothing was lost.
    let holder = registry(&nats)
        .await?
        .into_iter()
        .find(|r: &ShardRecord| r.shard_id == claim.shard);
    if let Some(h) = &holder
        && claim.volume_id.as_deref() == Some(h.volume_id.as_str())
    {
        return Err(CliError::new(
            Kind::Refused,
            format!(
                "shard {} runs on volume {}, the one {t}'s claim names: its state is there, not lost; nothing changed (to move it, use `runnerctl move`)",
                h.shard_id, h.volume_id
            ),
        )
        .into());
    }
    let rec = ClaimRecord {
        state: ClaimState::Released,
        volume_id: None,
        updated_at_ms: shared::now_ms(),
        ..claim.clone()
    };
    let revision = handoff
        .update(
            claim_key(t),
            Bytes::from(serde_json::to_vec(&rec).expect("serialisable")),
            entry.revision,
        )
        .await
        .map_err(|e| {
            CliError::new(
                Kind::Conflict,
                format!("the claim of {t} changed meanwhile ({e}); look again and rerun"),
            )
        })?;
    let (user, host) = who();
    let a = AuditEntry {
        action: "accept-state-loss".into(),
        tenant: t.to_string(),
        before: Some(claim.shard.clone()),
        after: Some(claim.shard.clone()),
        revision,
        who: user,
        host,
        at_ms: shared::now_ms(),
        reason: args.reason.clone(),
        forced: true,
    };
    nats.audit_best_effort(&a).await;
    let r = done(true);
    match format {
        Format::Json => output::json(&r),
        Format::Table => output::println(&format!(
            "{t}: released at stream position {} (its state on volume {} is written off); shard {} serves it after that position with empty state",
            r.position,
            r.lost_volume.as_deref().unwrap_or("?"),
            r.shard
        )),
    }
    Ok(())
}
