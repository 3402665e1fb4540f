//! `inspect checkpoints`: the last stream sequence applied, per tenant and saga.

use comfy_table::Cell;
use serde::Serialize;
use shared::edge_storage::{Checkpoint, TableId, Volume, decode_value, keys};

use super::common::{need_tenant, time};
use crate::exit::CliError;
use crate::output::{self, Format};

#[derive(Serialize)]
struct Row {
    tenant: String,
    saga: String,
    seq: u64,
    updated_at_ms: u64,
}

pub fn run(vol: &Volume, tenant: Option<&str>, format: Format) -> Result<(), CliError> {
    let rows = vol.read(|r| {
        let prefix = match tenant {
            Some(t) => {
                need_tenant(r, t, None)?;
                keys::tenant_prefix(t)?
            }
            None => Vec::new(),
        };
        let all = r.page(TableId::Checkpoints, &prefix, None, usize::MAX, |k, v| {
            let (t, s) = keys::decode_two(k)?;
            let c: Checkpoint = decode_value(v)?;
            Ok(Some(Row {
                tenant: t.into(),
                saga: s.into(),
                seq: c.seq,
                updated_at_ms: c.updated_at_ms,
            }))
        })?;
        Ok::<_, CliError>(all.items)
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
    Ok(())
}
