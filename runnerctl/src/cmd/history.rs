//! `runnerctl history <tenant>`: the revisions of a tenant's placement, joined with the
//! audit entries of the commands that wrote them.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::consumer;
use async_nats::jetstream::kv::Operation;
use comfy_table::Cell;
use futures_util::StreamExt;
use serde::Serialize;
use shared::ids::TenantId;
use shared::placement::AuditEntry;

use crate::cli::NatsArgs;
use crate::exit::{CliError, Kind};
use crate::nats::{Nats, connect};
use crate::output::{self, Format};

#[derive(Serialize)]
struct Row {
    revision: u64,
    at_ms: u64,
    /// `put`, `delete` or `purge`.
    operation: &'static str,
    value: Option<String>,
    who: Option<String>,
    reason: Option<String>,
    forced: bool,
}

async fn audit_entries(nats: &Nats, tenant: &str) -> BTreeMap<u64, AuditEntry> {
    let mut out = BTreeMap::new();
    let Ok(stream) = nats.js.get_stream(shared::placement::AUDIT_STREAM).await else {
        return out;
    };
    let Ok(c) = stream
        .create_consumer(consumer::pull::Config {
            filter_subject: shared::placement::audit_subject(tenant),
            ack_policy: consumer::AckPolicy::None,
            memory_storage: true,
            ..Default::default()
        })
        .await
    else {
        return out;
    };
    let mut pending = c.cached_info().num_pending;
    if pending == 0 {
        return out;
    }
    let Ok(mut msgs) = shared::pull::Pull::start(&nats.js, &c, Default::default()).await else {
        return out;
    };
    while pending > 0 {
        let Ok(Ok(m)) = tokio::time::timeout(Duration::from_secs(5), msgs.next()).await else {
            break;
        };
        pending = m.info().map(|i| i.pending).unwrap_or(0);
        if let Ok(a) = serde_json::from_slice::<AuditEntry>(&m.payload) {
            out.insert(a.revision, a);
        }
    }
    out
}

pub async fn run(tenant: &str, args: &NatsArgs, format: Format) -> anyhow::Result<()> {
    let tenant = TenantId::new(tenant).map_err(|e| CliError::usage(e.to_string()))?;
    let nats = connect(args).await?;
    let kv = nats.placement().await?;
    let mut hist = kv.history(tenant.as_str()).await.map_err(|e| {
        CliError::new(
            Kind::Failure,
            format!("cannot read the history of {tenant}: {e}"),
        )
    })?;
    let audit = audit_entries(&nats, tenant.as_str()).await;
    let mut rows = Vec::new();
    while let Some(e) = hist.next().await {
        let Ok(e) = e else { break };
        let a = audit.get(&e.revision);
        rows.push(Row {
            revision: e.revision,
            at_ms: (e.created.unix_timestamp_nanos() / 1_000_000).max(0) as u64,
            operation: match e.operation {
                Operation::Put => "put",
                Operation::Delete => "delete",
                Operation::Purge => "purge",
            },
            value: (e.operation == Operation::Put)
                .then(|| String::from_utf8_lossy(&e.value).trim().to_string()),
            who: a.map(|a| format!("{}@{}", a.who, a.host)),
            reason: a.and_then(|a| a.reason.clone()),
            forced: a.is_some_and(|a| a.forced),
        });
    }
    if rows.is_empty() {
        return Err(CliError::new(
            Kind::NotFound,
            format!(
                "{tenant} has no placement history in bucket '{}'",
                args.placement_bucket
            ),
        )
        .into());
    }
    match format {
        Format::Json => output::json(&rows),
        Format::Table => {
            let mut t = output::table(["REVISION", "TIME", "CHANGE", "SHARD", "BY", "REASON"]);
            for r in &rows {
                t.add_row(vec![
                    Cell::new(r.revision),
                    Cell::new(output::utc(r.at_ms)),
                    Cell::new(format!(
                        "{}{}",
                        r.operation,
                        if r.forced { " (forced)" } else { "" }
                    )),
                    Cell::new(r.value.clone().unwrap_or_else(|| "-".into())),
                    Cell::new(r.who.clone().unwrap_or_else(|| "-".into())),
                    Cell::new(r.reason.clone().unwrap_or_default()),
                ]);
            }
            output::println(&t.to_string());
        }
    }
    Ok(())
}
