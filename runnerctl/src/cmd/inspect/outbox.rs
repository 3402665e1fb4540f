//! `inspect outbox`: entries waiting to be published, in write order.

use comfy_table::Cell;
use serde::Serialize;
use shared::edge_storage::{OutboxEntry, TableId, Volume, decode_value, keys};

use super::common::{need_tenant, time};
use crate::exit::CliError;
use crate::output::{self, Format};

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

pub fn run(
    vol: &Volume,
    tenant: Option<&str>,
    limit: usize,
    format: Format,
) -> Result<(), CliError> {
    let rows = vol.read(|r| {
        if let Some(t) = tenant {
            need_tenant(r, t, None)?;
        }
        let p = r.page(TableId::Outbox, &[], None, limit, |k, v| {
            let e: OutboxEntry = decode_value(v)?;
            if tenant.is_some_and(|t| t != e.tenant) {
                return Ok(None);
            }
            Ok(Some(Row {
                seq: keys::decode_outbox(k)?,
                tenant: e.tenant,
                saga: e.saga,
                kind: format!("{:?}", e.kind).to_lowercase(),
                subject: e.subject,
                msg_id: e.msg_id,
                created_at_ms: e.created_at_ms,
                payload_bytes: e.payload.len(),
            }))
        })?;
        Ok::<_, CliError>(p.items)
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
    Ok(())
}
