//! `just bench`: the runner's end-to-end throughput (published -> applied durably) beside
//! the raw rate of one unfiltered JetStream pull consumer acking each message, on the same
//! server and messages in the same run, for backlogs spread over 10, 100 and 1,000 tenants;
//! then latency at a steady 10,000 events/s (apply: event stored to its batch committed;
//! commands: event stored to its command stored), and peak RSS.
//!
//! Two workloads: `apply` (an account saga that updates its instance and emits nothing) and
//! `commands` (the example `account` saga, which also emits one command per event through
//! the outbox, so JetStream stores a message for every event read).
//!
//! Prints a table and writes `target/bench/runner_throughput.json`.
//! Options (env): BENCH_EVENTS (default 200000), BENCH_TENANTS (default 10,100,1000),
//! BENCH_STEADY_SECS (default 5), BENCH_TICK_MS (default 1: the steady load is published
//! as 10 events every millisecond; 10 gives bursts of 100 every 10 ms, as before issue 18's
//! latency work).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use e2e::bench::*;
use e2e::*;
use serde_json::json;

struct Case {
    workload: &'static str,
    tenants: usize,
    publish_eps: f64,
    raw_eps: f64,
    /// The commands workload's baseline (`e2e::bench::raw_pipeline_rate`).
    pipeline_eps: Option<f64>,
    runner_eps: f64,
    p50_ms: f64,
    p99_ms: f64,
    steady_rate: f64,
    rss_mb: f64,
}

async fn case(
    n_tenants: usize,
    n_events: u64,
    steady_secs: u64,
    tick_ms: u64,
    workload: &str,
) -> Result<Case> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    let ts = tenants(n_tenants);
    let pub_time = publish_backlog(&js, n_events, &ts).await?;
    let raw_eps = e2e::bench::raw_acked_rate(
        &js,
        &shared::layout::Layout::new(shared::names::DEFAULT_EVENT_STREAM, 0),
    )
    .await?;
    // The commands workload's own limit: read, publish one message per event, await acks.
    let pipeline_eps = if workload == "apply" {
        None
    } else {
        Some(
            e2e::bench::raw_pipeline_rate(
                &js,
                &shared::layout::Layout::new(shared::names::DEFAULT_EVENT_STREAM, 0),
            )
            .await?,
        )
    };

    let tmp = tempfile::tempdir()?;
    let mut spec = RunnerSpec::new(&nats, &tmp.path().join("vol"), &[]);
    spec.tenants = ts.clone();
    if workload == "apply" {
        let path = tmp.path().join("apply.toml");
        std::fs::write(&path, APPLY_ONLY_SAGAS)?;
        spec.sagas = path;
    }
    let start_ms = shared::now_ms();
    let start = Instant::now();
    let mut runner = Runner::start(spec).await?;
    let http = e2e::http();
    let url = runner.admin_url.clone();
    loop {
        let pos = metric(&http, &url, "runner_reader_position")
            .await
            .unwrap_or(0.0);
        if pos as u64 >= n_events {
            break;
        }
        if start.elapsed() > Duration::from_secs(600) {
            bail!("runner did not finish the backlog in 10 minutes (at {pos})");
        }
        // Polling /metrics is not free for the runner; the finish time comes from its own
        // clock below, so a coarse poll loses no precision.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Apply: from the runner's own clock, when the batch holding the last event was
    // committed. Commands: when the last command was stored in its stream (server clock,
    // the same host).
    let done_ms = if workload == "apply" {
        (metric(&http, &url, "runner_last_commit_timestamp_seconds")
            .await
            .unwrap_or(0.0)
            * 1000.0) as u64
    } else {
        commands_stored(&js, n_events, Duration::from_secs(600)).await?
    };
    let runner_eps = n_events as f64 / (done_ms.saturating_sub(start_ms).max(1) as f64 / 1000.0);
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        for m in [
            "runner_batches_total",
            "runner_batch_seconds_sum",
            "runner_batch_seconds_count",
            "runner_commit_seconds_sum",
            "runner_commit_seconds_count",
            "runner_volume_used_bytes",
            "runner_storage_errors_total",
            "runner_reader_recreates_total",
        ] {
            eprintln!("  {m} = {:?}", metric(&http, &url, m).await);
        }
    }

    // Steady 10,000 events/s.
    let before = latency_buckets(&http, &url).await?;
    let pad = "x".repeat(100);
    let rate = 10_000u64;
    let total = rate * steady_secs;
    let tick = Duration::from_millis(tick_ms);
    let per_tick = (rate * tick_ms / 1000).max(1);
    let t0 = Instant::now();
    let mut i = n_events;
    let mut next = tokio::time::Instant::now();
    while i < n_events + total {
        let mut acks = Vec::with_capacity(per_tick as usize);
        for _ in 0..per_tick {
            let t = &ts[(i as usize) % ts.len()];
            acks.push(
                js.publish(format!("evt.{t}.account"), payload(i, &pad))
                    .await?,
            );
            i += 1;
        }
        for a in acks {
            a.await?;
        }
        next += tick;
        tokio::time::sleep_until(next).await;
    }
    let steady_rate = total as f64 / t0.elapsed().as_secs_f64();
    eventually(
        Duration::from_secs(60),
        "the steady events to be applied",
        || async {
            let pos = metric(&http, &url, "runner_reader_position").await?;
            (pos as u64 >= n_events + total).then_some(())
        },
    )
    .await?;
    let after = latency_buckets(&http, &url).await?;
    // Commands: from the event stored to its command stored, off the two streams.
    let (p50_ms, p99_ms) = if workload == "apply" {
        (
            quantile(&before, &after, 0.5) * 1000.0,
            quantile(&before, &after, 0.99) * 1000.0,
        )
    } else {
        commands_stored(&js, n_events + total, Duration::from_secs(60)).await?;
        command_latency_ms(&js, n_events, total).await?
    };
    let rss_mb = peak_rss_mb(runner.pid().unwrap_or(0));
    runner.terminate(Duration::from_secs(30))?;
    Ok(Case {
        workload: if workload == "apply" {
            "apply"
        } else {
            "commands"
        },
        tenants: n_tenants,
        publish_eps: n_events as f64 / pub_time.as_secs_f64(),
        raw_eps,
        pipeline_eps,
        runner_eps,
        p50_ms,
        p99_ms,
        steady_rate,
        rss_mb,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let n_events: u64 = env_or("BENCH_EVENTS", 200_000);
    let steady: u64 = env_or("BENCH_STEADY_SECS", 5);
    let tick_ms: u64 = env_or("BENCH_TICK_MS", 1).clamp(1, 1000);
    let counts: Vec<usize> = std::env::var("BENCH_TENANTS")
        .unwrap_or_else(|_| "10,100,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if cfg!(debug_assertions) {
        eprintln!("warning: bench built without --release; figures are not representative");
    }
    println!(
        "runner throughput: {n_events} events of ~200 bytes, backlog read from seq 1, then {steady} s at 10,000 events/s ({} every {tick_ms} ms)",
        10 * tick_ms
    );
    println!(
        "apply = account saga updating its instance; commands = the same plus one command per event through the outbox"
    );
    println!(
        "raw = one durable unfiltered pull consumer with ack() per message, same server and messages, same run;"
    );
    println!(
        "commands are compared with the pipeline instead: read each event, publish one message with a Nats-Msg-Id, acks awaited 1,000 at a time (no saga, no volume)"
    );
    let commit_dir = tempfile::tempdir()?;
    let (commit_p50, commit_p99) = e2e::bench::commit_latency_ms(commit_dir.path(), 2000)?;
    println!(
        "durable commit of the volume alone on this disk (2,000 one-record transactions): p50 {commit_p50:.2} ms, p99 {commit_p99:.2} ms\n"
    );
    println!(
        "{:>9} {:>8} {:>11} {:>10} {:>10} {:>7} {:>9} {:>8} {:>8} {:>7}",
        "workload",
        "tenants",
        "publish/s",
        "base/s",
        "runner/s",
        "ratio",
        "steady/s",
        "p50 ms",
        "p99 ms",
        "rss MB"
    );
    let workloads: Vec<String> = std::env::var("BENCH_WORKLOADS")
        .unwrap_or_else(|_| "apply,commands".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let mut results = BTreeMap::new();
    for w in &workloads {
        for &n in &counts {
            let c = case(n, n_events, steady, tick_ms, w).await?;
            let base = c.pipeline_eps.unwrap_or(c.raw_eps);
            let ratio = c.runner_eps / base;
            println!(
                "{:>9} {:>8} {:>11.0} {:>10.0} {:>10.0} {:>7.2} {:>9.0} {:>8.2} {:>8.2} {:>7.1}",
                c.workload,
                c.tenants,
                c.publish_eps,
                base,
                c.runner_eps,
                ratio,
                c.steady_rate,
                c.p50_ms,
                c.p99_ms,
                c.rss_mb
            );
            results.insert(
                format!("{}/{}", c.workload, c.tenants),
                json!({
                    "workload": c.workload,
                    "tenants": c.tenants,
                    "events": n_events,
                    "publish_events_per_sec": c.publish_eps.round(),
                    "raw_events_per_sec": c.raw_eps.round(),
                    "pipeline_events_per_sec": c.pipeline_eps.map(f64::round),
                    "baseline": if c.pipeline_eps.is_some() { "pipeline" } else { "raw_acked" },
                    "ratio_to_acked_raw": ((c.runner_eps / c.raw_eps) * 1000.0).round() / 1000.0,
                    "runner_events_per_sec": c.runner_eps.round(),
                    "ratio_to_raw": (ratio * 1000.0).round() / 1000.0,
                    "steady_rate_events_per_sec": c.steady_rate.round(),
                    "latency_p50_ms": (c.p50_ms * 100.0).round() / 100.0,
                    "latency_p99_ms": (c.p99_ms * 100.0).round() / 100.0,
                    "peak_rss_mb": (c.rss_mb * 10.0).round() / 10.0,
                }),
            );
        }
    }
    let out = serde_json::json!({
        "benchmark": "runner_throughput",
        "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
        "commit_latency_ms": {"p50": (commit_p50 * 1000.0).round() / 1000.0, "p99": (commit_p99 * 1000.0).round() / 1000.0},
        "cases": results,
    });
    e2e::bench::write_report("runner_throughput.json", &out)?;
    Ok(())
}
