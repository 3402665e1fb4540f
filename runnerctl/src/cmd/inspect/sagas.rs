//! `inspect sagas --tenant T`: a tenant's sagas with their counts and checkpoints.

use comfy_table::Cell;
use serde::Serialize;
use shared::edge_storage::{Checkpoint, Counts, Volume};

use super::common::need_tenant;
use crate::exit::CliError;
use crate::output::{self, Format};

#[derive(Serialize)]
struct Row {
    saga: String,
    #[serde(flatten)]
    counts: Counts,
    checkpoint: Option<Checkpoint>,
}

pub fn run(vol: &Volume, tenant: &str, format: Format) -> Result<(), CliError> {
    let rows = vol.read(|r| {
        need_tenant(r, tenant, None)?;
        let st = r.stats(Some(tenant))?;
        let mut out = Vec::new();
        for (s, c) in st.get(tenant).into_iter().flatten() {
            out.push(Row {
                saga: s.clone(),
                counts: *c,
                checkpoint: r.checkpoint(tenant, s)?,
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
    Ok(())
}
