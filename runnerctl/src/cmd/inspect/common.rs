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
    let st = r.stats(Some(tenant))?;
    let known = st.contains_key(tenant) || r.cursor(tenant)?.is_some();
    if !known {
        return Err(CliError::not_found(format!(
            "the volume holds nothing for tenant '{tenant}' (`runnerctl inspect <volume> tenants` lists those it has)"
        )));
    }
    if let Some(s) = saga
        && !st.get(tenant).is_some_and(|p| p.contains_key(s))
    {
        let have: Vec<&String> = st
            .get(tenant)
            .map(|p| p.keys().collect())
            .unwrap_or_default();
        return Err(CliError::not_found(format!(
            "the volume holds nothing for saga '{s}' of tenant '{tenant}' (it has: {have:?})"
        )));
    }
    Ok(())
}
