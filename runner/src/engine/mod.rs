//! The engine: the one thread that writes the volume. It applies batches from the readers
//! (one MDBX transaction per batch), keeps each tenant's mode (live on the shard's main
//! reader, or catching up on a reader of its own), fires due timers, and tells the outbox
//! relay when there is something to publish.
//!
//! Catching up, and the hand-over to the main reader: while tenant T catches up, the main
//! reader's events of T are queued in memory (bounded) instead of applied. T's own reader
//! applies T's events from T's cursor on. T goes live, applying the queue first, as soon as
//! its reader has delivered an event at or past the head of the queue, or (queue empty) has
//! nothing pending: from then on every event of T up to the main reader's position is
//! applied. Events seen twice in the overlap are skipped by the checkpoint. If the queue
//! overflows it is dropped (T's reader delivers those events anyway) and T waits for its
//! reader to pass the dropped ones.

pub mod apply;
mod control;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use shared::edge_storage::{CursorMode, StorageError, TenantCursor, Volume, Writer, meta};
use shared::ids::{TenantId, is_valid_id};
use shared::names;
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
    /// Start the main reader (deferred until the initial placement is known, so tenants
    /// acquired at start begin on it instead of each catching up).
    StartMainReader,
    /// Serve these tenants, each after its position (everything up to it was applied
    /// elsewhere and is skipped here) or, if `None`, from where this volume left it (or the
    /// first event). One transaction for all.
    Acquire {
        tenants: Vec<(TenantId, Option<u64>)>,
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

/// How an acquired tenant started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    /// On the main reader already, or catching up on a reader of its own.
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
        /// Subject filter (`evt.<tenant>.>`), none for the main reader.
        filter: Option<String>,
        /// First stream sequence to deliver.
        start_seq: u64,
    },
    Stop(ReaderId),
}

enum Slot {
    Live,
    CatchingUp(CatchUp),
}

struct CatchUp {
    lane: u64,
    /// Every event of the tenant up to here has been applied by its own reader.
    last: u64,
    /// The main reader's events of the tenant, not yet applied, in stream order.
    queue: VecDeque<(String, Msg)>,
    queue_bytes: usize,
    /// Highest sequence dropped from an overflowing queue.
    dropped_max: u64,
}

/// Settings of the engine.
pub struct EngineConfig {
    pub stream: String,
    /// The event stream's identity (`names::msg_id::stream_identity`).
    pub stream_id: String,
    /// How far behind the clock the timer watermark stays while the shard is idle
    /// (`RUNNER_TIMER_GRACE`): more than the clock skew between runner and NATS hosts plus
    /// the delivery delay of an event.
    pub timer_grace: Duration,
    pub shard: String,
    pub max_event_bytes: usize,
    /// Most events queued per catching-up tenant ([`QUEUE_MAX_EVENTS`]).
    pub queue_max_events: usize,
    /// Most events of the main reader applied in one transaction.
    pub max_batch: usize,
    /// Start the main reader only on [`Ctl::StartMainReader`].
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
    main_pos: u64,
    tenants: HashMap<TenantId, Slot>,
    lanes: HashMap<u64, TenantId>,
    next_lane: u64,
    /// Earliest pending timer per served tenant+saga.
    floors: TimerFloors,
    /// Stream time of the event at `main_pos` (0: not known since start).
    main_time: u64,
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
}

impl Engine {
    /// Sets up the tenants' modes from their cursors and asks for the readers they need.
    pub fn new(
        vol: Arc<Volume>,
        sagas: SagaRegistry,
        cfg: EngineConfig,
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
        let (main_pos, cursors) = vol.read(|r| {
            Ok::<_, StorageError>((
                r.meta_u64(meta::READER_POSITION)?.unwrap_or(0),
                r.cursors()?,
            ))
        })?;
        let cursors: HashMap<String, TenantCursor> = cursors.into_iter().collect();
        let mut e = Engine {
            vol,
            sagas,
            cfg,
            main_pos,
            tenants: HashMap::new(),
            lanes: HashMap::new(),
            next_lane: 1,
            floors: TimerFloors::default(),
            main_time: 0,
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
        };
        let now = shared::now_ms();
        // Where each owned tenant stands: live, or caught up to a sequence.
        let mut plan: Vec<(TenantId, Option<u64>)> = Vec::new();
        for t in owned {
            let from = match cursors.get(t.as_str()) {
                Some(c) if c.mode == CursorMode::Live => None,
                Some(c) if c.seq >= main_pos => None,
                Some(c) => Some(c.seq),
                None if main_pos == 0 => None,
                None => Some(0),
            };
            plan.push((t.clone(), from));
        }
        e.vol.write(|w| {
            for (t, c) in &cursors {
                if !owned.iter().any(|o| o.as_str() == t) && c.mode != CursorMode::Released {
                    let seq = if c.mode == CursorMode::Live {
                        main_pos
                    } else {
                        c.seq
                    };
                    info!(tenant = %t, seq, "tenant no longer served here: released");
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
                let cursor = match from {
                    None => TenantCursor {
                        mode: CursorMode::Live,
                        seq: 0,
                        updated_at_ms: now,
                    },
                    Some(seq) => TenantCursor {
                        mode: CursorMode::CatchingUp,
                        seq: *seq,
                        updated_at_ms: now,
                    },
                };
                w.set_cursor(t.as_str(), &cursor)?;
            }
            Ok::<_, StorageError>(())
        })?;
        e.metrics.reader_position.set(main_pos as i64);
        if !e.cfg.defer_main_reader {
            e.start_main_reader();
        }
        for (t, from) in plan {
            match from {
                None => {
                    e.tenants.insert(t, Slot::Live);
                }
                Some(seq) => e.start_catch_up(t, seq),
            }
        }
        e.publish_view();
        info!(
            reader_position = main_pos,
            live = e
                .tenants
                .values()
                .filter(|s| matches!(s, Slot::Live))
                .count(),
            catching_up = e.lanes.len(),
            "engine ready"
        );
        Ok(e)
    }

    fn start_main_reader(&mut self) {
        if self.main_started {
            return;
        }
        self.main_started = true;
        self.send_reader(ReaderCmd::Start {
            reader: ReaderId::Main,
            filter: None,
            start_seq: self.main_pos + 1,
        });
    }

    fn control(&mut self, c: Ctl) {
        match c {
            Ctl::StartMainReader => self.start_main_reader(),
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
        tenants: Vec<(TenantId, Option<u64>)>,
    ) -> Vec<(TenantId, Result<Started, String>)> {
        let mut out = Vec::new();
        // (tenant, after, from): from None = live, Some(seq) = catch up from seq + 1.
        let mut plan: Vec<(TenantId, Option<u64>, Option<u64>)> = Vec::new();
        let main_pos = self.main_pos;
        for (tenant, after) in tenants {
            if let Some(slot) = self.tenants.get(&tenant) {
                let started = match slot {
                    Slot::Live => Started {
                        live: true,
                        from: main_pos + 1,
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
                Ok::<_, StorageError>((r.cursor(tenant.as_str())?, r.meta_raw(&marker)?.is_some()))
            });
            let cursor = match read {
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
            let from = match (after, cursor) {
                (Some(p), _) if p >= main_pos => None,
                (Some(p), _) => Some(p),
                (None, Some(c)) if c.mode == CursorMode::Live || c.seq >= main_pos => None,
                (None, Some(c)) => Some(c.seq),
                (None, None) if main_pos == 0 => None,
                (None, None) => Some(0),
            };
            plan.push((tenant, after, from));
        }
        if plan.is_empty() {
            return out;
        }
        let sagas: Vec<String> = self.sagas.names().map(|n| n.to_string()).collect();
        let committed = self.commit(|w, env| {
            for (t, after, from) in &plan {
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
                let cursor = match from {
                    None => TenantCursor {
                        mode: CursorMode::Live,
                        seq: 0,
                        updated_at_ms: env.now_ms,
                    },
                    Some(seq) => TenantCursor {
                        mode: CursorMode::CatchingUp,
                        seq: *seq,
                        updated_at_ms: env.now_ms,
                    },
                };
                w.set_cursor(t.as_str(), &cursor)?;
            }
            Ok(())
        });
        if committed.is_none() {
            out.extend(
                plan.into_iter()
                    .map(|(t, _, _)| (t, Err("the runner is stopping".to_string()))),
            );
            return out;
        }
        for (tenant, after, from) in plan {
            let started = match from {
                None => {
                    info!(tenant = %tenant, after = ?after, "tenant served by the main reader");
                    self.floors.forget(tenant.as_str());
                    self.tenants.insert(tenant.clone(), Slot::Live);
                    Started {
                        live: true,
                        from: main_pos + 1,
                    }
                }
                Some(seq) => {
                    self.start_catch_up(tenant.clone(), seq);
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

    /// Fires the timers of these tenants (the live ones) due by the watermark, in one
    /// transaction, so that what a release or a replay's reset sees does not depend on
    /// when the last watermark pass ran. Returns the watermark used (0 when nothing may
    /// fire: drained).
    fn fire_due_of(&mut self, tenants: &[TenantId]) -> u64 {
        if self.paused {
            return 0;
        }
        let mark = self.watermark();
        let sagas: Vec<String> = self.sagas.names().map(|n| n.to_string()).collect();
        let live: Vec<&TenantId> = tenants
            .iter()
            .filter(|t| matches!(self.tenants.get(*t), Some(Slot::Live)))
            .collect();
        if live.is_empty() {
            return 0;
        }
        let live: Vec<TenantId> = live.into_iter().cloned().collect();
        let start = Instant::now();
        let floors = std::mem::take(&mut self.floors);
        let ctx = self.commit(|w, env| {
            let mut ctx = BatchCtx::default();
            for t in &live {
                for s in &sagas {
                    apply::fire_due(w, &mut ctx, env, &floors, t.as_str(), s, mark, usize::MAX)?;
                }
            }
            Ok(ctx)
        });
        self.floors = floors;
        match ctx {
            Some(ctx) => {
                self.after_commit(ctx, start);
                mark
            }
            None => 0,
        }
    }

    /// Stops serving tenants (see [`Ctl::Release`]).
    fn release(&mut self, tenants: Vec<TenantId>) -> Vec<(TenantId, Option<Released>)> {
        let mark = self.fire_due_of(&tenants);
        let mut out = Vec::new();
        for tenant in tenants {
            let Some(slot) = self.tenants.remove(&tenant) else {
                out.push((tenant, None));
                continue;
            };
            self.floors.forget(tenant.as_str());
            let released = match slot {
                Slot::Live => Released {
                    position: self.main_pos,
                    timers_through_ms: mark,
                },
                Slot::CatchingUp(cu) => {
                    self.lanes.remove(&cu.lane);
                    let _ = self.readers.send(ReaderCmd::Stop(ReaderId::Lane(cu.lane)));
                    Released {
                        position: cu.last,
                        timers_through_ms: 0,
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

    fn start_catch_up(&mut self, tenant: TenantId, from_seq: u64) {
        self.floors.forget(tenant.as_str());
        let lane = self.next_lane;
        self.next_lane += 1;
        info!(tenant = %tenant, from_seq = from_seq + 1, "tenant catching up on its own reader");
        self.send_reader(ReaderCmd::Start {
            reader: ReaderId::Lane(lane),
            filter: Some(shared::names::tenant_event_filter(&tenant)),
            start_seq: from_seq + 1,
        });
        self.lanes.insert(lane, tenant.clone());
        self.tenants.insert(
            tenant,
            Slot::CatchingUp(CatchUp {
                lane,
                last: from_seq,
                queue: VecDeque::new(),
                queue_bytes: 0,
                dropped_max: 0,
            }),
        );
    }

    /// Runs until told to stop. Returns when the current batch is committed.
    pub fn run(mut self, mut rx: mpsc::Receiver<EngineMsg>) {
        self.shared.engine_alive.store(true, Ordering::Relaxed);
        let mut held: Option<EngineMsg> = None;
        loop {
            let msg = match held.take() {
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
                    reader: ReaderId::Main,
                    mut msgs,
                    mut ticket,
                    ..
                } => {
                    // While a commit runs the main reader keeps fetching: take what it queued
                    // meanwhile into the same transaction, so batches grow exactly when
                    // commits are the bottleneck.
                    while msgs.len() < self.cfg.max_batch {
                        match rx.try_recv() {
                            Ok(EngineMsg::Batch {
                                reader: ReaderId::Main,
                                msgs: more,
                                ticket: more_ticket,
                                ..
                            }) => {
                                ticket.absorb(more_ticket);
                                msgs.extend(more)
                            }
                            Ok(other) => {
                                held = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.main_batch(msgs);
                    drop(ticket);
                }
                EngineMsg::Batch {
                    reader: ReaderId::Lane(lane),
                    mut msgs,
                    mut caught_up,
                    mut ticket,
                } => {
                    // Same as the main reader: what the lane queued during the last commit
                    // goes into one transaction (a replay or a long catch-up is a backlog).
                    while msgs.len() < self.cfg.max_batch {
                        match rx.try_recv() {
                            Ok(EngineMsg::Batch {
                                reader: ReaderId::Lane(l),
                                msgs: more,
                                caught_up: c,
                                ticket: more_ticket,
                            }) if l == lane => {
                                ticket.absorb(more_ticket);
                                msgs.extend(more);
                                caught_up = c;
                            }
                            Ok(other) => {
                                held = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.lane_batch(lane, msgs, caught_up);
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
        info!(reader_position = self.main_pos, "engine stopped");
    }

    fn env(&self) -> ApplyEnv<'_> {
        ApplyEnv {
            sagas: &self.sagas,
            stream: &self.cfg.stream,
            stream_id: &self.cfg.stream_id,
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

    fn main_batch(&mut self, msgs: Vec<Msg>) {
        enum Route<'m> {
            Apply(&'m str, &'m str, &'m Msg),
            Invalid(&'m Msg, String),
        }
        let start = Instant::now();
        let mut routes = Vec::with_capacity(msgs.len());
        let mut queued: Vec<(TenantId, String, Msg)> = Vec::new();
        let mut new_pos = self.main_pos;
        let mut new_time = self.main_time;
        for m in &msgs {
            if m.seq <= self.main_pos {
                continue;
            }
            new_pos = m.seq;
            new_time = new_time.max(m.time_ms);
            let Some((t, s)) = names::split_event_subject(&m.subject) else {
                routes.push(Route::Invalid(
                    m,
                    names::bad_event_subject_reason(&m.subject),
                ));
                continue;
            };
            match self.tenants.get_key_value(t) {
                Some((_, Slot::Live)) if is_valid_id(s) => routes.push(Route::Apply(t, s, m)),
                Some((tid, Slot::CatchingUp(_))) if is_valid_id(s) => {
                    queued.push((tid.clone(), s.to_string(), m.clone()))
                }
                Some(_) => routes.push(Route::Invalid(
                    m,
                    format!("subject '{}': saga name is not a valid id", m.subject),
                )),
                None if is_valid_id(t) => {}
                None => routes.push(Route::Invalid(
                    m,
                    format!("subject '{}': tenant id is not a valid id", m.subject),
                )),
            }
        }
        if new_pos == self.main_pos {
            return;
        }
        let floors = std::mem::take(&mut self.floors);
        let ctx = self.commit(|w, env| {
            let mut ctx = BatchCtx::default();
            for r in &routes {
                match r {
                    Route::Apply(t, s, m) => {
                        apply::apply_event(w, &mut ctx, env, &floors, t, s, m)?
                    }
                    Route::Invalid(m, reason) => apply::dead_letter(
                        w,
                        &mut ctx,
                        env,
                        None,
                        m,
                        &Rejection::new("invalid_subject", reason.clone()),
                    )?,
                }
            }
            ctx.flush_checkpoints(w, env.now_ms)?;
            w.set_meta_u64(meta::READER_POSITION, new_pos)?;
            Ok(ctx)
        });
        self.floors = floors;
        let Some(ctx) = ctx else { return };
        self.main_pos = new_pos;
        self.main_time = new_time;
        self.metrics.reader_position.set(new_pos as i64);
        self.metrics.last_commit_ms.set(shared::now_ms() as i64);
        self.after_commit(ctx, start);
        self.enqueue(queued);
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

    fn lane_batch(&mut self, lane: u64, msgs: Vec<Msg>, caught_up: bool) {
        let Some(tenant) = self.lanes.get(&lane).cloned() else {
            return;
        };
        let start = Instant::now();
        if let Some(last) = msgs.last().map(|m| m.seq) {
            let floors = std::mem::take(&mut self.floors);
            let ctx = self.commit(|w, env| {
                let mut ctx = BatchCtx::default();
                for m in &msgs {
                    match names::split_event_subject(&m.subject) {
                        Some((t, s)) if t == tenant.as_str() && is_valid_id(s) => {
                            apply::apply_event(w, &mut ctx, env, &floors, t, s, m)?
                        }
                        Some((t, _)) if t == tenant.as_str() => apply::dead_letter(
                            w,
                            &mut ctx,
                            env,
                            None,
                            m,
                            &Rejection::new(
                                "invalid_subject",
                                format!("subject '{}': saga name is not a valid id", m.subject),
                            ),
                        )?,
                        _ => {}
                    }
                }
                ctx.flush_checkpoints(w, env.now_ms)?;
                w.set_cursor(
                    tenant.as_str(),
                    &TenantCursor {
                        mode: CursorMode::CatchingUp,
                        seq: last,
                        updated_at_ms: env.now_ms,
                    },
                )?;
                Ok(ctx)
            });
            self.floors = floors;
            let Some(ctx) = ctx else { return };
            self.replay_progress(&tenant, &msgs, &ctx, last);
            if let Some(Slot::CatchingUp(cu)) = self.tenants.get_mut(&tenant) {
                cu.last = cu.last.max(last);
                if let Some(v) = self
                    .shared
                    .engine
                    .lock()
                    .expect("lock")
                    .tenants
                    .get_mut(tenant.as_str())
                {
                    v.position = cu.last;
                }
            }
            self.after_commit(ctx, start);
        }
        let ready = match self.tenants.get(&tenant) {
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
        let ctx = self.commit(|w, env| {
            let mut ctx = BatchCtx::default();
            for (s, m) in &cu.queue {
                apply::apply_event(w, &mut ctx, env, &floors, tenant.as_str(), s, m)?;
            }
            ctx.flush_checkpoints(w, env.now_ms)?;
            w.set_cursor(
                tenant.as_str(),
                &TenantCursor {
                    mode: CursorMode::Live,
                    seq: 0,
                    updated_at_ms: env.now_ms,
                },
            )?;
            Ok(ctx)
        });
        self.floors = floors;
        let Some(ctx) = ctx else {
            self.tenants.insert(tenant, Slot::CatchingUp(cu));
            return;
        };
        info!(tenant = %tenant, through = cu.last.max(self.main_pos), queued = cu.queue.len(), "tenant caught up: now served by the main reader");
        self.end_replays(tenant.as_str(), ReplayState::Completed);
        self.lanes.remove(&cu.lane);
        let _ = self.readers.send(ReaderCmd::Stop(ReaderId::Lane(cu.lane)));
        self.tenants.insert(tenant, Slot::Live);
        self.after_commit(ctx, start);
        self.publish_view();
    }

    /// The timer watermark (ms, stream time): every event of a live tenant stored at or
    /// before it has been applied, so its timers due by then may fire. It is the stream time
    /// of the main reader's last applied event, or, once the engine has applied everything
    /// up to a sequence the server confirmed as the stream's end at some moment
    /// (`reader::confirm_delivered`), that moment less `timer_grace` (for clock skew).
    fn watermark(&self) -> u64 {
        let (at, seq) = *self.shared.main_confirmed.lock().expect("lock");
        if self.main_started && !self.paused && at > 0 && self.main_pos >= seq {
            let confirmed = at.saturating_sub(self.cfg.timer_grace.as_millis() as u64);
            self.main_time.max(confirmed)
        } else {
            self.main_time
        }
    }

    /// Fires the live tenants' timers due by the watermark, and deletes published outbox
    /// entries when nothing else would.
    fn tick(&mut self) {
        self.timer_backlog = false;
        if self.paused {
            if !self.pending_deletes.is_empty() {
                self.commit(|_, _| Ok(()));
            }
            return;
        }
        let mark = self.watermark();
        let sagas: Vec<String> = self.sagas.names().map(|n| n.to_string()).collect();
        let due: Vec<(TenantId, String)> = self
            .tenants
            .iter()
            .filter(|(_, s)| matches!(s, Slot::Live))
            .flat_map(|(t, _)| sagas.iter().map(move |s| (t.clone(), s.clone())))
            .filter(|(t, s)| self.floors.get(t.as_str(), s).is_none_or(|f| f <= mark))
            .collect();
        if due.is_empty() {
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
            for (t, s) in &due {
                fired += apply::fire_due(
                    w,
                    &mut ctx,
                    env,
                    &floors,
                    t.as_str(),
                    s,
                    mark,
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
                for (i, n) in acc.counts.iter().enumerate() {
                    if *n > 0 {
                        let labels = OutcomeLabels {
                            tenant: tenant.clone(),
                            saga: saga.clone(),
                            outcome: outcome::ALL[i],
                        };
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
        self.shared.engine.lock().expect("lock").main_pos = self.main_pos;
    }

    /// Tells the admin API which tenants are served and how.
    fn publish_view(&self) {
        let mut view = self.shared.engine.lock().expect("lock");
        view.main_pos = self.main_pos;
        view.tenants = self
            .tenants
            .iter()
            .map(|(t, s)| {
                let v = match s {
                    Slot::Live => TenantView {
                        mode: CursorMode::Live,
                        reader: ReaderId::Main,
                        position: self.main_pos,
                    },
                    Slot::CatchingUp(cu) => TenantView {
                        mode: CursorMode::CatchingUp,
                        reader: ReaderId::Lane(cu.lane),
                        position: cu.last,
                    },
                };
                (t.to_string(), v)
            })
            .collect();
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod timer_tests;
