//! `runnerctl replay`: preview (dry run) first, confirmation for destructive modes and
//! retention warnings, then the replay followed to its end.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use comfy_table::Cell;
use serde::Serialize;
use shared::ids::{SagaName, TenantId};
use shared::routes;
use shared::wire::{
    ReplayAccepted, ReplayMode, ReplayPlan, ReplayRequest, ReplayState, ReplayStatus,
};

use crate::cli::{ModeArg, NatsArgs, ReplayArgs};
use crate::client::{Admin, Followed, follow_replay};
use crate::cmd::target;
use crate::exit::CliError;
use crate::output::{self, Format};

#[derive(Serialize)]
struct Outcome {
    url: String,
    plan: ReplayPlan,
    replay: Option<ReplayStatus>,
}

fn mode(m: ModeArg) -> ReplayMode {
    match m {
        ModeArg::CheckpointOnly => ReplayMode::CheckpointOnly,
        ModeArg::CheckpointAndDedupe => ReplayMode::CheckpointAndDedupe,
        ModeArg::FullReset => ReplayMode::FullReset,
    }
}

fn preview(url: &str, p: &ReplayPlan) -> String {
    let mut t = output::table(["TABLE", "ENTRIES DELETED"]);
    let d = &p.deletes;
    for (name, n) in [
        ("checkpoints", d.checkpoints),
        ("dedupe markers", d.dedupe),
        ("instances", d.instances),
        ("outbox (pending)", d.outbox),
        ("timers (pending)", d.timers),
    ] {
        t.add_row(vec![Cell::new(name), Cell::new(n)]);
    }
    let range = match (p.stream.first_seq, p.stream.last_seq) {
        (Some(a), Some(b)) => format!(
            "re-read {} events of {} (sequences {a}..{b}) from the stream",
            p.stream.events, p.stream.subject
        ),
        _ => format!(
            "the stream holds no event of {}: nothing to re-read",
            p.stream.subject
        ),
    };
    let mut out = format!(
        "replay {}/{} on {url}, mode {}\n{t}\n{range}\n",
        p.tenant_id,
        p.saga_name,
        p.mode.as_str()
    );
    for w in &p.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

pub async fn run(
    args: ReplayArgs,
    nats: &NatsArgs,
    token: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    let req = ReplayRequest {
        tenant_id: TenantId::new(args.tenant.clone())
            .map_err(|e| CliError::usage(format!("--tenant: {e}")))?,
        saga_name: SagaName::new(args.saga.clone())
            .map_err(|e| CliError::usage(format!("--saga: {e}")))?,
        mode: mode(args.mode),
        dry_run: true,
    };
    let admin = runner(&args, nats, token).await?;
    let plan = admin.replay_plan(&req).await?;
    if format == Format::Table {
        output::print(&preview(admin.url(), &plan));
    }
    if args.dry_run {
        if format == Format::Json {
            output::json(&Outcome {
                url: admin.url().to_string(),
                plan,
                replay: None,
            });
        }
        return Ok(());
    }
    confirm(&plan, args.yes)?;
    let accepted = admin.replay_start(&req).await?;
    let started = Instant::now();
    let status = follow(&admin, &accepted, args.timeout, format).await?;
    match format {
        Format::Json => output::json(&Outcome {
            url: admin.url().to_string(),
            plan: accepted.plan,
            replay: Some(status.clone()),
        }),
        Format::Table => output::println(&format!(
            "replay {} {} in {:.1}s: scanned {}, applied {}, skipped as duplicates {}, skipped by checkpoint {}, ignored {}, dead-lettered {}",
            status.replay_id,
            status.state.as_str(),
            started.elapsed().as_secs_f64(),
            status.scanned,
            status.applied,
            status.skipped_dedupe,
            status.skipped_other,
            status.ignored,
            status.dead_lettered
        )),
    }
    if status.state != ReplayState::Completed {
        return Err(CliError::failure(format!(
            "replay {} ended {}: the tenant was released to another shard, which continues after the last position",
            status.replay_id,
            status.state.as_str()
        ))
        .into());
    }
    Ok(())
}

/// The runner serving the tenant: `--url`, else `--shard`, else the shard of its claim.
async fn runner(
    args: &ReplayArgs,
    nats: &NatsArgs,
    token: Option<String>,
) -> Result<Admin, CliError> {
    target::tenant_admin(
        &args.tenant,
        args.shard.as_deref(),
        args.url.as_deref(),
        nats,
        token,
    )
    .await
}

/// A destructive mode, or a stream that no longer holds every event applied, needs a yes:
/// `--yes`, or an answer on a terminal.
fn confirm(plan: &ReplayPlan, yes: bool) -> Result<(), CliError> {
    let risky = plan.mode.is_destructive() || !plan.warnings.is_empty();
    if !risky || yes {
        return Ok(());
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        return Err(CliError::refused(format!(
            "{} deletes state{}; without a terminal to confirm, pass --yes; nothing changed",
            plan.mode.as_str(),
            if plan.warnings.is_empty() {
                ""
            } else {
                " and the stream does not hold every event it applied"
            }
        )));
    }
    let prompt = if plan.warnings.is_empty() {
        format!(
            "Run {} on {}/{}?",
            plan.mode.as_str(),
            plan.tenant_id,
            plan.saga_name
        )
    } else {
        format!(
            "Run {} on {}/{} although the stream does not hold every event (see the warning)?",
            plan.mode.as_str(),
            plan.tenant_id,
            plan.saga_name
        )
    };
    let yes = dialoguer::Confirm::new()
        .with_prompt(prompt)
        .default(false)
        .interact()
        .map_err(|e| CliError::failure(format!("cannot ask for confirmation: {e}")))?;
    if !yes {
        return Err(CliError::refused("not confirmed; nothing changed"));
    }
    Ok(())
}

/// Follows the replay to its end with a progress bar (a line a second without a terminal);
/// exit 8 after `timeout`.
async fn follow(
    admin: &Admin,
    accepted: &ReplayAccepted,
    timeout: Duration,
    format: Format,
) -> Result<ReplayStatus, CliError> {
    let tty = std::io::stderr().is_terminal();
    let (from, target) = (
        accepted.plan.stream.first_seq.unwrap_or(0),
        accepted.plan.stream.last_seq.unwrap_or(0),
    );
    let bar = if tty && format == Format::Table {
        let b = indicatif::ProgressBar::new(target.saturating_sub(from).max(1));
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "replaying {elapsed:>4} [{bar:30}] {pos}/{len} seqs · {msg}",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut last_line = Instant::now();
    let followed = follow_replay(
        admin,
        &accepted.replay_id,
        Duration::from_millis(100),
        Some(timeout),
        |s| {
            bar.set_position(
                s.position
                    .saturating_sub(from.saturating_sub(1))
                    .min(bar.length().unwrap_or(0)),
            );
            let msg = format!(
                "scanned {} · applied {} · deduped {} · {}",
                s.scanned,
                s.applied,
                s.skipped_dedupe,
                s.state.as_str()
            );
            if !tty && format == Format::Table && last_line.elapsed() >= Duration::from_secs(1) {
                eprintln!(
                    "replay {}: at {} of {target}: {msg}",
                    s.replay_id, s.position
                );
                last_line = Instant::now();
            }
            bar.set_message(msg);
        },
    )
    .await;
    bar.finish_and_clear();
    match followed? {
        Followed::Ended(s) => Ok(s),
        Followed::StillActive(s) => Err(CliError::timeout(format!(
            "replay {} is still {} after {} (at sequence {} of {target}); it goes on: follow it with GET {}{}",
            s.replay_id,
            s.state.as_str(),
            humantime::format_duration(timeout),
            s.position,
            admin.url(),
            routes::replay_status(&s.replay_id)
        ))),
    }
}
