//! `runnerctl move`: a tenant with its state, from one shard to another, resumable.
//!
//! Phases, each recorded in `move.<tenant>` (hand-over bucket) once done, so a rerun
//! continues after the last recorded one and `--abort` knows what to undo:
//!
//! 1. preflight (nothing written): both shards live and running, the tenant placed on the
//!    source, the target holding no state for it, export formats compatible;
//! 2. release: the placement is parked as `moving:<from>:<to>` (compare-and-swap), so no
//!    shard serves the tenant; the source commits its last batch, records the release
//!    position in the tenant's claim and publishes the tenant's outbox;
//! 3. export from the source and import on the target (one transaction there, verified by
//!    counts and SHA-256);
//! 4. flip: the placement names the target (compare-and-swap); the target takes the claim
//!    and resumes right after the released position, on the imported checkpoints;
//! 5. cleanup: the source deletes its copy (unless `--keep-source`).
//!
//! Two shards never serve the tenant at once (the placement is parked, and the claims
//! decide who serves), and since the target starts after the position up to which the
//! source applied everything, no event is lost or applied twice.

use std::time::{Duration, Instant};

use async_nats::jetstream::kv::{self, Operation};
use bytes::Bytes;
use serde::Serialize;
use shared::ids::{ShardId, TenantId};
use shared::placement::{
    AuditEntry, ClaimRecord, ClaimState, MovePhase, MoveRecord, ShardRecord, claim_key, move_key,
    moving_value,
};
use shared::wire::{TenantDataChange, TenantInfo};

use crate::cli::{MoveArgs, NatsArgs};
use crate::client::Admin;
use crate::cmd::shards::registry;
use crate::exit::{CONFLICT, CliError, FAILURE, NOT_FOUND, REFUSED, TIMEOUT};
use crate::nats::{Nats, connect, who};
use crate::output::{self, Format};

struct Ctx {
    nats: Nats,
    placement: kv::Store,
    handoff: kv::Store,
    token: Option<String>,
    format: Format,
    started: Instant,
    timeout: Duration,
}

impl Ctx {
    fn step(&self, n: u8, what: &str) {
        if self.format == Format::Table {
            eprintln!("[{n}/5] {what}");
        }
    }

    fn done(&self, detail: &str) {
        if self.format == Format::Table {
            eprintln!(
                "      {detail} ({:.1}s)",
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    async fn shard(&self, id: &str) -> Result<ShardRecord, CliError> {
        registry(&self.nats)
            .await?
            .into_iter()
            .find(|r| r.shard_id == id)
            .ok_or_else(|| {
                CliError::new(
                    NOT_FOUND,
                    format!("shard '{id}' is not registered: its runner is not running (`runnerctl shards`)"),
                )
            })
    }

    async fn admin(&self, id: &str) -> Result<Admin, CliError> {
        Admin::new(&self.shard(id).await?.admin_url, self.token.clone())
    }

    async fn info(&self, id: &str, tenant: &str) -> Result<TenantInfo, CliError> {
        self.admin(id)
            .await?
            .get(&format!("/admin/tenants/{tenant}"))
            .await
    }

    async fn placement_of(&self, tenant: &str) -> Result<(Option<String>, u64), CliError> {
        let e = self.placement.entry(tenant).await.map_err(|e| {
            CliError::new(
                FAILURE,
                format!("cannot read the placement of {tenant}: {e}"),
            )
        })?;
        Ok(match e {
            Some(e) if e.operation == Operation::Put => (
                Some(String::from_utf8_lossy(&e.value).trim().to_string()),
                e.revision,
            ),
            Some(e) => (None, e.revision),
            None => (None, 0),
        })
    }

    /// Compare-and-swap of the placement from `from` (value) to `to`.
    async fn swap_placement(&self, tenant: &str, from: &str, to: &str) -> Result<u64, CliError> {
        let (current, rev) = self.placement_of(tenant).await?;
        match current.as_deref() {
            Some(c) if c == to => return Ok(rev),
            Some(c) if c == from => {}
            other => {
                return Err(CliError::new(
                    CONFLICT,
                    format!(
                        "the placement of {tenant} is {} now, not '{from}': somebody changed it during the move; check `runnerctl history {tenant}`, then rerun or --abort",
                        other
                            .map(|o| format!("'{o}'"))
                            .unwrap_or_else(|| "unset".into())
                    ),
                ));
            }
        }
        self.placement
            .update(tenant, Bytes::from(to.to_string()), rev)
            .await
            .map_err(|e| {
                CliError::new(
                    CONFLICT,
                    format!("the placement of {tenant} changed while this command ran ({e}); rerun to continue"),
                )
            })
    }

    async fn record(&self, tenant: &str) -> Result<Option<(MoveRecord, u64)>, CliError> {
        match self.handoff.entry(move_key(tenant)).await {
            Ok(Some(e)) if e.operation == Operation::Put => serde_json::from_slice(&e.value)
                .map(|r| Some((r, e.revision)))
                .map_err(|err| {
                    CliError::new(
                        FAILURE,
                        format!("move record of {tenant} is unreadable: {err}"),
                    )
                }),
            Ok(_) => Ok(None),
            Err(e) => Err(CliError::new(
                FAILURE,
                format!("cannot read the move record: {e}"),
            )),
        }
    }

    async fn save(&self, rec: &MoveRecord, rev: Option<u64>) -> Result<u64, CliError> {
        let body = Bytes::from(serde_json::to_vec(rec).expect("serialisable"));
        let r = match rev {
            None => self
                .handoff
                .create(move_key(&rec.tenant), body)
                .await
                .map_err(|e| e.to_string()),
            Some(r) => self
                .handoff
                .update(move_key(&rec.tenant), body, r)
                .await
                .map_err(|e| e.to_string()),
        };
        r.map_err(|e| {
            CliError::new(
                CONFLICT,
                format!(
                    "the move record of {} changed meanwhile (another runnerctl?): {e}",
                    rec.tenant
                ),
            )
        })
    }

    /// Polls `f` until it returns `Some`, or fails with exit 8 after the move's timeout.
    async fn wait<T, F, Fut>(&self, what: &str, mut f: F) -> Result<T, CliError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, CliError>>,
    {
        let deadline = Instant::now() + self.timeout;
        let mut last_err = None;
        loop {
            match f().await {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                Err(e) => last_err = Some(e.message),
            }
            if Instant::now() >= deadline {
                return Err(CliError::new(
                    TIMEOUT,
                    format!(
                        "timed out after {} waiting for {what}{}; the move is recorded: rerun the same command to continue, or --abort",
                        humantime::format_duration(self.timeout),
                        last_err
                            .map(|e| format!(" (last error: {e})"))
                            .unwrap_or_default()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn audit(
        &self,
        action: &str,
        rec: &MoveRecord,
        before: &str,
        after: &str,
        revision: u64,
    ) {
        let (user, host) = who();
        let a = AuditEntry {
            action: action.into(),
            tenant: rec.tenant.clone(),
            before: Some(before.into()),
            after: Some(after.into()),
            revision,
            who: user,
            host,
            at_ms: shared::now_ms(),
            reason: rec.reason.clone(),
            forced: false,
        };
        let _ = self
            .nats
            .js
            .get_or_create_stream(shared::nats::audit_stream())
            .await;
        if let Ok(ack) = self
            .nats
            .js
            .publish(
                shared::placement::audit_subject(&rec.tenant),
                Bytes::from(serde_json::to_vec(&a).expect("serialisable")),
            )
            .await
        {
            let _ = ack.await;
        }
    }
}

/// Test hook, documented in docs/move.md: `RUNNERCTL_MOVE_STOP_AFTER=<phase>` exits with
/// code 99 right after the phase is recorded, as if the command were killed there, so tests
/// can resume or abort a move from each phase deterministically.
fn stop_after(phase: MovePhase) {
    if std::env::var("RUNNERCTL_MOVE_STOP_AFTER").ok().as_deref() == Some(phase.as_str()) {
        eprintln!(
            "stopping after phase {} (RUNNERCTL_MOVE_STOP_AFTER)",
            phase.as_str()
        );
        std::process::exit(99);
    }
}

#[derive(Serialize)]
struct Plan<'a> {
    tenant: &'a str,
    from: &'a str,
    to: &'a str,
    source: &'a TenantInfo,
    keep_source: bool,
}

#[derive(Serialize)]
struct Outcome {
    tenant: String,
    from: String,
    to: String,
    moved: TenantDataChange,
    source_deleted: Option<TenantDataChange>,
    elapsed_ms: u64,
}

pub async fn run(
    args: MoveArgs,
    nats_args: &NatsArgs,
    token: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    let tenant = TenantId::new(args.tenant.clone()).map_err(|e| CliError::usage(e.to_string()))?;
    let t = tenant.as_str();
    let nats = connect(nats_args).await?;
    let placement = nats.placement().await?;
    let handoff = nats
        .bucket(
            &nats_args.handoff_bucket,
            "start a runner with a placement bucket first",
        )
        .await?;
    let ctx = Ctx {
        nats,
        placement,
        handoff,
        token,
        format,
        started: Instant::now(),
        timeout: args.timeout,
    };
    if args.abort {
        return abort(&ctx, t).await;
    }
    let Some(to) = args.to.clone() else {
        return Err(CliError::usage("--to SHARD is required (or --abort)").into());
    };
    ShardId::new(to.clone()).map_err(|e| CliError::usage(format!("--to: {e}")))?;

    let (mut rec, mut rev) = match ctx.record(t).await? {
        Some((r, rev)) => {
            if r.to != to {
                return Err(CliError::new(
                    CONFLICT,
                    format!(
                        "a move of {t} from {} to {} is in progress (phase {}); rerun with --to {} to finish it, or --abort",
                        r.from, r.to, r.phase.as_str(), r.to
                    ),
                )
                .into());
            }
            if format == Format::Table {
                eprintln!(
                    "resuming the move of {t} from {} to {} after phase {}",
                    r.from,
                    r.to,
                    r.phase.as_str()
                );
            }
            (r, rev)
        }
        None => {
            // 1. Preflight: nothing is written before every check passed.
            ctx.step(1, "preflight");
            let (current, _) = ctx.placement_of(t).await?;
            let from = match current {
                None => {
                    return Err(CliError::new(
                        NOT_FOUND,
                        format!("{t} is not placed: there is nothing to move (`runnerctl place` places it)"),
                    )
                    .into());
                }
                Some(c) if c.starts_with("moving:") => {
                    return Err(CliError::new(
                        CONFLICT,
                        format!("{t} is parked as '{c}' without a move record; fix the placement with `runnerctl place`"),
                    )
                    .into());
                }
                Some(c) => c,
            };
            if from == to {
                return Err(CliError::new(
                    REFUSED,
                    format!("{t} is already placed on {to}; nothing to move"),
                )
                .into());
            }
            let (src, dst) = (ctx.shard(&from).await?, ctx.shard(&to).await?);
            for s in [&src, &dst] {
                if s.state != "running" {
                    return Err(CliError::new(
                        REFUSED,
                        format!("shard {} is {}: a move needs both shards running (`runnerctl resume {}`)", s.shard_id, s.state, s.shard_id),
                    )
                    .into());
                }
            }
            let source = ctx.info(&from, t).await?;
            let target = ctx.info(&to, t).await?;
            if target.has_state() {
                return Err(CliError::new(
                    REFUSED,
                    format!(
                        "shard {to} already holds {} entries for {t}; merging states is not supported: inspect them, and delete them (DELETE /admin/tenants/{t} on {to}) if they are stale",
                        target.entries()
                    ),
                )
                .into());
            }
            if source.export_format_version > target.export_format_version {
                return Err(CliError::new(
                    REFUSED,
                    format!(
                        "shard {from} writes export format {} but {to} reads only up to {}: upgrade {to} first",
                        source.export_format_version, target.export_format_version
                    ),
                )
                .into());
            }
            ctx.done(&format!(
                "{t} on {from}: {} instances, {} dedupe markers, {} checkpoints, {} timers, {} outbox entries; {to} holds nothing for it",
                source.instances, source.dedupe, source.checkpoints, source.timers, source.outbox
            ));
            if args.dry_run {
                let plan = Plan {
                    tenant: t,
                    from: &from,
                    to: &to,
                    source: &source,
                    keep_source: args.keep_source,
                };
                match format {
                    Format::Json => output::json(&plan),
                    Format::Table => output::println(&format!(
                        "plan: park {t}'s placement, release it on {from} (commit, flush its outbox), export {} entries ({} instances, {} dedupe markers, {} checkpoints, {} timers, {} outbox), import them on {to} in one transaction, place {t} on {to}, {}",
                        source.entries(),
                        source.instances,
                        source.dedupe,
                        source.checkpoints,
                        source.timers,
                        source.outbox,
                        if args.keep_source {
                            "keep the copy on the source"
                        } else {
                            "delete the copy on the source"
                        }
                    )),
                }
                return Ok(());
            }
            let (user, host) = who();
            let now = shared::now_ms();
            let rec = MoveRecord {
                tenant: t.into(),
                from,
                to: to.clone(),
                phase: MovePhase::Releasing,
                started_at_ms: now,
                updated_at_ms: now,
                who: format!("{user}@{host}"),
                reason: args.reason.clone(),
                keep_source: args.keep_source,
                export_sha256: None,
                exported_entries: None,
            };
            let rev = ctx.save(&rec, None).await?;
            (rec, rev)
        }
    };
    let from = rec.from.clone();
    let parked = moving_value(&from, &to);

    // 2. Release on the source.
    if rec.phase == MovePhase::Releasing {
        ctx.step(2, &format!("release {t} on {from}"));
        ctx.swap_placement(t, &from, &parked).await?;
        let pos = ctx
            .wait(
                &format!("{from} to release {t} and publish its outbox"),
                || async {
                    let claim = ctx
                        .handoff
                        .get(claim_key(t))
                        .await
                        .ok()
                        .flatten()
                        .and_then(|v| serde_json::from_slice::<ClaimRecord>(&v).ok());
                    let released = match &claim {
                        Some(c) if c.shard == from && c.state == ClaimState::Released => {
                            Some(c.position)
                        }
                        None => Some(0),
                        _ => None,
                    };
                    let Some(pos) = released else { return Ok(None) };
                    let info = ctx.info(&from, t).await?;
                    Ok((!info.served && info.outbox == 0).then_some(pos))
                },
            )
            .await?;
        ctx.done(&format!(
            "released at stream position {pos}, outbox published"
        ));
        rec.phase = MovePhase::Released;
        rec.updated_at_ms = shared::now_ms();
        rev = ctx.save(&rec, Some(rev)).await?;
        stop_after(MovePhase::Released);
    }

    // 3. Export from the source, import on the target.
    let mut moved: Option<TenantDataChange> = None;
    if rec.phase == MovePhase::Released {
        ctx.step(3, &format!("export from {from}, import on {to}"));
        let src = ctx.admin(&from).await?;
        let export = src.get_bytes(&format!("/admin/tenants/{t}/export")).await?;
        let dst = ctx.admin(&to).await?;
        let target: TenantInfo = dst.get(&format!("/admin/tenants/{t}")).await?;
        if target.has_state() {
            // A previous run imported (or half-knew it did): start the import over.
            let _: TenantDataChange = dst.delete(&format!("/admin/tenants/{t}")).await?;
        }
        let done: TenantDataChange = dst
            .post_bytes(&format!("/admin/tenants/{t}/import"), export.clone())
            .await?;
        ctx.done(&format!(
            "{} bytes: {} instances, {} dedupe markers, {} checkpoints, {} timers, {} outbox entries, sha256 {}",
            export.len(),
            done.instances,
            done.dedupe,
            done.checkpoints,
            done.timers,
            done.outbox,
            done.sha256.as_deref().unwrap_or("-")
        ));
        rec.phase = MovePhase::Imported;
        rec.export_sha256 = done.sha256.clone();
        rec.exported_entries =
            Some(done.instances + done.dedupe + done.checkpoints + done.timers + done.outbox);
        rec.updated_at_ms = shared::now_ms();
        rev = ctx.save(&rec, Some(rev)).await?;
        moved = Some(done);
        stop_after(MovePhase::Imported);
    }

    // 4. Flip the placement; the target resumes after the released position.
    if rec.phase == MovePhase::Imported {
        ctx.step(4, &format!("place {t} on {to}"));
        let revision = ctx.swap_placement(t, &parked, &to).await?;
        ctx.wait(&format!("{to} to serve {t}"), || async {
            Ok(ctx.info(&to, t).await?.served.then_some(()))
        })
        .await?;
        ctx.done(&format!("{to} serves {t} (placement revision {revision})"));
        ctx.audit("move", &rec, &from, &to, revision).await;
        rec.phase = MovePhase::Flipped;
        rec.updated_at_ms = shared::now_ms();
        rev = ctx.save(&rec, Some(rev)).await?;
        stop_after(MovePhase::Flipped);
    }

    // 5. Clean up the source, but never the last copy: the target must hold the state.
    ctx.step(5, &format!("clean up {from}"));
    if !rec.keep_source {
        let target = ctx.info(&to, t).await?;
        let source = ctx.info(&from, t).await?;
        if source.has_state() && !target.has_state() {
            return Err(CliError::new(
                REFUSED,
                format!(
                    "{to} serves {t} but holds none of its state, while {from} still holds {} entries: not deleting them. Something removed the imported copy; copy it back with `runnerctl inspect` export and the admin import, or place {t} on {from} again",
                    source.entries()
                ),
            )
            .into());
        }
    }
    let source_deleted = if rec.keep_source {
        ctx.done("kept the copy on the source (--keep-source)");
        None
    } else {
        let d: TenantDataChange = ctx
            .admin(&from)
            .await?
            .delete(&format!("/admin/tenants/{t}"))
            .await?;
        ctx.done(&format!(
            "deleted {} instances and {} dedupe markers on {from}",
            d.instances, d.dedupe
        ));
        Some(d)
    };
    let _ = ctx
        .handoff
        .delete_expect_revision(move_key(t), Some(rev))
        .await;
    let target = ctx.info(&to, t).await?;
    let out = Outcome {
        tenant: t.into(),
        from: from.clone(),
        to: to.clone(),
        moved: moved.unwrap_or(TenantDataChange {
            tenant: t.into(),
            instances: target.instances,
            dedupe: target.dedupe,
            checkpoints: target.checkpoints,
            outbox: target.outbox,
            timers: target.timers,
            sha256: rec.export_sha256.clone(),
        }),
        source_deleted,
        elapsed_ms: ctx.started.elapsed().as_millis() as u64,
    };
    match format {
        Format::Json => output::json(&out),
        Format::Table => output::println(&format!(
            "moved {t} from {from} to {to} in {:.1}s ({} instances, {} dedupe markers)",
            out.elapsed_ms as f64 / 1000.0,
            out.moved.instances,
            out.moved.dedupe
        )),
    }
    Ok(())
}

async fn abort(ctx: &Ctx, t: &str) -> anyhow::Result<()> {
    let Some((rec, rev)) = ctx.record(t).await? else {
        return Err(CliError::new(NOT_FOUND, format!("no move of {t} is in progress")).into());
    };
    if rec.phase >= MovePhase::Flipped {
        return Err(CliError::new(
            REFUSED,
            format!(
                "the move of {t} is past the flip ({} serves it); finish it by rerunning `runnerctl move {t} --to {}`, or move it back with `runnerctl move {t} --to {}` afterwards",
                rec.to, rec.to, rec.from
            ),
        )
        .into());
    }
    let (from, to) = (rec.from.clone(), rec.to.clone());
    // The flip may have happened before the move was interrupted (its phase not recorded
    // yet): then the target holds the tenant's only current state, and may serve it. The
    // placement is checked first, and moved back before anything is deleted, so that an
    // abort can never remove the state a shard is placed to serve.
    let parked = moving_value(&from, &to);
    match ctx.placement_of(t).await?.0 {
        Some(p) if p == to => {
            return Err(CliError::new(
                REFUSED,
                format!(
                    "the placement of {t} already names {to}: the move flipped before it was interrupted, and {to} holds the tenant's state; nothing was removed. Finish the move with `runnerctl move {t} --to {to}` (then move it back if you want it on {from})"
                ),
            )
            .into());
        }
        Some(p) if p == parked => {}
        other => {
            return Err(CliError::new(
                CONFLICT,
                format!(
                    "the placement of {t} is {} instead of '{parked}': somebody changed it during the move; nothing was removed. Check `runnerctl history {t}`",
                    other.map(|o| format!("'{o}'")).unwrap_or_else(|| "unset".into())
                ),
            )
            .into());
        }
    }
    ctx.step(1, &format!("place {t} back on {from}"));
    let revision = ctx.swap_placement(t, &parked, &from).await?;
    ctx.wait(&format!("{from} to serve {t} again"), || async {
        Ok(ctx.info(&from, t).await?.served.then_some(()))
    })
    .await?;
    ctx.done(&format!("{from} serves {t} again"));
    ctx.step(2, &format!("remove what {to} imported"));
    let target = ctx.info(&to, t).await?;
    if target.has_state() && !target.served {
        let d: TenantDataChange = ctx
            .admin(&to)
            .await?
            .delete(&format!("/admin/tenants/{t}"))
            .await?;
        ctx.done(&format!("deleted {} instances on {to}", d.instances));
    } else {
        ctx.done("nothing to remove");
    }
    ctx.audit("move-abort", &rec, &to, &from, revision).await;
    let _ = ctx
        .handoff
        .delete_expect_revision(move_key(t), Some(rev))
        .await;
    match ctx.format {
        Format::Json => {
            output::json(&serde_json::json!({"tenant": t, "aborted": true, "served_by": from}))
        }
        Format::Table => output::println(&format!("move of {t} aborted: {from} serves it")),
    }
    Ok(())
}
