//! `runnerctl inspect <volume> ...`: what a stopped shard's volume holds, read-only by
//! construction (the volume is opened with MDBX's read-only mode through `edge_storage`;
//! nothing here can write). Counts come from table statistics and the `stats` table, never
//! from scans; listings stream and page with `--limit` and `--after`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use comfy_table::Cell;
use serde::Serialize;
use shared::edge_storage::keys::{self, TableCode};
use shared::edge_storage::{
    Checkpoint, DedupeRecord, InstanceRecord, OutboxEntry, RO, Reader, ScheduleRecord,
    StorageError, TableId, TenantCursor, Volume, decode_value, meta,
};

use crate::cli::{InspectArgs, InspectCmd};
use crate::exit::{CliError, FAILURE, NOT_FOUND, REFUSED, UNREADABLE};
use crate::output::{self, Format};

/// Opens a volume read-only; a live one only with `allow_live` (and says so).
pub fn open(path: &Path, allow_live: bool) -> Result<Volume, CliError> {
    match Volume::open_read_only(path, allow_live) {
        Ok((v, holder)) => {
            if let Some(h) = holder {
                eprintln!(
                    "note: {} is in use by {h}; reading a consistent snapshot of it (--allow-live)",
                    path.display()
                );
            }
            Ok(v)
        }
        Err(e) => Err(storage_error(e)),
    }
}

impl From<StorageError> for CliError {
    fn from(e: StorageError) -> Self {
        storage_error(e)
    }
}

pub fn storage_error(e: StorageError) -> CliError {
    let code = match &e {
        StorageError::NotFound(_) => NOT_FOUND,
        StorageError::Held { .. } => REFUSED,
        StorageError::NotAVolume { .. }
        | StorageError::NewerFormat { .. }
        | StorageError::OlderFormat { .. }
        | StorageError::Corrupt(_)
        | StorageError::Mdbx { .. }
        | StorageError::Io { .. } => UNREADABLE,
        _ => FAILURE,
    };
    let mut msg = e.to_string();
    if let StorageError::Held { .. } = e {
        msg.push_str(" (--allow-live reads a consistent snapshot of a live volume)");
    }
    CliError::new(code, msg)
}

/// Per tenant+saga entry counts from the `stats` table.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub instances: u64,
    pub dedupe: u64,
    pub checkpoints: u64,
    pub outbox: u64,
    pub timers: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.instances += o.instances;
        self.dedupe += o.dedupe;
        self.checkpoints += o.checkpoints;
        self.outbox += o.outbox;
        self.timers += o.timers;
    }
}

/// tenant -> saga -> counts, from `stats` (tenants x sagas x 5 entries, not the data).
fn stats<K: shared::edge_storage::TransactionKind>(
    r: &Reader<'_, K>,
    tenant: Option<&str>,
) -> Result<BTreeMap<String, BTreeMap<String, Counts>>, StorageError> {
    let mut out: BTreeMap<String, BTreeMap<String, Counts>> = BTreeMap::new();
    let prefix = match tenant {
        Some(t) => keys::tenant_prefix(t)?,
        None => Vec::new(),
    };
    r.scan(TableId::Stats, &prefix, None, |k, v| {
        let (t, s, table) = keys::decode_stats(k)?;
        let n = u64::from_be_bytes(
            v.try_into()
                .map_err(|_| StorageError::Corrupt("stats value is not a u64".into()))?,
        );
        let c = out
            .entry(t.to_string())
            .or_default()
            .entry(s.to_string())
            .or_default();
        match table {
            TableCode::Sagas => c.instances = n,
            TableCode::Dedupe => c.dedupe = n,
            TableCode::Checkpoints => c.checkpoints = n,
            TableCode::Outbox => c.outbox = n,
            TableCode::Schedules => c.timers = n,
        }
        Ok(true)
    })?;
    // Pairs whose every count went back to 0 hold nothing.
    for per in out.values_mut() {
        per.retain(|_, c| *c != Counts::default());
    }
    out.retain(|_, per| !per.is_empty());
    Ok(out)
}

#[derive(Serialize)]
struct TenantRow {
    tenant: String,
    sagas: usize,
    #[serde(flatten)]
    counts: Counts,
    cursor: Option<TenantCursor>,
}

#[derive(Serialize)]
struct Summary {
    path: String,
    format_version: u32,
    shard_id: Option<String>,
    stream: Option<String>,
    volume_id: Option<String>,
    created_at_ms: Option<u64>,
    last_write_ms: Option<u64>,
    reader_position: Option<u64>,
    file_bytes: u64,
    used_bytes: u64,
    page_size: u64,
    /// Entries per table, from MDBX's table statistics.
    tables: BTreeMap<&'static str, u64>,
    tenants: Vec<TenantRow>,
}

#[derive(Serialize)]
struct Page<T: Serialize> {
    items: Vec<T>,
    /// Pass as `--after` for the next page; null when this was the last.
    next_after: Option<String>,
}

fn time(ms: u64) -> String {
    if ms == 0 {
        return "-".into();
    }
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(at).to_string()
}

fn tenant_rows<K: shared::edge_storage::TransactionKind>(
    r: &Reader<'_, K>,
    st: &BTreeMap<String, BTreeMap<String, Counts>>,
) -> Result<Vec<TenantRow>, StorageError> {
    let cursors: BTreeMap<String, TenantCursor> = r.cursors()?.into_iter().collect();
    let mut names: Vec<&String> = st.keys().chain(cursors.keys()).collect();
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .map(|t| {
            let mut counts = Counts::default();
            let per = st.get(t);
            for c in per.into_iter().flat_map(|p| p.values()) {
                counts.add(c);
            }
            TenantRow {
                tenant: t.clone(),
                sagas: per.map(|p| p.len()).unwrap_or(0),
                counts,
                cursor: cursors.get(t).copied(),
            }
        })
        .collect())
}

fn tenants_table(rows: &[TenantRow]) -> String {
    let mut t = output::table([
        "TENANT",
        "SAGAS",
        "INSTANCES",
        "DEDUPE",
        "CHECKPOINTS",
        "OUTBOX",
        "TIMERS",
        "CURSOR",
    ]);
    for r in rows {
        t.add_row(vec![
            Cell::new(&r.tenant),
            Cell::new(r.sagas),
            Cell::new(r.counts.instances),
            Cell::new(r.counts.dedupe),
            Cell::new(r.counts.checkpoints),
            Cell::new(r.counts.outbox),
            Cell::new(r.counts.timers),
            Cell::new(
                r.cursor
                    .map(|c| format!("{:?} {}", c.mode, c.seq).to_lowercase())
                    .unwrap_or_else(|| "-".into()),
            ),
        ]);
    }
    t.to_string()
}

fn need_tenant<K: shared::edge_storage::TransactionKind>(
    r: &Reader<'_, K>,
    tenant: &str,
    saga: Option<&str>,
) -> Result<(), CliError> {
    let st = stats(r, Some(tenant)).map_err(storage_error)?;
    let known = st.contains_key(tenant) || r.cursor(tenant).map_err(storage_error)?.is_some();
    if !known {
        return Err(CliError::new(
            NOT_FOUND,
            format!(
                "the volume holds nothing for tenant '{tenant}' (`runnerctl inspect <volume> tenants` lists those it has)"
            ),
        ));
    }
    if let Some(s) = saga
        && !st.get(tenant).is_some_and(|p| p.contains_key(s))
    {
        let have: Vec<&String> = st
            .get(tenant)
            .map(|p| p.keys().collect())
            .unwrap_or_default();
        return Err(CliError::new(
            NOT_FOUND,
            format!(
                "the volume holds nothing for saga '{s}' of tenant '{tenant}' (it has: {have:?})"
            ),
        ));
    }
    Ok(())
}

pub fn run(args: InspectArgs, format: Format) -> anyhow::Result<()> {
    let vol = open(&args.volume, args.allow_live)?;
    let path = args.volume.display().to_string();
    match args.what {
        InspectCmd::Summary => {
            let space = vol.space().map_err(storage_error)?;
            let s = vol
                .read(|r: &Reader<'_, RO>| {
                    let st = stats(r, None)?;
                    let mut tables = BTreeMap::new();
                    for (name, id) in [
                        ("sagas", TableId::Sagas),
                        ("dedupe", TableId::Dedupe),
                        ("checkpoints", TableId::Checkpoints),
                        ("outbox", TableId::Outbox),
                        ("schedules", TableId::Schedules),
                        ("cursors", TableId::Cursors),
                        ("stats", TableId::Stats),
                    ] {
                        tables.insert(name, r.entries(id)?);
                    }
                    Ok::<_, StorageError>(Summary {
                        path: path.clone(),
                        format_version: r.format_version()?,
                        shard_id: r.meta_str(meta::SHARD_ID)?,
                        stream: r.meta_str(meta::STREAM)?,
                        volume_id: r.meta_str(meta::VOLUME_ID)?,
                        created_at_ms: r.meta_u64(meta::CREATED_AT)?,
                        last_write_ms: r.meta_u64(meta::LAST_WRITE)?,
                        reader_position: r.meta_u64(meta::READER_POSITION)?,
                        file_bytes: space.file_bytes,
                        used_bytes: space.used_bytes,
                        page_size: space.page_size,
                        tables,
                        tenants: tenant_rows(r, &st)?,
                    })
                })
                .map_err(storage_error)?;
            match format {
                Format::Json => output::json(&s),
                Format::Table => {
                    let mut out = format!(
                        "volume {}\nshard {}  stream {}  format v{}  reader at {}\ncreated {}  last write {}\nfile {}  in use {} (pages of {} B)\n\n",
                        s.path,
                        s.shard_id.as_deref().unwrap_or("-"),
                        s.stream.as_deref().unwrap_or("-"),
                        s.format_version,
                        s.reader_position.unwrap_or(0),
                        time(s.created_at_ms.unwrap_or(0)),
                        time(s.last_write_ms.unwrap_or(0)),
                        output::bytes(s.file_bytes),
                        output::bytes(s.used_bytes),
                        s.page_size
                    );
                    let mut t = output::table(["TABLE", "ENTRIES"]);
                    for (k, v) in &s.tables {
                        t.add_row(vec![Cell::new(k), Cell::new(v)]);
                    }
                    out.push_str(&format!("{t}\n\n{}\n", tenants_table(&s.tenants)));
                    output::print(&out);
                }
            }
        }
        InspectCmd::Tenants => {
            let rows = vol
                .read(|r| tenant_rows(r, &stats(r, None)?))
                .map_err(storage_error)?;
            match format {
                Format::Json => output::json(&rows),
                Format::Table => output::println(&tenants_table(&rows)),
            }
        }
        InspectCmd::Sagas { tenant } => {
            #[derive(Serialize)]
            struct Row {
                saga: String,
                #[serde(flatten)]
                counts: Counts,
                checkpoint: Option<Checkpoint>,
            }
            let rows = vol.read(|r| {
                need_tenant(r, &tenant, None)?;
                let st = stats(r, Some(&tenant)).map_err(storage_error)?;
                let mut out = Vec::new();
                for (s, c) in st.get(&tenant).into_iter().flatten() {
                    out.push(Row {
                        saga: s.clone(),
                        counts: *c,
                        checkpoint: r.checkpoint(&tenant, s).map_err(storage_error)?,
                    });
                }
                Ok::<_, CliError>(out)
            })?;
            match format {
                Format::Json => output::json(&rows),
                Format::Table => {
                    let mut t = output::table([
                        "SAGA",
                        "INSTANCES",
                        "DEDUPE",
                        "CHECKPOINT",
                        "OUTBOX",
                        "TIMERS",
                    ]);
                    for r in &rows {
                        t.add_row(vec![
                            Cell::new(&r.saga),
                            Cell::new(r.counts.instances),
                            Cell::new(r.counts.dedupe),
                            Cell::new(
                                r.checkpoint
                                    .map(|c| c.seq.to_string())
                                    .unwrap_or("-".into()),
                            ),
                            Cell::new(r.counts.outbox),
                            Cell::new(r.counts.timers),
                        ]);
                    }
                    output::println(&t.to_string());
                }
            }
        }
        InspectCmd::Instances {
            tenant,
            saga,
            state,
            limit,
            after,
        } => {
            #[derive(Serialize)]
            struct Row {
                key: String,
                state: String,
                version: u64,
                updated_at_ms: u64,
                last_seq: u64,
            }
            let page = vol.read(|r| {
                need_tenant(r, &tenant, Some(&saga))?;
                let prefix = keys::saga_prefix(&tenant, &saga).map_err(storage_error)?;
                let after_key = match &after {
                    Some(a) => Some(keys::instance_key(&tenant, &saga, a).map_err(storage_error)?),
                    None => None,
                };
                let mut items = Vec::new();
                let mut more = false;
                r.scan(TableId::Sagas, &prefix, after_key.as_deref(), |k, v| {
                    let (_, _, key) = keys::decode_three(k)?;
                    let rec: InstanceRecord = decode_value(v)?;
                    if state.as_ref().is_some_and(|s| s != &rec.state) {
                        return Ok(true);
                    }
                    if items.len() == limit {
                        more = true;
                        return Ok(false);
                    }
                    items.push(Row {
                        key: key.to_string(),
                        state: rec.state,
                        version: rec.version,
                        updated_at_ms: rec.updated_at_ms,
                        last_seq: rec.last_seq,
                    });
                    Ok(true)
                })
                .map_err(storage_error)?;
                let next_after = more
                    .then(|| items.last().map(|i: &Row| i.key.clone()))
                    .flatten();
                Ok::<_, CliError>(Page { items, next_after })
            })?;
            match format {
                Format::Json => output::json(&page),
                Format::Table => {
                    let mut t = output::table(["KEY", "STATE", "VERSION", "UPDATED", "LAST SEQ"]);
                    for i in &page.items {
                        t.add_row(vec![
                            Cell::new(&i.key),
                            Cell::new(&i.state),
                            Cell::new(i.version),
                            Cell::new(time(i.updated_at_ms)),
                            Cell::new(i.last_seq),
                        ]);
                    }
                    output::println(&t.to_string());
                    if let Some(n) = &page.next_after {
                        eprintln!("more: --after {n}");
                    }
                }
            }
        }
        InspectCmd::Instance { tenant, saga, key } => {
            let rec = vol.read(|r| {
                need_tenant(r, &tenant, Some(&saga))?;
                r.instance(&tenant, &saga, &key)
                    .map_err(storage_error)?
                    .ok_or_else(|| {
                        CliError::new(
                            NOT_FOUND,
                            format!("no instance '{key}' of {tenant}/{saga} (`inspect <volume> instances --tenant {tenant} --saga {saga}` lists them)"),
                        )
                    })
            })?;
            let data: serde_json::Value = serde_json::from_str(&rec.data)
                .unwrap_or(serde_json::Value::String(rec.data.clone()));
            let out = serde_json::json!({
                "tenant": tenant, "saga": saga, "key": key,
                "state": rec.state, "version": rec.version,
                "created_at_ms": rec.created_at_ms, "updated_at_ms": rec.updated_at_ms,
                "last_seq": rec.last_seq, "last_event_id": rec.last_event_id,
                "data": data, "timers": rec.timers, "history": rec.history,
            });
            match format {
                Format::Json => output::json(&out),
                Format::Table => {
                    let mut s = format!(
                        "{tenant}/{saga}/{key}: state {}  version {}  last seq {} ({})\ncreated {}  updated {}\n\ndata:\n{}\n",
                        rec.state,
                        rec.version,
                        rec.last_seq,
                        rec.last_event_id,
                        time(rec.created_at_ms),
                        time(rec.updated_at_ms),
                        serde_json::to_string_pretty(&data).unwrap_or_default()
                    );
                    if !rec.timers.is_empty() {
                        s.push_str("\ntimers:\n");
                        for t in &rec.timers {
                            s.push_str(&format!("  {t:?}\n"));
                        }
                    }
                    if !rec.history.is_empty() {
                        let mut t = output::table(["SEQ", "EVENT", "TYPE", "FROM", "TO", "AT"]);
                        for h in &rec.history {
                            t.add_row(vec![
                                Cell::new(h.seq),
                                Cell::new(&h.event_id),
                                Cell::new(&h.event_type),
                                Cell::new(&h.from),
                                Cell::new(&h.to),
                                Cell::new(time(h.at_ms)),
                            ]);
                        }
                        s.push_str(&format!("\nhistory:\n{t}\n"));
                    }
                    output::print(&s);
                }
            }
        }
        InspectCmd::Checkpoints { tenant } => {
            #[derive(Serialize)]
            struct Row {
                tenant: String,
                saga: String,
                seq: u64,
                updated_at_ms: u64,
            }
            let rows = vol.read(|r| {
                let prefix = match &tenant {
                    Some(t) => {
                        need_tenant(r, t, None)?;
                        keys::tenant_prefix(t).map_err(storage_error)?
                    }
                    None => Vec::new(),
                };
                let mut out = Vec::new();
                r.scan(TableId::Checkpoints, &prefix, None, |k, v| {
                    let (t, s) = keys::decode_two(k)?;
                    let c: Checkpoint = decode_value(v)?;
                    out.push(Row {
                        tenant: t.into(),
                        saga: s.into(),
                        seq: c.seq,
                        updated_at_ms: c.updated_at_ms,
                    });
                    Ok(true)
                })
                .map_err(storage_error)?;
                Ok::<_, CliError>(out)
            })?;
            match format {
                Format::Json => output::json(&rows),
                Format::Table => {
                    let mut t = output::table(["TENANT", "SAGA", "CHECKPOINT", "UPDATED"]);
                    for r in &rows {
                        t.add_row(vec![
                            Cell::new(&r.tenant),
                            Cell::new(&r.saga),
                            Cell::new(r.seq),
                            Cell::new(time(r.updated_at_ms)),
                        ]);
                    }
                    output::println(&t.to_string());
                }
            }
        }
        InspectCmd::Dedupe {
            tenant,
            saga,
            limit,
            after,
        } => {
            #[derive(Serialize)]
            struct Row {
                event_id: String,
                seq: u64,
                at_ms: u64,
                outcome: &'static str,
            }
            let page = vol.read(|r| {
                need_tenant(r, &tenant, Some(&saga))?;
                let prefix = keys::saga_prefix(&tenant, &saga).map_err(storage_error)?;
                // Fired timers' markers sort first in a tenant+saga's range (their third key
                // component is empty); event ids start at 0x01 and up.
                let events_from = [prefix.as_slice(), &[0]].concat();
                let after_key = match &after {
                    Some(a) => Some(keys::dedupe_key(&tenant, &saga, a).map_err(storage_error)?),
                    None => Some(events_from),
                };
                let mut items = Vec::new();
                let mut more = false;
                r.scan(TableId::Dedupe, &prefix, after_key.as_deref(), |k, v| {
                    if items.len() == limit {
                        more = true;
                        return Ok(false);
                    }
                    let (_, _, keys::Marked::Event(id)) = keys::decode_dedupe(k)? else {
                        return Ok(true);
                    };
                    let d: DedupeRecord = decode_value(v)?;
                    items.push(Row {
                        event_id: id.into(),
                        seq: d.seq,
                        at_ms: d.at_ms,
                        outcome: d.outcome.as_str(),
                    });
                    Ok(true)
                })
                .map_err(storage_error)?;
                let next_after = more
                    .then(|| items.last().map(|i: &Row| i.event_id.clone()))
                    .flatten();
                Ok::<_, CliError>(Page { items, next_after })
            })?;
            match format {
                Format::Json => output::json(&page),
                Format::Table => {
                    let mut t = output::table(["EVENT ID", "SEQ", "OUTCOME", "AT"]);
                    for i in &page.items {
                        t.add_row(vec![
                            Cell::new(&i.event_id),
                            Cell::new(i.seq),
                            Cell::new(i.outcome),
                            Cell::new(time(i.at_ms)),
                        ]);
                    }
                    output::println(&t.to_string());
                    if let Some(n) = &page.next_after {
                        eprintln!("more: --after {n}");
                    }
                }
            }
        }
        InspectCmd::Outbox { tenant, limit } => {
            #[derive(Serialize)]
            struct Row {
                seq: u64,
                tenant: String,
                saga: String,
                kind: String,
                subject: String,
                msg_id: String,
                created_at_ms: u64,
                payload_bytes: usize,
            }
            let rows = vol.read(|r| {
                if let Some(t) = &tenant {
                    need_tenant(r, t, None)?;
                }
                let mut out = Vec::new();
                r.scan(TableId::Outbox, &[], None, |k, v| {
                    let e: OutboxEntry = decode_value(v)?;
                    if tenant.as_ref().is_some_and(|t| t != &e.tenant) {
                        return Ok(true);
                    }
                    out.push(Row {
                        seq: keys::decode_outbox(k)?,
                        tenant: e.tenant,
                        saga: e.saga,
                        kind: format!("{:?}", e.kind).to_lowercase(),
                        subject: e.subject,
                        msg_id: e.msg_id,
                        created_at_ms: e.created_at_ms,
                        payload_bytes: e.payload.len(),
                    });
                    Ok(out.len() < limit)
                })
                .map_err(storage_error)?;
                Ok::<_, CliError>(out)
            })?;
            match format {
                Format::Json => output::json(&rows),
                Format::Table => {
                    let mut t = output::table([
                        "SEQ", "TENANT", "SAGA", "KIND", "SUBJECT", "MSG ID", "CREATED", "BYTES",
                    ]);
                    for r in &rows {
                        t.add_row(vec![
                            Cell::new(r.seq),
                            Cell::new(&r.tenant),
                            Cell::new(&r.saga),
                            Cell::new(&r.kind),
                            Cell::new(&r.subject),
                            Cell::new(&r.msg_id),
                            Cell::new(time(r.created_at_ms)),
                            Cell::new(r.payload_bytes),
                        ]);
                    }
                    output::println(&t.to_string());
                }
            }
        }
        InspectCmd::Timers {
            tenant,
            due_before,
            limit,
        } => {
            #[derive(Serialize)]
            struct Row {
                tenant: String,
                saga: String,
                due_ms: u64,
                key: String,
                timer: String,
                fire: String,
            }
            let bound = due_before.map(|t| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0)
            });
            let rows = vol.read(|r| {
                let prefix = match &tenant {
                    Some(t) => {
                        need_tenant(r, t, None)?;
                        keys::tenant_prefix(t).map_err(storage_error)?
                    }
                    None => Vec::new(),
                };
                let mut out = Vec::new();
                r.scan(TableId::Schedules, &prefix, None, |k, v| {
                    let d = keys::decode_schedule(k)?;
                    if bound.is_some_and(|b| d.due_ms >= b) {
                        return Ok(true);
                    }
                    let rec: ScheduleRecord = decode_value(v)?;
                    out.push(Row {
                        tenant: d.tenant.into(),
                        saga: d.saga.into(),
                        due_ms: d.due_ms,
                        key: d.key.into(),
                        timer: d.timer.into(),
                        fire: rec.fire,
                    });
                    Ok(out.len() < limit)
                })
                .map_err(storage_error)?;
                Ok::<_, CliError>(out)
            })?;
            match format {
                Format::Json => output::json(&rows),
                Format::Table => {
                    let mut t = output::table(["TENANT", "SAGA", "DUE", "KEY", "TIMER", "FIRES"]);
                    for r in &rows {
                        t.add_row(vec![
                            Cell::new(&r.tenant),
                            Cell::new(&r.saga),
                            Cell::new(time(r.due_ms)),
                            Cell::new(&r.key),
                            Cell::new(&r.timer),
                            Cell::new(&r.fire),
                        ]);
                    }
                    output::println(&t.to_string());
                }
            }
        }
        InspectCmd::Export { tenant, saga } => {
            let sagas = (!saga.is_empty()).then_some(saga);
            let summary = vol.read(|r| {
                need_tenant(r, &tenant, None)?;
                for s in sagas.iter().flatten() {
                    need_tenant(r, &tenant, Some(s))?;
                }
                let out = std::io::BufWriter::new(std::io::stdout().lock());
                shared::edge_storage::export::export(r, &tenant, sagas.clone(), out).map_err(|e| {
                    match e {
                        StorageError::Io { source, .. }
                            if source.kind() == std::io::ErrorKind::BrokenPipe =>
                        {
                            std::process::exit(0)
                        }
                        e => storage_error(e),
                    }
                })
            })?;
            let c = summary.counts;
            eprintln!(
                "exported {tenant}: {} checkpoints, {} instances, {} dedupe markers, {} timers, {} outbox entries (sha256 {})",
                c.checkpoints, c.instances, c.dedupe, c.timers, c.outbox, summary.sha256
            );
            let _ = std::io::stdout().flush();
        }
        InspectCmd::Diff {
            other,
            tenant,
            limit,
        } => {
            let b = open(&other, args.allow_live)?;
            let d = crate::cmd::diff::diff(&vol, &b, tenant.as_deref(), limit)?;
            match format {
                Format::Json => output::json(&d),
                Format::Table => output::print(&crate::cmd::diff::render(
                    &d,
                    &path,
                    &other.display().to_string(),
                )),
            }
            if !d.identical {
                return Err(CliError::new(crate::exit::DIFFERENT, "the volumes differ").into());
            }
        }
    }
    Ok(())
}
