//! `just bench ops`: replay and drain.
//!
//! * replay: one runner applies a backlog of one tenant's `account` events from the main
//!   reader (the live apply rate), then replays the same saga in `full_reset` (everything
//!   deleted in one transaction, then re-read and re-applied on a reader of its own); both
//!   rates from the runner's own clock, same runner, same events, same run.
//! * drain: a runner busy with a steady 5,000 events/s that each emit a command (so there
//!   are batches in flight and an outbox to flush), drained 5 times: time from the request
//!   to `drained`, polled every 5 ms.
//!
//! Prints a table and writes `target/bench/ops.json`. Options (env): BENCH_EVENTS
//! (default 200000).

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use e2e::bench::*;
use e2e::*;
use serde_json::{Value, json};
use shared::wire::RunnerState;

async fn post(http: &reqwest::Client, url: &str, body: Value) -> Result<Value> {
    let r = http.post(url).json(&body).send().await?;
    if !r.status().is_success() {
        bail!("{url}: {}: {}", r.status(), r.text().await?);
    }
    Ok(r.json().await?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let n: u64 = env_or("BENCH_EVENTS", 200_000);
    if cfg!(debug_assertions) {
        eprintln!("warning: bench built without --release; figures are not representative");
    }
    let http = e2e::http();

    let replay = replay_bench(&http, n).await?;
    let drain = drain_bench(&http).await?;
    let mv = move_bench(&http).await?;
    let out = json!({
        "benchmark": "ops",
        "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
        "replay": replay,
        "drain": drain,
        "move": mv,
    });
    e2e::bench::write_report("ops.json", &out)?;
    Ok(())
}

/// Replay rate beside the live apply rate, on one runner.
async fn replay_bench(http: &reqwest::Client, n: u64) -> Result<Value> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    let ts = vec!["t0".to_string()];
    publish_backlog(&js, n, &ts).await?;
    let tmp = tempfile::tempdir()?;
    let saga_file = tmp.path().join("apply.toml");
    std::fs::write(&saga_file, APPLY_ONLY_SAGAS)?;
    let mut spec = RunnerSpec::new(&nats, &tmp.path().join("vol"), &["t0"]);
    spec.sagas = saga_file.clone();
    let start_ms = shared::now_ms();
    let mut runner = Runner::start(spec).await?;
    let url = runner.admin_url.clone();
    eventually(
        Duration::from_secs(600),
        "the backlog to be applied",
        || async {
            let pos = metric(http, &url, "runner_reader_position").await?;
            (pos as u64 >= n).then_some(())
        },
    )
    .await?;
    let done_ms = (metric(http, &url, "runner_last_commit_timestamp_seconds")
        .await
        .unwrap_or(0.0)
        * 1000.0) as u64;
    let live_eps = n as f64 / (done_ms.saturating_sub(start_ms).max(1) as f64 / 1000.0);
    let accepted = post(
        http,
        &format!("{url}{}", shared::routes::REPLAY),
        json!({"tenant_id": "t0", "saga_name": "account", "mode": "full_reset"}),
    )
    .await?;
    let id = accepted["replay_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let status = wait_replay_over(&url, &id, Duration::from_secs(600)).await?;
    if status["state"] != shared::wire::ReplayState::Completed.as_str() {
        bail!("the replay ended {}, not completed", status["state"]);
    }
    let took_ms = status["completed_at_ms"].as_u64().unwrap_or(0)
        - status["started_at_ms"].as_u64().unwrap_or(0);
    let replay_eps =
        status["applied"].as_u64().unwrap_or(0) as f64 / (took_ms.max(1) as f64 / 1000.0);
    let deleted = status["deleted"].clone();
    let rss = peak_rss_mb(runner.pid().unwrap_or(0));
    runner.terminate(Duration::from_secs(30))?;
    println!("replay: {n} events of one tenant, apply-only account saga, release build\n");
    println!("{:<44} {:>12}", "case", "events/s");
    println!(
        "{:<44} {:>12.0}",
        "live apply (main reader, backlog)", live_eps
    );
    println!(
        "{:<44} {:>12.0}   ratio {:.2}",
        "full_reset replay (reset + re-read)",
        replay_eps,
        replay_eps / live_eps
    );
    println!(
        "reset deleted {} instances and {} dedupe markers in one transaction; replay took {took_ms} ms; peak RSS {rss:.1} MB",
        deleted["instances"], deleted["dedupe"]
    );
    drop(nats);
    Ok(json!({
        "events": n,
        "live_apply_events_per_sec": live_eps.round(),
        "full_reset_replay_events_per_sec": replay_eps.round(),
        "ratio": ((replay_eps / live_eps) * 1000.0).round() / 1000.0,
        "replay_ms": took_ms,
        "deleted": deleted,
        "peak_rss_mb": (rss * 10.0).round() / 10.0,
    }))
}

/// Drain latency of a busy runner.
async fn drain_bench(http: &reqwest::Client) -> Result<Value> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    let tmp = tempfile::tempdir()?;
    let runner = Runner::start(RunnerSpec::new(
        &nats,
        &tmp.path().join("vol"),
        &["t0", "t1", "t2", "t3"],
    ))
    .await?;
    let url = runner.admin_url.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let generator = tokio::spawn({
        let js = js.clone();
        let stop = stop.clone();
        async move {
            let pad = "x".repeat(100);
            let mut i = 0u64;
            let mut next = tokio::time::Instant::now();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut acks = Vec::new();
                for _ in 0..50 {
                    let t = i % 4;
                    acks.push(
                        js.publish(format!("evt.t{t}.account"), payload(i, &pad))
                            .await?,
                    );
                    i += 1;
                }
                for a in acks {
                    a.await?;
                }
                next += Duration::from_millis(10);
                tokio::time::sleep_until(next).await;
            }
            anyhow::Ok(i)
        }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut drains = Vec::new();
    let mut outbox_at_start = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let d = post(http, &format!("{url}{}", shared::routes::DRAIN), json!({})).await?;
        outbox_at_start.push(d["outbox_left"].as_u64().unwrap_or(0));
        loop {
            let s: shared::wire::StatusResponse = http
                .get(format!("{url}{}", shared::routes::status(false)))
                .send()
                .await?
                .json()
                .await?;
            if std::env::var_os("BENCH_VERBOSE").is_some() {
                eprintln!(
                    "  {:>6.1} ms {:?}",
                    t0.elapsed().as_secs_f64() * 1000.0,
                    s.drain.as_ref().map(|d| &d.blockers)
                );
            }
            if s.state == RunnerState::Drained {
                break;
            }
            if t0.elapsed() > Duration::from_secs(60) {
                bail!("drain did not complete in 60 s: {:?}", s.drain);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drains.push(t0.elapsed().as_secs_f64() * 1000.0);
        post(http, &format!("{url}{}", shared::routes::RESUME), json!({})).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let published = generator.await??;
    println!(
        "\ndrain of a runner applying 5,000 events/s, each emitting a command ({published} events in all):"
    );
    println!(
        "request -> drained: p50 {:.1} ms, max {:.1} ms over {} drains",
        quantile_of(&drains, 0.5),
        quantile_of(&drains, 1.0),
        drains.len()
    );
    drop(runner);
    drop(nats);
    Ok(json!({
        "rate_events_per_sec": 5000,
        "samples_ms": drains.iter().map(|d| (d * 10.0).round() / 10.0).collect::<Vec<_>>(),
        "p50_ms": (quantile_of(&drains, 0.5) * 10.0).round() / 10.0,
        "max_ms": (quantile_of(&drains, 1.0) * 10.0).round() / 10.0,
    }))
}

/// Moves a tenant with 100,000 instances (and as many dedupe markers) between two shards
/// while 1,000 events/s of it keep coming: the move's wall time, and the pause in the
/// tenant's processing: the longest any live event waited between being stored and its
/// command being stored, from the servers' timestamps (the example `account` saga emits one
/// command per event).
async fn move_bench(_http: &reqwest::Client) -> Result<Value> {
    let n: u32 = env_or("BENCH_MOVE_INSTANCES", 100_000);
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    let tmp = tempfile::tempdir()?;
    let (va, vb) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a = Runner::start(RunnerSpec::placed(&nats, &va, "shard-a")).await?;
    let mut b = Runner::start(RunnerSpec::placed(&nats, &vb, "shard-b")).await?;
    let ctl = |args: &[&str]| -> Result<String> {
        let out = std::process::Command::new(bin("runnerctl"))
            .env("NATS_URL", nats.url())
            .args(args)
            .output()?;
        if !out.status.success() {
            bail!(
                "runnerctl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?)
    };
    ctl(&["place", "big", "shard-a"])?;
    a.wait_serving(&["big"], Duration::from_secs(30)).await?;
    // One instance per event: n distinct keys.
    let mut acks = Vec::new();
    for i in 0..n {
        let body = event(
            &format!("big-{i}"),
            "Deposited",
            &format!("k{i}"),
            json!({"amount": 1}),
        );
        acks.push(js.publish("evt.big.account", body).await?);
        if acks.len() == 1000 {
            for a in acks.drain(..) {
                a.await?;
            }
        }
    }
    for x in acks {
        x.await?;
    }
    a.wait_caught_up(Duration::from_secs(300)).await?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flow = tokio::spawn({
        let (js, stop) = (js.clone(), stop.clone());
        async move {
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let body = event(
                    &format!("live-{i}"),
                    "Deposited",
                    &format!("k{}", i % 100),
                    json!({"amount": 1}),
                );
                js.publish("evt.big.account", body).await?.await?;
                i += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            anyhow::Ok(i)
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    let out = ctl(&[
        "move",
        "big",
        "--to",
        "shard-b",
        "--keep-source",
        "-o",
        "json",
    ])?;
    let move_ms = t0.elapsed().as_secs_f64() * 1000.0;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let live = flow.await??;
    b.wait_caught_up(Duration::from_secs(60)).await?;
    let moved: Value = serde_json::from_str(&out)?;
    a.terminate(Duration::from_secs(30))?;
    b.terminate(Duration::from_secs(30))?;
    // The pause, from the servers' timestamps: the longest any live event waited between
    // being stored and its ledger command being stored (events published during the move
    // wait for the target).
    let stored_ms = |m: &async_nats::jetstream::Message| {
        m.info()
            .map(|i| (i.published.unix_timestamp_nanos() / 1_000_000) as u64)
            .unwrap_or(0)
    };
    let mut event_at = std::collections::BTreeMap::new();
    for m in e2e::read_stream(&js, "RUNNER_EVENTS").await? {
        let v: Value = serde_json::from_slice(&m.payload).unwrap_or(Value::Null);
        if let Some(id) = v["id"].as_str().filter(|id| id.starts_with("live-")) {
            event_at.insert(id.to_string(), stored_ms(&m));
        }
    }
    let (mut pause_ms, mut matched) = (0u64, 0usize);
    for m in e2e::read_stream(&js, "RUNNER_COMMANDS").await? {
        let id = m
            .headers
            .as_ref()
            .and_then(|h| h.get("Runner-Event-Id"))
            .map(|v| v.to_string())
            .unwrap_or_default();
        if let Some(at) = event_at.get(&id) {
            pause_ms = pause_ms.max(stored_ms(&m).saturating_sub(*at));
            matched += 1;
        }
    }
    if matched < event_at.len() || event_at.len() < live as usize {
        bail!(
            "{} live events published, {} stored, {matched} with their command: cannot measure the pause",
            live,
            event_at.len()
        );
    }
    println!(
        "\nmove of a tenant with {} instances and {} dedupe markers while {live} live events arrived (~1,000/s):",
        moved["moved"]["instances"], moved["moved"]["dedupe"]
    );
    println!(
        "  runnerctl move: {move_ms:.0} ms; processing pause (longest wait of a live event from stored to its command stored): {pause_ms} ms"
    );
    Ok(json!({
        "instances": moved["moved"]["instances"],
        "dedupe": moved["moved"]["dedupe"],
        "move_ms": move_ms.round(),
        "pause_ms": pause_ms,
        "live_events_during": live,
    }))
}
