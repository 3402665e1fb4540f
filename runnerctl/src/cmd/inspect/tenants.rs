//! `inspect tenants`: tenants with their entry counts and read positions.

use comfy_table::Cell;
use shared::edge_storage::{TenantSummary, Volume};

use crate::exit::CliError;
use crate::output::{self, Format};

pub fn run(vol: &Volume, format: Format) -> Result<(), CliError> {
    let rows = vol.read(|r| r.tenant_summaries())?;
    match format {
        Format::Json => output::json(&rows),
        Format::Table => output::println(&table(&rows)),
    }
    Ok(())
}

/// The tenants table, also part of `inspect summary`.
pub fn table(rows: &[TenantSummary]) -> String {
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
            // (The mode's variant name, lowercased: `catchingup 12`, as it always was.)
            Cell::new(
                r.cursor
                    .map(|c| format!("{:?} {}", c.mode, c.seq).to_lowercase())
                    .unwrap_or_else(|| "-".into()),
            ),
        ]);
    }
    t.to_string()
}
