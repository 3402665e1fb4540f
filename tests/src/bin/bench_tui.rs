//! `just bench tui`: the dashboard's frame time and idle CPU with 20 shards and 2,000
//! tenants, beside the same dashboard on an empty fleet in the same run.
//!
//! A real nats-server holds the registry (20 shard records, heartbeats refreshed every 2 s)
//! and the placement bucket (2,000 tenants); each shard's admin API is a small HTTP server
//! in this process answering `/admin/status` with its 100 tenants (lag, checkpoints,
//! counters that grow). The real `runnerctl tui` runs in tmux at 120x40, polling every 2 s
//! (its default). For each case the bench waits until the data is on screen, lets it
//! settle, measures the process's CPU time over BENCH_TUI_IDLE_S seconds (default 10) of no
//! input, then sends 200 keys (moves, pane changes, a filter) and quits. The binary's own
//! frame timer (RUNNERCTL_TUI_STATS) reports every draw: layout, render and the write to
//! the terminal.
//!
//! Prints a table and writes `target/bench/tui.json`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result};
use async_nats::jetstream::kv;
use e2e::*;
use serde_json::json;
use shared::placement::{DEFAULT_PLACEMENT_BUCKET, DEFAULT_REGISTRY_BUCKET, ShardRecord};

const SHARDS: usize = 20;
const TENANTS: usize = 2_000;
const WAIT: Duration = Duration::from_secs(60);

/// CPU time (user + system) of a process, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces): state is field 3; utime and
    // stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').context("a /proc stat line")? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>()? + f[12].parse::<f64>()?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)?.unwrap_or(100) as f64;
    Ok(ticks / hz)
}

fn shard_id(i: usize) -> String {
    format!("shard-{i:02}")
}

fn tenant_id(i: usize) -> String {
    format!("t{i:04}")
}

/// The status a shard's admin API answers: its tenants, each with one saga.
fn status(shard: usize, tick: u64) -> serde_json::Value {
    let tenants: Vec<serde_json::Value> = (0..TENANTS)
        .filter(|t| t % SHARDS == shard)
        .map(|t| {
            let cp = 1_000 + tick * 10 + t as u64;
            let lag = if t % 97 == 0 { 4_000 } else { t as u64 % 7 };
            json!({"tenant": tenant_id(t), "mode": "live", "consumer": null, "outbox_depth": t % 3,
                "timers_pending": 0,
                "sagas": [{"saga": "order", "declared": true, "checkpoint": cp, "stream_last_seq": cp + lag,
                    "lag": lag, "counters": {"applied": cp, "deduped": 0, "skipped": 0, "ignored": 0,
                    "dead_lettered": 0, "timers_fired": 0}}]})
        })
        .collect();
    json!({
        "shard_id": shard_id(shard), "version": env!("CARGO_PKG_VERSION"), "state": "running",
        "started_at_ms": shared::now_ms() - 60_000,
        "nats": {"url": "nats://127.0.0.1", "connected": true}, "stream": "RUNNER_EVENTS",
        "stream_last_seq": 1_000_000, "reader": {"consumer": null, "position": 999_990},
        "tenants": tenants,
        "totals": {"applied": tick * 1000, "deduped": 0, "skipped": 0, "ignored": 0, "dead_lettered": 0, "timers_fired": 0},
        "invalid_subjects": 0, "outbox_depth": 0, "timers_pending": 0,
        "volume": {"path": "/v", "file_bytes": 1, "used_bytes": 1}, "problems": []
    })
}

/// Starts the fake admin API of shard `i`; returns its URL.
async fn admin(i: usize) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let tick = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new().route(
        "/admin/status",
        axum::routing::get(move || {
            let tick = tick.clone();
            async move { axum::Json(status(i, tick.fetch_add(1, Ordering::Relaxed))) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

struct Case {
    name: &'static str,
    frames: u64,
    /// Layout and widgets into the frame buffer.
    render_p50_ms: f64,
    render_p99_ms: f64,
    /// That plus the diff and the write to the terminal (tmux's pty).
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    idle_cpu_pct: f64,
    rss_mb: f64,
}

async fn run_case(nats: &NatsServer, name: &'static str, wait_for: &str) -> Result<Case> {
    let dir = tempfile::tempdir()?;
    let stats = dir.path().join("frames.json");
    let session = Tmux::start(
        &format!("bench-tui-{}-{}", std::process::id(), name.len()),
        &format!(
            "exec env NATS_URL={} RUNNERCTL_CONFIG=/nonexistent RUNNERCTL_TUI_STATS={} {} tui --log-file {}",
            nats.url(),
            stats.display(),
            bin("runnerctl").display(),
            dir.path().join("tui.log").display(),
        ),
        (120, 40),
    )?;
    session.wait_for(WAIT, wait_for).await?;
    let pid = session.pane_pid()?;
    // Two refreshes to settle (rates need two samples).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle_s: f64 = env_or("BENCH_TUI_IDLE_S", 10.0);
    let c0 = cpu_seconds(pid)?;
    let t0 = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(idle_s)).await;
    let idle_cpu_pct = (cpu_seconds(pid)? - c0) / t0.elapsed().as_secs_f64() * 100.0;
    for _ in 0..40 {
        session.keys(&["j", "j", "Tab", "G", "g"])?;
    }
    session.keys(&["/", "t00", "Enter", "Escape"])?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_mb = peak_rss_mb(pid);
    session.keys(&["q"])?;
    session.wait_gone(WAIT).await?;
    let f: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&stats).context("the frame stats runnerctl writes on exit")?,
    )?;
    eprintln!(
        "{name}: slowest renders (frame, us): {}",
        f["slowest_render"]
    );
    let ms = |part: &str, k: &str| f[part][k].as_f64().unwrap_or(f64::NAN) / 1000.0;
    Ok(Case {
        name,
        frames: f["frames"].as_u64().unwrap_or(0),
        render_p50_ms: ms("render", "p50_us"),
        render_p99_ms: ms("render", "p99_us"),
        p50_ms: ms("draw", "p50_us"),
        p99_ms: ms("draw", "p99_us"),
        max_ms: ms("draw", "max_us"),
        idle_cpu_pct,
        rss_mb,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let js = jetstream(&nats).await?;
    let registry = js
        .create_key_value(kv::Config {
            bucket: DEFAULT_REGISTRY_BUCKET.into(),
            ..Default::default()
        })
        .await?;
    let placement = js
        .create_key_value(kv::Config {
            bucket: DEFAULT_PLACEMENT_BUCKET.into(),
            history: 5,
            ..Default::default()
        })
        .await?;

    let baseline = run_case(&nats, "empty fleet", "shards (0)").await?;

    let mut records = Vec::new();
    for i in 0..SHARDS {
        records.push(ShardRecord {
            shard_id: shard_id(i),
            admin_url: admin(i).await?,
            version: env!("CARGO_PKG_VERSION").into(),
            state: shared::wire::RunnerState::Running,
            host: "bench".into(),
            pid: 1,
            started_at_ms: shared::now_ms(),
            heartbeat_at_ms: shared::now_ms(),
            lease_ms: 15_000,
            tenants: (0..TENANTS)
                .filter(|t| t % SHARDS == i)
                .map(tenant_id)
                .collect(),
            counters: Default::default(),
            events_read: 0,
            volume_id: format!("v{i}"),
        });
    }
    for t in 0..TENANTS {
        placement
            .put(tenant_id(t), shard_id(t % SHARDS).into_bytes().into())
            .await?;
    }
    // Heartbeats, as live runners send them.
    let beats = tokio::spawn(async move {
        loop {
            for r in records.iter_mut() {
                r.heartbeat_at_ms = shared::now_ms();
                let _ = registry
                    .put(
                        &r.shard_id,
                        serde_json::to_vec(&*r).unwrap_or_default().into(),
                    )
                    .await;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    let fleet = run_case(&nats, "20 shards, 2,000 tenants", "shards (20)").await?;
    beats.abort();

    println!(
        "\nrunnerctl tui, 120x40, refresh 2 s. render: layout and widgets into the frame; draw: that plus the write to the terminal\n"
    );
    println!(
        "{:<26} {:>7} {:>10} {:>10} {:>9} {:>9} {:>9} {:>10} {:>8}",
        "case",
        "frames",
        "render p50",
        "render p99",
        "draw p50",
        "draw p99",
        "draw max",
        "idle CPU",
        "RSS MB"
    );
    for c in [&baseline, &fleet] {
        println!(
            "{:<26} {:>7} {:>10.3} {:>10.3} {:>9.3} {:>9.3} {:>9.3} {:>9.2}% {:>8.1}",
            c.name,
            c.frames,
            c.render_p50_ms,
            c.render_p99_ms,
            c.p50_ms,
            c.p99_ms,
            c.max_ms,
            c.idle_cpu_pct,
            c.rss_mb
        );
    }
    println!(
        "\nfleet / empty: render p99 x{:.2}, draw p99 x{:.2}, idle CPU x{:.2}. Aims: frame < 2 ms, idle CPU < 2% of a core.",
        fleet.render_p99_ms / baseline.render_p99_ms,
        fleet.p99_ms / baseline.p99_ms,
        fleet.idle_cpu_pct / baseline.idle_cpu_pct
    );
    let cases: Vec<serde_json::Value> = [&baseline, &fleet]
        .iter()
        .map(|c| {
            json!({
                "case": c.name, "frames": c.frames, "render_p50_ms": c.render_p50_ms,
                "render_p99_ms": c.render_p99_ms, "p50_ms": c.p50_ms, "p99_ms": c.p99_ms,
                "max_ms": c.max_ms, "idle_cpu_pct": c.idle_cpu_pct, "rss_mb": c.rss_mb,
            })
        })
        .collect();
    let out = json!({
        "benchmark": "tui",
        "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
        "shards": SHARDS, "tenants": TENANTS,
        "cases": cases,
    });
    e2e::bench::write_report("tui.json", &out)?;
    Ok(())
}
