//! Startup and shutdown: the order in which the runner's parts start, and the drain on
//! SIGTERM/SIGINT (stop reading, finish the batch in flight, flush the outbox, exit).

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use shared::edge_storage::{StorageError, Volume, WriteOptions, meta};
use shared::wire::RunnerState;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::admin::{self, AdminState};
use crate::config::Config;
use crate::engine::{Engine, EngineConfig, EngineMsg};
use crate::metrics::Metrics;
use crate::outbox::{Deleter, Relay};
use crate::reader::{self, ReaderCtx};
use crate::state::SharedState;

/// Why the runner stopped with an error; each maps to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Exit code 2.
    #[error("{0}")]
    Config(String),
    /// Exit code 3.
    #[error("{0}")]
    Volume(#[from] StorageError),
    /// Exit code 1.
    #[error("{0}")]
    Runtime(String),
}

impl RunError {
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Config(_) => 2,
            RunError::Volume(_) => 3,
            RunError::Runtime(_) => 1,
        }
    }
}

/// Resolves when SIGTERM or SIGINT arrives.
async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => info!("SIGTERM: stopping"),
        _ = int.recv() => info!("SIGINT: stopping"),
    }
}

/// Runs the runner until SIGTERM/SIGINT.
pub async fn run(cfg: Config) -> Result<(), RunError> {
    let args = &cfg.args;
    let shutdown = CancellationToken::new();
    tokio::spawn({
        let s = shutdown.clone();
        async move {
            terminated().await;
            s.cancel();
        }
    });

    let listener = tokio::net::TcpListener::bind(args.admin_addr)
        .await
        .map_err(|e| {
            RunError::Config(format!(
                "cannot listen on RUNNER_ADMIN_ADDR={}: {e}",
                args.admin_addr
            ))
        })?;
    let admin_url = format!(
        "http://{}",
        listener
            .local_addr()
            .map_err(|e| RunError::Runtime(e.to_string()))?
    );

    let mut wopts = WriteOptions::new(cfg.shard_id.as_str());
    wopts.admin_url = Some(admin_url.clone());
    wopts.max_size_bytes = args.volume_max_mb.saturating_mul(1 << 20);
    let dir = args.data_dir.clone();
    let vol = tokio::task::spawn_blocking(move || Volume::open_for_write(&dir, &wopts))
        .await
        .map_err(|e| RunError::Runtime(e.to_string()))??;
    let vol = Arc::new(vol);
    let stream = args.stream.clone();
    vol.write(|w| {
        match w.meta_str(meta::STREAM)? {
            Some(s) if s != stream => Err(StorageError::Corrupt(format!(
                "the volume's positions refer to stream '{s}', but RUNNER_STREAM is '{stream}'; use the stream this volume was built from, or a new data dir"
            ))),
            Some(_) => Ok(()),
            None => w.set_meta_str(meta::STREAM, &stream),
        }
    })?;
    info!(shard = %cfg.shard_id, volume = %args.data_dir.display(), admin = %admin_url, "volume open");

    let shared = Arc::new(SharedState::new());
    let metrics = Arc::new(Metrics::new());
    let admin_state = Arc::new(AdminState {
        shared: shared.clone(),
        metrics: metrics.clone(),
        vol: vol.clone(),
        js: OnceLock::new(),
        shard: cfg.shard_id.to_string(),
        stream: args.stream.clone(),
        nats_url: args.nats_url.clone(),
        sagas: cfg.sagas.names().map(|n| n.to_string()).collect(),
        token: args.admin_token.clone(),
    });
    let admin_stop = CancellationToken::new();
    let admin_task = tokio::spawn({
        let app = admin::router(admin_state.clone());
        let stop = admin_stop.clone();
        async move {
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
            {
                error!(error = %e, "admin server failed");
            }
        }
    });

    let (reconnect_tx, reconnect_rx) = watch::channel(0u64);
    let client = crate::nats::connect(
        args,
        cfg.shard_id.as_str(),
        shared.clone(),
        metrics.clone(),
        reconnect_tx,
        &shutdown,
    )
    .await
    .map_err(RunError::Config)?;
    let Some(client) = client else {
        admin_stop.cancel();
        let _ = admin_task.await;
        return Ok(());
    };
    let js = async_nats::jetstream::new(client.clone());
    if !crate::nats::ensure_streams(&js, args, &shared, &shutdown).await {
        admin_stop.cancel();
        let _ = admin_task.await;
        return Ok(());
    }
    let _ = admin_state.js.set(js.clone());

    // Room for many small reader chunks: while a commit runs they pile up here and the next
    // transaction takes them all (see Engine::run).
    let (engine_tx, engine_rx) = mpsc::channel::<EngineMsg>(64);
    let (reader_tx, reader_rx) = mpsc::unbounded_channel();
    let outbox_notify = Arc::new(Notify::new());
    let engine_stop = Arc::new(AtomicBool::new(false));
    let engine = {
        let (vol, sagas, shard, tenants) = (
            vol.clone(),
            cfg.sagas.clone(),
            cfg.shard_id.to_string(),
            cfg.tenants.clone(),
        );
        let (metrics, shared, notify, stop) = (
            metrics.clone(),
            shared.clone(),
            outbox_notify.clone(),
            engine_stop.clone(),
        );
        let ecfg = EngineConfig {
            stream: args.stream.clone(),
            shard,
            max_event_bytes: args.max_event_bytes,
            queue_max_events: crate::engine::QUEUE_MAX_EVENTS,
            max_batch: args.batch_size as usize,
        };
        tokio::task::spawn_blocking(move || {
            Engine::new(
                vol, sagas, ecfg, &tenants, metrics, shared, reader_tx, notify, stop,
            )
        })
        .await
        .map_err(|e| RunError::Runtime(e.to_string()))??
    };
    let engine_thread = std::thread::Builder::new()
        .name("engine".into())
        .spawn(move || engine.run(engine_rx))
        .map_err(|e| RunError::Runtime(format!("cannot start the engine thread: {e}")))?;

    let readers_stop = CancellationToken::new();
    let readers = tokio::spawn(reader::run_manager(
        Arc::new(ReaderCtx {
            js: js.clone(),
            stream: args.stream.clone(),
            shard: cfg.shard_id.to_string(),
            batch_size: (args.batch_size as usize).min(1000),
            engine: engine_tx.clone(),
            shared: shared.clone(),
            metrics: metrics.clone(),
            reconnects: reconnect_rx,
        }),
        reader_rx,
        readers_stop.clone(),
    ));
    let ticker = tokio::spawn({
        let tx = engine_tx.clone();
        let stop = readers_stop.clone();
        async move {
            let mut every = tokio::time::interval(Duration::from_millis(200));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = every.tick() => { let _ = tx.try_send(EngineMsg::Tick); }
                }
            }
        }
    });
    let relay_stop = CancellationToken::new();
    let relay = tokio::spawn(
        Relay::new(
            vol.clone(),
            js.clone(),
            outbox_notify.clone(),
            metrics.clone(),
            shared.clone(),
            Deleter::Engine(engine_tx.clone()),
        )
        .run(relay_stop.clone()),
    );

    shared.set_state(RunnerState::Running);
    info!(
        shard = %cfg.shard_id,
        tenants = cfg.tenants.len(),
        sagas = cfg.sagas.len(),
        admin = %admin_url,
        "runner is running"
    );

    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = wait_thread_exit(&shared) => {
            error!("the engine thread stopped unexpectedly; exiting so a supervisor restarts the runner");
        }
    }

    // Stop: no new reads, finish the batch in flight, flush the outbox.
    let stopping = std::time::Instant::now();
    shared.set_state(RunnerState::Stopping);
    readers_stop.cancel();
    let _ = readers.await;
    let _ = ticker.await;
    info!(
        elapsed_ms = stopping.elapsed().as_millis() as u64,
        "readers stopped"
    );
    engine_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = tokio::time::timeout(Duration::from_secs(5), engine_tx.send(EngineMsg::Stop)).await;
    drop(engine_tx);
    let crashed = tokio::task::spawn_blocking(move || engine_thread.join().is_err())
        .await
        .unwrap_or(true);
    info!(
        elapsed_ms = stopping.elapsed().as_millis() as u64,
        "engine stopped"
    );
    relay_stop.cancel();
    let mut relay = relay.await.map_err(|e| RunError::Runtime(e.to_string()))?;
    let left = relay.flush(args.shutdown_timeout).await;
    info!(
        elapsed_ms = stopping.elapsed().as_millis() as u64,
        left, "outbox flushed"
    );
    if left > 0 {
        warn!(
            left,
            "outbox not empty at exit; it is published at the next start"
        );
    }
    // Neither may hold the exit hostage when NATS is gone or a client keeps a connection.
    let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
    admin_stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(2), admin_task).await;
    if crashed {
        return Err(RunError::Runtime("the engine thread panicked".into()));
    }
    info!("stopped cleanly");
    Ok(())
}

async fn wait_thread_exit(shared: &SharedState) {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if !shared
            .engine_alive
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
    }
}
