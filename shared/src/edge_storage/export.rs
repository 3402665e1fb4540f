//! The export format of a tenant's state: versioned JSON lines, written by
//! `runnerctl inspect <volume> export` and read back by [`import`] (the tenant move uses it).
//!
//! ```text
//! {"format":"runner-export","version":1,"shard":"shard-a","stream":"RUNNER_EVENTS","tenant":"acme","sagas":null,"exported_at_ms":1795600587671}
//! {"t":"checkpoint","saga":"order","record":{"seq":716,"updated_at_ms":1795600587671}}
//! {"t":"instance","saga":"order","key":"o1","record":{...InstanceRecord...}}
//! {"t":"dedupe","saga":"order","event_id":"e1","record":{"seq":3,"at_ms":...,"outcome":"Applied","digest":...}}
//! {"t":"timer_mark","saga":"order","key":"o1","timer":"pay","due_ms":1795600617671,"record":{...}}
//! {"t":"timer","saga":"order","due_ms":1795600617671,"key":"o1","timer":"pay","record":{...}}
//! {"t":"outbox","saga":"order","record":{...OutboxEntry...}}
//! {"t":"end","counts":{"checkpoints":1,"instances":1,"dedupe":1,"timers":1,"outbox":1},"sha256":"..."}
//! ```
//!
//! One line per entry, tables in that order, each in key order (outbox in write order).
//! `sha256` is the hex SHA-256 of every byte before the `end` line. Cursors are not exported:
//! where a tenant is read from belongs to the shard, and an importer starts after the
//! imported checkpoints. Readers must refuse a `version` above the one they know, and
//! anything but blank lines after the `end` line.
//!
//! Version 2 (volume format 2) adds `timer_mark` lines (fired timers, which version 1 wrote
//! as `dedupe` lines with ids `timer:<name>:<due>`), `digest` in dedupe records and
//! `cause_seq` in timers and outbox entries. A version 1 export still imports: its timer
//! markers are dropped (as the volume migration drops them) and the new fields are 0.

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
pub const VERSION: u32 = 2;

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
    TimerMark {
        saga: String,
        key: String,
        timer: String,
        due_ms: u64,
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
        let (_, s, marked) = keys::decode_dedupe(k)?;
        if in_sagas(&sagas, s) {
            let record = decode(table::DEDUPE, v)?;
            w.line(&match marked {
                keys::Marked::Event(id) => Line::Dedupe {
                    saga: s.into(),
                    event_id: id.into(),
                    record,
                },
                keys::Marked::Timer { key, timer, due_ms } => Line::TimerMark {
                    saga: s.into(),
                    key: key.into(),
                    timer: timer.into(),
                    due_ms,
                    record,
                },
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

/// Checks that an outbox line belongs to the export's tenant and to its own saga, on a
/// subject of that tenant (as the runner writes them): an import never writes, and the
/// relay never publishes, anything for another tenant.
fn check_outbox(tenant: &str, saga: &str, e: &OutboxEntry) -> Result<(), String> {
    if e.tenant != tenant || e.saga != saga {
        return Err(format!(
            "outbox entry of tenant '{}' saga '{}' in the lines of tenant '{tenant}' saga '{saga}'",
            e.tenant, e.saga
        ));
    }
    let own = match e.kind {
        OutboxKind::Command => e.subject.starts_with(&format!("cmd.{tenant}.")),
        OutboxKind::DeadLetter => e.subject == format!("dlq.{tenant}.{saga}"),
    };
    if !own {
        return Err(format!(
            "outbox subject '{}' is not one of tenant '{tenant}' saga '{saga}'",
            e.subject
        ));
    }
    Ok(())
}

/// Reads an export line by line, checking as it goes: the header first (format, version),
/// then each entry (its own tenant and saga), and at the end line the counts and checksum
/// of everything before it; nothing may follow the end line. Memory stays flat whatever
/// the export's size.
pub struct ImportReader<R: BufRead> {
    input: std::io::Split<R>,
    sha: Sha256,
    header: Option<Header>,
    counts: Counts,
    line: u64,
    done: Option<Summary>,
}

impl<R: BufRead> ImportReader<R> {
    pub fn new(input: R) -> Self {
        ImportReader {
            input: input.split(b'\n'),
            sha: Sha256::new(),
            header: None,
            counts: Counts::default(),
            line: 0,
            done: None,
        }
    }

    /// The export's header, once read.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// The next entry (checkpoint, instance, marker, timer or outbox line); `None` once the
    /// end line was read and everything checked.
    pub fn next_entry(&mut self) -> Result<Option<Line>, ImportError> {
        let bad = |line, reason: String| ImportError::Bad { line, reason };
        loop {
            let Some(raw) = self.input.next() else {
                return match self.done {
                    Some(_) => Ok(None),
                    None => Err(ImportError::Truncated),
                };
            };
            self.line += 1;
            let n = self.line;
            let mut raw = raw.map_err(|e| bad(n, format!("cannot read: {e}")))?;
            if raw.is_empty() {
                continue;
            }
            if self.done.is_some() {
                return Err(bad(
                    n,
                    "data after the end line (two exports in one?)".to_string(),
                ));
            }
            let Some(h) = &self.header else {
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
                self.sha.update(&raw);
                self.header = Some(h);
                continue;
            };
            let line: Line = serde_json::from_slice(&raw)
                .map_err(|e| bad(n, format!("not an export line: {e}")))?;
            let c = &mut self.counts;
            match &line {
                Line::End { counts, sha256 } => {
                    let actual = hex(&self.sha.clone().finalize());
                    if &actual != sha256 {
                        return Err(ImportError::Checksum {
                            expected: sha256.clone(),
                            actual,
                        });
                    }
                    if counts != c {
                        return Err(ImportError::Counts {
                            expected: *counts,
                            actual: *c,
                        });
                    }
                    self.done = Some(Summary {
                        header: h.clone(),
                        counts: *c,
                        sha256: sha256.clone(),
                    });
                    continue;
                }
                Line::Checkpoint { .. } => c.checkpoints += 1,
                Line::Instance { .. } => c.instances += 1,
                Line::Dedupe { .. } | Line::TimerMark { .. } => c.dedupe += 1,
                Line::Timer { .. } => c.timers += 1,
                Line::Outbox { saga, record } => {
                    check_outbox(&h.tenant, saga, record).map_err(|r| bad(n, r))?;
                    c.outbox += 1;
                }
            }
            raw.push(b'\n');
            self.sha.update(&raw);
            return Ok(Some(line));
        }
    }

    /// What was read, once the end line was.
    pub fn summary(&self) -> Option<&Summary> {
        self.done.as_ref()
    }
}

/// Reads a whole export and checks it, writing nothing.
pub fn verify<R: BufRead>(input: R) -> Result<Summary, ImportError> {
    let mut r = ImportReader::new(input);
    while r.next_entry()?.is_some() {}
    r.summary().cloned().ok_or(ImportError::Truncated)
}

/// Writes one entry of `tenant`'s export. Entries that exist are replaced.
pub fn write_entry(
    w: &mut Writer<'_>,
    version: u32,
    t: &str,
    line: Line,
) -> Result<(), StorageError> {
    match line {
        Line::Checkpoint { saga, record } => w.set_checkpoint(t, &saga, &record),
        Line::Instance { saga, key, record } => {
            let is_new = w.instance(t, &saga, &key)?.is_none();
            w.put_instance(t, &saga, &key, &record, is_new)
        }
        Line::Dedupe {
            saga,
            event_id,
            record,
        } => {
            // Version 1 wrote fired timers as dedupe lines; they cannot be told apart by
            // instance, so (as the volume migration does) they are dropped.
            if version < 2 && record.outcome == Outcome::TimerFired {
                return Ok(());
            }
            w.put_dedupe(t, &saga, &event_id, &record)
        }
        Line::TimerMark {
            saga,
            key,
            timer,
            due_ms,
            record,
        } => w.put_timer_marker(t, &saga, &key, &timer, due_ms, &record),
        Line::Timer {
            saga,
            due_ms,
            key,
            timer,
            record,
        } => w.put_schedule(t, &saga, due_ms, &key, &timer, &record),
        Line::Outbox { record, .. } => w.push_outbox(&record).map(drop),
        Line::End { .. } => Ok(()),
    }
}

/// Imports an export into the volume being written by `w` (one transaction), verifying its
/// version, counts and checksum, and that nothing follows its end line. Entries that exist
/// are replaced. Returns the summary read. (The runner's admin import checks first and
/// then writes in chunks: see `Ops::import`.)
pub fn import<R: BufRead>(w: &mut Writer<'_>, input: R) -> Result<Summary, ImportError> {
    let mut r = ImportReader::new(input);
    while let Some(line) = r.next_entry()? {
        let h = r.header().expect("a header precedes entries");
        let (version, tenant) = (h.version, h.tenant.clone());
        write_entry(w, version, &tenant, line)?;
    }
    r.summary().cloned().ok_or(ImportError::Truncated)
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

#[cfg(test)]
mod tests {
    //! Hostile exports: arbitrary lines, truncated and mutated valid exports, and
    //! well-formed (checksummed) exports carrying hostile values are refused with a reason,
    //! never a panic; a valid export round-trips. Every import runs in a write transaction
    //! that is rolled back, so one pair of volumes serves every case.

    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    use super::super::keys::KeyReader;
    use super::super::records::arb;
    use super::super::{RW, Volume, WriteOptions};
    use super::*;

    enum Rollback<T> {
        Done(T),
        Storage(StorageError),
    }

    impl<T> From<StorageError> for Rollback<T> {
        fn from(e: StorageError) -> Self {
            Rollback::Storage(e)
        }
    }

    /// Runs `f` in a write transaction of `vol` that is always rolled back.
    fn rolled_back<T>(vol: &Volume, f: impl FnOnce(&mut Writer<'_>) -> T) -> T {
        match vol.write(|w| Err::<(), _>(Rollback::Done(f(w)))) {
            Err(Rollback::Done(t)) => t,
            Err(Rollback::Storage(e)) => panic!("{e}"),
            Ok(()) => unreachable!("always rolled back"),
        }
    }

    fn runner() -> TestRunner {
        TestRunner::new(Config {
            cases: crate::proptest_cases(),
            failure_persistence: None,
            ..Config::default()
        })
    }

    fn volume(dir: &tempfile::TempDir) -> Volume {
        Volume::open_for_write(dir.path(), &WriteOptions::new("shard-a")).unwrap()
    }

    /// Instance keys, event ids and timer names: any text without NUL.
    fn name() -> impl Strategy<Value = String> {
        "[^\u{0}]{0,10}"
    }

    const SAGAS: [&str; 3] = ["order", "account", "s-1"];

    #[derive(Debug, Clone)]
    enum Entry {
        Checkpoint(usize, Checkpoint),
        Instance(usize, String, InstanceRecord),
        Dedupe(usize, String, DedupeRecord),
        TimerMark(usize, String, String, u64, DedupeRecord),
        Timer(usize, u64, String, String, ScheduleRecord),
        Outbox(OutboxEntry),
    }

    fn entry(tenant: String) -> impl Strategy<Value = Entry> {
        let saga = 0..SAGAS.len();
        prop_oneof![
            (saga.clone(), arb::checkpoint()).prop_map(|(s, r)| Entry::Checkpoint(s, r)),
            (saga.clone(), name(), arb::instance()).prop_map(|(s, k, r)| Entry::Instance(s, k, r)),
            (saga.clone(), "[^\u{0}]{1,10}", arb::dedupe())
                .prop_map(|(s, k, r)| Entry::Dedupe(s, k, r)),
            (saga.clone(), name(), name(), any::<u64>(), arb::dedupe())
                .prop_map(|(s, k, n, d, r)| Entry::TimerMark(s, k, n, d, r)),
            (saga.clone(), any::<u64>(), name(), name(), arb::schedule())
                .prop_map(|(s, d, k, n, r)| Entry::Timer(s, d, k, n, r)),
            saga.prop_flat_map(
                move |s| arb::outbox(tenant.clone(), SAGAS[s].into()).prop_map(Entry::Outbox)
            ),
        ]
    }

    fn write(w: &mut Writer<'_>, tenant: &str, e: &Entry) -> Result<(), StorageError> {
        match e {
            Entry::Checkpoint(s, r) => w.set_checkpoint(tenant, SAGAS[*s], r),
            Entry::Instance(s, k, r) => {
                let is_new = w.instance(tenant, SAGAS[*s], k)?.is_none();
                w.put_instance(tenant, SAGAS[*s], k, r, is_new)
            }
            Entry::Dedupe(s, k, r) => w.put_dedupe(tenant, SAGAS[*s], k, r),
            Entry::TimerMark(s, k, n, d, r) => w.put_timer_marker(tenant, SAGAS[*s], k, n, *d, r),
            Entry::Timer(s, d, k, n, r) => w.put_schedule(tenant, SAGAS[*s], *d, k, n, r),
            Entry::Outbox(r) => w.push_outbox(r).map(|_| ()),
        }
    }

    /// A tenant's state, another tenant's (a prefix or extension of its name, to test the
    /// key ranges), and the sagas to export.
    fn state() -> impl Strategy<Value = (String, Vec<Entry>, Vec<Entry>, Option<Vec<String>>)> {
        ("[A-Za-z0-9_-]{1,8}", any::<bool>()).prop_flat_map(|(tenant, longer)| {
            let other = if longer || tenant.len() == 1 {
                format!("{tenant}x")
            } else {
                tenant[..tenant.len() - 1].to_string()
            };
            (
                Just(tenant.clone()),
                proptest::collection::vec(entry(tenant), 0..12),
                proptest::collection::vec(entry(other), 0..4),
                proptest::option::of(
                    proptest::sample::subsequence(SAGAS.to_vec(), 0..=3)
                        .prop_map(|v| v.into_iter().map(String::from).collect()),
                ),
            )
        })
    }

    fn other_of(tenant: &str, e: &Entry) -> String {
        match e {
            Entry::Outbox(r) => r.tenant.clone(),
            _ => tenant.to_string(),
        }
    }

    /// Exports `tenant` from a volume holding `mine` and `theirs` (rolled back after).
    fn make_export(
        src: &Volume,
        tenant: &str,
        mine: &[Entry],
        theirs: &[(String, Entry)],
        sagas: Option<Vec<String>>,
    ) -> (Vec<u8>, Summary) {
        rolled_back(src, |w| {
            for e in mine {
                write(w, tenant, e).unwrap();
            }
            for (t, e) in theirs {
                write(w, t, e).unwrap();
            }
            let mut out = Vec::new();
            let s = export(&**w, tenant, sagas, &mut out).unwrap();
            (out, s)
        })
    }

    /// Every tenant the volume holds an entry for (in the tables an export carries).
    fn tenants_in(r: &Reader<'_, RW>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for t in [
            TableId::Checkpoints,
            TableId::Sagas,
            TableId::Dedupe,
            TableId::Schedules,
        ] {
            r.scan(t, &[], None, |k, _| {
                out.insert(KeyReader::new(k).str()?.to_string());
                Ok(true)
            })
            .unwrap();
        }
        r.scan(TableId::Outbox, &[], None, |_, v| {
            out.insert(decode::<OutboxEntry>("outbox", v)?.tenant);
            Ok(true)
        })
        .unwrap();
        out
    }

    /// Imports `input` into `dst` (rolled back); on success also returns what a re-export
    /// gives and the tenants the volume then holds.
    #[allow(clippy::type_complexity)]
    fn try_import(
        dst: &Volume,
        input: &[u8],
    ) -> Result<(Summary, Vec<u8>, BTreeSet<String>), ImportError> {
        rolled_back(dst, |w| {
            let s = import(w, input)?;
            let mut out = Vec::new();
            export(&**w, &s.header.tenant, s.header.sagas.clone(), &mut out)?;
            Ok((s, out, tenants_in(w)))
        })
    }

    fn body_lines(export: &[u8]) -> Vec<&[u8]> {
        let lines: Vec<&[u8]> = export
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        lines[1..lines.len() - 1].to_vec()
    }

    fn refused(
        r: Result<(Summary, Vec<u8>, BTreeSet<String>), ImportError>,
    ) -> Result<(), TestCaseError> {
        match r {
            Ok((s, _, _)) => Err(TestCaseError::fail(format!("imported: {s:?}"))),
            Err(e) => {
                prop_assert!(!e.to_string().is_empty());
                Ok(())
            }
        }
    }

    /// An export of a newer format version is refused before anything is read, saying so.
    #[test]
    fn a_newer_export_version_is_refused_by_name() {
        let b = tempfile::tempdir().unwrap();
        let dst = volume(&b);
        let header = format!(
            "{{\"format\":\"{FORMAT}\",\"version\":{},\"shard\":\"s\",\"stream\":\"S\",\"tenant\":\"acme\",\"sagas\":null,\"exported_at_ms\":1}}\n",
            VERSION + 1
        );
        let e = try_import(&dst, header.as_bytes()).expect_err("refused");
        assert!(
            e.to_string()
                .contains(&format!("export version {} is newer", VERSION + 1)),
            "{e}"
        );
    }

    /// A valid export imports (same header, counts and checksum) and re-exports to the same
    /// lines; every strict cut before the end of its end line, and every one-byte change,
    /// is refused; so are dropped, repeated and swapped lines. Blank lines are ignored.
    #[test]
    fn valid_exports_round_trip_and_damaged_ones_are_refused() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (src, dst) = (volume(&a), volume(&b));
        let mutation = (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            any::<u8>(),
        );
        runner()
            .run(
                &(state(), mutation),
                |((tenant, mine, theirs, sagas), (i, j, byte))| {
                    let theirs: Vec<(String, Entry)> = theirs
                        .iter()
                        .map(|e| (other_of(&tenant, e), e.clone()))
                        .collect();
                    let (bytes, summary) = make_export(&src, &tenant, &mine, &theirs, sagas);
                    let (imported, again, tenants) = try_import(&dst, &bytes).unwrap();
                    prop_assert_eq!(&imported, &summary);
                    prop_assert_eq!(body_lines(&again), body_lines(&bytes));
                    prop_assert!(tenants.iter().all(|t| *t == tenant), "{:?}", tenants);

                    // Cut before the end line's closing brace: truncated.
                    let len = bytes.len();
                    refused(try_import(&dst, &bytes[..i.index(len - 1)]))?;
                    prop_assert!(try_import(&dst, &bytes[..len - 1]).is_ok());
                    // One byte changed anywhere but the final newline.
                    let p = i.index(len - 1);
                    if bytes[p] != byte {
                        let mut m = bytes.clone();
                        m[p] = byte;
                        refused(try_import(&dst, &m))?;
                    }
                    // Whole lines dropped, repeated or swapped.
                    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
                    let (x, y) = (i.index(lines.len()), j.index(lines.len()));
                    let join = |v: Vec<&[u8]>| v.concat();
                    let mut v = lines.clone();
                    v.remove(x);
                    refused(try_import(&dst, &join(v)))?;
                    let mut v = lines.clone();
                    v.insert(y, lines[x]);
                    refused(try_import(&dst, &join(v)))?;
                    if lines[x] != lines[y] {
                        let mut v = lines.clone();
                        v.swap(x, y);
                        refused(try_import(&dst, &join(v)))?;
                    }
                    let mut v = lines.clone();
                    v.insert(y, b"\n");
                    prop_assert_eq!(try_import(&dst, &join(v)).unwrap().0, summary);
                    Ok(())
                },
            )
            .unwrap();
    }

    /// Lines of any kind in any order: headers of any format and version, lines of every
    /// type with hostile values, end lines with wrong counts or checksums, bytes. Always a
    /// reason, never a panic.
    #[test]
    fn arbitrary_lines_are_refused_with_a_reason() {
        let d = tempfile::tempdir().unwrap();
        let dst = volume(&d);
        let line = prop_oneof![
            (
                prop_oneof![Just(FORMAT.to_string()), ".{0,6}"],
                any::<u32>(),
                ".{0,6}"
            )
                .prop_map(|(format, version, tenant)| {
                    serde_json::to_vec(&serde_json::json!({
                        "format": format, "version": version, "shard": "s", "stream": "S",
                        "tenant": tenant, "sagas": null, "exported_at_ms": 1,
                    }))
                    .unwrap()
                }),
            hostile_line().prop_map(|l| serde_json::to_vec(&l).unwrap()),
            proptest::collection::vec(any::<u8>(), 0..40),
            Just(Vec::new()),
        ];
        runner()
            .run(&proptest::collection::vec(line, 0..8), |lines| {
                let input = lines.join(&b'\n');
                match try_import(&dst, &input) {
                    // Reachable only with a matching checksum of every line before the end.
                    Ok((s, _, _)) => prop_assert!(s.counts == Counts::default()),
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
                Ok(())
            })
            .unwrap();
    }

    /// Export lines with hostile values: NUL, long keys, empty names, outbox entries of
    /// other tenants and sagas, on subjects of other tenants.
    fn hostile_line() -> impl Strategy<Value = Line> {
        let s = || {
            prop_oneof![
                4 => "[^\u{0}]{0,8}",
                1 => Just(String::new()),
                1 => ".{0,4}\u{0}.{0,4}",
                1 => (1000usize..4000).prop_map(|n| "k".repeat(n)),
            ]
        };
        let outbox = (s(), s(), s(), s())
            .prop_flat_map(|(t, ls, rs, rest)| (Just(ls), arb::outbox(t, rs), Just(rest)))
            .prop_map(|(saga, mut record, rest)| {
                if !rest.is_empty() {
                    record.subject = rest;
                }
                Line::Outbox { saga, record }
            });
        prop_oneof![
            (s(), arb::checkpoint()).prop_map(|(saga, record)| Line::Checkpoint { saga, record }),
            (s(), s(), arb::instance()).prop_map(|(saga, key, record)| Line::Instance {
                saga,
                key,
                record
            }),
            (s(), s(), arb::dedupe()).prop_map(|(saga, event_id, record)| Line::Dedupe {
                saga,
                event_id,
                record
            }),
            (s(), any::<u64>(), s(), s(), arb::schedule()).prop_map(
                |(saga, due_ms, key, timer, record)| {
                    Line::Timer {
                        saga,
                        due_ms,
                        key,
                        timer,
                        record,
                    }
                }
            ),
            outbox,
            (any::<[u64; 5]>(), "[0-9a-f]{0,64}").prop_map(|(c, sha256)| Line::End {
                counts: Counts {
                    checkpoints: c[0],
                    instances: c[1],
                    dedupe: c[2],
                    timers: c[3],
                    outbox: c[4]
                },
                sha256,
            }),
        ]
    }

    /// An export with a correct header, counts and checksum around `lines`, as a forger
    /// would write it.
    fn forge(tenant: &str, lines: &[Line]) -> Vec<u8> {
        let header = Header {
            format: FORMAT.into(),
            version: VERSION,
            shard: "shard-x".into(),
            stream: "RUNNER_EVENTS".into(),
            tenant: tenant.into(),
            sagas: None,
            exported_at_ms: 1,
        };
        let mut w = Hashing {
            out: Vec::new(),
            sha: Sha256::new(),
        };
        w.line(&header).unwrap();
        let mut c = Counts::default();
        for l in lines {
            match l {
                Line::Checkpoint { .. } => c.checkpoints += 1,
                Line::Instance { .. } => c.instances += 1,
                Line::Dedupe { .. } | Line::TimerMark { .. } => c.dedupe += 1,
                Line::Timer { .. } => c.timers += 1,
                Line::Outbox { .. } => c.outbox += 1,
                Line::End { .. } => continue,
            }
            w.line(l).unwrap();
        }
        let sha256 = hex(&w.sha.clone().finalize());
        w.line(&Line::End { counts: c, sha256 }).unwrap();
        w.out
    }

    /// A checksummed export carrying hostile values is refused with a reason, or imported
    /// with nothing written outside its own tenant (whatever its outbox lines claim).
    #[test]
    fn forged_exports_stay_in_their_tenant() {
        let d = tempfile::tempdir().unwrap();
        let dst = volume(&d);
        let lines = proptest::collection::vec(
            hostile_line().prop_filter("no end line", |l| !matches!(l, Line::End { .. })),
            0..6,
        );
        runner()
            .run(&("[a-z]{1,6}", lines), |(tenant, lines)| {
                match try_import(&dst, &forge(&tenant, &lines)) {
                    Ok((s, _, tenants)) => {
                        prop_assert_eq!(s.header.tenant.as_str(), tenant.as_str());
                        prop_assert!(
                            tenants.iter().all(|t| *t == tenant),
                            "an import of {} wrote state of {:?}",
                            tenant,
                            tenants
                        );
                    }
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
                Ok(())
            })
            .unwrap();
    }
}
