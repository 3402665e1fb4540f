//! Consistent copies of a live volume, the foundation of shard snapshots (issue 20).
//!
//! A snapshot is a new volume written from one read transaction of the live one: every
//! entry of every table, copied in key order, so the copy is exactly the live volume as of
//! that transaction, compacted (no free pages), with the source's identity (volume id,
//! shard, stream) and its counts. The same transaction reads the positions the snapshot
//! reports, so they are exactly those of its data, whatever the engine commits meanwhile;
//! the writer is never paused (a read transaction only pins the pages it sees until it
//! ends). The copy is logical rather than MDBX's page copy (`mdbx_txn_copy2pathname`)
//! because the bindings do not wrap that call and the workspace forbids `unsafe`; its data
//! file opens like any volume's.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    Checkpoint, CursorMode, DATA_FILE, Reader, StorageError, TableId, Volume, WriteOptions, Writer,
    decode_value, keys, meta,
};
use crate::layout::Layout;

/// Keys of the `meta` table that snapshots and restores use.
pub mod meta_keys {
    /// JSON [`super::SnapshotMeta`] (without size and checksum): present in a snapshot's
    /// copy only, written by the copy's own transaction. A restored volume keeps it.
    pub const SNAPSHOT: &str = "snapshot";
    /// JSON [`super::RestoreRecord`]: the volume was restored from a snapshot (by
    /// `runnerctl restore`); until its `checked_at_ms` is set, the runner checks at its start
    /// that the event stream still holds every event since the snapshot.
    pub const RESTORED: &str = "restored";
    /// JSON [`super::RestoreGuard`]: commands and dead letters already published by the lost
    /// volume are not published again while it is present (docs/storage.md#snapshots).
    pub const RESTORE_GUARD: &str = "restore_guard";
    /// Prefix of `published:<Nats-Msg-Id>` (empty value): one message the lost volume
    /// published after the snapshot (found in the command or dead-letter stream).
    pub const PUBLISHED_PREFIX: &str = "published:";

    pub fn published(msg_id: &str) -> String {
        format!("{PUBLISHED_PREFIX}{msg_id}")
    }
}

/// What a snapshot holds, read in the transaction it was copied from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// The snapshot's id, unique per shard (the time it was taken, UTC, then a suffix).
    #[serde(default)]
    pub id: String,
    /// The volume's id and shard (a snapshot restores only as this shard's volume).
    pub volume_id: Option<String>,
    pub shard_id: Option<String>,
    pub format_version: u32,
    /// The event layout (`single` or `partitioned/<G>`) and the base stream name.
    #[serde(default)]
    pub layout: Option<String>,
    #[serde(default)]
    pub stream: Option<String>,
    /// The event stream the volume reads (`<stream>@<created ns>`; in a partitioned layout,
    /// group 0's).
    pub stream_id: Option<String>,
    /// When the copy's transaction began (ms since the epoch).
    pub taken_at_ms: u64,
    /// Every tenant's sagas and the stream sequence each was applied up to.
    pub checkpoints: BTreeMap<String, BTreeMap<String, u64>>,
    /// Every tenant served by the volume (not released) and its position: every event of it
    /// up to there (in its group's stream) is handled; a restored shard reads on after it.
    #[serde(default)]
    pub positions: BTreeMap<String, u64>,
    /// Entries copied, all tables together.
    pub entries: u64,
    /// Size and hex SHA-256 of the copy's data file (not known inside the copy: 0 and
    /// empty there).
    pub bytes: u64,
    pub sha256: String,
}

/// A restore, recorded in the restored volume ([`meta_keys::RESTORED`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreRecord {
    pub snapshot: String,
    pub taken_at_ms: u64,
    pub restored_at_ms: u64,
    /// `user@host` of whoever restored it.
    pub by: String,
    /// Set when the operator accepted, at the restore, that the stream no longer holds some
    /// events since the snapshot: what they accepted, for the log.
    #[serde(default)]
    pub accepted_loss: Option<String>,
    /// When the runner checked the stream and installed the guard, at its first start on
    /// the volume (`None` until then: it checks at every start until it did).
    #[serde(default)]
    pub checked_at_ms: Option<u64>,
}

/// The guard against publishing again what the lost volume published
/// ([`meta_keys::RESTORE_GUARD`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreGuard {
    pub snapshot: String,
    pub built_at_ms: u64,
    /// Each group's last stream sequence when the guard was built: everything the lost
    /// volume applied is at or before it. The guard ends once every tenant it covers is
    /// applied up to its group's.
    pub until: BTreeMap<u16, u64>,
    pub tenants: Vec<String>,
    /// Message ids recorded (`published:` keys).
    pub ids: u64,
    /// Ids found again and not published since.
    #[serde(default)]
    pub suppressed: u64,
}

impl Volume {
    /// Writes the volume as of one read transaction into the new directory `dest` (which
    /// must not exist; its parent must) as a volume of its own, and says what it holds.
    /// The engine commits on meanwhile. The copy also holds the returned description
    /// (without size and checksum) as its `snapshot` meta value.
    pub fn snapshot_to(&self, dest: &Path, id: &str) -> Result<SnapshotMeta, StorageError> {
        let io = |what: &'static str, e: std::io::Error| StorageError::Io {
            path: dest.to_path_buf(),
            what,
            source: e,
        };
        std::fs::create_dir(dest).map_err(|e| io("cannot create the snapshot's directory", e))?;
        let taken_at_ms = crate::now_ms();
        let mut snap = self.read(|r| {
            let layout = r.meta_str(meta::LAYOUT)?;
            let stream = r.meta_str(meta::STREAM)?;
            let snap = SnapshotMeta {
                id: id.to_string(),
                volume_id: r.meta_str(meta::VOLUME_ID)?,
                shard_id: r.meta_str(meta::SHARD_ID)?,
                format_version: r.format_version()?,
                stream_id: r
                    .meta_str(meta::STREAM_ID)?
                    .or(r.meta_str(&format!("{}/0", meta::STREAM_ID))?),
                layout,
                stream,
                taken_at_ms,
                checkpoints: all_checkpoints(r)?,
                positions: tenant_positions(r)?,
                entries: 0,
                bytes: 0,
                sha256: String::new(),
            };
            let shard = snap.shard_id.clone().unwrap_or_default();
            let copy = Volume::open_for_write_unmigrated(dest, &WriteOptions::new(shard))?;
            let mut entries = 0u64;
            // Chunks of writes (one read transaction throughout, so still one boundary):
            // a single write transaction would hold every dirty page of the copy in memory.
            const CHUNK: u64 = 100_000;
            for table in TableId::ALL {
                let mut from: Option<Vec<u8>> = None;
                loop {
                    let (n, next) = copy.write(|w| {
                        let mut n = 0u64;
                        let mut next = None;
                        r.scan(table, &[], from.as_deref(), |k, v| {
                            w.put_raw(table, k, v)?;
                            n += 1;
                            if n == CHUNK {
                                next = Some(k.to_vec());
                                return Ok(false);
                            }
                            Ok(true)
                        })?;
                        Ok::<_, StorageError>((n, next))
                    })?;
                    entries += n;
                    match next {
                        Some(k) => from = Some(k),
                        None => break,
                    }
                }
            }
            let snap = SnapshotMeta { entries, ..snap };
            copy.write(|w| {
                w.delete_meta(meta_keys::RESTORED)?;
                w.set_meta_str(
                    meta_keys::SNAPSHOT,
                    &serde_json::to_string(&snap).expect("serialisable"),
                )
            })?;
            drop(copy);
            Ok::<_, StorageError>(snap)
        })?;
        let (bytes, sha256) = file_digest(&dest.join(DATA_FILE))?;
        snap.bytes = bytes;
        snap.sha256 = sha256;
        Ok(snap)
    }
}

/// Size and hex SHA-256 of a file.
pub fn file_digest(file: &Path) -> Result<(u64, String), StorageError> {
    let io = |e| StorageError::io(file, "cannot read the snapshot", e);
    let mut f = std::fs::File::open(file).map_err(io)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, format!("{:x}", hash.finalize())))
}

impl<K: super::TransactionKind> Reader<'_, K> {
    /// The description a snapshot's copy holds (`None` in a volume that is no snapshot).
    pub fn snapshot_meta(&self) -> Result<Option<SnapshotMeta>, StorageError> {
        self.meta_json(meta_keys::SNAPSHOT)
    }

    /// The restore this volume comes from (kept for good; `checked_at_ms` says whether the
    /// runner has checked it at its start).
    pub fn restored(&self) -> Result<Option<RestoreRecord>, StorageError> {
        self.meta_json(meta_keys::RESTORED)
    }

    /// The guard against publishing again what the lost volume published, while it lasts.
    pub fn restore_guard(&self) -> Result<Option<RestoreGuard>, StorageError> {
        self.meta_json(meta_keys::RESTORE_GUARD)
    }

    fn meta_json<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, StorageError> {
        match self.meta_raw(name)? {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| StorageError::Corrupt(format!("meta '{name}' is unreadable: {e}"))),
        }
    }
}

impl Writer<'_> {
    pub fn set_restored(&self, rec: &RestoreRecord) -> Result<(), StorageError> {
        self.set_meta_str(
            meta_keys::RESTORED,
            &serde_json::to_string(rec).expect("serialisable"),
        )
    }

    /// Records message ids the lost volume published (part of building the guard).
    pub fn add_published<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<u64, StorageError> {
        let mut n = 0;
        for id in ids {
            self.set_meta_raw(&meta_keys::published(id), &[])?;
            n += 1;
        }
        Ok(n)
    }

    /// Installs the guard (after its ids), deletes the outbox entries it covers (copied
    /// with the snapshot: the lost volume published them), and records the restore as
    /// checked. Returns how many outbox entries it deleted.
    pub fn install_guard(&mut self, guard: &RestoreGuard) -> Result<u64, StorageError> {
        let n = self.merge_guard(guard, None)?;
        if let Some(rec) = self.restored()? {
            self.set_restored(&RestoreRecord {
                checked_at_ms: Some(crate::now_ms()),
                ..rec
            })?;
        }
        Ok(n)
    }

    /// Adds `guard` (its ids recorded before) to the one installed, if any: the tenants of
    /// both, each group's later end, the later time. Deletes the outbox entries (of
    /// `tenant` only, if given) whose ids the guard holds: the lost volume published them.
    /// Returns how many it deleted.
    pub fn merge_guard(
        &mut self,
        guard: &RestoreGuard,
        tenant: Option<&str>,
    ) -> Result<u64, StorageError> {
        let mut covered = Vec::new();
        self.scan(TableId::Outbox, &[], None, |k, v| {
            let e: super::OutboxEntry = decode_value(v)?;
            if tenant.is_none_or(|t| t == e.tenant)
                && self
                    .get_raw(TableId::Meta, meta_keys::published(&e.msg_id).as_bytes())?
                    .is_some()
            {
                covered.push((k.to_vec(), e.tenant, e.saga, e.msg_id));
            }
            Ok(true)
        })?;
        let n = covered.len() as u64;
        for (k, t, s, id) in covered {
            self.delete_outbox(&k, &t, &s)?;
            self.delete_meta(&meta_keys::published(&id))?;
        }
        let mut merged = match self.restore_guard()? {
            None => guard.clone(),
            Some(mut g) => {
                for t in &guard.tenants {
                    if !g.tenants.contains(t) {
                        g.tenants.push(t.clone());
                    }
                }
                for (grp, end) in &guard.until {
                    let e = g.until.entry(*grp).or_insert(0);
                    *e = (*e).max(*end);
                }
                g.built_at_ms = g.built_at_ms.max(guard.built_at_ms);
                g.ids += guard.ids;
                g.suppressed += guard.suppressed;
                g
            }
        };
        merged.suppressed += n;
        self.set_meta_str(
            meta_keys::RESTORE_GUARD,
            &serde_json::to_string(&merged).expect("serialisable"),
        )?;
        Ok(n)
    }

    /// Ends the guard if it is still `seen` (nothing was added since it was looked at):
    /// deletes it and every id it still holds. Returns how many ids, `None` if it changed.
    pub fn clear_guard_if(&self, seen: &RestoreGuard) -> Result<Option<u64>, StorageError> {
        if self.restore_guard()?.as_ref() != Some(seen) {
            return Ok(None);
        }
        self.clear_guard().map(Some)
    }

    /// Ends the guard: deletes it and every id it still holds. Returns how many ids.
    pub fn clear_guard(&self) -> Result<u64, StorageError> {
        let mut keys = Vec::new();
        self.scan(
            TableId::Meta,
            meta_keys::PUBLISHED_PREFIX.as_bytes(),
            None,
            |k, _| {
                keys.push(k.to_vec());
                Ok(true)
            },
        )?;
        for k in &keys {
            self.del_raw(TableId::Meta, k)?;
        }
        self.delete_meta(meta_keys::RESTORE_GUARD)?;
        Ok(keys.len() as u64)
    }

    /// Whether a message with this id was published by the lost volume, while a guard is
    /// installed: then it is forgotten (it is suppressed once) and `true`.
    pub(super) fn take_published(&mut self, msg_id: &str) -> Result<bool, StorageError> {
        if self.guarded.is_none() {
            self.guarded = Some(
                self.get_raw(TableId::Meta, meta_keys::RESTORE_GUARD.as_bytes())?
                    .is_some(),
            );
        }
        if self.guarded != Some(true) {
            return Ok(false);
        }
        self.delete_meta(&meta_keys::published(msg_id))
    }
}

/// Every served tenant's position, as the runner computes it when it starts: a `Live`
/// tenant is at its group reader's position (or its own, if further), a tenant catching up
/// at its cursor's. Released tenants are not served here and are left out.
pub fn tenant_positions<K: super::TransactionKind>(
    r: &Reader<'_, K>,
) -> Result<BTreeMap<String, u64>, StorageError> {
    let layout = volume_layout(r)?;
    let mut out = BTreeMap::new();
    for (t, c) in r.cursors()? {
        let p = match c.mode {
            CursorMode::Released => continue,
            CursorMode::CatchingUp => c.seq,
            CursorMode::Live => {
                let g = layout.group_of(&t);
                r.meta_u64(&meta::reader_position(&layout, g))?
                    .unwrap_or(0)
                    .max(c.seq)
            }
        };
        out.insert(t, p);
    }
    Ok(out)
}

/// The event layout a volume's positions refer to.
pub fn volume_layout<K: super::TransactionKind>(r: &Reader<'_, K>) -> Result<Layout, StorageError> {
    let stream = r.meta_str(meta::STREAM)?.unwrap_or_default();
    let partitions = r
        .meta_str(meta::LAYOUT)?
        .and_then(|l| Layout::parse_partitions(&l))
        .unwrap_or(0);
    Ok(Layout::new(&stream, partitions))
}

fn all_checkpoints<K: super::TransactionKind>(
    r: &Reader<'_, K>,
) -> Result<BTreeMap<String, BTreeMap<String, u64>>, StorageError> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    r.scan(TableId::Checkpoints, &[], None, |k, v| {
        let (t, s) = keys::decode_two(k)?;
        let cp: Checkpoint = decode_value(v)?;
        out.entry(t.to_string())
            .or_default()
            .insert(s.to_string(), cp.seq);
        Ok(true)
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::super::InstanceRecord;
    use super::*;

    fn inst(version: u64) -> InstanceRecord {
        InstanceRecord {
            state: "open".into(),
            version,
            created_at_ms: 1,
            updated_at_ms: version,
            last_seq: version,
            last_event_id: format!("e{version}"),
            data: "{}".into(),
            timers: vec![],
            history: vec![],
        }
    }

    /// A writer commits transactions that each move every tenant's checkpoint and instance
    /// to the same number. Each snapshot taken meanwhile, restored as a volume, holds one
    /// number for every tenant (one transaction's boundary, never a mix), reports it as
    /// its checkpoints, and its SHA-256 and size are those of its file.
    #[test]
    fn a_snapshot_taken_while_transactions_commit_holds_one_boundary() {
        const TENANTS: usize = 40;
        let tmp = tempfile::tempdir().unwrap();
        let vol = Arc::new(
            Volume::open_for_write(&tmp.path().join("live"), &WriteOptions::new("shard-a"))
                .unwrap(),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let writer = std::thread::spawn({
            let (vol, stop) = (vol.clone(), stop.clone());
            move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    vol.write(|w| {
                        for t in 0..TENANTS {
                            let t = format!("t{t}");
                            w.put_instance(&t, "order", "k", &inst(n), n == 1)?;
                            w.set_checkpoint(
                                &t,
                                "order",
                                &Checkpoint {
                                    seq: n,
                                    updated_at_ms: n,
                                },
                            )?;
                        }
                        Ok::<_, StorageError>(())
                    })
                    .unwrap();
                }
                n
            }
        });
        // Each snapshot after the writer committed past the previous one's boundary.
        let committed_past = |n: u64| {
            while vol
                .read(|r| r.checkpoint("t0", "order"))
                .unwrap()
                .is_none_or(|c| c.seq <= n)
            {
                std::thread::yield_now();
            }
        };
        let mut seen: Vec<u64> = Vec::new();
        for k in 0..6 {
            committed_past(seen.last().copied().unwrap_or(4));
            let out = tmp.path().join(format!("snap-{k}"));
            let snap = vol.snapshot_to(&out, &format!("s{k}")).unwrap();
            assert!(
                vol.snapshot_to(&out, "again").is_err(),
                "a snapshot never writes over an existing one"
            );
            let bytes = std::fs::read(out.join(DATA_FILE)).unwrap();
            assert_eq!(snap.bytes, bytes.len() as u64);
            assert_eq!(snap.sha256, format!("{:x}", Sha256::digest(&bytes)));
            assert_eq!(snap.shard_id.as_deref(), Some("shard-a"));
            let live_id = vol.read(|r| r.meta_str(meta::VOLUME_ID)).unwrap();
            assert!(
                live_id.is_some() && snap.volume_id == live_id,
                "the source's identity"
            );
            // Restored: the data file alone, in a directory of its own.
            let dir = tmp.path().join(format!("restored-{k}"));
            std::fs::create_dir(&dir).unwrap();
            std::fs::copy(out.join(DATA_FILE), dir.join(DATA_FILE)).unwrap();
            let (restored, _) = Volume::open_read_only(&dir, false).unwrap();
            assert_eq!(
                restored.read(|r| r.meta_str(meta::VOLUME_ID)).unwrap(),
                live_id
            );
            let inside = restored.read(|r| r.snapshot_meta()).unwrap().unwrap();
            assert_eq!(
                inside,
                SnapshotMeta {
                    bytes: 0,
                    sha256: String::new(),
                    ..snap.clone()
                },
                "the copy describes itself"
            );
            let n = snap.checkpoints["t0"]["order"];
            restored
                .read(|r| {
                    for t in 0..TENANTS {
                        let t = format!("t{t}");
                        assert_eq!(snap.checkpoints[&t]["order"], n, "{t}: one boundary");
                        assert_eq!(r.checkpoint(&t, "order")?.map(|c| c.seq), Some(n), "{t}");
                        assert_eq!(r.instance(&t, "order", "k")?.map(|i| i.version), Some(n));
                    }
                    Ok::<_, StorageError>(())
                })
                .unwrap();
            seen.push(n);
        }
        stop.store(true, Ordering::Relaxed);
        let last = writer.join().unwrap();
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]) && *seen.last().unwrap() <= last,
            "each snapshot holds a later boundary: {seen:?}, last {last}"
        );
    }

    fn entry(msg_id: &str) -> super::super::OutboxEntry {
        super::super::OutboxEntry {
            kind: super::super::OutboxKind::Command,
            subject: "cmd.t.x".into(),
            msg_id: msg_id.into(),
            headers: vec![],
            payload: vec![],
            tenant: "t".into(),
            saga: "order".into(),
            created_at_ms: 1,
            cause_seq: 1,
        }
    }

    /// The guard: outbox entries copied with the snapshot whose ids the lost volume
    /// published are deleted when it is installed; each recorded id is suppressed once when
    /// pushed again; other ids are written; clearing it forgets the rest.
    #[test]
    fn the_restore_guard_suppresses_each_published_id_once() {
        let tmp = tempfile::tempdir().unwrap();
        let vol = Volume::open_for_write(tmp.path(), &WriteOptions::new("a")).unwrap();
        vol.write(|w| {
            assert!(w.push_outbox(&entry("copied-and-published"))?);
            assert!(w.push_outbox(&entry("copied-not-published"))?);
            w.add_published(["copied-and-published", "again", "never-again"])
        })
        .unwrap();
        let guard = RestoreGuard {
            snapshot: "s".into(),
            built_at_ms: 1,
            until: BTreeMap::from([(0, 10)]),
            tenants: vec!["t".into()],
            ids: 3,
            suppressed: 0,
        };
        let deleted = vol.write(|w| w.install_guard(&guard)).unwrap();
        assert_eq!(deleted, 1);
        let left = |vol: &Volume| {
            vol.read(|r| {
                let mut ids = Vec::new();
                r.scan(TableId::Outbox, &[], None, |_, v| {
                    ids.push(decode_value::<super::super::OutboxEntry>(v)?.msg_id);
                    Ok(true)
                })?;
                Ok::<_, StorageError>(ids)
            })
            .unwrap()
        };
        assert_eq!(left(&vol), ["copied-not-published"]);
        let written = vol
            .write(|w| {
                ["again", "new", "again"]
                    .into_iter()
                    .map(|id| w.push_outbox(&entry(id)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        assert_eq!(
            written,
            [false, true, true],
            "suppressed once, then written"
        );
        assert_eq!(left(&vol), ["copied-not-published", "new", "again"]);
        assert_eq!(
            vol.read(|r| r.restore_guard()).unwrap().unwrap().suppressed,
            1
        );
        assert_eq!(vol.write(|w| w.clear_guard()).unwrap(), 1, "never-again");
        assert!(vol.read(|r| r.restore_guard()).unwrap().is_none());
        assert!(vol.write(|w| w.push_outbox(&entry("never-again"))).unwrap());
    }
}
