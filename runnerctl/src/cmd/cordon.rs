//! `runnerctl cordon|uncordon <shard>`: keep new tenants off a shard (or let them on again)
//! while it keeps serving the ones it has, as `kubectl cordon` does for a node. The cordon is
//! the key `cordon.<shard>` in the hand-over bucket; `place`, `move` and `rebalance` do not
//! pick a cordoned shard as a target unless told to (`--ignore-cordon`), and `shards`, the
//! dashboard and the runner's `/admin/status` show it.

use async_nats::jetstream::kv::Operation;
use bytes::Bytes;
use serde::Serialize;
use shared::ids::ShardId;
use shared::placement::{CordonRecord, cordon_key};

use crate::cli::{CordonArgs, NatsArgs};
use crate::exit::CliError;
use crate::nats::{connect, registry, who};
use crate::output::{self, Format};

#[derive(Serialize)]
struct Answer {
    shard: String,
    cordoned: bool,
    /// Whether this command changed anything.
    changed: bool,
    cordon: Option<CordonRecord>,
    /// Whether the shard is in the registry now (a cordon of a stopped shard is kept).
    registered: bool,
}

fn shard_arg(s: &str) -> Result<ShardId, CliError> {
    ShardId::new(s.to_string()).map_err(|e| CliError::usage(e.to_string()))
}

pub async fn cordon(args: CordonArgs, nats_args: &NatsArgs, format: Format) -> anyhow::Result<()> {
    let shard = shard_arg(&args.shard)?;
    if args.reason.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(CliError::usage("--reason is empty").into());
    }
    let nats = connect(nats_args).await?;
    let handoff = nats
        .bucket(
            &nats_args.handoff_bucket,
            "no runner has started with it yet (runners create it); check --handoff-bucket (RUNNERCTL_HANDOFF_BUCKET)",
        )
        .await?;
    let registered = registry(&nats)
        .await?
        .iter()
        .any(|r| r.shard_id == shard.as_str());
    let key = cordon_key(shard.as_str());
    let existing = handoff
        .entry(&key)
        .await
        .map_err(|e| CliError::failure(format!("cannot read the cordon of {shard}: {e}")))?
        .filter(|e| e.operation == Operation::Put)
        .and_then(|e| serde_json::from_slice::<CordonRecord>(&e.value).ok());
    let (changed, rec) = match existing {
        Some(rec) if args.reason.is_none() || args.reason == rec.reason => (false, rec),
        _ => {
            let (user, host) = who();
            let rec = CordonRecord {
                shard: shard.to_string(),
                reason: args.reason.clone(),
                by: format!("{user}@{host}"),
                at_ms: shared::now_ms(),
            };
            let value = Bytes::from(serde_json::to_vec(&rec).expect("serialisable"));
            handoff
                .put(&key, value)
                .await
                .map_err(|e| CliError::failure(format!("cannot cordon {shard}: {e}")))?;
            (true, rec)
        }
    };
    let a = Answer {
        shard: shard.to_string(),
        cordoned: true,
        changed,
        cordon: Some(rec),
        registered,
    };
    match format {
        Format::Json => output::json(&a),
        Format::Table => {
            if !registered {
                eprintln!(
                    "warning: {shard} is not in the registry (not running now); the cordon holds when it comes back"
                );
            }
            output::println(&format!(
                "{shard} {}: it keeps serving its tenants; place, move and rebalance do not pick it (`runnerctl uncordon {shard}` undoes it)",
                if changed {
                    "cordoned"
                } else {
                    "was already cordoned"
                }
            ));
        }
    }
    Ok(())
}

pub async fn uncordon(
    args: CordonArgs,
    nats_args: &NatsArgs,
    format: Format,
) -> anyhow::Result<()> {
    let shard = shard_arg(&args.shard)?;
    let nats = connect(nats_args).await?;
    let registered = registry(&nats)
        .await?
        .iter()
        .any(|r| r.shard_id == shard.as_str());
    let cordons = crate::nats::cordons(&nats, &nats_args.handoff_bucket).await?;
    let changed = match cordons.get(shard.as_str()) {
        None => false,
        Some(_) => {
            let handoff = nats
                .bucket(
                    &nats_args.handoff_bucket,
                    "no runner has started with it yet",
                )
                .await?;
            handoff
                .delete(cordon_key(shard.as_str()))
                .await
                .map_err(|e| CliError::failure(format!("cannot uncordon {shard}: {e}")))?;
            true
        }
    };
    let a = Answer {
        shard: shard.to_string(),
        cordoned: false,
        changed,
        cordon: None,
        registered,
    };
    match format {
        Format::Json => output::json(&a),
        Format::Table => output::println(&if changed {
            format!("{shard} uncordoned: place, move and rebalance may pick it again")
        } else {
            format!("{shard} was not cordoned; nothing changed")
        }),
    }
    Ok(())
}

/// ` (by alice@ops-1, 3h ago: disk swap)`: who cordoned the shard, when and why.
pub fn describe(c: &CordonRecord) -> String {
    let ago = std::time::Duration::from_secs(shared::now_ms().saturating_sub(c.at_ms) / 1000);
    let mut s = format!(" (by {}, {} ago", c.by, humantime::format_duration(ago));
    if let Some(r) = &c.reason {
        s.push_str(&format!(": {r}"));
    }
    s.push(')');
    s
}
