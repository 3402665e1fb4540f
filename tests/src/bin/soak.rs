//! `just soak`: 3 shards, 50 tenants, steady events and placement churn for SOAK_SECS
//! (default 300) on loopback; prints throughput, apply latency, RSS over time and the
//! exactly-once check, writes `target/bench/soak.json`, and exits 1 if anything was lost or
//! applied twice. Options (env): SOAK_SECS, SOAK_RATE (events/s, default 500), SOAK_TENANTS
//! (50), SOAK_CHURN_S (a re-placement every N seconds, default 2).

use std::time::Duration;

use anyhow::Result;
use e2e::soak::{SoakConfig, SoakReport, run};
use e2e::*;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<()> {
    let cfg = SoakConfig {
        duration: Duration::from_secs(env_or("SOAK_SECS", 300)),
        rate: env_or("SOAK_RATE", 500),
        tenants: env_or("SOAK_TENANTS", 50),
        churn_every: Duration::from_secs_f64(env_or("SOAK_CHURN_S", 2.0)),
    };
    eprintln!(
        "soak: 3 shards, {} tenants, {} events/s, a re-placement every {:?}, for {:?}",
        cfg.tenants, cfg.rate, cfg.churn_every, cfg.duration
    );
    let r = run(cfg).await?;
    let trend = SoakReport::trend(&r.rss_mb);
    let anon_trend = SoakReport::trend(&r.anon_mb);
    println!(
        "\nsoak: {} events in {:.0} s ({:.0}/s), {} placement changes",
        r.events, r.secs, r.throughput, r.placements_changed
    );
    println!(
        "apply latency p50 {:.1} ms, p99 {:.1} ms",
        r.p50_ms, r.p99_ms
    );
    let line = |v: &Vec<f64>| {
        v.iter()
            .map(|x| format!("{x:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for (s, v) in &r.rss_mb {
        println!(
            "{s} RSS MB every 5 s: {} (last third / second third: x{:.2})",
            line(v),
            trend[s]
        );
        println!(
            "{s}   of it anonymous: {} (x{:.2})",
            line(&r.anon_mb[s]),
            anon_trend[s]
        );
    }
    println!(
        "lost {}, applied twice {}, duplicate commands {}",
        r.lost, r.applied_twice, r.duplicate_commands
    );
    let out = json!({
        "benchmark": "soak",
        "events": r.events, "secs": r.secs, "throughput": r.throughput,
        "placements_changed": r.placements_changed,
        "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "rss_mb": r.rss_mb, "rss_trend": trend,
        "anon_mb": r.anon_mb, "anon_trend": anon_trend,
        "lost": r.lost, "applied_twice": r.applied_twice, "duplicate_commands": r.duplicate_commands,
    });
    let dir = bin_dir().join("../bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("soak.json"), serde_json::to_string_pretty(&out)?)?;
    if r.lost + r.applied_twice + r.duplicate_commands > 0 {
        std::process::exit(1);
    }
    Ok(())
}
