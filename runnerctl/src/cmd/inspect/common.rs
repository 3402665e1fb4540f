//! What the inspect subcommands share: times, pages, the check that a volume holds what was
//! asked for.

use serde::Serialize;
use shared::edge_storage::{Reader, TransactionKind};

use crate::exit::CliError;

/// A page of a listing, as `--output json` prints it.
#[derive(Serialize)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
    /// Pass as `--after` for the next page; null when this was the last.
    pub next_after: Option<String>,
}

/// `2026-11-25T10:36:05Z`, or `-` for 0 (never).
pub fn time(ms: u64) -> String {
    if ms == 0 {
        return "-".into();
    }
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Exit 5 unless the volume holds something for `tenant` (and `saga`, when given).
pub fn need_tenant<K: TransactionKind>(
    r: &Reader<'_, K>,
    tenant: &str,
    saga: Option<&str>,
) -> Result<(), CliError> {
    match r.holds_nothing_for(tenant, saga)? {
        None => Ok(()),
        Some(why) => Err(CliError::not_found(format!(
            "the volume {why} (`runnerctl inspect <volume> tenants` lists what it has)"
        ))),
    }
}
