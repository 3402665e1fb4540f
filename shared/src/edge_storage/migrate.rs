//! Migration of older volumes, in place, when a runner opens them for writing.
//!
//! Format 1 -> 2 (this build):
//! * dedupe markers gain a `digest`; format 1's timer markers (`timer:<name>:<due>` ids,
//!   which collided across instances and with producers' ids) are dropped: a fired timer's
//!   schedule entry is already gone, so nothing fires again, and format 2 keeps timer
//!   markers under keys of their own;
//! * outbox entries and timers gain `cause_seq` (0: unknown).
//!
//! The work goes in chunks of [`CHUNK`] entries, one transaction each, so a volume of any
//! size migrates within MDBX's transaction limits; `meta.migration` records how far it got,
//! so a migration interrupted by a crash resumes where it stopped. The format version is
//! raised only by the last transaction: until then every reader refuses the volume.

use serde::{Deserialize, Serialize};

use super::keys;
use super::records::*;
use super::{StorageError, TableCode, TableId, Volume, meta, table};

/// Entries rewritten per transaction.
const CHUNK: usize = 10_000;

/// What a migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrated {
    pub from_version: u32,
    pub dedupe: u64,
    /// Format 1 timer markers dropped.
    pub timer_markers_dropped: u64,
    pub outbox: u64,
    pub schedules: u64,
}

#[derive(Deserialize)]
struct DedupeV1 {
    seq: u64,
    at_ms: u64,
    outcome: Outcome,
}

#[derive(Deserialize)]
struct OutboxV1 {
    kind: OutboxKind,
    subject: String,
    msg_id: String,
    headers: Vec<(String, String)>,
    payload: Vec<u8>,
    tenant: String,
    saga: String,
    created_at_ms: u64,
}

#[derive(Deserialize)]
struct ScheduleV1 {
    fire: String,
    armed_at_ms: u64,
    armed_by: String,
}

/// Where an interrupted migration stands: the table being rewritten and the last key done.
#[derive(Serialize, Deserialize)]
struct Progress {
    table: u8,
    after: Option<Vec<u8>>,
}

const ORDER: [TableId; 3] = [TableId::Dedupe, TableId::Outbox, TableId::Schedules];

/// Migrates `vol` to [`super::FORMAT_VERSION`] if it is older; `None` when it was current.
pub(super) fn run(vol: &Volume) -> Result<Option<Migrated>, StorageError> {
    let version = vol.read(|r| r.format_version())?;
    if version >= super::FORMAT_VERSION {
        return Ok(None);
    }
    if version != 1 {
        return Err(StorageError::Corrupt(format!(
            "{}: format version {version} is unknown (this build migrates 1 to {})",
            vol.dir().display(),
            super::FORMAT_VERSION
        )));
    }
    let mut done = Migrated {
        from_version: version,
        ..Default::default()
    };
    while !step(vol, CHUNK, &mut done)? {}
    Ok(Some(done))
}

/// One transaction of the migration; true once the volume is at the current format.
pub(super) fn step(
    vol: &Volume,
    chunk_size: usize,
    done: &mut Migrated,
) -> Result<bool, StorageError> {
    {
        vol.write(|w| {
            let p: Progress = match w.meta_raw(meta::MIGRATION)? {
                Some(b) => decode(table::META, &b)?,
                None => Progress {
                    table: 0,
                    after: None,
                },
            };
            let Some(&tid) = ORDER.get(p.table as usize) else {
                w.set_meta_raw(meta::FORMAT_VERSION, &super::FORMAT_VERSION.to_be_bytes())?;
                w.del_raw(TableId::Meta, meta::MIGRATION.as_bytes())?;
                return Ok::<_, StorageError>(true);
            };
            let mut chunk: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(chunk_size);
            w.scan(tid, &[], p.after.as_deref(), |k, v| {
                chunk.push((k.to_vec(), v.to_vec()));
                Ok(chunk.len() < chunk_size)
            })?;
            for (k, v) in &chunk {
                rewrite(w, tid, k, v, done)?;
            }
            let next = if chunk.len() < chunk_size {
                Progress {
                    table: p.table + 1,
                    after: None,
                }
            } else {
                Progress {
                    table: p.table,
                    after: chunk.last().map(|(k, _)| k.clone()),
                }
            };
            w.set_meta_raw(meta::MIGRATION, &encode(&next)?)?;
            Ok(false)
        })
    }
}

fn rewrite(
    w: &mut super::Writer<'_>,
    tid: TableId,
    k: &[u8],
    v: &[u8],
    done: &mut Migrated,
) -> Result<(), StorageError> {
    match tid {
        TableId::Dedupe => {
            let old: DedupeV1 = decode(table::DEDUPE, v)?;
            if old.outcome == Outcome::TimerFired {
                let (t, s, _) = keys::decode_three(k)?;
                let (t, s) = (t.to_string(), s.to_string());
                w.del_raw(TableId::Dedupe, k)?;
                w.count_delta(&t, &s, TableCode::Dedupe, -1);
                done.timer_markers_dropped += 1;
            } else {
                let new = DedupeRecord {
                    seq: old.seq,
                    at_ms: old.at_ms,
                    outcome: old.outcome,
                    digest: 0,
                };
                w.put_raw(TableId::Dedupe, k, &encode(&new)?)?;
                done.dedupe += 1;
            }
        }
        TableId::Outbox => {
            let o: OutboxV1 = decode(table::OUTBOX, v)?;
            let new = OutboxEntry {
                kind: o.kind,
                subject: o.subject,
                msg_id: o.msg_id,
                headers: o.headers,
                payload: o.payload,
                tenant: o.tenant,
                saga: o.saga,
                created_at_ms: o.created_at_ms,
                cause_seq: 0,
            };
            w.put_raw(TableId::Outbox, k, &encode(&new)?)?;
            done.outbox += 1;
        }
        TableId::Schedules => {
            let o: ScheduleV1 = decode(table::SCHEDULES, v)?;
            let new = ScheduleRecord {
                fire: o.fire,
                armed_at_ms: o.armed_at_ms,
                armed_by: o.armed_by,
                cause_seq: 0,
            };
            w.put_raw(TableId::Schedules, k, &encode(&new)?)?;
            done.schedules += 1;
        }
        _ => {}
    }
    Ok(())
}
