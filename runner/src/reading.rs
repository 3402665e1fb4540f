//! Which group streams this shard reads whole, in a partitioned layout: the rule of
//! `shared::layout::reading`, applied to what the group streams hold (the server's
//! per-subject counts, no message read), at start, before tenants are acquired, and every
//! `RUNNER_READING_EVERY` after. A change goes
//! to the engine as [`Ctl::ReadWhole`]; the engine moves the group's tenants between the
//! group reader and readers of their own with the usual hand-over.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures_util::TryStreamExt;
use shared::edge_storage::{CursorMode, Volume};
use shared::ids::TenantId;
use shared::layout::{Group, Layout, reading};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::engine::{Ctl, EngineMsg};
use crate::state::SharedState;

/// Tenants other live shards serve, from their registry records (tenant -> shard).
pub async fn served_elsewhere(registry: &kv::Store, me: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(keys) = registry.keys().await else {
        return out;
    };
    let keys: Vec<String> = keys.try_collect().await.unwrap_or_default();
    for k in keys.into_iter().filter(|k| k != me) {
        if let Ok(Some(v)) = registry.get(&k).await
            && let Ok(r) = serde_json::from_slice::<shared::placement::ShardRecord>(&v)
        {
            for t in r.tenants {
                out.insert(t, r.shard_id.clone());
            }
        }
    }
    out
}

/// The groups to read whole for these tenants. A group whose stream holds no event yet is
/// decided by tenants instead: read whole unless other shards serve more than a third of
/// its tenants (`elsewhere`, from the registry). `whole_now`: the groups read whole today (for the rule's hysteresis). A group NATS does
/// not answer for keeps how it is read (whole when it is new).
pub async fn decide(
    js: &jetstream::Context,
    layout: &Layout,
    tenants: &[String],
    registry: &kv::Store,
    me: &str,
    whole_now: &BTreeSet<Group>,
) -> Vec<Group> {
    // Read from the registry only when a group is empty.
    let mut elsewhere: Option<BTreeMap<String, String>> = None;
    let mut by_group: BTreeMap<Group, Vec<&str>> = BTreeMap::new();
    for t in tenants {
        by_group.entry(layout.group_of(t)).or_default().push(t);
    }
    let mut out = Vec::new();
    for (g, own) in by_group {
        let was = whole_now.contains(&g);
        match shared::nats::group_events(js, layout, g).await {
            Ok(ev) => {
                let (mine, total) = if ev.total > 0 {
                    let mine: u64 = own
                        .iter()
                        .map(|t| ev.per_tenant.get(*t).copied().unwrap_or(0))
                        .sum();
                    (mine, ev.total)
                } else {
                    if elsewhere.is_none() {
                        elsewhere = Some(served_elsewhere(registry, me).await);
                    }
                    let others = elsewhere
                        .as_ref()
                        .expect("read")
                        .keys()
                        .filter(|t| layout.group_of(t) == g && !own.contains(&t.as_str()))
                        .count();
                    (own.len() as u64, (own.len() + others) as u64)
                };
                let whole = reading::whole(mine, total, was);
                debug!(
                    group = g,
                    own = mine,
                    total = ev.total,
                    whole,
                    "group share"
                );
                if whole {
                    out.push(g);
                }
            }
            Err(e) => {
                warn!(group = g, error = %e, "cannot measure the group's share; keeping how it is read");
                if was || whole_now.is_empty() {
                    out.push(g);
                }
            }
        }
    }
    out
}

/// The groups to read whole at start: for the allowlist's tenants, or (under placement,
/// before the bucket is read) for the tenants the volume served when it stopped.
pub async fn initial(
    js: &jetstream::Context,
    layout: &Layout,
    registry: &kv::Store,
    me: &str,
    vol: &Volume,
    tenants: &[TenantId],
) -> Vec<Group> {
    if !layout.is_partitioned() {
        return vec![0];
    }
    let mut names: Vec<String> = tenants.iter().map(|t| t.to_string()).collect();
    if names.is_empty() {
        names = vol
            .read(|r| r.cursors())
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, c)| c.mode != CursorMode::Released)
            .map(|(t, _)| t)
            .collect();
    }
    let whole = decide(js, layout, &names, registry, me, &BTreeSet::new()).await;
    info!(
        groups_read_whole = ?whole,
        tenants = names.len(),
        "groups read whole at start"
    );
    whole
}

/// Measures the shares of the groups of the tenants served here and of `adding` (about to
/// be acquired), and tells the engine the groups to read whole when they change. Groups read
/// whole with no tenant here any more stop being read.
pub async fn adjust(
    js: &jetstream::Context,
    layout: &Layout,
    registry: &kv::Store,
    me: &str,
    shared: &SharedState,
    engine: &mpsc::Sender<EngineMsg>,
    adding: &[String],
) {
    if !layout.is_partitioned() {
        return;
    }
    let (mut tenants, whole_now): (Vec<String>, BTreeSet<Group>) = {
        let view = shared.engine.lock().expect("lock");
        (
            view.tenants.keys().cloned().collect(),
            view.positions.keys().copied().collect(),
        )
    };
    tenants.extend(adding.iter().cloned());
    let want = decide(js, layout, &tenants, registry, me, &whole_now).await;
    let want_set: BTreeSet<Group> = want.iter().copied().collect();
    if want_set == whole_now {
        return;
    }
    info!(from = ?whole_now, to = ?want_set, "the groups to read whole changed");
    let (reply, done) = oneshot::channel();
    let order = EngineMsg::Ctl(Ctl::ReadWhole {
        groups: want,
        reply,
    });
    if engine.send(order).await.is_ok() {
        let _ = done.await;
    }
}

/// Measures the shares every `period` and adjusts, until `stop`.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    js: jetstream::Context,
    layout: Layout,
    registry: kv::Store,
    me: String,
    shared: std::sync::Arc<SharedState>,
    engine: mpsc::Sender<EngineMsg>,
    period: Duration,
    stop: CancellationToken,
) {
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        adjust(&js, &layout, &registry, &me, &shared, &engine, &[]).await;
    }
}
