//! The export format of a tenant's state: versioned JSON lines, written by
//! `runnerctl inspect <volume> export` and read back by [`import`] (the tenant move uses it).
//!
//! ```text
//! {"format":"runner-export","version":1,"shard":"shard-a","stream":"RUNNER_EVENTS","tenant":"acme","sagas":null,"exported_at_ms":1795600587671}
//! {"t":"checkpoint","saga":"order","record":{"seq":716,"updated_at_ms":1795600587671}}
//! {"t":"instance","saga":"order","key":"o1","record":{...InstanceRecord...}}
//! {"t":"dedupe","saga":"order","event_id":"e1","record":{"seq":3,"at_ms":...,"outcome":"Applied"}}
//! {"t":"timer","saga":"order","due_ms":1795600617671,"key":"o1","timer":"pay","record":{...}}
//! {"t":"outbox","saga":"order","record":{...OutboxEntry...}}
//! {"t":"end","counts":{"checkpoints":1,"instances":1,"dedupe":1,"timers":1,"outbox":1},"sha256":"..."}
//! ```
//!
//! One line per entry, tables in that order, each in key order (outbox in write order).
//! `sha256` is the hex SHA-256 of every byte before the `end` line. Cursors are not exported:
//! where a tenant is read from belongs to the shard, and an importer starts after the
//! imported checkpoints. Readers must refuse a `version` above the one they know.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::TransactionKind;
use super::keys;
use super::records::*;
use super::{Reader, StorageError, TableId, Writer, meta, table};

/// The `format` value of the header line.
pub const FORMAT: &str = "runner-export";
/// The version written; readers accept it and below.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub shard: String,
    pub stream: String,
    pub tenant: String,
    /// The sagas exported; `None`: all of the tenant's.
    pub sagas: Option<Vec<String>>,
    pub exported_at_ms: u64,
}

/// Entries per table in an export (or an import).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub checkpoints: u64,
    pub instances: u64,
    pub dedupe: u64,
    pub timers: u64,
    pub outbox: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Line {
    Checkpoint {
        saga: String,
        record: Checkpoint,
    },
    Instance {
        saga: String,
        key: String,
        record: InstanceRecord,
    },
    Dedupe {
        saga: String,
        event_id: String,
        record: DedupeRecord,
    },
    Timer {
        saga: String,
        due_ms: u64,
        key: String,
        timer: String,
        record: ScheduleRecord,
    },
    Outbox {
        saga: String,
        record: OutboxEntry,
    },
    End {
        counts: Counts,
        sha256: String,
    },
}

/// What an export wrote or an import read: counts and checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub header: Header,
    pub counts: Counts,
    pub sha256: String,
}

struct Hashing<W: Write> {
    out: W,
    sha: Sha256,
}

impl<W: Write> Hashing<W> {
    fn line<T: Serialize>(&mut self, v: &T) -> Result<(), StorageError> {
        let mut b = serde_json::to_vec(v)
            .map_err(|e| StorageError::Corrupt(format!("cannot encode an export line: {e}")))?;
        b.push(b'\n');
        self.sha.update(&b);
        self.out
            .write_all(&b)
            .map_err(|e| StorageError::io(std::path::Path::new("<export>"), "cannot write", e))
    }
}

fn in_sagas(sagas: &Option<Vec<String>>, s: &str) -> bool {
    sagas.as_ref().is_none_or(|l| l.iter().any(|x| x == s))
}

/// Writes the export of `tenant` (only `sagas` when given), streaming: memory stays flat
/// whatever the volume's size.
pub fn export<K: TransactionKind, W: Write>(
    r: &Reader<'_, K>,
    tenant: &str,
    sagas: Option<Vec<String>>,
    out: W,
) -> Result<Summary, StorageError> {
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        shard: r.meta_str(meta::SHARD_ID)?.unwrap_or_default(),
        stream: r.meta_str(meta::STREAM)?.unwrap_or_default(),
        tenant: tenant.to_string(),
        sagas: sagas.clone(),
        exported_at_ms: crate::now_ms(),
    };
    let mut w = Hashing {
        out,
        sha: Sha256::new(),
    };
    w.line(&header)?;
    let mut c = Counts::default();
    let prefix = keys::tenant_prefix(tenant)?;
    r.scan(TableId::Checkpoints, &prefix, None, |k, v| {
        let (_, s) = keys::decode_two(k)?;
        if in_sagas(&sagas, s) {
            let record: Checkpoint = decode(table::CHECKPOINTS, v)?;
            w.line(&Line::Checkpoint {
                saga: s.into(),
                record,
            })?;
            c.checkpoints += 1;
        }
        Ok(true)
    })?;
    r.scan(TableId::Sagas, &prefix, None, |k, v| {
        let (_, s, key) = keys::decode_three(k)?;
        if in_sagas(&sagas, s) {
            w.line(&Line::Instance {
                saga: s.into(),
                key: key.into(),
                record: decode(table::SAGAS, v)?,
            })?;
            c.instances += 1;
        }
        Ok(true)
    })?;
    r.scan(TableId::Dedupe, &prefix, None, |k, v| {
        let (_, s, id) = keys::decode_three(k)?;
        if in_sagas(&sagas, s) {
            w.line(&Line::Dedupe {
                saga: s.into(),
                event_id: id.into(),
                record: decode(table::DEDUPE, v)?,
            })?;
            c.dedupe += 1;
        }
        Ok(true)
    })?;
    r.scan(TableId::Schedules, &prefix, None, |k, v| {
        let d = keys::decode_schedule(k)?;
        if in_sagas(&sagas, d.saga) {
            w.line(&Line::Timer {
                saga: d.saga.into(),
                due_ms: d.due_ms,
                key: d.key.into(),
                timer: d.timer.into(),
                record: decode(table::SCHEDULES, v)?,
            })?;
            c.timers += 1;
        }
        Ok(true)
    })?;
    r.scan(TableId::Outbox, &[], None, |_, v| {
        let e: OutboxEntry = decode(table::OUTBOX, v)?;
        if e.tenant == tenant && in_sagas(&sagas, &e.saga) {
            w.line(&Line::Outbox {
                saga: e.saga.clone(),
                record: e,
            })?;
            c.outbox += 1;
        }
        Ok(true)
    })?;
    let sha256 = hex(&w.sha.clone().finalize());
    w.line(&Line::End {
        counts: c,
        sha256: sha256.clone(),
    })?;
    w.out
        .flush()
        .map_err(|e| StorageError::io(std::path::Path::new("<export>"), "cannot write", e))?;
    Ok(Summary {
        header,
        counts: c,
        sha256,
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Why an export could not be imported; nothing is written (the caller's transaction is
/// dropped).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: {reason}")]
    Bad { line: u64, reason: String },
    #[error("the export is incomplete: it has no end line (truncated?)")]
    Truncated,
    #[error("checksum mismatch: the end line says {expected}, the lines hash to {actual}")]
    Checksum { expected: String, actual: String },
    #[error("count mismatch: the end line says {expected:?}, the lines hold {actual:?}")]
    Counts { expected: Counts, actual: Counts },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Imports an export into the volume being written by `w`, verifying its version, counts
/// and checksum. Entries that exist are replaced. Returns the summary read.
pub fn import<R: BufRead>(w: &mut Writer<'_>, input: R) -> Result<Summary, ImportError> {
    let mut sha = Sha256::new();
    let mut header: Option<Header> = None;
    let mut c = Counts::default();
    let mut n = 0u64;
    let bad = |line, reason: String| ImportError::Bad { line, reason };
    for raw in input.split(b'\n') {
        n += 1;
        let mut raw = raw.map_err(|e| bad(n, format!("cannot read: {e}")))?;
        if raw.is_empty() {
            continue;
        }
        let Some(h) = &header else {
            let h: Header = serde_json::from_slice(&raw)
                .map_err(|e| bad(n, format!("not an export header: {e}")))?;
            if h.format != FORMAT {
                return Err(bad(
                    n,
                    format!("format '{}', expected '{FORMAT}'", h.format),
                ));
            }
            if h.version > VERSION {
                return Err(bad(
                    n,
                    format!(
                        "export version {} is newer than the {VERSION} this build reads; use a newer runnerctl",
                        h.version
                    ),
                ));
            }
            raw.push(b'\n');
            sha.update(&raw);
            header = Some(h);
            continue;
        };
        let line: Line =
            serde_json::from_slice(&raw).map_err(|e| bad(n, format!("not an export line: {e}")))?;
        let t = h.tenant.clone();
        match line {
            Line::End { counts, sha256 } => {
                let actual = hex(&sha.finalize());
                if actual != sha256 {
                    return Err(ImportError::Checksum {
                        expected: sha256,
                        actual,
                    });
                }
                if counts != c {
                    return Err(ImportError::Counts {
                        expected: counts,
                        actual: c,
                    });
                }
                return Ok(Summary {
                    header: header.expect("read"),
                    counts: c,
                    sha256,
                });
            }
            Line::Checkpoint { saga, record } => {
                w.set_checkpoint(&t, &saga, &record)?;
                c.checkpoints += 1;
            }
            Line::Instance { saga, key, record } => {
                let is_new = w.instance(&t, &saga, &key)?.is_none();
                w.put_instance(&t, &saga, &key, &record, is_new)?;
                c.instances += 1;
            }
            Line::Dedupe {
                saga,
                event_id,
                record,
            } => {
                w.put_dedupe(&t, &saga, &event_id, &record)?;
                c.dedupe += 1;
            }
            Line::Timer {
                saga,
                due_ms,
                key,
                timer,
                record,
            } => {
                w.put_schedule(&t, &saga, due_ms, &key, &timer, &record)?;
                c.timers += 1;
            }
            Line::Outbox { record, .. } => {
                w.push_outbox(&record)?;
                c.outbox += 1;
            }
        }
        raw.push(b'\n');
        sha.update(&raw);
    }
    Err(ImportError::Truncated)
}

/// Whether the volume holds anything for `tenant` in the tables an export carries.
pub fn tenant_has_state<K: TransactionKind>(
    r: &Reader<'_, K>,
    tenant: &str,
) -> Result<bool, StorageError> {
    let mut any = false;
    r.scan(
        TableId::Stats,
        &keys::tenant_prefix(tenant)?,
        None,
        |_, v| {
            any |= super::decode_u64(v)? > 0;
            Ok(!any)
        },
    )?;
    Ok(any)
}
