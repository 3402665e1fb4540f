//! What every phase of a move uses: the buckets, the shards' admin APIs, the move record,
//! waiting with a deadline, the audit trail, and the progress report.

use std::time::{Duration, Instant};

use async_nats::jetstream::kv::{self, Operation};
use bytes::Bytes;
use shared::ids::TenantId;
use shared::placement::{AuditEntry, MovePhase, MoveRecord, ShardRecord, move_key};
use shared::wire::TenantInfo;

use crate::cli::NatsArgs;
use crate::client::Admin;
use crate::exit::CliError;
use crate::nats::{Nats, connect, registry, who};

/// Where a move says how it is going: `runnerctl move` prints it on stderr, the dashboard
/// puts it in its change log.
pub trait Report: Send + Sync {
    /// Phase `n` begins (of 5 for a move, 4 for a move from a snapshot).
    fn step(&self, n: u8, what: &str);
    /// The phase's result, `elapsed` since the command started.
    fn done(&self, detail: &str, elapsed: Duration);
    /// Anything else worth saying (resuming an interrupted move).
    fn note(&self, line: &str);
}

pub struct Ctx<'a> {
    pub nats: Nats,
    pub placement: kv::Store,
    pub handoff: kv::Store,
    pub token: Option<String>,
    pub started: Instant,
    /// How long to wait for each phase.
    pub timeout: Duration,
    pub report: &'a dyn Report,
}

impl<'a> Ctx<'a> {
    /// Connects to NATS and opens the placement and hand-over buckets.
    pub async fn open(
        nats_args: &NatsArgs,
        token: Option<String>,
        timeout: Duration,
        report: &'a dyn Report,
    ) -> Result<Ctx<'a>, CliError> {
        let nats = connect(nats_args).await?;
        let placement = nats.placement().await?;
        let handoff = nats
            .bucket(
                &nats_args.handoff_bucket,
                "start a runner with a placement bucket first",
            )
            .await?;
        Ok(Ctx {
            nats,
            placement,
            handoff,
            token,
            started: Instant::now(),
            timeout,
            report,
        })
    }

    pub fn step(&self, n: u8, what: &str) {
        self.report.step(n, what);
    }

    pub fn done(&self, detail: &str) {
        self.report.done(detail, self.started.elapsed());
    }

    pub async fn shard(&self, id: &str) -> Result<ShardRecord, CliError> {
        registry(&self.nats)
            .await?
            .into_iter()
            .find(|r| r.shard_id == id)
            .ok_or_else(|| {
                CliError::not_found(format!(
                    "shard '{id}' is not registered: its runner is not running (`runnerctl shards`)"
                ))
            })
    }

    /// The admin API of a registered shard.
    pub async fn admin(&self, id: &str) -> Result<Admin, CliError> {
        Admin::new(&self.shard(id).await?.admin_url, self.token.clone())
    }

    /// What shard `id` holds for `tenant`.
    pub async fn info(&self, id: &str, tenant: &TenantId) -> Result<TenantInfo, CliError> {
        self.admin(id).await?.tenant_info(tenant).await
    }

    /// The tenant's placement value (none: not placed) and its revision.
    pub async fn placement_of(&self, tenant: &str) -> Result<(Option<String>, u64), CliError> {
        let e = self.placement.entry(tenant).await.map_err(|e| {
            CliError::failure(format!("cannot read the placement of {tenant}: {e}"))
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
    pub async fn swap_placement(
        &self,
        tenant: &str,
        from: &str,
        to: &str,
    ) -> Result<u64, CliError> {
        let (current, rev) = self.placement_of(tenant).await?;
        match current.as_deref() {
            Some(c) if c == to => return Ok(rev),
            Some(c) if c == from => {}
            other => {
                return Err(CliError::conflict(format!(
                    "the placement of {tenant} is {} now, not '{from}': somebody changed it during the move; check `runnerctl history {tenant}`, then rerun or --abort",
                    other
                        .map(|o| format!("'{o}'"))
                        .unwrap_or_else(|| "unset".into())
                )));
            }
        }
        self.placement
            .update(tenant, Bytes::from(to.to_string()), rev)
            .await
            .map_err(|e| {
                CliError::conflict(format!(
                    "the placement of {tenant} changed while this command ran ({e}); rerun to continue"
                ))
            })
    }

    /// The move record of `tenant` and its revision, if a move is under way.
    pub async fn record(&self, tenant: &str) -> Result<Option<(MoveRecord, u64)>, CliError> {
        match self.handoff.entry(move_key(tenant)).await {
            Ok(Some(e)) if e.operation == Operation::Put => serde_json::from_slice(&e.value)
                .map(|r| Some((r, e.revision)))
                .map_err(|err| {
                    CliError::failure(format!("move record of {tenant} is unreadable: {err}"))
                }),
            Ok(_) => Ok(None),
            Err(e) => Err(CliError::failure(format!(
                "cannot read the move record: {e}"
            ))),
        }
    }

    /// Writes the move record: created (`rev` none) or over revision `rev`.
    pub async fn save(&self, rec: &MoveRecord, rev: Option<u64>) -> Result<u64, CliError> {
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
            CliError::conflict(format!(
                "the move record of {} changed meanwhile (another runnerctl?): {e}",
                rec.tenant
            ))
        })
    }

    /// Records that the move finished `phase`.
    pub async fn advance(
        &self,
        rec: &mut MoveRecord,
        rev: &mut u64,
        phase: MovePhase,
    ) -> Result<(), CliError> {
        rec.phase = phase;
        rec.updated_at_ms = shared::now_ms();
        *rev = self.save(rec, Some(*rev)).await?;
        Ok(())
    }

    /// Removes the move record (the move is over).
    pub async fn forget(&self, tenant: &str, rev: u64) {
        let _ = self
            .handoff
            .delete_expect_revision(move_key(tenant), Some(rev))
            .await;
    }

    /// Polls `f` until it returns `Some`, or fails with exit 8 after the move's timeout.
    pub async fn wait<T, F, Fut>(&self, what: &str, mut f: F) -> Result<T, CliError>
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
                return Err(CliError::timeout(format!(
                    "timed out after {} waiting for {what}{}; the move is recorded: rerun the same command to continue, or --abort",
                    humantime::format_duration(self.timeout),
                    last_err
                        .map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The audit entry of a placement change the move made (best effort: the change is
    /// made, and the move record says why).
    pub async fn audit(
        &self,
        action: &str,
        rec: &MoveRecord,
        before: &str,
        after: &str,
        revision: u64,
    ) {
        let (user, host) = who();
        self.nats
            .audit_best_effort(&AuditEntry {
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
            })
            .await;
    }
}
