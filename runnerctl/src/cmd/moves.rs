//! `runnerctl move`: a tenant with its state, from one shard to another, resumable (the
//! operation and its phases are in [`crate::moves`]). This prints its progress on stderr and
//! its result on stdout.

use std::time::Duration;

use shared::ids::TenantId;
use shared::placement::MovePhase;

use crate::cli::{MoveArgs, NatsArgs};
use crate::exit::CliError;
use crate::moves::{self, Done, Report, Request};
use crate::output::{self, Format};

/// Test hook, documented in docs/move.md: `RUNNERCTL_MOVE_STOP_AFTER=<phase>` exits with
/// code 99 right after the phase is recorded, as if the command were killed there, so tests
/// can resume or abort a move from each phase deterministically.
const STOP_AFTER: &str = "RUNNERCTL_MOVE_STOP_AFTER";

pub(super) fn stop_after() -> Option<MovePhase> {
    let want = std::env::var(STOP_AFTER).ok()?;
    [MovePhase::Released, MovePhase::Imported, MovePhase::Flipped]
        .into_iter()
        .find(|p| p.as_str() == want)
}

/// Progress on stderr, for people (nothing with `--output json`).
/// The progress on stderr: the output format and the number of phases.
struct Stderr(Format, u8);

impl Report for Stderr {
    fn step(&self, n: u8, what: &str) {
        if self.0 == Format::Table {
            eprintln!("[{n}/{}] {what}", self.1);
        }
    }

    fn done(&self, detail: &str, elapsed: Duration) {
        if self.0 == Format::Table {
            eprintln!("      {detail} ({:.1}s)", elapsed.as_secs_f64());
        }
    }

    fn note(&self, line: &str) {
        if self.0 == Format::Table {
            eprintln!("{line}");
        }
    }
}

pub async fn run(
    args: MoveArgs,
    nats_args: &NatsArgs,
    token: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    let tenant = TenantId::new(args.tenant.clone()).map_err(|e| CliError::usage(e.to_string()))?;
    let t = tenant.as_str().to_string();
    if let Some(snapshot) = args.from_snapshot {
        let req = moves::from_snapshot::Request {
            tenant,
            to: args
                .to
                .ok_or_else(|| CliError::usage("--from-snapshot needs --to SHARD"))?,
            snapshot,
            accept_loss: args.accept_loss,
            ignore_cordon: args.ignore_cordon,
            reason: args.reason,
            timeout: args.timeout,
        };
        let out = moves::from_snapshot::run(&req, nats_args, token, &Stderr(format, 4)).await?;
        match format {
            Format::Json => output::json(&out),
            Format::Table => {
                if !out.lost.is_empty() {
                    output::warn(&format!(
                        "loss accepted: {}",
                        shared::snapshots::describe_gaps(&out.lost)
                    ));
                }
                output::println(&format!(
                    "moved {t} from the lost {} to {} in {:.1}s: state of snapshot {} ({} instances, {} dedupe markers), events after position {} applied again on {}",
                    out.from,
                    out.to,
                    out.elapsed_ms as f64 / 1000.0,
                    out.snapshot.id,
                    out.imported.instances,
                    out.imported.dedupe,
                    out.position,
                    out.to
                ));
            }
        }
        return Ok(());
    }
    let req = Request {
        tenant,
        to: args.to,
        reason: args.reason,
        keep_source: args.keep_source,
        dry_run: args.dry_run,
        abort: args.abort,
        ignore_cordon: args.ignore_cordon,
        timeout: args.timeout,
        stop_after: stop_after(),
    };
    match moves::run(&req, nats_args, token, &Stderr(format, 5)).await? {
        Done::Planned(plan) => match format {
            Format::Json => output::json(&plan),
            Format::Table => {
                let s = &plan.source;
                output::println(&format!(
                    "plan: park {t}'s placement, release it on {} (commit, flush its outbox), export {} entries ({} instances, {} dedupe markers, {} checkpoints, {} timers, {} outbox), import them on {} in one transaction, place {t} on {}, {}",
                    plan.from,
                    s.entries(),
                    s.instances,
                    s.dedupe,
                    s.checkpoints,
                    s.timers,
                    s.outbox,
                    plan.to,
                    plan.to,
                    if plan.keep_source {
                        "keep the copy on the source"
                    } else {
                        "delete the copy on the source"
                    }
                ))
            }
        },
        Done::Moved(out) => match format {
            Format::Json => output::json(&out),
            Format::Table => output::println(&format!(
                "moved {t} from {} to {} in {:.1}s ({} instances, {} dedupe markers)",
                out.from,
                out.to,
                out.elapsed_ms as f64 / 1000.0,
                out.moved.instances,
                out.moved.dedupe
            )),
        },
        Done::Aborted { from } => match format {
            Format::Json => {
                output::json(&serde_json::json!({"tenant": t, "aborted": true, "served_by": from}))
            }
            Format::Table => output::println(&format!("move of {t} aborted: {from} serves it")),
        },
        Done::Stopped(phase) => {
            eprintln!("stopping after phase {} ({STOP_AFTER})", phase.as_str());
            std::process::exit(99);
        }
    }
    Ok(())
}
