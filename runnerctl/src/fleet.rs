//! The fleet as placement advice sees it: the event layout, where every tenant is placed,
//! the live shards that take tenants, and the load of each tenant (measured from the event
//! streams: events per second over a window, or the events the streams hold). Used by
//! `runnerctl place` (the recommended shard, the read cost of a placement) and `runnerctl
//! rebalance`.

use std::time::{Duration, Instant};

use shared::layout::Layout;
use shared::layout::plan::{Load, Placement};
use shared::placement::{PlacementValue, parse_placement_value};

use crate::cli::NatsArgs;
use crate::exit::CliError;
use crate::nats::{Nats, latest, registry};

pub struct Fleet {
    pub layout: Layout,
    /// Placed tenants (a tenant being moved counts on its target).
    pub placement: Placement,
    /// Live shards that take tenants (not cordoned, unless the caller said to ignore
    /// cordons).
    pub shards: Vec<String>,
    /// Cordoned shards (`runnerctl cordon`), live or not.
    pub cordoned: std::collections::BTreeMap<String, shared::placement::CordonRecord>,
    pub load: Load,
    /// What the load is: `events/s` or `events retained`.
    pub unit: &'static str,
}

/// Events per tenant the layout's streams hold.
async fn retained(nats: &Nats, layout: &Layout) -> Result<Load, CliError> {
    Ok(shared::nats::events_per_tenant(&nats.js, layout)
        .await
        .map_err(CliError::failure)?
        .into_iter()
        .map(|(t, n)| (t, n as f64))
        .collect())
}

/// Each placed tenant and the shard it is placed on (a tenant being moved: its target);
/// empty without a placement bucket (allowlists). Invalid values are left out.
pub async fn placement_targets(
    nats: &Nats,
    bucket: &str,
) -> Result<Vec<(String, String)>, CliError> {
    let mut out = Vec::new();
    if nats.maybe_bucket(bucket).await?.is_none() {
        return Ok(out);
    }
    for e in latest(nats, bucket, ">").await? {
        if !e.live {
            continue;
        }
        let shard = match parse_placement_value(&e.value) {
            PlacementValue::Shard(s) => s.to_string(),
            PlacementValue::Moving { to, .. } => to,
            PlacementValue::Invalid(_) => continue,
        };
        out.push((e.key, shard));
    }
    Ok(out)
}

/// Reads the fleet. `window`: measure events/s over it (falling back to the events the
/// streams hold when nothing was published meanwhile); none: the events held.
pub async fn read(
    nats: &Nats,
    args: &NatsArgs,
    window: Option<Duration>,
    ignore_cordon: bool,
) -> Result<Fleet, CliError> {
    let cordoned = crate::nats::cordons(nats, &args.handoff_bucket).await?;
    let layout = shared::nats::discover_layout(&nats.js, &args.stream).await;
    let placement: Placement = placement_targets(nats, &args.placement_bucket)
        .await?
        .into_iter()
        .collect();
    let shards = registry(nats)
        .await?
        .into_iter()
        .filter(|r| !r.state.is_stopping())
        .filter(|r| ignore_cordon || !cordoned.contains_key(&r.shard_id))
        .map(|r| r.shard_id)
        .collect();
    let first = retained(nats, &layout).await?;
    let (load, unit) = match window {
        None => (first, "events retained"),
        Some(w) => {
            let t0 = Instant::now();
            tokio::time::sleep(w).await;
            let second = retained(nats, &layout).await?;
            let secs = t0.elapsed().as_secs_f64();
            let rates: Load = second
                .iter()
                .map(|(t, n)| {
                    (
                        t.clone(),
                        (n - first.get(t).copied().unwrap_or(0.0)).max(0.0) / secs,
                    )
                })
                .collect();
            if rates.values().any(|r| *r > 0.0) {
                (rates, "events/s")
            } else {
                (second, "events retained")
            }
        }
    };
    Ok(Fleet {
        layout,
        placement,
        shards,
        cordoned,
        load,
        unit,
    })
}
