//! `just bench snapshots`: shard snapshots and restore (issue 20), per volume size
//! (BENCH_SNAPSHOT_SIZES, default 100000,1000000 instances over 1,000 tenants, one instance
//! and one dedupe marker per event, apply-only account saga):
//!
//! * **snapshot**: copy time (one read transaction, the runner applying on) against a plain
//!   `cp` of the data file in the same run, upload time, the snapshot's size against the
//!   live data file's;
//! * **applying during a snapshot**: a backlog of BENCH_SNAPSHOT_BACKLOG events (default
//!   200,000) applied after a drain, once alone and once with a snapshot taken as it
//!   starts: events/s of each (the runner's own counters sampled every 20 ms, over the copy
//!   for the second), and the longest time no event was applied while the backlog lasted;
//! * **restore to serving (RTO)**: the runner killed and its volume deleted, then
//!   `runnerctl restore` (download, SHA-256, checks) and a runner started on it until it
//!   applied everything the stream holds; against rebuilding the same state from the stream
//!   (the first apply of all events).
//!
//! Prints tables and writes `target/bench/snapshots.json`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use e2e::bench::*;
use e2e::*;
use serde_json::{Value, json};

const TENANTS: usize = 1000;

/// Deposits `from..from+n`, each to its own account (one instance and one dedupe marker
/// per event), over the tenants in turn.
async fn publish_unique(js: &async_nats::jetstream::Context, from: u64, n: u64) -> Result<()> {
    let ts = tenants(TENANTS);
    let pad = "x".repeat(60);
    let mut acks = Vec::with_capacity(2000);
    for i in from..from + n {
        let t = &ts[i as usize % TENANTS];
        let body = event(
            &format!("e{i}"),
            "Deposited",
            &format!("a{i}"),
            json!({"amount": i % 100 + 1, "pad": pad}),
        );
        acks.push(js.publish(format!("evt.{t}.account"), body).await?);
        if acks.len() == 2000 {
            for a in acks.drain(..) {
                a.await?;
            }
        }
    }
    for a in acks {
        a.await?;
    }
    Ok(())
}

async fn post(http: &reqwest::Client, url: &str) -> Result<Value> {
    let r = http
        .post(url)
        .timeout(Duration::from_secs(1800))
        .json(&json!({}))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("{url}: {}: {}", r.status(), r.text().await?);
    }
    Ok(r.json().await?)
}

async fn applied_total(http: &reqwest::Client, url: &str) -> f64 {
    metric(http, url, "runner_events_applied_total")
        .await
        .unwrap_or(0.0)
}

async fn wait_position(http: &reqwest::Client, url: &str, n: u64) -> Result<()> {
    eventually(
        Duration::from_secs(1800),
        "the runner to apply everything",
        || async {
            let pos = metric(http, url, "runner_reader_position").await?;
            (pos as u64 >= n).then_some(())
        },
    )
    .await
}

/// Applies a backlog of `n` events published while the runner was drained, sampling its
/// counter every 20 ms; with `snapshot`, one is taken as the backlog starts. Returns
/// (events/s over the measured window, longest stall in ms, the snapshot's answer).
async fn backlog(
    http: &reqwest::Client,
    js: &async_nats::jetstream::Context,
    url: &str,
    from: u64,
    n: u64,
    snapshot: bool,
) -> Result<(f64, f64, Option<Value>)> {
    post(http, &format!("{url}{}", shared::routes::DRAIN)).await?;
    eventually(Duration::from_secs(60), "drained", || async {
        let s: Value = http
            .get(format!("{url}/admin/status"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (s["state"] == "drained").then_some(())
    })
    .await?;
    publish_unique(js, from, n).await?;
    let base = applied_total(http, url).await;
    post(http, &format!("{url}{}", shared::routes::RESUME)).await?;
    let snap = snapshot.then(|| {
        let (http, url) = (http.clone(), url.to_string());
        tokio::spawn(async move {
            let at = Instant::now();
            let v = post(&http, &format!("{url}{}", shared::routes::SNAPSHOT)).await;
            (v, at.elapsed())
        })
    });
    let started = Instant::now();
    let (mut last, mut last_change) = (base, Instant::now());
    let mut stall = Duration::ZERO;
    let mut copy_end: Option<(Instant, f64)> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = applied_total(http, url).await;
        if now > last {
            last = now;
            last_change = Instant::now();
        } else {
            stall = stall.max(last_change.elapsed());
        }
        if let Some(s) = &snap
            && copy_end.is_none()
            && s.is_finished()
        {
            copy_end = Some((Instant::now(), now - base));
        }
        if now - base >= n as f64 {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("the backlog was not applied in 30 minutes");
        }
    }
    let all = started.elapsed();
    let answer = match snap {
        Some(s) => {
            let (v, _) = s.await?;
            Some(v?)
        }
        None => None,
    };
    // With a snapshot: the rate while it ran (copy and upload), else over the backlog.
    let rate = match (&answer, copy_end) {
        (Some(_), Some((end, applied))) if applied > 0.0 => {
            applied / end.duration_since(started).as_secs_f64()
        }
        _ => n as f64 / all.as_secs_f64(),
    };
    Ok((rate, stall.as_secs_f64() * 1000.0, answer))
}

async fn one_size(http: &reqwest::Client, n: u64, backlog_n: u64) -> Result<Value> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    let tmp = tempfile::tempdir()?;
    let saga_file = tmp.path().join("apply.toml");
    std::fs::write(&saga_file, APPLY_ONLY_SAGAS)?;
    let ts = tenants(TENANTS);
    let refs: Vec<&str> = ts.iter().map(String::as_str).collect();
    let mut spec = RunnerSpec::new(&nats, &tmp.path().join("vol"), &refs)
        .env("RUNNER_SNAPSHOT_EVERY", "off")
        .env("RUNNER_LEASE_TTL", "3s");
    spec.sagas = saga_file;
    publish_unique(&js, 0, n).await?;
    let build = Instant::now();
    let mut runner = Runner::start(spec.clone()).await?;
    let url = runner.admin_url.clone();
    wait_position(http, &url, n).await?;
    let rebuild = build.elapsed();

    let (rate_alone, stall_alone, _) = backlog(http, &js, &url, n, backlog_n, false).await?;
    let (rate_during, stall_during, answer) =
        backlog(http, &js, &url, n + backlog_n, backlog_n, true).await?;
    let taken = answer.context("no snapshot answer")?;
    let s = &taken["snapshot"];
    let (copy_ms, upload_ms, bytes) = (
        s["copy_ms"].as_u64().unwrap_or(0),
        taken["upload_ms"].as_u64().unwrap_or(0),
        s["bytes"].as_u64().unwrap_or(0),
    );
    let live_file = tmp.path().join("vol").join(shared::edge_storage::DATA_FILE);
    let live_bytes = std::fs::metadata(&live_file)?.len();
    let cp = Instant::now();
    std::fs::copy(&live_file, tmp.path().join("copy.dat"))?;
    let cp_ms = cp.elapsed().as_secs_f64() * 1000.0;
    std::fs::remove_file(tmp.path().join("copy.dat"))?;
    let total = n + 2 * backlog_n;

    // RTO: lose the volume, restore, serve.
    runner.kill9();
    std::fs::remove_dir_all(&spec.data_dir)?;
    let lost = Instant::now();
    let out = runnerctl(&nats)
        .args([
            "restore",
            "shard-a",
            "--to",
            spec.data_dir.to_str().unwrap(),
        ])
        .output()?;
    if !out.status.success() {
        bail!("restore failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let restore = lost.elapsed();
    let runner = Runner::start(spec.clone()).await?;
    // Ready: the volume checked, the guard built, the killed runner's lease expired.
    let ready = lost.elapsed() - restore;
    wait_position(http, &runner.admin_url, total).await?;
    let rto = lost.elapsed();
    drop(runner);
    let after_snapshot = total.saturating_sub(s["min_position"].as_u64().unwrap_or(0));

    println!(
        "\n{n} instances ({} events over {TENANTS} tenants, each its own instance and dedupe marker)",
        n
    );
    println!(
        "  snapshot: copy {copy_ms} ms (a plain cp of the data file: {cp_ms:.0} ms, ratio {:.2}), upload {upload_ms} ms; {} (live data file {}, ratio {:.2})",
        copy_ms as f64 / cp_ms.max(1.0),
        mb(bytes),
        mb(live_bytes),
        bytes as f64 / live_bytes.max(1) as f64
    );
    println!(
        "  applying a {backlog_n}-event backlog: alone {rate_alone:.0} events/s, during the snapshot {rate_during:.0} events/s (ratio {:.2}); longest stall {stall_alone:.0} ms alone, {stall_during:.0} ms during",
        rate_during / rate_alone.max(1.0)
    );
    println!(
        "  restore to serving (RTO): {:.1} s = runnerctl restore {:.1} s + runner ready {:.1} s (checks, guard, lease) + re-applying the {after_snapshot} events after the snapshot {:.1} s; rebuilding from the stream instead: {:.1} s, ratio {:.2}",
        rto.as_secs_f64(),
        restore.as_secs_f64(),
        ready.as_secs_f64(),
        (rto - restore - ready).as_secs_f64(),
        rebuild.as_secs_f64(),
        rto.as_secs_f64() / rebuild.as_secs_f64().max(0.001)
    );
    Ok(json!({
        "instances": n,
        "tenants": TENANTS,
        "copy_ms": copy_ms,
        "plain_cp_ms": cp_ms.round(),
        "upload_ms": upload_ms,
        "snapshot_bytes": bytes,
        "live_file_bytes": live_bytes,
        "backlog": backlog_n,
        "apply_alone_events_per_sec": rate_alone.round(),
        "apply_during_snapshot_events_per_sec": rate_during.round(),
        "apply_ratio": ((rate_during / rate_alone.max(1.0)) * 1000.0).round() / 1000.0,
        "longest_stall_alone_ms": stall_alone.round(),
        "longest_stall_during_ms": stall_during.round(),
        "restore_ms": restore.as_millis() as u64,
        "ready_ms": ready.as_millis() as u64,
        "events_after_snapshot": after_snapshot,
        "rto_ms": rto.as_millis() as u64,
        "rebuild_from_stream_ms": rebuild.as_millis() as u64,
    }))
}

fn mb(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1 << 20) as f64)
}

#[tokio::main]
async fn main() -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: bench built without --release; figures are not representative");
    }
    let sizes: Vec<u64> = std::env::var("BENCH_SNAPSHOT_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let backlog_n: u64 = env_or("BENCH_SNAPSHOT_BACKLOG", 200_000);
    let http = e2e::http();
    println!("snapshots: release build, one nats-server, apply-only account saga");
    let mut rows = Vec::new();
    for n in sizes {
        rows.push(one_size(&http, n, backlog_n).await?);
    }
    write_report(
        "snapshots.json",
        &json!({
            "benchmark": "snapshots",
            "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
            "sizes": rows,
        }),
    )?;
    Ok(())
}
