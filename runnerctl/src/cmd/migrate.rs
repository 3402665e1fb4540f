//! `runnerctl migrate --partitions G`: moves a fleet from the single event stream to G group
//! streams (docs/runbooks.md#moving-to-partitioned-streams). Each run does what the state
//! allows and says the next step:
//!
//! 1. creates the group streams, made like the single stream (limits shared out), and
//!    prints the account mapping that routes producers to them;
//! 2. with `--seal`, once the single stream no longer receives events (the mapping is live),
//!    and no tenant with events in it is left unplaced: seals it, so nothing can land there
//!    any more;
//! 3. waits (progress bar) until every live shard has read the sealed stream to its end; then
//!    each runner is restarted with `RUNNER_PARTITIONS=G`, and moves its volume itself.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use async_nats::jetstream::stream;
use serde::Serialize;
use shared::layout::Layout;
use shared::wire::{CursorMode, StatusResponse};

use crate::cli::{MigrateArgs, NatsArgs};
use crate::client::Admin;
use crate::exit::CliError;
use crate::nats::{Nats, connect, registry};
use crate::output::{self, Format};

/// How long the single stream must stay still before `--seal` seals it.
const STILL_FOR: Duration = Duration::from_secs(2);

#[derive(Serialize)]
struct From {
    stream: String,
    last_seq: u64,
    messages: u64,
    sealed: bool,
}

#[derive(Serialize)]
struct GroupStream {
    stream: String,
    /// Made by this run.
    created: bool,
    messages: u64,
}

#[derive(Serialize, Clone)]
struct Shard {
    shard: String,
    admin_url: String,
    /// `single` or `partitioned/<G>`; none when its admin API did not answer.
    layout: Option<String>,
    /// How far it has read the single stream.
    position: Option<u64>,
    /// Tenants still caught up by a reader of their own.
    catching_up: u64,
    /// Tenants placed on it that it does not serve yet.
    not_served: Vec<String>,
    /// Restarted on the partitioned layout, or the single stream read to its sealed end.
    finished: bool,
    error: Option<String>,
}

#[derive(Serialize)]
struct Report {
    from: From,
    layout: String,
    streams: Vec<GroupStream>,
    /// What to add to every nats-server's configuration (then reload it).
    mapping: String,
    shards: Vec<Shard>,
    /// What to do now, in words.
    next: String,
}

pub async fn run(
    args: MigrateArgs,
    nats_args: &NatsArgs,
    token: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    if args.partitions == 0 {
        return Err(CliError::usage(
            "--partitions 0: give the number of partition groups to move to (e.g. 64; see docs/consumption.md#the-layout)",
        )
        .into());
    }
    let nats = connect(nats_args).await?;
    let single = Layout::new(&nats_args.stream, 0);
    let layout = Layout::new(&nats_args.stream, args.partitions);
    let old = single_stream(&nats, &single).await?;
    let streams = create_group_streams(&nats, &old.config, &layout).await?;
    let mapping = layout.mapping_config().unwrap_or_default();
    let mut from = From {
        stream: old.config.name.clone(),
        last_seq: old.state.last_sequence,
        messages: old.state.messages,
        sealed: old.config.sealed,
    };
    if args.seal && !from.sealed {
        from.last_seq = seal(&nats, &single, &args, format).await?;
        from.sealed = true;
    }
    let shards = if from.sealed {
        wait_finished(&nats, token, &layout, from.last_seq, args.timeout, format).await?
    } else {
        shards(&nats, token.clone(), from.last_seq, false).await?
    };
    let partitions = args.partitions;
    let next = if !from.sealed {
        format!(
            "route producers to the group streams: add the mapping below to every nats-server's configuration and reload it (nats-server --signal reload); then run `runnerctl migrate --partitions {partitions} --seal`"
        )
    } else if shards
        .iter()
        .all(|s| s.layout.as_deref() == Some(layout.describe().as_str()))
    {
        format!(
            "done: every live shard reads the {} layout. Keep the sealed stream {} until you no longer need its events, then delete it",
            layout.describe(),
            from.stream
        )
    } else {
        format!(
            "every live shard has read the sealed stream to its end: restart each runner with RUNNER_PARTITIONS={partitions} (one at a time or all at once); each moves its volume at start"
        )
    };
    let report = Report {
        from,
        layout: layout.describe(),
        streams,
        mapping,
        shards,
        next,
    };
    show(&report, format);
    Ok(())
}

/// The single stream's info; missing is exit 5.
async fn single_stream(nats: &Nats, single: &Layout) -> Result<stream::Info, CliError> {
    let name = single.stream(0);
    match nats.js.get_stream(&name).await {
        Ok(mut s) => s
            .info()
            .await
            .cloned()
            .map_err(|e| CliError::failure(format!("cannot read stream {name}: {e}"))),
        Err(e) if shared::nats::stream_not_found(&e) => Err(CliError::not_found(format!(
            "stream {name} does not exist on {}: there is no single stream to move from (is --stream / RUNNERCTL_STREAM the runners' RUNNER_STREAM?)",
            nats.args.nats_url
        ))),
        Err(e) => Err(CliError::failure(format!("cannot read stream {name}: {e}"))),
    }
}

/// Creates the group streams that are missing, like `old`; an existing stream of another
/// partition count is a conflict (exit 6).
async fn create_group_streams(
    nats: &Nats,
    old: &stream::Config,
    layout: &Layout,
) -> Result<Vec<GroupStream>, CliError> {
    let mut out = Vec::new();
    for g in layout.groups() {
        let name = layout.stream(g);
        let (created, info) = match nats.js.get_stream(&name).await {
            Ok(mut s) => (
                false,
                s.info()
                    .await
                    .map_err(|e| CliError::failure(format!("cannot read stream {name}: {e}")))?
                    .clone(),
            ),
            Err(e) if shared::nats::stream_not_found(&e) => {
                let cfg = shared::nats::group_stream_like(old, layout, g);
                let mut s =
                    nats.js.create_stream(cfg).await.map_err(|e| {
                        CliError::failure(format!("cannot create stream {name}: {e}"))
                    })?;
                (
                    true,
                    s.info()
                        .await
                        .map_err(|e| CliError::failure(format!("cannot read stream {name}: {e}")))?
                        .clone(),
                )
            }
            Err(e) => return Err(CliError::failure(format!("cannot read stream {name}: {e}"))),
        };
        let recorded = info
            .config
            .metadata
            .get(shared::nats::PARTITIONS_METADATA)
            .cloned();
        if recorded.as_deref() != Some(layout.partitions().to_string().as_str()) {
            return Err(CliError::conflict(format!(
                "stream {name} exists but is not group {g} of {} (its metadata {} is {}): another partition count was started before? Delete the group streams of the abandoned attempt (they must hold no events you need) or migrate to that count",
                layout.describe(),
                shared::nats::PARTITIONS_METADATA,
                recorded.unwrap_or_else(|| "absent".into())
            )));
        }
        out.push(GroupStream {
            stream: name,
            created,
            messages: info.state.messages,
        });
    }
    Ok(out)
}

/// Seals the single stream once it stopped receiving events and no tenant with events in
/// it is unplaced. Returns its final last sequence.
async fn seal(
    nats: &Nats,
    single: &Layout,
    args: &MigrateArgs,
    format: Format,
) -> Result<u64, CliError> {
    let before = single_stream(nats, single).await?.state.last_sequence;
    if format == Format::Table {
        eprintln!(
            "checking that {} no longer receives events ({}s)...",
            single.stream(0),
            STILL_FOR.as_secs()
        );
    }
    tokio::time::sleep(STILL_FOR).await;
    let after = single_stream(nats, single).await?;
    let grew = after.state.last_sequence.saturating_sub(before);
    if grew > 0 && !args.force {
        return Err(CliError::refused(format!(
            "stream {} still receives events ({grew} in the last {}s): producers are not routed to the group streams yet. Add the mapping to every nats-server's configuration and reload it, then try again (--force seals anyway: producers still publishing there then get an error back, nothing is stored)",
            single.stream(0),
            STILL_FOR.as_secs()
        )));
    }
    if let Some(kv) = nats.maybe_bucket(&nats.args.placement_bucket).await? {
        let unplaced = shared::nats::unplaced_tenants(&nats.js, single, &kv)
            .await
            .map_err(CliError::failure)?;
        if !unplaced.is_empty() && !args.allow_unplaced {
            let list: Vec<String> = unplaced
                .iter()
                .take(20)
                .map(|(t, n)| format!("{t} ({n} events)"))
                .collect();
            return Err(CliError::refused(format!(
                "{} tenants have events in {} but no placement: nobody applies them, and after the move their runner would start from the group stream, never applying those. Place them first (runnerctl place <tenant>), or pass --allow-unplaced to leave their events in the sealed stream: {}",
                unplaced.len(),
                single.stream(0),
                list.join(", ")
            )));
        }
    }
    let mut cfg = after.config.clone();
    cfg.sealed = true;
    nats.js
        .update_stream(&cfg)
        .await
        .map_err(|e| CliError::failure(format!("cannot seal stream {}: {e}", single.stream(0))))?;
    let sealed = single_stream(nats, single).await?;
    Ok(sealed.state.last_sequence)
}

/// Every live shard's progress on the single stream, ending at `last`. `strict`: a shard whose
/// admin API does not answer is an error.
async fn shards(
    nats: &Nats,
    token: Option<String>,
    last: u64,
    strict: bool,
) -> Result<Vec<Shard>, CliError> {
    let placed = placed_by_shard(nats).await?;
    let mut out = Vec::new();
    for r in registry(nats).await? {
        if r.state.is_stopping() {
            continue;
        }
        let status = match Admin::new(&r.admin_url, token.clone()) {
            Ok(a) => a.status(false).await,
            Err(e) => Err(e),
        };
        let shard = match status {
            Ok(s) => progress(
                &r.shard_id,
                &r.admin_url,
                &s,
                last,
                placed
                    .get(&r.shard_id)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
            ),
            Err(e) if strict => return Err(e),
            Err(e) => Shard {
                shard: r.shard_id.clone(),
                admin_url: r.admin_url.clone(),
                layout: None,
                position: None,
                catching_up: 0,
                not_served: Vec::new(),
                finished: false,
                error: Some(e.to_string()),
            },
        };
        out.push(shard);
    }
    Ok(out)
}

/// The tenants the placement bucket gives each shard (a tenant being moved: its target);
/// empty without a placement bucket (allowlists).
async fn placed_by_shard(nats: &Nats) -> Result<BTreeMap<String, Vec<String>>, CliError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (tenant, shard) in
        crate::fleet::placement_targets(nats, &nats.args.placement_bucket).await?
    {
        out.entry(shard).or_default().push(tenant);
    }
    Ok(out)
}

/// A shard has finished the single stream when its reader is at the sealed end, no tenant
/// is still caught up by a reader of its own, and every tenant placed on it is served (a
/// tenant placed but not taken yet would start on the group stream after the move, never
/// applying its events in the single stream).
fn progress(shard: &str, url: &str, s: &StatusResponse, last: u64, placed: &[String]) -> Shard {
    let single = s.layout == "single" || s.layout.is_empty();
    let catching_up = s
        .tenants
        .iter()
        .filter(|t| t.mode == CursorMode::CatchingUp)
        .count() as u64;
    let served: BTreeSet<&str> = s.tenants.iter().map(|t| t.tenant.as_str()).collect();
    let not_served: Vec<String> = placed
        .iter()
        .filter(|t| !served.contains(t.as_str()))
        .cloned()
        .collect();
    Shard {
        shard: shard.to_string(),
        admin_url: url.to_string(),
        layout: Some(if s.layout.is_empty() {
            "single".into()
        } else {
            s.layout.clone()
        }),
        position: single.then_some(s.reader.position),
        catching_up: if single { catching_up } else { 0 },
        finished: !single
            || (s.reader.position >= last && catching_up == 0 && not_served.is_empty()),
        not_served: if single { not_served } else { Vec::new() },
        error: None,
    }
}

/// Polls the live shards until each has read the sealed stream to `last` (or moved), with a
/// progress bar; exit 8 after `timeout`.
async fn wait_finished(
    nats: &Nats,
    token: Option<String>,
    layout: &Layout,
    last: u64,
    timeout: Duration,
    format: Format,
) -> Result<Vec<Shard>, CliError> {
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal() && format == Format::Table;
    let bar = if tty {
        let b = indicatif::ProgressBar::new(1);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "finishing the single stream {elapsed:>4} [{bar:30}] {pos}/{len} shards {msg}",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    loop {
        let now = shards(nats, token.clone(), last, false).await?;
        let done = now.iter().filter(|s| s.finished).count();
        bar.set_length(now.len().max(1) as u64);
        bar.set_position(done as u64);
        let behind: Vec<String> = now
            .iter()
            .filter(|s| !s.finished)
            .map(|s| match (&s.error, s.position) {
                (Some(e), _) => format!("{}: {e}", s.shard),
                (None, Some(p)) if !s.not_served.is_empty() => format!(
                    "{} at {p}/{last}, not serving yet {}",
                    s.shard,
                    s.not_served.join(" ")
                ),
                (None, Some(p)) => format!("{} at {p}/{last}", s.shard),
                (None, None) => s.shard.clone(),
            })
            .collect();
        bar.set_message(behind.join(", "));
        if behind.is_empty() {
            bar.finish_and_clear();
            return Ok(now);
        }
        if started.elapsed() >= timeout {
            bar.finish_and_clear();
            return Err(CliError::timeout(format!(
                "after {}s, not every live shard has read the sealed stream to its end (sequence {last}): {}. Are they running with RUNNER_PARTITIONS=0? Run `runnerctl migrate --partitions {}` again to keep waiting",
                timeout.as_secs(),
                behind.join("; "),
                layout.partitions()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn show(r: &Report, format: Format) {
    match format {
        Format::Json => output::json(r),
        Format::Table => {
            let f = &r.from;
            output::println(&format!(
                "from {} ({} events, last sequence {}{}) to {}",
                f.stream,
                f.messages,
                f.last_seq,
                if f.sealed { ", sealed" } else { "" },
                r.layout
            ));
            let created = r.streams.iter().filter(|s| s.created).count();
            let held: u64 = r.streams.iter().map(|s| s.messages).sum();
            output::println(&format!(
                "group streams: {} ({created} created now), {held} events in them",
                r.streams.len()
            ));
            if !r.shards.is_empty() {
                let mut t =
                    output::table(["SHARD", "LAYOUT", "POSITION", "CATCHING UP", "FINISHED"]);
                for s in &r.shards {
                    t.add_row(vec![
                        s.shard.clone(),
                        s.layout.clone().unwrap_or_else(|| "?".into()),
                        s.position.map(|p| p.to_string()).unwrap_or_default(),
                        s.catching_up.to_string(),
                        match (&s.error, s.finished) {
                            (Some(e), _) => e.clone(),
                            (None, true) => "yes".into(),
                            (None, false) => "no".into(),
                        },
                    ]);
                }
                output::println(&t.to_string());
            }
            if !f.sealed {
                output::println(&format!("mapping:\n{}", r.mapping.trim_end()));
            }
            output::println(&format!("next: {}", r.next));
        }
    }
}
