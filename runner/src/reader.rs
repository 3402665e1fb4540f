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
    pub shard: String,
    pub batch_size: usize,
    pub engine: mpsc::Sender<EngineMsg>,
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

async fn create(
    ctx: &ReaderCtx,
    id: ReaderId,
    filter: &Option<String>,
    start_seq: u64,
) -> Result<consumer::PullConsumer, String> {
    let stream = ctx
        .js
        .get_stream_no_info(&ctx.stream)
        .await
        .map_err(|e| format!("cannot reach stream {}: {e}", ctx.stream))?;
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
    stream
        .create_consumer(config)
        .await
        .map_err(|e| format!("cannot create a consumer on {}: {e}", ctx.stream))
}

async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// One reader: delivers every event from `next` on, in order, until cancelled.
/// Sends a batch to the engine, counting it as in flight until the engine takes it. If the
/// caller drops this future before it completes it must uncount the batch.
async fn hand_over(ctx: &ReaderCtx, batch: EngineMsg) -> bool {
    ctx.shared.batches_queued.fetch_add(1, Ordering::Relaxed);
    if ctx.engine.send(batch).await.is_err() {
        ctx.shared.batches_queued.fetch_sub(1, Ordering::Relaxed);
        return false;
    }
    true
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
            Err(e) => {
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
        if matches!(id, ReaderId::Lane(_)) && consumer.cached_info().num_pending == 0 {
            let batch = EngineMsg::Batch {
                reader: id,
                msgs: Vec::new(),
                caught_up: true,
            };
            if !hand_over(&ctx, batch).await {
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
        let start = next;
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
                if expected == 2 && info.stream_sequence > start && start > 1 {
                    warn!(
                        reader = ?id,
                        missing_from = start,
                        missing_to = info.stream_sequence - 1,
                        "events are no longer in the stream (removed by its limits) and were never applied"
                    );
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
                let batch = EngineMsg::Batch {
                    reader: id,
                    msgs,
                    caught_up,
                };
                tokio::select! {
                    _ = cancel.cancelled() => {
                        ctx.shared.batches_queued.fetch_sub(1, Ordering::Relaxed);
                        break 'outer;
                    }
                    sent = hand_over(&ctx, batch) => if !sent { break 'outer },
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
