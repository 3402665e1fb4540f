//! The soak: 3 shards, 50 tenants, a steady flow of events and placement churn for a
//! bounded time, on loopback. Reports throughput, apply latency, each runner's RSS over time
//! (and its trend), and the exactly-once check across the volumes: every event applied on
//! exactly one shard, every command published once.
//!
//! `just soak` runs it for 5 minutes (SOAK_SECS); tests/tests/soak.rs runs a short one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use shared::placement::DEFAULT_PLACEMENT_BUCKET;

use crate::bench::{latency_buckets, quantile};
use crate::*;

pub struct SoakConfig {
    pub duration: Duration,
    /// Events per second (deposits, spread over the tenants).
    pub rate: u64,
    pub tenants: usize,
    /// A tenant is re-placed on another shard this often.
    pub churn_every: Duration,
}

#[derive(Debug)]
pub struct SoakReport {
    pub events: u64,
    pub placements_changed: u64,
    pub secs: f64,
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Per shard: RSS (MB) samples, about every 5 s.
    pub rss_mb: BTreeMap<String, Vec<f64>>,
    /// The anonymous part of it (heap and stacks, without the volume's mapped file pages,
    /// which grow with the volume): where a leak would show.
    pub anon_mb: BTreeMap<String, Vec<f64>>,
    pub lost: u64,
    pub applied_twice: u64,
    pub duplicate_commands: u64,
    /// Events sent whose command is not in the command stream.
    pub missing_commands: u64,
    /// Commands in the stream that no event sent causes.
    pub unexpected_commands: u64,
}

impl SoakReport {
    /// Mean of the last third of the run over the mean of the second third, per shard (the
    /// first third is warm-up): about 1.0 without a growth trend.
    pub fn trend(samples: &BTreeMap<String, Vec<f64>>) -> BTreeMap<String, f64> {
        samples
            .iter()
            .map(|(s, v)| {
                let n = v.len() / 3;
                let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
                let trend = if n == 0 {
                    1.0
                } else {
                    mean(&v[v.len() - n..]) / mean(&v[n..2 * n])
                };
                (s.clone(), trend)
            })
            .collect()
    }
}

fn status_mb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

pub async fn run(cfg: SoakConfig) -> Result<SoakReport> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    // A duplicate window shorter than the soak: a command published twice is stored twice.
    create_streams(&jetstream(&nats).await?, Duration::from_millis(100)).await?;
    let shards = ["shard-a", "shard-b", "shard-c"];
    let mut runners = Vec::new();
    for s in shards {
        runners.push(Runner::start(RunnerSpec::placed(&nats, &tmp.path().join(s), s)).await?);
    }
    let js = jetstream(&nats).await?;
    let placement = js.get_key_value(DEFAULT_PLACEMENT_BUCKET).await?;
    let tenants: Vec<String> = (0..cfg.tenants).map(|i| format!("s{i:02}")).collect();
    for (i, t) in tenants.iter().enumerate() {
        placement
            .put(t, shards[i % shards.len()].to_string().into())
            .await?;
    }
    for (i, r) in runners.iter().enumerate() {
        let mine: Vec<&str> = tenants
            .iter()
            .enumerate()
            .filter(|(j, _)| j % shards.len() == i)
            .map(|(_, t)| t.as_str())
            .collect();
        r.wait_serving(&mine, Duration::from_secs(60)).await?;
    }
    let http = crate::http();
    let mut before = Vec::new();
    for r in &runners {
        before.push(latency_buckets(&http, &r.admin_url).await?);
    }

    // The flow: `rate` deposits a second in batches every 100 ms; churn: one tenant moves to
    // the next shard every `churn_every`.
    let start = Instant::now();
    let mut next_churn = start + cfg.churn_every;
    let mut next_sample = start;
    let mut rss: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut anon: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let (mut sent, mut churned) = (0u64, 0u64);
    let per_tick = (cfg.rate / 10).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut owner: Vec<usize> = (0..tenants.len()).map(|i| i % shards.len()).collect();
    while start.elapsed() < cfg.duration {
        tick.tick().await;
        let batch: Vec<(String, bytes::Bytes)> = (0..per_tick)
            .map(|k| {
                let i = sent + k;
                let t = &tenants[i as usize % tenants.len()];
                (
                    format!("evt.{t}.account"),
                    event(
                        &format!("{t}-{i}"),
                        "Deposited",
                        &format!("acc{}", i % 7),
                        serde_json::json!({"amount": 1}),
                    ),
                )
            })
            .collect();
        publish_all(&js, &batch).await?;
        sent += per_tick;
        if Instant::now() >= next_churn {
            let i = churned as usize % tenants.len();
            owner[i] = (owner[i] + 1) % shards.len();
            placement
                .put(&tenants[i], shards[owner[i]].to_string().into())
                .await?;
            churned += 1;
            next_churn += cfg.churn_every;
        }
        if Instant::now() >= next_sample {
            for (s, r) in shards.iter().zip(&runners) {
                if let Some(pid) = r.pid() {
                    rss.entry(s.to_string())
                        .or_default()
                        .push(status_mb(pid, "VmRSS:"));
                    anon.entry(s.to_string())
                        .or_default()
                        .push(status_mb(pid, "RssAnon:"));
                }
            }
            next_sample += Duration::from_secs(5);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    for r in &runners {
        r.wait_caught_up(Duration::from_secs(120)).await?;
    }
    let (p50_ms, p99_ms) = run_latency_ms(&http, &runners, &before).await?;
    for r in runners.iter_mut() {
        ensure!(
            r.terminate(Duration::from_secs(30))?.success(),
            "a runner did not stop cleanly"
        );
    }

    // Exactly once across the volumes.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for s in shards {
        let v = read_volume(&tmp.path().join(s))?;
        for (t, saga, id) in v.dedupe.keys() {
            if saga == "account" && t.starts_with('s') {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
    }
    let lost = sent - seen.len() as u64;
    let applied_twice = seen.values().filter(|n| **n > 1).count() as u64;
    // The commands are exactly those of the events sent: one ledger.credit per deposit,
    // with the id its cause gives it, each stored once.
    let cmds = stored(&js, "RUNNER_COMMANDS").await?;
    let ids: BTreeSet<String> = cmds.iter().map(|m| m.msg_id.clone()).collect();
    let expected: BTreeSet<String> = (0..sent)
        .map(|i| {
            let t = &tenants[i as usize % tenants.len()];
            let id = format!("{t}-{i}");
            shared::names::msg_id::command(
                t,
                "account",
                shared::names::msg_id::Cause::Event(&id),
                0,
            )
        })
        .collect();
    let missing_commands = expected.difference(&ids).count() as u64;
    let unexpected_commands = ids.difference(&expected).count() as u64;
    Ok(SoakReport {
        events: sent,
        placements_changed: churned,
        secs,
        throughput: sent as f64 / secs,
        p50_ms,
        p99_ms,
        rss_mb: rss,
        anon_mb: anon,
        lost,
        applied_twice,
        duplicate_commands: cmds.len() as u64 - ids.len() as u64,
        missing_commands,
        unexpected_commands,
    })
}

/// Apply latency (p50, p99 in ms) over the run, all shards' observations together, from
/// their histograms before and after.
async fn run_latency_ms(
    http: &reqwest::Client,
    runners: &[Runner],
    before: &[Vec<(f64, f64)>],
) -> Result<(f64, f64)> {
    let (mut b_all, mut a_all) = (Vec::new(), Vec::new());
    for (r, b) in runners.iter().zip(before) {
        crate::bench::add_buckets(&mut b_all, b);
        crate::bench::add_buckets(&mut a_all, &latency_buckets(http, &r.admin_url).await?);
    }
    Ok((
        quantile(&b_all, &a_all, 0.5) * 1000.0,
        quantile(&b_all, &a_all, 0.99) * 1000.0,
    ))
}
