//! The outbox relay: publishes what the engine wrote to the `outbox` table (commands and dead
//! letters) with their stable `Nats-Msg-Id`, and has each entry deleted only after JetStream
//! has acknowledged it. A crash between the two publishes the entry again; JetStream's
//! duplicate window drops the copy.
//!
//! While the engine runs, the deletes ride along in the engine's next transaction (no
//! transaction or fsync of their own, no contention for the volume's single writer); the
//! relay remembers how far it has published so it does not publish those entries again
//! meanwhile. When the engine has stopped (the last flush at shutdown) the relay deletes
//! directly.
//!
//! Order: each tenant's entries are published in the order they were written. Tenants take
//! turns: the relay keeps the keys of the entries not published yet in a queue per tenant
//! (new entries are read once, after the last key read), and a round publishes up to
//! [`ROUND`] of them, one of each tenant in turn, so the commands of a quiet tenant do not
//! wait behind a burst of another's, however deep the outbox. Up to [`IN_FLIGHT`] rounds
//! are out at once: the next is sent while the acks of the earlier ones are on their way,
//! an entry in flight is not picked again, and rounds land (acks counted, deletes handed
//! over) in the order they were sent. After a failed publish the relay lands what is in
//! flight and starts again from the failed entry.
//!
//! Never twice: an entry that may already be in its stream is looked up there before it is
//! published again. That is every entry found at start (the previous process may have
//! published it and died before deleting it) and every entry whose acknowledgement never
//! came (a timeout, a lost connection). The lookup reads the stream's messages stored
//! since the entry was written (headers only, filtered to the entry's tenants) for its
//! `Nats-Msg-Id`; an entry found there is deleted without being published. So a command
//! is not stored twice even when the restart comes after JetStream's duplicate window.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, context::PublishErrorKind, message::PublishMessage};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use shared::edge_storage::{OutboxEntry, OutboxKind, StorageError, TableId, Volume};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::engine::{EngineMsg, Published};
use crate::metrics::{KindLabels, Metrics};
use crate::state::SharedState;

/// Entries published per round: small enough that a quiet tenant's entry, picked in the
/// next round, waits for few acknowledgements.
const ROUND: usize = 250;
/// Rounds published and not yet acknowledged, at most: the next round goes out while the
/// acks of the earlier ones are on their way, so the relay waits for a round trip once per
/// `IN_FLIGHT` rounds rather than once per round (the pipeline's window of 1,000 acks).
const IN_FLIGHT: usize = 4;
/// Acknowledged keys remembered before the relay looks up which are gone from the outbox.
const PRUNE_ABOVE: usize = 50_000;
/// New entries the index hands to the round whole (read once, not again by `fetch`).
const FRESH: usize = ROUND;
/// How often the outbox depth gauge is refreshed while rounds follow each other.
const DEPTH_EVERY: Duration = Duration::from_millis(250);
/// How long a JetStream API request of the lookup waits for its answer (one sent while a
/// cluster elects a leader can go unanswered; the next round asks again).
const API_TIMEOUT: Duration = Duration::from_secs(2);
/// New entries read into the queues per round, at most.
const INDEX_PER_ROUND: usize = 50_000;

/// Queues of outbox keys not published yet, one per tenant, each in key order.
type Queues = std::collections::BTreeMap<String, std::collections::VecDeque<Vec<u8>>>;

/// The keys to publish in a round, at most `n`, in publishing order: tenants take turns
/// (one key each per turn, starting after `turn`), each tenant's keys in order. A tenant
/// whose next key `stop` says is not to go now (held) gives nothing this round; keys
/// `skip` says are done are passed over.
fn pick_round(
    queues: &Queues,
    turn: Option<&str>,
    n: usize,
    stop: impl Fn(&str, &[u8]) -> bool,
    skip: impl Fn(&[u8]) -> bool,
) -> Vec<(String, Vec<u8>)> {
    let mut order: Vec<&String> = queues.keys().collect();
    if let Some(t) = turn {
        let at = order.partition_point(|x| x.as_str() <= t);
        order.rotate_left(at);
    }
    let mut pos = vec![0usize; order.len()];
    let mut blocked = vec![false; order.len()];
    let mut out = Vec::with_capacity(n);
    loop {
        let mut any = false;
        for (i, t) in order.iter().enumerate() {
            if out.len() == n {
                return out;
            }
            if blocked[i] {
                continue;
            }
            let q = &queues[*t];
            while pos[i] < q.len() && skip(&q[pos[i]]) {
                pos[i] += 1;
            }
            let Some(k) = q.get(pos[i]) else { continue };
            if stop(t, k) {
                blocked[i] = true;
                continue;
            }
            out.push(((*t).clone(), k.clone()));
            pos[i] += 1;
            any = true;
        }
        if !any {
            return out;
        }
    }
}

/// Tenants whose outbox entries written before this start (keys below `boundary`) the relay
/// holds back, until the placement manager knows which of them a successor made again
/// (`Placement::resolve_held`). Empty in allowlist mode, and once settled.
#[derive(Clone, Default)]
pub struct Held {
    inner: Arc<std::sync::Mutex<HeldInner>>,
}

#[derive(Default)]
struct HeldInner {
    tenants: std::collections::BTreeSet<String>,
    boundary: Vec<u8>,
}

impl Held {
    pub fn new(tenants: impl IntoIterator<Item = String>, boundary: Vec<u8>) -> Held {
        Held {
            inner: Arc::new(std::sync::Mutex::new(HeldInner {
                tenants: tenants.into_iter().collect(),
                boundary,
            })),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.inner.lock().expect("lock").tenants.is_empty()
    }

    pub fn tenants(&self) -> Vec<String> {
        self.inner
            .lock()
            .expect("lock")
            .tenants
            .iter()
            .cloned()
            .collect()
    }

    /// Outbox keys from here on were written by this process.
    pub fn boundary(&self) -> Vec<u8> {
        self.inner.lock().expect("lock").boundary.clone()
    }

    pub fn release(&self, tenant: &str) {
        self.inner.lock().expect("lock").tenants.remove(tenant);
    }

    fn holds(&self, tenant: &str, key: &[u8]) -> bool {
        let g = self.inner.lock().expect("lock");
        !g.tenants.is_empty() && key < g.boundary.as_slice() && g.tenants.contains(tenant)
    }
}

/// The streams the relay publishes to (`RUNNER_COMMANDS_STREAM`, `RUNNER_DLQ_STREAM`).
#[derive(Debug, Clone)]
pub struct Streams {
    pub commands: String,
    pub dead_letters: String,
}

/// How far back before an entry was written its copy is looked for (the runner's clock
/// against the server's).
const LOOKUP_SLACK_MS: u64 = 30_000;

/// Who deletes what was published.
pub enum Deleter {
    /// The engine, in its next transaction.
    Engine(mpsc::Sender<EngineMsg>),
    /// The relay itself, in a transaction of its own.
    Direct,
}

pub struct Relay {
    pub vol: Arc<Volume>,
    pub js: jetstream::Context,
    pub notify: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    pub shared: Arc<SharedState>,
    deleter: Deleter,
    held: Held,
    /// The streams commands and dead letters are published to.
    streams: Streams,
    /// Entries whose publish may already have landed, to look up before publishing: every
    /// key below `doubt_below` (those present at start), and `doubt` (acks that never
    /// came); `cleared` were looked up and not found.
    doubt_below: Option<Vec<u8>>,
    doubt: HashSet<Vec<u8>>,
    cleared: HashSet<Vec<u8>>,
    /// Published and acknowledged by this process, delete handed to the engine: never
    /// published again, even if that delete was not committed (see `flush`).
    acked: HashSet<Vec<u8>>,
    /// Every entry up to this key is in `queues` (or published).
    after: Option<Vec<u8>>,
    /// Keys not published yet, per tenant.
    queues: Queues,
    /// The tenant that went first last round (the next round starts after it).
    turn: Option<String>,
    /// Entries that can never be published (e.g. larger than the server accepts): skipped,
    /// kept, and reported.
    poisoned: HashSet<Vec<u8>>,
    /// Published in a round whose acks are not all in yet: not picked again meanwhile.
    flying: HashSet<Vec<u8>>,
    /// When the depth gauge was last refreshed.
    depth_at: Option<Instant>,
    /// The look-up of which remembered keys are gone from the outbox, while it runs.
    pruning: Option<tokio::task::JoinHandle<HashSet<Vec<u8>>>>,
}

/// The acks of one round, in the batch's order: whether the entry was sent (`false`: found
/// in its stream or acknowledged before), or why its publish was not acknowledged.
type AckResults = Vec<(usize, Result<bool, String>)>;

/// A round published whose acks are on their way.
struct Flight {
    batch: Vec<(Vec<u8>, OutboxEntry)>,
    acks: std::pin::Pin<Box<dyn std::future::Future<Output = AckResults> + Send>>,
    /// Publishes that failed before an ack could be awaited (or a lookup that could not be
    /// made).
    failed: usize,
}

/// What one round did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub published: usize,
    pub failed: usize,
    /// Entries in the table after the round (including published ones not yet deleted).
    pub left: u64,
}

impl Relay {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        vol: Arc<Volume>,
        js: jetstream::Context,
        notify: Arc<Notify>,
        metrics: Arc<Metrics>,
        shared: Arc<SharedState>,
        deleter: Deleter,
        held: Held,
        streams: Streams,
    ) -> Relay {
        let doubt_below = vol
            .read(|r| r.meta_u64(shared::edge_storage::meta::OUTBOX_NEXT))
            .ok()
            .flatten()
            .map(shared::edge_storage::keys::outbox_key);
        Relay {
            vol,
            js,
            notify,
            metrics,
            shared,
            deleter,
            held,
            streams,
            doubt_below,
            doubt: HashSet::new(),
            cleared: HashSet::new(),
            acked: HashSet::new(),
            after: None,
            queues: Queues::new(),
            turn: None,
            poisoned: HashSet::new(),
            flying: HashSet::new(),
            depth_at: None,
            pruning: None,
        }
    }

    /// Publishes as entries arrive, until `shutdown`: up to [`IN_FLIGHT`] rounds at a time,
    /// each landed (acks counted, deletes handed over) in the order it was sent.
    pub async fn run(mut self, shutdown: CancellationToken) -> Relay {
        let mut backoff =
            shared::backoff::Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        let mut flying: std::collections::VecDeque<Flight> = std::collections::VecDeque::new();
        // A round failed: land what is in flight, then wait before sending again.
        let mut trouble = false;
        loop {
            let mut idle = false;
            while !trouble && flying.len() < IN_FLIGHT {
                let sent = tokio::select! {
                    _ = shutdown.cancelled() => return self.abandon(flying),
                    r = self.send() => r,
                };
                match sent {
                    Ok(Some(f)) => {
                        trouble = f.failed > 0;
                        flying.push_back(f);
                    }
                    Ok(None) => {
                        idle = true;
                        break;
                    }
                    Err(e) => {
                        error!(error = %e, "outbox relay cannot read the volume");
                        trouble = true;
                    }
                }
            }
            let room = !trouble && flying.len() < IN_FLIGHT;
            if let Some(front) = flying.front_mut() {
                let results = tokio::select! {
                    _ = shutdown.cancelled() => return self.abandon(flying),
                    r = &mut front.acks => r,
                    // Entries committed while acks are awaited go out now, not after them.
                    _ = self.notify.notified(), if room => continue,
                };
                let f = flying.pop_front().expect("the front flight");
                let last = flying.is_empty();
                match self.land(f.batch, results, f.failed, last).await {
                    Ok(r) if r.failed == 0 => {}
                    Ok(_) => trouble = true,
                    Err(e) => {
                        error!(error = %e, "outbox relay cannot read the volume");
                        trouble = true;
                    }
                }
                continue;
            }
            let wait = if trouble {
                trouble = false;
                backoff.next_wait()
            } else {
                debug_assert!(idle);
                backoff.reset();
                Duration::from_millis(100)
            };
            tokio::select! {
                _ = shutdown.cancelled() => return self,
                _ = self.notify.notified() => {}
                _ = tokio::time::sleep(wait.min(Duration::from_secs(1))) => {}
            }
        }
    }

    /// Stops with rounds in flight: their entries may be stored in their streams or not, so
    /// the flush (or the next start) looks them up before publishing them again.
    fn abandon(mut self, flying: std::collections::VecDeque<Flight>) -> Relay {
        for f in flying {
            for (k, _) in f.batch {
                if self.flying.remove(&k) {
                    self.doubt.insert(k.clone());
                    self.cleared.remove(&k);
                }
            }
        }
        self.flying.clear();
        self
    }

    /// After the engine stopped: publishes everything left (from the head again, as deletes
    /// handed to the engine may not have been committed) and deletes directly, for at most
    /// `within`. Returns the entries still waiting.
    pub async fn flush(&mut self, within: Duration) -> u64 {
        self.deleter = Deleter::Direct;
        self.after = None;
        self.queues.clear();
        let deadline = Instant::now() + within;
        // Acknowledged entries whose delete the engine did not commit before it stopped:
        // deleted now, never published again.
        if let Err(e) = self.delete_acked().await {
            error!(error = %e, "cannot delete acknowledged outbox entries; they are looked up and deleted at the next start");
        }
        loop {
            match tokio::time::timeout_at(deadline.into(), self.round()).await {
                Ok(Ok(r)) if r.left as usize <= self.poisoned.len() => return r.left,
                // Held entries wait for the next start, which settles them.
                Ok(Ok(r)) if r.published == 0 && r.failed == 0 && !self.held.is_empty() => {
                    return r.left;
                }
                Ok(Ok(r)) if r.failed > 0 || r.published == 0 => {
                    if Instant::now() + Duration::from_millis(200) > deadline {
                        return r.left;
                    }
                    self.after = None;
                    self.queues.clear();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(_) => return self.depth(),
            }
        }
    }

    /// Deletes directly the entries acknowledged by this process that are still in the
    /// outbox (their delete, handed to the engine, was not committed).
    async fn delete_acked(&mut self) -> Result<(), StorageError> {
        let vol = self.vol.clone();
        let keys: Vec<Vec<u8>> = self.acked.iter().cloned().collect();
        let deleted = tokio::task::spawn_blocking(move || {
            vol.write(|w| {
                let mut n = 0usize;
                for k in keys {
                    let Some(v) = w.get_raw(TableId::Outbox, &k)? else {
                        continue;
                    };
                    let e: OutboxEntry = shared::edge_storage::decode_value(&v)?;
                    if w.delete_outbox(&k, &e.tenant, &e.saga)? {
                        n += 1;
                    }
                }
                Ok::<_, StorageError>(n)
            })
        })
        .await
        .expect("outbox delete task")?;
        if deleted > 0 {
            info!(
                entries = deleted,
                "deleted outbox entries acknowledged before the engine stopped"
            );
        }
        self.acked.clear();
        Ok(())
    }

    /// Entries in the outbox (a count MDBX keeps: read here, no hop to the blocking pool).
    fn depth(&self) -> u64 {
        self.vol.read(|r| r.entries(TableId::Outbox)).unwrap_or(0)
    }

    fn doubtful(&self, key: &[u8]) -> bool {
        (self.doubt.contains(key) || self.doubt_below.as_deref().is_some_and(|b| key < b))
            && !self.cleared.contains(key)
            && !self.acked.contains(key)
    }

    /// Forgets keys that are no longer in the outbox, once [`PRUNE_ABOVE`] are remembered:
    /// the look-up runs on the blocking pool while rounds go on, and its result is taken
    /// by a later round (a key gone from the outbox never comes back: keys are a sequence).
    fn prune(&mut self) {
        use futures_util::FutureExt;
        match self.pruning.take() {
            Some(h) if h.is_finished() => {
                let gone = h.now_or_never().and_then(Result::ok).unwrap_or_default();
                self.acked.retain(|k| !gone.contains(k));
                self.cleared.retain(|k| !gone.contains(k));
            }
            Some(h) => self.pruning = Some(h),
            None if self.acked.len() > PRUNE_ABOVE => {
                let vol = self.vol.clone();
                let keys: Vec<Vec<u8>> = self.acked.iter().chain(&self.cleared).cloned().collect();
                self.pruning = Some(tokio::task::spawn_blocking(move || {
                    vol.read(|r| {
                        let mut gone = HashSet::new();
                        for k in keys {
                            if r.get_raw(TableId::Outbox, &k)?.is_none() {
                                gone.insert(k);
                            }
                        }
                        Ok::<_, StorageError>(gone)
                    })
                    .unwrap_or_default()
                }));
            }
            None => {}
        }
    }

    /// The `Nats-Msg-Id`s among `entries` that are already stored in their streams.
    async fn stored_ids(&self, entries: &[&OutboxEntry]) -> Result<HashSet<String>, String> {
        let mut out = HashSet::new();
        for (kind, stream) in [
            (OutboxKind::Command, &self.streams.commands),
            (OutboxKind::DeadLetter, &self.streams.dead_letters),
        ] {
            let es: Vec<&&OutboxEntry> = entries.iter().filter(|e| e.kind == kind).collect();
            if es.is_empty() {
                continue;
            }
            let wanted: HashSet<&str> = es.iter().map(|e| e.msg_id.as_str()).collect();
            let since = es
                .iter()
                .map(|e| e.created_at_ms)
                .min()
                .unwrap_or(0)
                .saturating_sub(LOOKUP_SLACK_MS);
            let mut filters: std::collections::BTreeSet<String> = es
                .iter()
                .map(|e| match kind {
                    OutboxKind::Command if !e.tenant.is_empty() => {
                        shared::names::tenant_command_filter(&e.tenant)
                    }
                    _ => e.subject.clone(),
                })
                .collect();
            if filters.len() > 256 {
                filters.clear();
            }
            let lookup = async {
                // Unanswered during a cluster's leader election: ask again soon instead.
                let s = tokio::time::timeout(API_TIMEOUT, self.js.get_stream(stream))
                    .await
                    .map_err(|_| format!("no answer from stream {stream} in {API_TIMEOUT:?}"))?
                    .map_err(|e| e.to_string())?;
                let start_time =
                    time::OffsetDateTime::from_unix_timestamp_nanos(since as i128 * 1_000_000)
                        .map_err(|e| e.to_string())?;
                let consumer = tokio::time::timeout(
                    API_TIMEOUT,
                    s.create_consumer(consumer::pull::Config {
                        deliver_policy: consumer::DeliverPolicy::ByStartTime { start_time },
                        ack_policy: consumer::AckPolicy::None,
                        headers_only: true,
                        filter_subjects: filters.into_iter().collect(),
                        memory_storage: true,
                        inactive_threshold: Duration::from_secs(30),
                        ..Default::default()
                    }),
                )
                .await
                .map_err(|_| format!("no answer from stream {stream} in {API_TIMEOUT:?}"))?
                .map_err(|e| e.to_string())?;
                let mut left = consumer.cached_info().num_pending;
                if left == 0 {
                    return Ok::<_, String>(());
                }
                let opts = shared::pull::PullOptions {
                    batch: 1000,
                    ..Default::default()
                };
                let mut msgs = shared::pull::Pull::start(&self.js, &consumer, opts)
                    .await
                    .map_err(|e| e.to_string())?;
                while left > 0 {
                    let m = msgs.next().await.map_err(|e| e.to_string())?;
                    if let Some(id) = m
                        .headers
                        .as_ref()
                        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
                        && wanted.contains(id.as_str())
                    {
                        out.insert(id.to_string());
                    }
                    left = m.info().map(|i| i.pending).unwrap_or(0);
                }
                Ok(())
            };
            tokio::time::timeout(Duration::from_secs(30), lookup)
                .await
                .map_err(|_| format!("looking up stream {stream} took over 30 s"))??;
        }
        Ok(out)
    }

    /// Reads the next entries, publishes them, awaits the acks, hands the acknowledged ones
    /// over for deletion.
    pub async fn round(&mut self) -> Result<Round, StorageError> {
        let Some(f) = self.send().await? else {
            let left = self.depth();
            self.metrics.outbox_depth.set(left as i64);
            return Ok(Round {
                left,
                ..Round::default()
            });
        };
        let results = f.acks.await;
        self.land(f.batch, results, f.failed, true).await
    }

    /// Reads the next entries and publishes them: the round in flight, or `None` when there
    /// is nothing to publish now.
    async fn send(&mut self) -> Result<Option<Flight>, StorageError> {
        let fresh = self.index_new().await?;
        let held = self.held.clone();
        let picked = pick_round(
            &self.queues,
            self.turn.as_deref(),
            ROUND,
            |t, k| held.holds(t, k),
            |k| self.acked.contains(k) || self.poisoned.contains(k) || self.flying.contains(k),
        );
        if picked.is_empty() {
            return Ok(None);
        }
        self.turn = picked.first().map(|(t, _)| t.clone());
        let batch = self.fetch(&picked, fresh).await?;
        if batch.is_empty() {
            return Ok(None);
        }
        // Entries that may be in their stream already: look them up first.
        let Some(found) = self.look_up_doubtful(&batch).await else {
            return Ok(Some(Flight {
                batch: Vec::new(),
                acks: Box::pin(std::future::ready(Vec::new())),
                failed: 1,
            }));
        };
        let mut round = Round::default();
        let (pending, _) = self.publish(&batch, &found, &mut round).await;
        for (i, _) in &pending {
            self.flying.insert(batch[*i].0.clone());
        }
        // Await the acks together: each one's timeout starts when it is first polled.
        let acks = futures_util::future::join_all(pending.into_iter().map(|(i, ack)| async move {
            match ack {
                Some(ack) => (i, ack.await.map(|_| true).map_err(|e| e.to_string())),
                // Found in its stream, or acknowledged before: nothing to publish.
                None => (i, Ok(false)),
            }
        }));
        Ok(Some(Flight {
            batch,
            acks: Box::pin(acks),
            failed: round.failed,
        }))
    }

    /// Counts a round's acks, hands the acknowledged entries over for deletion, and marks
    /// the others to be looked up before they are published again. `depth`: read the
    /// outbox's depth after it (else only every [`DEPTH_EVERY`]).
    async fn land(
        &mut self,
        batch: Vec<(Vec<u8>, OutboxEntry)>,
        acks: AckResults,
        failed: usize,
        depth: bool,
    ) -> Result<Round, StorageError> {
        let mut round = Round {
            failed,
            ..Round::default()
        };
        let mut done: Vec<Published> = Vec::with_capacity(acks.len());
        let mut first_error = None;
        for (i, ack) in acks {
            let (k, e) = &batch[i];
            self.flying.remove(k);
            match ack {
                Ok(sent) => {
                    let kind = match e.kind {
                        OutboxKind::Command => "command",
                        OutboxKind::DeadLetter => "dead_letter",
                    };
                    if sent {
                        self.metrics
                            .published
                            .get_or_create(&KindLabels { kind })
                            .inc();
                    }
                    self.acked.insert(k.clone());
                    self.cleared.remove(k);
                    done.push(Published {
                        key: k.clone(),
                        tenant: e.tenant.clone(),
                        saga: e.saga.clone(),
                    });
                }
                Err(err) => {
                    round.failed += 1;
                    // It may have been stored all the same: look before publishing again.
                    self.doubt.insert(k.clone());
                    self.cleared.remove(k);
                    self.metrics.publish_errors.inc();
                    first_error
                        .get_or_insert_with(|| format!("{} ({}): {err}", e.subject, e.msg_id));
                }
            }
        }
        if let Some(e) = first_error {
            warn!(error = %e, failed = round.failed, "outbox publishes not acknowledged; will retry");
        }
        round.published = done.len();
        self.prune();
        for p in &done {
            if let Some(q) = self.queues.get_mut(&p.tenant) {
                while q.front().is_some_and(|k| self.acked.contains(k)) {
                    q.pop_front();
                }
                if q.is_empty() {
                    self.queues.remove(&p.tenant);
                }
            }
        }
        if !self.delete(done).await? {
            // The engine has stopped: the flush at shutdown takes over.
            return Ok(round);
        }
        if depth || self.depth_at.is_none_or(|t| t.elapsed() >= DEPTH_EVERY) {
            round.left = self.depth();
            self.metrics.outbox_depth.set(round.left as i64);
            self.depth_at = Some(Instant::now());
        }
        Ok(round)
    }

    /// Reads the entries written since the last read (after `after`, at most
    /// [`INDEX_PER_ROUND`]) into the tenants' queues. Returns the first [`FRESH`] of them
    /// whole, read in the same transaction: a round picks them without reading them again
    /// (live traffic: every new entry goes out in the round that found it).
    async fn index_new(&mut self) -> Result<HashMap<Vec<u8>, OutboxEntry>, StorageError> {
        // Live traffic adds a few entries per commit: read them here, on this thread (a
        // read of at most FRESH entries from the map takes microseconds, and a hop to the
        // blocking pool costs a thread wake-up on each side); a backlog goes on there.
        let (mut new, fresh, full) = read_new(&self.vol, self.after.clone(), FRESH, FRESH)?;
        if full {
            let vol = self.vol.clone();
            let after = new.last().map(|(k, _)| k.clone());
            let (more, _, _) = tokio::task::spawn_blocking(move || {
                read_new(&vol, after, INDEX_PER_ROUND - FRESH, 0)
            })
            .await
            .expect("outbox read task")?;
            new.extend(more);
        }
        if let Some((k, _)) = new.last() {
            self.after = Some(k.clone());
        }
        for (k, t) in new {
            self.queues.entry(t).or_default().push_back(k);
        }
        Ok(fresh)
    }

    /// The picked entries, in the picked order (those in `fresh` as read by the index, the
    /// others read now); keys gone from the outbox meanwhile are dropped from their queues.
    async fn fetch(
        &mut self,
        picked: &[(String, Vec<u8>)],
        mut fresh: HashMap<Vec<u8>, OutboxEntry>,
    ) -> Result<Vec<(Vec<u8>, OutboxEntry)>, StorageError> {
        let mut got: Vec<Option<OutboxEntry>> =
            picked.iter().map(|(_, k)| fresh.remove(k)).collect();
        let missing: Vec<(usize, Vec<u8>)> = got
            .iter()
            .zip(picked)
            .enumerate()
            .filter(|(_, (e, _))| e.is_none())
            .map(|(i, (_, (_, k)))| (i, k.clone()))
            .collect();
        if !missing.is_empty() {
            let vol = self.vol.clone();
            let read: Vec<(usize, Option<OutboxEntry>)> = tokio::task::spawn_blocking(move || {
                vol.read(|r| {
                    missing
                        .into_iter()
                        .map(|(i, k)| {
                            let e = r
                                .get_raw(TableId::Outbox, &k)?
                                .map(|v| shared::edge_storage::decode_value(&v))
                                .transpose()?;
                            Ok((i, e))
                        })
                        .collect::<Result<Vec<_>, StorageError>>()
                })
            })
            .await
            .expect("outbox read task")?;
            for (i, e) in read {
                got[i] = e;
            }
        }
        let mut out = Vec::with_capacity(picked.len());
        for ((t, k), e) in picked.iter().zip(got) {
            match e {
                Some(e) => out.push((k.clone(), e)),
                None => {
                    if let Some(q) = self.queues.get_mut(t) {
                        q.retain(|x| x != k);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Looks up, in their stream, the entries that may have been published already (present
    /// at start, or whose ack failed): the indexes of those found. `None` when the stream
    /// cannot be read: nothing may be published until it can.
    async fn look_up_doubtful(
        &mut self,
        batch: &[(Vec<u8>, OutboxEntry)],
    ) -> Option<HashSet<usize>> {
        let doubtful: Vec<usize> = batch
            .iter()
            .enumerate()
            .filter(|(_, (k, e))| self.doubtful(k) && !self.held.holds(&e.tenant, k))
            .map(|(i, _)| i)
            .collect();
        let mut found: HashSet<usize> = HashSet::new();
        if doubtful.is_empty() {
            return Some(found);
        }
        let entries: Vec<&OutboxEntry> = doubtful.iter().map(|i| &batch[*i].1).collect();
        match self.stored_ids(&entries).await {
            Ok(ids) => {
                for i in &doubtful {
                    let (k, e) = &batch[*i];
                    if ids.contains(&e.msg_id) {
                        found.insert(*i);
                    } else {
                        self.cleared.insert(k.clone());
                    }
                    self.doubt.remove(k);
                }
                if !found.is_empty() {
                    info!(
                        entries = found.len(),
                        "outbox entries found already published (before a restart or a lost acknowledgement): deleted without publishing them again"
                    );
                }
                Some(found)
            }
            Err(e) => {
                warn!(error = %e, entries = doubtful.len(), "cannot look up whether outbox entries were published already; not publishing them until it can");
                None
            }
        }
    }

    /// Publishes the batch's entries in order (not the held, found or acknowledged ones,
    /// which pass with no ack to wait for); stops at the first failed publish. Returns the
    /// acks to await, and the index of the first held entry.
    async fn publish(
        &mut self,
        batch: &[(Vec<u8>, OutboxEntry)],
        found: &HashSet<usize>,
        round: &mut Round,
    ) -> (
        Vec<(usize, Option<jetstream::context::PublishAckFuture>)>,
        Option<usize>,
    ) {
        let mut pending = Vec::with_capacity(batch.len());
        // Held entries are neither published nor passed: the cursor stops before the first.
        let mut first_held: Option<usize> = None;
        for (i, (key, e)) in batch.iter().enumerate() {
            if self.held.holds(&e.tenant, key) {
                first_held.get_or_insert(i);
                continue;
            }
            if found.contains(&i) || self.acked.contains(key) {
                pending.push((i, None));
                continue;
            }
            let mut headers = HeaderMap::new();
            for (n, v) in &e.headers {
                headers.insert(n.as_str(), v.as_str());
            }
            let msg = PublishMessage::build()
                .payload(e.payload.clone().into())
                .headers(headers)
                .message_id(&e.msg_id);
            match self.js.send_publish(e.subject.clone(), msg).await {
                Ok(ack) => pending.push((i, Some(ack))),
                Err(err) if err.kind() == PublishErrorKind::MaxPayloadExceeded => {
                    error!(subject = %e.subject, msg_id = %e.msg_id, error = %err, "outbox entry can never be published; it stays in the outbox");
                    self.shared.set_storage_problem(Some(format!(
                        "outbox entry {} for {} cannot be published: {err}",
                        e.msg_id, e.subject
                    )));
                    self.poisoned.insert(key.clone());
                }
                Err(err) => {
                    round.failed += 1;
                    self.metrics.publish_errors.inc();
                    warn!(subject = %e.subject, error = %err, "outbox publish failed; will retry");
                    break;
                }
            }
        }
        (pending, first_held)
    }

    /// Has the acknowledged entries deleted; `false` when the engine that deletes them has
    /// stopped.
    async fn delete(&self, done: Vec<Published>) -> Result<bool, StorageError> {
        match &self.deleter {
            Deleter::Engine(tx) => {
                if !done.is_empty() && tx.send(EngineMsg::Published(done)).await.is_err() {
                    return Ok(false);
                }
            }
            Deleter::Direct => {
                let vol = self.vol.clone();
                tokio::task::spawn_blocking(move || {
                    vol.write(|w| {
                        for p in &done {
                            w.delete_outbox(&p.key, &p.tenant, &p.saga)?;
                        }
                        Ok::<_, StorageError>(())
                    })
                })
                .await
                .expect("outbox delete task")?;
            }
        }
        Ok(true)
    }
}

/// Keys and tenants of up to `limit` outbox entries after `after`, the first `keep` of them
/// whole, and whether `limit` was reached (more may follow).
#[allow(clippy::type_complexity)]
fn read_new(
    vol: &Volume,
    after: Option<Vec<u8>>,
    limit: usize,
    keep: usize,
) -> Result<(Vec<(Vec<u8>, String)>, HashMap<Vec<u8>, OutboxEntry>, bool), StorageError> {
    vol.read(|r| {
        let mut out: Vec<(Vec<u8>, String)> = Vec::new();
        let mut fresh = HashMap::new();
        let mut from = after;
        loop {
            let want = (limit - out.len()).min(1000);
            let page = r.outbox_batch(from.as_deref(), want)?;
            let full = page.len() == want;
            from = page.last().map(|(k, _)| k.clone());
            for (k, e) in page {
                out.push((k.clone(), e.tenant.clone()));
                if fresh.len() < keep {
                    fresh.insert(k, e);
                }
            }
            if !full || out.len() >= limit {
                return Ok((out, fresh, full));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{Queues, pick_round, read_new};
    use shared::edge_storage::{OutboxEntry, OutboxKind, Volume, WriteOptions, keys};

    #[test]
    fn new_entries_are_read_in_order_the_first_ones_whole_and_a_full_read_says_so() {
        let tmp = tempfile::tempdir().unwrap();
        let vol = Volume::open_for_write(tmp.path(), &WriteOptions::new("a")).unwrap();
        let keys: Vec<Vec<u8>> = (1..=2_500u64).map(keys::outbox_key).collect();
        vol.write(|w| {
            (0..2_500u64).try_for_each(|i| {
                w.push_outbox(&OutboxEntry {
                    kind: OutboxKind::Command,
                    subject: format!("cmd.t{}.account", i % 7),
                    msg_id: format!("m{i}"),
                    headers: Vec::new(),
                    payload: vec![1, 2, 3],
                    tenant: format!("t{}", i % 7),
                    saga: "account".into(),
                    created_at_ms: i,
                    cause_seq: i,
                })
                .map(drop)
            })
        })
        .unwrap();
        // A small read: all of it, the first 3 whole, not full.
        let (out, fresh, full) = read_new(&vol, Some(keys[2_489].clone()), 250, 3).unwrap();
        assert_eq!(out.len(), 10);
        assert!(!full);
        assert_eq!(out[0], (keys[2_490].clone(), "t5".to_string()));
        assert_eq!(fresh.len(), 3);
        assert_eq!(fresh[&keys[2_492]].msg_id, "m2492");
        assert!(!fresh.contains_key(&keys[2_493]));
        // A read that stops at its limit across pages says more may follow, and the next
        // read goes on exactly after it.
        let (out, fresh, full) = read_new(&vol, None, 1_200, 0).unwrap();
        assert_eq!(out.len(), 1_200);
        assert!(full);
        assert!(fresh.is_empty());
        let (rest, _, full) = read_new(&vol, out.last().map(|(k, _)| k.clone()), 5_000, 0).unwrap();
        assert!(!full);
        let all: Vec<Vec<u8>> = out.into_iter().chain(rest).map(|(k, _)| k).collect();
        assert_eq!(all, keys);
    }

    fn queues(entries: &[(&str, u8)]) -> Queues {
        let mut q = Queues::new();
        for (t, k) in entries {
            q.entry(t.to_string()).or_default().push_back(vec![*k]);
        }
        q
    }

    /// A burst of one tenant written before a quiet one's entry: the quiet entry goes in
    /// the first turn however deep the burst; each tenant's entries keep their order; the
    /// next round starts with the other tenant; done keys are passed over and a held tenant
    /// gives nothing.
    #[test]
    fn tenants_take_turns_and_keep_their_own_order() {
        let mut e: Vec<(&str, u8)> = (0..200).map(|k| ("hot", k)).collect();
        e.push(("quiet", 200));
        e.push(("quiet", 201));
        let q = queues(&e);
        let keys = |v: Vec<(String, Vec<u8>)>| v.into_iter().map(|(_, k)| k[0]).collect::<Vec<_>>();
        let first = pick_round(&q, None, 4, |_, _| false, |_| false);
        assert_eq!(keys(first), vec![0, 200, 1, 201]);
        let next = pick_round(&q, Some("hot"), 3, |_, _| false, |_| false);
        assert_eq!(keys(next), vec![200, 0, 201]);
        let all = pick_round(&q, None, 1000, |_, _| false, |_| false);
        assert_eq!(all.len(), 202);
        for t in ["hot", "quiet"] {
            let mine: Vec<u8> = all
                .iter()
                .filter(|(x, _)| x == t)
                .map(|(_, k)| k[0])
                .collect();
            assert!(mine.windows(2).all(|p| p[0] < p[1]), "{t}: {mine:?}");
        }
        let skipped = pick_round(&q, None, 3, |_, _| false, |k| k[0] < 10);
        assert_eq!(keys(skipped), vec![10, 200, 11]);
        let held = pick_round(&q, None, 3, |t, _| t == "quiet", |_| false);
        assert_eq!(keys(held), vec![0, 1, 2]);
    }
}
