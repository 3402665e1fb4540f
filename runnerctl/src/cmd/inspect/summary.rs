//! `inspect summary`: format, shard, size, last write, entries per table and per tenant.

use std::collections::BTreeMap;

use comfy_table::Cell;
use serde::Serialize;
use shared::edge_storage::{RO, Reader, StorageError, TableId, TenantSummary, Volume, meta};

use super::common::time;
use super::tenants;
use crate::exit::CliError;
use crate::output::{self, Format};

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
    tenants: Vec<TenantSummary>,
}

pub fn run(vol: &Volume, path: &str, format: Format) -> Result<(), CliError> {
    let space = vol.space()?;
    let s = vol.read(|r: &Reader<'_, RO>| {
        let mut tables = BTreeMap::new();
        for id in TableId::ALL.into_iter().filter(|t| *t != TableId::Meta) {
            tables.insert(id.name(), r.entries(id)?);
        }
        Ok::<_, StorageError>(Summary {
            path: path.to_string(),
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
            tenants: r.tenant_summaries()?,
        })
    })?;
    match format {
        Format::Json => output::json(&s),
        Format::Table => output::print(&render(&s)),
    }
    Ok(())
}

fn render(s: &Summary) -> String {
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
    out.push_str(&format!("{t}\n\n{}\n", tenants::table(&s.tenants)));
    out
}
