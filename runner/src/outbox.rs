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
//! Order: entries are published in the order they were written. After a failed publish the
//! relay starts again from the failed entry, so later entries that did get through may be
//! published again (and deduplicated).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, context::PublishErrorKind, message::PublishMessage};
use shared::edge_storage::{OutboxKind, StorageError, TableId, Volume};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use crate::engine::{EngineMsg, Published};
use crate::metrics::{KindLabels, Metrics};
use crate::state::SharedState;

/// Entries read and published per round.
const ROUND: usize = 1000;

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
    /// Everything up to this key was published and handed over for deletion.
    after: Option<Vec<u8>>,
    /// Entries that can never be published (e.g. larger than the server accepts): skipped,
    /// kept, and reported.
    poisoned: HashSet<Vec<u8>>,
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
    pub fn new(
        vol: Arc<Volume>,
        js: jetstream::Context,
        notify: Arc<Notify>,
        metrics: Arc<Metrics>,
        shared: Arc<SharedState>,
        deleter: Deleter,
        held: Held,
    ) -> Relay {
        Relay {
            vol,
            js,
            notify,
            metrics,
            shared,
            deleter,
            held,
            after: None,
            poisoned: HashSet::new(),
        }
    }

    /// Publishes as entries arrive, until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) -> Relay {
        let mut backoff = Duration::from_millis(100);
        loop {
            if shutdown.is_cancelled() {
                return self;
            }
            let round = tokio::select! {
                _ = shutdown.cancelled() => return self,
                r = self.round() => r,
            };
            match round {
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
                _ = tokio::time::sleep(backoff.min(Duration::from_secs(1))) => {}
            }
        }
    }

    /// After the engine stopped: publishes everything left (from the head again, as deletes
    /// handed to the engine may not have been committed) and deletes directly, for at most
    /// `within`. Returns the entries still waiting.
    pub async fn flush(&mut self, within: Duration) -> u64 {
        self.deleter = Deleter::Direct;
        self.after = None;
        let deadline = Instant::now() + within;
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

    /// Reads the next entries, publishes them, awaits the acks, hands the acknowledged ones
    /// over for deletion.
    pub async fn round(&mut self) -> Result<Round, StorageError> {
        let vol = self.vol.clone();
        let skip = self.poisoned.clone();
        let after = self.after.clone();
        let batch = tokio::task::spawn_blocking(move || {
            vol.read(|r| {
                let mut out = Vec::new();
                let mut from = after;
                loop {
                    let page = r.outbox_batch(from.as_deref(), ROUND)?;
                    let full = page.len() == ROUND;
                    from = page.last().map(|(k, _)| k.clone());
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
        // Held entries are neither published nor passed: the cursor stops before the first.
        let mut first_held: Option<usize> = None;
        for (i, (key, e)) in batch.iter().enumerate() {
            if self.held.holds(&e.tenant, key) {
                first_held.get_or_insert(i);
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
                Ok(ack) => pending.push((i, ack)),
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
        // Await the acks together: each one's timeout starts when it is first polled.
        let acks = futures_util::future::join_all(
            pending
                .into_iter()
                .map(|(i, ack)| async move { (i, ack.await) }),
        )
        .await;
        let mut done: Vec<Published> = Vec::with_capacity(acks.len());
        let mut contiguous = true;
        let mut advance_to: Option<Vec<u8>> = None;
        let mut first_error = None;
        for (i, ack) in acks {
            let (k, e) = &batch[i];
            if first_held.is_some_and(|h| i > h) {
                contiguous = false;
            }
            match ack {
                Ok(_) => {
                    let kind = match e.kind {
                        OutboxKind::Command => "command",
                        OutboxKind::DeadLetter => "dead_letter",
                    };
                    self.metrics
                        .published
                        .get_or_create(&KindLabels { kind })
                        .inc();
                    done.push(Published {
                        key: k.clone(),
                        tenant: e.tenant.clone(),
                        saga: e.saga.clone(),
                    });
                    if contiguous {
                        advance_to = Some(k.clone());
                    }
                }
                Err(err) => {
                    contiguous = false;
                    round.failed += 1;
                    self.metrics.publish_errors.inc();
                    first_error
                        .get_or_insert_with(|| format!("{} ({}): {err}", e.subject, e.msg_id));
                }
            }
        }
        if round.failed > 0 {
            contiguous = false;
        }
        if let Some(e) = first_error {
            warn!(error = %e, failed = round.failed, "outbox publishes not acknowledged; will retry");
        }
        // Poisoned entries at the head must not hold the cursor back.
        if contiguous && advance_to.is_none() && first_held.is_none() {
            advance_to = batch.last().map(|(k, _)| k.clone());
        }
        round.published = done.len();
        match &self.deleter {
            Deleter::Engine(tx) => {
                if !done.is_empty() && tx.send(EngineMsg::Published(done)).await.is_err() {
                    // The engine has stopped: the flush at shutdown takes over.
                    return Ok(round);
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
        if let Some(k) = advance_to {
            self.after = Some(k);
        }
        round.left = self.depth().await;
        self.metrics.outbox_depth.set(round.left as i64);
        Ok(round)
    }
}
