//! Helpers shared by the benchmarks (`src/bin/bench*.rs`).

use std::time::{Duration, Instant};

use anyhow::Result;
use async_nats::jetstream;

use serde_json::json;

use crate::event;

/// Reads a consumer as the benches do: requests of 1,000 messages.
pub async fn pull(
    js: &jetstream::Context,
    c: &jetstream::consumer::PullConsumer,
) -> Result<shared::pull::Pull> {
    let opts = shared::pull::PullOptions {
        batch: 1000,
        ..Default::default()
    };
    Ok(shared::pull::Pull::start(js, c, opts).await?)
}

/// A 200-byte-ish event of the `account` saga.
pub fn payload(i: u64, pad: &str) -> bytes::Bytes {
    event(
        &format!("e{i}"),
        "Deposited",
        &format!("a{}", i % 50),
        json!({"amount": i % 100 + 1, "pad": pad}),
    )
}

/// The project's raw baseline (`just bench`, docs/performance.md): one durable, unfiltered
/// pull consumer that `ack()`s every message, reading every stream of the layout in turn
/// (the single stream, or each group stream); events/s.
pub async fn raw_acked_rate(
    js: &jetstream::Context,
    layout: &shared::layout::Layout,
) -> Result<f64> {
    use anyhow::Context;
    let mut total = 0u64;
    let mut reading = Duration::ZERO;
    for g in layout.groups() {
        let mut stream = js.get_stream(layout.stream(g)).await?;
        let n = stream.info().await?.state.messages;
        if n == 0 {
            continue;
        }
        let start = Instant::now();
        let c = stream
            .create_consumer(jetstream::consumer::pull::Config {
                durable_name: Some("bench-raw".into()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            })
            .await?;
        let mut msgs = pull(js, &c).await?;
        for _ in 0..n {
            let m = msgs.next().await.context("raw consumer ended")?;
            m.ack().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        reading += start.elapsed();
        total += n;
        js.client().flush().await?;
        stream.delete_consumer("bench-raw").await?;
    }
    Ok(total as f64 / reading.as_secs_f64().max(1e-6))
}

pub fn tenants(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("t{i:04}")).collect()
}

pub async fn publish_backlog(
    js: &jetstream::Context,
    n_events: u64,
    ts: &[String],
) -> Result<Duration> {
    publish_deposits(js, 0, n_events, |i| ts[(i as usize) % ts.len()].as_str()).await
}

/// Publishes deposits numbered `from..from + n`, number i to `evt.<tenant(i)>.account`,
/// awaiting the acks 1,000 at a time; how long it took.
pub async fn publish_deposits<'t>(
    js: &jetstream::Context,
    from: u64,
    n: u64,
    tenant: impl Fn(u64) -> &'t str,
) -> Result<Duration> {
    let pad = "x".repeat(100);
    let start = Instant::now();
    let mut acks = Vec::with_capacity(1000);
    for i in from..from + n {
        let t = tenant(i);
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

/// Cumulative (le, count) buckets of a runner's apply-latency histogram.
pub async fn latency_buckets(http: &reqwest::Client, url: &str) -> Result<Vec<(f64, f64)>> {
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let mut out = Vec::new();
    for l in text
        .lines()
        .filter(|l| l.starts_with("runner_apply_latency_seconds_bucket"))
    {
        let le = l
            .split("le=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("+Inf");
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse()?
        };
        let count: f64 = l.split_whitespace().last().unwrap_or("0").parse()?;
        out.push((le, count));
    }
    Ok(out)
}

/// Quantile `q` of the observations between two snapshots, interpolated in its bucket.
pub fn quantile(before: &[(f64, f64)], after: &[(f64, f64)], q: f64) -> f64 {
    let diff: Vec<(f64, f64)> = after
        .iter()
        .zip(before)
        .map(|((le, a), (_, b))| (*le, a - b))
        .collect();
    let total = diff.last().map(|d| d.1).unwrap_or(0.0);
    let target = q * total;
    let mut prev = (0.0, 0.0);
    for (le, c) in &diff {
        if *c >= target {
            if le.is_infinite() {
                return prev.0;
            }
            let frac = if c - prev.1 > 0.0 {
                (target - prev.1) / (c - prev.1)
            } else {
                1.0
            };
            return prev.0 + frac * (le - prev.0);
        }
        prev = (*le, *c);
    }
    f64::NAN
}

/// Writes a benchmark's figures to `target/bench/<name>` and says where.
pub fn write_report(name: &str, out: &serde_json::Value) -> Result<()> {
    let dir = crate::bin_dir().join("../bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(out)?)?;
    println!("\nwrote {}", path.canonicalize().unwrap_or(path).display());
    Ok(())
}

/// Adds one runner's histogram buckets into a fleet's (taking them when it has none yet).
pub fn add_buckets(all: &mut Vec<(f64, f64)>, one: &[(f64, f64)]) {
    if all.is_empty() {
        *all = one.to_vec();
    } else {
        all.iter_mut().zip(one).for_each(|(x, y)| x.1 += y.1);
    }
}

/// The commands workload's physical limit on this server (issue 18): read every event of the
/// layout's streams with a consumer like the runner's (no acks), publish one message per
/// event with a `Nats-Msg-Id` to a stream of its own, and await the acks a window at a time;
/// no saga, no volume. Events/s.
pub async fn raw_pipeline_rate(
    js: &jetstream::Context,
    layout: &shared::layout::Layout,
) -> Result<f64> {
    use anyhow::Context;
    const WINDOW: usize = 1000;
    let out = js
        .create_stream(jetstream::stream::Config {
            name: "BENCH_PIPELINE".into(),
            subjects: vec!["benchpipe.>".into()],
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await?;
    let mut total = 0u64;
    let mut working = Duration::ZERO;
    for g in layout.groups() {
        let mut stream = js.get_stream(layout.stream(g)).await?;
        let n = stream.info().await?.state.messages;
        if n == 0 {
            continue;
        }
        let start = Instant::now();
        let c = stream
            .create_consumer(jetstream::consumer::pull::Config {
                ack_policy: jetstream::consumer::AckPolicy::None,
                memory_storage: true,
                ..Default::default()
            })
            .await?;
        let mut msgs = pull(js, &c).await?;
        let mut acks = Vec::with_capacity(WINDOW);
        for i in 0..n {
            let m = msgs.next().await.context("pipeline consumer ended")?;
            let mut h = async_nats::HeaderMap::new();
            h.insert("Nats-Msg-Id", format!("pipe:{g}:{i}").as_str());
            acks.push(
                js.publish_with_headers(format!("benchpipe.{g}"), h, m.payload.clone())
                    .await?,
            );
            if acks.len() == WINDOW {
                for a in acks.drain(..) {
                    a.await?;
                }
            }
        }
        for a in acks.drain(..) {
            a.await?;
        }
        working += start.elapsed();
        total += n;
    }
    drop(out);
    js.delete_stream("BENCH_PIPELINE").await?;
    Ok(total as f64 / working.as_secs_f64().max(1e-6))
}

/// The durable commit of the volume alone on this disk: `n` write transactions of one small
/// record each, as the runner commits a batch (same volume settings); (p50, p99) in ms.
pub fn commit_latency_ms(dir: &std::path::Path, n: usize) -> Result<(f64, f64)> {
    use shared::edge_storage::{Volume, WriteOptions};
    let v = Volume::open_for_write(dir, &WriteOptions::new("bench"))?;
    let mut ms = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        v.write(|w| w.set_meta_u64("bench_commit", i as u64))?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((crate::quantile_of(&ms, 0.5), crate::quantile_of(&ms, 0.99)))
}

/// Waits until the command stream holds `n` messages; when (ms, server clock) the last of
/// them was stored.
pub async fn commands_stored(js: &jetstream::Context, n: u64, within: Duration) -> Result<u64> {
    let deadline = Instant::now() + within;
    loop {
        let mut s = js.get_stream(shared::names::DEFAULT_COMMAND_STREAM).await?;
        let st = &s.info().await?.state;
        if st.messages >= n {
            return Ok((st.last_timestamp.unix_timestamp_nanos() / 1_000_000).max(0) as u64);
        }
        if Instant::now() > deadline {
            anyhow::bail!("only {} of {n} commands stored in {within:?}", st.messages);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Event-stored to command-stored latencies (ms, both by the server's clock) of the
/// deposits numbered `from..from + n` (event `e<i>` is the event stream's sequence i + 1),
/// from the two streams' own timestamps: (p50, p99).
pub async fn command_latency_ms(js: &jetstream::Context, from: u64, n: u64) -> Result<(f64, f64)> {
    use jetstream::consumer;
    let read = |stream: &'static str, start: consumer::DeliverPolicy| async move {
        let c = js
            .get_stream(stream)
            .await?
            .create_consumer(consumer::pull::Config {
                deliver_policy: start,
                ack_policy: consumer::AckPolicy::None,
                memory_storage: true,
                ..Default::default()
            })
            .await?;
        let mut pending = c.cached_info().num_pending;
        let mut msgs = pull(js, &c).await?;
        let mut out = Vec::with_capacity(pending as usize);
        while pending > 0 {
            for m in msgs.next_chunk(1000).await? {
                let info = m.info().map_err(|e| anyhow::anyhow!("{e}"))?;
                pending = info.pending;
                let at = info.published.unix_timestamp_nanos() as f64 / 1e6;
                out.push((info.stream_sequence, at, m.message));
            }
        }
        Ok::<_, anyhow::Error>(out)
    };
    let events = read(
        shared::names::DEFAULT_EVENT_STREAM,
        consumer::DeliverPolicy::ByStartSequence {
            start_sequence: from + 1,
        },
    )
    .await?;
    let stored: Vec<f64> = events
        .iter()
        .filter(|(seq, _, _)| *seq <= from + n)
        .map(|(_, at, _)| *at)
        .collect();
    let first_at = stored.first().copied().unwrap_or(0.0);
    let start_time = time::OffsetDateTime::from_unix_timestamp_nanos(
        ((first_at - 1000.0).max(0.0) * 1e6) as i128,
    )?;
    let commands = read(
        shared::names::DEFAULT_COMMAND_STREAM,
        consumer::DeliverPolicy::ByStartTime { start_time },
    )
    .await?;
    let mut lat = Vec::with_capacity(n as usize);
    for (_, at, m) in &commands {
        let Some(id) = m
            .headers
            .as_ref()
            .and_then(|h| h.get(shared::names::headers::EVENT_ID))
        else {
            continue;
        };
        let Some(i) = id
            .as_str()
            .strip_prefix('e')
            .and_then(|i| i.parse::<u64>().ok())
        else {
            continue;
        };
        if (from..from + n).contains(&i) {
            lat.push(at - stored[(i - from) as usize]);
        }
    }
    anyhow::ensure!(
        lat.len() as u64 == n,
        "found {} of the {n} commands of the steady events",
        lat.len()
    );
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
    Ok((q(0.5), q(0.99)))
}
