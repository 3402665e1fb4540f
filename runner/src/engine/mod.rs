//! The engine: the one thread that writes the volume. It applies batches from the readers
//! (one MDBX transaction per batch), keeps each tenant's mode (live on the reader of its
//! group's stream, catching up on a reader of its own, or read by a reader of its own for
//! good when this shard does not read its group whole), fires due timers, and tells the
//! outbox relay when there is something to publish.
//!
//! Groups: the single layout has one group (0), its one stream. In a partitioned layout
//! each group has its stream; the shard reads whole the groups the reading rule says
//! (`shared::layout::reading`, [`Ctl::ReadWhole`]), each with its own reader and position,
//! and reads each of its tenants of the other groups with a reader of its own. Every
//! position of a tenant is a sequence of its group's stream.
//!
//! Catching up, and the hand-over to the group reader (the "main reader" of the tenant's
//! group): while tenant T catches up, the main reader's events of T are queued in memory
//! (bounded) instead of applied. T's own reader
//! applies T's events from T's cursor on. T goes live, applying the queue first, as soon as
//! its reader has delivered an event at or past the head of the queue, or (queue empty) has
//! nothing pending: from then on every event of T up to the main reader's position is
//! applied. Events seen twice in the overlap are skipped by the checkpoint. If the queue
//! overflows it is dropped (T's reader delivers those events anyway) and T waits for its
//! reader to pass the dropped ones.

pub mod apply;
mod control;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use foldhash::{HashMap, HashMapExt};

use shared::edge_storage::{CursorMode, StorageError, TenantCursor, Volume, Writer, meta};
use shared::ids::{TenantId, is_valid_id};
use shared::layout::{Group, Layout};
use shared::wire::ReplayState;
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::{debug, error, info, warn};

pub use apply::Msg;
use apply::{ApplyEnv, BatchCtx, TimerFloors};
pub use control::{ReplayOrder, ReplayRefusal};

use crate::envelope::Rejection;
use crate::fence::Fence;
use crate::metrics::{Metrics, OutcomeLabels, SagaLabels, outcome};
use crate::saga::SagaRegistry;
use crate::state::{ReaderId, SharedState, TenantView};

/// Most events queued for a tenant while it catches up (default).
pub const QUEUE_MAX_EVENTS: usize = 10_000;
/// Most payload bytes queued for a tenant while it catches up.
const QUEUE_MAX_BYTES: usize = 16 << 20;
/// Most events of one reader applied in one transaction while batches of other readers
/// wait too (alone, a reader's batches fill a transaction up to `max_batch`): a burst on
/// one reader delays the others by one short transaction. At least one batch of each
/// reader goes in.
pub const MERGE_PER_READER_EVENTS: usize = 1000;
/// Most timers fired by the watermark in one transaction (more wait for the next one,
/// which follows at once unless other work is waiting).
const TIMERS_PER_TXN: usize = 5000;

/// Work for the engine thread.
pub enum EngineMsg {
    /// Events read by a reader, in stream order. `caught_up`: after the last of them the
    /// reader's consumer had nothing pending.
    Batch {
        reader: ReaderId,
        msgs: Vec<Msg>,
        caught_up: bool,
        /// Counts the batch in flight until it is dropped: the engine keeps it until the
        /// batch's transaction committed ([`crate::inflight::InFlight`]).
        ticket: crate::inflight::InFlight,
    },
    /// Time to look for due timers (and to delete published outbox entries when idle).
    Tick,
    /// Outbox entries the relay published and JetStream acknowledged: delete them in the
    /// next transaction.
    Published(Vec<Published>),
    /// Finish the current batch and stop.
    Stop,
    /// A placement order.
    Ctl(Ctl),
}

/// Placement orders, each answered once done.
pub enum Ctl {
    /// Start the group readers (deferred until the initial placement is known, so tenants
    /// acquired at start begin on them instead of each catching up).
    StartMainReader,
    /// Read exactly these groups whole, and every tenant of the other groups with a reader
    /// of its own.
    ReadWhole {
        groups: Vec<Group>,
        reply: oneshot::Sender<()>,
    },
    /// Serve these tenants, each from where [`Resume`] says. One transaction for all.
    Acquire {
        tenants: Vec<(TenantId, Resume)>,
        reply: oneshot::Sender<Vec<(TenantId, Result<Started, String>)>>,
    },
    /// Stop serving these tenants once their last batch is committed and their timers due
    /// by the watermark have fired; answers, per tenant, where it was released (`None` if
    /// it was not served).
    Release {
        tenants: Vec<TenantId>,
        reply: oneshot::Sender<Vec<(TenantId, Option<Released>)>>,
    },
    /// Drain: stop every reader and hold timers; batches already read are still applied.
    Pause { reply: oneshot::Sender<()> },
    /// Undo [`Ctl::Pause`]: restart the readers where they stand, fire timers again.
    Resume { reply: oneshot::Sender<()> },
    /// Delete the outbox entries of `tenant` written before this start (keys below
    /// `before_key`) that were caused after stream sequence `after`: a successor took the
    /// tenant over after `after` and made them again. Answers how many went.
    DropSuperseded {
        tenant: String,
        after: u64,
        before_key: Vec<u8>,
        reply: oneshot::Sender<Result<u64, String>>,
    },
    /// Reset a tenant+saga and re-read the tenant from a sequence (see `control.rs`).
    Replay {
        order: ReplayOrder,
        reply: oneshot::Sender<Result<shared::wire::ReplayStatus, ReplayRefusal>>,
    },
}

/// Why a commit attempt did not land.
enum CommitError {
    /// The lease fence closed while the transaction was built: dropped, not committed.
    Fenced,
    Storage(StorageError),
}

impl From<StorageError> for CommitError {
    fn from(e: StorageError) -> Self {
        CommitError::Storage(e)
    }
}

/// Where a tenant was released: every event of it up to `position` is applied, and every
/// timer due at or before `timers_through_ms` has fired (0: none fired at the release, as
/// for a tenant that was catching up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    pub position: u64,
    pub timers_through_ms: u64,
}

/// Where an acquired tenant starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// From where this volume left it (or the first event).
    Volume,
    /// After this position: everything of the tenant up to it was applied elsewhere and is
    /// never applied here (a hand-over).
    After(u64),
    /// Its claim is this shard's already, taken at this position (a restart): from where
    /// this volume left it when that is at or past the position, or when a replay was
    /// re-reading it; else after the position (a crash before the acquire committed left
    /// the volume behind its claim).
    Ours(u64),
}

impl Resume {
    /// The position of the claim it comes from.
    pub fn claimed_at(self) -> Option<u64> {
        match self {
            Resume::Volume => None,
            Resume::After(p) | Resume::Ours(p) => Some(p),
        }
    }
}

/// How an acquired tenant started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    /// On its group's reader already, or on a reader of its own.
    pub live: bool,
    /// The first stream sequence it will read.
    pub from: u64,
}

/// An acknowledged outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub key: Vec<u8>,
    pub tenant: String,
    pub saga: String,
}

/// Orders for the reader tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderCmd {
    Start {
        reader: ReaderId,
        /// The group whose stream it reads.
        group: Group,
        /// The tenant whose events it reads, none for a group reader (the whole stream).
        tenant: Option<TenantId>,
        /// First stream sequence to deliver.
        start_seq: u64,
        /// Confirm with the server where the reader stands (the timer watermark of a group
        /// reader or of a tenant's own reader for good).
        confirm: bool,
    },
    Stop(ReaderId),
}

enum Slot {
    Live,
    CatchingUp(CatchUp),
}

/// A group's stream, as this engine reads it.
#[derive(Debug, Clone, Copy, Default)]
struct GroupState {
    /// Every event up to here is handled for every live tenant of the group (stored as the
    /// group's `reader_position`; kept when the group stops being read whole).
    pos: u64,
    /// Stream time of the event at `pos` (0: not known since start).
    time: u64,
    /// Read whole by a reader of the group.
    whole: bool,
}

struct CatchUp {
    lane: u64,
    /// Read by this lane for as long as the tenant is served here (its group is not read
    /// whole): never handed over, and its timers fire by the lane's watermark.
    solo: bool,
    /// Stream time of the last event the lane applied (0: none since it started).
    time: u64,
    /// Every event of the tenant up to here has been applied by its own reader.
    last: u64,
    /// The tenant's position when a replay restarted this reader earlier (0: none): every
    /// event of the tenant up to here was applied before the replay, so its position is
    /// never reported or released below it ([`CatchUp::position`]). Kept in the volume as
    /// `meta::replay_floor`.
    floor: u64,
    /// The main reader's events of the tenant, not yet applied, in stream order.
    queue: VecDeque<(String, Msg)>,
    queue_bytes: usize,
    /// Highest sequence dropped from an overflowing queue.
    dropped_max: u64,
}

impl CatchUp {
    /// The tenant's position: everything of it up to here has been applied. Where its own
    /// reader stands, unless a replay's re-read is behind where the tenant stood before.
    fn position(&self) -> u64 {
        self.last.max(self.floor)
    }
}

/// Settings of the engine.
pub struct EngineConfig {
    pub layout: Layout,
    /// Each group's stream identity (`names::msg_id::stream_identity`), by group.
    pub stream_ids: Vec<String>,
    /// Groups read whole from the start; ignored in the single layout: its one group is.
    pub whole: Vec<Group>,
    /// How far behind the clock the timer watermark stays while the shard is idle
    /// (`RUNNER_TIMER_GRACE`): more than the clock skew between runner and NATS hosts plus
    /// the delivery delay of an event.
    pub timer_grace: Duration,
    pub shard: String,
    pub max_event_bytes: usize,
    /// Most events queued per catching-up tenant ([`QUEUE_MAX_EVENTS`]).
    pub queue_max_events: usize,
    /// Most events of a group reader applied in one transaction.
    pub max_batch: usize,
    /// Start the group readers only on [`Ctl::StartMainReader`].
    pub defer_main_reader: bool,
}

/// What the engine shares with the runner's other parts.
pub struct EngineLinks {
    pub metrics: Arc<Metrics>,
    pub shared: Arc<SharedState>,
    /// Where the engine asks for readers to start and stop.
    pub readers: mpsc::UnboundedSender<ReaderCmd>,
    /// Woken after a commit that wrote outbox entries.
    pub outbox_notify: Arc<Notify>,
    /// Set at shutdown: stop after the current batch.
    pub stop: Arc<AtomicBool>,
    /// Closed while the lease is not held: no commit gets through.
    pub fence: Arc<Fence>,
}

pub struct Engine {
    vol: Arc<Volume>,
    sagas: SagaRegistry,
    cfg: EngineConfig,
    /// By group.
    groups: Vec<GroupState>,
    tenants: HashMap<TenantId, Slot>,
    lanes: HashMap<u64, TenantId>,
    next_lane: u64,
    /// Earliest pending timer per served tenant+saga.
    floors: TimerFloors,
    /// Per served tenant, the highest watermark its timers have all fired by: the watermark
    /// a tenant reports never goes back when it changes readers (a new reader of its own
    /// starts knowing nothing), and a tenant released while catching up still reports
    /// what fired before.
    fired_through: HashMap<TenantId, u64>,
    /// Live tenants whose own reader had applied their events up to a sequence beyond their
    /// group reader's position when they went live: the group reader skips their events up
    /// to it (it would apply them again: an undeclared saga's dead letter has no checkpoint
    /// to stop it). Kept in the tenant's cursor (`Live`, `seq`) across restarts; dropped
    /// once the group reader is past it.
    live_after: HashMap<TenantId, u64>,
    /// The last watermark pass stopped at its budget: run another as soon as nothing else
    /// waits.
    timer_backlog: bool,
    metrics: Arc<Metrics>,
    shared: Arc<SharedState>,
    readers: mpsc::UnboundedSender<ReaderCmd>,
    outbox_notify: Arc<Notify>,
    stop: Arc<AtomicBool>,
    /// Published outbox entries to delete in the next transaction.
    pending_deletes: Vec<Published>,
    fence: Arc<Fence>,
    main_started: bool,
    /// Drained: no reader runs, timers are held.
    paused: bool,
    /// Replays running and recently finished.
    replays: Vec<control::ActiveReplay>,
    /// When to look again whether a restored volume's guard against publishing again what
    /// the lost volume published (`restore.rs`) may end.
    guard_check: Instant,
}

impl Engine {
    /// Sets up the tenants' modes from their cursors and asks for the readers they need.
    pub fn new(
        vol: Arc<Volume>,
        sagas: SagaRegistry,
        mut cfg: EngineConfig,
        owned: &[TenantId],
        links: EngineLinks,
    ) -> Result<Engine, StorageError> {
        let EngineLinks {
            metrics,
            shared,
            readers,
            outbox_notify,
            stop,
            fence,
        } = links;
        if !cfg.layout.is_partitioned() {
            cfg.whole = vec![0];
        }
        let layout = cfg.layout.clone();
        let (mut groups, cursors) = vol.read(|r| {
            let mut groups = Vec::new();
            for g in layout.groups() {
                groups.push(GroupState {
                    pos: r.meta_u64(&meta::reader_position(&layout, g))?.unwrap_or(0),
                    time: 0,
                    whole: cfg.whole.contains(&g),
                });
            }
            Ok::<_, StorageError>((
                groups,
                (
                    r.cursors()?,
                    r.replay_floors()?,
                    r.fired_throughs()?,
                    r.restore_guard()?,
                ),
            ))
        })?;
        let (cursors, replay_floors, fired, guard) = cursors;
        metrics.restore_guard.set(i64::from(guard.is_some()));
        let cursors: HashMap<String, TenantCursor> = cursors.into_iter().collect();
        let replay_floors: HashMap<String, u64> = replay_floors.into_iter().collect();
        // A group read whole where no tenant is live (it was not read whole before) starts
        // where the least advanced of its tenants here stands (see `start_whole_at`).
        for g in &cfg.whole {
            let live = cursors
                .iter()
                .any(|(t, c)| c.mode == CursorMode::Live && layout.group_of(t) == *g);
            let at = owned
                .iter()
                .filter(|t| layout.group_of(t.as_str()) == *g)
                .map(|t| cursors.get(t.as_str()).map(|c| c.seq).unwrap_or(0))
                .min();
            if !live && let Some(gs) = groups.get_mut(*g as usize) {
                gs.pos = start_whole_at(gs.pos, at);
            }
        }
        let mut e = Engine {
            vol,
            sagas,
            cfg,
            groups,
            tenants: HashMap::new(),
            lanes: HashMap::new(),
            next_lane: 1,
            floors: TimerFloors::default(),
            // Timers fired before a restart keep the watermark where it was.
            fired_through: fired
                .into_iter()
                .filter(|(t, _)| owned.iter().any(|o| o.as_str() == t))
                .filter_map(|(t, m)| Some((TenantId::new(t).ok()?, m)))
                .collect(),
            timer_backlog: false,
            metrics,
            shared,
            readers,
            outbox_notify,
            stop,
            pending_deletes: Vec::new(),
            fence,
            main_started: false,
            paused: false,
            replays: Vec::new(),
            live_after: HashMap::new(),
            guard_check: Instant::now(),
        };
        let now = shared::now_ms();
        // Where each owned tenant stands: live, or on its own reader from a sequence.
        let mut plan: Vec<(TenantId, Option<u64>)> = Vec::new();
        for t in owned {
            let g = e.groups[e.group_of(t.as_str()) as usize];
            let from = match cursors.get(t.as_str()) {
                Some(c) if c.mode == CursorMode::Live && g.whole => {
                    if c.seq > g.pos {
                        e.live_after.insert(t.clone(), c.seq);
                    }
                    None
                }
                Some(c) if c.mode == CursorMode::Live => Some(g.pos.max(c.seq)),
                Some(c) if c.seq == g.pos && g.whole => None,
                Some(c) => Some(c.seq),
                None if g.pos == 0 && g.whole => None,
                None => Some(0),
            };
            plan.push((t.clone(), from));
        }
        e.vol.write(|w| {
            for (t, c) in &cursors {
                if !owned.iter().any(|o| o.as_str() == t) && c.mode != CursorMode::Released {
                    // A replay's re-read stays where it is, and its floor with it: served
                    // here again, the tenant goes on from there.
                    let seq = if c.mode == CursorMode::Live {
                        e.groups[e.cfg.layout.group_of(t) as usize].pos.max(c.seq)
                    } else {
                        c.seq
                    };
                    let position = seq.max(replay_floors.get(t).copied().unwrap_or(0));
                    info!(tenant = %t, position, "tenant no longer served here: released");
                    w.set_cursor(
                        t,
                        &TenantCursor {
                            mode: CursorMode::Released,
                            seq,
                            updated_at_ms: now,
                        },
                    )?;
                }
            }
            for (t, from) in &plan {
                let cursor = match (from, e.live_after.get(t)) {
                    (None, Some(after)) => live_cursor(*after, now),
                    _ => cursor_at(*from, now),
                };
                w.set_cursor(t.as_str(), &cursor)?;
            }
            for g in e.cfg.layout.groups() {
                let gs = e.groups[g as usize];
                if gs.whole && gs.pos > 0 {
                    w.set_meta_u64(&meta::reader_position(&e.cfg.layout, g), gs.pos)?;
                }
            }
            Ok::<_, StorageError>(())
        })?;
        e.set_position_gauge();
        if !e.cfg.defer_main_reader {
            e.start_main_reader();
        }
        for (t, from) in plan {
            match from {
                None => {
                    e.tenants.insert(t, Slot::Live);
                }
                Some(seq) => {
                    let floor = replay_floors.get(t.as_str()).copied().unwrap_or(0);
                    e.start_catch_up(t, seq, floor)
                }
            }
        }
        e.publish_view();
        info!(
            layout = %e.cfg.layout.describe(),
            groups_read_whole = e.groups.iter().filter(|g| g.whole).count(),
            live = e
                .tenants
                .values()
                .filter(|s| matches!(s, Slot::Live))
                .count(),
            own_readers = e.lanes.len(),
            "engine ready"
        );
        Ok(e)
    }

    fn group_of(&self, tenant: &str) -> Group {
        self.cfg.layout.group_of(tenant)
    }

    /// The group state of a tenant's group.
    fn group(&self, tenant: &str) -> GroupState {
        self.groups[self.group_of(tenant) as usize]
    }

    /// Where a live tenant stands: its group reader's position, or beyond it where its own
    /// reader had applied its events before it went live (`live_after`).
    fn live_pos(&self, tenant: &str) -> u64 {
        let pos = self.group(tenant).pos;
        self.live_after
            .get(tenant)
            .map_or(pos, |after| pos.max(*after))
    }

    /// `runner_reader_position`: the position of the single layout's stream, or the
    /// highest of the groups read whole.
    fn set_position_gauge(&self) {
        let p = self
            .groups
            .iter()
            .filter(|g| g.whole)
            .map(|g| g.pos)
            .max()
            .unwrap_or(0);
        self.metrics.reader_position.set(p as i64);
    }

    fn start_group_reader(&self, g: Group) {
        self.send_reader(ReaderCmd::Start {
            reader: ReaderId::Group(g),
            group: g,
            tenant: None,
            start_seq: self.groups[g as usize].pos + 1,
            confirm: true,
        });
    }

    fn start_main_reader(&mut self) {
        if self.main_started {
            return;
        }
        self.main_started = true;
        for g in self.cfg.layout.groups() {
            if self.groups[g as usize].whole {
                self.start_group_reader(g);
            }
        }
    }

    fn control(&mut self, c: Ctl) {
        match c {
            Ctl::StartMainReader => self.start_main_reader(),
            Ctl::ReadWhole { groups, reply } => {
                self.read_whole(groups);
                let _ = reply.send(());
            }
            Ctl::Acquire { tenants, reply } => {
                let r = self.acquire(tenants);
                let _ = reply.send(r);
            }
            Ctl::Release { tenants, reply } => {
                let r = self.release(tenants);
                let _ = reply.send(r);
            }
            Ctl::Pause { reply } => {
                self.pause();
                let _ = reply.send(());
            }
            Ctl::Resume { reply } => {
                self.resume();
                let _ = reply.send(());
            }
            Ctl::Replay { order, reply } => {
                let r = self.replay(order);
                let _ = reply.send(r);
            }
            Ctl::DropSuperseded {
                tenant,
                after,
                before_key,
                reply,
            } => {
                let r = self.commit(|w, _| {
                    let mut gone = Vec::new();
                    w.scan(shared::edge_storage::TableId::Outbox, &[], None, |k, v| {
                        if k >= before_key.as_slice() {
                            return Ok(false);
                        }
                        let e: shared::edge_storage::OutboxEntry =
                            shared::edge_storage::decode_value(v)?;
                        if e.tenant == tenant && e.cause_seq > after {
                            gone.push((k.to_vec(), e.saga));
                        }
                        Ok(true)
                    })?;
                    for (k, saga) in &gone {
                        w.delete_outbox(k, &tenant, saga)?;
                    }
                    Ok(gone.len() as u64)
                });
                let _ = reply.send(r.ok_or_else(|| "the runner is stopping".to_string()));
            }
        }
    }

    /// Starts serving tenants (see [`Ctl::Acquire`]).
    fn acquire(
        &mut self,
        tenants: Vec<(TenantId, Resume)>,
    ) -> Vec<(TenantId, Result<Started, String>)> {
        let mut out = Vec::new();
        // (tenant, after, from, replay floor): from None = live, Some(seq) = catch up from
        // seq + 1.
        let mut plan: Vec<(TenantId, Option<u64>, Option<u64>, u64)> = Vec::new();
        for (tenant, resume) in tenants {
            let g = self.group(tenant.as_str());
            if let Some(slot) = self.tenants.get(&tenant) {
                let started = match slot {
                    Slot::Live => Started {
                        live: true,
                        from: self.live_pos(tenant.as_str()) + 1,
                    },
                    Slot::CatchingUp(cu) => Started {
                        live: false,
                        from: cu.last + 1,
                    },
                };
                out.push((tenant, Ok(started)));
                continue;
            }
            let read = self.vol.read(|r| {
                let marker = shared::edge_storage::meta::import_marker(tenant.as_str());
                Ok::<_, StorageError>((
                    (
                        r.cursor(tenant.as_str())?,
                        r.meta_u64(&meta::replay_floor(tenant.as_str()))?,
                        r.meta_u64(&meta::fired_through(tenant.as_str()))?,
                    ),
                    r.meta_raw(&marker)?.is_some(),
                ))
            });
            let (cursor, floor, fired) = match read {
                Ok((_, true)) => {
                    out.push((
                        tenant.clone(),
                        Err(format!(
                            "an import of {tenant}'s state into this volume did not finish: its partial state must be deleted (DELETE /admin/tenants/{tenant}, or rerun the `runnerctl move` that imported it) before the tenant is served"
                        )),
                    ));
                    continue;
                }
                Ok((c, false)) => c,
                Err(e) => {
                    out.push((tenant, Err(e.to_string())));
                    continue;
                }
            };
            if let Some(f) = fired {
                self.fired_through.insert(tenant.clone(), f);
            }
            let after = match (resume, cursor) {
                (Resume::Volume, _) => None,
                (Resume::After(p), _) => Some(p),
                // A restart: this volume has read it to its cursor (its events up to the
                // claim's position either applied here or skipped as applied elsewhere),
                // or a replay re-reads it from earlier on purpose.
                (Resume::Ours(p), Some(c))
                    if c.mode != CursorMode::Live && (c.seq >= p || floor.is_some()) =>
                {
                    None
                }
                (Resume::Ours(p), _) => Some(p),
            };
            // A replay's floor counts only where the tenant resumes from its own cursor.
            let floor = match (after, cursor) {
                (None, Some(c)) if c.mode != CursorMode::Live => floor.unwrap_or(0),
                _ => 0,
            };
            let from = match (after, cursor) {
                // Live only exactly at the group reader's position: a tenant whose events
                // up to p were applied elsewhere must not see them again (the checkpoints
                // raised below skip its declared sagas', not an undeclared saga's dead
                // letters), so past the reader it catches up from p instead.
                (Some(p), _) if p == g.pos && g.whole => None,
                (Some(p), _) => Some(p),
                (None, Some(c)) if c.mode == CursorMode::Live && !g.whole => Some(g.pos),
                (None, Some(c)) if c.mode == CursorMode::Live || (c.seq == g.pos && g.whole) => {
                    None
                }
                (None, Some(c)) => Some(c.seq),
                (None, None) if g.pos == 0 && g.whole => None,
                (None, None) => Some(0),
            };
            plan.push((tenant, after, from, floor));
        }
        if plan.is_empty() {
            return out;
        }
        let sagas: Vec<String> = self.sagas.names().map(|n| n.to_string()).collect();
        let committed = self.commit(|w, env| {
            for (t, after, from, floor) in &plan {
                if *floor == 0 {
                    w.delete_meta(&meta::replay_floor(t.as_str()))?;
                }
                if let Some(p) = after {
                    // Everything up to p was applied elsewhere: never apply it here.
                    for s in &sagas {
                        if w.checkpoint(t.as_str(), s)?.is_none_or(|c| c.seq < *p) {
                            w.set_checkpoint(
                                t.as_str(),
                                s,
                                &shared::edge_storage::Checkpoint {
                                    seq: *p,
                                    updated_at_ms: env.now_ms,
                                },
                            )?;
                        }
                    }
                }
                w.set_cursor(t.as_str(), &cursor_at(*from, env.now_ms))?;
            }
            Ok(())
        });
        if committed.is_none() {
            out.extend(
                plan.into_iter()
                    .map(|(t, ..)| (t, Err("the runner is stopping".to_string()))),
            );
            return out;
        }
        for (tenant, after, from, floor) in plan {
            let started = match from {
                None => {
                    info!(tenant = %tenant, after = ?after, group = self.group_of(tenant.as_str()), "tenant served by the main reader (of its group)");
                    self.floors.forget(tenant.as_str());
                    self.live_after.remove(&tenant);
                    self.tenants.insert(tenant.clone(), Slot::Live);
                    Started {
                        live: true,
                        from: self.group(tenant.as_str()).pos + 1,
                    }
                }
                Some(seq) => {
                    self.start_catch_up(tenant.clone(), seq, floor);
                    Started {
                        live: false,
                        from: seq + 1,
                    }
                }
            };
            out.push((tenant, Ok(started)));
        }
        self.publish_view();
        out
    }

    /// Fires the timers of these tenants due by their watermarks (those whose timers may
    /// fire: live, or on a reader of their own for good), in one transaction, so that what
    /// a release or a replay's reset sees does not depend on when the last watermark pass
    /// ran. Returns the watermark used per tenant (none when nothing may fire: drained, or
    /// catching up).
    fn fire_due_of(&mut self, tenants: &[TenantId]) -> HashMap<TenantId, u64> {
        let marks: HashMap<TenantId, u64> = tenants
            .iter()
            .filter_map(|t| self.mark_of(t).map(|m| (t.clone(), m)))
            .collect();
        if marks.is_empty() {
            return marks;
        }
        let sagas: Vec<String> = self.sagas.names().map(|n| n.to_string()).collect();
        let start = Instant::now();
        let floors = std::mem::take(&mut self.floors);
        let ctx = self.commit(|w, env| {
            let mut ctx = BatchCtx::default();
            for (t, mark) in &marks {
                for s in &sagas {
                    apply::fire_due(w, &mut ctx, env, &floors, t.as_str(), s, *mark, usize::MAX)?;
                }
            }
            Ok(ctx)
        });
        self.floors = floors;
        match ctx {
            Some(ctx) => {
                self.after_commit(ctx, start);
                for (t, m) in &marks {
                    let f = self.fired_through.entry(t.clone()).or_default();
                    *f = (*f).max(*m);
                }
                marks
            }
            None => HashMap::new(),
        }
    }

    /// Stops serving tenants (see [`Ctl::Release`]).
    fn release(&mut self, tenants: Vec<TenantId>) -> Vec<(TenantId, Option<Released>)> {
        let marks = self.fire_due_of(&tenants);
        // Timers fired here before a restart count too (`meta::fired_through`).
        let fired: HashMap<TenantId, u64> = self
            .vol
            .read(|r| {
                let mut out = HashMap::new();
                for t in &tenants {
                    if let Some(f) = r.meta_u64(&meta::fired_through(t.as_str()))? {
                        out.insert(t.clone(), f);
                    }
                }
                Ok::<_, StorageError>(out)
            })
            .unwrap_or_default();
        let mut out = Vec::new();
        for tenant in tenants {
            let Some(slot) = self.tenants.remove(&tenant) else {
                out.push((tenant, None));
                continue;
            };
            self.floors.forget(tenant.as_str());
            let timers_through_ms = marks
                .get(&tenant)
                .copied()
                .unwrap_or(0)
                .max(self.fired_through.remove(&tenant).unwrap_or(0))
                .max(fired.get(&tenant).copied().unwrap_or(0));
            let position = self.live_pos(tenant.as_str());
            self.live_after.remove(&tenant);
            let released = match slot {
                Slot::Live => Released {
                    position,
                    timers_through_ms,
                },
                Slot::CatchingUp(cu) => {
                    self.lanes.remove(&cu.lane);
                    let _ = self.readers.send(ReaderCmd::Stop(ReaderId::Lane(cu.lane)));
                    Released {
                        position: cu.position(),
                        timers_through_ms,
                    }
                }
            };
            out.push((tenant, Some(released)));
        }
        let released: Vec<(String, u64)> = out
            .iter()
            .filter_map(|(t, p)| p.map(|p| (t.to_string(), p.position)))
            .collect();
        if !released.is_empty() {
            self.commit(|w, env| {
                for (t, p) in &released {
                    w.set_cursor(
                        t,
                        &TenantCursor {
                            mode: CursorMode::Released,
                            seq: *p,
                            updated_at_ms: env.now_ms,
                        },
                    )?;
                    w.delete_meta(&meta::replay_floor(t))?;
                    w.delete_meta(&meta::fired_through(t))?;
                }
                Ok(())
            });
            for (t, p) in &released {
                info!(tenant = %t, position = p, "tenant released");
                self.end_replays(t, ReplayState::Cancelled);
            }
            self.publish_view();
        }
        out
    }

    /// Puts a tenant on a reader of its own after `from_seq`: catching up to its group's
    /// reader when this shard reads the group whole, else for as long as it is served here.
    /// `floor`: its position when a replay restarted it earlier ([`CatchUp::floor`]).
    fn start_catch_up(&mut self, tenant: TenantId, from_seq: u64, floor: u64) {
        self.floors.forget(tenant.as_str());
        self.live_after.remove(&tenant);
        let lane = self.next_lane;
        self.next_lane += 1;
        let group = self.group_of(tenant.as_str());
        let solo = !self.groups[group as usize].whole;
        if solo {
            info!(tenant = %tenant, group, from_seq = from_seq + 1, "tenant read by a reader of its own (this shard does not read its group whole)");
        } else {
            info!(tenant = %tenant, group, from_seq = from_seq + 1, "tenant catching up on its own reader");
        }
        self.send_reader(ReaderCmd::Start {
            reader: ReaderId::Lane(lane),
            group,
            tenant: Some(tenant.clone()),
            start_seq: from_seq + 1,
            confirm: solo,
        });
        self.lanes.insert(lane, tenant.clone());
        self.tenants.insert(
            tenant,
            Slot::CatchingUp(CatchUp {
                lane,
                solo,
                time: 0,
                last: from_seq,
                floor,
                queue: VecDeque::new(),
                queue_bytes: 0,
                dropped_max: 0,
            }),
        );
    }

    /// Reads exactly the given groups whole (see [`Ctl::ReadWhole`]). A group read whole
    /// from now on starts where [`start_whole_at`] says, and its tenants catch up to it from
    /// where their own readers stand. A group no longer read whole keeps its position; its
    /// live tenants go on readers of their own from there, and those catching up keep
    /// reading on theirs, for good.
    fn read_whole(&mut self, groups: Vec<Group>) {
        if !self.cfg.layout.is_partitioned() {
            return;
        }
        let mut changed: Vec<Group> = Vec::new();
        for g in self.cfg.layout.groups() {
            let want = groups.contains(&g);
            let at = self
                .tenants
                .iter()
                .filter(|(t, _)| self.group_of(t.as_str()) == g)
                .map(|(t, slot)| match slot {
                    Slot::CatchingUp(cu) => cu.last,
                    Slot::Live => self.live_pos(t.as_str()),
                })
                .min();
            let gs = &mut self.groups[g as usize];
            match (gs.whole, want) {
                (false, true) => {
                    gs.whole = true;
                    gs.pos = start_whole_at(gs.pos, at);
                    changed.push(g);
                }
                (true, false) => {
                    gs.whole = false;
                    let _ = self.readers.send(ReaderCmd::Stop(ReaderId::Group(g)));
                    changed.push(g);
                }
                _ => {}
            }
        }
        if changed.is_empty() {
            return;
        }
        // Every tenant of a changed group goes on a new reader of its own, from where it
        // stands: live ones from the group's position.
        let moved: Vec<(TenantId, u64, u64)> = self
            .tenants
            .iter()
            .filter(|(t, _)| changed.contains(&self.group_of(t.as_str())))
            .map(|(t, slot)| match slot {
                Slot::Live => (t.clone(), self.live_pos(t.as_str()), 0),
                Slot::CatchingUp(cu) => (t.clone(), cu.last, cu.floor),
            })
            .collect();
        let positions: Vec<(Group, u64)> = changed
            .iter()
            .map(|g| (*g, self.groups[*g as usize].pos))
            .collect();
        let layout = self.cfg.layout.clone();
        let committed = self.commit(|w, env| {
            for (g, pos) in &positions {
                w.set_meta_u64(&meta::reader_position(&layout, *g), *pos)?;
            }
            for (t, at, _) in &moved {
                w.set_cursor(t.as_str(), &cursor_at(Some(*at), env.now_ms))?;
            }
            Ok(())
        });
        if committed.is_none() {
            return;
        }
        for (t, at, floor) in moved {
            if let Some(Slot::CatchingUp(cu)) = self.tenants.remove(&t) {
                self.lanes.remove(&cu.lane);
                let _ = self.readers.send(ReaderCmd::Stop(ReaderId::Lane(cu.lane)));
            }
            self.start_catch_up(t, at, floor);
        }
        for g in &changed {
            if self.groups[*g as usize].whole && self.main_started {
                self.start_group_reader(*g);
            }
        }
        info!(
            groups_read_whole = ?self.cfg.layout.groups().filter(|g| self.groups[*g as usize].whole).collect::<Vec<_>>(),
            changed = ?changed,
            "groups read whole changed"
        );
        self.set_position_gauge();
        self.publish_view();
    }

    /// Runs until told to stop. Returns when the current batch is committed.
    pub fn run(mut self, mut rx: mpsc::Receiver<EngineMsg>) {
        self.shared.engine_alive.store(true, Ordering::Relaxed);
        // Messages taken from the channel and left for the next turn (a reader's batches
        // beyond its share of a transaction, or what came after them).
        let mut held: VecDeque<EngineMsg> = VecDeque::new();
        loop {
            let msg = match held.pop_front() {
                Some(m) => m,
                // Timers left over from the last pass go next, unless work is waiting.
                None if self.timer_backlog => match rx.try_recv() {
                    Ok(m) => m,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        self.tick();
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                },
                None => match rx.blocking_recv() {
                    Some(m) => m,
                    None => break,
                },
            };
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            match msg {
                EngineMsg::Batch {
                    reader,
                    msgs,
                    caught_up,
                    mut ticket,
                } => {
                    // While a commit runs the readers keep fetching: what they queued
                    // meanwhile goes into the same transaction, whichever reader it comes
                    // from, so transactions grow exactly when commits are the bottleneck
                    // (within each reader's share: `joining`).
                    while let Ok(m) = rx.try_recv() {
                        held.push_back(m);
                    }
                    let shape: Vec<Option<(ReaderId, usize)>> = held
                        .iter()
                        .map(|m| match m {
                            EngineMsg::Batch { reader, msgs, .. } => Some((*reader, msgs.len())),
                            _ => None,
                        })
                        .collect();
                    let joins = joining((reader, msgs.len()), &shape, self.cfg.max_batch);
                    let mut batches: Vec<(ReaderId, Vec<Msg>, bool)> =
                        vec![(reader, msgs, caught_up)];
                    let mut rest: VecDeque<EngineMsg> = VecDeque::with_capacity(held.len());
                    for (m, join) in held
                        .drain(..)
                        .zip(joins.into_iter().chain(std::iter::repeat(false)))
                    {
                        match m {
                            EngineMsg::Batch {
                                reader,
                                msgs,
                                caught_up,
                                ticket: more,
                            } if join => {
                                ticket.absorb(more);
                                match batches.iter_mut().find(|b| b.0 == reader) {
                                    Some(b) => {
                                        b.1.extend(msgs);
                                        b.2 = caught_up;
                                    }
                                    None => batches.push((reader, msgs, caught_up)),
                                }
                            }
                            // What was passed over goes first next time, in its order.
                            other => rest.push_back(other),
                        }
                    }
                    held = rest;
                    self.apply_batches(batches);
                    drop(ticket);
                }
                EngineMsg::Tick => self.tick(),
                EngineMsg::Ctl(c) => self.control(c),
                EngineMsg::Published(p) => {
                    self.pending_deletes.extend(p);
                    // Drained: no batch will carry the deletes, and a drain waits for them.
                    if self.paused {
                        self.commit(|_, _| Ok(()));
                    }
                }
                EngineMsg::Stop => break,
            }
        }
        self.shared.engine_alive.store(false, Ordering::Relaxed);
        info!(positions = ?self.positions(), "engine stopped");
    }

    fn env(&self) -> ApplyEnv<'_> {
        ApplyEnv {
            sagas: &self.sagas,
            layout: &self.cfg.layout,
            stream_ids: &self.cfg.stream_ids,
            shard: &self.cfg.shard,
            max_event_bytes: self.cfg.max_event_bytes,
            now_ms: shared::now_ms(),
        }
    }

    /// Runs `f` in a write transaction (with the pending outbox deletes), retrying and
    /// reporting the problem until it commits. Returns `None` only when the runner is
    /// stopping.
    ///
    /// The lease fence is checked before every attempt and again as the last step inside
    /// the transaction, right before it commits: a commit retried for a long time (a full
    /// disk) or stalled never lands after the shard's lease could have expired.
    fn commit<R>(
        &mut self,
        mut f: impl FnMut(&mut Writer<'_>, &ApplyEnv<'_>) -> Result<R, StorageError>,
    ) -> Option<R> {
        let deletes = std::mem::take(&mut self.pending_deletes);
        let mut backoff =
            shared::backoff::Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let mut last_log: Option<Instant> = None;
        loop {
            if !self.wait_for_lease() {
                self.pending_deletes = deletes;
                return None;
            }
            let env = self.env();
            let fence = self.fence.clone();
            let result = self.vol.write(|w| {
                for p in &deletes {
                    w.delete_outbox(&p.key, &p.tenant, &p.saga)?;
                }
                let r = f(w, &env)?;
                if !fence.is_open() {
                    return Err(CommitError::Fenced);
                }
                Ok(r)
            });
            match result {
                Ok(r) => {
                    self.metrics
                        .commit_seconds
                        .observe(self.vol.last_commit().as_secs_f64());
                    if last_log.is_some() {
                        info!("volume writes succeed again");
                        self.shared.set_storage_problem(None);
                    }
                    return Some(r);
                }
                Err(CommitError::Fenced) => {
                    warn!(
                        "the shard's lease was not confirmed when the batch was ready to commit: not committed; retrying once it is"
                    );
                }
                Err(CommitError::Storage(e)) => {
                    self.metrics.storage_errors.inc();
                    if last_log.is_none_or(|t| t.elapsed() > Duration::from_secs(30)) {
                        error!(error = %e, "cannot commit a batch to the volume; taking no new work until it succeeds (nothing is lost: the batch is retried)");
                        last_log = Some(Instant::now());
                    }
                    self.shared
                        .set_storage_problem(Some(format!("volume: {e}")));
                    if self.stop.load(Ordering::Relaxed) {
                        self.pending_deletes = deletes;
                        return None;
                    }
                    std::thread::sleep(backoff.next_wait());
                }
            }
        }
    }

    /// Holds the engine while the lease fence is closed. False when stopping.
    fn wait_for_lease(&self) -> bool {
        if self.fence.is_open() {
            return true;
        }
        warn!("the shard's lease is not confirmed: applying nothing until it is");
        while !self.fence.is_open() {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            let closed = self.fence.closed_for().unwrap_or_default();
            self.shared.set_lease_problem(Some(format!(
                "the shard's lease has not been renewed for {:.1}s (NATS unreachable?): holding batches, nothing is applied until it is",
                closed.as_secs_f64()
            )));
            std::thread::sleep(Duration::from_millis(20));
        }
        self.shared.set_lease_problem(None);
        info!("lease confirmed again: applying");
        true
    }

    /// Reader position of each group read whole.
    fn positions(&self) -> std::collections::BTreeMap<Group, u64> {
        self.cfg
            .layout
            .groups()
            .filter(|g| self.groups[*g as usize].whole)
            .map(|g| (g, self.groups[g as usize].pos))
            .collect()
    }

    /// The single layout's one group reader's batch (tests).
    #[cfg(test)]
    fn main_batch(&mut self, msgs: Vec<Msg>) {
        self.apply_batches(vec![(ReaderId::Group(0), msgs, false)])
    }

    /// One lane's batch (tests).
    #[cfg(test)]
    fn lane_batch(&mut self, lane: u64, msgs: Vec<Msg>, caught_up: bool) {
        self.apply_batches(vec![(ReaderId::Lane(lane), msgs, caught_up)])
    }

    /// Applies batches of any readers in one transaction: each group reader's events of
    /// its live tenants (those of catching-up tenants are queued), each lane's events of its
    /// tenant. Readers read disjoint tenants' events (a catching-up tenant's events from its
    /// group reader are queued, not applied), so their order across readers does not matter;
    /// within a reader it is the stream's. `caught_up`: after its last event the reader had
    /// nothing pending.
    fn apply_batches(&mut self, batches: Vec<(ReaderId, Vec<Msg>, bool)>) {
        enum Route<'m> {
            Apply(&'m str, &'m str, &'m Msg),
            Invalid(&'m Msg, &'static str, String),
        }
        let start = Instant::now();
        let mut routes: Vec<Route<'_>> = Vec::new();
        let mut queued: Vec<(TenantId, String, Msg)> = Vec::new();
        // (group, new position, new time)
        let mut moved_groups: Vec<(Group, u64, u64)> = Vec::new();
        // (lane, tenant, its events, last sequence, caught up)
        type LaneBatch<'b> = (u64, TenantId, &'b [Msg], Option<u64>, bool);
        let mut lanes: Vec<LaneBatch<'_>> = Vec::new();
        for (reader, msgs, caught_up) in &batches {
            match reader {
                ReaderId::Group(group) => {
                    let Some(gs) = self.groups.get(*group as usize).copied() else {
                        continue;
                    };
                    if !gs.whole {
                        // Stopped reading it whole while this batch was on its way.
                        continue;
                    }
                    let (mut new_pos, mut new_time) = (gs.pos, gs.time);
                    for m in msgs {
                        if m.seq <= gs.pos {
                            continue;
                        }
                        new_pos = m.seq;
                        new_time = new_time.max(m.time_ms);
                        let (t, s) = match self.cfg.layout.split(*group, &m.subject) {
                            Ok(ts) => ts,
                            Err(bad) => {
                                routes.push(Route::Invalid(m, bad.code, bad.reason));
                                continue;
                            }
                        };
                        match self.tenants.get_key_value(t) {
                            Some((tid, Slot::Live))
                                if self.live_after.get(tid).is_some_and(|a| m.seq <= *a) =>
                            {
                                // Applied by its own reader before it went live.
                            }
                            Some((_, Slot::Live)) if is_valid_id(s) => {
                                routes.push(Route::Apply(t, s, m))
                            }
                            Some((tid, Slot::CatchingUp(cu))) if is_valid_id(s) && !cu.solo => {
                                queued.push((tid.clone(), s.to_string(), m.clone()))
                            }
                            Some((_, Slot::CatchingUp(_))) if is_valid_id(s) => {}
                            Some(_) => routes.push(Route::Invalid(
                                m,
                                "invalid_subject",
                                format!("subject '{}': saga name is not a valid id", m.subject),
                            )),
                            None if is_valid_id(t) => {}
                            None => routes.push(Route::Invalid(
                                m,
                                "invalid_subject",
                                format!("subject '{}': tenant id is not a valid id", m.subject),
                            )),
                        }
                    }
                    if new_pos > gs.pos {
                        moved_groups.push((*group, new_pos, new_time));
                    }
                }
                ReaderId::Lane(lane) => {
                    let Some(tenant) = self.lanes.get(lane).cloned() else {
                        continue;
                    };
                    let group = self.group_of(tenant.as_str());
                    for m in msgs {
                        match self.cfg.layout.split(group, &m.subject) {
                            Ok((t, s)) if t == tenant.as_str() && is_valid_id(s) => {
                                routes.push(Route::Apply(t, s, m))
                            }
                            Ok((t, _)) if t == tenant.as_str() => routes.push(Route::Invalid(
                                m,
                                "invalid_subject",
                                format!("subject '{}': saga name is not a valid id", m.subject),
                            )),
                            _ => {}
                        }
                    }
                    lanes.push((
                        *lane,
                        tenant,
                        msgs.as_slice(),
                        msgs.last().map(|m| m.seq),
                        *caught_up,
                    ));
                }
            }
        }
        let mut ctx = None;
        if !moved_groups.is_empty() || lanes.iter().any(|l| l.3.is_some()) {
            let floors = std::mem::take(&mut self.floors);
            let layout = self.cfg.layout.clone();
            ctx = self.commit(|w, env| {
                let mut ctx = BatchCtx::default();
                for r in &routes {
                    match r {
                        Route::Apply(t, s, m) => {
                            apply::apply_event(w, &mut ctx, env, &floors, t, s, m)?
                        }
                        Route::Invalid(m, code, reason) => apply::dead_letter(
                            w,
                            &mut ctx,
                            env,
                            None,
                            m,
                            &Rejection::new(code, reason.clone()),
                        )?,
                    }
                }
                ctx.flush_checkpoints(w, env.now_ms)?;
                for (g, pos, _) in &moved_groups {
                    w.set_meta_u64(&meta::reader_position(&layout, *g), *pos)?;
                }
                for (_, tenant, _, last, _) in &lanes {
                    if let Some(last) = last {
                        w.set_cursor(tenant.as_str(), &cursor_at(Some(*last), env.now_ms))?;
                    }
                }
                Ok(ctx)
            });
            self.floors = floors;
            if ctx.is_none() {
                return;
            }
        }
        for (g, pos, time) in &moved_groups {
            let gs = &mut self.groups[*g as usize];
            gs.pos = *pos;
            gs.time = *time;
        }
        if !moved_groups.is_empty() {
            self.set_position_gauge();
            self.metrics
                .last_commit
                .set(shared::now_ms() as f64 / 1000.0);
            if !self.live_after.is_empty() {
                let passed: Vec<TenantId> = self
                    .live_after
                    .iter()
                    .filter(|(t, after)| self.group(t.as_str()).pos >= **after)
                    .map(|(t, _)| t.clone())
                    .collect();
                for t in passed {
                    self.live_after.remove(&t);
                }
            }
        }
        if let Some(ctx) = &ctx {
            for (_, tenant, msgs, last, _) in &lanes {
                if let Some(last) = last {
                    self.replay_progress(tenant, msgs, ctx, *last);
                }
            }
        }
        for (_, tenant, msgs, last, _) in &lanes {
            let Some(last) = last else { continue };
            if let Some(Slot::CatchingUp(cu)) = self.tenants.get_mut(tenant) {
                cu.last = cu.last.max(*last);
                cu.time = msgs.iter().map(|m| m.time_ms).fold(cu.time, u64::max);
                if let Some(v) = self
                    .shared
                    .engine
                    .lock()
                    .expect("lock")
                    .tenants
                    .get_mut(tenant.as_str())
                {
                    v.position = cu.position();
                }
            }
        }
        if let Some(ctx) = ctx {
            self.after_commit(ctx, start);
        }
        self.enqueue(queued);
        let lanes: Vec<(TenantId, bool)> = lanes
            .into_iter()
            .map(|(_, t, _, _, caught_up)| (t, caught_up))
            .collect();
        drop(batches);
        for (tenant, caught_up) in lanes {
            self.after_lane_batch(tenant, caught_up);
        }
    }

    /// Queues the main reader's events of catching-up tenants, and hands over those whose
    /// own reader has reached the queue.
    fn enqueue(&mut self, queued: Vec<(TenantId, String, Msg)>) {
        if queued.is_empty() {
            return;
        }
        let mut touched: Vec<TenantId> = Vec::new();
        for (tenant, saga, m) in queued {
            let Some(Slot::CatchingUp(cu)) = self.tenants.get_mut(&tenant) else {
                continue;
            };
            if m.seq <= cu.last {
                // Its own reader applied it already (or it was applied elsewhere before the
                // tenant came here).
                continue;
            }
            if cu.queue.len() >= self.cfg.queue_max_events
                || cu.queue_bytes + m.payload.len() > QUEUE_MAX_BYTES
            {
                debug!(tenant = %tenant, "catch-up queue full: dropping it, the tenant's own reader will deliver these events");
                cu.dropped_max = m.seq;
                cu.queue.clear();
                cu.queue_bytes = 0;
                continue;
            }
            cu.queue_bytes += m.payload.len();
            cu.queue.push_back((saga, m));
            if !touched.contains(&tenant) {
                touched.push(tenant);
            }
        }
        for t in touched {
            let ready = matches!(self.tenants.get(&t), Some(Slot::CatchingUp(cu)) if cu.queue.front().is_some_and(|(_, m)| m.seq <= cu.last));
            if ready {
                self.go_live(t);
            }
        }
    }

    /// After a lane's batch: a tenant on its own reader for good ends its replays once the
    /// reader re-read everything; a catching-up tenant goes live once its reader reached the
    /// queue of its group reader's events (or, with none, has nothing pending).
    fn after_lane_batch(&mut self, tenant: TenantId, caught_up: bool) {
        let ready = match self.tenants.get(&tenant) {
            Some(Slot::CatchingUp(cu)) if cu.solo => {
                // Read by its own reader for good: a replay is over once it has re-read
                // everything there was.
                if caught_up {
                    self.end_replays(tenant.as_str(), ReplayState::Completed);
                }
                false
            }
            Some(Slot::CatchingUp(cu)) => match cu.queue.front() {
                Some((_, m)) => m.seq <= cu.last,
                None => caught_up && cu.last >= cu.dropped_max,
            },
            _ => false,
        };
        if ready {
            self.go_live(tenant);
        }
    }

    /// Hands a caught-up tenant to the main reader: applies its queue and marks it live.
    fn go_live(&mut self, tenant: TenantId) {
        let Some(Slot::CatchingUp(cu)) = self.tenants.remove(&tenant) else {
            return;
        };
        let start = Instant::now();
        let floors = std::mem::take(&mut self.floors);
        // Its own reader may be ahead of the group reader: the group reader must then skip
        // its events up to there.
        let ahead = cu
            .last
            .max(cu.queue.back().map(|(_, m)| m.seq).unwrap_or(0));
        let after = (ahead > self.group(tenant.as_str()).pos).then_some(ahead);
        let ctx = self.commit(|w, env| {
            let mut ctx = BatchCtx::default();
            for (s, m) in cu.queue.iter().filter(|(_, m)| m.seq > cu.last) {
                apply::apply_event(w, &mut ctx, env, &floors, tenant.as_str(), s, m)?;
            }
            ctx.flush_checkpoints(w, env.now_ms)?;
            w.set_cursor(
                tenant.as_str(),
                &live_cursor(after.unwrap_or(0), env.now_ms),
            )?;
            Ok(ctx)
        });
        self.floors = floors;
        let Some(ctx) = ctx else {
            self.tenants.insert(tenant, Slot::CatchingUp(cu));
            return;
        };
        info!(tenant = %tenant, through = cu.last.max(self.group(tenant.as_str()).pos), queued = cu.queue.len(), "tenant caught up: now served by the main reader (of its group)");
        self.end_replays(tenant.as_str(), ReplayState::Completed);
        self.lanes.remove(&cu.lane);
        let _ = self.readers.send(ReaderCmd::Stop(ReaderId::Lane(cu.lane)));
        match after {
            Some(a) => self.live_after.insert(tenant.clone(), a),
            None => self.live_after.remove(&tenant),
        };
        self.tenants.insert(tenant, Slot::Live);
        self.after_commit(ctx, start);
        self.publish_view();
    }

    /// A tenant's timer watermark (ms, stream time): every event of the tenant stored at or
    /// before it has been applied, so its timers due by then may fire. None when its timers
    /// may not fire now (drained, or catching up: a rebuilt instance sees its events before
    /// its timers).
    ///
    /// For a live tenant it is its group reader's, for a tenant on a reader of its own for
    /// good that reader's: the stream time of the last event the reader applied, or, once
    /// the engine has applied everything up to a sequence the server confirmed as the end
    /// of what the reader reads at some moment (`reader::confirm_delivered`), that moment
    /// less `timer_grace` (for clock skew).
    fn mark_of(&self, tenant: &TenantId) -> Option<u64> {
        let fired = self.fired_through.get(tenant).copied().unwrap_or(0);
        self.reader_mark_of(tenant).map(|m| m.max(fired))
    }

    fn reader_mark_of(&self, tenant: &TenantId) -> Option<u64> {
        if self.paused {
            return None;
        }
        match self.tenants.get(tenant)? {
            Slot::Live => {
                let g = self.group_of(tenant.as_str());
                let gs = self.groups[g as usize];
                if !self.main_started {
                    return Some(gs.time);
                }
                let (at, seq) = self.shared.confirmed_of(ReaderId::Group(g));
                Some(self.confirmed_mark(gs.time, at, seq, gs.pos))
            }
            Slot::CatchingUp(cu) if cu.solo => {
                let (at, seq) = self.shared.confirmed_of(ReaderId::Lane(cu.lane));
                Some(self.confirmed_mark(cu.time, at, seq, cu.last))
            }
            Slot::CatchingUp(_) => None,
        }
    }

    fn confirmed_mark(&self, time: u64, at: u64, seq: u64, applied: u64) -> u64 {
        if at > 0 && applied >= seq {
            let confirmed = at.saturating_sub(self.cfg.timer_grace.as_millis() as u64);
            time.max(confirmed)
        } else {
            time
        }
    }

    /// Ends a restored volume's guard once every tenant it covers is applied past the end
    /// of its stream as of the restore's check, and its timers past the time of the check
    /// (so everything the lost volume applied and fired was re-applied here, its messages
    /// suppressed); a tenant handed over since (released here) no longer counts. Looked at
    /// once a second.
    fn maybe_end_guard(&mut self) {
        let now = Instant::now();
        if now < self.guard_check {
            return;
        }
        self.guard_check = now + Duration::from_secs(1);
        // Read each time: a tenant restored from a snapshot (`runnerctl move --from-snapshot`)
        // adds to it while the runner runs.
        let guard = match self.vol.read(|r| r.restore_guard()) {
            Ok(Some(g)) => g,
            Ok(None) => {
                self.metrics.restore_guard.set(0);
                return;
            }
            Err(e) => {
                warn!(error = %e, "cannot read the restore guard");
                return;
            }
        };
        self.metrics.restore_guard.set(1);
        if self.paused || self.timer_backlog || !self.shared.placement_ready.load(Ordering::Acquire)
        {
            return;
        }
        let waiting = self.shared.waiting.lock().expect("lock").clone();
        let view = self.shared.engine.lock().expect("lock").clone();
        for t in &guard.tenants {
            match TenantId::new(t.clone())
                .ok()
                .filter(|id| self.tenants.contains_key(id))
            {
                Some(id) => {
                    let until = guard.until.get(&self.group_of(t)).copied().unwrap_or(0);
                    let at = view.position_of(t).unwrap_or(0);
                    let mark = self.mark_of(&id).unwrap_or(0);
                    if at < until || mark < guard.built_at_ms {
                        return;
                    }
                }
                // Not served: done once handed over (released here), or when it is not
                // this shard's at all (no cursor, not waiting to be served).
                None => {
                    let done = match self.vol.read(|r| r.cursor(t)) {
                        Ok(Some(c)) => c.mode == CursorMode::Released,
                        Ok(None) => !waiting.contains_key(t),
                        Err(_) => false,
                    };
                    if !done {
                        return;
                    }
                }
            }
        }
        if let Some(Some(left)) = self.commit(|w, _| w.clear_guard_if(&guard)) {
            info!(
                snapshot = %guard.snapshot,
                ids_left = left,
                suppressed = guard.suppressed,
                "every tenant restored from a snapshot caught up with what its lost volume had done: the guard against publishing again ends"
            );
            self.metrics.restore_guard.set(0);
        }
    }

    /// Fires the live tenants' timers due by the watermark, and deletes published outbox
    /// entries when nothing else would.
    fn tick(&mut self) {
        self.maybe_end_guard();
        self.timer_backlog = false;
        let lanes: std::collections::HashSet<u64> = self
            .tenants
            .iter()
            .filter_map(|(t, slot)| match slot {
                Slot::CatchingUp(cu)
                    if cu.solo
                        && self.floors.may_have_timers(
                            t.as_str(),
                            self.sagas.names().map(|n| n.as_str()),
                        ) =>
                {
                    Some(cu.lane)
                }
                _ => None,
            })
            .collect();
        *self.shared.confirm_lanes.lock().expect("lock") = lanes;
        if self.paused {
            if !self.pending_deletes.is_empty() {
                self.commit(|_, _| Ok(()));
            }
            return;
        }
        let sagas: Vec<String> = self.sagas.names().map(|n| n.to_string()).collect();
        let marks: Vec<(TenantId, u64)> = self
            .tenants
            .keys()
            .filter_map(|t| self.mark_of(t).map(|m| (t.clone(), m)))
            .collect();
        let due: Vec<(TenantId, String, u64)> = marks
            .iter()
            .flat_map(|(t, m)| sagas.iter().map(move |s| (t.clone(), s.clone(), *m)))
            .filter(|(t, s, m)| self.floors.get(t.as_str(), s).is_none_or(|f| f <= *m))
            .collect();
        let record = |fired: &mut HashMap<TenantId, u64>| {
            for (t, m) in &marks {
                let f = fired.entry(t.clone()).or_default();
                *f = (*f).max(*m);
            }
        };
        if due.is_empty() {
            record(&mut self.fired_through);
            if !self.pending_deletes.is_empty() {
                self.commit(|_, _| Ok(()));
            }
            return;
        }
        let start = Instant::now();
        let floors = std::mem::take(&mut self.floors);
        let ctx = self.commit(|w, env| {
            let mut ctx = BatchCtx::default();
            let mut fired = 0;
            for (t, s, mark) in &due {
                fired += apply::fire_due(
                    w,
                    &mut ctx,
                    env,
                    &floors,
                    t.as_str(),
                    s,
                    *mark,
                    TIMERS_PER_TXN - fired,
                )?;
                if fired >= TIMERS_PER_TXN {
                    break;
                }
            }
            Ok(ctx)
        });
        self.floors = floors;
        let Some(ctx) = ctx else { return };
        self.timer_backlog = ctx.timers_fired >= TIMERS_PER_TXN;
        if !self.timer_backlog {
            // Every timer due by its tenant's watermark fired (none was left for later).
            record(&mut self.fired_through);
        }
        self.after_commit(ctx, start);
    }

    fn after_commit(&mut self, mut ctx: BatchCtx, start: Instant) {
        self.floors.merge(std::mem::take(&mut ctx.floors));
        let m = &self.metrics;
        m.batches.inc();
        m.batch_seconds.observe(start.elapsed().as_secs_f64());
        for (tenant, per) in ctx.sagas {
            for (saga, acc) in per {
                if self.sagas.get(&saga).is_none() {
                    self.shared.note_undeclared(&tenant, &saga);
                }
                m.events_applied.inc_by(acc.counts[0]);
                for (i, n) in acc.counts.iter().enumerate() {
                    if *n > 0 {
                        let labels = OutcomeLabels {
                            tenant: tenant.clone(),
                            saga: saga.clone(),
                            outcome: outcome::ALL[i],
                        };
                        m.saga_events
                            .get_or_create(&crate::metrics::SagaOutcomeLabels {
                                saga: saga.clone(),
                                outcome: outcome::ALL[i],
                            })
                            .inc_by(*n);
                        m.events.get_or_create(&labels).inc_by(*n);
                    }
                }
                let labels = SagaLabels {
                    tenant: tenant.clone(),
                    saga,
                };
                if acc.timers_fired > 0 {
                    m.timers_fired
                        .get_or_create(&labels)
                        .inc_by(acc.timers_fired);
                }
                if let Some(seq) = acc.checkpoint {
                    m.checkpoint.get_or_create(&labels).set(seq as i64);
                }
            }
        }
        for code in &ctx.dead_letter_codes {
            m.dead_letters
                .get_or_create(&crate::metrics::ReasonLabels { reason: code })
                .inc();
        }
        for d in &ctx.timer_delays_ms {
            m.timer_delay.observe(*d as f64 / 1000.0);
        }
        if ctx.invalid_subjects > 0 {
            m.invalid_subjects.inc_by(ctx.invalid_subjects);
            warn!(
                count = ctx.invalid_subjects,
                "events with invalid subjects dead-lettered to dlq.invalid-subject"
            );
        }
        let now = shared::now_ms();
        for t in ctx.applied_times {
            m.apply_latency
                .observe(now.saturating_sub(t) as f64 / 1000.0);
        }
        if ctx.outbox_added > 0 {
            self.outbox_notify.notify_one();
        }
        if ctx.suppressed > 0 {
            m.restore_suppressed.inc_by(ctx.suppressed);
        }
        self.shared.engine.lock().expect("lock").positions = self.positions();
    }

    /// Tells the admin API which tenants are served and how.
    fn publish_view(&self) {
        let mut view = self.shared.engine.lock().expect("lock");
        view.positions = self.positions();
        view.tenants = self
            .tenants
            .iter()
            .map(|(t, s)| {
                let group = self.group_of(t.as_str());
                let v = match s {
                    Slot::Live => TenantView {
                        mode: CursorMode::Live,
                        reader: ReaderId::Group(group),
                        group,
                        own_reader: false,
                        position: self.live_pos(t.as_str()),
                    },
                    Slot::CatchingUp(cu) => TenantView {
                        mode: CursorMode::CatchingUp,
                        reader: ReaderId::Lane(cu.lane),
                        group,
                        own_reader: cu.solo,
                        position: cu.position(),
                    },
                };
                (t.to_string(), v)
            })
            .collect();
    }
}

/// Where a group starts being read whole when none of its tenants is live here (so no event
/// is owed to a live tenant, whatever the position): after the larger of its stored position
/// and the position of the least advanced of its tenants here (`at`; none: the stored
/// position). Nothing a tenant here still needs is before it, and a group read before
/// is not read again from its start.
/// Which queued messages join a transaction that starts with `first` (reader, events):
/// batches, in queue order, until `max_batch` events or a message that is not a batch.
/// While several readers have batches queued, each puts at most
/// [`MERGE_PER_READER_EVENTS`] in (and at least its first batch): a burst on one reader
/// delays the others by one short transaction, not by its whole backlog. Once a batch of
/// a reader stays out, its later ones do too, so a reader's events keep their order.
fn joining(
    first: (ReaderId, usize),
    queued: &[Option<(ReaderId, usize)>],
    max_batch: usize,
) -> Vec<bool> {
    let mut readers = vec![first.0];
    for (r, _) in queued.iter().map_while(|q| *q) {
        if !readers.contains(&r) {
            readers.push(r);
        }
    }
    let per_reader = if readers.len() > 1 {
        MERGE_PER_READER_EVENTS
    } else {
        usize::MAX
    };
    let mut taken: Vec<(ReaderId, usize)> = vec![first];
    let mut closed: Vec<ReaderId> = Vec::new();
    let mut n = first.1;
    let mut out = Vec::with_capacity(queued.len());
    for q in queued {
        let Some((reader, len)) = *q else { break };
        if n >= max_batch {
            break;
        }
        let mine = taken.iter_mut().find(|t| t.0 == reader);
        let join = !closed.contains(&reader)
            && match &mine {
                Some(t) => t.1 + len <= per_reader,
                None => true,
            };
        if join {
            n += len;
            match mine {
                Some(t) => t.1 += len,
                None => taken.push((reader, len)),
            }
        } else {
            closed.push(reader);
        }
        out.push(join);
    }
    out
}

fn start_whole_at(stored: u64, at: Option<u64>) -> u64 {
    stored.max(at.unwrap_or(0))
}

/// The cursor of a live tenant whose events up to `after` were applied (0: all up to its
/// group reader's position, nothing beyond).
fn live_cursor(after: u64, now: u64) -> TenantCursor {
    TenantCursor {
        mode: CursorMode::Live,
        seq: after,
        updated_at_ms: now,
    }
}

/// The cursor of a tenant starting live (`None`) or on its own reader after `seq`.
fn cursor_at(from: Option<u64>, now: u64) -> TenantCursor {
    match from {
        None => TenantCursor {
            mode: CursorMode::Live,
            seq: 0,
            updated_at_ms: now,
        },
        Some(seq) => TenantCursor {
            mode: CursorMode::CatchingUp,
            seq,
            updated_at_ms: now,
        },
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod timer_tests;
