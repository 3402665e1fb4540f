//! Readers: tasks that pull events from the event stream and hand them to the engine in
//! batches. The shard's main reader reads the whole stream from the volume's reader position;
//! a catch-up reader reads one tenant (`evt.<tenant>.>`) from that tenant's cursor.
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
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::engine::{EngineMsg, Msg, ReaderCmd};
use crate::metrics::Metrics;
use crate::state::{ReaderId, SharedState};

/// What every reader needs.
pub struct ReaderCtx {
    pub js: jetstream::Context,
    pub stream: String,
    /// The stream's identity the volume was built from; a reader finding another stands
    /// the runner down (`stream_changed`).
    pub stream_id: String,
    /// Cancelled, with the reason in `SharedState::fatal`, when the stream is not the one.
    pub stream_changed: CancellationToken,
    pub shard: String,
    pub batch_size: usize,
    pub engine: Handoff,
    pub shared: Arc<SharedState>,
    pub metrics: Arc<Metrics>,
    /// Bumped on every (re)connect to NATS.
    pub reconnects: watch::Receiver<u64>,
}

static CONSUMER_SERIAL: AtomicU64 = AtomicU64::new(0);

fn consumer_name(ctx: &ReaderCtx, id: ReaderId, filter: &Option<String>) -> String {
    let n = CONSUMER_SERIAL.fetch_add(1, Ordering::Relaxed);
    let role = match (id, filter) {
        (ReaderId::Main, _) => "main".to_string(),
        (ReaderId::Lane(_), Some(f)) => f.split('.').nth(1).unwrap_or("lane").to_string(),
        (ReaderId::Lane(l), None) => format!("lane{l}"),
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
                filter,
                start_seq,
            } => {
                let token = shutdown.child_token();
                if let Some(old) = running.insert(reader, token.clone()) {
                    old.cancel();
                }
                tasks.spawn(read(ctx.clone(), reader, filter, start_seq, token));
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
    id: ReaderId,
    filter: &Option<String>,
    start_seq: u64,
) -> Result<consumer::PullConsumer, CreateError> {
    let stream = ctx
        .js
        .get_stream(&ctx.stream)
        .await
        .map_err(|e| CreateError::Failed(format!("cannot reach stream {}: {e}", ctx.stream)))?;
    let info = stream.cached_info();
    let current = crate::stream::identity_of(info);
    if current != ctx.stream_id {
        return Err(CreateError::StreamChanged(format!(
            "stream {} was deleted and created again while the runner ran (the volume reads {}, the server now has {current}); stopping without reading it: see docs/runbooks.md#the-event-stream-was-recreated",
            ctx.stream, ctx.stream_id
        )));
    }
    let first = info.state.first_sequence;
    if start_seq > 1 && start_seq < first {
        let whose = match filter {
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
        if id == ReaderId::Main {
            ctx.metrics.stream_gap.inc_by(first - start_seq);
        }
    }
    let config = consumer::pull::Config {
        name: Some(consumer_name(ctx, id, filter)),
        deliver_policy: if start_seq <= 1 {
            consumer::DeliverPolicy::All
        } else {
            consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start_seq,
            }
        },
        ack_policy: consumer::AckPolicy::None,
        filter_subject: filter.clone().unwrap_or_default(),
        memory_storage: true,
        num_replicas: 1,
        inactive_threshold: Duration::from_secs(60),
        ..Default::default()
    };
    stream.create_consumer(config).await.map_err(|e| {
        CreateError::Failed(format!("cannot create a consumer on {}: {e}", ctx.stream))
    })
}

async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// The readers' side of the hand-over to the engine: sends batches and counts them as in
/// flight (`SharedState::batches_queued`) from the moment they are in the channel until
/// the engine takes them ([`Handoff::taken`]). Callers keep no count of their own.
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

    /// Sends `batch` once the channel has room and the read budget has its bytes
    /// ([`READ_BUDGET_KIB`]), unless `cancel` fires first. Room and bytes are reserved
    /// before anything is counted, and the send itself cannot be interrupted, so a cancel
    /// at any moment leaves the counts exact.
    pub async fn send(&self, batch: EngineMsg, cancel: &CancellationToken) -> Handed {
        let cost = match &batch {
            EngineMsg::Batch { msgs, .. } => cost_kib(msgs),
            _ => 0,
        };
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
        // Given back by the engine when it takes the batch (`taken`).
        bytes.forget();
        self.shared.batches_queued.fetch_add(1, Ordering::Relaxed);
        permit.send(batch);
        Handed::Sent
    }

    /// Called by the engine for each batch it takes from the channel, with its events.
    pub fn taken(shared: &SharedState, msgs: &[Msg]) {
        shared.batches_queued.fetch_sub(1, Ordering::Relaxed);
        shared.read_budget.add_permits(cost_kib(msgs) as usize);
    }
}

/// Event bytes read from NATS and not yet taken by the engine, at most (in KiB): what the
/// readers hold in memory is bounded by bytes, not by message counts (a burst of large
/// events used to be bounded only by 64 batches of 1,000 messages of up to the size
/// limit each).
pub const READ_BUDGET_KIB: u32 = 64 * 1024;

/// What a batch takes of the read budget: its payload bytes plus a little per event, in
/// KiB, at least 1; one batch larger than the whole budget takes all of it.
fn cost_kib(msgs: &[Msg]) -> u32 {
    let bytes: usize = msgs
        .iter()
        .map(|m| m.payload.len() + m.subject.len() + 64)
        .sum();
    (bytes.div_ceil(1024).max(1) as u64).min(READ_BUDGET_KIB as u64) as u32
}

async fn read(
    ctx: Arc<ReaderCtx>,
    id: ReaderId,
    filter: Option<String>,
    mut next: u64,
    cancel: CancellationToken,
) {
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
    let mut backoff = Duration::from_millis(100);
    let mut failures = 0u32;
    let mut current: Option<String> = None;
    // The main reader's position is confirmed with the server while it reads (see
    // `confirm_delivered`); the task ends with the reader. Everything before where it
    // starts was applied (by this process or an earlier one).
    if id == ReaderId::Main {
        ctx.shared
            .main_delivered
            .fetch_max(next.saturating_sub(1), Ordering::AcqRel);
    }
    let _confirm = (id == ReaderId::Main).then(|| {
        let (ctx, cancel) = (ctx.clone(), cancel.child_token());
        let guard = cancel.clone().drop_guard();
        tokio::spawn(confirm_delivered(ctx, cancel));
        guard
    });
    'outer: loop {
        if let Some(old) = current.take() {
            delete_later(&ctx, old);
        }
        reconnects.borrow_and_update();
        let consumer = tokio::select! {
            _ = cancel.cancelled() => break,
            c = create(&ctx, id, &filter, next) => c,
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
                if !sleep_or_cancel(backoff, &cancel).await {
                    break;
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        let name = consumer.cached_info().name.clone();
        debug!(reader = ?id, consumer = %name, from = next, "reader consuming");
        if failures > 0 {
            info!(reader = ?id, consumer = %name, from = next, "reader consuming again");
        }
        failures = 0;
        backoff = Duration::from_millis(100);
        ctx.shared.set_consumer(id, Some(name.clone()));
        current = Some(name.clone());
        let nothing_pending = consumer.cached_info().num_pending == 0;
        if id != ReaderId::Main && nothing_pending {
            let batch = EngineMsg::Batch {
                reader: id,
                msgs: Vec::new(),
                caught_up: true,
            };
            if ctx.engine.send(batch, &cancel).await != Handed::Sent {
                break;
            }
        }
        let messages = consumer
            .stream()
            .max_messages_per_batch(ctx.batch_size)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await;
        let messages = match messages {
            Ok(m) => m,
            Err(e) => {
                warn!(reader = ?id, error = %e, "cannot start pulling; recreating the consumer");
                if !sleep_or_cancel(backoff, &cancel).await {
                    break;
                }
                continue;
            }
        };
        let mut chunks = messages.ready_chunks(ctx.batch_size);
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
                c = chunks.next() => c,
            };
            let Some(chunk) = chunk else {
                ctx.metrics.reader_recreates.inc();
                break;
            };
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
                if info.consumer_sequence != expected {
                    broken = Some(format!(
                        "consumer sequence jumped from {} to {}",
                        expected - 1,
                        info.consumer_sequence
                    ));
                    break;
                }
                expected += 1;
                if info.stream_sequence < next {
                    // Delivered again after a recreate: already handed over.
                    continue;
                }
                caught_up = info.pending == 0;
                let time_ms = (info.published.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
                next = info.stream_sequence + 1;
                msgs.push(Msg {
                    seq: info.stream_sequence,
                    time_ms,
                    subject: m.subject.to_string(),
                    payload: m.payload.clone(),
                });
            }
            if !msgs.is_empty() || caught_up {
                if id == ReaderId::Main
                    && let Some(last) = msgs.last()
                {
                    // Before the send: a confirmation must never count a batch not sent.
                    ctx.shared.main_delivered.store(last.seq, Ordering::Release);
                }
                let batch = EngineMsg::Batch {
                    reader: id,
                    msgs,
                    caught_up,
                };
                if ctx.engine.send(batch, &cancel).await != Handed::Sent {
                    break 'outer;
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
    if let Some(old) = current {
        delete_later(&ctx, old);
    }
}

/// How often the main reader's position is confirmed with the server.
const CONFIRM_EVERY: Duration = Duration::from_millis(100);

/// Confirms, every [`CONFIRM_EVERY`], that the main reader has handed the engine every
/// event the stream holds: it notes the clock, asks the stream for its last sequence, and
/// if the reader had delivered that far, records `(clock, sequence)` in
/// `SharedState::main_confirmed`. Every event stored before that moment is then delivered,
/// and applied once the engine's position reaches the sequence: the timer watermark may
/// follow the clock up to it (`Engine::watermark`), whatever delays the runner's own
/// scheduling adds. (Only clock skew between this host and the servers is left for
/// `RUNNER_TIMER_GRACE` to cover.)
async fn confirm_delivered(ctx: Arc<ReaderCtx>, cancel: CancellationToken) {
    let mut every = tokio::time::interval(CONFIRM_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = every.tick() => {}
        }
        let asked_at = shared::now_ms();
        let ask = async {
            let s = ctx.js.get_stream_no_info(&ctx.stream).await.ok()?;
            s.get_info().await.ok()
        };
        let Ok(Some(info)) = tokio::time::timeout(Duration::from_secs(2), ask).await else {
            continue;
        };
        let last = info.state.last_sequence;
        if last <= ctx.shared.main_delivered.load(Ordering::Acquire) {
            let mut c = ctx.shared.main_confirmed.lock().expect("lock");
            if asked_at > c.0 {
                *c = (asked_at, last);
            }
        }
    }
}

fn delete_later(ctx: &ReaderCtx, name: String) {
    let js = ctx.js.clone();
    let stream = ctx.stream.clone();
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

    fn batch() -> EngineMsg {
        EngineMsg::Batch {
            reader: ReaderId::Main,
            msgs: Vec::new(),
            caught_up: false,
        }
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
        assert_eq!(h.send(batch(), &live).await, Handed::Sent);
        assert_eq!(shared.batches_queued.load(Ordering::Relaxed), 1);
        // Full channel, cancelled: not sent, not counted.
        let cancelled = CancellationToken::new();
        cancelled.cancel();
        assert_eq!(h.send(batch(), &cancelled).await, Handed::Cancelled);
        assert_eq!(shared.batches_queued.load(Ordering::Relaxed), 1);
        // Room and a cancel at once: the cancel wins, still exact.
        rx.recv().await.unwrap();
        Handoff::taken(&shared, &[]);
        assert_eq!(h.send(batch(), &cancelled).await, Handed::Cancelled);
        assert_eq!(shared.batches_queued.load(Ordering::Relaxed), 0);
        // A cancel that comes while waiting for room.
        assert_eq!(h.send(batch(), &live).await, Handed::Sent);
        let late = CancellationToken::new();
        let waiting = tokio::spawn({
            let (h, late) = (h.clone(), late.clone());
            async move { h.send(batch(), &late).await }
        });
        tokio::task::yield_now().await;
        late.cancel();
        assert_eq!(waiting.await.unwrap(), Handed::Cancelled);
        assert_eq!(shared.batches_queued.load(Ordering::Relaxed), 1);
        drop(rx);
        assert_eq!(h.send(batch(), &live).await, Handed::Closed);
        assert_eq!(shared.batches_queued.load(Ordering::Relaxed), 1);
    }

    fn big(kib: usize) -> Vec<Msg> {
        vec![Msg {
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
            let b = EngineMsg::Batch {
                reader: ReaderId::Main,
                msgs: big(half),
                caught_up: false,
            };
            assert_eq!(h.send(b, &live).await, Handed::Sent);
        }
        // A third would exceed the budget: it waits while the channel still has room.
        let third = tokio::spawn({
            let (h, live) = (h.clone(), live.clone());
            async move {
                let b = EngineMsg::Batch {
                    reader: ReaderId::Main,
                    msgs: big(half),
                    caught_up: false,
                };
                h.send(b, &live).await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!third.is_finished(), "a batch beyond the budget was sent");
        let Some(EngineMsg::Batch { msgs, .. }) = rx.recv().await else {
            panic!()
        };
        Handoff::taken(&shared, &msgs);
        assert_eq!(third.await.unwrap(), Handed::Sent);
        // One batch larger than the whole budget still goes (alone).
        while let Ok(EngineMsg::Batch { msgs, .. }) = rx.try_recv() {
            Handoff::taken(&shared, &msgs);
        }
        let huge = EngineMsg::Batch {
            reader: ReaderId::Main,
            msgs: big(READ_BUDGET_KIB as usize * 2),
            caught_up: false,
        };
        assert_eq!(h.send(huge, &live).await, Handed::Sent);
    }
}
