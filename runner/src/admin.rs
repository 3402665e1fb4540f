//! The admin HTTP API: `/healthz`, `/readyz`, `/metrics`, and `/admin/*` (token-protected
//! when `RUNNER_ADMIN_TOKEN` is set). Handlers are thin: they read shared state and the
//! volume, and answer errors as `{error, message}` JSON.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde::Deserialize;
use shared::edge_storage::{StorageError, TableCode, TableId, Volume};
use shared::wire::{
    Counters, DrainRequest, ErrorBody, NatsStatus, ReaderStatus, Readiness, ReplayAccepted,
    ReplayRequest, SagaStatus, StatusResponse, TenantStatus, VolumeStatus, WaitingTenant,
};
use subtle::ConstantTimeEq;

use crate::metrics::Metrics;
use crate::state::{ReaderId, SharedState};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest tenant export accepted by the import endpoint.
pub const MAX_IMPORT_BYTES: usize = 4 << 30;

pub struct AdminState {
    pub shared: Arc<SharedState>,
    pub metrics: Arc<Metrics>,
    pub vol: Arc<Volume>,
    pub js: OnceLock<jetstream::Context>,
    /// The identity of the event stream the volume reads; set once checked at start.
    pub stream_id: OnceLock<String>,
    pub shard: String,
    pub stream: String,
    pub nats_url: String,
    pub sagas: Vec<String>,
    pub token: Option<String>,
    pub placement_bucket: Option<String>,
    /// Drain, resume and replay; set once the engine runs (503 before).
    pub ops: OnceLock<Arc<crate::ops::Ops>>,
}

/// An error answer: status code plus `{error, message}`.
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_string(),
            message: self.message,
        };
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<crate::ops::OpError> for ApiError {
    fn from(e: crate::ops::OpError) -> Self {
        use crate::ops::OpError;
        match e {
            OpError::NotFound(code, m) => ApiError::new(StatusCode::NOT_FOUND, code, m),
            OpError::Conflict(code, m) => ApiError::new(StatusCode::CONFLICT, code, m),
            OpError::BadRequest(m) => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m),
            OpError::Unavailable(m) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", m)
            }
        }
    }
}

/// A request body that could not be taken: too large, not JSON, wrong fields or values.
fn body_error(e: JsonRejection, example: &str) -> ApiError {
    match e {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the body as JSON with 'Content-Type: application/json', e.g. {example}"),
        ),
        JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
            )
        }
        other => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{}; expected e.g. {example}", other.body_text()),
        ),
    }
}

fn ops(st: &AdminState) -> Result<Arc<crate::ops::Ops>, ApiError> {
    st.ops.get().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "starting",
            "the runner is still starting; try again shortly",
        )
    })
}

const DRAIN_EXAMPLE: &str = r#"{"timeout_ms": 30000} or no body"#;
const REPLAY_EXAMPLE: &str =
    r#"{"tenant_id": "acme", "saga_name": "order", "mode": "checkpoint_only", "dry_run": true}"#;

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
                "bad_request",
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
                "bad_request",
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
    Ok(axum::Json(serde_json::json!({"state": state})).into_response())
}

static REPLAY_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

async fn replay(
    State(st): State<Arc<AdminState>>,
    body: Result<axum::Json<ReplayRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let axum::Json(req) = body.map_err(|e| body_error(e, REPLAY_EXAMPLE))?;
    for (what, v) in [("tenant_id", &req.tenant_id), ("saga_name", &req.saga_name)] {
        if let Err(e) = shared::ids::TenantId::new(v.clone()) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("{what}: {e}"),
            ));
        }
    }
    let ops = ops(&st)?;
    let js = st.js.get().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "starting",
            "not connected to NATS yet",
        )
    })?;
    let (tenant, plan) = ops.plan(&js, &st.stream, &st.sagas, &req).await?;
    if req.dry_run {
        return Ok(axum::Json(plan).into_response());
    }
    let id = format!(
        "r-{}-{}",
        shared::now_ms(),
        REPLAY_SERIAL.fetch_add(1, Ordering::Relaxed)
    );
    let order = crate::engine::ReplayOrder {
        id: id.clone(),
        tenant,
        saga: req.saga_name.clone(),
        mode: req.mode,
        first_seq: plan.stream.first_seq,
        target_seq: plan.stream.last_seq,
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    ops.engine
        .send(crate::engine::EngineMsg::Ctl(crate::engine::Ctl::Replay {
            order,
            reply: tx,
        }))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the engine is not running",
            )
        })?;
    let started = rx.await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the engine stopped",
        )
    })?;
    use crate::engine::ReplayRefusal;
    match started {
        Ok(_) => Ok((
            StatusCode::ACCEPTED,
            axum::Json(ReplayAccepted {
                status_url: format!("/admin/replay/{id}"),
                replay_id: id,
                plan,
            }),
        )
            .into_response()),
        Err(ReplayRefusal::NotServed) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_tenant",
            format!(
                "tenant {} was released by this shard while the replay was planned",
                req.tenant_id
            ),
        )),
        Err(ReplayRefusal::Running(other)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "replay_running",
            format!(
                "replay {other} of {}/{} is running (GET /admin/replay/{other})",
                req.tenant_id, req.saga_name
            ),
        )),
        Err(ReplayRefusal::Stopping) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "draining",
            "the runner started draining; nothing was changed",
        )),
    }
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
                "unknown_replay",
                format!("no replay {id} on this runner (replays are kept in memory: the latest 100 since it started)"),
            )
        })
}

fn tenant_arg(t: &str) -> Result<shared::ids::TenantId, ApiError> {
    shared::ids::TenantId::new(t.to_string()).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
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
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let t = tenant_arg(&t)?;
    let ops = ops(&st)?;
    let io = |e: std::io::Error| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage",
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
                "bad_request",
                format!("the upload broke off: {e}"),
            )
        })?;
        size += chunk.len();
        if size > MAX_IMPORT_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
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

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage", e.to_string())
    }
}

pub fn router(state: Arc<AdminState>) -> Router {
    let admin = Router::new()
        .route("/admin/status", get(status))
        .route("/admin/drain", post(drain))
        .route("/admin/resume", post(resume))
        .route("/admin/replay", post(replay))
        .route("/admin/replay/{id}", get(replay_status))
        .route(
            "/admin/tenants/{tenant}",
            get(tenant_info).delete(tenant_delete),
        )
        .route("/admin/tenants/{tenant}/export", get(tenant_export))
        .route(
            "/admin/tenants/{tenant}/import",
            post(tenant_import).layer(DefaultBodyLimit::disable()),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(admin)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
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
                "unauthorized",
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
    if let Ok(Ok((outbox, timers))) = tokio::task::spawn_blocking(move || {
        vol.read(|r| {
            Ok::<_, StorageError>((r.entries(TableId::Outbox)?, r.entries(TableId::Schedules)?))
        })
    })
    .await
    {
        st.metrics.outbox_depth.set(outbox as i64);
        st.metrics.timers_pending.set(timers as i64);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        st.metrics.encode(),
    )
        .into_response()
}

#[derive(Deserialize)]
struct StatusQuery {
    /// Look up each tenant+saga's last stream sequence (default true).
    lag: Option<bool>,
}

struct VolSnapshot {
    /// tenant -> saga -> (checkpoint, outbox, timers)
    tenants: BTreeMap<String, BTreeMap<String, (u64, u64, u64)>>,
    outbox: u64,
    timers: u64,
    file_bytes: u64,
    used_bytes: u64,
}

async fn status(
    State(st): State<Arc<AdminState>>,
    Query(q): Query<StatusQuery>,
) -> Result<axum::Json<StatusResponse>, ApiError> {
    let view = st.shared.engine.lock().expect("lock").clone();
    let tenants: Vec<(String, Vec<String>)> = view
        .tenants
        .keys()
        .map(|t| {
            let mut sagas = st.sagas.clone();
            sagas.extend(st.shared.undeclared_of(t));
            (t.clone(), sagas)
        })
        .collect();
    let vol = st.vol.clone();
    let snap = tokio::task::spawn_blocking(move || {
        vol.read(|r| {
            let mut out = BTreeMap::new();
            for (t, sagas) in &tenants {
                let mut per = BTreeMap::new();
                for s in sagas {
                    let cp = r.checkpoint(t, s)?.map(|c| c.seq).unwrap_or(0);
                    per.insert(
                        s.clone(),
                        (
                            cp,
                            r.count(t, s, TableCode::Outbox)?,
                            r.count(t, s, TableCode::Schedules)?,
                        ),
                    );
                }
                out.insert(t.clone(), per);
            }
            let space = vol.space()?;
            Ok::<_, StorageError>(VolSnapshot {
                tenants: out,
                outbox: r.entries(TableId::Outbox)?,
                timers: r.entries(TableId::Schedules)?,
                file_bytes: space.file_bytes,
                used_bytes: space.used_bytes,
            })
        })
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;

    let (mut stream_last, mut last_by_subject, identity) = match st.js.get() {
        Some(js) => stream_positions(js, &st.stream, &snap, q.lag.unwrap_or(true)).await,
        None => (None, BTreeMap::new(), None),
    };
    let mut problems = st.shared.problems();
    // Lag against another stream, or against one that went backwards, means nothing: it is
    // unknown, and said so, never 0.
    if let (Some(have), Some(want)) = (&identity, st.stream_id.get())
        && have != want
    {
        problems.push(format!(
            "stream {} is not the stream this volume reads (it has {have}, the volume {want}): it was recreated; lag is unknown (docs/runbooks.md#the-event-stream-was-recreated)",
            st.stream
        ));
        stream_last = None;
        last_by_subject.clear();
    }
    let behind: Vec<String> = snap
        .tenants
        .iter()
        .flat_map(|(t, per)| per.iter().map(move |(s, v)| (t, s, v.0)))
        // A checkpoint is a position in the whole stream (a hand-over sets it beyond the
        // subject's own last event): only the stream's end can be behind it.
        .filter(|(_, _, cp)| stream_last.is_some_and(|l| l < *cp))
        .map(|(t, s, _)| format!("{t}/{s}"))
        .collect();
    if !behind.is_empty() {
        problems.push(format!(
            "the stream holds less than this volume applied for {} (it went backwards?): their lag is unknown",
            behind.join(", ")
        ));
        for b in &behind {
            if let Some((t, s)) = b.split_once('/') {
                last_by_subject.remove(&(t.to_string(), s.to_string()));
            }
        }
    }
    let mut totals = Counters::default();
    let mut out_tenants = Vec::new();
    for (t, per) in &snap.tenants {
        let tv = view.tenants.get(t);
        let mut sagas = Vec::new();
        let (mut ob, mut tm) = (0, 0);
        for (s, (cp, o, timers)) in per {
            ob += o;
            tm += timers;
            let counters = st.metrics.counters(t, s);
            totals.add(&counters);
            // Present: NATS answered (None: no event on the subject). Absent: unknown.
            let declared = st.sagas.contains(s);
            let known = last_by_subject
                .get(&(t.clone(), s.clone()))
                .copied()
                .filter(|_| declared);
            sagas.push(SagaStatus {
                saga: s.clone(),
                declared,
                checkpoint: *cp,
                stream_last_seq: known.flatten(),
                lag: known.map(|l| l.unwrap_or(0).saturating_sub(*cp)),
                counters,
            });
        }
        out_tenants.push(TenantStatus {
            tenant: t.clone(),
            mode: tv.map(|v| v.mode).unwrap_or("unknown").to_string(),
            consumer: tv.and_then(|v| st.shared.consumer(v.reader)),
            sagas,
            outbox_depth: ob,
            timers_pending: tm,
        });
    }
    Ok(axum::Json(StatusResponse {
        shard_id: st.shard.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        state: st.shared.state(),
        started_at_ms: st.shared.started_at_ms,
        nats: NatsStatus {
            url: st.nats_url.clone(),
            connected: st.shared.nats_connected.load(Ordering::Relaxed),
        },
        stream: st.stream.clone(),
        stream_last_seq: stream_last,
        reader: ReaderStatus {
            consumer: st.shared.consumer(ReaderId::Main),
            position: view.main_pos,
        },
        tenants: out_tenants,
        assignment: if st.placement_bucket.is_some() {
            "placement"
        } else {
            "allowlist"
        }
        .to_string(),
        placement_bucket: st.placement_bucket.clone(),
        waiting: st
            .shared
            .waiting
            .lock()
            .expect("lock")
            .iter()
            .map(|(t, r)| WaitingTenant {
                tenant: t.clone(),
                reason: r.clone(),
            })
            .collect(),
        totals,
        invalid_subjects: st.metrics.invalid_subjects.get(),
        outbox_depth: snap.outbox,
        timers_pending: snap.timers,
        volume: VolumeStatus {
            path: st.vol.dir().display().to_string(),
            file_bytes: snap.file_bytes,
            used_bytes: snap.used_bytes,
        },
        problems,
        drain: st.shared.drain.lock().expect("lock").clone(),
        replays: st.shared.replays.lock().expect("lock").clone(),
    }))
}

type LastBySubject = BTreeMap<(String, String), Option<u64>>;

/// The stream's last sequence and identity and, when asked, the last sequence of each
/// tenant+saga subject; what NATS does not answer within 3 s stays unknown.
async fn stream_positions(
    js: &jetstream::Context,
    stream: &str,
    snap: &VolSnapshot,
    per_subject: bool,
) -> (Option<u64>, LastBySubject, Option<String>) {
    let work = async {
        let Ok(s) = js.get_stream_no_info(stream).await else {
            return (None, BTreeMap::new(), None);
        };
        let info = s.get_info().await.ok();
        let last = info.as_ref().map(|i| i.state.last_sequence);
        let identity = info.as_ref().map(crate::stream::identity_of);
        if !per_subject {
            return (last, BTreeMap::new(), identity);
        }
        let keys: Vec<(String, String)> = snap
            .tenants
            .iter()
            .flat_map(|(t, per)| per.keys().map(move |s| (t.clone(), s.clone())))
            .collect();
        let s = &s;
        let found: LastBySubject = futures_util::stream::iter(keys)
            .map(|(t, sg)| async move {
                let subject = format!("evt.{t}.{sg}");
                let seq = match s.get_last_raw_message_by_subject(&subject).await {
                    Ok(m) => Some(Some(m.sequence)),
                    Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => {
                        Some(None)
                    }
                    Err(_) => None,
                };
                ((t, sg), seq)
            })
            .buffer_unordered(32)
            .filter_map(|(k, v)| async move { v.map(|v| (k, v)) })
            .collect()
            .await;
        (last, found, identity)
    };
    tokio::time::timeout(Duration::from_secs(3), work)
        .await
        .unwrap_or((None, BTreeMap::new(), None))
}
