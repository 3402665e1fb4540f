//! `just bench timers`: 100,000 timers due within about a second (BENCH_TIMERS), all fired
//! exactly once; the fire rate and the due-to-fired delay (server timestamps), written to
//! target/bench/timers.json.

use std::time::Duration;

use e2e::env_or;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = env_or("BENCH_TIMERS", 100_000);
    let r = e2e::timers::timer_burst(n, "5s", Duration::from_secs(300)).await?;
    println!(
        "timers: {} due within {} ms, all fired exactly once",
        r.timers, r.due_spread_ms
    );
    println!(
        "  fire rate {:.0}/s; due -> command stored: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        r.fire_rate, r.delay_p50_ms, r.delay_p99_ms, r.delay_max_ms
    );
    std::fs::create_dir_all("target/bench")?;
    std::fs::write(
        "target/bench/timers.json",
        serde_json::to_string_pretty(&serde_json::json!({
            "timers": r.timers,
            "due_spread_ms": r.due_spread_ms,
            "fire_rate_per_s": r.fire_rate.round(),
            "delay_p50_ms": r.delay_p50_ms,
            "delay_p99_ms": r.delay_p99_ms,
            "delay_max_ms": r.delay_max_ms,
        }))?,
    )?;
    Ok(())
}
