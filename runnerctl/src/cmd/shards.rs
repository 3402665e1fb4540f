//! `runnerctl shards`: the live runners, from the shard registry.

use comfy_table::Cell;
use serde::Serialize;
use shared::placement::{CordonRecord, ShardRecord};

use crate::cli::NatsArgs;
use crate::nats::{connect, registry};
use crate::output::{self, Format};

#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    record: &'a ShardRecord,
    heartbeat_age_ms: u64,
    /// Set while the shard is cordoned (`runnerctl cordon`).
    cordon: Option<&'a CordonRecord>,
}

pub async fn run(args: &NatsArgs, format: Format) -> anyhow::Result<()> {
    let nats = connect(args).await?;
    let shards = registry(&nats).await?;
    let cordons = crate::nats::cordons(&nats, &args.handoff_bucket).await?;
    let now = shared::now_ms();
    match format {
        Format::Json => {
            let rows: Vec<Row> = shards
                .iter()
                .map(|r| Row {
                    record: r,
                    heartbeat_age_ms: now.saturating_sub(r.heartbeat_at_ms),
                    cordon: cordons.get(&r.shard_id),
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
                "CORDONED",
                "TENANTS",
                "APPLIED",
                "READ",
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
                    Cell::new(r.state),
                    Cell::new(match cordons.get(&r.shard_id) {
                        Some(c) => format!("yes{}", crate::cmd::cordon::describe(c)),
                        None => String::new(),
                    }),
                    Cell::new(r.tenants.len()),
                    Cell::new(r.counters.applied),
                    Cell::new(r.events_read),
                    Cell::new(format!("{:.1}s ago", age as f64 / 1000.0)),
                    Cell::new(&r.admin_url),
                    Cell::new(&r.host),
                    Cell::new(r.pid),
                    Cell::new(&r.version),
                ]);
            }
            output::println(&t.to_string());
            let gone: Vec<&String> = cordons
                .keys()
                .filter(|s| !shards.iter().any(|r| &r.shard_id == *s))
                .collect();
            if !gone.is_empty() {
                output::println(&format!(
                    "cordoned, not running now: {}",
                    gone.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    Ok(())
}
