//! Readers: tasks that pull events from the event streams and hand them to the engine in
//! batches. A group reader reads a whole group's stream (the single layout's one stream is
//! group 0) from the volume's reader position of that group; a tenant's own reader (a lane)
//! reads one tenant (`evt.<tenant>.>`, `evt.<g>.<tenant>.>` partitioned) from that tenant's
//! cursor.
//!
//! Fairness: each reader has at most [`ReadAhead`] events in flight to the engine (a
//! transaction's worth), so a burst read by one reader waits behind its own batches, not in
//! front of every other reader's (the engine takes batches in the order they come).
//!
//! Consumers are ephemeral, memory-backed and without acks: where a reader stands is kept in
//! the volume (checkpoints, cursors, reader position), so a consumer can be dropped and
//! recreated from the next sequence at any time. That happens on any error, on a gap in the
//! consumer sequence, and on every NATS reconnect (faster than waiting for the client to
//! notice a consumer lost with a restarted server).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use shared::ids::TenantId;
use shared::layout::{Group, Layout};

use crate::engine::{EngineMsg, Msg, ReaderCmd};
use crate::inflight::{InFlight, cost_kib};
use crate::metrics::Metrics;
use crate::state::{ReaderId, SharedState};

/// What every reader needs.
pub struct ReaderCtx {
    pub js: jetstream::Context,
    pub layout: Layout,
    /// Each group stream's identity the volume was built from, by group; a reader finding
    /// another stands the runner down (`stream_changed`).
    pub stream_ids: Vec<String>,
    /// Cancelled, with the reason in `SharedState::fatal`, when the stream is not the one.
    pub stream_changed: CancellationToken,
    pub shard: String,
    /// Events per batch handed to the engine (and per request of a tenant's own reader).
    pub batch_size: usize,
    /// Events a group reader asks the server for at a time: the engine's largest
    /// transaction.
    pub read_ahead: usize,
    pub engine: Handoff,
    pub shared: Arc<SharedState>,
    pub metrics: Arc<Metrics>,
    /// Bumped on every (re)connect to NATS.
    pub reconnects: watch::Receiver<u64>,
}

static CONSUMER_SERIAL: AtomicU64 = AtomicU64::new(0);

/// Events one reader has handed to the engine and the engine has not committed yet, at
/// most: a reader reads ahead while the engine commits (small batches do not use up its
/// room: it is counted in events), and a burst read by one reader is never more than this
/// in front of other readers' batches.
#[derive(Clone)]
pub struct ReadAhead {
    events: Arc<tokio::sync::Semaphore>,
    most: u32,
}

impl ReadAhead {
    pub fn new(events: usize) -> ReadAhead {
        let most = events.clamp(1, tokio::sync::Semaphore::MAX_PERMITS) as u32;
        ReadAhead {
            events: Arc::new(tokio::sync::Semaphore::new(most as usize)),
            most,
        }
    }

    /// Room for `n` events (an empty batch takes room for one; a batch larger than the
    /// whole waits for all of it).
    async fn room(&self, n: usize) -> Result<tokio::sync::OwnedSemaphorePermit, ()> {
        let n = (n.max(1) as u64).min(self.most as u64) as u32;
        self.events
            .clone()
            .acquire_many_owned(n)
            .await
            .map_err(|_| ())
    }
}

/// What a reader reads.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: ReaderId,
    pub group: Group,
    /// One tenant's events, or the whole group stream.
    pub tenant: Option<TenantId>,
    /// Confirm where it stands with the server (for timer watermarks).
    pub confirm: bool,
}

impl Source {
    fn stream(&self, ctx: &ReaderCtx) -> String {
        ctx.layout.stream(self.group)
    }

    fn filter(&self, ctx: &ReaderCtx) -> Option<String> {
        self.tenant
            .as_ref()
            .map(|t| ctx.layout.tenant_filter(t.as_str()))
    }
}

fn consumer_name(ctx: &ReaderCtx, src: &Source) -> String {
    let n = CONSUMER_SERIAL.fetch_add(1, Ordering::Relaxed);
    let role = match (&src.tenant, src.id) {
        (Some(t), _) => t.to_string(),
        (None, ReaderId::Group(g)) if ctx.layout.is_partitioned() => format!("g{g}"),
        (None, ReaderId::Group(_)) => "main".to_string(),
        (None, ReaderId::Lane(l)) => format!("lane{l}"),
    };
    format!(
        "runner-{}-{}-{}-{}",
        ctx.shard, role, ctx.shared.started_at_ms, n
    )
}

/// Runs reader tasks as the engine orders, until `shutdown`.
pub async fn run_manager(
    ctx: Arc<ReaderCtx>,
    mut cmds: mpsc::UnboundedReceiver<ReaderCmd>,
    shutdown: CancellationToken,
) {
    let mut running: HashMap<ReaderId, CancellationToken> = HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let cmd = tokio::select! {
            _ = shutdown.cancelled() => break,
            c = cmds.recv() => match c { Some(c) => c, None => break },
        };
        match cmd {
            ReaderCmd::Start {
                reader,
                group,
                tenant,
                start_seq,
                confirm,
            } => {
                let token = shutdown.child_token();
                if let Some(old) = running.insert(reader, token.clone()) {
                    old.cancel();
                }
                let src = Source {
                    id: reader,
                    group,
                    tenant,
                    confirm,
                };
                tasks.spawn(read(ctx.clone(), src, start_seq, token));
            }
            ReaderCmd::Stop(reader) => {
                if let Some(t) = running.remove(&reader) {
                    t.cancel();
                }
            }
        }
        while tasks.try_join_next().is_some() {}
    }
    for t in running.values() {
        t.cancel();
    }
    while tasks.join_next().await.is_some() {}
}

/// Why a consumer could not be created.
enum CreateError {
    /// Retry.
    Failed(String),
    /// The stream is another one than the volume's: stop the runner.
    StreamChanged(String),
}

async fn create(
    ctx: &ReaderCtx,
    src: &Source,
    start_seq: u64,
) -> Result<consumer::PullConsumer, CreateError> {
    let (id, name, filter) = (src.id, src.stream(ctx), src.filter(ctx));
    let stream = tokio::time::timeout(API_TIMEOUT, ctx.js.get_stream(&name))
        .await
        .map_err(|_| {
            CreateError::Failed(format!(
                "cannot reach stream {name}: no answer in {API_TIMEOUT:?} (a cluster electing its leader?)"
            ))
        })?
        .map_err(|e| CreateError::Failed(format!("cannot reach stream {name}: {e}")))?;
    let info = stream.cached_info();
    let current = crate::stream::identity_of(info);
    let recorded = ctx
        .stream_ids
        .get(src.group as usize)
        .map(String::as_str)
        .unwrap_or_default();
    if current != recorded {
        return Err(CreateError::StreamChanged(format!(
            "stream {name} was deleted and created again while the runner ran (the volume reads {recorded}, the server now has {current}); stopping without reading it: see docs/runbooks.md#the-event-stream-was-recreated"
        )));
    }
    let first = info.state.first_sequence;
    if start_seq > 1 && start_seq < first {
        let whose = match &filter {
            Some(f) => format!("events of {f} among them"),
            None => "events of the tenants served by this reader among them".to_string(),
        };
        warn!(
            reader = ?id,
            from = start_seq,
            to = first - 1,
            "the stream no longer holds sequences {start_seq}..{} (removed by its limits) before this reader read them: {whose} were never applied here",
            first - 1
        );
        if matches!(id, ReaderId::Group(_)) {
            ctx.metrics.stream_gap.inc_by(first - start_seq);
        }
    }
    let config = consumer::pull::Config {
        name: Some(consumer_name(ctx, src)),
        deliver_policy: if start_seq <= 1 {
            consumer::DeliverPolicy::All
        } else {
            consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start_seq,
            }
        },
        ack_policy: consumer::AckPolicy::None,
        filter_subject: filter.unwrap_or_default(),
        memory_storage: true,
        num_replicas: 1,
        inactive_threshold: Duration::from_secs(60),
        ..Default::default()
    };
    // A create that times out may still be made: the server drops the consumer after its
    // inactive threshold.
    tokio::time::timeout(API_TIMEOUT, stream.create_consumer(config))
        .await
        .map_err(|_| {
            CreateError::Failed(format!(
                "cannot create a consumer on {name}: no answer in {API_TIMEOUT:?}"
            ))
        })?
        .map_err(|e| CreateError::Failed(format!("cannot create a consumer on {name}: {e}")))
}

/// How long a reader waits for JetStream's answer when making its consumer. A request sent
/// while a cluster elects a stream's leader can go unanswered: asking again soon after
/// beats the client's default wait (docs/reliability.md#nats-cluster-faults).
const API_TIMEOUT: Duration = Duration::from_secs(2);

async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// The readers' side of the hand-over to the engine: sends batches, each with an
/// [`InFlight`] ticket that counts it (`SharedState::batches_queued`) and holds its bytes of
/// the read budget from the moment it is in the channel until the ticket is dropped. The
/// engine drops it once the batch's transaction committed; a batch dropped unprocessed (the
/// engine stopping, the channel closed) gives its count back the same way. Neither side
/// keeps a count by hand.
#[derive(Clone)]
pub struct Handoff {
    tx: mpsc::Sender<EngineMsg>,
    shared: Arc<SharedState>,
}

/// What became of a batch handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handed {
    Sent,
    /// Cancelled before there was room: not sent, not counted.
    Cancelled,
    /// The engine is gone.
    Closed,
}

impl Handoff {
    pub fn new(tx: mpsc::Sender<EngineMsg>, shared: Arc<SharedState>) -> Handoff {
        Handoff { tx, shared }
    }

    /// Sends a batch once the channel has room and the read budget has its bytes
    /// ([`crate::inflight::READ_BUDGET_KIB`]), unless `cancel` fires first. Room and bytes are reserved
    /// before anything is counted, and the send itself cannot be interrupted, so a cancel
    /// at any moment leaves the counts exact.
    pub async fn send(
        &self,
        reader: ReaderId,
        msgs: Vec<Msg>,
        caught_up: bool,
        cancel: &CancellationToken,
    ) -> Handed {
        self.send_in(reader, msgs, caught_up, cancel, None).await
    }

    /// [`Handoff::send`], taking room for the batch's events in the reader's
    /// [`ReadAhead`] first.
    pub async fn send_in(
        &self,
        reader: ReaderId,
        msgs: Vec<Msg>,
        caught_up: bool,
        cancel: &CancellationToken,
        ahead: Option<&ReadAhead>,
    ) -> Handed {
        let slot = match ahead {
            None => None,
            Some(a) => tokio::select! {
                biased;
                _ = cancel.cancelled() => return Handed::Cancelled,
                p = a.room(msgs.len()) => match p {
                    Ok(p) => Some(p),
                    Err(_) => return Handed::Closed,
                },
            },
        };
        let cost = cost_kib(&msgs);
        let bytes = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Handed::Cancelled,
            p = self.shared.read_budget.acquire_many(cost) => match p {
                Ok(p) => p,
                Err(_) => return Handed::Closed,
            },
        };
        let permit = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Handed::Cancelled,
            p = self.tx.reserve() => match p {
                Ok(p) => p,
                Err(_) => return Handed::Closed,
            },
        };
        // From here nothing can be interrupted: the ticket owns the count and the bytes.
        bytes.forget();
        let ticket = InFlight::new(self.shared.clone(), cost, slot);
        permit.send(EngineMsg::Batch {
            reader,
            msgs,
            caught_up,
            ticket,
        });
        Handed::Sent
    }
}

/// What one chunk of pulled messages holds for the engine.
struct Taken {
    msgs: Vec<Msg>,
    /// The consumer had nothing pending after the last message.
    caught_up: bool,
    /// Why the consumer must be recreated (a gap in its sequence, an error); the messages
    /// before the break are still good.
    broken: Option<String>,
}

/// Turns a chunk into events for the engine: checks that consumer sequences have no gap
/// (`expected` is the next one), drops what was delivered again after a recreate (below
/// `next`), and advances `next` past the last event taken.
fn take_chunk<E: std::fmt::Display>(
    group: Group,
    chunk: Vec<Result<jetstream::Message, E>>,
    expected: &mut u64,
    next: &mut u64,
) -> Taken {
    let mut msgs = Vec::with_capacity(chunk.len());
    let mut caught_up = false;
    let mut broken: Option<String> = None;
    for item in chunk {
        let m = match item {
            Ok(m) => m,
            Err(e) => {
                broken = Some(e.to_string());
                break;
            }
        };
        let info = match m.info() {
            Ok(i) => i,
            Err(e) => {
                broken = Some(format!("message without JetStream info: {e}"));
                break;
            }
        };
        if info.consumer_sequence != *expected {
            broken = Some(format!(
                "consumer sequence jumped from {} to {}",
                *expected - 1,
                info.consumer_sequence
            ));
            break;
        }
        *expected += 1;
        if info.stream_sequence < *next {
            // Delivered again after a recreate: already handed over.
            continue;
        }
        caught_up = info.pending == 0;
        let time_ms = (info.published.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
        *next = info.stream_sequence + 1;
        msgs.push(Msg {
            group,
            seq: info.stream_sequence,
            time_ms,
            subject: m.subject.to_string(),
            payload: m.payload.clone(),
        });
    }
    Taken {
        msgs,
        caught_up,
        broken,
    }
}

/// Where a reader stands, shared with its confirmation task.
#[derive(Default)]
struct Progress {
    /// The last stream sequence handed to the engine.
    delivered: AtomicU64,
    /// When (ms) the reader last handed over events: a reader that did within the last
    /// period is not idle, and its events' times carry the watermark without asking.
    delivered_at_ms: AtomicU64,
    /// The consumer now (a lane's confirmation asks it).
    consumer: std::sync::Mutex<Option<String>>,
}

async fn read(ctx: Arc<ReaderCtx>, src: Source, mut next: u64, cancel: CancellationToken) {
    let id = src.id;
    /// Counts this reader among the live ones until it returns.
    struct Alive<'a>(&'a SharedState);
    impl Drop for Alive<'_> {
        fn drop(&mut self) {
            self.0.readers_running.fetch_sub(1, Ordering::Relaxed);
        }
    }
    ctx.shared.readers_running.fetch_add(1, Ordering::Relaxed);
    let _alive = Alive(&ctx.shared);
    let mut reconnects = ctx.reconnects.clone();
    let mut backoff =
        shared::backoff::Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    let mut failures = 0u32;
    let mut current: Option<String> = None;
    let ahead = ReadAhead::new(ctx.read_ahead);
    // Where the reader stands is confirmed with the server while it reads (see
    // `confirm_delivered`); the task ends with the reader. Everything before where it
    // starts was applied (by this process or an earlier one).
    let progress = Arc::new(Progress::default());
    progress
        .delivered
        .store(next.saturating_sub(1), Ordering::Release);
    let _confirm = src.confirm.then(|| {
        let (ctx, cancel) = (ctx.clone(), cancel.child_token());
        let guard = cancel.clone().drop_guard();
        tokio::spawn(confirm_delivered(
            ctx,
            src.clone(),
            progress.clone(),
            cancel,
        ));
        guard
    });
    'outer: loop {
        if let Some(old) = current.take() {
            delete_later(&ctx, &src.stream(&ctx), old);
        }
        reconnects.borrow_and_update();
        let consumer = tokio::select! {
            _ = cancel.cancelled() => break,
            c = create(&ctx, &src, next) => c,
        };
        let consumer = match consumer {
            Ok(c) => c,
            Err(CreateError::StreamChanged(why)) => {
                tracing::error!("{why}");
                *ctx.shared.fatal.lock().expect("lock") = Some(why);
                ctx.stream_changed.cancel();
                break;
            }
            Err(CreateError::Failed(e)) => {
                failures += 1;
                if failures == 1 || failures.is_multiple_of(10) {
                    warn!(reader = ?id, attempt = failures, error = %e, "reader cannot start; retrying");
                }
                if !sleep_or_cancel(backoff.next_wait(), &cancel).await {
                    break;
                }
                continue;
            }
        };
        let name = consumer.cached_info().name.clone();
        debug!(reader = ?id, consumer = %name, from = next, "reader consuming");
        if failures > 0 {
            info!(reader = ?id, consumer = %name, from = next, "reader consuming again");
        }
        failures = 0;
        backoff.reset();
        ctx.shared.set_consumer(id, Some(name.clone()));
        current = Some(name.clone());
        *progress.consumer.lock().expect("lock") = Some(name.clone());
        let nothing_pending = consumer.cached_info().num_pending == 0;
        if src.tenant.is_some()
            && nothing_pending
            && ctx.engine.send(id, Vec::new(), true, &cancel).await != Handed::Sent
        {
            break;
        }
        // Two missed heartbeats end the pull with an error, and the consumer is made again:
        // that is how a reader learns its consumer died with a cluster node (killed,
        // nothing said). A group reader's is short, so such a loss stalls its tenants about
        // 2 s (docs/reliability.md#nats-cluster-faults); a tenant's own reader is mostly
        // idle and there may be thousands, so its heartbeat is rarer (each is a message
        // from the server).
        //
        // A group reader asks for a whole transaction's worth (up to 8 MiB) at a time: the
        // server keeps delivering while the reader waits for the engine, so the next
        // transaction is full when the last commits (asking 1,000 at a time, commits of
        // ~1,000 events at 1,000 tenants ran at half the rate; docs/performance.md). A
        // tenant's own reader asks for one batch (up to 1 MiB): there may be many.
        let opts = if src.tenant.is_some() {
            shared::pull::PullOptions {
                batch: ctx.batch_size,
                max_bytes: 1 << 20,
                expires: Duration::from_secs(30),
                heartbeat: Duration::from_secs(14),
            }
        } else {
            shared::pull::PullOptions {
                batch: ctx.read_ahead,
                max_bytes: 8 << 20,
                expires: Duration::from_secs(30),
                heartbeat: Duration::from_secs(1),
            }
        };
        let mut pull = match shared::pull::Pull::start(&ctx.js, &consumer, opts).await {
            Ok(p) => p,
            Err(e) => {
                warn!(reader = ?id, error = %e, "cannot start pulling; recreating the consumer");
                if !sleep_or_cancel(backoff.next_wait(), &cancel).await {
                    break;
                }
                continue;
            }
        };
        let mut expected = 1u64;
        loop {
            let chunk = tokio::select! {
                _ = cancel.cancelled() => break 'outer,
                r = reconnects.changed() => {
                    if r.is_ok() {
                        debug!(reader = ?id, "reconnected to NATS: recreating the consumer");
                    }
                    ctx.metrics.reader_recreates.inc();
                    break;
                }
                c = pull.next_chunk(ctx.batch_size) => match c {
                    Ok(msgs) => msgs.into_iter().map(Ok).collect::<Vec<_>>(),
                    Err(e) => vec![Err(e)],
                },
            };
            let delivered = chunk.iter().filter(|m| m.is_ok()).count() as u64;
            let Taken {
                msgs,
                caught_up,
                broken,
            } = take_chunk(src.group, chunk, &mut expected, &mut next);
            ctx.metrics.events_read.inc_by(delivered);
            if !msgs.is_empty() || caught_up {
                let last = msgs.last().map(|m| m.seq);
                if ctx
                    .engine
                    .send_in(id, msgs, caught_up, &cancel, Some(&ahead))
                    .await
                    != Handed::Sent
                {
                    break 'outer;
                }
                if let Some(last) = last {
                    // After the send: a confirmation must never count a batch not sent.
                    progress.delivered.store(last, Ordering::Release);
                    progress
                        .delivered_at_ms
                        .store(shared::now_ms(), Ordering::Relaxed);
                }
            }
            if let Some(why) = broken {
                warn!(reader = ?id, consumer = %name, error = %why, from = next, "reader recreating its consumer");
                ctx.metrics.reader_recreates.inc();
                if !sleep_or_cancel(Duration::from_millis(50), &cancel).await {
                    break 'outer;
                }
                break;
            }
        }
        ctx.shared.set_consumer(id, None);
    }
    ctx.shared.set_consumer(id, None);
    if let ReaderId::Lane(_) = id {
        ctx.shared.confirmed.lock().expect("lock").remove(&id);
    }
    if let Some(old) = current {
        delete_later(&ctx, &src.stream(&ctx), old);
    }
}

/// How often a group reader's position is confirmed with the server.
const CONFIRM_EVERY: Duration = Duration::from_millis(100);
/// How often a tenant's own reader's is (there may be many: one request each).
const CONFIRM_LANE_EVERY: Duration = Duration::from_millis(500);

/// Confirms, every [`CONFIRM_EVERY`] the reader was idle, that it has handed the engine
/// every event there is for it: it notes the clock, asks the server where the stream ends (a group
/// reader: the stream's last sequence; a tenant's reader: whether its consumer has anything
/// pending), and if the reader had delivered that far, records `(clock, sequence)` in
/// `SharedState::confirmed`. Every event for the reader stored before that moment is then
/// delivered, and applied once the engine's position reaches the sequence: the timer
/// watermark may follow the clock up to it (`Engine::mark_of`), whatever delays the runner's
/// own scheduling adds. (Only clock skew between this host and the servers is left for
/// `RUNNER_TIMER_GRACE` to cover.)
async fn confirm_delivered(
    ctx: Arc<ReaderCtx>,
    src: Source,
    progress: Arc<Progress>,
    cancel: CancellationToken,
) {
    let period = if src.tenant.is_some() {
        CONFIRM_LANE_EVERY
    } else {
        CONFIRM_EVERY
    };
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let stream = src.stream(&ctx);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = every.tick() => {}
        }
        if let ReaderId::Lane(l) = src.id
            && !ctx.shared.confirm_lanes.lock().expect("lock").contains(&l)
        {
            // No timer pending for its tenant: its watermark is not needed.
            continue;
        }
        let asked_at = shared::now_ms();
        let last_delivery = progress.delivered_at_ms.load(Ordering::Relaxed);
        if asked_at.saturating_sub(last_delivery) < period.as_millis() as u64 {
            // Busy: no request (each is a message to and from the server).
            continue;
        }
        let consumer = progress.consumer.lock().expect("lock").clone();
        let ask = async {
            let s = ctx.js.get_stream_no_info(&stream).await.ok()?;
            if src.tenant.is_none() {
                return s.get_info().await.ok().map(|i| i.state.last_sequence);
            }
            // A tenant's reader: nothing pending on its consumer means nothing of the
            // tenant beyond what it delivered.
            let mut c: consumer::PullConsumer = s.get_consumer(consumer.as_deref()?).await.ok()?;
            let info = c.info().await.ok()?;
            (info.num_pending == 0).then_some(info.delivered.stream_sequence)
        };
        let Ok(Some(last)) = tokio::time::timeout(Duration::from_secs(2), ask).await else {
            continue;
        };
        let delivered = progress.delivered.load(Ordering::Acquire);
        if last <= delivered {
            let mut all = ctx.shared.confirmed.lock().expect("lock");
            let c = all.entry(src.id).or_insert((0, 0));
            if asked_at > c.0 {
                // A tenant's reader confirms everything it delivered.
                *c = (
                    asked_at,
                    if src.tenant.is_some() {
                        delivered
                    } else {
                        last
                    },
                );
            }
        }
    }
}

fn delete_later(ctx: &ReaderCtx, stream: &str, name: String) {
    let js = ctx.js.clone();
    let stream = stream.to_string();
    tokio::spawn(async move {
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            js.delete_consumer_from_stream(&name, &stream),
        )
        .await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inflight::READ_BUDGET_KIB;

    fn queued(shared: &SharedState) -> u64 {
        shared.batches_queued.load(Ordering::Relaxed)
    }

    /// A reader's room is counted in events: many small batches fit where a transaction's
    /// worth of events fits, then the next waits until a commit gives room back; a batch
    /// larger than the whole room still goes, alone.
    #[tokio::test]
    async fn read_ahead_counts_events_not_batches() {
        let ahead = ReadAhead::new(100);
        let mut held = Vec::new();
        for _ in 0..50 {
            held.push(ahead.room(2).await.unwrap());
        }
        let next = tokio::time::timeout(Duration::from_millis(50), ahead.room(1)).await;
        assert!(next.is_err(), "room beyond 100 events");
        drop(held.pop());
        let two = tokio::time::timeout(Duration::from_secs(5), ahead.room(2)).await;
        assert!(two.is_ok(), "no room after a commit gave 2 back");
        drop(held);
        drop(two);
        let big = tokio::time::timeout(Duration::from_secs(5), ahead.room(5000)).await;
        assert!(big.is_ok(), "a batch larger than the room never went");
        // An empty batch (a reader saying it caught up) takes room for one.
        drop(big);
        let _all = ahead.room(100).await.unwrap();
        let empty = tokio::time::timeout(Duration::from_millis(50), ahead.room(0)).await;
        assert!(empty.is_err());
    }

    /// A reader cancelled while handing a batch over (the channel full, or room and the
    /// cancel at the same moment) leaves the in-flight count exact. It used to subtract a
    /// batch it had never added: the count wrapped and every later drain waited forever.
    #[tokio::test]
    async fn a_cancel_during_the_hand_over_keeps_the_count_exact() {
        let shared = Arc::new(SharedState::new());
        let (tx, mut rx) = mpsc::channel(1);
        let h = Handoff::new(tx, shared.clone());
        let live = CancellationToken::new();
        let send = |c: &CancellationToken| {
            let (h, c) = (h.clone(), c.clone());
            async move { h.send(ReaderId::Group(0), Vec::new(), false, &c).await }
        };
        assert_eq!(send(&live).await, Handed::Sent);
        assert_eq!(queued(&shared), 1);
        // Full channel, cancelled: not sent, not counted.
        let cancelled = CancellationToken::new();
        cancelled.cancel();
        assert_eq!(send(&cancelled).await, Handed::Cancelled);
        assert_eq!(queued(&shared), 1);
        // The engine takes the batch and commits it: dropping it gives the count back.
        drop(rx.recv().await.unwrap());
        assert_eq!(queued(&shared), 0);
        // Room and a cancel at once: the cancel wins, still exact.
        assert_eq!(send(&cancelled).await, Handed::Cancelled);
        assert_eq!(queued(&shared), 0);
        // A cancel that comes while waiting for room.
        assert_eq!(send(&live).await, Handed::Sent);
        let late = CancellationToken::new();
        let waiting = tokio::spawn(send(&late));
        tokio::task::yield_now().await;
        late.cancel();
        assert_eq!(waiting.await.unwrap(), Handed::Cancelled);
        assert_eq!(queued(&shared), 1);
        // The engine gone: what was still in the channel is dropped with it, and counted
        // out; nothing new is counted.
        drop(rx);
        assert_eq!(queued(&shared), 0);
        assert_eq!(send(&live).await, Handed::Closed);
        assert_eq!(queued(&shared), 0);
    }

    /// Many readers handing over and being cancelled at random moments while the engine
    /// takes and merges batches: the count always returns to exactly 0, and the whole read
    /// budget comes back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_cancels_and_merges_leave_nothing_counted() {
        let shared = Arc::new(SharedState::new());
        let (tx, mut rx) = mpsc::channel(4);
        let h = Handoff::new(tx, shared.clone());
        let engine = tokio::spawn(async move {
            let mut merged = 0u64;
            while let Some(m) = rx.recv().await {
                let EngineMsg::Batch { mut ticket, .. } = m else {
                    continue;
                };
                while let Ok(EngineMsg::Batch { ticket: more, .. }) = rx.try_recv() {
                    ticket.absorb(more);
                    merged += 1;
                }
                tokio::task::yield_now().await;
                drop(ticket);
            }
            merged
        });
        let mut readers = Vec::new();
        for r in 0..8u64 {
            let h = h.clone();
            readers.push(tokio::spawn(async move {
                let mut sent = 0;
                for i in 0..200u64 {
                    let cancel = CancellationToken::new();
                    if (i * 7 + r) % 5 == 0 {
                        cancel.cancel();
                    }
                    let c = cancel.clone();
                    let racer = tokio::spawn(async move {
                        tokio::task::yield_now().await;
                        c.cancel();
                    });
                    if h.send(ReaderId::Lane(r), big(1), false, &cancel).await == Handed::Sent {
                        sent += 1;
                    }
                    let _ = racer.await;
                }
                sent
            }));
        }
        let mut sent = 0;
        for r in readers {
            sent += r.await.unwrap();
        }
        drop(h);
        let merged = engine.await.unwrap();
        assert!(sent > 0, "no batch was sent");
        assert_eq!(queued(&shared), 0, "{sent} sent, {merged} merged");
        assert_eq!(
            shared.read_budget.available_permits(),
            READ_BUDGET_KIB as usize
        );
    }

    fn big(kib: usize) -> Vec<Msg> {
        vec![Msg {
            group: 0,
            seq: 1,
            time_ms: 1,
            subject: "evt.t.s".into(),
            payload: bytes::Bytes::from(vec![b'x'; kib * 1024]),
        }]
    }

    /// Finding 7: what readers hold is bounded by bytes. Batches worth the whole budget
    /// wait, however few messages they hold, until the engine takes what went before.
    #[tokio::test]
    async fn readers_hold_at_most_the_read_budget_in_bytes() {
        let shared = Arc::new(SharedState::new());
        let (tx, mut rx) = mpsc::channel(1000);
        let h = Handoff::new(tx, shared.clone());
        let live = CancellationToken::new();
        let half = (READ_BUDGET_KIB as usize / 2) - 1;
        for _ in 0..2 {
            assert_eq!(
                h.send(ReaderId::Group(0), big(half), false, &live).await,
                Handed::Sent
            );
        }
        // A third would exceed the budget: it waits while the channel still has room.
        let third = tokio::spawn({
            let (h, live) = (h.clone(), live.clone());
            async move { h.send(ReaderId::Group(0), big(half), false, &live).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!third.is_finished(), "a batch beyond the budget was sent");
        drop(rx.recv().await.unwrap());
        assert_eq!(third.await.unwrap(), Handed::Sent);
        // One batch larger than the whole budget still goes (alone).
        while let Ok(m) = rx.try_recv() {
            drop(m);
        }
        assert_eq!(
            h.send(
                ReaderId::Group(0),
                big(READ_BUDGET_KIB as usize * 2),
                false,
                &live
            )
            .await,
            Handed::Sent
        );
    }
}
