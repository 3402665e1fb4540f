//! Startup and shutdown: the order in which the runner's parts start, and the drain on
//! SIGTERM/SIGINT (stop reading, finish the batch in flight, flush the outbox, exit).

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use shared::edge_storage::{StorageError, Volume, WriteOptions, meta};
use shared::placement::{NoticeKind, PositionsRecord, ShardRecord};
use shared::wire::RunnerState;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::admin::{self, AdminState};
use crate::config::Config;
use crate::engine::{Engine, EngineConfig, EngineMsg};
use crate::fence::Fence;
use crate::lease::{Lease, RecordFn, notice};
use crate::metrics::Metrics;
use crate::outbox::{Deleter, Relay};
use crate::placement::Placement;
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
    /// Exit code 3: the event stream is not the one the volume was built from.
    #[error("{0}")]
    Stream(String),
    /// Exit code 1.
    #[error("{0}")]
    Runtime(String),
}

impl RunError {
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Config(_) => 2,
            RunError::Volume(_) | RunError::Stream(_) => 3,
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
    if let Some(m) = vol.migrated() {
        warn!(
            from_version = m.from_version,
            dedupe = m.dedupe,
            timer_markers_dropped = m.timer_markers_dropped,
            outbox = m.outbox,
            timers = m.schedules,
            "migrated the volume to format {}",
            shared::edge_storage::FORMAT_VERSION
        );
    }
    let vol = Arc::new(vol);
    // Uploads of imports that a crash interrupted (the import itself recorded how far it
    // got in the volume: see Ops::import).
    if let Ok(entries) = std::fs::read_dir(vol.dir()) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(".import-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
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
        stream_id: OnceLock::new(),
        shard: cfg.shard_id.to_string(),
        stream: args.stream.clone(),
        nats_url: args.nats_url.clone(),
        sagas: cfg.sagas.names().map(|n| n.to_string()).collect(),
        token: args.admin_token.clone(),
        placement_bucket: args.tenant_placement_bucket.clone(),
        ops: OnceLock::new(),
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
    let stream_id = {
        let mut backoff = Duration::from_millis(250);
        loop {
            match crate::stream::check_at_start(
                &js,
                &vol,
                &args.stream,
                args.adopt_stream.as_deref(),
            )
            .await
            {
                Ok(id) => break id,
                Err(crate::stream::StreamCheck::Unavailable(e)) => {
                    warn!(error = %e, "cannot check the event stream; retrying");
                    shared.set_nats_problem(Some(e));
                    tokio::select! {
                        _ = shutdown.cancelled() => {
                            admin_stop.cancel();
                            let _ = admin_task.await;
                            return Ok(());
                        }
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(crate::stream::StreamCheck::Refused(e)) => {
                    admin_stop.cancel();
                    let _ = admin_task.await;
                    return Err(RunError::Stream(e.0));
                }
                Err(crate::stream::StreamCheck::Storage(e)) => return Err(e.into()),
            }
        }
    };
    shared.set_nats_problem(None);
    let _ = admin_state.stream_id.set(stream_id.clone());

    // The shard's lease (and registry record) before anything is consumed.
    let registry = shared::nats::open_or_create_bucket(
        &js,
        shared::nats::registry_bucket(&args.registry_bucket, args.lease_ttl),
    )
    .await
    .map_err(|e| RunError::Runtime(e.to_string()))?;
    let ttl = match registry.status().await.map(|s| s.max_age()) {
        Ok(d) if !d.is_zero() => d,
        Ok(_) => {
            return Err(RunError::Config(format!(
                "registry bucket {} has no max_age, so a dead runner's lease would never expire; recreate it (runner creates it with RUNNER_LEASE_TTL)",
                args.registry_bucket
            )));
        }
        Err(e) => {
            return Err(RunError::Runtime(format!(
                "cannot read the registry bucket: {e}"
            )));
        }
    };
    if ttl != args.lease_ttl {
        info!(
            lease_s = ttl.as_secs_f64(),
            "the registry bucket's max_age sets the lease time"
        );
    }
    let fence = Arc::new(Fence::closed());
    let volume_id = vol
        .read(|r| r.meta_str(shared::edge_storage::meta::VOLUME_ID))
        .map_err(RunError::Volume)?
        .unwrap_or_default();
    let record: RecordFn = {
        let (shared, metrics, shard, admin_url, sagas) = (
            shared.clone(),
            metrics.clone(),
            cfg.shard_id.to_string(),
            admin_url.clone(),
            cfg.sagas.names().map(|n| n.to_string()).collect::<Vec<_>>(),
        );
        let host = gethostname();
        let volume_id = volume_id.clone();
        Arc::new(move || {
            let view = shared.engine.lock().expect("lock").clone();
            let mut counters = shared::wire::Counters::default();
            for t in view.tenants.keys() {
                for s in &sagas {
                    counters.add(&metrics.counters(t, s));
                }
            }
            ShardRecord {
                shard_id: shard.clone(),
                admin_url: admin_url.clone(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                state: shared.state().as_str().to_string(),
                host: host.clone(),
                pid: std::process::id(),
                started_at_ms: shared.started_at_ms,
                heartbeat_at_ms: shared::now_ms(),
                lease_ms: ttl.as_millis() as u64,
                tenants: view.tenants.keys().cloned().collect(),
                counters,
                volume_id: volume_id.clone(),
            }
        })
    };
    let Some(mut lease) = Lease::acquire(
        registry.clone(),
        ttl,
        &record,
        fence.clone(),
        &shared,
        &shutdown,
    )
    .await
    else {
        admin_stop.cancel();
        let _ = admin_task.await;
        return Ok(());
    };
    notice(
        &client,
        cfg.shard_id.as_str(),
        NoticeKind::LeaseAcquired,
        None,
        format!("pid {}", std::process::id()),
    );

    let placement_mode = args.tenant_placement_bucket.is_some();
    // Outbox entries from before this start, of tenants a successor may have taken over
    // while this runner was down: held back until the placement manager settles them.
    let held = if placement_mode {
        let (tenants, boundary) = vol.read(|r| {
            let mut tenants = std::collections::BTreeSet::new();
            r.scan(shared::edge_storage::TableId::Outbox, &[], None, |_, v| {
                let e: shared::edge_storage::OutboxEntry = shared::edge_storage::decode_value(v)?;
                if !e.tenant.is_empty() {
                    tenants.insert(e.tenant);
                }
                Ok(true)
            })?;
            let next = r.meta_u64(meta::OUTBOX_NEXT)?.unwrap_or(1);
            Ok::<_, StorageError>((tenants, shared::edge_storage::keys::outbox_key(next)))
        })?;
        if !tenants.is_empty() {
            info!(
                tenants = tenants.len(),
                "holding outbox entries from before this start until the hand-over records say which to publish"
            );
        }
        crate::outbox::Held::new(tenants, boundary)
    } else {
        crate::outbox::Held::default()
    };
    // Room for many small reader chunks: while a commit runs they pile up here and the next
    // transaction takes them all (see Engine::run).
    let (engine_tx, engine_rx) = mpsc::channel::<EngineMsg>(64);
    let (reader_tx, reader_rx) = mpsc::unbounded_channel();
    let outbox_notify = Arc::new(Notify::new());
    let engine_stop = Arc::new(AtomicBool::new(false));
    let engine = {
        let (vol, sagas, shard) = (vol.clone(), cfg.sagas.clone(), cfg.shard_id.to_string());
        let tenants = if placement_mode {
            Vec::new()
        } else {
            cfg.tenants.clone()
        };
        let (metrics, shared, notify, stop, fence) = (
            metrics.clone(),
            shared.clone(),
            outbox_notify.clone(),
            engine_stop.clone(),
            fence.clone(),
        );
        let ecfg = EngineConfig {
            stream: args.stream.clone(),
            stream_id: stream_id.clone(),
            timer_grace: args.timer_grace,
            shard,
            max_event_bytes: args.max_event_bytes,
            queue_max_events: crate::engine::QUEUE_MAX_EVENTS,
            max_batch: args.batch_size as usize,
            defer_main_reader: placement_mode,
        };
        tokio::task::spawn_blocking(move || {
            Engine::new(
                vol, sagas, ecfg, &tenants, metrics, shared, reader_tx, notify, stop, fence,
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
    let stream_changed = CancellationToken::new();
    let readers = tokio::spawn(reader::run_manager(
        Arc::new(ReaderCtx {
            js: js.clone(),
            stream: args.stream.clone(),
            stream_id: stream_id.clone(),
            stream_changed: stream_changed.clone(),
            shard: cfg.shard_id.to_string(),
            batch_size: (args.batch_size as usize).min(1000),
            engine: reader::Handoff::new(engine_tx.clone(), shared.clone()),
            shared: shared.clone(),
            metrics: metrics.clone(),
            reconnects: reconnect_rx.clone(),
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
            held.clone(),
            crate::outbox::Streams {
                commands: args.commands_stream.clone(),
                dead_letters: args.dlq_stream.clone(),
            },
        )
        .run(relay_stop.clone()),
    );

    let handoff = shared::nats::open_or_create_bucket(
        &js,
        shared::nats::handoff_bucket(&args.handoff_bucket),
    )
    .await
    .map_err(|e| RunError::Runtime(e.to_string()))?;
    let _ = admin_state.ops.set(Arc::new(crate::ops::Ops::new(
        engine_tx.clone(),
        vol.clone(),
        shared.clone(),
        cfg.shard_id.to_string(),
        handoff.clone(),
        registry.clone(),
    )));
    let placement_stop = CancellationToken::new();
    let placement = match &args.tenant_placement_bucket {
        Some(bucket) => {
            let kv =
                shared::nats::open_or_create_bucket(&js, shared::nats::placement_bucket(bucket))
                    .await
                    .map_err(|e| RunError::Runtime(e.to_string()))?;
            let allow = (!cfg.tenants.is_empty())
                .then(|| cfg.tenants.iter().map(|t| t.to_string()).collect());
            let p = Placement::new(
                crate::placement::PlacementConfig {
                    shard: cfg.shard_id.to_string(),
                    volume_id: volume_id.clone(),
                    stream_id: stream_id.clone(),
                    allow,
                },
                js.clone(),
                kv,
                handoff.clone(),
                registry.clone(),
                engine_tx.clone(),
                client.clone(),
                shared.clone(),
                vol.clone(),
                reconnect_rx.clone(),
                held.clone(),
            );
            Some(tokio::spawn(p.run(placement_stop.clone())))
        }
        None => None,
    };

    let lease_stop = CancellationToken::new();
    let lease_lost = CancellationToken::new();
    let keeper = tokio::spawn({
        let (record, stop, lost) = (record.clone(), lease_stop.clone(), lease_lost.clone());
        let shared = shared.clone();
        async move {
            lease.keep(record, &shared.heartbeat_now, stop, lost).await;
            lease
        }
    });
    // How far each tenant is applied, reported four times a second when it moved: what a
    // new owner starts after if this runner crashes (events applied here after the last
    // report are applied there again).
    let reporter = tokio::spawn({
        let (shared, handoff, shard, stop) = (
            shared.clone(),
            handoff.clone(),
            cfg.shard_id.to_string(),
            lease_stop.clone(),
        );
        let (volume_id, stream_id) = (volume_id.clone(), stream_id.clone());
        if !placement_mode {
            shared
                .placement_ready
                .store(true, std::sync::atomic::Ordering::Release);
        }
        async move {
            let key = shared::placement::positions_key(&shard);
            let mut last: Option<std::collections::BTreeMap<String, u64>> = None;
            let mut every = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = every.tick() => {}
                }
                // Not before the placement manager has looked at the last report of this
                // shard (a lost volume's tenants are recognised by it).
                if !shared
                    .placement_ready
                    .load(std::sync::atomic::Ordering::Acquire)
                {
                    continue;
                }
                let view = shared.engine.lock().expect("lock").clone();
                let tenants: std::collections::BTreeMap<String, u64> = view
                    .tenants
                    .keys()
                    .filter_map(|t| view.position_of(t).map(|p| (t.clone(), p)))
                    .collect();
                if last.as_ref() == Some(&tenants) {
                    continue;
                }
                let rec = PositionsRecord {
                    shard: shard.clone(),
                    at_ms: shared::now_ms(),
                    tenants: tenants.clone(),
                    volume_id: Some(volume_id.clone()),
                    stream_id: Some(stream_id.clone()),
                };
                if handoff
                    .put(
                        &key,
                        bytes::Bytes::from(serde_json::to_vec(&rec).expect("serialisable")),
                    )
                    .await
                    .is_ok()
                {
                    last = Some(tenants);
                }
            }
        }
    });

    shared.set_state(RunnerState::Running);
    info!(
        shard = %cfg.shard_id,
        mode = if placement_mode { "placement" } else { "allowlist" },
        tenants = cfg.tenants.len(),
        sagas = cfg.sagas.len(),
        admin = %admin_url,
        "runner is running"
    );
    notice(
        &client,
        cfg.shard_id.as_str(),
        NoticeKind::State,
        None,
        "running",
    );

    let mut lost = false;
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = stream_changed.cancelled() => {}
        _ = lease_lost.cancelled() => { lost = true; }
        _ = wait_thread_exit(&shared) => {
            error!("the engine thread stopped unexpectedly; exiting so a supervisor restarts the runner");
        }
    }

    // Stop: the same drain as POST /admin/drain (no new reads, the batches in flight
    // committed, the outbox flushed within RUNNER_SHUTDOWN_TIMEOUT), then hand the tenants
    // over and give the lease up. After a lost lease or a dead engine there is no drain.
    let stopping = std::time::Instant::now();
    let draining = !lost
        && shared
            .engine_alive
            .load(std::sync::atomic::Ordering::Relaxed);
    if draining {
        if shared.state() != RunnerState::Drained {
            crate::ops::begin_drain(&shared, args.shutdown_timeout);
        }
    } else {
        shared.set_state(RunnerState::Stopping);
    }
    notice(
        &client,
        cfg.shard_id.as_str(),
        NoticeKind::State,
        None,
        shared.state().as_str(),
    );
    readers_stop.cancel();
    let _ = readers.await;
    let _ = ticker.await;
    info!(
        elapsed_ms = stopping.elapsed().as_millis() as u64,
        "readers stopped"
    );
    placement_stop.cancel();
    if let Some(p) = placement {
        if lost {
            p.abort();
        } else {
            let _ = p.await;
        }
    }
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
    if draining {
        let _ = crate::ops::progress(&shared, &vol, stopping, Duration::ZERO).await;
        shared.set_state(RunnerState::Drained);
        info!(
            elapsed_ms = stopping.elapsed().as_millis() as u64,
            "drained"
        );
    }
    lease_stop.cancel();
    let _ = reporter.await;
    if let Ok(lease) = keeper.await
        && !lost
    {
        lease.release().await;
    }
    // Neither may hold the exit hostage when NATS is gone or a client keeps a connection.
    let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
    admin_stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(2), admin_task).await;
    if lost {
        return Err(RunError::Runtime(
            "lost the shard's lease to another runner; stopped".into(),
        ));
    }
    if crashed {
        return Err(RunError::Runtime("the engine thread panicked".into()));
    }
    if let Some(why) = shared.fatal.lock().expect("lock").clone() {
        return Err(RunError::Stream(why));
    }
    info!("stopped cleanly");
    Ok(())
}

fn gethostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
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
