//! `runnerctl snapshot <shard>`, `runnerctl snapshots [<shard>]` and
//! `runnerctl restore <shard> --to <dir>`: shard snapshots in the NATS Object Store bucket
//! (docs/storage.md#snapshots, docs/runbooks.md#a-shards-volume-was-lost).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use shared::edge_storage::snapshot::{RestoreRecord, tenant_positions, volume_layout};
use shared::edge_storage::{DATA_FILE, Volume, WriteOptions};
use shared::ids::ShardId;
use shared::snapshots::{self, Gap, Summary};

use crate::cli::{NatsArgs, RestoreArgs, SnapshotArgs, SnapshotsArgs};
use crate::exit::{CliError, Kind};
use crate::nats::{Nats, connect, who};
use crate::output::{self, Format};

/// A spinner on a terminal while something long runs (hidden otherwise).
fn spinner(what: String) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new_spinner();
    b.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("template"),
    );
    b.set_message(what);
    b.enable_steady_tick(Duration::from_millis(120));
    b
}

pub async fn take(
    args: SnapshotArgs,
    nats_args: &NatsArgs,
    token: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    let admin = super::target::admin(&args.target, nats_args, token).await?;
    let bar = spinner(format!("snapshot of {}", admin.url()));
    let taken = admin.snapshot(args.timeout).await;
    bar.finish_and_clear();
    let t = taken?;
    match format {
        Format::Json => output::json(&t),
        Format::Table => {
            let s = &t.snapshot;
            output::println(&format!(
                "snapshot {} of {} stored in bucket {}: {}, {} tenants, {} entries; copy {:.1}s, upload {:.1}s{}",
                s.id,
                s.shard,
                t.bucket,
                output::bytes(s.bytes),
                s.tenants,
                s.entries,
                s.copy_ms as f64 / 1000.0,
                t.upload_ms as f64 / 1000.0,
                if t.pruned.is_empty() {
                    String::new()
                } else {
                    format!("; retention deleted {}", t.pruned.join(", "))
                }
            ));
        }
    }
    Ok(())
}

/// The snapshot bucket (a missing one is exit 5).
pub(crate) async fn store(
    nats: &Nats,
    bucket: &str,
) -> Result<async_nats::jetstream::object_store::ObjectStore, CliError> {
    Ok(snapshots::open_store(&nats.js, bucket).await?)
}

impl From<snapshots::StoreError> for CliError {
    fn from(e: snapshots::StoreError) -> Self {
        match e {
            snapshots::StoreError::NotFound(_) => CliError::not_found(e.to_string()),
            snapshots::StoreError::Other(..) => CliError::new(Kind::Unreachable, e.to_string()),
        }
    }
}

/// A snapshot that is not there is exit 5; one refused (corrupt, truncated, not a
/// snapshot) exit 9, like a volume that cannot be read.
impl From<snapshots::DownloadError> for CliError {
    fn from(e: snapshots::DownloadError) -> Self {
        match e {
            snapshots::DownloadError::NotFound { .. } => CliError::not_found(e.to_string()),
            snapshots::DownloadError::Refused(..) => CliError::new(Kind::Unreadable, e.to_string()),
            snapshots::DownloadError::Failed(_) => CliError::failure(e.to_string()),
        }
    }
}

pub async fn list(args: SnapshotsArgs, nats_args: &NatsArgs, format: Format) -> anyhow::Result<()> {
    if let Some(s) = &args.shard {
        ShardId::new(s.clone()).map_err(|e| CliError::usage(e.to_string()))?;
    }
    let nats = connect(nats_args).await?;
    let store = store(&nats, &nats_args.snapshot_bucket).await?;
    if let (Some(shard), Some(id)) = (&args.shard, &args.snapshot) {
        return describe(&store, shard, id, format).await;
    }
    let all = snapshots::list(&store, args.shard.as_deref())
        .await
        .map_err(CliError::failure)?;
    match format {
        Format::Json => output::json(&all),
        Format::Table => {
            if all.is_empty() {
                output::note(&format!(
                    "no snapshots{} in bucket {}",
                    args.shard
                        .as_deref()
                        .map(|s| format!(" of {s}"))
                        .unwrap_or_default(),
                    nats_args.snapshot_bucket
                ));
                return Ok(());
            }
            let now = shared::now_ms();
            let mut t = output::table([
                "SHARD",
                "ID",
                "TAKEN",
                "AGE",
                "SIZE",
                "TENANTS",
                "POSITIONS",
                "COPY",
            ]);
            for s in &all {
                t.add_row(vec![
                    s.shard.clone(),
                    s.id.clone(),
                    output::utc(s.taken_at_ms),
                    output::age(now.saturating_sub(s.taken_at_ms)),
                    output::bytes(s.bytes),
                    s.tenants.to_string(),
                    if s.min_position == s.max_position {
                        s.min_position.to_string()
                    } else {
                        format!("{}..{}", s.min_position, s.max_position)
                    },
                    format!("{:.1}s", s.copy_ms as f64 / 1000.0),
                ]);
            }
            output::println(&t.to_string());
        }
    }
    Ok(())
}

/// `snapshots <shard> --snapshot ID`: what one snapshot holds.
async fn describe(
    store: &async_nats::jetstream::object_store::ObjectStore,
    shard: &str,
    id: &str,
    format: Format,
) -> anyhow::Result<()> {
    let d = snapshots::describe(store, shard, id)
        .await
        .map_err(CliError::from)?;
    match format {
        Format::Json => output::json(&d),
        Format::Table => {
            output::println(&format!(
                "snapshot {} of {} taken {} ({} ago): {}, SHA-256 {}, {} entries; volume {}, stream {}, layout {}",
                d.id,
                d.shard_id.as_deref().unwrap_or("?"),
                output::utc(d.taken_at_ms),
                output::age(shared::now_ms().saturating_sub(d.taken_at_ms)),
                output::bytes(d.bytes),
                d.sha256,
                d.entries,
                d.volume_id.as_deref().unwrap_or("?"),
                d.stream_id.as_deref().unwrap_or("?"),
                d.layout.as_deref().unwrap_or("single")
            ));
            let mut t = output::table(["TENANT", "POSITION", "SAGA", "APPLIED UP TO"]);
            for (tenant, pos) in &d.positions {
                let sagas = d.checkpoints.get(tenant);
                match sagas.filter(|s| !s.is_empty()) {
                    None => {
                        t.add_row(vec![
                            tenant.clone(),
                            pos.to_string(),
                            "-".into(),
                            "-".into(),
                        ]);
                    }
                    Some(sagas) => {
                        for (k, (saga, at)) in sagas.iter().enumerate() {
                            let (tn, p) = if k == 0 {
                                (tenant.clone(), pos.to_string())
                            } else {
                                (String::new(), String::new())
                            };
                            t.add_row(vec![tn, p, saga.clone(), at.to_string()]);
                        }
                    }
                }
            }
            output::println(&t.to_string());
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct Restored {
    shard: String,
    dir: PathBuf,
    snapshot: Summary,
    took_ms: u64,
    /// Tenants whose events since the snapshot the stream no longer fully holds.
    lost: Vec<Gap>,
    accepted_loss: bool,
}

/// Files `restore` created, removed again unless it succeeds.
struct Written {
    dir: PathBuf,
    created_dir: bool,
    done: bool,
}

impl Drop for Written {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if self.created_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// A directory restore may write into: new, or empty.
fn check_target(dir: &Path) -> Result<bool, CliError> {
    match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(CliError::failure(format!(
            "cannot read {}: {e}",
            dir.display()
        ))),
        Ok(mut entries) => match entries.next() {
            None => Ok(false),
            Some(_) => Err(CliError::refused(format!(
                "{} is not empty: restore writes a new volume into a new or empty directory, never over a volume (move the old one aside first)",
                dir.display()
            ))),
        },
    }
}

pub async fn restore(
    args: RestoreArgs,
    nats_args: &NatsArgs,
    format: Format,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let shard = ShardId::new(args.shard.clone()).map_err(|e| CliError::usage(e.to_string()))?;
    let created_dir = check_target(&args.to)?;
    let nats = connect(nats_args).await?;
    let store = store(&nats, &nats_args.snapshot_bucket).await?;
    let all = snapshots::list(&store, Some(shard.as_str()))
        .await
        .map_err(CliError::failure)?;
    let chosen = match &args.snapshot {
        Some(id) => all.iter().find(|s| &s.id == id).ok_or_else(|| {
            CliError::not_found(format!(
                "shard {shard} has no snapshot {id} in bucket {} (`runnerctl snapshots {shard}` lists them)",
                nats_args.snapshot_bucket
            ))
        })?,
        None => all.last().ok_or_else(|| {
            CliError::not_found(format!(
                "shard {shard} has no snapshot in bucket {}: nothing to restore from (the runner takes them every RUNNER_SNAPSHOT_EVERY, or `runnerctl snapshot {shard}`)",
                nats_args.snapshot_bucket
            ))
        })?,
    };
    std::fs::create_dir_all(&args.to)
        .map_err(|e| CliError::failure(format!("cannot create {}: {e}", args.to.display())))?;
    let mut written = Written {
        dir: args.to.clone(),
        created_dir,
        done: false,
    };
    let part = args.to.join(format!("{DATA_FILE}.download"));
    let bar = spinner(format!(
        "downloading snapshot {} of {shard} ({})",
        chosen.id,
        output::bytes(chosen.bytes)
    ));
    let got = snapshots::download(&store, shard.as_str(), &chosen.id, &part).await;
    bar.finish_and_clear();
    let summary = got.map_err(CliError::from)?;
    std::fs::rename(&part, args.to.join(DATA_FILE))
        .map_err(|e| CliError::failure(format!("cannot write {}: {e}", args.to.display())))?;
    let foreign = |why: String| {
        CliError::new(
            Kind::Unreadable,
            format!("snapshot {} is refused: {why}", chosen.id),
        )
    };
    // Opening it as the shard's volume checks it is one, of a format this build reads, of
    // this shard (else exit 9, naming what it is).
    let vol = Volume::open_for_write(&args.to, &WriteOptions::new(shard.as_str()))
        .map_err(|e| foreign(format!("its data is not {shard}'s volume: {e}")))?;
    let (inside, positions, layout) = vol.read(|r| {
        Ok::<_, shared::edge_storage::StorageError>((
            r.snapshot_meta()?,
            tenant_positions(r)?,
            volume_layout(r)?,
        ))
    })?;
    let inside = inside.ok_or_else(|| foreign("its data holds no snapshot description".into()))?;
    if inside.id != summary.id || inside.volume_id.as_deref() != Some(summary.volume_id.as_str()) {
        return Err(foreign(format!(
            "its data describes snapshot {} of volume {}, its object {} of volume {}",
            inside.id,
            inside.volume_id.unwrap_or_default(),
            summary.id,
            summary.volume_id
        ))
        .into());
    }
    let ends = snapshots::stream_ends(&nats.js, &layout)
        .await
        .map_err(|e| CliError::new(Kind::Unreachable, e))?;
    let lost = vol.read(|r| {
        snapshots::gaps(
            r,
            positions.iter().map(|(t, p)| (t.as_str(), Some(*p))),
            &ends,
        )
    })?;
    if !lost.is_empty() && !args.accept_loss {
        return Err(CliError::refused(format!(
            "nothing restored: the event stream no longer holds events since snapshot {} that its tenants need: {}. A shard restored from it would go on without them. Pick a newer snapshot if there is one (`runnerctl snapshots {shard}`), or pass --accept-loss to restore it anyway",
            summary.id,
            snapshots::describe_gaps(&lost)
        ))
        .into());
    }
    let (user, host) = who();
    vol.write(|w| {
        w.set_restored(&RestoreRecord {
            snapshot: summary.id.clone(),
            taken_at_ms: summary.taken_at_ms,
            restored_at_ms: shared::now_ms(),
            by: format!("{user}@{host}"),
            accepted_loss: (!lost.is_empty()).then(|| snapshots::describe_gaps(&lost)),
            checked_at_ms: None,
        })
    })?;
    drop(vol);
    written.done = true;
    let r = Restored {
        shard: shard.to_string(),
        dir: args.to.clone(),
        snapshot: summary,
        took_ms: started.elapsed().as_millis() as u64,
        accepted_loss: !lost.is_empty(),
        lost,
    };
    match format {
        Format::Json => output::json(&r),
        Format::Table => {
            let s = &r.snapshot;
            output::println(&format!(
                "restored snapshot {} of {} (taken {}, {} ago) into {}: {}, {} tenants, SHA-256 verified, in {:.1}s",
                s.id,
                s.shard,
                output::utc(s.taken_at_ms),
                output::age(shared::now_ms().saturating_sub(s.taken_at_ms)),
                r.dir.display(),
                output::bytes(s.bytes),
                s.tenants,
                r.took_ms as f64 / 1000.0
            ));
            if r.accepted_loss {
                output::warn(&format!(
                    "loss accepted: {}",
                    snapshots::describe_gaps(&r.lost)
                ));
            }
            output::println(&format!(
                "start {}'s runner with RUNNER_DATA_DIR={}: it reads on from the snapshot's positions ({}) and publishes no command or dead letter its lost volume published",
                s.shard,
                r.dir.display(),
                if s.min_position == s.max_position {
                    s.min_position.to_string()
                } else {
                    format!("{}..{}", s.min_position, s.max_position)
                }
            ));
        }
    }
    Ok(())
}
