//! `runnerctl setup`: creates the streams and KV buckets a fleet uses, up front and with the
//! replica count the cluster wants, or reports (and with `--update` raises) the copies kept
//! of those that exist. Runners create what is missing themselves; this is for operators
//! who provision NATS before the first runner starts, or who grew a single server into a
//! cluster.

use async_nats::jetstream::{self, kv, stream};
use comfy_table::Cell;
use serde::Serialize;

use crate::cli::{NatsArgs, SetupArgs};
use crate::exit::CliError;
use crate::nats::connect;
use crate::output::{self, Format};

#[derive(Debug, Serialize)]
struct Row {
    kind: &'static str,
    name: String,
    /// Copies kept now (after any change this run made).
    replicas: usize,
    /// created, ok, raised, below
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    cluster_size: usize,
    replicas: usize,
    items: Vec<Row>,
}

/// Something the fleet uses, as it is created.
enum Spec {
    Stream(Box<stream::Config>),
    Bucket(Box<kv::Config>),
}

impl Spec {
    fn kind(&self) -> &'static str {
        match self {
            Spec::Stream(_) => "stream",
            Spec::Bucket(_) => "bucket",
        }
    }

    fn name(&self) -> &str {
        match self {
            Spec::Stream(c) => &c.name,
            Spec::Bucket(c) => &c.bucket,
        }
    }

    /// The JetStream stream that holds it (`KV_<bucket>` for a bucket).
    fn stream(&self) -> String {
        match self {
            Spec::Stream(c) => c.name.clone(),
            Spec::Bucket(c) => format!("KV_{}", c.bucket),
        }
    }
}

/// What the fleet uses, created with `replicas` copies.
fn wanted(
    nats_args: &NatsArgs,
    args: &SetupArgs,
    layout: &shared::layout::Layout,
    replicas: usize,
) -> Vec<Spec> {
    use shared::nats as n;
    let mut out: Vec<Spec> = layout
        .groups()
        .map(|g| Spec::Stream(Box::new(n::event_stream_config(layout, g, replicas))))
        .collect();
    out.push(Spec::Stream(Box::new(n::stream_config(
        &args.commands_stream,
        shared::names::COMMAND_SUBJECTS,
        replicas,
    ))));
    out.push(Spec::Stream(Box::new(n::stream_config(
        &args.dlq_stream,
        shared::names::DLQ_SUBJECTS,
        replicas,
    ))));
    out.push(Spec::Stream(Box::new(n::audit_stream(replicas))));
    out.push(Spec::Bucket(Box::new(n::placement_bucket(
        &nats_args.placement_bucket,
        replicas,
    ))));
    out.push(Spec::Bucket(Box::new(n::registry_bucket(
        &nats_args.registry_bucket,
        args.lease_ttl,
        replicas,
    ))));
    out.push(Spec::Bucket(Box::new(n::handoff_bucket(
        &nats_args.handoff_bucket,
        replicas,
    ))));
    out
}

pub async fn run(args: SetupArgs, nats_args: &NatsArgs, format: Format) -> anyhow::Result<()> {
    let nats = connect(nats_args).await?;
    let replicas = nats.replicas;
    if replicas > nats.cluster {
        output::warn(&format!(
            "--replicas {replicas} on a cluster of {} server{}: JetStream will refuse to create what needs more servers than it has",
            nats.cluster,
            if nats.cluster == 1 { "" } else { "s" }
        ));
    }
    let layout = match args.partitions {
        Some(p) => shared::layout::Layout::new(&nats_args.stream, p),
        None => shared::nats::discover_layout(&nats.js, &nats_args.stream).await,
    };
    let mut items = Vec::new();
    for spec in wanted(nats_args, &args, &layout, replicas) {
        items.push(ensure(&nats.js, args.update, spec, replicas).await?);
    }
    let report = Report {
        cluster_size: nats.cluster,
        replicas,
        items,
    };
    match format {
        Format::Json => output::json(&report),
        Format::Table => {
            output::println(&format!(
                "{} on a cluster of {} server{} ({} cop{} wanted, --replicas {})",
                layout.describe(),
                report.cluster_size,
                if report.cluster_size == 1 { "" } else { "s" },
                replicas,
                if replicas == 1 { "y" } else { "ies" },
                nats_args.replicas,
            ));
            let mut t = output::table(["KIND", "NAME", "REPLICAS", "ACTION", "NOTE"]);
            for r in &report.items {
                t.add_row(vec![
                    Cell::new(r.kind),
                    Cell::new(&r.name),
                    Cell::new(r.replicas),
                    Cell::new(r.action),
                    Cell::new(r.note.as_deref().unwrap_or("")),
                ]);
            }
            output::println(&t.to_string());
        }
    }
    if report.items.iter().any(|r| r.action == "below") {
        output::warn("some keep fewer copies than wanted: run again with --update to raise them");
    }
    Ok(())
}

async fn ensure(
    js: &jetstream::Context,
    update: bool,
    spec: Spec,
    replicas: usize,
) -> Result<Row, CliError> {
    let (kind, name) = (spec.kind(), spec.name().to_string());
    let fail = |what: &str, e: String| {
        CliError::failure(format!(
            "cannot {what} {kind} {name}: {e}{}",
            if replicas > 1 {
                format!(" (does the cluster have {replicas} JetStream servers?)")
            } else {
                String::new()
            }
        ))
    };
    let row = |replicas: usize, action: &'static str, note: Option<String>| Row {
        kind,
        name: name.clone(),
        replicas,
        action,
        note,
    };
    let existing = match js.get_stream(spec.stream()).await {
        Ok(s) => Some(s.cached_info().clone()),
        Err(e) if shared::nats::stream_not_found(&e) => None,
        Err(e) => return Err(fail("look up", e.to_string())),
    };
    let spec_stream = spec.stream();
    let Some(info) = existing else {
        match spec {
            Spec::Stream(c) => js
                .create_stream(*c)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Spec::Bucket(c) => js
                .create_key_value(*c)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
        }
        .map_err(|e| fail("create", e))?;
        ready(js, &spec_stream).await.map_err(|e| fail("use", e))?;
        return Ok(row(replicas, "created", None));
    };
    let has = info.config.num_replicas.max(1);
    if has >= replicas {
        return Ok(row(has, "ok", None));
    }
    if !update {
        return Ok(row(
            has,
            "below",
            Some(format!("wanted {replicas}; --update raises it")),
        ));
    }
    let mut raised = info.config.clone();
    raised.num_replicas = replicas;
    js.update_stream(raised)
        .await
        .map_err(|e| fail("raise the replicas of", e.to_string()))?;
    Ok(row(replicas, "raised", Some(format!("from {has}"))))
}

/// Waits (10 s at most) until a stream just created has a leader and every replica is
/// current, so a command run right after `setup` finds it answering.
async fn ready(js: &jetstream::Context, stream: &str) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Ok(mut s) = js.get_stream(stream).await
            && let Ok(info) = s.info().await
        {
            let up = match &info.cluster {
                None => true,
                Some(c) => c.leader.is_some() && c.replicas.iter().all(|r| r.current),
            };
            if up {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() > deadline {
            return Err("created, but it has no leader with current replicas after 10 s".into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
