//! Everything `runner` and `runnerctl` must agree on, defined once: the MDBX volume layout
//! (`edge_storage`), the admin API's wire types, tenant/saga/shard id rules and NATS names.

pub mod backoff;
pub mod edge_storage;
pub mod ids;
pub mod layout;
pub mod names;
#[cfg(feature = "nats")]
pub mod nats;
pub mod placement;
#[cfg(feature = "nats")]
pub mod pull;
pub mod routes;
pub mod snapshots;
pub mod wire;

#[cfg(feature = "devtools")]
pub mod devtools;

/// This machine's host name, as every part of the pair reads it (lease and lock records,
/// the default shard id, audit entries); `unknown` if it cannot be read.
pub fn hostname() -> String {
    let h = gethostname::gethostname()
        .to_string_lossy()
        .trim()
        .to_string();
    if h.is_empty() { "unknown".into() } else { h }
}

/// Milliseconds since the Unix epoch, the time unit of every stored timestamp.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Cases per property test: `PROPTEST_CASES` when set, else 2,000.
#[cfg(test)]
pub(crate) fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}
