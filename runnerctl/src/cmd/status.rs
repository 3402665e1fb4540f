//! `runnerctl status`: one runner's admin status as a table or JSON, once or refreshed.

use std::io::IsTerminal;
use std::time::Duration;

use comfy_table::Cell;
use shared::wire::StatusResponse;

use crate::cli::StatusArgs;
use crate::client::Admin;
use crate::output::{self, Format};

pub async fn run(
    args: StatusArgs,
    nats: &crate::cli::NatsArgs,
    format: Format,
    token: Option<String>,
) -> anyhow::Result<()> {
    let admin: Admin = crate::cmd::target::admin(&args.target, nats, token).await?;
    let Some(every) = args.watch else {
        let s = admin.status(true).await?;
        match format {
            Format::Json => output::json(&s),
            Format::Table => output::print(&render(&s)),
        }
        return Ok(());
    };
    let tty = std::io::stdout().is_terminal();
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        match admin.status(true).await {
            Ok(s) => {
                if tty && format == Format::Table {
                    output::print("\x1b[2J\x1b[H");
                }
                show(&s, format);
                if format == Format::Table {
                    output::println("");
                }
            }
            Err(e) => eprintln!(
                "error: {e} (retrying every {})",
                humantime::format_duration(every)
            ),
        }
        tokio::select! {
            _ = &mut interrupted => return Ok(()),
            _ = tokio::time::sleep(every.max(Duration::from_millis(100))) => {}
        }
    }
}

/// One refresh of `--watch`: JSON as one line per refresh (NDJSON).
fn show(s: &StatusResponse, format: Format) {
    match format {
        Format::Json => output::println(&serde_json::to_string(s).expect("serialisable")),
        Format::Table => output::print(&render(s)),
    }
}

/// The status as text for people.
pub fn render(s: &StatusResponse) -> String {
    let mut out = String::new();
    let up = shared::now_ms().saturating_sub(s.started_at_ms);
    out += &format!(
        "shard {}  state {}  version {}  up {}\n",
        s.shard_id,
        s.state.as_str(),
        s.version,
        output::age(up)
    );
    if let Some(c) = &s.cordon {
        out += &format!(
            "cordoned{}: serving its tenants, taking no new ones\n",
            crate::cmd::cordon::describe(c)
        );
    }
    out += &match &s.placement_bucket {
        Some(b) => format!("tenants by placement (bucket {b})\n"),
        None => "tenants by allowlist\n".to_string(),
    };
    out += &format!(
        "nats {} ({}{})\n",
        s.nats.url,
        if s.nats.connected {
            "connected"
        } else {
            "NOT CONNECTED"
        },
        match s.nats.cluster_size {
            Some(1) | None => String::new(),
            Some(n) => format!(", cluster of {n}"),
        }
    );
    for w in s.nats.storage.iter().filter_map(|i| i.warning.as_ref()) {
        out += &format!("warning: {w}\n");
    }
    let last = s
        .stream_last_seq
        .map(|v| v.to_string())
        .unwrap_or_else(|| "?".into());
    out += &format!(
        "stream {}  last seq {}  reader at {}{}\n",
        s.stream,
        last,
        s.reader.position,
        s.reader
            .consumer
            .as_ref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default()
    );
    out += &format!(
        "outbox {}  timers {}  invalid subjects {}  volume {} ({})\n",
        s.outbox_depth,
        s.timers_pending,
        s.invalid_subjects,
        s.volume.path,
        volume_space(&s.volume)
    );
    out += &match &s.snapshot {
        Some(sn) => format!(
            "snapshot {} ({} ago, {})\n\n",
            sn.id,
            output::age(shared::now_ms().saturating_sub(sn.taken_at_ms)),
            output::bytes(sn.bytes)
        ),
        None => "snapshot none yet (`runnerctl snapshot`)\n\n".to_string(),
    };
    let mut t = output::table([
        "TENANT",
        "SAGA",
        "MODE",
        "CHECKPOINT",
        "STREAM LAST",
        "LAG",
        "APPLIED",
        "DEDUPED",
        "IGNORED",
        "DEAD",
        "TIMERS",
    ]);
    for ten in &s.tenants {
        for sg in &ten.sagas {
            let dash = || "-".to_string();
            t.add_row(vec![
                Cell::new(&ten.tenant),
                Cell::new(&sg.saga),
                Cell::new(ten.mode),
                Cell::new(sg.checkpoint),
                Cell::new(
                    sg.stream_last_seq
                        .map(|v| v.to_string())
                        .unwrap_or_else(dash),
                ),
                Cell::new(sg.lag.map(|v| v.to_string()).unwrap_or_else(|| "?".into())),
                Cell::new(sg.counters.applied),
                Cell::new(sg.counters.deduped),
                Cell::new(sg.counters.ignored),
                Cell::new(sg.counters.dead_lettered),
                Cell::new(sg.counters.timers_fired),
            ]);
        }
    }
    out += &t.to_string();
    out.push('\n');
    if !s.waiting.is_empty() {
        out += "\nWAITING\n";
        for w in &s.waiting {
            out += &format!("  - {}: {}\n", w.tenant, w.reason);
        }
    }
    if s.problems.is_empty() {
        out += "\nno problems\n";
    } else {
        out += "\nPROBLEMS\n";
        for p in &s.problems {
            out += &format!("  - {p}\n");
        }
    }
    out
}

/// `16.0 MiB file, 320.0 KiB used of 256.0 GiB, 40.1 GiB free on disk`: what an operator
/// needs to see the volume filling; the bound and the disk are left out when the runner
/// did not report them (older runners).
fn volume_space(v: &shared::wire::VolumeStatus) -> String {
    let mut s = format!(
        "{} file, {} used",
        output::bytes(v.file_bytes),
        output::bytes(v.used_bytes)
    );
    if v.max_bytes > 0 {
        s += &format!(" of {}", output::bytes(v.max_bytes));
    }
    if let Some(free) = v.disk_available_bytes {
        s += &format!(", {} free on disk", output::bytes(free));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::volume_space;
    use shared::wire::VolumeStatus;

    #[test]
    fn the_volume_line_shows_bound_and_disk_when_the_runner_reports_them() {
        let mut v = VolumeStatus {
            path: "/v".into(),
            file_bytes: 16 << 20,
            used_bytes: 320 << 10,
            max_bytes: 256 << 30,
            disk_available_bytes: Some(40 << 30),
        };
        assert_eq!(
            volume_space(&v),
            "16.0 MiB file, 320.0 KiB used of 256.0 GiB, 40.0 GiB free on disk"
        );
        // A runner from before these fields (or one that cannot read its disk).
        v.max_bytes = 0;
        v.disk_available_bytes = None;
        assert_eq!(volume_space(&v), "16.0 MiB file, 320.0 KiB used");
        let old: VolumeStatus =
            serde_json::from_str(r#"{"path": "/v", "file_bytes": 1, "used_bytes": 1}"#).unwrap();
        assert_eq!((old.max_bytes, old.disk_available_bytes), (0, None));
    }
}
