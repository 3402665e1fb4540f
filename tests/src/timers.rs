//! Timers at scale, for the test and the benchmark: `n` orders placed in one burst with a
//! payment timer `after` later, so `n` timers fall due within about as long as the burst
//! took to store; every one must fire exactly once (one cancel command each, with the id of
//! its own instance, and one timer marker each). Measured from the servers' timestamps:
//! the fire rate, and each timer's delay from its due time to its command stored.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Result, ensure};
use serde_json::json;
use shared::names::msg_id::{self, OwnedCause, Parsed};

use crate::*;

#[derive(Debug, Clone)]
pub struct TimerReport {
    pub timers: usize,
    /// From the first timer's due time to the last's.
    pub due_spread_ms: u64,
    /// Timers fired per second: timers / (last command stored - first due).
    pub fire_rate: f64,
    pub delay_p50_ms: f64,
    pub delay_p99_ms: f64,
    pub delay_max_ms: f64,
}

/// Runs the burst against a runner started from `bin_dir()` and checks exactly once.
pub async fn timer_burst(n: usize, after: &str, within: Duration) -> Result<TimerReport> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    create_streams(&js, Duration::from_millis(100)).await?;
    let sagas = tmp.path().join("sagas.toml");
    std::fs::write(
        &sagas,
        std::fs::read_to_string(example_sagas())?
            .replace("after = \"30s\"", &format!("after = \"{after}\"")),
    )?;
    let mut spec = RunnerSpec::new(&nats, &tmp.path().join("vol"), &["t1"]);
    spec.sagas = sagas;
    let mut r = Runner::start(spec).await?;
    let after_ms = humantime_ms(after);
    let orders: Vec<_> = (0..n)
        .map(|i| {
            (
                "evt.t1.order".to_string(),
                event(
                    &format!("p{i}"),
                    "OrderPlaced",
                    &format!("o{i}"),
                    json!({"amount": 1, "customer": "c"}),
                ),
            )
        })
        .collect();
    publish_all(&js, &orders).await?;
    let cmds = js.get_stream("RUNNER_COMMANDS").await?;
    eventually(within, &format!("{n} timers to fire"), || {
        let mut cmds = cmds.clone();
        async move {
            let info = cmds.info().await.ok()?;
            // n payment requests and n cancels.
            (info.state.messages as usize >= 2 * n).then_some(())
        }
    })
    .await?;
    r.wait_caught_up(within).await?;
    // The due time of each order: its event's stored time plus `after`.
    let events = read_stream(&js, "RUNNER_EVENTS").await?;
    let mut due = std::collections::BTreeMap::new();
    for m in &events {
        let i = m.info().map_err(|e| anyhow::anyhow!("{e}"))?;
        let v: serde_json::Value = serde_json::from_slice(&m.payload)?;
        let t = (i.published.unix_timestamp_nanos() / 1_000_000) as u64;
        due.insert(
            v["key"].as_str().unwrap_or_default().to_string(),
            t + after_ms,
        );
    }
    let all = stored(&js, "RUNNER_COMMANDS").await?;
    assert_each_id_once(&all, "commands")?;
    let raw = read_stream(&js, "RUNNER_COMMANDS").await?;
    let mut keys = BTreeSet::new();
    let mut delays = Vec::with_capacity(n);
    let mut last_stored = 0u64;
    for m in &raw {
        if !m.subject.ends_with(".orders.cancel") {
            continue;
        }
        let id = m
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.to_string())
            .unwrap_or_default();
        let Some(Parsed::Command {
            cause: OwnedCause::Timer { key, due_ms, .. },
            ..
        }) = msg_id::parse(&id)
        else {
            anyhow::bail!("{id}: not a timer's command");
        };
        ensure!(
            due.get(&key) == Some(&due_ms),
            "{id}: due time of another order"
        );
        let stored_at = (m
            .info()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .published
            .unix_timestamp_nanos()
            / 1_000_000) as u64;
        last_stored = last_stored.max(stored_at);
        delays.push(stored_at.saturating_sub(due_ms) as f64);
        keys.insert(key);
    }
    ensure!(keys.len() == n, "{} of {n} timers fired", keys.len());
    r.terminate(within)?;
    let vol = read_volume(&r.spec.data_dir)?;
    ensure!(
        vol.timers_fired.len() == n,
        "{} timer markers for {n} timers",
        vol.timers_fired.len()
    );
    ensure!(
        vol.instances
            .values()
            .filter(|i| i.state == "cancelled")
            .count()
            == n,
        "not every order cancelled"
    );
    let first_due = *due.values().min().unwrap_or(&0);
    let last_due = *due.values().max().unwrap_or(&0);
    Ok(TimerReport {
        timers: n,
        due_spread_ms: last_due - first_due,
        fire_rate: n as f64 / ((last_stored.saturating_sub(first_due)).max(1) as f64 / 1000.0),
        delay_p50_ms: quantile_of(&delays, 0.5),
        delay_p99_ms: quantile_of(&delays, 0.99),
        delay_max_ms: quantile_of(&delays, 1.0),
    })
}

fn humantime_ms(s: &str) -> u64 {
    if let Some(v) = s.strip_suffix("ms") {
        return v.parse().unwrap_or(0);
    }
    s.trim_end_matches('s').parse::<u64>().unwrap_or(0) * 1000
}
