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
//!   the first retained event.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation};
use bytes::Bytes;
use futures_util::StreamExt;
use shared::edge_storage::{CursorMode, Volume};
use shared::ids::TenantId;
use shared::placement::{
    ClaimRecord, ClaimState, NoticeKind, PlacementValue, PositionsRecord, claim_key,
    parse_placement_value, positions_key,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::engine::{Ctl, EngineMsg, Started};
use crate::lease::notice;
use crate::state::SharedState;

pub struct Placement {
    pub shard: String,
    pub placement: kv::Store,
    pub handoff: kv::Store,
    pub registry: kv::Store,
    /// When set, only these tenants are served even if placed here.
    pub allow: Option<BTreeSet<String>>,
    pub engine: mpsc::Sender<EngineMsg>,
    pub client: async_nats::Client,
    pub shared: Arc<SharedState>,
    pub vol: Arc<Volume>,
    pub reconnects: watch::Receiver<u64>,
    /// tenant -> shard placed on (valid values only).
    map: BTreeMap<String, String>,
    last_revision: u64,
    owned: BTreeSet<TenantId>,
    waiting: BTreeMap<TenantId, String>,
}

/// What a claim attempt decided.
enum Claim {
    Acquire {
        after: Option<u64>,
        took_over_from: Option<String>,
    },
    Wait(String),
    Retry(String),
}

fn claim_bytes(c: &ClaimRecord) -> Bytes {
    Bytes::from(serde_json::to_vec(c).expect("serialisable"))
}

impl Placement {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        shard: String,
        placement: kv::Store,
        handoff: kv::Store,
        registry: kv::Store,
        allow: Option<BTreeSet<String>>,
        engine: mpsc::Sender<EngineMsg>,
        client: async_nats::Client,
        shared: Arc<SharedState>,
        vol: Arc<Volume>,
        reconnects: watch::Receiver<u64>,
    ) -> Placement {
        Placement {
            shard,
            placement,
            handoff,
            registry,
            allow,
            engine,
            client,
            shared,
            vol,
            reconnects,
            map: BTreeMap::new(),
            last_revision: 0,
            owned: BTreeSet::new(),
            waiting: BTreeMap::new(),
        }
    }

    fn desired(&self, tenant: &str) -> bool {
        self.map.get(tenant).is_some_and(|s| s == &self.shard)
            && self.allow.as_ref().is_none_or(|a| a.contains(tenant))
    }

    /// Records one entry of the placement bucket; returns the tenant it concerns.
    fn apply_entry(&mut self, e: &kv::Entry) -> Option<String> {
        self.last_revision = self.last_revision.max(e.revision);
        let tenant = e.key.clone();
        if TenantId::new(tenant.clone()).is_err() {
            warn!(key = %tenant, "placement key is not a valid tenant id; ignored");
            return None;
        }
        match e.operation {
            Operation::Delete | Operation::Purge => {
                self.map.remove(&tenant);
            }
            Operation::Put => match parse_placement_value(&e.value) {
                PlacementValue::Shard(s) => {
                    self.map.insert(tenant.clone(), s.to_string());
                }
                PlacementValue::Moving { from, to } => {
                    info!(tenant = %tenant, from = %from, to = %to, revision = e.revision, "tenant is being moved between shards: no shard serves it until the move flips its placement");
                    self.map.remove(&tenant);
                }
                PlacementValue::Invalid(why) => {
                    warn!(tenant = %tenant, revision = e.revision, "placement value is not a valid shard id ({why}); the tenant is served by no shard until it is fixed");
                    self.map.remove(&tenant);
                }
            },
        }
        Some(tenant)
    }

    /// Reads the bucket's current state (every key's latest value).
    async fn load(&mut self) -> Result<(), String> {
        self.map.clear();
        let status = self.placement.status().await.map_err(|e| e.to_string())?;
        if status.values() == 0 {
            return Ok(());
        }
        let mut w = self
            .placement
            .watch_with_history(">")
            .await
            .map_err(|e| e.to_string())?;
        let read = async {
            while let Some(e) = w.next().await {
                let e = e.map_err(|e| e.to_string())?;
                self.apply_entry(&e);
                if e.delta == 0 {
                    break;
                }
            }
            Ok::<_, String>(())
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .map_err(|_| "reading the placement bucket took over 30 s".to_string())?
    }

    /// Serves the tenants placed here until `stop`, then releases them all.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.load().await {
                Ok(()) => break,
                Err(e) => {
                    warn!(error = %e, "cannot read the placement bucket; retrying");
                    self.shared
                        .set_nats_problem(Some(format!("cannot read the placement bucket: {e}")));
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        self.shared.set_nats_problem(None);
        self.release_stale_claims().await;
        let all: Vec<String> = self.map.keys().cloned().collect();
        self.reconcile(all).await;
        let _ = self.engine.send(EngineMsg::Ctl(Ctl::StartMainReader)).await;
        info!(
            placed_here = self.owned.len() + self.waiting.len(),
            serving = self.owned.len(),
            waiting = self.waiting.len(),
            "placement loaded"
        );

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
                        if let Err(e) = self.load().await {
                            warn!(error = %e, "cannot re-read the placement bucket");
                        }
                        let mut all: Vec<String> = self.map.keys().cloned().collect();
                        all.extend(self.owned.iter().map(|t| t.to_string()));
                        self.reconcile(all).await;
                        claims = self.handoff.watch("claim.>").await.ok();
                        continue 'watch;
                    }
                    batch = w.next() => {
                        let Some(batch) = batch else { continue 'watch };
                        let mut touched = Vec::new();
                        for e in batch {
                            match e {
                                Ok(e) => touched.extend(self.apply_entry(&e)),
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
                && c.shard == self.shard
                && c.state == ClaimState::Active
            {
                stale.push((t.to_string(), e.revision));
            }
        }
        for (t, rev) in stale {
            let pos = self
                .vol
                .read(|r| r.cursor(&t))
                .ok()
                .flatten()
                .filter(|c| c.mode != CursorMode::Live)
                .map(|c| c.seq);
            let Some(position) = pos else { continue };
            let rec = ClaimRecord {
                shard: self.shard.clone(),
                state: ClaimState::Released,
                position,
                updated_at_ms: shared::now_ms(),
            };
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
        let me = &self.shard;
        let entry = match self.handoff.entry(key.clone()).await {
            Ok(e) => e,
            Err(e) => return Claim::Retry(format!("cannot read the claim: {e}")),
        };
        let current = entry
            .as_ref()
            .filter(|e| e.operation == Operation::Put)
            .and_then(|e| {
                serde_json::from_slice::<ClaimRecord>(&e.value)
                    .ok()
                    .map(|c| (c, e.revision))
            });
        let now = shared::now_ms();
        let mine = |state, position| ClaimRecord {
            shard: me.clone(),
            state,
            position,
            updated_at_ms: now,
        };
        match current {
            None => {
                let r = match &entry {
                    Some(e) => self
                        .handoff
                        .update(&key, claim_bytes(&mine(ClaimState::Active, 0)), e.revision)
                        .await
                        .map(drop)
                        .map_err(|e| e.to_string()),
                    None => match self
                        .handoff
                        .create(&key, claim_bytes(&mine(ClaimState::Active, 0)))
                        .await
                    {
                        Ok(_) => Ok(()),
                        Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
                            Err("claimed by another shard at the same moment".into())
                        }
                        Err(e) => Err(e.to_string()),
                    },
                };
                match r {
                    Ok(()) => Claim::Acquire {
                        after: None,
                        took_over_from: None,
                    },
                    Err(e) => Claim::Retry(e),
                }
            }
            Some((c, _)) if &c.shard == me && c.state == ClaimState::Active => Claim::Acquire {
                after: None,
                took_over_from: None,
            },
            Some((c, rev)) if c.state == ClaimState::Released => {
                match self
                    .handoff
                    .update(
                        &key,
                        claim_bytes(&mine(ClaimState::Active, c.position)),
                        rev,
                    )
                    .await
                {
                    Ok(_) => Claim::Acquire {
                        after: Some(c.position),
                        took_over_from: None,
                    },
                    Err(e) => Claim::Retry(format!("claim changed while taking it: {e}")),
                }
            }
            Some((c, rev)) => {
                // Active on another shard: wait for its release, unless it is dead.
                match self.registry.get(&c.shard).await {
                    Ok(Some(_)) => Claim::Wait(c.shard),
                    Ok(None) => {
                        let reported = self
                            .handoff
                            .get(positions_key(&c.shard))
                            .await
                            .ok()
                            .flatten()
                            .and_then(|v| serde_json::from_slice::<PositionsRecord>(&v).ok())
                            .and_then(|p| p.tenants.get(t.as_str()).copied());
                        let position = reported.unwrap_or(0).max(c.position);
                        match self
                            .handoff
                            .update(&key, claim_bytes(&mine(ClaimState::Active, position)), rev)
                            .await
                        {
                            Ok(_) => Claim::Acquire {
                                after: Some(position),
                                took_over_from: Some(c.shard),
                            },
                            Err(e) => {
                                Claim::Retry(format!("claim changed while taking it over: {e}"))
                            }
                        }
                    }
                    Err(e) => Claim::Retry(format!("cannot read the registry: {e}")),
                }
            }
        }
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
                    after,
                    took_over_from,
                } => {
                    if let Some(from) = took_over_from {
                        took_over.insert(t.clone(), (from, after.unwrap_or(0)));
                    }
                    self.waiting.remove(&t);
                    go.push((t, after));
                }
                Claim::Wait(holder) => {
                    let why = format!("waiting for shard {holder} to release it");
                    if self.waiting.insert(t.clone(), why).is_none() {
                        info!(tenant = %t, holder = %holder, "tenant placed here waits for {holder} to release it");
                        notice(
                            &self.client,
                            &self.shard,
                            NoticeKind::TenantWaiting,
                            Some(t.as_str()),
                            format!("waiting for {holder} to release it"),
                        );
                    }
                }
                Claim::Retry(why) => {
                    debug!(tenant = %t, why = %why, "claim not taken yet; retrying");
                    self.waiting.insert(t, why);
                }
            }
        }
        if go.is_empty() {
            return;
        }
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
                            &self.shard,
                            NoticeKind::TenantTakenOver,
                            Some(t.as_str()),
                            format!("from {from_shard} after position {pos}"),
                        );
                    }
                    let how = if live { "live" } else { "catching up" };
                    notice(
                        &self.client,
                        &self.shard,
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
        let me = self.shard.clone();
        let handoff = &self.handoff;
        let released: Vec<(TenantId, Option<u64>)> = futures_util::stream::iter(results)
            .map(|(t, pos)| {
                let me = me.clone();
                async move {
                    let Some(position) = pos else { return (t, None) };
                    let key = claim_key(t.as_str());
                    let rec = ClaimRecord { shard: me.clone(), state: ClaimState::Released, position, updated_at_ms: shared::now_ms() };
                    let r = match handoff.entry(key.clone()).await {
                        Ok(Some(e)) if e.operation == Operation::Put => {
                            match serde_json::from_slice::<ClaimRecord>(&e.value) {
                                Ok(c) if c.shard != me => {
                                    warn!(tenant = %t, holder = %c.shard, "the tenant's claim names another shard; not overwriting it");
                                    return (t, Some(position));
                                }
                                _ => handoff.update(&key, claim_bytes(&rec), e.revision).await.map(drop).map_err(|e| e.to_string()),
                            }
                        }
                        Ok(_) => handoff.create(&key, claim_bytes(&rec)).await.map(drop).map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    if let Err(e) = r {
                        warn!(tenant = %t, error = %e, "cannot record the tenant's release; its next owner takes it over when this runner's lease expires");
                    }
                    (t, Some(position))
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        self.shared.heartbeat_now.notify_one();
        for (t, pos) in released {
            self.owned.remove(&t);
            if let Some(p) = pos {
                notice(
                    &self.client,
                    &self.shard,
                    NoticeKind::TenantReleased,
                    Some(t.as_str()),
                    format!("released at position {p}"),
                );
            }
        }
    }
}
