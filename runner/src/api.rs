//! What the admin API's handlers share: the runner's state they read, and the error answer
//! they give (`{error, message}` with an HTTP status).

use std::sync::{Arc, OnceLock};

use async_nats::jetstream;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::edge_storage::{StorageError, Volume};
use shared::wire::{ErrorBody, ErrorCode};

use crate::metrics::Metrics;
use crate::state::SharedState;

pub struct AdminState {
    pub shared: Arc<SharedState>,
    pub metrics: Arc<Metrics>,
    pub vol: Arc<Volume>,
    pub js: OnceLock<jetstream::Context>,
    /// The event streams the volume reads and their identities; set once checked at start.
    pub streams: OnceLock<Arc<crate::stream::Streams>>,
    pub shard: String,
    pub layout: shared::layout::Layout,
    pub nats_url: String,
    /// `RUNNER_REPLICAS` as set.
    pub replicas_setting: String,
    /// The cluster's size and each stream's and bucket's replica count, once all exist.
    pub storage: OnceLock<(usize, Vec<shared::wire::StoredItem>)>,
    pub sagas: Vec<String>,
    pub token: Option<String>,
    pub placement_bucket: Option<String>,
    /// The hand-over bucket (`RUNNER_HANDOFF_BUCKET`), where a cordon is kept.
    pub handoff_bucket: String,
    /// The shard's lease fence and lease time, once the lease is held (for `/metrics`).
    pub lease: OnceLock<(Arc<crate::fence::Fence>, std::time::Duration)>,
    /// Drain, resume and replay; set once the engine runs (503 before).
    pub ops: OnceLock<Arc<crate::ops::Ops>>,
    /// Snapshots; set once the engine runs (503 before).
    pub snapshots: OnceLock<Arc<crate::snapshot::Snapshotter>>,
}

/// An error answer: status code plus `{error, message}`.
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
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
            error: self.code,
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
            OpError::BadRequest(m) => {
                ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, m)
            }
            OpError::Unavailable(m) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable, m)
            }
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Storage,
            e.to_string(),
        )
    }
}
