//! `just bench` (placement part): how fast a placement change takes effect, beside the raw
//! KV put-to-watch latency of the same server in the same run.
//!
//! * raw: a KV put, until a watcher of the key sees it (the floor of any reaction);
//! * 1 tenant: a put moving one tenant between two live shards, until the new owner's
//!   `tenant_started` notice (its consumer runs) and the old owner's `tenant_released`;
//! * 100 tenants: the same for 100 tenants put at once, until the last of them;
//! * 1,000 tenants placed before a runner starts: from spawning it to all of them started,
//!   and its peak RSS.
//!
//! Times are measured at the benchmark's process, so they include the notice's trip over
//! NATS (tens of microseconds on loopback). Tenants are idle: this is the protocol's cost.
//!
//! Prints a table and writes `target/bench/placement.json`.
//! Options (env): BENCH_PLACEMENT_ROUNDS (default 40), BENCH_PLACEMENT_MANY (default 100),
//! BENCH_PLACEMENT_START (default 1000).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use async_nats::jetstream::kv;
use e2e::*;
use futures_util::StreamExt;
use serde_json::json;
use shared::placement::{DEFAULT_PLACEMENT_BUCKET, Notice, NoticeKind};
use tokio::sync::mpsc;

type Notices = mpsc::UnboundedReceiver<(Instant, Notice)>;

/// Every runner notice, with the time it arrived here.
async fn notices(client: &async_nats::Client) -> Result<Notices> {
    let mut sub = client.subscribe("runner.notice.>").await?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(m) = sub.next().await {
            if let Ok(n) = serde_json::from_slice::<Notice>(&m.payload)
                && tx.send((Instant::now(), n)).is_err()
            {
                break;
            }
        }
    });
    Ok(rx)
}

/// Waits for `kind` notices from `shard` for every tenant of `want`; returns, per tenant,
/// the time since `t0` at which its notice arrived. Other notices are dropped.
async fn await_notices(
    rx: &mut Notices,
    t0: Instant,
    shard: &str,
    kind: NoticeKind,
    want: &BTreeSet<String>,
    other: Option<(&str, NoticeKind, &mut Vec<f64>)>,
) -> Result<Vec<f64>> {
    let mut got = Vec::new();
    let mut left = want.clone();
    let (o_shard, o_kind, o_out) = match other {
        Some((s, k, out)) => (Some(s), Some(k), Some(out)),
        None => (None, None, None),
    };
    let mut o_left = if o_shard.is_some() {
        want.clone()
    } else {
        BTreeSet::new()
    };
    let mut o_out = o_out;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !left.is_empty() || !o_left.is_empty() {
        let Ok(Some((at, n))) = tokio::time::timeout_at(deadline, rx.recv()).await else {
            bail!(
                "timed out waiting for {kind:?} from {shard} ({} left) and {o_kind:?} from {o_shard:?} ({} left)",
                left.len(),
                o_left.len()
            );
        };
        let Some(t) = n.tenant.clone() else { continue };
        let ms = at.saturating_duration_since(t0).as_secs_f64() * 1000.0;
        if n.shard == shard && n.kind == kind && left.remove(&t) {
            got.push(ms);
        } else if Some(n.shard.as_str()) == o_shard
            && Some(n.kind) == o_kind
            && o_left.remove(&t)
            && let Some(out) = o_out.as_deref_mut()
        {
            out.push(ms);
        }
    }
    Ok(got)
}

async fn raw_watch_latency(js: &async_nats::jetstream::Context, rounds: usize) -> Result<Vec<f64>> {
    let kv = js
        .create_key_value(kv::Config {
            bucket: "bench_raw".into(),
            history: 1,
            ..Default::default()
        })
        .await?;
    let mut w = kv.watch("probe").await?;
    let mut out = Vec::new();
    for i in 0..rounds {
        let t0 = Instant::now();
        kv.put("probe", format!("shard-{}", i % 2).into()).await?;
        let e = tokio::time::timeout(Duration::from_secs(10), w.next())
            .await
            .context("watch timed out")?
            .context("watch ended")??;
        anyhow::ensure!(e.key == "probe");
        out.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(out)
}

fn stats(v: &[f64]) -> serde_json::Value {
    json!({
        "samples": v.len(),
        "p50_ms": (quantile_of(v, 0.5) * 100.0).round() / 100.0,
        "p99_ms": (quantile_of(v, 0.99) * 100.0).round() / 100.0,
        "max_ms": (quantile_of(v, 1.0) * 100.0).round() / 100.0,
    })
}

fn row(what: &str, v: &[f64]) {
    println!(
        "{what:<44} {:>6} {:>9.2} {:>9.2} {:>9.2}",
        v.len(),
        quantile_of(v, 0.5),
        quantile_of(v, 0.99),
        quantile_of(v, 1.0)
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    let rounds: usize = env_or("BENCH_PLACEMENT_ROUNDS", 40);
    let many: usize = env_or("BENCH_PLACEMENT_MANY", 100);
    let at_start: usize = env_or("BENCH_PLACEMENT_START", 1000);
    if cfg!(debug_assertions) {
        eprintln!("warning: bench built without --release; figures are not representative");
    }
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let client = async_nats::connect(nats.url()).await?;
    let js = async_nats::jetstream::new(client.clone());
    ensure_event_stream(&js).await?;
    let tmp = tempfile::tempdir()?;
    let a = Runner::start(RunnerSpec::placed(&nats, &tmp.path().join("a"), "shard-a")).await?;
    let b = Runner::start(RunnerSpec::placed(&nats, &tmp.path().join("b"), "shard-b")).await?;
    let placement = js.get_key_value(DEFAULT_PLACEMENT_BUCKET).await?;
    let mut rx = notices(&client).await?;

    println!(
        "placement reaction: 2 live shards, idle tenants; times from the KV put to the notice arriving here\n"
    );
    println!(
        "{:<44} {:>6} {:>9} {:>9} {:>9}",
        "case", "n", "p50 ms", "p99 ms", "max ms"
    );
    let raw = raw_watch_latency(&js, rounds.max(100)).await?;
    row("raw KV put -> watch", &raw);

    // One tenant, back and forth.
    let one: BTreeSet<String> = ["solo".to_string()].into();
    let t0 = Instant::now();
    placement.put("solo", "shard-a".into()).await?;
    await_notices(
        &mut rx,
        t0,
        "shard-a",
        NoticeKind::TenantStarted,
        &one,
        None,
    )
    .await?;
    let (mut started, mut released) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let (to, from) = if i % 2 == 0 {
            ("shard-b", "shard-a")
        } else {
            ("shard-a", "shard-b")
        };
        let t0 = Instant::now();
        placement.put("solo", to.to_string().into()).await?;
        started.extend(
            await_notices(
                &mut rx,
                t0,
                to,
                NoticeKind::TenantStarted,
                &one,
                Some((from, NoticeKind::TenantReleased, &mut released)),
            )
            .await?,
        );
    }
    row("1 tenant: put -> stopped on old owner", &released);
    row("1 tenant: put -> running on new owner", &started);

    // Many tenants at once.
    let ts: Vec<String> = (0..many).map(|i| format!("m{i:04}")).collect();
    let set: BTreeSet<String> = ts.iter().cloned().collect();
    let put_all = |to: &'static str| {
        let placement = placement.clone();
        let ts = ts.clone();
        async move {
            futures_util::future::try_join_all(
                ts.iter()
                    .map(|t| placement.put(t.as_str(), to.to_string().into())),
            )
            .await
        }
    };
    let t0 = Instant::now();
    put_all("shard-a").await?;
    await_notices(
        &mut rx,
        t0,
        "shard-a",
        NoticeKind::TenantStarted,
        &set,
        None,
    )
    .await?;
    let (mut last_started, mut last_released, mut each) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..5 {
        let (to, from) = if i % 2 == 0 {
            ("shard-b", "shard-a")
        } else {
            ("shard-a", "shard-b")
        };
        let t0 = Instant::now();
        put_all(to).await?;
        let mut rel = Vec::new();
        let st = await_notices(
            &mut rx,
            t0,
            to,
            NoticeKind::TenantStarted,
            &set,
            Some((from, NoticeKind::TenantReleased, &mut rel)),
        )
        .await?;
        last_started.push(quantile_of(&st, 1.0));
        last_released.push(quantile_of(&rel, 1.0));
        each.extend(st);
    }
    row(
        &format!("{many} tenants: puts -> all stopped on old"),
        &last_released,
    );
    row(
        &format!("{many} tenants: puts -> all running on new"),
        &last_started,
    );
    row(
        &format!("{many} tenants: each tenant running on new"),
        &each,
    );
    drop(a);
    drop(b);

    let start_with = start_with_tenants(&nats, &placement, &mut rx, tmp.path(), at_start).await?;

    let out = json!({
        "benchmark": "placement",
        "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
        "raw_put_to_watch": stats(&raw),
        "one_tenant": {"stopped_on_old": stats(&released), "running_on_new": stats(&started)},
        "many_tenants": {
            "tenants": many,
            "rounds": last_started.len(),
            "all_stopped_on_old": stats(&last_released),
            "all_running_on_new": stats(&last_started),
            "each_running_on_new": stats(&each),
        },
        "start_with_tenants": start_with,
    });
    e2e::bench::write_report("placement.json", &out)?;
    Ok(())
}

/// A runner starting with `at_start` tenants already placed on it: time to ready and to
/// serving them all, and its peak RSS.
async fn start_with_tenants(
    nats: &NatsServer,
    placement: &async_nats::jetstream::kv::Store,
    rx: &mut Notices,
    dir: &std::path::Path,
    at_start: usize,
) -> Result<serde_json::Value> {
    let big: Vec<String> = (0..at_start).map(|i| format!("s{i:05}")).collect();
    futures_util::future::try_join_all(
        big.iter()
            .map(|t| placement.put(t.as_str(), "shard-c".to_string().into())),
    )
    .await?;
    let big_set: BTreeSet<String> = big.iter().cloned().collect();
    let t0 = Instant::now();
    let c = Runner::start(RunnerSpec::placed(nats, &dir.join("c"), "shard-c")).await?;
    let ready_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let st = await_notices(rx, t0, "shard-c", NoticeKind::TenantStarted, &big_set, None).await?;
    let all_ms = quantile_of(&st, 1.0);
    let status = c.status().await?;
    anyhow::ensure!(
        status.tenants.len() == at_start,
        "shard-c serves {} tenants, not {at_start}",
        status.tenants.len()
    );
    let rss = peak_rss_mb(c.pid().unwrap_or(0));
    println!(
        "\nrunner starting with {at_start} tenants placed on it: ready (/readyz) after {ready_ms:.0} ms, all {at_start} serving after {all_ms:.0} ms, peak RSS {rss:.1} MB"
    );
    drop(c);

    Ok(json!({
        "tenants": at_start,
        "ready_ms": ready_ms.round(),
        "all_serving_ms": all_ms.round(),
        "peak_rss_mb": (rss * 10.0).round() / 10.0,
    }))
}
