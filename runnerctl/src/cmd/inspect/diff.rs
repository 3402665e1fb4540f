//! `runnerctl inspect <a> diff <b>`: what differs between two volumes, per table and key.
//! Both are walked in key order a page at a time (memory stays flat); the outbox, keyed by
//! a per-volume sequence, is compared by tenant, saga and message id.

use std::collections::BTreeMap;
use std::path::Path;

use comfy_table::Cell;
use serde::Serialize;
use shared::edge_storage::keys;
use shared::edge_storage::{OutboxEntry, StorageError, TableId, Volume, decode_value};

use crate::exit::{CliError, Kind};
use crate::output::{self, Format};
use crate::volume;

/// `inspect <a> diff <b>`: the differences as a table or JSON; exit 1 when there are any.
pub fn run(
    a: &Volume,
    a_path: &str,
    other: &Path,
    allow_live: bool,
    tenant: Option<&str>,
    limit: usize,
    format: Format,
) -> Result<(), CliError> {
    let b = volume::open(other, allow_live)?;
    let d = diff(a, &b, tenant, limit)?;
    match format {
        Format::Json => output::json(&d),
        Format::Table => output::print(&render(&d, a_path, &other.display().to_string())),
    }
    if !d.identical {
        return Err(CliError::new(Kind::Different, "the volumes differ"));
    }
    Ok(())
}

const PAGE: usize = 10_000;

#[derive(Debug, Default, Serialize)]
pub struct TableDiff {
    pub only_a: u64,
    pub only_b: u64,
    pub differ: u64,
    /// The first differing keys (up to `--limit`), as `[where, key]`: `a`, `b` or `both`.
    pub samples: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
pub struct Diff {
    pub tenant: Option<String>,
    pub identical: bool,
    pub tables: BTreeMap<&'static str, TableDiff>,
}

type Entry = (Vec<u8>, Vec<u8>);
/// Outbox entries by (tenant, saga, message id).
type OutboxByMsg = BTreeMap<(String, String, String), Vec<u8>>;

/// Up to [`PAGE`] raw entries of `table` under `prefix` after `after`, and whether there is
/// more.
fn page(
    vol: &Volume,
    table: TableId,
    prefix: &[u8],
    after: Option<&[u8]>,
) -> Result<(Vec<Entry>, bool), StorageError> {
    vol.read(|r| {
        let p = r.page(table, prefix, after, PAGE, |k, v| {
            Ok(Some((k.to_vec(), v.to_vec())))
        })?;
        Ok((p.items, p.next.is_some()))
    })
}

fn show_key(table: TableId, k: &[u8]) -> String {
    let s = match table {
        TableId::Sagas => keys::decode_three(k).map(|(t, s, x)| format!("{t}/{s}/{x}")),
        TableId::Dedupe => keys::decode_dedupe(k).map(|(t, s, x)| format!("{t}/{s}/{x}")),
        TableId::Checkpoints => keys::decode_two(k).map(|(t, s)| format!("{t}/{s}")),
        TableId::Schedules => keys::decode_schedule(k)
            .map(|d| format!("{}/{}/{}/{}/{}", d.tenant, d.saga, d.due_ms, d.key, d.timer)),
        TableId::Cursors => keys::KeyReader::new(k).str().map(|t| t.to_string()),
        _ => Ok(format!("{k:?}")),
    };
    s.unwrap_or_else(|_| format!("{k:?}"))
}

/// A pull iterator over a table, a page at a time.
struct Walk<'v> {
    vol: &'v Volume,
    table: TableId,
    prefix: Vec<u8>,
    buf: std::collections::VecDeque<Entry>,
    last: Option<Vec<u8>>,
    done: bool,
}

impl Walk<'_> {
    fn peek(&mut self) -> Result<Option<&Entry>, StorageError> {
        if self.buf.is_empty() && !self.done {
            let (p, more) = page(self.vol, self.table, &self.prefix, self.last.as_deref())?;
            self.done = !more;
            if let Some((k, _)) = p.last() {
                self.last = Some(k.clone());
            }
            self.buf.extend(p);
        }
        Ok(self.buf.front())
    }
    fn next(&mut self) -> Option<Entry> {
        self.buf.pop_front()
    }
}

fn walk_table(
    a: &Volume,
    b: &Volume,
    table: TableId,
    prefix: &[u8],
    limit: usize,
) -> Result<TableDiff, StorageError> {
    let mk = |vol| Walk {
        vol,
        table,
        prefix: prefix.to_vec(),
        buf: Default::default(),
        last: None,
        done: false,
    };
    let (mut wa, mut wb) = (mk(a), mk(b));
    let mut d = TableDiff::default();
    let note = |d: &mut TableDiff, side: &str, k: &[u8]| {
        if d.samples.len() < limit {
            d.samples.push((side.to_string(), show_key(table, k)));
        }
    };
    loop {
        let ka = wa.peek()?.map(|(k, _)| k.clone());
        let kb = wb.peek()?.map(|(k, _)| k.clone());
        match (ka, kb) {
            (None, None) => break,
            (Some(k), None) => {
                d.only_a += 1;
                note(&mut d, "a", &k);
                wa.next();
            }
            (None, Some(k)) => {
                d.only_b += 1;
                note(&mut d, "b", &k);
                wb.next();
            }
            (Some(x), Some(y)) if x < y => {
                d.only_a += 1;
                note(&mut d, "a", &x);
                wa.next();
            }
            (Some(x), Some(y)) if x > y => {
                d.only_b += 1;
                note(&mut d, "b", &y);
                wb.next();
            }
            (Some(x), Some(_)) => {
                let (_, va) = wa.next().expect("peeked");
                let (_, vb) = wb.next().expect("peeked");
                if va != vb {
                    d.differ += 1;
                    note(&mut d, "both", &x);
                }
            }
        }
    }
    Ok(d)
}

fn outbox_of(vol: &Volume, tenant: Option<&str>) -> Result<OutboxByMsg, StorageError> {
    vol.read(|r| {
        let all = r.page(TableId::Outbox, &[], None, usize::MAX, |_, v| {
            let e: OutboxEntry = decode_value(v)?;
            Ok(tenant
                .is_none_or(|t| t == e.tenant)
                .then(|| ((e.tenant, e.saga, e.msg_id), v.to_vec())))
        })?;
        Ok(all.items.into_iter().collect())
    })
}

fn diff(a: &Volume, b: &Volume, tenant: Option<&str>, limit: usize) -> Result<Diff, CliError> {
    let prefix = match tenant {
        Some(t) => keys::tenant_prefix(t).map_err(volume::storage_error)?,
        None => Vec::new(),
    };
    let mut tables = BTreeMap::new();
    for id in [
        TableId::Sagas,
        TableId::Dedupe,
        TableId::Checkpoints,
        TableId::Schedules,
        TableId::Cursors,
    ] {
        tables.insert(
            id.name(),
            walk_table(a, b, id, &prefix, limit).map_err(volume::storage_error)?,
        );
    }
    let (oa, ob) = (
        outbox_of(a, tenant).map_err(volume::storage_error)?,
        outbox_of(b, tenant).map_err(volume::storage_error)?,
    );
    let mut od = TableDiff::default();
    for (k, v) in &oa {
        let show = format!("{}/{}/{}", k.0, k.1, k.2);
        match ob.get(k) {
            None => {
                od.only_a += 1;
                if od.samples.len() < limit {
                    od.samples.push(("a".into(), show));
                }
            }
            Some(w) if w != v => {
                od.differ += 1;
                if od.samples.len() < limit {
                    od.samples.push(("both".into(), show));
                }
            }
            Some(_) => {}
        }
    }
    for k in ob.keys().filter(|k| !oa.contains_key(*k)) {
        od.only_b += 1;
        if od.samples.len() < limit {
            od.samples
                .push(("b".into(), format!("{}/{}/{}", k.0, k.1, k.2)));
        }
    }
    tables.insert("outbox", od);
    let identical = tables
        .values()
        .all(|d| d.only_a == 0 && d.only_b == 0 && d.differ == 0);
    Ok(Diff {
        tenant: tenant.map(str::to_string),
        identical,
        tables,
    })
}

fn render(d: &Diff, a: &str, b: &str) -> String {
    let mut t = output::table(["TABLE", "ONLY IN A", "ONLY IN B", "DIFFERENT"]);
    for (name, x) in &d.tables {
        t.add_row(vec![
            Cell::new(name),
            Cell::new(x.only_a),
            Cell::new(x.only_b),
            Cell::new(x.differ),
        ]);
    }
    let mut out = format!(
        "a = {a}\nb = {b}{}\n{t}\n",
        d.tenant
            .as_ref()
            .map(|t| format!("\ntenant {t}"))
            .unwrap_or_default()
    );
    for (name, x) in &d.tables {
        for (side, k) in &x.samples {
            let what = match side.as_str() {
                "a" => "only in a",
                "b" => "only in b",
                _ => "different",
            };
            out.push_str(&format!("  {name}: {k} ({what})\n"));
        }
    }
    out.push_str(if d.identical {
        "identical\n"
    } else {
        "the volumes differ\n"
    });
    out
}
