//! `runnerctl watch`: placement changes as they are written, and the runners' notices about
//! what they do (tenant started, released, waiting, taken over), until Ctrl-C.

use futures_util::StreamExt;
use serde::Serialize;
use shared::placement::Notice;

use crate::cli::NatsArgs;
use crate::exit::{CliError, Kind};
use crate::nats::connect;
use crate::output::{self, Format};

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    Placement {
        at_ms: u64,
        tenant: String,
        operation: String,
        shard: Option<String>,
        revision: u64,
    },
    Notice(Notice),
}

/// `11:22:57.123`: UTC time of day, to the millisecond.
fn clock(ms: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(at).to_string()[11..23].to_string()
}

pub async fn run(args: &NatsArgs, format: Format) -> anyhow::Result<()> {
    let nats = connect(args).await?;
    let kv = nats.placement().await?;
    let mut changes = kv.watch_all().await.map_err(|e| {
        CliError::new(
            Kind::Failure,
            format!("cannot watch the placement bucket: {e}"),
        )
    })?;
    let mut notices = nats
        .client
        .subscribe("runner.notice.>")
        .await
        .map_err(|e| {
            CliError::new(
                Kind::Failure,
                format!("cannot subscribe to runner notices: {e}"),
            )
        })?;
    // The subscription is known to the server once flushed.
    let _ = nats.client.flush().await;
    // On stderr in every format: scripts may wait for it to know the watch is up.
    eprintln!(
        "watching placement bucket '{}' and runner notices on {} (Ctrl-C stops)",
        args.placement_bucket, args.nats_url
    );
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let line = tokio::select! {
            _ = &mut interrupted => return Ok(()),
            c = changes.next() => match c {
                Some(Ok(e)) => Line::Placement {
                    at_ms: (e.created.unix_timestamp_nanos() / 1_000_000).max(0) as u64,
                    tenant: e.key,
                    operation: format!("{:?}", e.operation).to_lowercase(),
                    shard: (e.operation == async_nats::jetstream::kv::Operation::Put).then(|| String::from_utf8_lossy(&e.value).trim().to_string()),
                    revision: e.revision,
                },
                Some(Err(e)) => return Err(CliError::new(Kind::Failure, format!("placement watch failed: {e}")).into()),
                None => return Err(CliError::new(Kind::Failure, "placement watch ended (NATS connection lost?)").into()),
            },
            n = notices.next() => match n.and_then(|m| serde_json::from_slice::<Notice>(&m.payload).ok()) {
                Some(n) => Line::Notice(n),
                None => continue,
            },
        };
        match format {
            Format::Json => output::println(&serde_json::to_string(&line).expect("serialisable")),
            Format::Table => output::println(&match line {
                Line::Placement {
                    at_ms,
                    tenant,
                    operation,
                    shard,
                    revision,
                } => match shard {
                    Some(s) => format!(
                        "{} placement  {tenant} -> {s} (revision {revision})",
                        clock(at_ms)
                    ),
                    None => format!(
                        "{} placement  {tenant} {operation}d (revision {revision})",
                        clock(at_ms)
                    ),
                },
                Line::Notice(n) => format!(
                    "{} {:<10} {}{} {}",
                    clock(n.at_ms),
                    n.shard,
                    format!("{:?}", n.kind).to_lowercase(),
                    n.tenant.map(|t| format!(" {t}")).unwrap_or_default(),
                    n.detail
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clock_is_utc_time_of_day() {
        assert_eq!(super::clock(1_795_600_183_042), "09:49:43.042");
    }
}
