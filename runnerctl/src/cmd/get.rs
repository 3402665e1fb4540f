//! `runnerctl get instance|instances`: live, read-only lookups through the admin API of the
//! runner serving a tenant, printed exactly as `runnerctl inspect` prints them for a stopped
//! shard's volume.

use shared::ids::TenantId;

use super::inspect::{instance, instances};
use super::target;
use crate::cli::{GetCmd, NatsArgs};
use crate::exit::CliError;
use crate::output::Format;

fn tenant_arg(t: &str) -> Result<TenantId, CliError> {
    TenantId::new(t.to_string()).map_err(|e| CliError::usage(format!("--tenant: {e}")))
}

pub async fn run(
    cmd: GetCmd,
    nats: &NatsArgs,
    token: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    match cmd {
        GetCmd::Instance {
            tenant,
            saga,
            key,
            at,
        } => {
            let t = tenant_arg(&tenant)?;
            let admin =
                target::tenant_admin(&tenant, at.shard.as_deref(), at.url.as_deref(), nats, token)
                    .await?;
            let rec = admin.instance(&t, &saga, &key).await?;
            instance::show(&tenant, &saga, &key, &rec, format);
        }
        GetCmd::Instances {
            tenant,
            saga,
            state,
            limit,
            after,
            at,
        } => {
            let t = tenant_arg(&tenant)?;
            let admin =
                target::tenant_admin(&tenant, at.shard.as_deref(), at.url.as_deref(), nats, token)
                    .await?;
            let page = admin
                .instances(
                    &t,
                    &saga,
                    state.as_deref(),
                    limit as usize,
                    after.as_deref(),
                )
                .await?;
            instances::show(&page, format);
        }
    }
    Ok(())
}
