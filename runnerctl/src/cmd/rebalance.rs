//! `runnerctl rebalance`: a plan from measured load and read cost
//! (`shared::layout::plan::rebalance`: each partition group on one shard, groups spread by
//! load), shown as a table or JSON; with `--apply` the moves run (`runnerctl move`'s, with
//! the tenants' state) a few at a time with a progress bar. The plan is saved in the
//! hand-over bucket (`rebalance.plan`) and each finished move recorded there, so `--resume`
//! continues an interrupted rebalance (an interrupted move resumes where its own record
//! says).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use shared::ids::TenantId;
use shared::layout::plan::{self, Move};

use crate::cli::{NatsArgs, RebalanceArgs};
use crate::exit::CliError;
use crate::moves::{self, Done, Request};
use crate::nats::connect;
use crate::output::{self, Format};

/// Key of the saved plan in the hand-over bucket.
const PLAN_KEY: &str = "rebalance.plan";

#[derive(Serialize, Deserialize, Clone)]
struct Saved {
    created_at_ms: u64,
    unit: String,
    moves: Vec<Move>,
    /// Tenants whose move finished.
    done: Vec<String>,
    reason: Option<String>,
}

#[derive(Serialize)]
struct ShardLoad {
    shard: String,
    reads_before: f64,
    reads_after: f64,
}

#[derive(Serialize)]
struct Shown {
    layout: String,
    unit: String,
    read_amplification_before: f64,
    read_amplification_after: f64,
    shards: Vec<ShardLoad>,
    moves: Vec<Move>,
    /// Cordoned shards: nothing moves onto or off them (unless --ignore-cordon).
    cordoned: Vec<String>,
}

/// The rebalance's moves with `cordoned` shards left as they are: their tenants stay out of
/// the plan, and they are not among `shards` to move to (`fleet::read` leaves them out
/// unless told to ignore cordons).
fn plan_around_cordons(
    layout: &shared::layout::Layout,
    placement: &plan::Placement,
    load: &plan::Load,
    shards: &[String],
    cordoned: &[String],
    tolerance: f64,
) -> Vec<Move> {
    let movable: plan::Placement = placement
        .iter()
        .filter(|(_, s)| !cordoned.contains(s))
        .map(|(t, s)| (t.clone(), s.clone()))
        .collect();
    let targets: Vec<String> = shards
        .iter()
        .filter(|s| !cordoned.contains(s))
        .cloned()
        .collect();
    plan::rebalance(layout, &movable, load, &targets, tolerance)
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn show(s: &Shown, format: Format) {
    match format {
        Format::Json => output::json(s),
        Format::Table => {
            output::println(&format!(
                "layout {}; load in {}; read amplification {:.2} -> {:.2}",
                s.layout, s.unit, s.read_amplification_before, s.read_amplification_after
            ));
            if !s.cordoned.is_empty() {
                output::println(&format!(
                    "cordoned, left as they are: {} (--ignore-cordon includes them)",
                    s.cordoned.join(", ")
                ));
            }
            let mut t = output::table(["SHARD", "READS NOW", "READS AFTER"]);
            for l in &s.shards {
                t.add_row(vec![
                    l.shard.clone(),
                    format!("{:.0}", l.reads_before),
                    format!("{:.0}", l.reads_after),
                ]);
            }
            output::println(&t.to_string());
            if s.moves.is_empty() {
                output::println(
                    "nothing to move: every partition group is on one shard and the load is spread",
                );
                return;
            }
            let mut t = output::table(["TENANT", "GROUP", "FROM", "TO", "LOAD"]);
            for m in &s.moves {
                t.add_row(vec![
                    m.tenant.clone(),
                    m.group.to_string(),
                    m.from.clone(),
                    m.to.clone(),
                    format!("{:.0}", m.load),
                ]);
            }
            output::println(&t.to_string());
            output::println(&format!(
                "{} moves; `runnerctl rebalance --apply` runs them (with the tenants' state)",
                s.moves.len()
            ));
        }
    }
}

pub async fn run(
    args: RebalanceArgs,
    nats_args: &NatsArgs,
    token: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    let nats = connect(nats_args).await?;
    let handoff = shared::nats::open_or_create_bucket(
        &nats.js,
        shared::nats::handoff_bucket(&nats_args.handoff_bucket, nats.replicas),
    )
    .await
    .map_err(|e| CliError::failure(e.to_string()))?;
    let saved: Option<Saved> = handoff
        .get(PLAN_KEY)
        .await
        .map_err(|e| CliError::failure(format!("cannot read the saved rebalance plan: {e}")))?
        .and_then(|v| serde_json::from_slice(&v).ok());
    if args.resume {
        let Some(saved) = saved else {
            return Err(CliError::usage("no rebalance to resume (none was interrupted)").into());
        };
        return apply(saved, &handoff, nats_args, token, &args, format).await;
    }
    if let Some(s) = &saved
        && args.apply
    {
        return Err(CliError::conflict(format!(
            "a rebalance planned at {} ms is unfinished ({} of {} moves done): `runnerctl rebalance --resume` finishes it, `--discard` forgets it",
            s.created_at_ms,
            s.done.len(),
            s.moves.len()
        ))
        .into());
    }
    if args.discard {
        let _ = handoff.purge(PLAN_KEY).await;
        output::println("the saved rebalance plan is forgotten (moves already made stay)");
        return Ok(());
    }
    let fleet = crate::fleet::read(&nats, nats_args, Some(args.window), args.ignore_cordon).await?;
    if !fleet.layout.is_partitioned() {
        return Err(CliError::refused(
            "the event layout is the single stream: every shard reads every event, wherever tenants are placed, so there is nothing to rebalance for reads (docs/consumption.md#moving-from-the-single-stream-to-partitioned-streams)",
        )
        .into());
    }
    if fleet.shards.is_empty() {
        return Err(CliError::refused("no live shard takes tenants (`runnerctl shards`)").into());
    }
    // A cordoned shard keeps its tenants and gets no new ones: its tenants are left out of
    // the plan, and it is not among the shards to move to.
    let cordoned: Vec<String> = if args.ignore_cordon {
        Vec::new()
    } else {
        fleet.cordoned.keys().cloned().collect()
    };
    let moves = plan_around_cordons(
        &fleet.layout,
        &fleet.placement,
        &fleet.load,
        &fleet.shards,
        &cordoned,
        args.tolerance,
    );
    let mut after = fleet.placement.clone();
    for m in &moves {
        after.insert(m.tenant.clone(), m.to.clone());
    }
    let shown = Shown {
        layout: fleet.layout.describe(),
        unit: fleet.unit.to_string(),
        read_amplification_before: round(plan::amplification(
            &fleet.layout,
            &fleet.placement,
            &fleet.load,
        )),
        read_amplification_after: round(plan::amplification(&fleet.layout, &after, &fleet.load)),
        shards: fleet
            .shards
            .iter()
            .map(|s| ShardLoad {
                shard: s.clone(),
                reads_before: round(plan::shard_reads(
                    &fleet.layout,
                    &fleet.placement,
                    &fleet.load,
                    s,
                )),
                reads_after: round(plan::shard_reads(&fleet.layout, &after, &fleet.load, s)),
            })
            .collect(),
        moves: moves.clone(),
        cordoned,
    };
    if !args.apply || moves.is_empty() {
        show(&shown, format);
        return Ok(());
    }
    if format == Format::Table {
        show(&shown, format);
    }
    let saved = Saved {
        created_at_ms: shared::now_ms(),
        unit: fleet.unit.to_string(),
        moves,
        done: Vec::new(),
        reason: args.reason.clone(),
    };
    handoff
        .create(PLAN_KEY, Bytes::from(serde_json::to_vec(&saved)?))
        .await
        .map_err(|e| {
            CliError::conflict(format!(
                "cannot save the plan ({e}): another rebalance started meanwhile? `runnerctl rebalance --resume`"
            ))
        })?;
    apply(saved, &handoff, nats_args, token, &args, format).await
}

/// A move's phases, unsaid (the progress bar says how many are done).
struct Quiet;

impl moves::Report for Quiet {
    fn step(&self, _: u8, _: &str) {}
    fn done(&self, _: &str, _: Duration) {}
    fn note(&self, _: &str) {}
}

#[derive(Serialize)]
struct Applied {
    moved: Vec<String>,
    failed: BTreeMap<String, String>,
    left: usize,
}

/// Runs the plan's moves that are not done, `concurrency` at a time, recording each one
/// done; forgets the plan once all are.
async fn apply(
    saved: Saved,
    handoff: &async_nats::jetstream::kv::Store,
    nats_args: &NatsArgs,
    token: Option<String>,
    args: &RebalanceArgs,
    format: Format,
) -> anyhow::Result<()> {
    let todo: Vec<Move> = saved
        .moves
        .iter()
        .filter(|m| !saved.done.contains(&m.tenant))
        .cloned()
        .collect();
    let bar = if format == Format::Table && std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(saved.moves.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "rebalancing {elapsed:>4} [{bar:30}] {pos}/{len} {msg}",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        b.set_position(saved.done.len() as u64);
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let state = Mutex::new(saved.clone());
    let failed: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
    let moved: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let reason = saved
        .reason
        .clone()
        .or_else(|| Some("runnerctl rebalance".to_string()));
    futures_util::stream::iter(todo)
        .map(|m| {
            let (token, reason) = (token.clone(), reason.clone());
            let (state, failed, moved, bar) = (&state, &failed, &moved, &bar);
            async move {
                if !failed.lock().expect("lock").is_empty() {
                    return;
                }
                let Ok(tenant) = TenantId::new(m.tenant.clone()) else {
                    return;
                };
                bar.set_message(format!("{} -> {}", m.tenant, m.to));
                let req = Request {
                    tenant,
                    to: Some(m.to.clone()),
                    reason,
                    keep_source: false,
                    dry_run: false,
                    abort: false,
                    ignore_cordon: args.ignore_cordon,
                    timeout: args.timeout,
                    stop_after: super::moves::stop_after(),
                };
                match moves::run(&req, nats_args, token, &Quiet).await {
                    Ok(Done::Stopped(phase)) => {
                        // The test hook: as if interrupted after this phase.
                        failed.lock().expect("lock").insert(
                            m.tenant.clone(),
                            format!("interrupted after phase {}", phase.as_str()),
                        );
                    }
                    Ok(_) => {
                        let body = {
                            let mut s = state.lock().expect("lock");
                            s.done.push(m.tenant.clone());
                            serde_json::to_vec(&*s).unwrap_or_default()
                        };
                        let _ = handoff.put(PLAN_KEY, Bytes::from(body)).await;
                        moved.lock().expect("lock").push(m.tenant.clone());
                        bar.inc(1);
                        if bar.is_hidden() && format == Format::Table {
                            eprintln!("moved {} {} -> {}", m.tenant, m.from, m.to);
                        }
                    }
                    Err(e) => {
                        failed
                            .lock()
                            .expect("lock")
                            .insert(m.tenant.clone(), e.to_string());
                    }
                }
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect::<Vec<()>>()
        .await;
    bar.finish_and_clear();
    let failed = failed.into_inner().expect("lock");
    let moved = moved.into_inner().expect("lock");
    let left = {
        let s = state.lock().expect("lock");
        s.moves.len() - s.done.len()
    };
    if left == 0 {
        let _ = handoff.purge(PLAN_KEY).await;
    }
    let out = Applied {
        moved: moved.clone(),
        failed: failed.clone(),
        left,
    };
    match format {
        Format::Json => output::json(&out),
        Format::Table => {
            output::println(&format!(
                "{} moved now, {} left{}",
                moved.len(),
                left,
                if left == 0 {
                    "; the rebalance is done"
                } else {
                    ""
                }
            ));
        }
    }
    if let Some((t, e)) = failed.iter().next() {
        return Err(CliError::failure(format!(
            "moving {t} failed: {e}; nothing further was started. Fix the cause, then `runnerctl rebalance --resume` continues ({left} moves left)"
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lopsided fleet of three shards, the busiest of them cordoned, and an empty third:
    /// the plan moves nothing off the cordoned shard and nothing onto it, and still spreads
    /// the rest. Without the cordon, the cordoned shard's groups move too.
    #[test]
    fn a_rebalance_leaves_a_cordoned_shard_as_it_is() {
        let layout = shared::layout::Layout::new("RUNNER_EVENTS", 16);
        let mut placement = plan::Placement::new();
        let mut load = plan::Load::new();
        for i in 0..60 {
            let t = format!("t{i}");
            let on = if i < 40 { "shard-a" } else { "shard-b" };
            placement.insert(t.clone(), on.to_string());
            load.insert(t, 1.0 + (i % 7) as f64);
        }
        let shards: Vec<String> = ["shard-a", "shard-b", "shard-c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let free = plan_around_cordons(&layout, &placement, &load, &shards, &[], 0.1);
        assert!(
            free.iter().any(|m| m.from == "shard-a"),
            "uncordoned, the busiest shard gives tenants away: {free:?}"
        );
        let cordoned = ["shard-a".to_string()];
        let moves = plan_around_cordons(&layout, &placement, &load, &shards, &cordoned, 0.1);
        assert!(
            !moves.is_empty(),
            "shard-b's groups still spread: {moves:?}"
        );
        assert!(
            moves
                .iter()
                .all(|m| m.from != "shard-a" && m.to != "shard-a"),
            "nothing moves off or onto the cordoned shard: {moves:?}"
        );
    }
}
