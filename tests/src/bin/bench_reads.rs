//! How a shard can read only its share of the stream: the read designs measured for the
//! scale-out (issue 16), on one nats-server, over a stream whose subjects carry a partition
//! token added by the server (`evt.<tenant>.<saga>` stored as `evt.<p>.<tenant>.<saga>`).
//!
//! Prints events/s per design beside a raw unfiltered read of the same stream in the same
//! run, and checks the server's partition of each tenant against `fnv1a32(tenant) % P`.
//! Options (env): READS_EVENTS (200000), READS_TENANTS (1600), READS_PARTITIONS (64),
//! READS_SHARDS (4,16), READS_TENANT_READERS (100).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use async_nats::jetstream::{self, consumer, stream};
use e2e::bench::publish_deposits;
use e2e::env_or;
use shared::devtools::NatsServer;

const STREAM: &str = "READS";

/// Reads with one ephemeral, memory, no-ack consumer per filter set until `want` messages
/// came; returns (messages, seconds).
async fn read(js: &jetstream::Context, filters: Vec<String>, want: usize) -> Result<(usize, f64)> {
    read_from(js, STREAM, filters, want).await
}

/// [`read`] on stream `name`.
async fn read_from(
    js: &jetstream::Context,
    name: &str,
    filters: Vec<String>,
    want: usize,
) -> Result<(usize, f64)> {
    let s = js.get_stream(name).await?;
    let t0 = Instant::now();
    let c = s
        .create_consumer(consumer::pull::Config {
            ack_policy: consumer::AckPolicy::None,
            memory_storage: true,
            filter_subjects: filters,
            inactive_threshold: Duration::from_secs(60),
            ..Default::default()
        })
        .await?;
    let mut msgs = e2e::bench::pull(js, &c).await?;
    let mut n = 0;
    while n < want {
        match tokio::time::timeout(Duration::from_secs(60), msgs.next()).await {
            Ok(Ok(_)) => n += 1,
            Ok(Err(e)) => bail!("read failed after {n}: {e}"),
            _ => bail!("read stalled after {n} of {want}"),
        }
    }
    Ok((n, t0.elapsed().as_secs_f64()))
}

/// Many single-filter readers at once; returns (messages, seconds) for all of them.
async fn read_each(js: &jetstream::Context, filters: Vec<(String, usize)>) -> Result<(usize, f64)> {
    let t0 = Instant::now();
    let tasks: Vec<_> = filters
        .into_iter()
        .map(|(f, want)| {
            let js = js.clone();
            tokio::spawn(async move { read(&js, vec![f], want).await })
        })
        .collect();
    let mut n = 0;
    for t in tasks {
        n += t.await??.0;
    }
    Ok((n, t0.elapsed().as_secs_f64()))
}

#[tokio::main]
async fn main() -> Result<()> {
    let n: usize = env_or("READS_EVENTS", 200_000);
    let tenants: usize = env_or("READS_TENANTS", 1600);
    let parts: u32 = env_or("READS_PARTITIONS", 64);
    let tenant_readers: usize = env_or("READS_TENANT_READERS", 100);
    let shards: Vec<u32> = std::env::var("READS_SHARDS")
        .unwrap_or_else(|_| "4,16".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let client = async_nats::connect(nats.url()).await?;
    let js = jetstream::new(client);
    js.create_stream(stream::Config {
        name: STREAM.into(),
        subjects: vec!["evt.*.*".into()],
        subject_transform: Some(stream::SubjectTransform {
            source: "evt.*.*".into(),
            destination: format!(
                "evt.{{{{partition({parts},1)}}}}.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}"
            ),
        }),
        ..Default::default()
    })
    .await?;
    let names: Vec<String> = (0..tenants).map(|i| format!("t{i:05}")).collect();
    let took = publish_deposits(&js, 0, n as u64, |i| names[i as usize % tenants].as_str()).await?;
    let publish = n as f64 / took.as_secs_f64();
    let per_tenant = n / tenants;
    // The server's partition of each tenant, from the stored subjects.
    let mut part_of: BTreeMap<String, u32> = BTreeMap::new();
    {
        let s = js.get_stream(STREAM).await?;
        let c = s
            .create_consumer(consumer::pull::Config {
                ack_policy: consumer::AckPolicy::None,
                memory_storage: true,
                ..Default::default()
            })
            .await?;
        let mut msgs = e2e::bench::pull(&js, &c).await?;
        for _ in 0..tenants {
            let m = msgs.next().await?;
            let mut it = m.subject.split('.');
            let (_, p, t) = (it.next(), it.next().unwrap_or(""), it.next().unwrap_or(""));
            part_of.insert(t.to_string(), p.parse()?);
        }
    }
    let mismatches = part_of
        .iter()
        .filter(|(t, p)| shared::names::partition_of(t, parts) != **p)
        .count();
    println!(
        "stream of {n} events over {tenants} tenants, {parts} partitions by the server (publish {publish:.0}/s); partition_of(tenant, {parts}) differs from the server's partition for {mismatches} of {} tenants\n",
        part_of.len()
    );
    let mut events_in = vec![0usize; parts as usize];
    for p in part_of.values() {
        events_in[*p as usize] += per_tenant;
    }

    let (raw_n, raw_s) = read(&js, Vec::new(), n).await?;
    let raw = raw_n as f64 / raw_s;
    println!(
        "{:<58} {:>9} {:>10} {:>7}",
        "design", "events", "events/s", "ratio"
    );
    println!(
        "{:<58} {raw_n:>9} {raw:>10.0} {:>7.2}",
        "raw: one unfiltered consumer", 1.0
    );
    for s in &shards {
        let owned: Vec<u32> = (0..parts).filter(|p| p % s == 0).collect();
        let want: usize = owned.iter().map(|p| events_in[*p as usize]).sum();
        let filters = owned.iter().map(|p| format!("evt.{p}.>")).collect();
        let (got, secs) = read(&js, filters, want).await?;
        let r = got as f64 / secs;
        println!(
            "{:<58} {got:>9} {r:>10.0} {:>7.2}",
            format!(
                "1/{s} of the partitions, one consumer, {} filters",
                owned.len()
            ),
            r / raw
        );
        let each = owned
            .iter()
            .map(|p| (format!("evt.{p}.>"), events_in[*p as usize]))
            .collect();
        let (got, secs) = read_each(&js, each).await?;
        let r = got as f64 / secs;
        println!(
            "{:<58} {got:>9} {r:>10.0} {:>7.2}",
            format!(
                "1/{s} of the partitions, one consumer each ({})",
                owned.len()
            ),
            r / raw
        );
    }
    // A shard whose tenants are spread over every partition (arbitrary placement).
    let mine: Vec<&String> = names
        .iter()
        .step_by(tenants / tenant_readers)
        .take(tenant_readers)
        .collect();
    let filters: Vec<String> = mine
        .iter()
        .map(|t| format!("evt.{}.{t}.>", part_of[*t]))
        .collect();
    let want = mine.len() * per_tenant;
    let (got, secs) = read(&js, filters.clone(), want).await?;
    let r = got as f64 / secs;
    println!(
        "{:<58} {got:>9} {r:>10.0} {:>7.2}",
        format!(
            "{} scattered tenants, one consumer, {} filters",
            mine.len(),
            filters.len()
        ),
        r / raw
    );
    let (got, secs) =
        read_each(&js, filters.into_iter().map(|f| (f, per_tenant)).collect()).await?;
    let r = got as f64 / secs;
    println!(
        "{:<58} {got:>9} {r:>10.0} {:>7.2}",
        format!("{} scattered tenants, one consumer each", mine.len()),
        r / raw
    );
    drop(nats);
    grouped(n, &names).await
}

/// The other layout: the server maps `evt.<t>.<s>` to `evt.<g>.<t>.<s>` for every publish
/// (an account subject mapping in its config), and each partition group is a stream of its
/// own, read unfiltered.
async fn grouped(n: usize, names: &[String]) -> Result<()> {
    let groups: u32 = env_or("READS_GROUPS", 16);
    let dir = tempfile::tempdir()?;
    let conf = dir.path().join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "mappings = {{\n  \"evt.*.*\": \"evt.{{{{partition({groups},1)}}}}.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}\"\n}}\n"
        ),
    )?;
    let nats = NatsServer::start_with(shared::devtools::ServerOptions {
        config_file: Some(conf),
        ..Default::default()
    })
    .map_err(anyhow::Error::msg)?;
    let client = async_nats::connect(nats.url()).await?;
    let js = jetstream::new(client);
    for g in 0..groups {
        js.create_stream(stream::Config {
            name: format!("{STREAM}_{g}"),
            subjects: vec![format!("evt.{g}.*.*")],
            ..Default::default()
        })
        .await?;
    }
    let took = publish_deposits(&js, 0, n as u64, |i| {
        names[i as usize % names.len()].as_str()
    })
    .await?;
    let publish = n as f64 / took.as_secs_f64();
    let mut sizes = Vec::new();
    for g in 0..groups {
        let mut s = js.get_stream(format!("{STREAM}_{g}")).await?;
        sizes.push(s.info().await?.state.messages as usize);
    }
    let total: usize = sizes.iter().sum();
    println!(
        "\n{groups} streams, one per partition group, the server mapping each publish (publish {publish:.0}/s); {total} of {n} events stored, {} to {} per stream",
        sizes.iter().min().unwrap_or(&0),
        sizes.iter().max().unwrap_or(&0)
    );
    let read_group = |g: u32, want: usize| {
        let js = js.clone();
        async move { read_from(&js, &format!("{STREAM}_{g}"), Vec::new(), want).await }
    };
    let (got, secs) = read_group(0, sizes[0]).await?;
    println!(
        "{:<58} {got:>9} {:>10.0}",
        "one group's stream, unfiltered",
        got as f64 / secs
    );
    let tenant_readers: usize = env_or("READS_TENANT_READERS", 100);
    let per_tenant = n / names.len();
    let mine: Vec<&String> = names
        .iter()
        .step_by(names.len() / tenant_readers)
        .take(tenant_readers)
        .collect();
    let t0 = Instant::now();
    let tasks: Vec<_> = mine
        .iter()
        .map(|t| {
            let g = shared::names::partition_of(t, groups);
            let (js, f) = (js.clone(), format!("evt.{g}.{t}.>"));
            tokio::spawn(async move {
                let (got, _) =
                    read_from(&js, &format!("{STREAM}_{g}"), vec![f], per_tenant).await?;
                anyhow::Ok(got)
            })
        })
        .collect();
    let mut got = 0;
    for t in tasks {
        got += t.await??;
    }
    println!(
        "{:<58} {got:>9} {:>10.0}",
        format!(
            "{} scattered tenants, one consumer each on its group",
            mine.len()
        ),
        got as f64 / t0.elapsed().as_secs_f64()
    );
    for share in [4u32, 1] {
        let mine: Vec<u32> = (0..groups).filter(|g| g % share == 0).collect();
        let t0 = Instant::now();
        let tasks: Vec<_> = mine
            .iter()
            .map(|g| tokio::spawn(read_group(*g, sizes[*g as usize])))
            .collect();
        let mut got = 0;
        for t in tasks {
            got += t.await??.0;
        }
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "{:<58} {got:>9} {:>10.0}",
            format!("{} group streams at once, unfiltered", mine.len()),
            got as f64 / secs
        );
    }
    Ok(())
}
