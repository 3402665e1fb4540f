//! The admin HTTP API: `/healthz`, `/readyz`, `/metrics`, and `/admin/*` (token-protected
//! when `RUNNER_ADMIN_TOKEN` is set). Handlers are thin: they read shared state and the
//! volume, and answer errors as `{error, message}` JSON.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde::Deserialize;
use shared::edge_storage::{StorageError, TableId};
use shared::routes;
use shared::wire::{DrainRequest, ErrorCode, Readiness, ReplayRequest, StatusResponse};
use subtle::ConstantTimeEq;

pub use crate::api::{AdminState, ApiError};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest tenant export accepted by the import endpoint.
pub const MAX_IMPORT_BYTES: usize = 4 << 30;

/// A request body that could not be taken: too large, not JSON, wrong fields or values.
fn body_error(e: JsonRejection, example: &str) -> ApiError {
    match e {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            format!("send the body as JSON with 'Content-Type: application/json', e.g. {example}"),
        ),
        JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
            )
        }
        other => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!("{}; expected e.g. {example}", other.body_text()),
        ),
    }
}

fn ops(st: &AdminState) -> Result<Arc<crate::ops::Ops>, ApiError> {
    st.ops.get().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Starting,
            "the runner is still starting; try again shortly",
        )
    })
}

const DRAIN_EXAMPLE: &str = r#"{"timeout_ms": 30000} or no body"#;
const REPLAY_EXAMPLE: &str =
    r#"{"tenant_id": "acme", "saga_name": "order", "mode": "checkpoint_only", "dry_run": true}"#;

/// Takes a snapshot and answers once it is stored (it may take minutes on a large volume;
/// exempt from the request timeout). A second request waits for the first to end.
async fn snapshot(State(st): State<Arc<AdminState>>) -> Result<Response, ApiError> {
    let s = st.snapshots.get().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Starting,
            "the runner is still starting (NATS, stream check, lease); retry shortly",
        )
    })?;
    match s.take("requested over the admin API").await {
        Ok(taken) => Ok(axum::Json(taken).into_response()),
        Err(e) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            format!("snapshot failed: {e}"),
        )),
    }
}

async fn drain(
    State(st): State<Arc<AdminState>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let req: DrainRequest = if body.iter().all(|b| b.is_ascii_whitespace()) {
        DrainRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                format!("bad drain request: {e}; expected {DRAIN_EXAMPLE}"),
            )
        })?
    };
    let timeout = match req.timeout_ms {
        None => crate::ops::DEFAULT_DRAIN_TIMEOUT,
        Some(ms) if ms <= crate::ops::MAX_DRAIN_TIMEOUT.as_millis() as u64 => {
            Duration::from_millis(ms)
        }
        Some(ms) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                format!(
                    "timeout_ms {ms} is above the limit of {}",
                    crate::ops::MAX_DRAIN_TIMEOUT.as_millis()
                ),
            ));
        }
    };
    let status = ops(&st)?.drain(timeout).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(status)).into_response())
}

async fn resume(State(st): State<Arc<AdminState>>) -> Result<Response, ApiError> {
    let state = ops(&st)?.resume().await?;
    Ok(axum::Json(shared::wire::ResumeResponse { state }).into_response())
}

async fn replay(
    State(st): State<Arc<AdminState>>,
    body: Result<axum::Json<ReplayRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let axum::Json(req) = body.map_err(|e| body_error(e, REPLAY_EXAMPLE))?;
    let ops = ops(&st)?;
    let js = st.js.get().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Starting,
            "not connected to NATS yet",
        )
    })?;
    Ok(match ops.replay(&js, &st.layout, &st.sagas, &req).await? {
        crate::ops::ReplayAnswer::Plan(plan) => axum::Json(plan).into_response(),
        crate::ops::ReplayAnswer::Accepted(a) => {
            (StatusCode::ACCEPTED, axum::Json(a)).into_response()
        }
    })
}

async fn replay_status(
    State(st): State<Arc<AdminState>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    st.shared
        .replays
        .lock()
        .expect("lock")
        .iter()
        .find(|r| r.replay_id == id)
        .cloned()
        .map(|r| axum::Json(r).into_response())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownReplay,
                format!("no replay {id} on this runner (replays are kept in memory: the latest 100 since it started)"),
            )
        })
}

fn tenant_arg(t: &str) -> Result<shared::ids::TenantId, ApiError> {
    shared::ids::TenantId::new(t.to_string()).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!("tenant: {e}"),
        )
    })
}

async fn tenant_info(
    State(st): State<Arc<AdminState>>,
    axum::extract::Path(t): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let t = tenant_arg(&t)?;
    Ok(axum::Json(ops(&st)?.tenant_info(&t).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstancesQuery {
    state: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

/// Most instances in one page of `GET .../instances`.
pub const MAX_INSTANCES_PAGE: usize = 1000;

/// 404 with what the volume lacks, or runs `f` on a read of the volume (off the async
/// workers).
async fn lookup<T: Send + 'static>(
    st: &AdminState,
    tenant: &shared::ids::TenantId,
    saga: &str,
    f: impl FnOnce(
        &shared::edge_storage::Reader<'_, shared::edge_storage::RO>,
    ) -> Result<T, StorageError>
    + Send
    + 'static,
) -> Result<T, ApiError> {
    let (vol, t, s, shard) = (
        st.vol.clone(),
        tenant.to_string(),
        saga.to_string(),
        st.shard.clone(),
    );
    let r = tokio::task::spawn_blocking(move || {
        vol.read(|r| match r.holds_nothing_for(&t, Some(&s))? {
            Some(why) => Ok(Err(why)),
            None => f(r).map(Ok),
        })
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            e.to_string(),
        )
    })??;
    r.map_err(|why| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("shard {shard} {why}; `runnerctl placements` says which shard serves a tenant"),
        )
    })
}

async fn instances(
    State(st): State<Arc<AdminState>>,
    axum::extract::Path((t, saga)): axum::extract::Path<(String, String)>,
    q: Result<Query<InstancesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let t = tenant_arg(&t)?;
    let Query(q) = q.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!(
                "{}; expected e.g. ?state=open&limit=50&after=<key>",
                e.body_text()
            ),
        )
    })?;
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_INSTANCES_PAGE {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!("limit {limit}: between 1 and {MAX_INSTANCES_PAGE}"),
        ));
    }
    let (tt, s) = (t.to_string(), saga.clone());
    let page = lookup(&st, &t, &saga, move |r| {
        r.instance_summaries(&tt, &s, q.after.as_deref(), q.state.as_deref(), limit)
    })
    .await?;
    Ok(axum::Json(page).into_response())
}

async fn instance(
    State(st): State<Arc<AdminState>>,
    axum::extract::Path((t, saga, key)): axum::extract::Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let t = tenant_arg(&t)?;
    let (tt, s, k) = (t.to_string(), saga.clone(), key.clone());
    match lookup(&st, &t, &saga, move |r| r.instance(&tt, &s, &k)).await? {
        Some(rec) => Ok(axum::Json(rec).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!(
                "no instance '{key}' of {t}/{saga} on shard {} (`runnerctl get instances --tenant {t} --saga {saga}` lists them)",
                st.shard
            ),
        )),
    }
}

async fn tenant_export(
    State(st): State<Arc<AdminState>>,
    axum::extract::Path(t): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let t = tenant_arg(&t)?;
    let body = ops(&st)?.export(&t).await?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

/// Streams the request body into a file beside the volume (memory stays flat, whatever the
/// export's size), then imports it.
async fn tenant_import(
    State(st): State<Arc<AdminState>>,
    axum::extract::Path(t): axum::extract::Path<String>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    use tokio::io::AsyncWriteExt;
    let t = tenant_arg(&t)?;
    let ops = ops(&st)?;
    let io = |e: std::io::Error| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Storage,
            format!("cannot store the uploaded export beside the volume: {e}"),
        )
    };
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".import-{t}-"))
        .tempfile_in(st.vol.dir())
        .map_err(io)?;
    let mut file = tokio::fs::File::from_std(tmp.reopen().map_err(io)?);
    let mut stream = body.into_data_stream();
    let mut size = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                format!("the upload broke off: {e}"),
            )
        })?;
        size += chunk.len();
        if size > MAX_IMPORT_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::TooLarge,
                format!("exports are limited to {MAX_IMPORT_BYTES} bytes"),
            ));
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    let path = tmp.path().to_path_buf();
    let r = ops.import(&t, path).await;
    drop(tmp);
    Ok(axum::Json(r?).into_response())
}

async fn tenant_delete(
    State(st): State<Arc<AdminState>>,
    axum::extract::Path(t): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let t = tenant_arg(&t)?;
    Ok(axum::Json(ops(&st)?.delete_tenant(&t).await?).into_response())
}

/// The admin server's limits (`RUNNER_ADMIN_HEADER_TIMEOUT`, `RUNNER_ADMIN_REQUEST_TIMEOUT`,
/// `RUNNER_ADMIN_MAX_CONNECTIONS`): whoever can reach the port, token or not, cannot hold
/// the runner's file descriptors or tasks for longer than these allow.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn from_args(a: &crate::config::Args) -> Limits {
        Limits {
            header_timeout: a.admin_header_timeout,
            request_timeout: a.admin_request_timeout,
            max_connections: a.admin_max_connections as usize,
        }
    }
}

pub fn router(state: Arc<AdminState>, limits: Limits) -> Router {
    use tower_http::trace::{DefaultMakeSpan, DefaultOnFailure, DefaultOnResponse, TraceLayer};
    let timeout = middleware::from_fn_with_state(limits.request_timeout, request_timeout);
    // The access log: one line per request at debug level (RUST_LOG=runner=debug,
    // tower_http=debug), with method, path, status and latency; never the headers (the token).
    let access_log = TraceLayer::new_for_http()
        .make_span_with(DefaultMakeSpan::new().level(tracing::Level::DEBUG))
        .on_request(())
        .on_response(DefaultOnResponse::new().level(tracing::Level::DEBUG))
        .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG));
    let admin = Router::new()
        .route(routes::STATUS, get(status))
        .route(routes::DRAIN, post(drain))
        .route(routes::RESUME, post(resume))
        .route(routes::REPLAY, post(replay))
        .route(routes::pattern::REPLAY_STATUS, get(replay_status))
        .route(
            routes::pattern::TENANT,
            get(tenant_info).delete(tenant_delete),
        )
        .route(routes::pattern::TENANT_EXPORT, get(tenant_export))
        .route(routes::pattern::INSTANCES, get(instances))
        .route(routes::pattern::INSTANCE, get(instance))
        // Every route above answers within the request timeout; an import's upload (up to
        // 4 GiB) and a snapshot (copy and upload of the whole volume) are exempt, added
        // after the layer.
        .layer(timeout.clone())
        .route(
            routes::pattern::TENANT_IMPORT,
            post(tenant_import).layer(DefaultBodyLimit::disable()),
        )
        .route(routes::SNAPSHOT, post(snapshot))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route(routes::HEALTHZ, get(healthz))
        .route(routes::READYZ, get(readyz))
        .route(routes::METRICS, get(metrics))
        .fallback(not_found)
        .layer(timeout)
        .merge(admin)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(access_log)
        .with_state(state)
}

/// Serves the admin API on `listener` until `stop`, with the header-read timeout and the
/// connection limit of `limits` (axum's own `serve` sets neither). A connection over the
/// limit is answered `503` and closed at once, so a flood of slow clients delays probes by
/// at most the header timeout instead of queueing them unseen. On `stop`, open connections
/// finish the request they are in and close.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    stop: tokio_util::sync::CancellationToken,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    use tokio::io::AsyncWriteExt;

    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let conns = tokio_util::task::TaskTracker::new();
    loop {
        let (mut stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: keep serving what is open and
                    // try again shortly rather than spin.
                    tracing::warn!(error = %e, "admin server cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, limit = limits.max_connections, "admin connection refused: at the connection limit");
            conns.spawn(async move {
                let answer = busy_answer(limits.max_connections);
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    stream.write_all(answer.as_bytes()),
                )
                .await;
            });
            continue;
        };
        let svc = TowerToHyperService::new(app.clone());
        let stop = stop.clone();
        conns.spawn(async move {
            let _slot = slot;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout);
            let conn = http.serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            let r = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "admin connection closed");
            }
        });
    }
    conns.close();
    conns.wait().await;
}

/// The whole answer to a connection over the limit, in the API's error shape.
fn busy_answer(limit: usize) -> String {
    let body = serde_json::json!({
        "error": ErrorCode::Unavailable.as_str(),
        "message": format!("the admin server has {limit} connections open, its limit (RUNNER_ADMIN_MAX_CONNECTIONS); try again shortly"),
    })
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\nretry-after: 1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Answers `408` with the API's error body when a handler takes longer than
/// `RUNNER_ADMIN_REQUEST_TIMEOUT`; the handler's work is dropped with it.
async fn request_timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let what = format!("{} {}", req.method(), req.uri().path());
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::Timeout,
            format!(
                "{what} took longer than {} (RUNNER_ADMIN_REQUEST_TIMEOUT); what it started may still be going on: check /admin/status",
                humantime::format_duration(limit)
            ),
        )
        .into_response(),
    }
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        format!(
            "no such endpoint: {} {} (see docs/admin-api.md)",
            req.method(),
            req.uri().path()
        ),
    )
}

async fn require_token(State(st): State<Arc<AdminState>>, req: Request, next: Next) -> Response {
    if let Some(token) = &st.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
            let mut r = ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "this runner requires 'Authorization: Bearer <RUNNER_ADMIN_TOKEN>' on /admin/* (runnerctl: --token or RUNNERCTL_TOKEN)",
            )
            .into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    next.run(req).await
}

async fn healthz(State(st): State<Arc<AdminState>>) -> Response {
    let alive = st.shared.engine_alive.load(Ordering::Relaxed)
        || st.shared.state() == shared::wire::RunnerState::Starting;
    let body = Readiness {
        ready: alive,
        reasons: if alive {
            vec![]
        } else {
            vec!["the engine thread is not running".into()]
        },
    };
    let code = if alive {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

async fn readyz(State(st): State<Arc<AdminState>>) -> Response {
    let reasons = st.shared.problems();
    let ready = reasons.is_empty();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(Readiness { ready, reasons })).into_response()
}

async fn metrics(State(st): State<Arc<AdminState>>) -> Response {
    let vol = st.vol.clone();
    if let Ok(Ok((outbox, timers, space, disk))) = tokio::task::spawn_blocking(move || {
        let (outbox, timers) = vol.read(|r| {
            Ok::<_, StorageError>((r.entries(TableId::Outbox)?, r.entries(TableId::Schedules)?))
        })?;
        let disk = crate::status::disk_available(vol.dir());
        Ok::<_, StorageError>((outbox, timers, vol.space()?, disk))
    })
    .await
    {
        let m = &st.metrics;
        m.outbox_depth.set(outbox as i64);
        m.timers_pending.set(timers as i64);
        let bytes = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        m.volume_file_bytes.set(bytes(space.file_bytes));
        m.volume_used_bytes.set(bytes(space.used_bytes));
        m.volume_max_bytes.set(bytes(space.max_bytes));
        if let Some(d) = disk {
            m.volume_disk_available_bytes.set(bytes(d));
        }
    }
    let vol = st.vol.clone();
    if let Ok(Ok(first)) =
        tokio::task::spawn_blocking(move || vol.read(|r| r.outbox_batch(None, 1))).await
    {
        let age_ms = first
            .first()
            .map(|(_, e)| shared::now_ms().saturating_sub(e.created_at_ms))
            .unwrap_or(0);
        st.metrics.outbox_oldest_age.set(age_ms as f64 / 1000.0);
    }
    if let Some((fence, ttl)) = st.lease.get() {
        st.metrics.lease_ttl.set(ttl.as_secs_f64());
        if let Some(age) = fence.since_renewal() {
            st.metrics.lease_age.set(age.as_secs_f64());
        }
    }
    st.metrics.set_state(st.shared.state());
    unplaced(&st).await;
    let tenants = lag(&st).await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        st.metrics.encode(tenants),
    )
        .into_response()
}

/// Refreshes the lag gauges, at most every [`LAG_EVERY`] and bounded to 3 s; on failure the
/// shard's lag keeps its last value and the per-tenant gauges are left out. While the
/// per-tenant series are exposed, lag comes from each tenant+saga's last event in the
/// stream (one lookup each) and the shard's is their sum; above the cap nothing per tenant
/// is shown, so the lookups are skipped (at 1,000 tenants they were 2,000 requests to
/// NATS per refresh) and the shard's lag is what its readers have left to read: each
/// group's last sequence less the reader's position. Returns how many tenants the runner
/// serves.
async fn lag(st: &AdminState) -> usize {
    let tenants = st.shared.engine.lock().expect("lock").tenants.len();
    {
        let mut last = st.metrics.lag_refreshed.lock().expect("lock");
        if last.is_some_and(|t| t.elapsed() < LAG_EVERY) {
            return tenants;
        }
        *last = Some(std::time::Instant::now());
    }
    let per_tenant = tenants <= st.metrics.max_tenants;
    let Ok(Ok(status)) =
        tokio::time::timeout(Duration::from_secs(3), crate::status::build(st, per_tenant)).await
    else {
        st.metrics.lag.clear();
        return tenants;
    };
    st.metrics.lag.clear();
    if !per_tenant {
        let behind = |last: Option<u64>, pos: Option<u64>| {
            last.zip(pos).map(|(l, p)| l.saturating_sub(p)).unwrap_or(0)
        };
        let sum: u64 = if status.groups.is_empty() {
            behind(status.stream_last_seq, Some(status.reader.position))
        } else {
            status
                .groups
                .iter()
                .map(|g| behind(g.stream_last_seq, g.position))
                .sum()
        };
        st.metrics.shard_lag.set(sum as i64);
        return status.tenants.len();
    }
    let mut sum = 0u64;
    for t in &status.tenants {
        for s in &t.sagas {
            let Some(lag) = s.lag else { continue };
            sum += lag;
            st.metrics
                .lag
                .get_or_create(&crate::metrics::SagaLabels {
                    tenant: t.tenant.clone(),
                    saga: s.saga.clone(),
                })
                .set(lag as i64);
        }
    }
    st.metrics.shard_lag.set(sum as i64);
    status.tenants.len()
}

/// How often a scrape measures the lag again; scrapes in between expose the last figures.
const LAG_EVERY: Duration = Duration::from_secs(5);

/// Refreshes the unplaced-tenant gauges (placement mode), bounded to 3 s; on failure they
/// keep their last values.
async fn unplaced(st: &AdminState) {
    let (Some(js), Some(bucket)) = (st.js.get(), st.placement_bucket.as_deref()) else {
        return;
    };
    let work = async {
        let kv = js.get_key_value(bucket).await.map_err(|e| e.to_string())?;
        shared::nats::unplaced_tenants(js, &st.layout, &kv).await
    };
    if let Ok(Ok(u)) = tokio::time::timeout(Duration::from_secs(3), work).await {
        st.metrics.unplaced_tenants.set(u.len() as i64);
        st.metrics
            .unplaced_events
            .set(u.values().sum::<u64>() as i64);
    }
}

#[derive(Deserialize)]
struct StatusQuery {
    /// `false` skips the per-subject stream lookups (lag unknown).
    lag: Option<bool>,
}

async fn status(
    State(st): State<Arc<AdminState>>,
    Query(q): Query<StatusQuery>,
) -> Result<axum::Json<StatusResponse>, ApiError> {
    crate::status::build(&st, q.lag.unwrap_or(true))
        .await
        .map(axum::Json)
}
