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
    Checkpoint, DATA_FILE, Reader, StorageError, TableId, Volume, WriteOptions, decode_value, keys,
    meta,
};

/// What a snapshot holds, read in the transaction it was copied from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// The volume's id and shard (a snapshot restores only as this shard's volume).
    pub volume_id: Option<String>,
    pub shard_id: Option<String>,
    pub format_version: u32,
    /// The event stream the volume reads (`<stream>@<created ns>`).
    pub stream_id: Option<String>,
    /// When the copy's transaction began (ms since the epoch).
    pub taken_at_ms: u64,
    /// Every tenant's sagas and the stream sequence each was applied up to: what a restored
    /// shard reads on from.
    pub checkpoints: BTreeMap<String, BTreeMap<String, u64>>,
    /// Entries copied, all tables together.
    pub entries: u64,
    /// Size and hex SHA-256 of the copy's data file.
    pub bytes: u64,
    pub sha256: String,
}

impl Volume {
    /// Writes the volume as of one read transaction into the new directory `dest` (which
    /// must not exist; its parent must) as a volume of its own, and says what it holds.
    /// The engine commits on meanwhile.
    pub fn snapshot_to(&self, dest: &Path) -> Result<SnapshotMeta, StorageError> {
        let io = |what: &'static str, e: std::io::Error| StorageError::Io {
            path: dest.to_path_buf(),
            what,
            source: e,
        };
        std::fs::create_dir(dest).map_err(|e| io("cannot create the snapshot's directory", e))?;
        let taken_at_ms = crate::now_ms();
        let mut snap = self.read(|r| {
            let shard = r.meta_str(meta::SHARD_ID)?.unwrap_or_default();
            let copy = Volume::open_for_write_unmigrated(dest, &WriteOptions::new(shard))?;
            let entries = copy.write(|w| {
                let mut n = 0u64;
                for table in TableId::ALL {
                    r.scan(table, &[], None, |k, v| {
                        w.put_raw(table, k, v)?;
                        n += 1;
                        Ok(true)
                    })?;
                }
                Ok::<_, StorageError>(n)
            })?;
            drop(copy);
            Ok::<_, StorageError>(SnapshotMeta {
                volume_id: r.meta_str(meta::VOLUME_ID)?,
                shard_id: r.meta_str(meta::SHARD_ID)?,
                format_version: r.format_version()?,
                stream_id: r.meta_str(meta::STREAM_ID)?,
                taken_at_ms,
                checkpoints: all_checkpoints(r)?,
                entries,
                bytes: 0,
                sha256: String::new(),
            })
        })?;
        let file = dest.join(DATA_FILE);
        let mut f = std::fs::File::open(&file).map_err(|e| io("cannot read the snapshot", e))?;
        let mut hash = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| io("cannot read the snapshot", e))?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            snap.bytes += n as u64;
        }
        snap.sha256 = format!("{:x}", hash.finalize());
        Ok(snap)
    }
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
            let snap = vol.snapshot_to(&out).unwrap();
            assert!(
                vol.snapshot_to(&out).is_err(),
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
}
