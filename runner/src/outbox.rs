//! The outbox relay: publishes what the engine wrote to the `outbox` table (commands and dead
//! letters) with their stable `Nats-Msg-Id`, and deletes each entry only after JetStream has
//! acknowledged it. A crash between the two publishes the entry again; JetStream's
//! duplicate window drops the copy.
//!
//! Order: entries of one tenant are published in the order they were written. After a
//! failed publish the entry is retried on the next round, possibly after later entries of
//! the same tenant that did get through.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, context::PublishErrorKind, message::PublishMessage};
use shared::edge_storage::{OutboxEntry, OutboxKind, StorageError, TableId, Volume};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use crate::metrics::{KindLabels, Metrics};
use crate::state::SharedState;

/// Entries read and published per round.
const ROUND: usize = 1000;

pub struct Relay {
    pub vol: Arc<Volume>,
    pub js: jetstream::Context,
    pub notify: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    pub shared: Arc<SharedState>,
    /// Entries that can never be published (e.g. larger than the server accepts): skipped,
    /// kept, and reported.
    poisoned: HashSet<Vec<u8>>,
}

/// What one round did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub published: usize,
    pub failed: usize,
    /// Entries left after the round (counted from table statistics).
    pub left: u64,
}

impl Relay {
    pub fn new(
        vol: Arc<Volume>,
        js: jetstream::Context,
        notify: Arc<Notify>,
        metrics: Arc<Metrics>,
        shared: Arc<SharedState>,
    ) -> Relay {
        Relay {
            vol,
            js,
            notify,
            metrics,
            shared,
            poisoned: HashSet::new(),
        }
    }

    /// Publishes until the outbox is empty or a round fails.
    pub async fn run(mut self, shutdown: CancellationToken) -> Relay {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.round().await {
                Ok(r) if r.failed == 0 && r.published > 0 => {
                    backoff = Duration::from_millis(100);
                    continue;
                }
                Ok(r) if r.failed == 0 => backoff = Duration::from_millis(100),
                Ok(_) => backoff = (backoff * 2).min(Duration::from_secs(5)),
                Err(e) => {
                    error!(error = %e, "outbox relay cannot read the volume");
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return self,
                _ = self.notify.notified() => {}
                _ = tokio::time::sleep(backoff.max(Duration::from_millis(100)).min(Duration::from_secs(1))) => {}
            }
        }
    }

    /// Publishes what is left, for at most `within`. Returns the entries still waiting.
    pub async fn flush(&mut self, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let left = tokio::time::timeout_at(deadline.into(), self.round()).await;
            match left {
                Ok(Ok(r)) if r.left == 0 || r.left as usize <= self.poisoned.len() => {
                    return r.left;
                }
                Ok(Ok(r)) if r.failed > 0 => {
                    if Instant::now() + Duration::from_millis(200) > deadline {
                        return r.left;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(_) => return self.depth().await,
            }
        }
    }

    async fn depth(&self) -> u64 {
        let vol = self.vol.clone();
        tokio::task::spawn_blocking(move || vol.read(|r| r.entries(TableId::Outbox)))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0)
    }

    /// Reads a batch, publishes it, awaits the acks, deletes what was acknowledged.
    pub async fn round(&mut self) -> Result<Round, StorageError> {
        let vol = self.vol.clone();
        let skip = self.poisoned.clone();
        let batch = tokio::task::spawn_blocking(move || {
            vol.read(|r| {
                let mut out = Vec::new();
                let mut after: Option<Vec<u8>> = None;
                loop {
                    let page = r.outbox_batch(after.as_deref(), ROUND)?;
                    let full = page.len() == ROUND;
                    after = page.last().map(|(k, _)| k.clone());
                    out.extend(page.into_iter().filter(|(k, _)| !skip.contains(k)));
                    if out.len() >= ROUND || !full {
                        break;
                    }
                }
                Ok::<_, StorageError>(out)
            })
        })
        .await
        .expect("outbox read task")?;
        let mut round = Round::default();
        if batch.is_empty() {
            round.left = self.depth().await;
            self.metrics.outbox_depth.set(round.left as i64);
            return Ok(round);
        }
        let mut pending = Vec::with_capacity(batch.len());
        for (i, (key, e)) in batch.iter().enumerate() {
            let mut headers = HeaderMap::new();
            for (n, v) in &e.headers {
                headers.insert(n.as_str(), v.as_str());
            }
            let msg = PublishMessage::build()
                .payload(e.payload.clone().into())
                .headers(headers)
                .message_id(&e.msg_id);
            match self.js.send_publish(e.subject.clone(), msg).await {
                Ok(ack) => pending.push((i, ack)),
                Err(err) if err.kind() == PublishErrorKind::MaxPayloadExceeded => {
                    error!(subject = %e.subject, msg_id = %e.msg_id, error = %err, "outbox entry can never be published; it stays in the outbox (see runnerctl inspect outbox)");
                    self.shared.set_storage_problem(Some(format!(
                        "outbox entry {} for {} cannot be published: {err}",
                        e.msg_id, e.subject
                    )));
                    self.poisoned.insert(key.clone());
                    round.failed += 1;
                }
                Err(err) => {
                    round.failed += 1;
                    self.metrics.publish_errors.inc();
                    warn!(subject = %e.subject, error = %err, "outbox publish failed; will retry");
                    break;
                }
            }
        }
        let mut done: Vec<(Vec<u8>, OutboxEntry)> = Vec::with_capacity(pending.len());
        let mut first_error = None;
        for (i, ack) in pending {
            match ack.await {
                Ok(_) => {
                    let (k, e) = &batch[i];
                    let kind = match e.kind {
                        OutboxKind::Command => "command",
                        OutboxKind::DeadLetter => "dead_letter",
                    };
                    self.metrics
                        .published
                        .get_or_create(&KindLabels { kind })
                        .inc();
                    done.push((k.clone(), e.clone()));
                }
                Err(err) => {
                    round.failed += 1;
                    self.metrics.publish_errors.inc();
                    first_error.get_or_insert_with(|| {
                        format!("{} ({}): {err}", batch[i].1.subject, batch[i].1.msg_id)
                    });
                }
            }
        }
        if let Some(e) = first_error {
            warn!(error = %e, failed = round.failed, "outbox publishes not acknowledged; will retry");
        }
        round.published = done.len();
        let vol = self.vol.clone();
        let left = tokio::task::spawn_blocking(move || {
            vol.write(|w| {
                for (k, e) in &done {
                    w.delete_outbox(k, e)?;
                }
                Ok::<_, StorageError>(())
            })?;
            vol.read(|r| r.entries(TableId::Outbox))
        })
        .await
        .expect("outbox delete task")?;
        round.left = left;
        self.metrics.outbox_depth.set(left as i64);
        Ok(round)
    }
}
