//! The typed client of a runner's admin API, the only code in runnerctl that speaks HTTP to
//! a runner: one method per endpoint (paths from [`shared::routes`], bodies from
//! [`shared::wire`]), the bearer token, timeouts, and errors that say which runner failed how,
//! with the exit code of their [`Kind`]. Every command and the dashboard go through it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use shared::ids::TenantId;
use shared::routes;
use shared::wire::{
    DrainRequest, DrainStatus, ErrorBody, ErrorCode, Readiness, ReplayAccepted, ReplayPlan,
    ReplayRequest, ReplayStatus, ResumeResponse, StatusResponse, TenantDataChange, TenantInfo,
};

use crate::exit::{CliError, Kind};

/// Requests that carry a tenant's whole state (export, import) may take this long.
const BULK_TIMEOUT: Duration = Duration::from_secs(600);

/// Extra CA certificates for https:// admin URLs (`--ca-cert`), read once at start.
static EXTRA_ROOTS: std::sync::OnceLock<Vec<reqwest::Certificate>> = std::sync::OnceLock::new();

/// Sets up TLS for every admin client of this process: rustls on ring, the system's roots,
/// and the CA certificates of `ca_cert` (a PEM bundle) when given.
pub fn init_tls(ca_cert: Option<&std::path::Path>) -> Result<(), CliError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Some(path) = ca_cert else { return Ok(()) };
    let pem = std::fs::read(path).map_err(|e| {
        CliError::usage(format!("--ca-cert {}: cannot read it: {e}", path.display()))
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        CliError::usage(format!(
            "--ca-cert {}: not a PEM certificate bundle: {e}",
            path.display()
        ))
    })?;
    if certs.is_empty() {
        return Err(CliError::usage(format!(
            "--ca-cert {}: holds no certificate (expected PEM, '-----BEGIN CERTIFICATE-----')",
            path.display()
        )));
    }
    let _ = EXTRA_ROOTS.set(certs);
    Ok(())
}

pub struct Admin {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Admin {
    pub fn new(url: &str, token: Option<String>) -> Result<Admin, CliError> {
        let base = url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::usage(format!(
                "--url {url}: expected the runner's admin URL, e.g. http://127.0.0.1:7070"
            )));
        }
        // rustls on ring for https:// (idempotent; `init_tls` did it already in the binary).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3));
        if let Some(roots) = EXTRA_ROOTS.get() {
            builder = builder.tls_certs_merge(roots.iter().cloned());
        }
        let http = builder
            .build()
            .map_err(|e| CliError::failure(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Admin { base, token, http })
    }

    /// The admin URL this client talks to.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// `GET /readyz`: ready, or an error (a runner that is not ready answers 503).
    pub async fn ready(&self) -> Result<Readiness, CliError> {
        self.get(routes::READYZ).await
    }

    /// `GET /admin/status`; `lag: false` skips the per-saga stream lookups.
    pub async fn status(&self, lag: bool) -> Result<StatusResponse, CliError> {
        self.get(&routes::status(lag)).await
    }

    /// `POST /admin/drain`: starts a drain (or reports the one under way).
    pub async fn drain(&self, req: &DrainRequest) -> Result<DrainStatus, CliError> {
        self.call(
            self.http.post(self.at(routes::DRAIN)).json(req),
            routes::DRAIN,
        )
        .await
    }

    /// `POST /admin/resume`: back to service after a drain.
    pub async fn resume(&self) -> Result<ResumeResponse, CliError> {
        self.call(
            self.http
                .post(self.at(routes::RESUME))
                .json(&serde_json::json!({})),
            routes::RESUME,
        )
        .await
    }

    /// `POST /admin/replay` as a dry run: what the replay would delete and re-read.
    pub async fn replay_plan(&self, req: &ReplayRequest) -> Result<ReplayPlan, CliError> {
        self.replay(&ReplayRequest {
            dry_run: true,
            ..req.clone()
        })
        .await
    }

    /// `POST /admin/replay`: starts the replay.
    pub async fn replay_start(&self, req: &ReplayRequest) -> Result<ReplayAccepted, CliError> {
        self.replay(&ReplayRequest {
            dry_run: false,
            ..req.clone()
        })
        .await
    }

    async fn replay<T: DeserializeOwned>(&self, req: &ReplayRequest) -> Result<T, CliError> {
        self.call(
            self.http.post(self.at(routes::REPLAY)).json(req),
            routes::REPLAY,
        )
        .await
    }

    /// `GET /admin/replay/<id>`: a replay's progress.
    pub async fn replay_status(&self, id: &str) -> Result<ReplayStatus, CliError> {
        self.get(&routes::replay_status(id)).await
    }

    /// `GET /admin/tenants/<tenant>`: what the runner holds for a tenant.
    pub async fn tenant_info(&self, tenant: &TenantId) -> Result<TenantInfo, CliError> {
        self.get(&routes::tenant(tenant)).await
    }

    /// `GET /admin/tenants/<t>/sagas/<s>/instances/<key>`: one instance, live.
    pub async fn instance(
        &self,
        tenant: &TenantId,
        saga: &str,
        key: &str,
    ) -> Result<shared::edge_storage::InstanceRecord, CliError> {
        self.get(&routes::instance(tenant, saga, key)).await
    }

    /// `GET /admin/tenants/<t>/sagas/<s>/instances`: a page of a saga's instances, live.
    pub async fn instances(
        &self,
        tenant: &TenantId,
        saga: &str,
        state: Option<&str>,
        limit: usize,
        after: Option<&str>,
    ) -> Result<shared::wire::InstancePage, CliError> {
        let path = routes::instances(tenant, saga);
        let mut url = format!("{}?limit={limit}", self.at(&path));
        if let Some(s) = state {
            url += &format!("&state={}", routes::segment(s));
        }
        if let Some(a) = after {
            url += &format!("&after={}", routes::segment(a));
        }
        self.call(self.http.get(url), &path).await
    }

    /// `DELETE /admin/tenants/<tenant>`: deletes the tenant's state (not served).
    pub async fn tenant_delete(&self, tenant: &TenantId) -> Result<TenantDataChange, CliError> {
        let path = routes::tenant(tenant);
        self.call(self.http.delete(self.at(&path)), &path).await
    }

    /// `GET /admin/tenants/<tenant>/export`: the tenant's state in the export format.
    pub async fn tenant_export(&self, tenant: &TenantId) -> Result<bytes::Bytes, CliError> {
        let path = routes::tenant_export(tenant);
        let req = self.http.get(self.at(&path)).timeout(BULK_TIMEOUT);
        let resp = self.send(req).await?;
        if resp.status().is_success() {
            return resp.bytes().await.map_err(|e| {
                CliError::new(
                    Kind::Rejected,
                    format!("{} broke off {path}: {e}", self.base),
                )
            });
        }
        Err(self.error(resp, &path).await)
    }

    /// `POST /admin/snapshot`: takes a snapshot and answers once it is stored (waits up to
    /// `timeout`).
    pub async fn snapshot(
        &self,
        timeout: Duration,
    ) -> Result<shared::snapshots::SnapshotTaken, CliError> {
        let req = self.http.post(self.at(routes::SNAPSHOT)).timeout(timeout);
        self.call(req, routes::SNAPSHOT).await
    }

    /// `POST /admin/tenants/<tenant>/import`: imports an export in one transaction.
    pub async fn tenant_import(
        &self,
        tenant: &TenantId,
        export: bytes::Bytes,
    ) -> Result<TenantDataChange, CliError> {
        let path = routes::tenant_import(tenant);
        let req = self
            .http
            .post(self.at(&path))
            .timeout(BULK_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(export);
        self.call(req, &path).await
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.call(self.http.get(self.at(path)), path).await
    }

    async fn send(&self, mut req: reqwest::RequestBuilder) -> Result<reqwest::Response, CliError> {
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        req.send().await.map_err(|e| {
            // The innermost cause names a TLS failure (an untrusted or mismatched
            // certificate, a plain-HTTP server behind https://) better than reqwest's summary.
            let mut root: &dyn std::error::Error = &e;
            while let Some(next) = root.source() {
                root = next;
            }
            let tls = root.downcast_ref::<rustls::Error>().map(|r| r.to_string()).or_else(|| {
                let text = root.to_string();
                (text.contains("certificate") || text.contains("InvalidContentType"))
                    .then_some(text)
            });
            if let Some(why) = tls {
                return CliError::new(
                    Kind::Unreachable,
                    format!(
                        "cannot talk TLS to the runner at {}: {why}; for a private CA pass --ca-cert <PEM> (or RUNNERCTL_CA_CERT)",
                        self.base
                    ),
                );
            }
            let why = if e.is_timeout() {
                "timed out".to_string()
            } else if e.is_connect() {
                "connection refused or unreachable".to_string()
            } else {
                e.to_string()
            };
            CliError::new(
                Kind::Unreachable,
                format!("cannot reach the runner at {}: {why}; is it running, and is this its RUNNER_ADMIN_ADDR?", self.base),
            )
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        path: &str,
    ) -> Result<T, CliError> {
        let resp = self.send(req).await?;
        if resp.status().is_success() {
            return resp.json().await.map_err(|e| {
                CliError::new(
                    Kind::Rejected,
                    format!(
                        "{} answered {path} with something this runnerctl does not understand: {e} (versions differ?)",
                        self.base
                    ),
                )
            });
        }
        Err(self.error(resp, path).await)
    }

    async fn error(&self, resp: reqwest::Response, path: &str) -> CliError {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        let parsed = serde_json::from_str::<ErrorBody>(&body).ok();
        let msg = parsed
            .as_ref()
            .map(|b| b.message.clone())
            .unwrap_or_else(|| body.chars().take(300).collect());
        let code = parsed.map(|b| b.error);
        let hint = if status == StatusCode::UNAUTHORIZED || code == Some(ErrorCode::Unauthorized) {
            " (pass --token or set RUNNERCTL_TOKEN)"
        } else {
            ""
        };
        CliError::new(
            error_kind(status),
            format!("{} answered {path} with {status}: {msg}{hint}", self.base),
        )
    }
}

/// The kind of an error answer (docs/cli.md): a 404 (unknown tenant, saga, replay) is
/// "not found", a 409 (draining, a replay already running) a conflict, any other error the
/// runner rejecting the request.
fn error_kind(status: StatusCode) -> Kind {
    match status {
        StatusCode::NOT_FOUND => Kind::NotFound,
        StatusCode::CONFLICT => Kind::Conflict,
        _ => Kind::Rejected,
    }
}

/// How following a replay ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followed {
    /// The replay is over (`completed` or `cancelled`).
    Ended(ReplayStatus),
    /// The time allowed ran out with the replay still active; it goes on in the runner.
    StillActive(ReplayStatus),
}

/// Follows a replay until it ends, or until `timeout` (if any) has passed: reads its status
/// every `every`, starting at once, and hands each to `progress`. `runnerctl replay` and the
/// dashboard both follow replays with this.
pub async fn follow_replay(
    admin: &Admin,
    replay_id: &str,
    every: Duration,
    timeout: Option<Duration>,
    mut progress: impl FnMut(&ReplayStatus),
) -> Result<Followed, CliError> {
    let started = Instant::now();
    loop {
        let s = admin.replay_status(replay_id).await?;
        progress(&s);
        if !s.state.is_active() {
            return Ok(Followed::Ended(s));
        }
        if timeout.is_some_and(|t| started.elapsed() >= t) {
            return Ok(Followed::StillActive(s));
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_map_to_their_documented_kinds() {
        assert_eq!(error_kind(StatusCode::NOT_FOUND), Kind::NotFound);
        assert_eq!(error_kind(StatusCode::CONFLICT), Kind::Conflict);
        assert_eq!(error_kind(StatusCode::UNAUTHORIZED), Kind::Rejected);
        assert_eq!(error_kind(StatusCode::SERVICE_UNAVAILABLE), Kind::Rejected);
    }

    #[test]
    fn only_http_urls_are_admin_urls() {
        assert_eq!(
            Admin::new("127.0.0.1:7070", None).err().map(|e| e.kind),
            Some(Kind::Usage)
        );
        assert_eq!(
            Admin::new("http://127.0.0.1:7070/", None).unwrap().url(),
            "http://127.0.0.1:7070"
        );
    }
}
