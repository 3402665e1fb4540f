//! Shard snapshots (docs/storage.md#snapshots): a consistent copy of the live volume (one
//! read transaction; the engine commits on meanwhile), written beside it and uploaded to
//! the Object Store bucket, then retention. On a schedule (`RUNNER_SNAPSHOT_EVERY`) and on
//! demand (`POST /admin/snapshot`); one at a time.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use shared::edge_storage::{DATA_FILE, SNAPSHOT_TMP, Volume};
use shared::snapshots::{self, SnapshotTaken, Summary};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::metrics::{Metrics, ResultLabels};

pub struct Snapshotter {
    pub vol: Arc<Volume>,
    pub js: jetstream::Context,
    pub bucket: String,
    pub replicas: usize,
    pub keep: u32,
    pub max_age: Option<Duration>,
    pub metrics: Arc<Metrics>,
    /// One snapshot at a time: a second request waits for the first to end.
    busy: tokio::sync::Mutex<()>,
    last: Mutex<Option<Summary>>,
}

impl Snapshotter {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        vol: Arc<Volume>,
        js: jetstream::Context,
        bucket: String,
        replicas: usize,
        keep: u32,
        max_age: Option<Duration>,
        metrics: Arc<Metrics>,
    ) -> Snapshotter {
        Snapshotter {
            vol,
            js,
            bucket,
            replicas,
            keep,
            max_age,
            metrics,
            busy: tokio::sync::Mutex::new(()),
            last: Mutex::new(None),
        }
    }

    fn tmp(&self) -> PathBuf {
        self.vol.dir().join(SNAPSHOT_TMP)
    }

    /// The last snapshot this runner took.
    pub fn last(&self) -> Option<Summary> {
        self.last.lock().expect("lock").clone()
    }

    /// Takes a snapshot and stores it; `why` is logged.
    pub async fn take(&self, why: &str) -> Result<SnapshotTaken, String> {
        let _one = self.busy.lock().await;
        let r = self.take_now(why).await;
        let m = &self.metrics;
        match &r {
            Ok(t) => {
                m.snapshots
                    .get_or_create(&ResultLabels { result: "ok" })
                    .inc();
                m.snapshot_last_timestamp
                    .set(t.snapshot.taken_at_ms as f64 / 1000.0);
                m.snapshot_bytes.set(t.snapshot.bytes as i64);
                *self.last.lock().expect("lock") = Some(t.snapshot.clone());
            }
            Err(e) => {
                m.snapshots
                    .get_or_create(&ResultLabels { result: "failed" })
                    .inc();
                warn!(error = %e, "snapshot failed; the volume is unchanged");
            }
        }
        let _ = tokio::fs::remove_dir_all(self.tmp()).await;
        r
    }

    async fn take_now(&self, why: &str) -> Result<SnapshotTaken, String> {
        let tmp = self.tmp();
        let _ = tokio::fs::remove_dir_all(&tmp).await;
        tokio::fs::create_dir_all(&tmp)
            .await
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let id = snapshots::new_id(shared::now_ms());
        let dir = tmp.join(&id);
        let started = Instant::now();
        let vol = self.vol.clone();
        let copy_dir = dir.clone();
        let copy_id = id.clone();
        let meta = tokio::task::spawn_blocking(move || vol.snapshot_to(&copy_dir, &copy_id))
            .await
            .map_err(|e| format!("the copy stopped: {e}"))?
            .map_err(|e| format!("cannot copy the volume: {e}"))?;
        let copy = started.elapsed();
        self.metrics
            .snapshot_copy_seconds
            .observe(copy.as_secs_f64());
        let summary = Summary::of(&meta, copy.as_millis() as u64);
        let store = snapshots::open_or_create_store(&self.js, &self.bucket, self.replicas)
            .await
            .map_err(|e| e.to_string())?;
        let up = Instant::now();
        snapshots::upload(&store, &dir.join(DATA_FILE), &summary, &meta).await?;
        let upload = up.elapsed();
        self.metrics
            .snapshot_upload_seconds
            .observe(upload.as_secs_f64());
        let pruned = match self.prune(&store, &summary.shard).await {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "cannot apply the snapshot retention; retrying after the next snapshot");
                Vec::new()
            }
        };
        info!(
            snapshot = %summary.id,
            why,
            bytes = summary.bytes,
            tenants = summary.tenants,
            entries = summary.entries,
            copy_ms = copy.as_millis() as u64,
            upload_ms = upload.as_millis() as u64,
            pruned = pruned.len(),
            "snapshot stored in bucket {}",
            self.bucket
        );
        Ok(SnapshotTaken {
            bucket: self.bucket.clone(),
            snapshot: summary,
            upload_ms: upload.as_millis() as u64,
            pruned,
        })
    }

    async fn prune(
        &self,
        store: &async_nats::jetstream::object_store::ObjectStore,
        shard: &str,
    ) -> Result<Vec<String>, String> {
        let all = snapshots::list(store, Some(shard)).await?;
        let mut deleted = Vec::new();
        for s in snapshots::expired(&all, self.keep as usize, self.max_age, shared::now_ms()) {
            snapshots::delete(store, s).await?;
            deleted.push(s.id.clone());
        }
        Ok(deleted)
    }

    /// Reads the shard's newest snapshot from the bucket (the age `/metrics` reports must
    /// not start from zero at every restart), then takes a snapshot every `every` (if set)
    /// until `stop`; a failed one is retried at the next.
    pub async fn run(self: Arc<Self>, every: Option<Duration>, stop: CancellationToken) {
        if let Ok(store) = snapshots::open_store(&self.js, &self.bucket).await {
            let shard = self
                .vol
                .read(|r| r.meta_str(shared::edge_storage::meta::SHARD_ID))
                .ok()
                .flatten()
                .unwrap_or_default();
            if let Ok(all) = snapshots::list(&store, Some(&shard)).await
                && let Some(newest) = all.last()
                && self.last().is_none()
            {
                self.metrics
                    .snapshot_last_timestamp
                    .set(newest.taken_at_ms as f64 / 1000.0);
                self.metrics.snapshot_bytes.set(newest.bytes as i64);
                *self.last.lock().expect("lock") = Some(newest.clone());
            }
        }
        let Some(every) = every else {
            stop.cancelled().await;
            return;
        };
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.take("scheduled") => {}
            }
        }
    }
}
