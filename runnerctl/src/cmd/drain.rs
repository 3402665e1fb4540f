//! `runnerctl drain` and `runnerctl resume`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use serde::Serialize;
use shared::wire::{DrainRequest, DrainStatus, RunnerState};

use crate::cli::{DrainArgs, NatsArgs, TargetArgs};
use crate::cmd::target;
use crate::exit::{CliError, Kind};
use crate::output::{self, Format};

#[derive(Serialize)]
struct Outcome<'a> {
    url: &'a str,
    state: RunnerState,
    elapsed_ms: u64,
    drain: Option<DrainStatus>,
}

fn line(d: &DrainStatus) -> String {
    format!(
        "readers {} · in-flight batches {} · outbox left {}",
        d.readers_running, d.in_flight_batches, d.outbox_left
    )
}

pub async fn drain(
    args: DrainArgs,
    nats: &NatsArgs,
    token: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    let admin = target::admin(&args.target, nats, token).await?;
    let req = DrainRequest {
        timeout_ms: Some(args.flush_timeout.as_millis() as u64),
    };
    let started = Instant::now();
    let first = admin.drain(&req).await?;
    let report = |state: RunnerState, drain: Option<DrainStatus>| {
        let o = Outcome {
            url: admin.url(),
            state,
            elapsed_ms: started.elapsed().as_millis() as u64,
            drain,
        };
        match format {
            Format::Json => output::json(&o),
            Format::Table => {
                let d = o.drain.as_ref();
                let note = d
                    .and_then(|d| d.note.clone())
                    .map(|n| format!("\nnote: {n}"))
                    .unwrap_or_default();
                output::println(&format!(
                    "{} {} after {:.1}s ({}){note}",
                    o.url,
                    state.as_str(),
                    o.elapsed_ms as f64 / 1000.0,
                    d.map(line).unwrap_or_default()
                ));
            }
        }
    };
    if args.no_wait || first.state == RunnerState::Drained {
        report(first.state, Some(first));
        return Ok(());
    }
    let tty = std::io::stderr().is_terminal();
    let initial = first.outbox_left.max(1);
    let bar = if tty {
        let b = indicatif::ProgressBar::new(initial);
        b.set_style(
            indicatif::ProgressStyle::with_template("draining {elapsed:>4} [{bar:30}] {msg}")
                .expect("template")
                .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut last_line = Instant::now() - Duration::from_secs(10);
    let deadline = started + args.timeout;
    let mut last: DrainStatus = first;
    loop {
        let s = admin.status(false).await?;
        if let Some(d) = s.drain.clone() {
            last = d;
        }
        let left = last.outbox_left;
        bar.set_length(initial.max(left));
        bar.set_position(initial.max(left) - left);
        bar.set_message(line(&last));
        if !tty && last_line.elapsed() >= Duration::from_secs(1) {
            eprintln!(
                "draining {:.1}s: {}",
                started.elapsed().as_secs_f64(),
                line(&last)
            );
            last_line = Instant::now();
        }
        if s.state == RunnerState::Drained {
            bar.finish_and_clear();
            report(s.state, Some(last));
            return Ok(());
        }
        if s.state != RunnerState::Draining {
            bar.finish_and_clear();
            return Err(CliError::failure(format!(
                "{} is {} now: the drain was undone (resumed?) while waiting",
                admin.url(),
                s.state
            ))
            .into());
        }
        if Instant::now() >= deadline {
            bar.finish_and_clear();
            let blockers = if last.blockers.is_empty() {
                "  - (nothing reported)".to_string()
            } else {
                last.blockers
                    .iter()
                    .map(|b| format!("  - {b}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            if format == Format::Json {
                report(s.state, Some(last.clone()));
            }
            return Err(CliError::new(
                Kind::Timeout,
                format!(
                    "{} is still draining after {}; what blocks it:\n{blockers}\nit goes on: wait with `runnerctl drain` again, or `runnerctl resume`",
                    admin.url(),
                    humantime::format_duration(args.timeout)
                ),
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn resume(
    target: TargetArgs,
    nats: &NatsArgs,
    token: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    let admin = target::admin(&target, nats, token).await?;
    let r = admin.resume().await?;
    match format {
        Format::Json => output::json(&serde_json::json!({"url": admin.url(), "state": r.state})),
        Format::Table => output::println(&format!("{} {}", admin.url(), r.state)),
    }
    Ok(())
}
