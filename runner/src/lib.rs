//! The saga runner as a library: `runner::run` is the daemon; embedders add sagas in code
//! through [`saga::Saga`] and [`saga::SagaRegistry`].

pub mod admin;
pub mod api;
pub mod app;
pub mod config;
pub mod engine;
pub mod envelope;
pub mod fence;
pub mod inflight;
pub mod lease;
pub mod metrics;
pub mod nats;
pub mod ops;
pub mod outbox;
pub mod placement;
pub mod positions;
pub mod reader;
pub mod reading;
pub mod restore;
pub mod saga;
pub mod snapshot;
pub mod state;
pub mod status;
pub mod stream;
pub mod supervisor;

pub use app::{RunError, run};
pub use config::{Args, Config};
