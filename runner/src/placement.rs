//! The placement manager: follows the placement bucket (key = tenant, value = shard) and
//! makes this runner serve exactly the tenants placed on its shard (and in its allowlist,
//! when one is set), without restart.
//!
//! Hand-over (DESIGN.md §4), through claims in the hand-over bucket:
//! * a runner serves a tenant only while the tenant's claim names it, active;
//! * to stop serving (placement moved, key deleted, shutdown), the engine first commits the
//!   tenant's last batch and stops reading it, then the claim is marked released with the
//!   position up to which its events were applied;
//! * a new owner takes a released claim (compare-and-swap) and starts right after that
//!   position; it takes an active claim only when the holder's lease has expired (a crash),
//!   then from the last position the holder reported; otherwise it waits;
//! * a tenant without a claim was never placed: it starts where this volume left it, or at
//!   the first retained event;
//! * a claim records the volume that holds the tenant's state and the stream its position
//!   is a sequence of. A shard that finds its own claim made with another volume (its disk
//!   was lost and it came back with an empty one) does not serve the tenant: its state is
//!   gone, and serving would either re-apply events (commands again) or go on with empty
//!   state silently. It waits, saying so, until the volume is restored or an operator
//!   accepts the loss (`runnerctl release <tenant> --accept-state-loss`);
//! * a shard that takes a tenant over from a dead one leaves `ended.<dead>.<tenant>` with
//!   the position it started after, so the dead shard, when it comes back, publishes the
//!   commands only it holds and drops those its successor made again.
//!
//! Reading the bucket again (after a reconnect) never forgets what is known: a failed read
//! keeps the map and the tenants served, and is retried. A release whose claim could not be
//! written is retried until it is, so the next owner never waits for ever.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation};
use bytes::Bytes;
use futures_util::StreamExt;
use shared::edge_storage::{CursorMode, Volume, meta};
use shared::ids::TenantId;
use shared::placement::{
    ClaimRecord, ClaimState, EndedRecord, NoticeKind, PlacementValue, PositionsRecord, claim_key,
    ended_key, parse_placement_value, positions_key,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::engine::{Ctl, EngineMsg, Resume, Started};
use crate::lease::notice;
use crate::state::SharedState;

pub struct Placement {
    pub cfg: PlacementConfig,
    pub js: async_nats::jetstream::Context,
    pub placement: kv::Store,
    pub handoff: kv::Store,
    pub registry: kv::Store,
    pub engine: mpsc::Sender<EngineMsg>,
    pub client: async_nats::Client,
    pub shared: Arc<SharedState>,
    pub vol: Arc<Volume>,
    pub reconnects: watch::Receiver<u64>,
    /// Tenants whose outbox entries from before this start the relay holds back until it is
    /// known which of them a successor made again (see [`Placement::resolve_held`]).
    pub held: crate::outbox::Held,
    /// tenant -> shard placed on (valid values only).
    map: BTreeMap<String, String>,
    last_revision: u64,
    owned: BTreeSet<TenantId>,
    waiting: BTreeMap<TenantId, String>,
    /// Releases done in the engine whose claim could not be written yet.
    unrecorded: BTreeMap<TenantId, crate::engine::Released>,
    /// `ended` records this shard owes shards it took tenants over from, not written yet.
    unwritten_ended: Vec<EndedRecord>,
    /// The bucket must be read again (a reconnect's read failed).
    reload: bool,
}

/// Who this runner is, for the placement manager.
pub struct PlacementConfig {
    pub shard: String,
    /// `meta.volume_id` of this runner's volume.
    pub volume_id: String,
    /// The event streams and their identities: a tenant's positions are in the stream of
    /// its group.
    pub streams: Arc<crate::stream::Streams>,
    /// When set, only these tenants are served even if placed here.
    pub allow: Option<BTreeSet<String>>,
    /// The volume was restored from a snapshot: when the snapshot was taken and when it was
    /// restored (ms). This shard's claims changed between the two were made by the lost
    /// volume, after what the snapshot holds.
    pub restored: Option<(u64, u64)>,
    /// The command and dead-letter streams (`RUNNER_COMMANDS_STREAM`, `RUNNER_DLQ_STREAM`).
    pub commands_stream: String,
    pub dlq_stream: String,
}

/// What the placement manager works with: NATS, the protocol's buckets, the engine, the
/// volume, and the runner's shared state.
pub struct PlacementLinks {
    pub js: async_nats::jetstream::Context,
    pub client: async_nats::Client,
    /// The placement bucket (tenant -> shard).
    pub placement: kv::Store,
    /// The hand-over bucket (claims, positions, ended records, moves).
    pub handoff: kv::Store,
    /// The shard registry (leases).
    pub registry: kv::Store,
    pub engine: mpsc::Sender<EngineMsg>,
    pub shared: Arc<SharedState>,
    pub vol: Arc<Volume>,
    /// Bumped on each NATS (re)connect.
    pub reconnects: watch::Receiver<u64>,
    pub held: crate::outbox::Held,
}

/// What a claim attempt decided.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Claim {
    Acquire {
        resume: Resume,
        took_over_from: Option<String>,
    },
    Wait(String),
    Retry(String),
}

fn claim_bytes(c: &ClaimRecord) -> Bytes {
    Bytes::from(serde_json::to_vec(c).expect("serialisable"))
}

/// What the holder of an active claim of another shard looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HolderState {
    /// Its lease is live (its registry key exists).
    pub alive: bool,
    /// The last position it reported for the tenant, in this stream.
    pub reported: Option<u64>,
}

/// The next step for one tenant's claim, decided from the claim alone (and, for another
/// shard's active claim, the holder's state): pure, so every rule has a unit test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Write `claim` (create it when `rev` is `None`, else compare-and-swap on `rev`), then
    /// serve the tenant after `after` (`None`: from where this volume left it).
    Take {
        claim: ClaimRecord,
        rev: Option<u64>,
        after: Option<u64>,
        /// Taken from a dead shard: the record it finds when it comes back.
        ended: Option<Box<EndedRecord>>,
    },
    /// This shard's own claim for this volume: serve after `after`.
    Keep { after: Option<u64> },
    /// Another live shard holds it: wait for its release.
    Wait { holder: String },
    /// Another shard's active claim: tell whether it is alive first.
    AskHolder { holder: String },
    /// This shard's own claim, made with another volume that held the tenant's state up to
    /// `position`: that state is gone.
    StateLost { position: u64, volume: String },
}

/// The facts a claim decision rests on.
pub(crate) struct Facts<'a> {
    pub me: &'a PlacementConfig,
    pub tenant: &'a str,
    /// The claim (a put) and its revision; `rev` alone when the key was deleted.
    pub claim: Option<&'a ClaimRecord>,
    pub rev: Option<u64>,
    /// This volume has a cursor for the tenant (it served it before).
    pub local_state: bool,
    pub holder: Option<HolderState>,
    pub now_ms: u64,
}

pub(crate) fn decide(f: &Facts<'_>) -> Step {
    let me = f.me;
    let mine = |state, position| ClaimRecord {
        shard: me.shard.clone(),
        state,
        position,
        updated_at_ms: f.now_ms,
        volume_id: Some(me.volume_id.clone()),
        stream_id: Some(me.streams.id_of_tenant(f.tenant).to_string()),
        timers_through_ms: 0,
        restored_from: None,
    };
    let Some(c) = f.claim else {
        // Never placed (or the claim was deleted): from where this volume left it.
        return Step::Take {
            claim: mine(ClaimState::Active, 0),
            rev: f.rev,
            after: None,
            ended: None,
        };
    };
    // A position in another stream (it was recreated and adopted) means nothing here.
    let same_stream = c
        .stream_id
        .as_deref()
        .is_none_or(|s| s == me.streams.id_of_tenant(f.tenant));
    let position = if same_stream { c.position } else { 0 };
    if c.shard == me.shard {
        let other_volume = c.volume_id.as_deref().is_some_and(|v| v != me.volume_id);
        if other_volume && !f.local_state {
            return Step::StateLost {
                position,
                volume: c.volume_id.clone().unwrap_or_default(),
            };
        }
        if c.state == ClaimState::Active {
            // Ours: after where it was taken (a crash between the claim and the commit of
            // the acquire must not start it over from this volume's empty cursor).
            let after = same_stream.then_some(c.position);
            if c.volume_id.as_deref() == Some(me.volume_id.as_str()) && same_stream {
                // Taken by the lost volume after the snapshot this one was restored from:
                // what it applied since is not here, so from where the snapshot left it
                // (from the start if it is not in it), never after the claim's position.
                let after_snapshot = me
                    .restored
                    .is_some_and(|(taken, restored)| (taken..restored).contains(&c.updated_at_ms));
                return Step::Keep {
                    after: if after_snapshot { None } else { after },
                };
            }
            return Step::Take {
                claim: mine(ClaimState::Active, position),
                rev: f.rev,
                after,
                ended: None,
            };
        }
    }
    match c.state {
        ClaimState::Released => Step::Take {
            claim: ClaimRecord {
                timers_through_ms: c.timers_through_ms,
                ..mine(ClaimState::Active, position)
            },
            rev: f.rev,
            after: same_stream.then_some(position),
            ended: None,
        },
        ClaimState::Active => match f.holder {
            None => Step::AskHolder {
                holder: c.shard.clone(),
            },
            Some(h) if h.alive => Step::Wait {
                holder: c.shard.clone(),
            },
            Some(h) => {
                let at = h.reported.unwrap_or(0).max(position);
                Step::Take {
                    claim: mine(ClaimState::Active, at),
                    rev: f.rev,
                    after: Some(at),
                    ended: Some(Box::new(EndedRecord {
                        tenant: f.tenant.to_string(),
                        shard: c.shard.clone(),
                        by: me.shard.clone(),
                        position: at,
                        taken_over: true,
                        stream_id: Some(me.streams.id_of_tenant(f.tenant).to_string()),
                        at_ms: f.now_ms,
                    })),
                }
            }
        },
    }
}

impl Placement {
    pub fn new(cfg: PlacementConfig, links: PlacementLinks) -> Placement {
        let PlacementLinks {
            js,
            client,
            placement,
            handoff,
            registry,
            engine,
            shared,
            vol,
            reconnects,
            held,
        } = links;
        Placement {
            cfg,
            js,
            placement,
            handoff,
            registry,
            engine,
            client,
            shared,
            vol,
            reconnects,
            held,
            map: BTreeMap::new(),
            last_revision: 0,
            owned: BTreeSet::new(),
            waiting: BTreeMap::new(),
            unrecorded: BTreeMap::new(),
            unwritten_ended: Vec::new(),
            reload: false,
        }
    }

    fn desired(&self, tenant: &str) -> bool {
        self.map.get(tenant).is_some_and(|s| s == &self.cfg.shard)
            && self.cfg.allow.as_ref().is_none_or(|a| a.contains(tenant))
    }

    /// Records one entry of the placement bucket in `map`; returns the tenant it concerns.
    fn apply_entry(
        map: &mut BTreeMap<String, String>,
        last_revision: &mut u64,
        e: &kv::Entry,
    ) -> Option<String> {
        *last_revision = (*last_revision).max(e.revision);
        let tenant = e.key.clone();
        if TenantId::new(tenant.clone()).is_err() {
            warn!(key = %tenant, "placement key is not a valid tenant id; ignored");
            return None;
        }
        match e.operation {
            Operation::Delete | Operation::Purge => {
                map.remove(&tenant);
            }
            Operation::Put => match parse_placement_value(&e.value) {
                PlacementValue::Shard(s) => {
                    map.insert(tenant.clone(), s.to_string());
                }
                PlacementValue::Moving { from, to } => {
                    info!(tenant = %tenant, from = %from, to = %to, revision = e.revision, "tenant is being moved between shards: no shard serves it until the move flips its placement");
                    map.remove(&tenant);
                }
                PlacementValue::Invalid(why) => {
                    warn!(tenant = %tenant, revision = e.revision, "placement value is not a valid shard id ({why}); the tenant is served by no shard until it is fixed");
                    map.remove(&tenant);
                }
            },
        }
        Some(tenant)
    }

    /// Reads the bucket's current state (every key's latest value). On success returns the
    /// map and the revision it is current to; on failure nothing changes.
    async fn load(&self) -> Result<(BTreeMap<String, String>, u64), String> {
        let mut map = BTreeMap::new();
        let mut rev = self.last_revision;
        // An empty bucket's history watch yields nothing, so emptiness is asked first, and
        // afresh: `kv::Store::status()` answers the stream info cached when the store was
        // opened (async-nats 0.51), which made every re-read of a bucket that was empty at
        // start say "no placements" and release every tenant.
        let mut stream = self
            .js
            .get_stream(&self.placement.stream_name)
            .await
            .map_err(|e| e.to_string())?;
        let messages = stream
            .info()
            .await
            .map_err(|e| e.to_string())?
            .state
            .messages;
        if messages == 0 {
            return Ok((map, rev));
        }
        let mut w = self
            .placement
            .watch_with_history(">")
            .await
            .map_err(|e| e.to_string())?;
        let read = async {
            while let Some(e) = w.next().await {
                let e = e.map_err(|e| e.to_string())?;
                Self::apply_entry(&mut map, &mut rev, &e);
                if e.delta == 0 {
                    break;
                }
            }
            Ok::<_, String>(())
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .map_err(|_| "reading the placement bucket took over 30 s".to_string())??;
        Ok((map, rev))
    }

    /// Reads the bucket again and converges on it; on failure keeps everything as it is
    /// (tenants served stay served) and says so, to be retried.
    async fn reload(&mut self) {
        match self.load().await {
            Ok((map, rev)) => {
                self.reload = false;
                self.shared.set_nats_problem(None);
                let mut all: Vec<String> = map.keys().cloned().collect();
                all.extend(self.map.keys().cloned());
                all.extend(self.owned.iter().map(|t| t.to_string()));
                self.map = map;
                self.last_revision = rev;
                self.reconcile(all).await;
            }
            Err(e) => {
                if !self.reload {
                    warn!(error = %e, serving = self.owned.len(), "cannot re-read the placement bucket; keeping the tenants served as they are and retrying");
                }
                self.reload = true;
                self.shared.set_nats_problem(Some(format!(
                    "cannot re-read the placement bucket ({e}); serving the {} tenants known before, retrying",
                    self.owned.len()
                )));
            }
        }
    }

    /// Serves the tenants placed here until `stop`, then releases them all.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut backoff =
            shared::backoff::Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            match self.load().await {
                Ok((map, rev)) => {
                    self.map = map;
                    self.last_revision = rev;
                    break;
                }
                Err(e) => {
                    warn!(error = %e, "cannot read the placement bucket; retrying");
                    self.shared
                        .set_nats_problem(Some(format!("cannot read the placement bucket: {e}")));
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(backoff.next_wait()) => {}
                    }
                }
            }
        }
        self.shared.set_nats_problem(None);
        self.release_stale_claims().await;
        let all: Vec<String> = self.map.keys().cloned().collect();
        self.reconcile(all).await;
        let _ = self.engine.send(EngineMsg::Ctl(Ctl::StartMainReader)).await;
        self.shared
            .placement_ready
            .store(true, std::sync::atomic::Ordering::Release);
        info!(
            placed_here = self.owned.len() + self.waiting.len(),
            serving = self.owned.len(),
            waiting = self.waiting.len(),
            "placement loaded"
        );
        self.resolve_held().await;

        let mut claims = self.handoff.watch("claim.>").await.ok();
        let mut poll = tokio::time::interval(Duration::from_millis(500));
        'watch: loop {
            let mut w = match self
                .placement
                .watch_all_from_revision(self.last_revision + 1)
                .await
            {
                Ok(w) => w.ready_chunks(256),
                Err(e) => {
                    warn!(error = %e, "cannot watch the placement bucket; retrying");
                    tokio::select! {
                        _ = stop.cancelled() => break 'watch,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue 'watch,
                    }
                }
            };
            self.reconnects.borrow_and_update();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break 'watch,
                    r = self.reconnects.changed() => {
                        if r.is_err() { break 'watch; }
                        // Reconnected: converge on the bucket's current state (whatever was
                        // missed), then resume watching after it.
                        info!("reconnected to NATS: re-reading the placement bucket");
                        self.reload().await;
                        claims = self.handoff.watch("claim.>").await.ok();
                        continue 'watch;
                    }
                    batch = w.next() => {
                        let Some(batch) = batch else { continue 'watch };
                        let mut touched = Vec::new();
                        for e in batch {
                            match e {
                                Ok(e) => touched.extend(Self::apply_entry(&mut self.map, &mut self.last_revision, &e)),
                                Err(err) => {
                                    warn!(error = %err, "placement watch failed; resuming");
                                    continue 'watch;
                                }
                            }
                        }
                        self.reconcile(touched).await;
                    }
                    c = async { match claims.as_mut() { Some(c) => c.next().await, None => std::future::pending().await } } => {
                        match c {
                            Some(Ok(e)) => {
                                let t = e.key.trim_start_matches("claim.").to_string();
                                if self.waiting.keys().any(|w| w.as_str() == t) {
                                    self.reconcile(vec![t]).await;
                                }
                            }
                            _ => claims = self.handoff.watch("claim.>").await.ok(),
                        }
                    }
                    _ = poll.tick() => {
                        if self.reload {
                            self.reload().await;
                        }
                        self.record_releases().await;
                        self.write_ended().await;
                        if !self.held.is_empty() {
                            self.resolve_held().await;
                        }
                        if !self.waiting.is_empty() {
                            let w: Vec<String> = self.waiting.keys().map(|t| t.to_string()).collect();
                            self.reconcile(w).await;
                        }
                    }
                }
            }
        }
        // Shutting down: hand every tenant over with its final position.
        let all: Vec<TenantId> = self.owned.iter().cloned().collect();
        if !all.is_empty() {
            info!(
                tenants = all.len(),
                "releasing every tenant before stopping"
            );
            self.release(all).await;
        }
        // A release that cannot be recorded now is recorded by the next start
        // (`release_stale_claims`), or its tenant is taken over when the lease expires.
        for _ in 0..3 {
            if self.unrecorded.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            self.record_releases().await;
        }
    }

    /// Claims this shard still holds for tenants it will not serve (it stopped without
    /// releasing them): released at the position this volume has for them.
    async fn release_stale_claims(&mut self) {
        let Ok(mut keys) = self.handoff.keys().await else {
            return;
        };
        let mut stale = Vec::new();
        while let Some(Ok(k)) = keys.next().await {
            let Some(t) = k.strip_prefix("claim.") else {
                continue;
            };
            if self.desired(t) {
                continue;
            }
            if let Ok(Some(e)) = self.handoff.entry(k.clone()).await
                && e.operation == Operation::Put
                && let Ok(c) = serde_json::from_slice::<ClaimRecord>(&e.value)
                && c.shard == self.cfg.shard
                && c.state == ClaimState::Active
                && c.volume_id
                    .as_deref()
                    .is_none_or(|v| v == self.cfg.volume_id)
            {
                stale.push((t.to_string(), e.revision));
            }
        }
        for (t, rev) in stale {
            let read = self
                .vol
                .read(|r| {
                    Ok::<_, shared::edge_storage::StorageError>((
                        r.cursor(&t)?,
                        r.meta_u64(&meta::replay_floor(&t))?,
                        r.meta_u64(&meta::fired_through(&t))?,
                    ))
                })
                .ok();
            let Some((Some(c), floor, fired)) = read else {
                continue;
            };
            if c.mode == CursorMode::Live {
                continue;
            }
            // Its position is never below a replay's floor, and its timers fired here up
            // to `fired` (none fire once it is released).
            let position = c.seq.max(floor.unwrap_or(0));
            let rec = self.my_claim(&t, ClaimState::Released, position, fired.unwrap_or(0));
            match self
                .handoff
                .update(claim_key(&t), claim_bytes(&rec), rev)
                .await
            {
                Ok(_) => {
                    info!(tenant = %t, position, "released a claim left from before (the tenant is no longer placed here)")
                }
                Err(e) => warn!(tenant = %t, error = %e, "cannot release a claim left from before"),
            }
        }
    }

    fn my_claim(
        &self,
        tenant: &str,
        state: ClaimState,
        position: u64,
        timers_through_ms: u64,
    ) -> ClaimRecord {
        ClaimRecord {
            shard: self.cfg.shard.clone(),
            state,
            position,
            updated_at_ms: shared::now_ms(),
            volume_id: Some(self.cfg.volume_id.clone()),
            stream_id: Some(self.cfg.streams.id_of_tenant(tenant).to_string()),
            timers_through_ms,
            restored_from: None,
        }
    }

    /// Brings the given tenants in line with the placement: acquires, releases, waits.
    async fn reconcile(&mut self, tenants: Vec<String>) {
        let mut acquire = Vec::new();
        let mut release = Vec::new();
        let mut seen = BTreeSet::new();
        for t in tenants {
            if !seen.insert(t.clone()) {
                continue;
            }
            let Ok(tid) = TenantId::new(t.clone()) else {
                continue;
            };
            let owned = self.owned.contains(&tid);
            if self.desired(&t) {
                if !owned {
                    // Placed back before its release was recorded: the claim is still ours,
                    // and must stay so.
                    self.unrecorded.remove(&tid);
                    acquire.push(tid);
                }
            } else {
                self.waiting.remove(&tid);
                if owned {
                    release.push(tid);
                }
            }
        }
        if !release.is_empty() {
            self.release(release).await;
        }
        if !acquire.is_empty() {
            self.acquire(acquire).await;
        }
        *self.shared.waiting.lock().expect("lock") = self
            .waiting
            .iter()
            .map(|(t, why)| (t.to_string(), why.clone()))
            .collect();
    }

    async fn decide_claim(&self, t: &TenantId) -> Claim {
        let key = claim_key(t.as_str());
        let entry = match self.handoff.entry(key.clone()).await {
            Ok(e) => e,
            Err(e) => return Claim::Retry(format!("cannot read the claim: {e}")),
        };
        let claim = entry
            .as_ref()
            .filter(|e| e.operation == Operation::Put)
            .and_then(|e| serde_json::from_slice::<ClaimRecord>(&e.value).ok());
        let local_state = match self.vol.read(|r| r.cursor(t.as_str())) {
            Ok(c) => c.is_some(),
            Err(e) => return Claim::Retry(format!("cannot read the volume: {e}")),
        };
        let mut facts = Facts {
            me: &self.cfg,
            tenant: t.as_str(),
            claim: claim.as_ref(),
            rev: entry.as_ref().map(|e| e.revision),
            local_state,
            holder: None,
            now_ms: shared::now_ms(),
        };
        let mut step = decide(&facts);
        if let Step::AskHolder { holder } = &step {
            facts.holder = match self.holder_state(holder, t.as_str()).await {
                Ok(h) => Some(h),
                Err(e) => return Claim::Retry(e),
            };
            step = decide(&facts);
        }
        match step {
            // Still ours: where this volume left it, unless that is behind the claim.
            Step::Keep { after } => Claim::Acquire {
                resume: after.map_or(Resume::Volume, Resume::Ours),
                took_over_from: None,
            },
            Step::Wait { holder } => {
                Claim::Wait(format!("waiting for shard {holder} to release it"))
            }
            Step::AskHolder { .. } => Claim::Retry("the holder's state is unknown".into()),
            Step::StateLost { position, volume } => Claim::Wait(
                self.state_lost(
                    t,
                    claim.as_ref(),
                    entry.as_ref().map(|e| e.revision),
                    position,
                    &volume,
                )
                .await,
            ),
            Step::Take {
                claim: rec,
                rev,
                after,
                ended,
            } => {
                // Released by `runnerctl move --from-snapshot` with a snapshot's state: what was
                // published for it since the snapshot is recorded before it is taken.
                if let Some(from) = claim
                    .as_ref()
                    .filter(|c| c.state == ClaimState::Released)
                    .and_then(|c| c.restored_from.as_ref())
                    && let Err(e) = crate::restore::guard_tenant(
                        &self.js,
                        &self.vol,
                        &self.cfg.streams.layout,
                        t.as_str(),
                        from,
                        (&self.cfg.commands_stream, &self.cfg.dlq_stream),
                    )
                    .await
                {
                    return Claim::Retry(format!(
                        "cannot read what was published for it since the snapshot its state was restored from: {e}"
                    ));
                }
                let r = match rev {
                    Some(rev) => self
                        .handoff
                        .update(&key, claim_bytes(&rec), rev)
                        .await
                        .map(drop)
                        .map_err(|e| format!("claim changed while taking it: {e}")),
                    None => match self.handoff.create(&key, claim_bytes(&rec)).await {
                        Ok(_) => Ok(()),
                        Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
                            Err("claimed by another shard at the same moment".into())
                        }
                        Err(e) => Err(e.to_string()),
                    },
                };
                match r {
                    Ok(()) => Claim::Acquire {
                        resume: after.map_or(Resume::Volume, Resume::After),
                        took_over_from: ended.map(|e| {
                            let from = e.shard.clone();
                            self.pending_ended(*e);
                            from
                        }),
                    },
                    Err(e) => Claim::Retry(e),
                }
            }
        }
    }

    /// Whether the shard holding an active claim is alive, and the last position it
    /// reported for `tenant` (in this stream).
    async fn holder_state(&self, holder: &str, tenant: &str) -> Result<HolderState, String> {
        match self.registry.get(holder).await {
            Ok(Some(_)) => Ok(HolderState {
                alive: true,
                reported: None,
            }),
            Ok(None) => {
                let report = self
                    .handoff
                    .get(positions_key(holder))
                    .await
                    .ok()
                    .flatten()
                    .and_then(|v| serde_json::from_slice::<PositionsRecord>(&v).ok())
                    .filter(|p| {
                        p.stream_id
                            .as_deref()
                            .is_none_or(|s| s == self.cfg.streams.fleet_id())
                    });
                Ok(HolderState {
                    alive: false,
                    reported: report.and_then(|p| p.tenants.get(tenant).copied()),
                })
            }
            Err(e) => Err(format!("cannot read the registry: {e}")),
        }
    }

    /// The tenant's state was on a volume this shard no longer has. Records the last
    /// position known for it in the claim (the report of the old volume may be overwritten
    /// soon) and says what to do.
    async fn state_lost(
        &self,
        t: &TenantId,
        claim: Option<&ClaimRecord>,
        rev: Option<u64>,
        position: u64,
        volume: &str,
    ) -> String {
        let reported = self
            .handoff
            .get(positions_key(&self.cfg.shard))
            .await
            .ok()
            .flatten()
            .and_then(|v| serde_json::from_slice::<PositionsRecord>(&v).ok())
            .filter(|p| p.volume_id.as_deref() == Some(volume))
            .and_then(|p| p.tenants.get(t.as_str()).copied());
        let mut position = position;
        if let (Some(c), Some(rev), Some(r)) = (claim, rev, reported)
            && r > c.position
        {
            let rec = ClaimRecord {
                position: r,
                updated_at_ms: shared::now_ms(),
                ..c.clone()
            };
            if self
                .handoff
                .update(claim_key(t.as_str()), claim_bytes(&rec), rev)
                .await
                .is_ok()
            {
                position = r;
            }
        }
        let why = format!(
            "state lost: this shard served {t} up to stream sequence {position} on volume {volume}, and this volume ({}) holds nothing of it. Not serving it, so that nothing is applied twice or on empty state unnoticed: restore the volume, or accept the loss with `runnerctl release {t} --accept-state-loss` (it then starts after {position} with empty state); see docs/runbooks.md#a-shards-volume-was-lost",
            self.cfg.volume_id
        );
        if self.waiting.get(t).is_none_or(|w| w != &why) {
            tracing::error!(tenant = %t, position, old_volume = %volume, "{why}");
            notice(
                &self.client,
                &self.cfg.shard,
                NoticeKind::TenantWaiting,
                Some(t.as_str()),
                why.clone(),
            );
        }
        why
    }

    fn pending_ended(&self, e: EndedRecord) {
        // Written after the acquire (see `write_ended`); kept in the shared list meanwhile.
        self.shared.ended.lock().expect("lock").push(e);
    }

    /// Writes the `ended` records owed to shards this one took tenants over from.
    async fn write_ended(&mut self) {
        self.unwritten_ended.extend(std::mem::take(
            &mut *self.shared.ended.lock().expect("lock"),
        ));
        let mut left = Vec::new();
        for e in std::mem::take(&mut self.unwritten_ended) {
            let body = Bytes::from(serde_json::to_vec(&e).expect("serialisable"));
            if let Err(err) = self.handoff.put(ended_key(&e.shard, &e.tenant), body).await {
                debug!(tenant = %e.tenant, error = %err, "cannot write the ended record yet; retrying");
                left.push(e);
            }
        }
        self.unwritten_ended = left;
    }

    async fn acquire(&mut self, tenants: Vec<TenantId>) {
        let this = &*self;
        let decided: Vec<(TenantId, Claim)> = futures_util::stream::iter(tenants)
            .map(|t| async move {
                let c = this.decide_claim(&t).await;
                (t, c)
            })
            .buffer_unordered(64)
            .collect()
            .await;
        let mut go = Vec::new();
        let mut took_over = BTreeMap::new();
        for (t, c) in decided {
            match c {
                Claim::Acquire {
                    resume,
                    took_over_from,
                } => {
                    if let Some(from) = took_over_from {
                        took_over.insert(t.clone(), (from, resume.claimed_at().unwrap_or(0)));
                    }
                    self.waiting.remove(&t);
                    go.push((t, resume));
                }
                Claim::Wait(why) => {
                    if self.waiting.get(&t) != Some(&why) {
                        info!(tenant = %t, "tenant placed here waits: {why}");
                        notice(
                            &self.client,
                            &self.cfg.shard,
                            NoticeKind::TenantWaiting,
                            Some(t.as_str()),
                            why.clone(),
                        );
                    }
                    self.waiting.insert(t.clone(), why);
                }
                Claim::Retry(why) => {
                    debug!(tenant = %t, why = %why, "claim not taken yet; retrying");
                    self.waiting.insert(t, why);
                }
            }
        }
        self.write_ended().await;
        if go.is_empty() {
            return;
        }
        // Groups these tenants make worth reading whole are read so before they start, so
        // they begin on the group reader instead of each on a reader of its own.
        let adding: Vec<String> = go.iter().map(|(t, _)| t.to_string()).collect();
        crate::reading::adjust(
            &self.js,
            &self.cfg.streams.layout,
            &self.registry,
            &self.cfg.shard,
            &self.shared,
            &self.engine,
            &adding,
        )
        .await;
        let (tx, rx) = oneshot::channel();
        if self
            .engine
            .send(EngineMsg::Ctl(Ctl::Acquire {
                tenants: go,
                reply: tx,
            }))
            .await
            .is_err()
        {
            return;
        }
        let Ok(results) = rx.await else { return };
        self.shared.heartbeat_now.notify_one();
        for (t, r) in results {
            match r {
                Ok(Started { live, from }) => {
                    self.owned.insert(t.clone());
                    if let Some((from_shard, pos)) = took_over.get(&t) {
                        warn!(tenant = %t, crashed = %from_shard, position = pos, "took the tenant over from a shard whose lease expired, after its last reported position; events it applied after that report are applied again here");
                        notice(
                            &self.client,
                            &self.cfg.shard,
                            NoticeKind::TenantTakenOver,
                            Some(t.as_str()),
                            format!("from {from_shard} after position {pos}"),
                        );
                    }
                    let how = if live { "live" } else { "catching up" };
                    notice(
                        &self.client,
                        &self.cfg.shard,
                        NoticeKind::TenantStarted,
                        Some(t.as_str()),
                        format!("{how} from sequence {from}"),
                    );
                }
                Err(e) => {
                    warn!(tenant = %t, error = %e, "cannot start the tenant; will retry");
                    self.waiting.insert(t, e);
                }
            }
        }
    }

    async fn release(&mut self, tenants: Vec<TenantId>) {
        let (tx, rx) = oneshot::channel();
        if self
            .engine
            .send(EngineMsg::Ctl(Ctl::Release { tenants, reply: tx }))
            .await
            .is_err()
        {
            return;
        }
        let Ok(results) = rx.await else { return };
        for (t, pos) in results {
            self.owned.remove(&t);
            if let Some(p) = pos {
                self.unrecorded.insert(t, p);
            }
        }
        self.record_releases().await;
        self.shared.heartbeat_now.notify_one();
    }

    /// Writes the claims of releases done in the engine; those that fail stay and are
    /// retried (the next owner waits for them; it must not wait for ever).
    async fn record_releases(&mut self) {
        if self.unrecorded.is_empty() {
            return;
        }
        let handoff = &self.handoff;
        let this = &*self;
        let pending: Vec<(TenantId, crate::engine::Released)> = self
            .unrecorded
            .iter()
            .map(|(t, p)| (t.clone(), *p))
            .collect();
        let done: Vec<(TenantId, u64, Result<(), String>)> = futures_util::stream::iter(pending)
            .map(|(t, r)| async move {
                let key = claim_key(t.as_str());
                let position = r.position;
                let rec =
                    this.my_claim(t.as_str(), ClaimState::Released, position, r.timers_through_ms);
                let r = match handoff.entry(key.clone()).await {
                    Ok(Some(e)) if e.operation == Operation::Put => {
                        match serde_json::from_slice::<ClaimRecord>(&e.value) {
                            Ok(c) if c.shard != this.cfg.shard => {
                                warn!(tenant = %t, holder = %c.shard, "the tenant's claim names another shard; not overwriting it");
                                Ok(())
                            }
                            _ => handoff.update(&key, claim_bytes(&rec), e.revision).await.map(drop).map_err(|e| e.to_string()),
                        }
                    }
                    Ok(_) => handoff.create(&key, claim_bytes(&rec)).await.map(drop).map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                (t, position, r)
            })
            .buffer_unordered(64)
            .collect()
            .await;
        for (t, position, r) in done {
            match r {
                Ok(()) => {
                    self.unrecorded.remove(&t);
                    notice(
                        &self.client,
                        &self.cfg.shard,
                        NoticeKind::TenantReleased,
                        Some(t.as_str()),
                        format!("released at position {position}"),
                    );
                }
                Err(e) => {
                    warn!(tenant = %t, position, error = %e, "cannot record the tenant's release yet; retrying (its next owner waits for it)");
                }
            }
        }
        self.shared.set_handoff_problem((!self.unrecorded.is_empty()).then(|| {
            format!(
                "{} released tenant(s) whose release is not recorded in the hand-over bucket yet (NATS?): their next owner waits; retrying",
                self.unrecorded.len()
            )
        }));
    }

    /// Outbox entries this shard wrote before it started, for tenants a successor may have
    /// taken over meanwhile, are held back by the relay until this settles which of them
    /// the successor made again: those caused after the position it started after
    /// (`ended.<this shard>.<tenant>`). Those are dropped; the rest are published (nobody
    /// else has them). Without an `ended` record nobody took the tenant over: all are
    /// published.
    async fn resolve_held(&mut self) {
        for tenant in self.held.tenants() {
            let key = ended_key(&self.cfg.shard, &tenant);
            let ended = match self.handoff.entry(key.clone()).await {
                Ok(e) => e
                    .filter(|e| e.operation == Operation::Put)
                    .and_then(|e| serde_json::from_slice::<EndedRecord>(&e.value).ok()),
                Err(e) => {
                    debug!(tenant = %tenant, error = %e, "cannot read the ended record yet; holding the tenant's old outbox entries");
                    continue;
                }
            };
            let Some(end) = ended.filter(|e| {
                e.stream_id
                    .as_deref()
                    .is_none_or(|s| s == self.cfg.streams.id_of_tenant(&tenant))
            }) else {
                self.held.release(&tenant);
                continue;
            };
            let (tx, rx) = oneshot::channel();
            let order = Ctl::DropSuperseded {
                tenant: tenant.clone(),
                after: end.position,
                before_key: self.held.boundary(),
                reply: tx,
            };
            if self.engine.send(EngineMsg::Ctl(order)).await.is_err() {
                return;
            }
            let Ok(Ok(dropped)) = rx.await else { continue };
            if dropped > 0 {
                warn!(tenant = %tenant, successor = %end.by, position = end.position, dropped, "dropped outbox entries of events the successor applied again after taking the tenant over (it published its own)");
            }
            self.held.release(&tenant);
            let _ = self.handoff.delete(&key).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> PlacementConfig {
        PlacementConfig {
            shard: "a".into(),
            volume_id: "v2".into(),
            streams: Arc::new(crate::stream::Streams {
                layout: shared::layout::Layout::new("S", 0),
                ids: vec!["S@2".into()],
            }),
            allow: None,
            restored: None,
            commands_stream: "C".into(),
            dlq_stream: "D".into(),
        }
    }

    fn claim(shard: &str, state: ClaimState, position: u64, volume: &str) -> ClaimRecord {
        ClaimRecord {
            shard: shard.into(),
            state,
            position,
            updated_at_ms: 1,
            volume_id: Some(volume.into()),
            stream_id: Some("S@2".into()),
            timers_through_ms: 0,
            restored_from: None,
        }
    }

    fn step(c: Option<ClaimRecord>, local: bool, holder: Option<HolderState>) -> Step {
        let cfg = me();
        decide(&Facts {
            me: &cfg,
            tenant: "t",
            claim: c.as_ref(),
            rev: c.as_ref().map(|_| 7),
            local_state: local,
            holder,
            now_ms: 2,
        })
    }

    fn after(s: &Step) -> Option<Option<u64>> {
        match s {
            Step::Take { after, .. } | Step::Keep { after } => Some(*after),
            _ => None,
        }
    }

    #[test]
    fn a_tenant_never_claimed_starts_where_the_volume_left_it() {
        let s = step(None, false, None);
        assert_eq!(after(&s), Some(None));
        let Step::Take { claim, rev, .. } = s else {
            panic!()
        };
        assert_eq!(
            (claim.shard.as_str(), claim.state, rev),
            ("a", ClaimState::Active, None)
        );
        assert_eq!(claim.volume_id.as_deref(), Some("v2"));
    }

    /// Finding 3: a crash after taking the claim and before the acquire committed left the
    /// volume without a cursor; the claim's position must still hold.
    #[test]
    fn an_own_active_claim_keeps_its_position() {
        let s = step(Some(claim("a", ClaimState::Active, 40, "v2")), false, None);
        assert_eq!(s, Step::Keep { after: Some(40) });
    }

    /// A volume restored from a snapshot taken at 10 and restored at 20: a claim this
    /// shard made in between (the lost volume took the tenant after the snapshot) resumes
    /// from what the restored volume holds, never after the claim's position (that would
    /// skip events whose effects the snapshot lacks); claims from before the snapshot or
    /// after the restore keep their position.
    #[test]
    fn a_restored_volume_resumes_claims_made_after_its_snapshot_from_the_volume() {
        let cfg = PlacementConfig {
            restored: Some((10, 20)),
            ..me()
        };
        for (updated, want) in [(5, Some(40)), (10, None), (19, None), (20, Some(40))] {
            let c = ClaimRecord {
                updated_at_ms: updated,
                ..claim("a", ClaimState::Active, 40, "v2")
            };
            let s = decide(&Facts {
                me: &cfg,
                tenant: "t",
                claim: Some(&c),
                rev: Some(7),
                local_state: false,
                holder: None,
                now_ms: 30,
            });
            assert_eq!(s, Step::Keep { after: want }, "claim updated at {updated}");
        }
    }

    /// Finding 3: a restart with a wiped volume neither re-applies (commands again) nor
    /// goes on with empty state unnoticed, whether the old process crashed or released.
    #[test]
    fn an_own_claim_made_with_a_lost_volume_is_state_lost() {
        for state in [ClaimState::Active, ClaimState::Released] {
            let s = step(Some(claim("a", state, 50, "v1")), false, None);
            assert_eq!(
                s,
                Step::StateLost {
                    position: 50,
                    volume: "v1".into()
                }
            );
        }
        // The same claim with this volume's state (a copy of the volume) is this shard's.
        let s = step(Some(claim("a", ClaimState::Active, 50, "v1")), true, None);
        assert_eq!(after(&s), Some(Some(50)));
    }

    #[test]
    fn an_accepted_loss_is_a_plain_release() {
        let mut c = claim("a", ClaimState::Released, 50, "v1");
        c.volume_id = None;
        assert_eq!(after(&step(Some(c), false, None)), Some(Some(50)));
    }

    #[test]
    fn a_release_of_another_shard_is_taken_after_its_position() {
        let s = step(Some(claim("b", ClaimState::Released, 9, "vb")), false, None);
        let Step::Take {
            claim, rev, ended, ..
        } = &s
        else {
            panic!("{s:?}")
        };
        assert_eq!((claim.position, *rev, ended), (9, Some(7), &None));
        assert_eq!(after(&s), Some(Some(9)));
    }

    #[test]
    fn another_active_claim_waits_for_a_live_holder_and_takes_a_dead_ones_over() {
        let c = claim("b", ClaimState::Active, 10, "vb");
        assert_eq!(
            step(Some(c.clone()), false, None),
            Step::AskHolder { holder: "b".into() }
        );
        let alive = HolderState {
            alive: true,
            reported: Some(30),
        };
        assert_eq!(
            step(Some(c.clone()), false, Some(alive)),
            Step::Wait { holder: "b".into() }
        );
        let dead = HolderState {
            alive: false,
            reported: Some(30),
        };
        let s = step(Some(c), false, Some(dead));
        assert_eq!(after(&s), Some(Some(30)));
        let Step::Take { ended: Some(e), .. } = s else {
            panic!()
        };
        assert_eq!(
            (e.shard.as_str(), e.by.as_str(), e.position),
            ("b", "a", 30)
        );
    }

    #[test]
    fn a_position_in_another_stream_means_nothing() {
        let mut c = claim("b", ClaimState::Released, 900, "vb");
        c.stream_id = Some("S@1".into());
        assert_eq!(after(&step(Some(c), false, None)), Some(None));
    }
}
