//! The fleet benchmark (`just bench fleet`): shards x tenants per shard x placement, each
//! case on a fresh nats-server. Per case: read amplification (messages the server delivered
//! to all runners, from its own `/connz` counters, divided by events published; the counters
//! are read as soon as the runners' own metrics say every event is applied, so nothing the
//! benchmark asks them is counted), the apply latency (p50, p99) of the whole fleet while
//! events arrive at a steady rate, and `ratio_to_raw`: each sampled shard alone on a fresh
//! volume applying the events of its tenants from the stream (those events and a backlog
//! published at once), in events of its own per second, against the project's raw baseline
//! (`just bench`: one durable unfiltered pull consumer acking each message) reading the
//! whole stream in the same run (the smallest of up to 4 shards). `ratio_to_raw_noack` is the
//! same rate against a no-ack, memory-backed consumer, the fastest read there is.
//!
//! Runners measure their groups' shares every 10 s (the default `RUNNER_READING_EVERY`):
//! after a warm-up of one event per tenant the benchmark waits one period, so the steady
//! state is measured, not the seconds after a start on empty streams.
//!
//! Layout: partitioned into FLEET_PARTITIONS groups (64; 0 runs today's single stream, the
//! baseline), the server's account mapping routing every publish. Placement: `recommended`
//! gives each shard whole partition groups (groups g with g % shards == s) and its tenants
//! from them, `arbitrary` deals tenants round robin whatever their group. Shards follow
//! allowlists, so no placement traffic is counted.
//! Options (env): FLEET_SHARDS (1,4,16), FLEET_TENANTS (10,100,1000: per shard),
//! FLEET_EVENTS (30000), FLEET_RATE (10000 events/s), FLEET_BACKLOG (25000 more events per
//! shard, published at once, for `ratio_to_raw`: each sampled shard applies about that
//! many, so its measured window is not mostly its start), FLEET_PLACEMENTS
//! (recommended,arbitrary), FLEET_PARTITIONS (64), FLEET_ISOLATION (1: the isolation case
//! after the grid), FLEET_TICK_MS (1: the steady rate is published every millisecond, as in
//! `just bench`; 10 gives the bursts measured before 2026-12-07). Writes
//! target/bench/fleet.json.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use e2e::bench::{
    APPLY_ONLY_SAGAS, add_buckets, latency_buckets, metric, payload, publish_deposits, quantile,
};
use e2e::{Runner, RunnerSpec, create_group_streams, create_streams, env_or, jetstream};
use serde_json::{Value, json};
use shared::devtools::{NatsServer, ServerOptions};
use shared::layout::Layout;

fn list(var: &str, default: &str) -> Vec<usize> {
    std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn list_str(var: &str, default: &str) -> Vec<String> {
    std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().to_string())
        .collect()
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Messages the server sent to each runner's connection (named `runner <shard>`), summed.
async fn delivered_to_runners(http: &reqwest::Client, monitor: u16) -> Result<u64> {
    let v: Value = http
        .get(format!(
            "http://127.0.0.1:{monitor}/connz?limit=100000&subs=0"
        ))
        .send()
        .await?
        .json()
        .await?;
    Ok(v["connections"]
        .as_array()
        .context("connz without connections")?
        .iter()
        .filter(|c| c["name"].as_str().is_some_and(|n| n.starts_with("runner ")))
        .map(|c| c["out_msgs"].as_u64().unwrap_or(0))
        .sum())
}

struct Case {
    shards: usize,
    per_shard: usize,
    recommended: bool,
}

/// A nats-server with its monitoring port and, for a partitioned layout, the account
/// mapping; the layout's streams created.
async fn server(layout: &Layout) -> Result<(NatsServer, u16, async_nats::jetstream::Context)> {
    let monitor = free_port()?;
    let conf = match layout.mapping_config() {
        Some(c) => {
            let dir = tempfile::Builder::new()
                .prefix("fleet-conf-")
                .tempdir()?
                .keep();
            let p = dir.join("nats.conf");
            std::fs::write(&p, c)?;
            Some(p)
        }
        None => None,
    };
    let nats = NatsServer::start_with(ServerOptions {
        args: vec!["-m".into(), monitor.to_string()],
        config_file: conf,
        ..Default::default()
    })
    .map_err(anyhow::Error::msg)?;
    let js = jetstream(&nats).await?;
    if layout.is_partitioned() {
        create_group_streams(&js, layout, Duration::from_secs(120)).await?;
    } else {
        create_streams(&js, Duration::from_secs(120)).await?;
    }
    Ok((nats, monitor, js))
}

/// `n` tenants and the shard of each: `recommended` gives shard s the tenants of the groups
/// g with g % shards == s (`per_shard` of them), `arbitrary` deals them round robin.
fn tenants_of(c: &Case, layout: &Layout) -> (Vec<String>, Vec<usize>) {
    let n = c.shards * c.per_shard;
    if !c.recommended || !layout.is_partitioned() {
        let tenants: Vec<String> = (0..n).map(|i| format!("f{i:05}")).collect();
        let owner = (0..n)
            .map(|i| {
                if c.recommended {
                    i / c.per_shard
                } else {
                    i % c.shards
                }
            })
            .collect();
        return (tenants, owner);
    }
    let groups = layout.partitions() as usize;
    let mut per = vec![0usize; c.shards];
    let (mut tenants, mut owner) = (Vec::new(), Vec::new());
    let mut i = 0usize;
    while tenants.len() < n {
        let t = format!("f{i:05}");
        i += 1;
        let g = layout.group_of(&t) as usize;
        let s = (g % groups) % c.shards;
        if per[s] < c.per_shard {
            per[s] += 1;
            tenants.push(t);
            owner.push(s);
        }
    }
    (tenants, owner)
}

fn runner_spec(
    nats: &NatsServer,
    dir: &std::path::Path,
    shard: &str,
    tenants: &[&str],
    sagas: &std::path::Path,
    layout: &Layout,
) -> RunnerSpec {
    let mut spec = RunnerSpec::new(nats, dir, tenants)
        .env("RUNNER_PARTITIONS", &layout.partitions().to_string())
        .env(
            "RUNNER_READING_EVERY",
            &format!("{}ms", READING_EVERY.as_millis()),
        );
    spec.shard = shard.to_string();
    spec.sagas = sagas.to_path_buf();
    spec
}

async fn run_case(
    c: &Case,
    layout: &Layout,
    events: u64,
    rate: u64,
    backlog: u64,
) -> Result<Value> {
    let (nats, monitor, js) = server(layout).await?;
    let tmp = tempfile::tempdir()?;
    let sagas = tmp.path().join("apply.toml");
    std::fs::write(&sagas, APPLY_ONLY_SAGAS)?;
    let n = c.shards * c.per_shard;
    let (tenants, owners) = tenants_of(c, layout);
    let owner = |i: usize| owners[i];
    let mut runners = Vec::new();
    for s in 0..c.shards {
        let mine: Vec<&str> = (0..n)
            .filter(|i| owner(*i) == s)
            .map(|i| tenants[i].as_str())
            .collect();
        let dir = tmp.path().join(format!("s{s}"));
        let spec = runner_spec(&nats, &dir, &format!("shard-{s}"), &mine, &sagas, layout);
        runners.push(Runner::start(spec).await?);
    }
    let http = e2e::http();
    // Warm-up: an event per tenant, then time for every shard to measure its groups'
    // shares (RUNNER_READING_EVERY=1s): the fleet's steady state is measured, not the
    // seconds after a start on empty streams.
    let pad = "x".repeat(100);
    // Acks awaited a thousand at a time: async-nats holds back publishes beyond its limit of
    // acks in flight, and 16,000 unawaited ones (16 x 1,000 tenants) stalled the warm-up.
    for (chunk, ts) in tenants.chunks(1000).enumerate() {
        let mut acks = Vec::with_capacity(ts.len());
        for (i, t) in ts.iter().enumerate() {
            let i = (chunk * 1000 + i) as u64;
            acks.push(
                js.publish(format!("evt.{t}.account"), payload(1_000_000_000 + i, &pad))
                    .await?,
            );
        }
        for a in acks {
            a.await?;
        }
    }
    let warm = tenants.len() as f64;
    wait_applied(&http, &runners, warm).await?;
    // Every shard measures its groups' shares once with the warm-up events in them.
    tokio::time::sleep(READING_EVERY + Duration::from_millis(500)).await;
    let mut before = Vec::new();
    for r in &runners {
        before.push(latency_buckets(&http, &r.admin_url).await?);
    }
    let delivered_before = delivered_to_runners(&http, monitor).await?;
    // A steady rate in ticks of FLEET_TICK_MS, over every tenant in turn.
    let tick_ms: u64 = env_or("FLEET_TICK_MS", 1).clamp(1, 1000);
    let per_tick = (rate * tick_ms / 1000).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(tick_ms));
    let started = Instant::now();
    let mut sent = 0u64;
    let mut owned = vec![0u64; c.shards];
    // Acks are awaited 500 publishes behind, not tick by tick: with sixteen runners on two
    // cores an ack can take longer than a tick, and waiting for each tick's acks held the
    // rate at 4,000 events/s.
    let mut acks = std::collections::VecDeque::new();
    while sent < events {
        tick.tick().await;
        for _ in 0..per_tick.min(events - sent) {
            let t = &tenants[sent as usize % n];
            owned[owner(sent as usize % n)] += 1;
            acks.push_back(
                js.publish(format!("evt.{t}.account"), payload(sent, &pad))
                    .await?,
            );
            sent += 1;
        }
        while acks.len() > 500 {
            acks.pop_front().expect("an ack").await?;
        }
    }
    for a in acks {
        a.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    // Applied, by the runners' own counters (their metrics: no NATS request), then the
    // server's count at once: what the runners were sent for these events and nothing the
    // benchmark itself asked (a status with lag makes a request per tenant and saga).
    wait_applied(&http, &runners, warm + sent as f64).await?;
    let delivered = delivered_to_runners(&http, monitor).await? - delivered_before;
    let (mut b_all, mut a_all) = (Vec::new(), Vec::new());
    for (r, b) in runners.iter().zip(&before) {
        add_buckets(&mut b_all, b);
        add_buckets(&mut a_all, &latency_buckets(&http, &r.admin_url).await?);
    }
    let amp = delivered as f64 / sent as f64;
    let p50 = quantile(&b_all, &a_all, 0.5) * 1000.0;
    let p99 = quantile(&b_all, &a_all, 0.99) * 1000.0;
    for r in runners.iter_mut() {
        r.terminate(Duration::from_secs(30))?;
    }
    // A backlog on top, so each shard's start is a small part of its time.
    for i in 0..backlog {
        owned[owner((sent + i) as usize % n)] += 1;
    }
    publish_deposits(&js, sent, backlog, |i| tenants[i as usize % n].as_str()).await?;
    let raw = e2e::bench::raw_acked_rate(&js, layout).await?;
    let raw_noack = raw_rate(&js, layout).await?;
    let mut ratio = f64::INFINITY;
    let sampled: Vec<usize> = (0..c.shards).step_by(c.shards.div_ceil(4)).collect();
    for &s in &sampled {
        let mine: Vec<&str> = (0..n)
            .filter(|i| owner(*i) == s)
            .map(|i| tenants[i].as_str())
            .collect();
        let dir = tmp.path().join(format!("alone{s}"));
        let spec = runner_spec(&nats, &dir, &format!("alone-{s}"), &mine, &sagas, layout);
        // The apply rate from the runner's own count, sampled every 20 ms from its first
        // applied event to its last: the process start and the consumers' creation are
        // not the apply rate. Sampling starts as soon as the admin API answers, before the
        // runner is ready: a small shard can apply all its events before that.
        let mut r = Runner::start_unready(spec)?;
        r.wait_listening().await?;
        let applied = || metric(&http, &r.admin_url, "runner_events_applied_total");
        let (mut first, mut last) = (None::<(Instant, f64)>, None::<(Instant, f64)>);
        let deadline = Instant::now() + Duration::from_secs(300);
        while Instant::now() < deadline {
            let v = applied().await.unwrap_or(0.0);
            let now = Instant::now();
            if v > 0.0 && first.is_none() {
                first = Some((now, v));
            }
            if v >= owned[s] as f64 {
                last = Some((now, v));
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let ((t1, v1), (t2, v2)) = (
            first.context("the shard applied nothing")?,
            last.context("the shard did not apply its events in 300 s")?,
        );
        anyhow::ensure!(
            v2 - v1 >= owned[s] as f64 / 2.0,
            "shard {s} applied {v1} of its {} events before the first sample: no window to measure (raise FLEET_BACKLOG)",
            owned[s]
        );
        let secs = t2.duration_since(t1).as_secs_f64().max(0.02);
        ratio = ratio.min((v2 - v1).max(1.0) / secs / raw);
        r.terminate(Duration::from_secs(30))?;
    }
    Ok(json!({
        "shards": c.shards,
        "tenants_per_shard": c.per_shard,
        "placement": if c.recommended { "recommended" } else { "arbitrary" },
        "events": sent,
        "backlog_events": backlog,
        "rate_events_per_sec": (sent as f64 / secs).round(),
        "delivered_to_runners": delivered,
        "read_amplification": (amp * 100.0).round() / 100.0,
        "apply_p50_ms": (p50 * 100.0).round() / 100.0,
        "apply_p99_ms": (p99 * 100.0).round() / 100.0,
        "raw_events_per_sec": raw.round(),
        "ratio_to_raw": (ratio * 100.0).round() / 100.0,
        "raw_noack_events_per_sec": raw_noack.round(),
        "ratio_to_raw_noack": (ratio * raw / raw_noack * 100.0).round() / 100.0,
        "shards_sampled_for_ratio": sampled.len(),
    }))
}

/// How often runners measure their groups' shares: the runner's default.
const READING_EVERY: Duration = Duration::from_secs(10);

/// Waits until the runners have applied `n` events in all (`runner_events_applied_total`).
async fn wait_applied(http: &reqwest::Client, runners: &[Runner], n: f64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let mut applied = 0.0;
        for r in runners {
            applied += metric(http, &r.admin_url, "runner_events_applied_total")
                .await
                .unwrap_or(0.0);
        }
        if applied >= n {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the runners applied {applied} of {n} events in 600 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One ephemeral, unfiltered, no-ack consumer reading a whole stream, one stream after the
/// other (every group stream of a partitioned layout): events/s.
async fn raw_rate(js: &async_nats::jetstream::Context, layout: &Layout) -> Result<f64> {
    let mut total = 0u64;
    let t0 = Instant::now();
    for g in layout.groups() {
        let mut stream = js.get_stream(layout.stream(g)).await?;
        let n = stream.info().await?.state.messages;
        if n == 0 {
            continue;
        }
        let c = stream
            .create_consumer(async_nats::jetstream::consumer::pull::Config {
                ack_policy: async_nats::jetstream::consumer::AckPolicy::None,
                memory_storage: true,
                ..Default::default()
            })
            .await?;
        let mut msgs = e2e::bench::pull(js, &c).await?;
        for _ in 0..n {
            msgs.next().await.context("raw read ended")?;
        }
        total += n;
    }
    Ok(total as f64 / t0.elapsed().as_secs_f64())
}

/// Event-to-command latency (ms, server timestamps of both streams) of every quiet event,
/// split into before the dump and during it, for the quiet tenants of other groups and the
/// one sharing the hot tenant's group.
struct Isolation {
    before_other: Vec<f64>,
    during_other: Vec<f64>,
    before_same: Vec<f64>,
    during_same: Vec<f64>,
    dump_secs: f64,
    /// Deepest outbox seen during the dump (sampled every 100 ms).
    max_outbox: f64,
}

fn p99(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return 0.0;
    }
    v[((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1]
}

/// One shard, partitioned: 8 quiet tenants publish about 100 events/s in all (one of them
/// in the hot tenant's group, the others in groups of their own) while the hot tenant
/// dumps `dump` events at once. Uses the example saga (each deposit emits a command).
async fn isolation(layout: &Layout, dump: u64) -> Result<Isolation> {
    let (nats, _monitor, js) = server(layout).await?;
    let tmp = tempfile::tempdir()?;
    // Tenants: a hot one, one quiet tenant in its group, seven in seven other groups.
    let mut names = (0..).map(|i| format!("iso{i}"));
    let hot = names.next().expect("names");
    let hg = layout.group_of(&hot);
    let same = names
        .by_ref()
        .find(|t| layout.group_of(t) == hg)
        .expect("a tenant of the hot group");
    let mut others: Vec<String> = Vec::new();
    let mut used = vec![hg];
    for t in names {
        let g = layout.group_of(&t);
        if !used.contains(&g) {
            used.push(g);
            others.push(t);
        }
        if others.len() == 7 {
            break;
        }
    }
    let mut quiet = others.clone();
    quiet.push(same.clone());
    let mut all: Vec<&str> = quiet.iter().map(String::as_str).collect();
    all.push(&hot);
    let spec = runner_spec(
        &nats,
        &tmp.path().join("s"),
        "iso",
        &all,
        &e2e::example_sagas(),
        layout,
    );
    let r = Runner::start(spec).await?;
    let pad = "x".repeat(100);
    // The quiet tenants: 10 ticks of 10 events per second, one tenant after the other.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let quiet_pub = {
        let (js, quiet, stop, pad) = (js.clone(), quiet.clone(), stop.clone(), pad.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                for _ in 0..10 {
                    let t = &quiet[i as usize % quiet.len()];
                    js.publish(format!("evt.{t}.account"), payload(i, &pad))
                        .await?
                        .await?;
                    i += 1;
                }
            }
            anyhow::Ok(())
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sampler = {
        let (url, stop) = (r.admin_url.clone(), stop.clone());
        tokio::spawn(async move {
            let http = e2e::http();
            let mut max = 0f64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(v) = metric(&http, &url, "runner_outbox_depth").await {
                    max = max.max(v);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            max
        })
    };
    let dump_start = shared::now_ms();
    let t0 = Instant::now();
    publish_deposits(&js, 0, dump, |_| hot.as_str()).await?;
    r.wait_caught_up(Duration::from_secs(600)).await?;
    let dump_secs = t0.elapsed().as_secs_f64();
    let dump_end = shared::now_ms();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    quiet_pub.await??;
    let max_outbox = sampler.await?;
    r.wait_caught_up(Duration::from_secs(60)).await?;
    // Server timestamps: each quiet event's store time, and its command's.
    let ms = |m: &async_nats::jetstream::Message| -> Result<(u64, String)> {
        let i = m.info().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((
            (i.published.unix_timestamp_nanos() / 1_000_000) as u64,
            m.headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.to_string())
                .unwrap_or_default(),
        ))
    };
    let mut cmd_at: std::collections::HashMap<String, u64> = Default::default();
    for m in e2e::read_stream(&js, shared::names::DEFAULT_COMMAND_STREAM).await? {
        let (at, id) = ms(&m)?;
        cmd_at.insert(id, at);
    }
    let mut out = Isolation {
        before_other: vec![],
        during_other: vec![],
        before_same: vec![],
        during_same: vec![],
        dump_secs,
        max_outbox,
    };
    let mut groups: Vec<u16> = quiet.iter().map(|t| layout.group_of(t)).collect();
    groups.sort();
    groups.dedup();
    for g in groups {
        for m in e2e::read_stream(&js, &layout.stream(g)).await? {
            let Ok((t, _)) = layout.split(g, &m.subject) else {
                continue;
            };
            if t == hot || !quiet.iter().any(|q| q == t) {
                continue;
            }
            let (at, _) = ms(&m)?;
            let v: Value = serde_json::from_slice(&m.payload)?;
            let id = shared::names::msg_id::command(
                t,
                "account",
                shared::names::msg_id::Cause::Event(v["id"].as_str().unwrap_or("")),
                0,
            );
            let Some(c) = cmd_at.get(&id) else { continue };
            let lat = c.saturating_sub(at) as f64;
            let during = at >= dump_start && at <= dump_end;
            match (t == same, during) {
                (true, false) => out.before_same.push(lat),
                (true, true) => out.during_same.push(lat),
                (false, false) => out.before_other.push(lat),
                (false, true) => out.during_other.push(lat),
            }
        }
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<()> {
    let shards = list("FLEET_SHARDS", "1,4,16");
    let per_shard = list("FLEET_TENANTS", "10,100,1000");
    let partitions: u16 = env_or("FLEET_PARTITIONS", 64);
    let layout = Layout::new(shared::names::DEFAULT_EVENT_STREAM, partitions);
    let events: u64 = env_or("FLEET_EVENTS", 30_000);
    let rate: u64 = env_or("FLEET_RATE", 10_000);
    let backlog_per_shard: u64 = env_or("FLEET_BACKLOG", 25_000);
    let placements = list_str("FLEET_PLACEMENTS", "recommended,arbitrary");
    if cfg!(debug_assertions) {
        eprintln!("warning: bench built without --release; figures are not representative");
    }
    println!(
        "fleet: {} layout, {events} events at {rate}/s per case, apply-only saga; read amplification = messages the server delivered to all runners / events published (its /connz counters)\n",
        layout.describe()
    );
    println!(
        "{:>6} {:>9} {:>12} {:>10} {:>8} {:>8} {:>12}",
        "shards", "tenants", "placement", "read amp", "p50 ms", "p99 ms", "ratio to raw"
    );
    let mut cases = Vec::new();
    for &s in &shards {
        for &t in &per_shard {
            for recommended in [true, false] {
                let name = if recommended {
                    "recommended"
                } else {
                    "arbitrary"
                };
                if (s == 1 && !recommended) || !placements.iter().any(|p| p == name) {
                    continue;
                }
                let c = Case {
                    shards: s,
                    per_shard: t,
                    recommended,
                };
                let backlog = backlog_per_shard * s as u64;
                let v = run_case(&c, &layout, events, rate, backlog).await?;
                println!(
                    "{:>6} {:>9} {:>12} {:>10.2} {:>8.2} {:>8.2} {:>12.2}",
                    s,
                    t,
                    v["placement"].as_str().unwrap_or(""),
                    v["read_amplification"].as_f64().unwrap_or(0.0),
                    v["apply_p50_ms"].as_f64().unwrap_or(0.0),
                    v["apply_p99_ms"].as_f64().unwrap_or(0.0),
                    v["ratio_to_raw"].as_f64().unwrap_or(0.0),
                );
                cases.push(v);
            }
        }
    }
    let mut iso_json = Value::Null;
    if env_or("FLEET_ISOLATION", 1u32) == 1 && layout.is_partitioned() {
        let dump: u64 = env_or("FLEET_DUMP", 200_000);
        let iso = isolation(&layout, dump).await?;
        println!(
            "\nisolation: one shard, 8 quiet tenants (~100 events/s in all) while another tenant dumps {dump} events at once (applied in {:.1} s); event-to-command p99 (server timestamps):",
            iso.dump_secs
        );
        println!(
            "  quiet tenants of other groups: {:.0} ms before the dump, {:.0} ms during it ({} events)",
            p99(&iso.before_other),
            p99(&iso.during_other),
            iso.during_other.len()
        );
        println!(
            "  the quiet tenant sharing the hot tenant's group: {:.0} ms before, {:.0} ms during ({} events)",
            p99(&iso.before_same),
            p99(&iso.during_same),
            iso.during_same.len()
        );
        println!(
            "  deepest outbox during the dump: {:.0} entries",
            iso.max_outbox
        );
        iso_json = json!({
            "dump_events": dump,
            "dump_applied_secs": (iso.dump_secs * 10.0).round() / 10.0,
            "other_groups_p99_ms_before": p99(&iso.before_other),
            "other_groups_p99_ms_during": p99(&iso.during_other),
            "other_groups_events_during": iso.during_other.len(),
            "same_group_p99_ms_before": p99(&iso.before_same),
            "same_group_p99_ms_during": p99(&iso.during_same),
            "max_outbox_depth": iso.max_outbox,
        });
    }
    let out = json!({
        "benchmark": "fleet",
        "isolation": iso_json,
        "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
        "design": if layout.is_partitioned() {
            "group streams: each shard reads whole the groups its tenants hold, and its other tenants with readers of their own"
        } else {
            "one unfiltered main reader per shard"
        },
        "layout": layout.describe(),
        "cases": cases,
    });
    e2e::bench::write_report("fleet.json", &out)
}
