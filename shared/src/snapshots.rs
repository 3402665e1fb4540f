//! Shard snapshots in a NATS Object Store bucket (docs/storage.md#snapshots), defined once
//! for the runner (which takes them) and runnerctl (which lists and restores them): object
//! names, the summary each object carries, upload, verified download, retention.
//!
//! A snapshot is one object, `<shard>/<id>`: the data file of a copy made by
//! [`crate::edge_storage::Volume::snapshot_to`]. Its metadata (`runner.snapshot`) is a
//! [`Summary`] with size and SHA-256, so listing downloads nothing; the positions per tenant
//! and saga are inside the copy (`snapshot` in its meta table). The Object Store writes the
//! object's description only after every chunk is stored, so an object is listed complete
//! or not at all.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::edge_storage::snapshot::SnapshotMeta;

#[cfg(feature = "nats")]
pub use store::*;

/// The bucket's default name (`RUNNER_SNAPSHOT_BUCKET`, runnerctl `--snapshot-bucket`).
pub const DEFAULT_BUCKET: &str = "runner_snapshots";
/// The object metadata key holding the [`Summary`] (JSON).
pub const SUMMARY_KEY: &str = "runner.snapshot";
/// Chunks of 512 KiB: fewer round trips than the default 128 KiB, under the server's
/// default 1 MiB payload limit.
#[cfg(feature = "nats")]
const CHUNK: usize = 512 * 1024;

/// What a listing shows of a snapshot, carried by its object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub id: String,
    pub shard: String,
    pub volume_id: String,
    /// The event stream the positions refer to (`<name>@<created ns>`).
    pub stream_id: String,
    pub layout: String,
    pub format_version: u32,
    pub taken_at_ms: u64,
    /// How long the copy took (ms); the upload is not counted.
    pub copy_ms: u64,
    pub bytes: u64,
    pub sha256: String,
    /// Tenants served by the volume, tenant+saga pairs with a checkpoint, entries copied.
    pub tenants: u64,
    pub sagas: u64,
    pub entries: u64,
    /// The lowest and highest tenant position: a restored shard reads on from these.
    pub min_position: u64,
    pub max_position: u64,
}

impl Summary {
    pub fn of(m: &SnapshotMeta, copy_ms: u64) -> Summary {
        Summary {
            id: m.id.clone(),
            shard: m.shard_id.clone().unwrap_or_default(),
            volume_id: m.volume_id.clone().unwrap_or_default(),
            stream_id: m.stream_id.clone().unwrap_or_default(),
            layout: m.layout.clone().unwrap_or_else(|| "single".into()),
            format_version: m.format_version,
            taken_at_ms: m.taken_at_ms,
            copy_ms,
            bytes: m.bytes,
            sha256: m.sha256.clone(),
            tenants: m.positions.len() as u64,
            sagas: m.checkpoints.values().map(|s| s.len() as u64).sum(),
            entries: m.entries,
            min_position: m.positions.values().copied().min().unwrap_or(0),
            max_position: m.positions.values().copied().max().unwrap_or(0),
        }
    }

    pub fn object_name(&self) -> String {
        object_name(&self.shard, &self.id)
    }
}

/// The answer of `POST /admin/snapshot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotTaken {
    pub bucket: String,
    pub snapshot: Summary,
    /// How long storing it in the bucket took (ms).
    pub upload_ms: u64,
    /// Ids of this shard's snapshots deleted by retention afterwards.
    pub pruned: Vec<String>,
}

/// `<shard>/<id>`.
pub fn object_name(shard: &str, id: &str) -> String {
    format!("{shard}/{id}")
}

/// `<shard>/<id>.json`: the snapshot's full description (positions per tenant and saga).
pub fn description_name(shard: &str, id: &str) -> String {
    format!("{}.json", object_name(shard, id))
}

/// A tenant whose events since its position its stream no longer fully holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    pub tenant: String,
    pub stream: String,
    /// The sequences gone: `from..=to`.
    pub from: u64,
    pub to: u64,
    /// The tenant's sagas, each with the sequence it was applied up to (empty when none).
    pub sagas: Vec<(String, u64)>,
    /// False for a tenant the volume does not hold at all (it read it from the start).
    pub in_snapshot: bool,
}

/// The tenants (with their positions; `None`: not in the volume, read from the start)
/// whose streams (`ends`: each group stream's first and last sequence) no longer hold the
/// sequences right after their positions, each with its sagas' checkpoints in the volume
/// `r` reads.
pub fn gaps<'a, K: crate::edge_storage::TransactionKind>(
    r: &crate::edge_storage::Reader<'_, K>,
    tenants: impl IntoIterator<Item = (&'a str, Option<u64>)>,
    ends: &std::collections::BTreeMap<crate::layout::Group, (u64, u64)>,
) -> Result<Vec<Gap>, crate::edge_storage::StorageError> {
    let layout = crate::edge_storage::snapshot::volume_layout(r)?;
    let mut out = Vec::new();
    for (t, at) in tenants {
        let g = layout.group_of(t);
        let Some((first, _)) = ends.get(&g).copied() else {
            continue;
        };
        let p = at.unwrap_or(0);
        if first > p + 1 {
            out.push(Gap {
                tenant: t.to_string(),
                stream: layout.stream(g),
                from: p + 1,
                to: first - 1,
                sagas: r
                    .checkpoints_of(t)?
                    .into_iter()
                    .map(|(s, cp)| (s, cp.seq))
                    .collect(),
                in_snapshot: at.is_some(),
            });
        }
    }
    Ok(out)
}

/// The gaps in words, at most 20 tenants named.
pub fn describe_gaps(gaps: &[Gap]) -> String {
    const SHOWN: usize = 20;
    let mut parts: Vec<String> = gaps
        .iter()
        .take(SHOWN)
        .map(|l| {
            let what = if !l.in_snapshot {
                "not in the snapshot: it came to the shard after it".to_string()
            } else if l.sagas.is_empty() {
                "no saga applied yet".to_string()
            } else {
                let s: Vec<String> = l
                    .sagas
                    .iter()
                    .map(|(s, at)| format!("{s} applied up to {at}"))
                    .collect();
                format!("sagas {}", s.join(", "))
            };
            format!(
                "tenant {} ({what}) needs sequences {}..{} of stream {}, which it no longer holds",
                l.tenant, l.from, l.to, l.stream
            )
        })
        .collect();
    if gaps.len() > SHOWN {
        parts.push(format!("and {} more tenants", gaps.len() - SHOWN));
    }
    parts.join("; ")
}

/// How long before a snapshot the ids of published messages are looked for: an outbox
/// entry copied with the snapshot may have been published (and its deletion not yet
/// committed) shortly before the copy's transaction began.
pub const BEFORE_SNAPSHOT: Duration = Duration::from_secs(120);

/// Which of `shard`'s snapshots retention removes: beyond the newest `keep`, and older than
/// `max_age` (`None`: no age limit); the newest is always kept.
pub fn expired(
    snapshots: &[Summary],
    keep: usize,
    max_age: Option<Duration>,
    now_ms: u64,
) -> Vec<&Summary> {
    let mut newest_first: Vec<&Summary> = snapshots.iter().collect();
    newest_first.sort_by(|a, b| b.taken_at_ms.cmp(&a.taken_at_ms).then(b.id.cmp(&a.id)));
    newest_first
        .into_iter()
        .enumerate()
        .filter(|(i, s)| {
            *i > 0
                && (*i >= keep.max(1)
                    || max_age.is_some_and(|a| {
                        now_ms.saturating_sub(s.taken_at_ms) > a.as_millis() as u64
                    }))
        })
        .map(|(_, s)| s)
        .collect()
}

/// What needs NATS: the bucket, upload, download, listing, the stream's ends and the
/// published ids.
#[cfg(feature = "nats")]
mod store {
    use std::collections::HashMap;
    use std::path::Path;

    use async_nats::jetstream::{self, consumer, object_store};
    use futures_util::StreamExt;
    use sha2::{Digest, Sha256};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A snapshot id for a copy taken at `at_ms`: its UTC time, `YYYYMMDDTHHMMSS.mmmZ`, which
    /// sorts like the time.
    pub fn new_id(at_ms: u64) -> String {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }

    /// The bucket's definition: file storage, the replica count of everything the runner
    /// creates, compressed by the server (a volume's pages compress well).
    pub fn store_config(bucket: &str, replicas: usize) -> object_store::Config {
        object_store::Config {
            bucket: bucket.to_string(),
            description: Some("runner shard snapshots: <shard>/<id>".into()),
            storage: jetstream::stream::StorageType::File,
            num_replicas: replicas,
            compression: true,
            ..Default::default()
        }
    }

    /// Why the bucket could not be opened.
    #[derive(Debug, thiserror::Error)]
    pub enum StoreError {
        #[error(
            "there is no snapshot bucket '{0}': no runner has taken a snapshot with it yet (the runner creates it at its first snapshot; check RUNNER_SNAPSHOT_BUCKET / --snapshot-bucket)"
        )]
        NotFound(String),
        #[error("cannot open the snapshot bucket '{0}': {1}")]
        Other(String, String),
    }

    /// Opens the bucket.
    pub async fn open_store(
        js: &jetstream::Context,
        bucket: &str,
    ) -> Result<object_store::ObjectStore, StoreError> {
        match crate::nats::get_stream_patiently(js, &format!("OBJ_{bucket}")).await {
            Ok(_) => {}
            Err(crate::nats::GetStreamPatientlyError::Answer(a))
                if crate::nats::stream_not_found(&a) =>
            {
                return Err(StoreError::NotFound(bucket.to_string()));
            }
            Err(e) => return Err(StoreError::Other(bucket.to_string(), e.to_string())),
        }
        js.get_object_store(bucket)
            .await
            .map_err(|e| StoreError::Other(bucket.to_string(), e.to_string()))
    }

    /// Opens the bucket, creating it if it does not exist.
    pub async fn open_or_create_store(
        js: &jetstream::Context,
        bucket: &str,
        replicas: usize,
    ) -> Result<object_store::ObjectStore, StoreError> {
        match open_store(js, bucket).await {
            Err(StoreError::NotFound(_)) => {
                match js.create_object_store(store_config(bucket, replicas)).await {
                    Ok(s) => Ok(s),
                    Err(e) => open_store(js, bucket).await.map_err(|_| {
                        StoreError::Other(bucket.to_string(), format!("cannot create it: {e}"))
                    }),
                }
            }
            other => other,
        }
    }

    /// Every snapshot in the bucket (of `shard` only, if given), oldest first. Objects that are
    /// not snapshots (no readable summary) are left out.
    pub async fn list(
        store: &object_store::ObjectStore,
        shard: Option<&str>,
    ) -> Result<Vec<Summary>, String> {
        let mut objects = store
            .list()
            .await
            .map_err(|e| format!("cannot list the snapshots: {e}"))?;
        let mut out = Vec::new();
        while let Some(info) = objects.next().await {
            let info = info.map_err(|e| format!("cannot list the snapshots: {e}"))?;
            if info.deleted {
                continue;
            }
            let Some(s) = summary_of(&info) else {
                continue;
            };
            if shard.is_none_or(|sh| sh == s.shard) {
                out.push(s);
            }
        }
        out.sort_by(|a, b| (a.taken_at_ms, &a.shard, &a.id).cmp(&(b.taken_at_ms, &b.shard, &b.id)));
        Ok(out)
    }

    fn summary_of(info: &object_store::ObjectInfo) -> Option<Summary> {
        let s: Summary = serde_json::from_str(info.metadata.get(SUMMARY_KEY)?).ok()?;
        (info.name == s.object_name()).then_some(s)
    }

    /// Stores a snapshot: its full description (`<shard>/<id>.json`: positions per tenant and
    /// saga, size and SHA-256), then the data file of its copy (`<shard>/<id>`), whose
    /// appearance in the bucket makes the snapshot listed.
    pub async fn upload(
        store: &object_store::ObjectStore,
        file: &Path,
        summary: &Summary,
        meta: &SnapshotMeta,
    ) -> Result<(), String> {
        let json = serde_json::to_vec(meta).expect("serialisable");
        store
            .put(
                description_name(&summary.shard, &summary.id).as_str(),
                &mut json.as_slice(),
            )
            .await
            .map_err(|e| format!("cannot store the snapshot's description in the bucket: {e}"))?;
        let mut f = tokio::fs::File::open(file)
            .await
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let meta = object_store::ObjectMetadata {
            name: summary.object_name(),
            description: Some(format!(
                "snapshot of shard {} taken at {} ms",
                summary.shard, summary.taken_at_ms
            )),
            chunk_size: Some(CHUNK),
            metadata: HashMap::from([(
                SUMMARY_KEY.to_string(),
                serde_json::to_string(summary).expect("serialisable"),
            )]),
            headers: None,
        };
        store
            .put(meta, &mut f)
            .await
            .map_err(|e| format!("cannot store the snapshot in the bucket: {e}"))?;
        Ok(())
    }

    /// Why a download was refused or failed.
    #[derive(Debug, thiserror::Error)]
    pub enum DownloadError {
        #[error("shard {shard} has no snapshot {id} (`runnerctl snapshots {shard}` lists them)")]
        NotFound { shard: String, id: String },
        #[error("snapshot {0} is refused: {1}")]
        Refused(String, String),
        #[error("{0}")]
        Failed(String),
    }

    /// Downloads snapshot `id` of `shard` into the new file `dest`, checking its size and
    /// SHA-256 against its summary; a mismatch removes the file and is refused.
    pub async fn download(
        store: &object_store::ObjectStore,
        shard: &str,
        id: &str,
        dest: &Path,
    ) -> Result<Summary, DownloadError> {
        let name = object_name(shard, id);
        let not_found = || DownloadError::NotFound {
            shard: shard.to_string(),
            id: id.to_string(),
        };
        let info = match store.info(&name).await {
            Ok(i) if !i.deleted => i,
            Ok(_) => return Err(not_found()),
            Err(e) if e.kind() == object_store::InfoErrorKind::NotFound => return Err(not_found()),
            Err(e) => return Err(DownloadError::Failed(format!("cannot read {name}: {e}"))),
        };
        let summary = summary_of(&info).ok_or_else(|| {
            DownloadError::Refused(
                name.clone(),
                format!(
                    "the object has no readable '{SUMMARY_KEY}' description: it was not stored by a runner"
                ),
            )
        })?;
        let result = fetch(store, &name, dest).await;
        let (bytes, sha256) = match result {
            Ok(d) => d,
            Err(e) => {
                let _ = tokio::fs::remove_file(dest).await;
                return Err(e);
            }
        };
        let refuse = |why: String| DownloadError::Refused(name.clone(), why);
        let verdict = if bytes != summary.bytes {
            Err(refuse(format!(
                "truncated or padded: {bytes} bytes stored, the snapshot records {}",
                summary.bytes
            )))
        } else if sha256 != summary.sha256 {
            Err(refuse(format!(
                "corrupt: the SHA-256 of its data is {sha256}, the snapshot records {}",
                summary.sha256
            )))
        } else {
            Ok(summary)
        };
        if verdict.is_err() {
            let _ = tokio::fs::remove_file(dest).await;
        }
        verdict
    }

    async fn fetch(
        store: &object_store::ObjectStore,
        name: &str,
        dest: &Path,
    ) -> Result<(u64, String), DownloadError> {
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            DownloadError::Failed(format!("{what} {name}: {e}"))
        };
        let mut obj = store
            .get(name)
            .await
            .map_err(|e| failed("cannot download", &e))?;
        let mut f = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dest)
            .await
            .map_err(|e| DownloadError::Failed(format!("cannot create {}: {e}", dest.display())))?;
        let mut hash = Sha256::new();
        let mut bytes = 0u64;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match obj.read(&mut buf).await {
                Ok(n) => n,
                // The Object Store's own digest check: chunks were altered or lost.
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    return Err(DownloadError::Refused(
                        name.to_string(),
                        format!("corrupt: {e}"),
                    ));
                }
                Err(e) => return Err(failed("cannot download", &e)),
            };
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            bytes += n as u64;
            f.write_all(&buf[..n])
                .await
                .map_err(|e| failed("cannot write", &e))?;
        }
        f.sync_all().await.map_err(|e| failed("cannot write", &e))?;
        Ok((bytes, format!("{:x}", hash.finalize())))
    }

    /// Each group stream's first and last sequence now.
    pub async fn stream_ends(
        js: &jetstream::Context,
        layout: &crate::layout::Layout,
    ) -> Result<std::collections::BTreeMap<crate::layout::Group, (u64, u64)>, String> {
        let mut out = std::collections::BTreeMap::new();
        for g in layout.groups() {
            let name = layout.stream(g);
            let mut s = js
                .get_stream(&name)
                .await
                .map_err(|e| format!("cannot read stream {name}: {e}"))?;
            let info = s
                .info()
                .await
                .map_err(|e| format!("cannot read stream {name}: {e}"))?;
            out.insert(g, (info.state.first_sequence, info.state.last_sequence));
        }
        Ok(out)
    }

    /// Whose published messages [`published_since_snapshot`] looks for.
    pub enum Whose<'a> {
        /// One tenant's: read with a subject filter per stream.
        Tenant(&'a str),
        /// A shard's tenants: one unfiltered read per stream, kept in the client (a filter
        /// per tenant costs the server per message, NOTES.md), plus the dead letters of
        /// invalid subjects (they name no tenant; their ids are unique to the event).
        Tenants(&'a std::collections::BTreeSet<String>),
    }

    /// The `Nats-Msg-Id`s of the commands (`streams.0`) and dead letters (`streams.1`) of
    /// `whose` stored since [`BEFORE_SNAPSHOT`] before a snapshot taken at `taken_at_ms`:
    /// what the volume lost after that snapshot had published.
    pub async fn published_since_snapshot(
        js: &jetstream::Context,
        streams: (&str, &str),
        taken_at_ms: u64,
        whose: Whose<'_>,
    ) -> Result<Vec<String>, String> {
        let since = taken_at_ms.saturating_sub(BEFORE_SNAPSHOT.as_millis() as u64);
        let mut ids = Vec::new();
        for (stream, root) in [(streams.0, "cmd"), (streams.1, "dlq")] {
            let filter = match whose {
                Whose::Tenant(t) => Some(format!("{root}.{t}.>")),
                Whose::Tenants(_) => None,
            };
            published_since(js, stream, since, filter, |subject, id| {
                let keep = match whose {
                    Whose::Tenant(_) => true,
                    Whose::Tenants(set) => {
                        subject == crate::names::DLQ_INVALID_SUBJECT
                            || subject
                                .strip_prefix(root)
                                .and_then(|s| s.strip_prefix('.'))
                                .and_then(|s| s.split('.').next())
                                .is_some_and(|t| set.contains(t))
                    }
                };
                if keep {
                    ids.push(id.to_string());
                }
            })
            .await?;
        }
        Ok(ids)
    }

    /// Calls `f(subject, msg id)` for every message of `stream` (of `filter` only, if given)
    /// stored since `since_ms`.
    async fn published_since(
        js: &jetstream::Context,
        stream: &str,
        since_ms: u64,
        filter: Option<String>,
        mut f: impl FnMut(&str, &str),
    ) -> Result<(), String> {
        let fail = |e: &dyn std::fmt::Display| {
            format!("cannot read what was published to stream {stream}: {e}")
        };
        let s = match js.get_stream(stream).await {
            Ok(s) => s,
            Err(e) if crate::nats::stream_not_found(&e) => return Ok(()),
            Err(e) => return Err(fail(&e)),
        };
        let start_time =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(since_ms) * 1_000_000)
                .map_err(|e| fail(&e))?;
        let c = s
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::ByStartTime { start_time },
                filter_subject: filter.unwrap_or_default(),
                headers_only: true,
                ..Default::default()
            })
            .await
            .map_err(|e| fail(&e))?;
        if c.cached_info().num_pending == 0 {
            return Ok(());
        }
        let mut msgs = c.messages().await.map_err(|e| fail(&e))?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        loop {
            let next = tokio::time::timeout_at(deadline, msgs.next())
                .await
                .map_err(|_| fail(&"not read to its end in 10 minutes"))?;
            let Some(m) = next else { break };
            let m = m.map_err(|e| fail(&e))?;
            if let Some(id) = m
                .headers
                .as_ref()
                .and_then(|h| h.get(crate::names::headers::MSG_ID))
            {
                f(m.subject.as_str(), id.as_str());
            }
            let info = m.info().map_err(|e| fail(&e))?;
            if info.pending == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Deletes a snapshot (its data first: a description without data is never listed).
    pub async fn delete(store: &object_store::ObjectStore, s: &Summary) -> Result<(), String> {
        store
            .delete(s.object_name())
            .await
            .map_err(|e| format!("cannot delete snapshot {}: {e}", s.object_name()))?;
        match store.delete(description_name(&s.shard, &s.id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == object_store::DeleteErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!(
                "cannot delete the description of snapshot {}: {e}",
                s.object_name()
            )),
        }
    }

    /// A snapshot's full description: what it holds per tenant and saga, without downloading
    /// its data.
    pub async fn describe(
        store: &object_store::ObjectStore,
        shard: &str,
        id: &str,
    ) -> Result<SnapshotMeta, DownloadError> {
        let name = description_name(shard, id);
        let mut obj = match store.get(&name).await {
            Ok(o) => o,
            Err(e) if e.kind() == object_store::GetErrorKind::NotFound => {
                return Err(DownloadError::NotFound {
                    shard: shard.to_string(),
                    id: id.to_string(),
                });
            }
            Err(e) => return Err(DownloadError::Failed(format!("cannot read {name}: {e}"))),
        };
        let mut buf = Vec::new();
        obj.read_to_end(&mut buf)
            .await
            .map_err(|e| DownloadError::Failed(format!("cannot read {name}: {e}")))?;
        serde_json::from_slice(&buf).map_err(|e| {
            DownloadError::Refused(name, format!("its description is unreadable: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "nats")]
    #[test]
    fn ids_are_the_utc_time_and_sort_like_it() {
        assert_eq!(new_id(0), "19700101T000000.000Z");
        // 2026-12-07T19:15:42.123Z
        assert_eq!(new_id(1_796_670_942_123), "20261207T191542.123Z");
        assert_eq!(new_id(951_782_400_000), "20000229T000000.000Z");
        let a = new_id(1_796_670_942_123);
        let b = new_id(1_796_670_942_124);
        assert!(a < b);
    }

    fn s(id: &str, at: u64) -> Summary {
        Summary {
            id: id.into(),
            shard: "a".into(),
            volume_id: String::new(),
            stream_id: String::new(),
            layout: "single".into(),
            format_version: 2,
            taken_at_ms: at,
            copy_ms: 0,
            bytes: 0,
            sha256: String::new(),
            tenants: 0,
            sagas: 0,
            entries: 0,
            min_position: 0,
            max_position: 0,
        }
    }

    #[test]
    fn retention_keeps_the_newest_count_within_the_age_and_always_the_newest() {
        let all = [s("1", 1_000), s("2", 2_000), s("3", 3_000), s("4", 4_000)];
        let ids = |v: Vec<&Summary>| v.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(expired(&all, 2, None, 5_000)), ["2", "1"]);
        assert_eq!(ids(expired(&all, 10, None, 5_000)), Vec::<String>::new());
        let age = Some(Duration::from_millis(2_500));
        assert_eq!(ids(expired(&all, 10, age, 5_000)), ["2", "1"]);
        // Everything too old: the newest stays anyway; keep 0 means 1.
        assert_eq!(ids(expired(&all, 10, age, 100_000)), ["3", "2", "1"]);
        assert_eq!(ids(expired(&all, 0, None, 5_000)), ["3", "2", "1"]);
    }
}
