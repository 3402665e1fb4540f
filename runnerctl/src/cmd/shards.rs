//! `runnerctl shards`: the live runners, from the shard registry.

use comfy_table::Cell;
use serde::Serialize;
use shared::placement::ShardRecord;

use crate::cli::NatsArgs;
use crate::exit::CliError;
use crate::nats::{Nats, connect, latest};
use crate::output::{self, Format};

/// The registry's records, by shard id. Records that cannot be read are reported on stderr
/// and skipped.
pub async fn registry(nats: &Nats) -> Result<Vec<ShardRecord>, CliError> {
    let (out, garbage) = registry_checked(nats).await?;
    for g in garbage {
        eprintln!("warning: {g}");
    }
    Ok(out)
}

/// The registry's shard records, in id order, and a line for each record that is not one
/// (it is skipped; the caller says so where its user will see it).
pub async fn registry_checked(nats: &Nats) -> Result<(Vec<ShardRecord>, Vec<String>), CliError> {
    let bucket = &nats.args.registry_bucket;
    if nats.maybe_bucket(bucket).await?.is_none() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut out = Vec::new();
    let mut garbage = Vec::new();
    for e in latest(nats, bucket, ">").await? {
        if !e.live {
            continue;
        }
        match serde_json::from_slice::<ShardRecord>(&e.value) {
            Ok(r) => out.push(r),
            Err(err) => garbage.push(format!(
                "registry record '{}' is not a shard record ({err}); ignored",
                e.key
            )),
        }
    }
    out.sort_by(|a, b| a.shard_id.cmp(&b.shard_id));
    Ok((out, garbage))
}

#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    record: &'a ShardRecord,
    heartbeat_age_ms: u64,
}

pub async fn run(args: &NatsArgs, format: Format) -> anyhow::Result<()> {
    let nats = connect(args).await?;
    let shards = registry(&nats).await?;
    let now = shared::now_ms();
    match format {
        Format::Json => {
            let rows: Vec<Row> = shards
                .iter()
                .map(|r| Row {
                    record: r,
                    heartbeat_age_ms: now.saturating_sub(r.heartbeat_at_ms),
                })
                .collect();
            output::json(&rows);
        }
        Format::Table => {
            if shards.is_empty() {
                output::println(&format!(
                    "no live shards in registry bucket '{}' on {} (runners register when they start)",
                    args.registry_bucket, args.nats_url
                ));
                return Ok(());
            }
            let mut t = output::table([
                "SHARD",
                "STATE",
                "TENANTS",
                "HEARTBEAT",
                "ADMIN URL",
                "HOST",
                "PID",
                "VERSION",
            ]);
            for r in &shards {
                let age = now.saturating_sub(r.heartbeat_at_ms);
                t.add_row(vec![
                    Cell::new(&r.shard_id),
                    Cell::new(&r.state),
                    Cell::new(r.tenants.len()),
                    Cell::new(format!("{:.1}s ago", age as f64 / 1000.0)),
                    Cell::new(&r.admin_url),
                    Cell::new(&r.host),
                    Cell::new(r.pid),
                    Cell::new(&r.version),
                ]);
            }
            output::println(&t.to_string());
        }
    }
    Ok(())
}
