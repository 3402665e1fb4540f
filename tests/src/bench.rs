//! Helpers shared by the benchmarks (`src/bin/bench*.rs`).

use std::time::{Duration, Instant};

use anyhow::Result;
use async_nats::jetstream;

use serde_json::json;

use crate::event;

/// A 200-byte-ish event of the `account` saga.
pub fn payload(i: u64, pad: &str) -> bytes::Bytes {
    event(
        &format!("e{i}"),
        "Deposited",
        &format!("a{}", i % 50),
        json!({"amount": i % 100 + 1, "pad": pad}),
    )
}

pub fn tenants(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("t{i:04}")).collect()
}

pub async fn publish_backlog(
    js: &jetstream::Context,
    n_events: u64,
    ts: &[String],
) -> Result<Duration> {
    let pad = "x".repeat(100);
    let start = Instant::now();
    let mut acks = Vec::with_capacity(1000);
    for i in 0..n_events {
        let t = &ts[(i as usize) % ts.len()];
        acks.push(
            js.publish(format!("evt.{t}.account"), payload(i, &pad))
                .await?,
        );
        if acks.len() == 1000 {
            for a in acks.drain(..) {
                a.await?;
            }
        }
    }
    for a in acks {
        a.await?;
    }
    Ok(start.elapsed())
}

pub async fn metric(http: &reqwest::Client, url: &str, name: &str) -> Option<f64> {
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Cumulative (le, count) buckets of the runner's apply-latency histogram.
/// The `apply` workload: the example account saga without its command.
pub const APPLY_ONLY_SAGAS: &str = r#"
[[saga]]
name = "account"
initial = "new"

[[saga.transition]]
from = ["new", "open"]
on = "Deposited"
to = "open"
add = { balance = "{{event.data.amount}}", deposits = 1 }
"#;
