//! Finding a runner's admin API: from `--url`, or from a shard id through the registry, or
//! (for a tenant) through the tenant's claim.

use shared::placement::{ClaimRecord, claim_key};

use crate::cli::{NatsArgs, TargetArgs};
use crate::client::Admin;
use crate::exit::CliError;
use crate::nats::{connect, registry};

/// The admin client of a shard (from the registry) or of `--url`.
pub async fn admin(
    target: &TargetArgs,
    nats: &NatsArgs,
    token: Option<String>,
) -> Result<Admin, CliError> {
    match (&target.url, &target.shard) {
        (Some(url), _) => Admin::new(url, token),
        (None, Some(shard)) => Admin::new(&shard_url(nats, shard).await?, token),
        (None, None) => Err(CliError::usage("name a shard, or pass --url")),
    }
}

/// The runner serving `tenant`: `url`, else `shard`, else the shard of its claim.
pub async fn tenant_admin(
    tenant: &str,
    shard: Option<&str>,
    url: Option<&str>,
    nats: &NatsArgs,
    token: Option<String>,
) -> Result<Admin, CliError> {
    let shard = match (url, shard) {
        (Some(_), _) => None,
        (None, Some(s)) => Some(s.to_string()),
        (None, None) => Some(shard_of_tenant(nats, tenant).await?),
    };
    admin(
        &TargetArgs {
            shard,
            url: url.map(str::to_string),
        },
        nats,
        token,
    )
    .await
}

/// A registered shard's admin URL.
pub async fn shard_url(nats: &NatsArgs, shard: &str) -> Result<String, CliError> {
    let n = connect(nats).await?;
    let shards = registry(&n).await?;
    shards
        .iter()
        .find(|r| r.shard_id == shard)
        .map(|r| r.admin_url.clone())
        .ok_or_else(|| {
            CliError::not_found(format!(
                "shard '{shard}' is not in the registry (bucket '{}'): it is not running, or its runner uses another RUNNER_REGISTRY_BUCKET; `runnerctl shards` lists the live ones, or pass --url",
                nats.registry_bucket
            ))
        })
}

/// The shard serving `tenant` now, from its claim in the hand-over bucket.
pub async fn shard_of_tenant(nats: &NatsArgs, tenant: &str) -> Result<String, CliError> {
    let n = connect(nats).await?;
    let not_known = || {
        CliError::usage(format!(
            "cannot tell which shard serves {tenant} (no claim in bucket '{}'): pass --shard or --url",
            nats.handoff_bucket
        ))
    };
    let Some(handoff) = n.maybe_bucket(&nats.handoff_bucket).await? else {
        return Err(not_known());
    };
    let claim = handoff
        .get(claim_key(tenant))
        .await
        .ok()
        .flatten()
        .and_then(|v| serde_json::from_slice::<ClaimRecord>(&v).ok())
        .ok_or_else(not_known)?;
    Ok(claim.shard)
}
