//! The admin API's paths, in one place: the runner's router and runnerctl's client both use
//! these, and no other code spells an `/admin/...` path.

use crate::ids::TenantId;

/// `GET`: liveness.
pub const HEALTHZ: &str = "/healthz";
/// `GET`: readiness, with reasons.
pub const READYZ: &str = "/readyz";
/// `GET`: Prometheus metrics.
pub const METRICS: &str = "/metrics";
/// `GET`: [`crate::wire::StatusResponse`].
pub const STATUS: &str = "/admin/status";
/// `POST`: start a drain ([`crate::wire::DrainRequest`] -> [`crate::wire::DrainStatus`]).
pub const DRAIN: &str = "/admin/drain";
/// `POST`: back to service after a drain ([`crate::wire::ResumeResponse`]).
pub const RESUME: &str = "/admin/resume";
/// `POST`: plan or start a replay ([`crate::wire::ReplayRequest`]).
pub const REPLAY: &str = "/admin/replay";
/// `POST`: take a snapshot of the volume and store it in the snapshot bucket, answering once
/// stored (`shared::snapshots::SnapshotTaken`; no body).
pub const SNAPSHOT: &str = "/admin/snapshot";

/// Route patterns (axum syntax) of the paths with parameters; build the paths with the
/// functions below.
pub mod pattern {
    /// `GET`: [`crate::wire::ReplayStatus`].
    pub const REPLAY_STATUS: &str = "/admin/replay/{id}";
    /// `GET` ([`crate::wire::TenantInfo`]) and `DELETE` ([`crate::wire::TenantDataChange`]).
    pub const TENANT: &str = "/admin/tenants/{tenant}";
    /// `GET`: the tenant's export (NDJSON).
    pub const TENANT_EXPORT: &str = "/admin/tenants/{tenant}/export";
    /// `POST`: import an export ([`crate::wire::TenantDataChange`]).
    pub const TENANT_IMPORT: &str = "/admin/tenants/{tenant}/import";
    /// `GET`: a page of a saga's instances ([`crate::wire::InstancePage`]); query `state`,
    /// `limit`, `after`.
    pub const INSTANCES: &str = "/admin/tenants/{tenant}/sagas/{saga}/instances";
    /// `GET`: one instance (`InstanceRecord`); the key percent-encoded.
    pub const INSTANCE: &str = "/admin/tenants/{tenant}/sagas/{saga}/instances/{key}";
}

/// A path segment percent-encoded: every byte but ASCII letters, digits and `-._~`, so an
/// instance key with `/`, `?`, `%` or spaces stays one segment.
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/admin/tenants/<tenant>/sagas/<saga>/instances` (the saga percent-encoded).
pub fn instances(t: &TenantId, saga: &str) -> String {
    format!("{}/sagas/{}/instances", tenant(t), segment(saga))
}

/// `/admin/tenants/<tenant>/sagas/<saga>/instances/<key>` (saga and key percent-encoded).
pub fn instance(t: &TenantId, saga: &str, key: &str) -> String {
    format!("{}/{}", instances(t, saga), segment(key))
}

/// `/admin/status`, or `/admin/status?lag=false` to skip the per-saga stream lookups.
pub fn status(lag: bool) -> String {
    if lag {
        STATUS.to_string()
    } else {
        format!("{STATUS}?lag=false")
    }
}

/// `/admin/replay/<id>`
pub fn replay_status(id: &str) -> String {
    format!("{REPLAY}/{id}")
}

/// `/admin/tenants/<tenant>`
pub fn tenant(t: &TenantId) -> String {
    format!("/admin/tenants/{t}")
}

/// `/admin/tenants/<tenant>/export`
pub fn tenant_export(t: &TenantId) -> String {
    format!("{}/export", tenant(t))
}

/// `/admin/tenants/<tenant>/import`
pub fn tenant_import(t: &TenantId) -> String {
    format!("{}/import", tenant(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The builders produce exactly the paths the patterns match.
    #[test]
    fn builders_match_patterns() {
        let t = TenantId::new("ac-me_1").unwrap();
        assert_eq!(tenant(&t), pattern::TENANT.replace("{tenant}", "ac-me_1"));
        assert_eq!(
            tenant_export(&t),
            pattern::TENANT_EXPORT.replace("{tenant}", "ac-me_1")
        );
        assert_eq!(
            tenant_import(&t),
            pattern::TENANT_IMPORT.replace("{tenant}", "ac-me_1")
        );
        assert_eq!(
            replay_status("r-1-2"),
            pattern::REPLAY_STATUS.replace("{id}", "r-1-2")
        );
        assert_eq!(status(false), "/admin/status?lag=false");
    }
}
