//! `inspect export`: a tenant's state in the export format (JSON lines) to stdout.

use std::io::Write;

use shared::edge_storage::{StorageError, Volume};

use super::common::need_tenant;
use crate::exit::CliError;
use crate::volume::storage_error;

pub fn run(vol: &Volume, tenant: &str, saga: Vec<String>) -> Result<(), CliError> {
    let sagas = (!saga.is_empty()).then_some(saga);
    let summary = vol.read(|r| {
        need_tenant(r, tenant, None)?;
        for s in sagas.iter().flatten() {
            need_tenant(r, tenant, Some(s))?;
        }
        let out = std::io::BufWriter::new(std::io::stdout().lock());
        shared::edge_storage::export::export(r, tenant, sagas.clone(), out).map_err(|e| match e {
            StorageError::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe => {
                std::process::exit(0)
            }
            e => storage_error(e),
        })
    })?;
    let c = summary.counts;
    eprintln!(
        "exported {tenant}: {} checkpoints, {} instances, {} dedupe markers, {} timers, {} outbox entries (sha256 {})",
        c.checkpoints, c.instances, c.dedupe, c.timers, c.outbox, summary.sha256
    );
    let _ = std::io::stdout().flush();
    Ok(())
}
