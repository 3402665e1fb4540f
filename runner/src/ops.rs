//! Drain, resume and replay, as the admin API drives them (DESIGN.md §5 and §6).
//!
//! Drain: the runner goes `draining` at once (`/readyz` fails from then on), the engine stops
//! every reader and holds timers, and a task watches until nothing is left in flight:
//! readers stopped, batches read but not committed, outbox entries not published. The outbox
//! flush is bounded by the request's timeout; past it the runner counts as drained and says
//! how many entries are left (published after resume or at the next start). A drain pauses
//! a running replay (its re-read continues after resume). SIGTERM performs the same drain
//! before exit (`app.rs`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use shared::edge_storage::{StorageError, TableId, Volume, export};
use shared::ids::{ShardId, TenantId};
use shared::placement::{ClaimRecord, ShardRecord, claim_key};
use shared::routes;
use shared::wire::{
    DrainStatus, ErrorCode, ReplayAccepted, ReplayDeletes, ReplayMode, ReplayPlan, ReplayRequest,
    RunnerState, StreamRange, TenantDataChange, TenantInfo,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::engine::{Ctl, EngineMsg};
use crate::state::SharedState;

/// Outbox flush bound of a drain when the request names none.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest flush bound a request may set.
pub const MAX_DRAIN_TIMEOUT: Duration = Duration::from_secs(600);

/// What drain, resume and replay need besides the admin state; set once the engine runs.
pub struct Ops {
    pub engine: mpsc::Sender<EngineMsg>,
    pub vol: Arc<Volume>,
    pub shared: Arc<SharedState>,
    pub shard: String,
    pub handoff: kv::Store,
    pub registry: kv::Store,
    drain_task: tokio::sync::Mutex<Option<CancellationToken>>,
}

/// Why an operation was refused; the admin API maps it to a status code.
#[derive(Debug)]
/// What `POST /admin/replay` answers.
pub enum ReplayAnswer {
    /// A dry run: what the replay would do.
    Plan(ReplayPlan),
    /// Started (202).
    Accepted(ReplayAccepted),
}

static REPLAY_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub enum OpError {
    /// 404
    NotFound(ErrorCode, String),
    /// 409
    Conflict(ErrorCode, String),
    /// 503
    Unavailable(String),
    /// 400
    BadRequest(String),
}

impl Ops {
    pub fn new(
        engine: mpsc::Sender<EngineMsg>,
        vol: Arc<Volume>,
        shared: Arc<SharedState>,
        shard: String,
        handoff: kv::Store,
        registry: kv::Store,
    ) -> Ops {
        Ops {
            engine,
            vol,
            shared,
            shard,
            handoff,
            registry,
            drain_task: tokio::sync::Mutex::new(None),
        }
    }

    async fn ctl<R>(&self, make: impl FnOnce(oneshot::Sender<R>) -> Ctl) -> Result<R, OpError> {
        let (tx, rx) = oneshot::channel();
        self.engine
            .send(EngineMsg::Ctl(make(tx)))
            .await
            .map_err(|_| OpError::Unavailable("the engine is not running".into()))?;
        rx.await
            .map_err(|_| OpError::Unavailable("the engine stopped".into()))
    }

    /// Starts a drain (or returns the one in progress or done: drain is idempotent).
    pub async fn drain(self: &Arc<Self>, timeout: Duration) -> Result<DrainStatus, OpError> {
        let mut task = self.drain_task.lock().await;
        match self.shared.state() {
            RunnerState::Draining | RunnerState::Drained => {
                return Ok(self.drain_status().expect("a drain is recorded"));
            }
            RunnerState::Running => {}
            s => {
                return Err(OpError::Conflict(
                    ErrorCode::NotRunning,
                    format!(
                        "the runner is {}; only a running runner can drain",
                        s.as_str()
                    ),
                ));
            }
        }
        begin_drain(&self.shared, timeout);
        info!(
            timeout_ms = timeout.as_millis() as u64,
            "drain requested: stopping readers, holding timers"
        );
        self.ctl(|reply| Ctl::Pause { reply }).await?;
        let cancel = CancellationToken::new();
        *task = Some(cancel.clone());
        let me = self.clone();
        tokio::spawn(async move { me.watch_drain(timeout, cancel).await });
        Ok(self.drain_status().expect("recorded"))
    }

    async fn watch_drain(&self, timeout: Duration, cancel: CancellationToken) {
        let started = Instant::now();
        loop {
            let status = progress(&self.shared, &self.vol, started, timeout).await;
            if status.state == RunnerState::Drained {
                self.shared.set_state(RunnerState::Drained);
                info!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    outbox_left = status.outbox_left,
                    "drained"
                );
                return;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(25)) => {}
            }
        }
    }

    /// Returns a draining or drained runner to service.
    pub async fn resume(&self) -> Result<RunnerState, OpError> {
        let mut task = self.drain_task.lock().await;
        match self.shared.state() {
            RunnerState::Running => return Ok(RunnerState::Running),
            RunnerState::Draining | RunnerState::Drained => {}
            s => {
                return Err(OpError::Conflict(
                    ErrorCode::NotDrained,
                    format!(
                        "the runner is {}; only a drained (or draining) runner can resume",
                        s.as_str()
                    ),
                ));
            }
        }
        if let Some(t) = task.take() {
            t.cancel();
        }
        self.ctl(|reply| Ctl::Resume { reply }).await?;
        *self.shared.drain.lock().expect("lock") = None;
        self.shared.set_state(RunnerState::Running);
        info!("resumed: reading again");
        Ok(RunnerState::Running)
    }

    pub fn drain_status(&self) -> Option<DrainStatus> {
        self.shared.drain.lock().expect("lock").clone()
    }

    /// Plans a replay and, unless it is a dry run, has the engine start it: the plan, or
    /// the accepted replay with its status path.
    pub async fn replay(
        &self,
        js: &async_nats::jetstream::Context,
        layout: &shared::layout::Layout,
        sagas: &[String],
        req: &ReplayRequest,
    ) -> Result<ReplayAnswer, OpError> {
        let (tenant, plan) = self.plan(js, layout, sagas, req).await?;
        if req.dry_run {
            return Ok(ReplayAnswer::Plan(plan));
        }
        let id = format!(
            "r-{}-{}",
            shared::now_ms(),
            REPLAY_SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        let order = crate::engine::ReplayOrder {
            id: id.clone(),
            tenant,
            saga: req.saga_name.to_string(),
            mode: req.mode,
            first_seq: plan.stream.first_seq,
            target_seq: plan.stream.last_seq,
        };
        use crate::engine::ReplayRefusal;
        match self.ctl(|reply| Ctl::Replay { order, reply }).await? {
            Ok(_) => Ok(ReplayAnswer::Accepted(ReplayAccepted {
                status_url: routes::replay_status(&id),
                replay_id: id,
                plan,
            })),
            Err(ReplayRefusal::NotServed) => Err(OpError::NotFound(
                ErrorCode::UnknownTenant,
                format!(
                    "tenant {} was released by this shard while the replay was planned",
                    req.tenant_id
                ),
            )),
            Err(ReplayRefusal::Running(other)) => Err(OpError::Conflict(
                ErrorCode::ReplayRunning,
                format!(
                    "replay {other} of {}/{} is running (GET {})",
                    req.tenant_id,
                    req.saga_name,
                    routes::replay_status(&other)
                ),
            )),
            Err(ReplayRefusal::Stopping) => Err(OpError::Conflict(
                ErrorCode::Draining,
                "the runner started draining; nothing was changed".into(),
            )),
        }
    }

    /// Checks a replay request and computes its plan (exact counts from the volume's
    /// statistics, the stream range from NATS). Changes nothing.
    pub async fn plan(
        &self,
        js: &async_nats::jetstream::Context,
        layout: &shared::layout::Layout,
        sagas: &[String],
        req: &ReplayRequest,
    ) -> Result<(TenantId, ReplayPlan), OpError> {
        let state = self.shared.state();
        if state != RunnerState::Running {
            return Err(OpError::Conflict(
                ErrorCode::Draining,
                format!(
                    "the runner is {}: replays start only while it runs (POST {} first)",
                    state.as_str(),
                    routes::RESUME
                ),
            ));
        }
        let tenant = req.tenant_id.clone();
        if !sagas.iter().any(|s| s == req.saga_name.as_str()) {
            return Err(OpError::NotFound(
                ErrorCode::UnknownSaga,
                format!(
                    "saga '{}' is not declared in this runner's saga file (declared: {})",
                    req.saga_name,
                    sagas.join(", ")
                ),
            ));
        }
        let served = self
            .shared
            .engine
            .lock()
            .expect("lock")
            .tenants
            .contains_key(tenant.as_str());
        if !served {
            return Err(OpError::NotFound(
                ErrorCode::UnknownTenant,
                self.not_served(&tenant).await,
            ));
        }
        if let Some(r) = self.shared.replays.lock().expect("lock").iter().find(|r| {
            r.state.is_active()
                && r.tenant_id == req.tenant_id.as_str()
                && r.saga_name == req.saga_name.as_str()
        }) {
            return Err(OpError::Conflict(
                ErrorCode::ReplayRunning,
                format!(
                    "replay {} of {}/{} is {} (GET {}); wait for it to finish",
                    r.replay_id,
                    r.tenant_id,
                    r.saga_name,
                    r.state.as_str(),
                    routes::replay_status(&r.replay_id)
                ),
            ));
        }
        let (t, s, mode) = (
            req.tenant_id.to_string(),
            req.saga_name.to_string(),
            req.mode,
        );
        let vol = self.vol.clone();
        let (deletes, markers) = tokio::task::spawn_blocking(move || {
            vol.read(|r| {
                let n = r.counts(&t, &s)?;
                let all_markers = n.dedupe;
                // Events applied: fired timers leave markers too, but are not in the stream.
                let markers = all_markers - r.timer_markers(&t, &s)?.min(all_markers);
                let mut d = ReplayDeletes {
                    checkpoints: n.checkpoints,
                    ..Default::default()
                };
                if mode != ReplayMode::CheckpointOnly {
                    d.dedupe = all_markers;
                }
                if mode == ReplayMode::FullReset {
                    d.instances = n.instances;
                    d.outbox = n.outbox;
                    d.timers = n.timers;
                }
                Ok::<_, StorageError>((d, markers))
            })
        })
        .await
        .map_err(|e| OpError::Unavailable(e.to_string()))?
        .map_err(|e| OpError::Unavailable(e.to_string()))?;
        let range = stream_range(js, layout, &tenant, req.saga_name.as_str()).await?;
        let mut warnings = Vec::new();
        if mode == ReplayMode::FullReset {
            if markers > range.events {
                warnings.push(format!(
                    "the stream retains {} events of {}, but {markers} were applied: at least {} applied events are gone from the stream, so the state full_reset rebuilds would be partial",
                    range.events,
                    range.subject,
                    markers - range.events
                ));
            } else if range.stream_first_seq > 1 && (markers > 0 || deletes.instances > 0) {
                warnings.push(format!(
                    "the stream starts at sequence {}: events before it are gone, and any of {} among them cannot be re-read; the state full_reset rebuilds may be partial",
                    range.stream_first_seq, range.subject
                ));
            }
        }
        Ok((
            tenant,
            ReplayPlan {
                tenant_id: req.tenant_id.to_string(),
                saga_name: req.saga_name.to_string(),
                mode,
                deletes,
                stream: range,
                warnings,
            },
        ))
    }

    /// Why a tenant is not served here, and by whom it is, when that is known.
    async fn not_served(&self, tenant: &TenantId) -> String {
        if let Some(why) = self
            .shared
            .waiting
            .lock()
            .expect("lock")
            .get(tenant.as_str())
        {
            return format!(
                "tenant {tenant} is placed on this shard but not served yet ({why}); try again once it is"
            );
        }
        let claim = self
            .handoff
            .get(claim_key(tenant.as_str()))
            .await
            .ok()
            .flatten()
            .and_then(|v| serde_json::from_slice::<ClaimRecord>(&v).ok());
        if let Some(c) = claim.filter(|c| c.shard != self.shard) {
            let admin = match ShardId::new(c.shard.clone()) {
                Ok(_) => self
                    .registry
                    .get(&c.shard)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|v| serde_json::from_slice::<ShardRecord>(&v).ok())
                    .map(|r| format!(" (admin {})", r.admin_url))
                    .unwrap_or_else(|| " (not running now)".into()),
                Err(_) => String::new(),
            };
            return format!(
                "tenant {tenant} is served by shard {}{admin}, not by {}; send the replay there (runnerctl replay finds it)",
                c.shard, self.shard
            );
        }
        format!("tenant {tenant} is not served by shard {}", self.shard)
    }
}

/// Records that a drain began (also used by the SIGTERM path).
pub fn begin_drain(shared: &SharedState, timeout: Duration) {
    *shared.drain.lock().expect("lock") = Some(DrainStatus {
        state: RunnerState::Draining,
        started_at_ms: shared::now_ms(),
        completed_at_ms: None,
        timeout_ms: timeout.as_millis() as u64,
        readers_running: shared.readers_running.load(Ordering::Relaxed),
        in_flight_batches: shared.batches_queued.load(Ordering::Relaxed),
        outbox_left: 0,
        blockers: vec!["stopping the readers".into()],
        note: None,
    });
    shared.set_state(RunnerState::Draining);
}

/// Measures what a drain still waits for and records it; `Drained` once nothing is left
/// (or only outbox entries after `timeout`).
pub async fn progress(
    shared: &SharedState,
    vol: &Arc<Volume>,
    started: Instant,
    timeout: Duration,
) -> DrainStatus {
    let readers = shared.readers_running.load(Ordering::Relaxed);
    let batches = shared.batches_queued.load(Ordering::Relaxed);
    let v = vol.clone();
    let outbox = tokio::task::spawn_blocking(move || v.read(|r| r.entries(TableId::Outbox)))
        .await
        .ok()
        .and_then(|r| r.ok())
        .unwrap_or(u64::MAX);
    let paused_replays: Vec<String> = shared
        .replays
        .lock()
        .expect("lock")
        .iter()
        .filter(|r| r.state == shared::wire::ReplayState::Paused)
        .map(|r| r.replay_id.clone())
        .collect();
    let mut blockers = Vec::new();
    if readers > 0 {
        blockers.push(format!("{readers} reader(s) still stopping"));
    }
    if batches > 0 {
        blockers.push(format!("{batches} batch(es) read but not committed yet"));
    }
    if outbox > 0 {
        blockers.push(if outbox == u64::MAX {
            "the outbox cannot be read".to_string()
        } else {
            format!("{outbox} outbox entries not published yet")
        });
    }
    let flushed = outbox == 0 || started.elapsed() >= timeout;
    let drained = readers == 0 && batches == 0 && flushed;
    let mut guard = shared.drain.lock().expect("lock");
    let d = guard.get_or_insert_with(|| DrainStatus {
        state: RunnerState::Draining,
        started_at_ms: shared::now_ms(),
        completed_at_ms: None,
        timeout_ms: timeout.as_millis() as u64,
        readers_running: 0,
        in_flight_batches: 0,
        outbox_left: 0,
        blockers: vec![],
        note: None,
    });
    d.readers_running = readers;
    d.in_flight_batches = batches;
    d.outbox_left = if outbox == u64::MAX { 0 } else { outbox };
    if drained {
        d.state = RunnerState::Drained;
        d.completed_at_ms = Some(shared::now_ms());
        if outbox > 0 {
            let note = format!(
                "the outbox flush stopped after {:.1}s with {} entries left; they are kept in the volume and published after resume or at the next start",
                started.elapsed().as_secs_f64(),
                d.outbox_left
            );
            warn!("{note}");
            d.note = Some(note);
        }
        d.blockers.clear();
    } else {
        d.blockers = blockers;
    }
    if !paused_replays.is_empty() {
        let note = format!(
            "replay {} paused; it continues after resume",
            paused_replays.join(", ")
        );
        if !d.note.as_deref().unwrap_or("").contains(&note) {
            d.note = Some(match d.note.take() {
                Some(n) => format!("{n}; {note}"),
                None => note,
            });
        }
    }
    d.clone()
}

async fn stream_range(
    js: &async_nats::jetstream::Context,
    layout: &shared::layout::Layout,
    tenant: &TenantId,
    saga: &str,
) -> Result<StreamRange, OpError> {
    use futures_util::TryStreamExt;
    let stream = &layout.stream(layout.group_of(tenant.as_str()));
    let subject = layout.event_subject(tenant.as_str(), saga);
    let unavailable = |e: String| {
        OpError::Unavailable(format!(
            "cannot read stream {stream} to plan the replay: {e}; is NATS reachable?"
        ))
    };
    let s = js
        .get_stream_no_info(stream)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let mut info = s
        .info_with_subjects(&subject)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let stream_first_seq = info.info.state.first_sequence;
    let mut events = 0u64;
    while let Some((_, n)) = info
        .try_next()
        .await
        .map_err(|e| unavailable(e.to_string()))?
    {
        events += n as u64;
    }
    let (first_seq, last_seq) = if events == 0 {
        (None, None)
    } else {
        let first = s
            .get_first_raw_message_by_subject(&subject, 1)
            .await
            .map(|m| m.sequence)
            .map_err(|e| unavailable(e.to_string()))?;
        let last = s
            .get_last_raw_message_by_subject(&subject)
            .await
            .map(|m| m.sequence)
            .map_err(|e| unavailable(e.to_string()))?;
        (Some(first), Some(last))
    };
    Ok(StreamRange {
        subject,
        first_seq,
        last_seq,
        events,
        stream_first_seq,
    })
}

impl Ops {
    fn served(&self, tenant: &str) -> bool {
        self.shared
            .engine
            .lock()
            .expect("lock")
            .tenants
            .contains_key(tenant)
    }

    /// What the volume holds for a tenant (counts from `stats`).
    pub async fn tenant_info(&self, tenant: &TenantId) -> Result<TenantInfo, OpError> {
        let served = self.served(tenant.as_str());
        let (vol, t) = (self.vol.clone(), tenant.to_string());
        let counts = tokio::task::spawn_blocking(move || {
            vol.read(|r| {
                let c = r.tenant_counts(&t)?;
                let importing = r
                    .meta_raw(&shared::edge_storage::meta::import_marker(&t))?
                    .is_some();
                Ok::<_, StorageError>((c, r.cursor(&t)?, importing))
            })
        })
        .await
        .map_err(|e| OpError::Unavailable(e.to_string()))?
        .map_err(|e| OpError::Unavailable(e.to_string()))?;
        let (counts, cursor, import_incomplete) = (counts.0, counts.1, counts.2);
        Ok(TenantInfo {
            tenant: tenant.to_string(),
            shard_id: self.shard.clone(),
            served,
            instances: counts.instances,
            dedupe: counts.dedupe,
            checkpoints: counts.checkpoints,
            outbox: counts.outbox,
            timers: counts.timers,
            cursor_mode: cursor.map(|c| c.mode),
            cursor_seq: cursor.map(|c| c.seq),
            export_format_version: export::VERSION,
            import_incomplete,
        })
    }

    fn refuse_served(&self, tenant: &TenantId, what: &str) -> Result<(), OpError> {
        if self.served(tenant.as_str()) {
            return Err(OpError::Conflict(
                ErrorCode::TenantServed,
                format!(
                    "tenant {tenant} is served by this shard ({}): it must be released (placement moved away) before its state can be {what}",
                    self.shard
                ),
            ));
        }
        Ok(())
    }

    /// The tenant's export (format of `inspect export`), from one read transaction. Only
    /// for a tenant this runner does not serve, so nothing changes under it.
    pub async fn export(&self, tenant: &TenantId) -> Result<Vec<u8>, OpError> {
        self.refuse_served(tenant, "exported")?;
        let (vol, t) = (self.vol.clone(), tenant.to_string());
        tokio::task::spawn_blocking(move || {
            vol.read(|r| {
                let mut out = Vec::new();
                export::export(r, &t, None, &mut out)?;
                Ok::<_, StorageError>(out)
            })
        })
        .await
        .map_err(|e| OpError::Unavailable(e.to_string()))?
        .map_err(|e| OpError::Unavailable(e.to_string()))
    }

    /// Imports an export of `tenant` from `file` (the request body, streamed to disk by the
    /// admin API): the whole export is checked first (version, every line, counts,
    /// checksum) without writing anything, then written in transactions of
    /// [`IMPORT_CHUNK`] entries, with `meta.import:<tenant>` set from the first to the last
    /// so that a crash half-way leaves a tenant that is not served until its partial state
    /// is deleted. Memory stays flat whatever the export's size, and the engine's commits
    /// go on between the chunks. Refused while the tenant is served here or when the volume
    /// already holds state for it (delete it first).
    pub async fn import(
        &self,
        tenant: &TenantId,
        file: std::path::PathBuf,
    ) -> Result<TenantDataChange, OpError> {
        self.refuse_served(tenant, "imported")?;
        let info = self.tenant_info(tenant).await?;
        if info.has_state() {
            return Err(OpError::Conflict(
                ErrorCode::TenantHasState,
                format!(
                    "this volume already holds {} entries for tenant {tenant}{}; merging is not supported: delete them first (DELETE /admin/tenants/{tenant})",
                    info.entries(),
                    if info.import_incomplete {
                        " (from an import that did not finish)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let (vol, t) = (self.vol.clone(), tenant.to_string());
        let summary = tokio::task::spawn_blocking(move || import_file(&vol, &t, &file))
            .await
            .map_err(|e| OpError::Unavailable(e.to_string()))?
            .map_err(|e| match e {
                ImportFailed::Storage(e) => OpError::Unavailable(e.to_string()),
                ImportFailed::Import(e) => OpError::BadRequest(format!(
                    "the export was not imported (nothing written): {e}"
                )),
                ImportFailed::Tenant(other) => OpError::BadRequest(format!(
                    "the export is of tenant {other}, not {tenant}; nothing written"
                )),
            })?;
        let c = summary.counts;
        info!(tenant = %tenant, instances = c.instances, dedupe = c.dedupe, sha256 = %summary.sha256, "tenant state imported");
        Ok(TenantDataChange {
            tenant: tenant.to_string(),
            instances: c.instances,
            dedupe: c.dedupe,
            checkpoints: c.checkpoints,
            outbox: c.outbox,
            timers: c.timers,
            sha256: Some(summary.sha256),
        })
    }

    /// Deletes everything the volume holds for a tenant this runner does not serve.
    pub async fn delete_tenant(&self, tenant: &TenantId) -> Result<TenantDataChange, OpError> {
        self.refuse_served(tenant, "deleted")?;
        let (vol, t) = (self.vol.clone(), tenant.to_string());
        let n = tokio::task::spawn_blocking(move || vol.write(|w| w.clear_tenant(&t)))
            .await
            .map_err(|e| OpError::Unavailable(e.to_string()))?
            .map_err(|e| OpError::Unavailable(e.to_string()))?;
        info!(tenant = %tenant, instances = n.instances, dedupe = n.dedupe, "tenant state deleted from this volume");
        Ok(TenantDataChange {
            tenant: tenant.to_string(),
            instances: n.instances,
            dedupe: n.dedupe,
            checkpoints: n.checkpoints,
            outbox: n.outbox,
            timers: n.timers,
            sha256: None,
        })
    }
}

/// Entries written per transaction by an import.
pub const IMPORT_CHUNK: usize = 10_000;

fn open_export(file: &std::path::Path) -> Result<std::io::BufReader<std::fs::File>, ImportFailed> {
    std::fs::File::open(file)
        .map(std::io::BufReader::new)
        .map_err(|e| {
            ImportFailed::Storage(StorageError::Io {
                path: file.to_path_buf(),
                what: "cannot read the uploaded export",
                source: e,
            })
        })
}

/// Checks the export in `file`, then writes it in chunks (see [`Ops::import`]).
fn import_file(
    vol: &Volume,
    tenant: &str,
    file: &std::path::Path,
) -> Result<export::Summary, ImportFailed> {
    let summary = export::verify(open_export(file)?).map_err(ImportFailed::Import)?;
    if summary.header.tenant != tenant {
        return Err(ImportFailed::Tenant(summary.header.tenant));
    }
    let marker = shared::edge_storage::meta::import_marker(tenant);
    let version = summary.header.version;
    let mut reader = export::ImportReader::new(open_export(file)?);
    let mut first = true;
    loop {
        let done = vol.write(|w| {
            if first {
                w.set_meta_str(&marker, &summary.sha256)?;
            }
            for _ in 0..IMPORT_CHUNK {
                match reader.next_entry().map_err(ImportFailed::Import)? {
                    Some(line) => export::write_entry(w, version, tenant, line)?,
                    None => {
                        w.delete_meta(&marker)?;
                        return Ok::<_, ImportFailed>(true);
                    }
                }
            }
            Ok(false)
        })?;
        first = false;
        if done {
            return Ok(summary);
        }
    }
}

enum ImportFailed {
    Storage(StorageError),
    Import(export::ImportError),
    Tenant(String),
}

impl From<StorageError> for ImportFailed {
    fn from(e: StorageError) -> Self {
        ImportFailed::Storage(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::edge_storage::{InstanceRecord, WriteOptions, meta};

    fn volume(dir: &std::path::Path, shard: &str) -> Volume {
        Volume::open_for_write(dir, &WriteOptions::new(shard)).unwrap()
    }

    fn instance(i: u64) -> InstanceRecord {
        InstanceRecord {
            state: "open".into(),
            version: i,
            created_at_ms: i,
            updated_at_ms: i,
            last_seq: i,
            last_event_id: format!("e{i}"),
            data: "{}".into(),
            timers: vec![],
            history: vec![],
        }
    }

    /// An export bigger than one chunk is checked whole, then written in several
    /// transactions to the same state a single-transaction import gives, with no marker
    /// left; a damaged one writes nothing at all.
    #[test]
    fn an_import_is_checked_whole_then_written_in_chunks() {
        let tmp = tempfile::tempdir().unwrap();
        let src = volume(&tmp.path().join("src"), "a");
        let n = IMPORT_CHUNK as u64 * 2 + 17;
        src.write(|w| {
            for i in 0..n {
                w.put_instance("t1", "order", &format!("k{i}"), &instance(i), true)?;
            }
            Ok::<_, StorageError>(())
        })
        .unwrap();
        let file = tmp.path().join("t1.jsonl");
        let mut out = std::fs::File::create(&file).unwrap();
        src.read(|r| export::export(r, "t1", None, &mut out))
            .unwrap();
        drop(out);

        let dst = volume(&tmp.path().join("dst"), "b");
        let s = import_file(&dst, "t1", &file).ok().unwrap();
        assert_eq!(s.counts.instances, n);
        let one = volume(&tmp.path().join("one"), "c");
        one.write(|w| {
            export::import(
                w,
                std::io::BufReader::new(std::fs::File::open(&file).unwrap()),
            )
        })
        .unwrap();
        let all = |v: &Volume| {
            let mut o = Vec::new();
            v.read(|r| {
                r.scan(TableId::Sagas, &[], None, |k, val| {
                    o.push((k.to_vec(), val.to_vec()));
                    Ok(true)
                })
            })
            .unwrap();
            o
        };
        assert_eq!(all(&dst), all(&one));
        assert!(
            dst.read(|r| r.meta_raw(&meta::import_marker("t1")))
                .unwrap()
                .is_none()
        );
        // One byte changed near the end: the checksum fails, and nothing is written.
        let mut text = std::fs::read(&file).unwrap();
        let at = text.len() - 200;
        text[at] = if text[at] == b'1' { b'2' } else { b'1' };
        std::fs::write(&file, &text).unwrap();
        let empty = volume(&tmp.path().join("empty"), "d");
        assert!(matches!(
            import_file(&empty, "t1", &file),
            Err(ImportFailed::Import(_))
        ));
        assert_eq!(
            empty.read(|r| r.entries(TableId::Sagas)).unwrap(),
            0,
            "a damaged export wrote entries"
        );
    }
}
