//! `runnerctl inspect <volume> ...`: what a stopped shard's volume holds, read-only by
//! construction (the volume is opened with MDBX's read-only mode through `edge_storage`;
//! nothing here can write). Counts come from table statistics and the `stats` table, never
//! from scans; listings page with `--limit` and `--after` through the query layer
//! (`edge_storage::query`). One module per subcommand.

mod checkpoints;
mod common;
mod dedupe;
mod diff;
mod export;
pub(crate) mod instance;
pub(crate) mod instances;
mod outbox;
mod sagas;
mod summary;
mod tenants;
mod timers;

use crate::cli::{InspectArgs, InspectCmd};
use crate::output::Format;
use crate::volume;

pub fn run(args: InspectArgs, format: Format) -> anyhow::Result<()> {
    let vol = volume::open(&args.volume, args.allow_live)?;
    let path = args.volume.display().to_string();
    match args.what {
        InspectCmd::Summary => summary::run(&vol, &path, format)?,
        InspectCmd::Tenants => tenants::run(&vol, format)?,
        InspectCmd::Sagas { tenant } => sagas::run(&vol, &tenant, format)?,
        InspectCmd::Instances {
            tenant,
            saga,
            state,
            limit,
            after,
        } => instances::run(
            &vol,
            &instances::Filter {
                tenant: &tenant,
                saga: &saga,
                state: state.as_deref(),
                limit,
                after: after.as_deref(),
            },
            format,
        )?,
        InspectCmd::Instance { tenant, saga, key } => {
            instance::run(&vol, &tenant, &saga, &key, format)?
        }
        InspectCmd::Checkpoints { tenant } => checkpoints::run(&vol, tenant.as_deref(), format)?,
        InspectCmd::Dedupe {
            tenant,
            saga,
            limit,
            after,
        } => dedupe::run(&vol, &tenant, &saga, limit, after.as_deref(), format)?,
        InspectCmd::Outbox { tenant, limit } => {
            outbox::run(&vol, tenant.as_deref(), limit, format)?
        }
        InspectCmd::Timers {
            tenant,
            due_before,
            limit,
        } => timers::run(&vol, tenant.as_deref(), due_before, limit, format)?,
        InspectCmd::Export { tenant, saga } => export::run(&vol, &tenant, saga)?,
        InspectCmd::Diff {
            other,
            tenant,
            limit,
        } => diff::run(
            &vol,
            &path,
            &other,
            args.allow_live,
            tenant.as_deref(),
            limit,
            format,
        )?,
    }
    Ok(())
}
