//! `inspect instance`: one instance: state, version, data, timers, history.

use comfy_table::Cell;
use shared::edge_storage::{InstanceRecord, Volume};

use super::common::{need_tenant, time};
use crate::exit::CliError;
use crate::output::{self, Format};

pub fn run(
    vol: &Volume,
    tenant: &str,
    saga: &str,
    key: &str,
    format: Format,
) -> Result<(), CliError> {
    let rec = vol.read(|r| {
        need_tenant(r, tenant, Some(saga))?;
        r.instance(tenant, saga, key)?.ok_or_else(|| {
            CliError::not_found(format!(
                "no instance '{key}' of {tenant}/{saga} (`inspect <volume> instances --tenant {tenant} --saga {saga}` lists them)"
            ))
        })
    })?;
    show(tenant, saga, key, &rec, format);
    Ok(())
}

/// One instance as text or JSON; `runnerctl get instance` prints the runner's answer with
/// it, the same way.
pub fn show(tenant: &str, saga: &str, key: &str, rec: &InstanceRecord, format: Format) {
    let data: serde_json::Value =
        serde_json::from_str(&rec.data).unwrap_or(serde_json::Value::String(rec.data.clone()));
    match format {
        Format::Json => output::json(&serde_json::json!({
            "tenant": tenant, "saga": saga, "key": key,
            "state": rec.state, "version": rec.version,
            "created_at_ms": rec.created_at_ms, "updated_at_ms": rec.updated_at_ms,
            "last_seq": rec.last_seq, "last_event_id": rec.last_event_id,
            "data": data, "timers": rec.timers, "history": rec.history,
        })),
        Format::Table => output::print(&render(tenant, saga, key, rec, &data)),
    }
}

fn render(
    tenant: &str,
    saga: &str,
    key: &str,
    rec: &InstanceRecord,
    data: &serde_json::Value,
) -> String {
    let mut s = format!(
        "{tenant}/{saga}/{key}: state {}  version {}  last seq {} ({})\ncreated {}  updated {}\n\ndata:\n{}\n",
        rec.state,
        rec.version,
        rec.last_seq,
        rec.last_event_id,
        time(rec.created_at_ms),
        time(rec.updated_at_ms),
        serde_json::to_string_pretty(data).unwrap_or_default()
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
    s
}
