//! `inspect timers`: pending timers, in key order (by tenant, saga, due time).

use std::time::SystemTime;

use comfy_table::Cell;
use serde::Serialize;
use shared::edge_storage::{ScheduleRecord, TableId, Volume, decode_value, keys};

use super::common::{need_tenant, time};
use crate::exit::CliError;
use crate::output::{self, Format};

#[derive(Serialize)]
struct Row {
    tenant: String,
    saga: String,
    due_ms: u64,
    key: String,
    timer: String,
    fire: String,
}

pub fn run(
    vol: &Volume,
    tenant: Option<&str>,
    due_before: Option<SystemTime>,
    limit: usize,
    format: Format,
) -> Result<(), CliError> {
    let bound = due_before.map(|t| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    });
    let rows = vol.read(|r| {
        let prefix = match tenant {
            Some(t) => {
                need_tenant(r, t, None)?;
                keys::tenant_prefix(t)?
            }
            None => Vec::new(),
        };
        let p = r.page(TableId::Schedules, &prefix, None, limit, |k, v| {
            let d = keys::decode_schedule(k)?;
            if bound.is_some_and(|b| d.due_ms >= b) {
                return Ok(None);
            }
            let rec: ScheduleRecord = decode_value(v)?;
            Ok(Some(Row {
                tenant: d.tenant.into(),
                saga: d.saga.into(),
                due_ms: d.due_ms,
                key: d.key.into(),
                timer: d.timer.into(),
                fire: rec.fire,
            }))
        })?;
        Ok::<_, CliError>(p.items)
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
    Ok(())
}
