//! `runnerctl check`: the fleet's health against thresholds, as a monitoring plugin
//! (Nagios, Icinga, Sensu, Zabbix, a cron job) expects it: one summary line with
//! performance data, one line per check, and the exit code 0 OK, 1 WARNING, 2 CRITICAL,
//! 3 UNKNOWN. `-o json` gives the same as one document.

use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use comfy_table::Cell;
use serde::Serialize;

use crate::cli::{CheckArgs, NatsArgs};
use crate::client::Admin;
use crate::output::{self, Format};

/// A check's outcome, ordered by how much it matters when several are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Unknown,
    Warning,
    Critical,
}

impl Status {
    pub fn code(self) -> i32 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// Where `value` stands against thresholds (at or above `crit`: critical).
    fn of(value: f64, warn: f64, crit: f64) -> Status {
        if value >= crit {
            Status::Critical
        } else if value >= warn {
            Status::Warning
        } else {
            Status::Ok
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `shards`, `heartbeat_age`, `lag`, `outbox_age`, `dead_letters`, `mismatched`,
    /// `problems`, or `reachable`.
    pub check: String,
    pub status: Status,
    /// The measured value (null when it could not be measured).
    pub value: Option<f64>,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    /// What the value is about, in words (the worst tenant, shard, ...).
    pub detail: String,
}

#[derive(Debug, Serialize)]
struct Report {
    status: Status,
    code: i32,
    summary: String,
    checks: Vec<Check>,
}

fn check(name: &str, value: f64, warn: f64, crit: f64, detail: String) -> Check {
    Check {
        check: name.to_string(),
        status: Status::of(value, warn, crit),
        value: Some(value),
        warn: Some(warn),
        crit: Some(crit),
        detail,
    }
}

fn fixed(name: &str, status: Status, detail: String) -> Check {
    Check {
        check: name.to_string(),
        status,
        value: None,
        warn: None,
        crit: None,
        detail,
    }
}

/// Runs the checks and exits with the plugin's code (never returns).
pub async fn run(
    args: CheckArgs,
    nats_args: &NatsArgs,
    token: Option<String>,
    format: Format,
) -> ! {
    let checks = match gather(&args, nats_args, token).await {
        Ok(c) => c,
        Err(e) => vec![fixed("reachable", Status::Unknown, e)],
    };
    let status = checks
        .iter()
        .map(|c| c.status)
        .max()
        .unwrap_or(Status::Unknown);
    let summary = summary(status, &checks);
    match format {
        Format::Json => output::json(&Report {
            status,
            code: status.code(),
            summary,
            checks,
        }),
        Format::Table => {
            output::println(&summary);
            let mut t = output::table(["STATUS", "CHECK", "VALUE", "WARN", "CRIT", "DETAIL"]);
            let num = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "-".into());
            for c in &checks {
                t.add_row(vec![
                    Cell::new(c.status.word()),
                    Cell::new(&c.check),
                    Cell::new(num(c.value)),
                    Cell::new(num(c.warn)),
                    Cell::new(num(c.crit)),
                    Cell::new(&c.detail),
                ]);
            }
            output::println(&t.to_string());
        }
    }
    // `output::print` flushed every line.
    std::process::exit(status.code())
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// `RUNNER WARNING - lag 1500 >= 1000 (acme/order on shard-a) | lag=1500;1000;100000 ...`:
/// the checks that are not OK, then every value as performance data.
fn summary(status: Status, checks: &[Check]) -> String {
    let bad: Vec<String> = checks
        .iter()
        .filter(|c| c.status != Status::Ok)
        .map(|c| match c.value {
            Some(v) => format!("{} {} ({})", c.check, fmt_num(v), c.detail),
            None => format!("{}: {}", c.check, c.detail),
        })
        .collect();
    let text = if bad.is_empty() {
        let shards = checks
            .iter()
            .find(|c| c.check == "shards")
            .and_then(|c| c.value)
            .unwrap_or(0.0);
        format!("{} shards healthy", fmt_num(shards))
    } else {
        bad.join("; ")
    };
    let perf: Vec<String> = checks
        .iter()
        .filter_map(|c| {
            let v = c.value?;
            let th = |x: Option<f64>| x.map(fmt_num).unwrap_or_default();
            Some(format!(
                "{}={};{};{}",
                c.check,
                fmt_num(v),
                th(c.warn),
                th(c.crit)
            ))
        })
        .collect();
    format!("RUNNER {} - {text} | {}", status.word(), perf.join(" "))
}

async fn gather(
    args: &CheckArgs,
    nats_args: &NatsArgs,
    token: Option<String>,
) -> Result<Vec<Check>, String> {
    let nats = crate::nats::connect(nats_args)
        .await
        .map_err(|e| format!("cannot reach NATS: {e}"))?;
    let shards = crate::nats::registry(&nats)
        .await
        .map_err(|e| format!("cannot read the shard registry: {e}"))?;
    let mut out = Vec::new();
    let now = shared::now_ms();

    // Shards: present, running, heartbeating.
    let missing: Vec<&String> = args
        .expect_shards
        .iter()
        .filter(|s| !shards.iter().any(|r| &r.shard_id == *s))
        .collect();
    let not_running: Vec<String> = shards
        .iter()
        .filter(|r| r.state != shared::wire::RunnerState::Running)
        .map(|r| format!("{} is {}", r.shard_id, r.state))
        .collect();
    out.push(Check {
        check: "shards".into(),
        status: if shards.is_empty() || !missing.is_empty() {
            Status::Critical
        } else if !not_running.is_empty() {
            Status::Warning
        } else {
            Status::Ok
        },
        value: Some(shards.len() as f64),
        warn: None,
        crit: None,
        detail: if shards.is_empty() {
            format!(
                "no shard in registry bucket '{}'",
                nats_args.registry_bucket
            )
        } else if !missing.is_empty() {
            format!(
                "not in the registry: {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else if !not_running.is_empty() {
            not_running.join(", ")
        } else {
            "all running".into()
        },
    });
    if let Some(oldest) = shards
        .iter()
        .max_by_key(|r| now.saturating_sub(r.heartbeat_at_ms))
    {
        let age = now.saturating_sub(oldest.heartbeat_at_ms) as f64 / 1000.0;
        out.push(check(
            "heartbeat_age",
            age,
            args.heartbeat_warn.as_secs_f64(),
            args.heartbeat_crit.as_secs_f64(),
            format!("seconds, oldest: {}", oldest.shard_id),
        ));
    }

    // Each shard's own view: lag, outbox age, problems.
    let mut max_lag: (u64, String) = (0, "all caught up".into());
    let mut max_age: (f64, String) = (0.0, "all outboxes empty".into());
    let mut problems = Vec::new();
    let mut unreachable = Vec::new();
    for r in &shards {
        let status = match Admin::new(&r.admin_url, token.clone()) {
            Ok(a) => tokio::time::timeout(Duration::from_secs(5), a.status(true))
                .await
                .map_err(|_| "timed out after 5s".to_string())
                .and_then(|s| s.map_err(|e| e.to_string())),
            Err(e) => Err(e.to_string()),
        };
        let s = match status {
            Ok(s) => s,
            Err(e) => {
                unreachable.push(format!("{}: {e}", r.shard_id));
                continue;
            }
        };
        for t in &s.tenants {
            for g in &t.sagas {
                if let Some(l) = g.lag
                    && l > max_lag.0
                {
                    max_lag = (l, format!("{}/{} on {}", t.tenant, g.saga, r.shard_id));
                }
            }
        }
        if let Some(at) = s.outbox_oldest_at_ms {
            let age = now.saturating_sub(at) as f64 / 1000.0;
            if age > max_age.0 {
                max_age = (
                    age,
                    format!("seconds, on {} ({} waiting)", r.shard_id, s.outbox_depth),
                );
            }
        }
        problems.extend(s.problems.iter().map(|p| format!("{}: {p}", r.shard_id)));
    }
    out.push(if unreachable.is_empty() {
        fixed(
            "reachable",
            Status::Ok,
            "every shard's admin API answered".into(),
        )
    } else {
        fixed("reachable", Status::Critical, unreachable.join("; "))
    });
    out.push(check(
        "lag",
        max_lag.0 as f64,
        args.lag_warn as f64,
        args.lag_crit as f64,
        format!("stream sequences, worst: {}", max_lag.1),
    ));
    out.push(check(
        "outbox_age",
        max_age.0,
        args.outbox_age_warn.as_secs_f64(),
        args.outbox_age_crit.as_secs_f64(),
        max_age.1,
    ));
    out.push(if problems.is_empty() {
        fixed("problems", Status::Ok, "none reported".into())
    } else {
        fixed("problems", Status::Warning, problems.join("; "))
    });

    // Dead letters in the window, counted by the server.
    out.push(
        match dead_letters(&nats, &args.dlq_stream, args.dlq_window).await {
            Ok(n) => check(
                "dead_letters",
                n as f64,
                args.dlq_warn as f64,
                args.dlq_crit as f64,
                format!(
                    "in the last {} (stream {})",
                    humantime::format_duration(args.dlq_window),
                    args.dlq_stream
                ),
            ),
            Err(e) => fixed("dead_letters", Status::Unknown, e),
        },
    );

    // Placements that differ from who serves the tenant.
    if nats
        .maybe_bucket(&nats_args.placement_bucket)
        .await
        .ok()
        .flatten()
        .is_some()
    {
        match super::placements::rows(&nats, nats_args).await {
            Ok(rows) => {
                let bad: Vec<&super::placements::Row> =
                    rows.iter().filter(|r| r.mismatch).collect();
                out.push(check(
                    "mismatched",
                    bad.len() as f64,
                    args.mismatch_warn as f64,
                    args.mismatch_crit as f64,
                    match bad.first() {
                        Some(r) => format!(
                            "tenants, e.g. {}: {}",
                            r.tenant,
                            r.why.clone().unwrap_or_default()
                        ),
                        None => "tenants; every placement is served".into(),
                    },
                ));
            }
            Err(e) => out.push(fixed("mismatched", Status::Unknown, e.to_string())),
        }
    }
    Ok(out)
}

/// Dead letters stored in the last `window`: the pending count of a short-lived consumer
/// that starts at that time (the server counts; nothing is read).
async fn dead_letters(
    nats: &crate::nats::Nats,
    stream_name: &str,
    window: Duration,
) -> Result<u64, String> {
    let stream = match nats.js.get_stream(stream_name).await {
        Ok(s) => s,
        Err(e) if shared::nats::stream_not_found(&e) => {
            // No dead-letter stream yet: nothing was ever dead-lettered.
            return Ok(0);
        }
        Err(e) => return Err(format!("cannot read stream {stream_name}: {e}")),
    };
    let start = time::OffsetDateTime::now_utc()
        - time::Duration::try_from(window).map_err(|e| e.to_string())?;
    let consumer = stream
        .create_consumer(pull::Config {
            deliver_policy: DeliverPolicy::ByStartTime { start_time: start },
            inactive_threshold: Duration::from_secs(10),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot count dead letters in {stream_name}: {e}"))?;
    let mut consumer = consumer;
    let pending = consumer
        .info()
        .await
        .map_err(|e| format!("cannot count dead letters in {stream_name}: {e}"))?
        .num_pending;
    let name = consumer.cached_info().name.clone();
    let _ = stream.delete_consumer(&name).await;
    Ok(pending)
}
