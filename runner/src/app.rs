//! Startup and shutdown: the order in which the runner's parts start, and the drain on
//! SIGTERM/SIGINT (stop reading, finish the batch in flight, flush the outbox, exit).
//!
//! Start-up is a sequence of steps, each of which may give up when a stop is requested:
//! admin server, volume, NATS, stream identity, lease, then the engine thread and the named
//! tasks of the [`Supervisor`]. Shutdown ([`Running::stop`]) stops them in one explicit
//! order.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use async_nats::jetstream::kv;
use shared::backoff::Backoff;
use shared::edge_storage::{OutboxEntry, StorageError, TableId, Volume, WriteOptions, meta};
use shared::placement::{NoticeKind, ShardRecord};
use shared::wire::{Assignment, RunnerState};
use tokio::sync::{Notify, mpsc, watch};
use tracing::{error, info, warn};

use crate::admin::{self, AdminState};
use crate::config::Config;
use crate::engine::{Engine, EngineConfig, EngineLinks, EngineMsg};
use crate::fence::Fence;
use crate::lease::{Lease, RecordFn, notice};
use crate::metrics::Metrics;
use crate::outbox::{Deleter, Held, Relay};
use crate::placement::{Placement, PlacementConfig, PlacementLinks};
use crate::positions::Reporter;
use crate::reader::{self, ReaderCtx};
use crate::state::SharedState;
use crate::supervisor::{Supervisor, Task};

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

fn runtime(e: impl std::fmt::Display) -> RunError {
    RunError::Runtime(e.to_string())
}

/// What every later step shares.
struct Base {
    cfg: Config,
    vol: Arc<Volume>,
    shared: Arc<SharedState>,
    metrics: Arc<Metrics>,
    admin: Arc<AdminState>,
    admin_url: String,
    volume_id: String,
}

/// Runs the runner until SIGTERM/SIGINT (or a lost lease, a recreated stream, a dead
/// engine).
pub async fn run(cfg: Config) -> Result<(), RunError> {
    let sup = Supervisor::new();
    sup.stop_on_signals();
    let listener = tokio::net::TcpListener::bind(cfg.args.admin_addr)
        .await
        .map_err(|e| {
            RunError::Config(format!(
                "cannot listen on RUNNER_ADMIN_ADDR={}: {e}",
                cfg.args.admin_addr
            ))
        })?;
    let admin_url = format!("http://{}", listener.local_addr().map_err(runtime)?);
    let cfg_args = cfg.args.clone();
    let vol = open_volume(&cfg, &admin_url).await?;
    let base = base(cfg, vol, admin_url)?;
    let admin = sup.spawn("admin", {
        let limits = admin::Limits::from_args(&cfg_args);
        let app = admin::router(base.admin.clone(), limits);
        move |stop| admin::serve(listener, app, limits, stop)
    });
    let result = serve(&sup, &base).await;
    // A client holding a connection may not hold the exit hostage.
    admin.stop_within(Duration::from_secs(2)).await;
    result
}

/// Opens the volume for writing (migrating it when needed), clears uploads an interrupted
/// import left, and checks it belongs to `RUNNER_STREAM`.
async fn open_volume(cfg: &Config, admin_url: &str) -> Result<Arc<Volume>, RunError> {
    let args = &cfg.args;
    let mut wopts = WriteOptions::new(cfg.shard_id.as_str());
    wopts.admin_url = Some(admin_url.to_string());
    wopts.max_size_bytes = args.volume_max_mb.saturating_mul(1 << 20);
    let dir = args.data_dir.clone();
    let vol = tokio::task::spawn_blocking(move || Volume::open_for_write(&dir, &wopts))
        .await
        .map_err(runtime)??;
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
    vol.write(|w| match w.meta_str(meta::STREAM)? {
        Some(s) if s != stream => Err(StorageError::Corrupt(format!(
            "the volume's positions refer to stream '{s}', but RUNNER_STREAM is '{stream}'; use the stream this volume was built from, or a new data dir"
        ))),
        Some(_) => Ok(()),
        None => w.set_meta_str(meta::STREAM, &stream),
    })?;
    info!(shard = %cfg.shard_id, volume = %args.data_dir.display(), admin = %admin_url, "volume open");
    Ok(Arc::new(vol))
}

fn base(cfg: Config, vol: Arc<Volume>, admin_url: String) -> Result<Base, RunError> {
    let shared = Arc::new(SharedState::new());
    let metrics = Arc::new(Metrics::with_max_tenants(
        cfg.args.metrics_max_tenants as usize,
    ));
    let args = &cfg.args;
    let admin = Arc::new(AdminState {
        shared: shared.clone(),
        metrics: metrics.clone(),
        vol: vol.clone(),
        js: OnceLock::new(),
        streams: OnceLock::new(),
        shard: cfg.shard_id.to_string(),
        layout: args.layout(),
        nats_url: args
            .nats_servers()
            .map(|s| s.to_string())
            .unwrap_or_else(|_| args.nats_url.clone()),
        replicas_setting: args.replicas.clone(),
        storage: OnceLock::new(),
        sagas: cfg.sagas.names().map(|n| n.to_string()).collect(),
        token: args.admin_token.clone(),
        placement_bucket: args.tenant_placement_bucket.clone(),
        handoff_bucket: args.handoff_bucket.clone(),
        lease: OnceLock::new(),
        ops: OnceLock::new(),
        snapshots: OnceLock::new(),
    });
    let volume_id = vol
        .read(|r| r.meta_str(meta::VOLUME_ID))?
        .unwrap_or_default();
    Ok(Base {
        cfg,
        vol,
        shared,
        metrics,
        admin,
        admin_url,
        volume_id,
    })
}

/// NATS, the stream's identity, the lease, then everything that runs until the stop.
/// `Ok(())` without running when a stop was requested during start-up.
async fn serve(sup: &Supervisor, b: &Base) -> Result<(), RunError> {
    let args = &b.cfg.args;
    let (reconnect_tx, reconnects) = watch::channel(0u64);
    let client = crate::nats::connect(
        args,
        b.cfg.shard_id.as_str(),
        b.shared.clone(),
        b.metrics.clone(),
        reconnect_tx,
        sup.requested(),
    )
    .await
    .map_err(RunError::Config)?;
    let Some(client) = client else {
        return Ok(());
    };
    let js = jetstream::new(client.clone());
    let cluster = shared::nats::cluster_size(&client.server_info());
    let replicas = args
        .replicas()
        .map_err(|e| RunError::Config(e.0))?
        .resolve(cluster);
    info!(servers = cluster, replicas, setting = %args.replicas, "NATS reached; what the runner creates keeps {replicas} cop{}", if replicas == 1 { "y" } else { "ies" });
    if !crate::nats::ensure_streams(&js, args, replicas, &b.shared, sup.requested()).await {
        return Ok(());
    }
    let _ = b.admin.js.set(js.clone());
    let Some(streams) = check_stream(sup, b, &js).await? else {
        return Ok(());
    };
    crate::restore::check_at_start(crate::restore::Check {
        vol: &b.vol,
        js: &js,
        layout: &streams.layout,
        shard: b.cfg.shard_id.as_str(),
        volume_id: &b.volume_id,
        allowlist: args
            .tenant_placement_bucket
            .is_none()
            .then(|| b.cfg.tenants.iter().map(|t| t.to_string()).collect()),
        handoff_bucket: &args.handoff_bucket,
        commands_stream: &args.commands_stream,
        dlq_stream: &args.dlq_stream,
        accept_loss: args.restore_accept_loss,
    })
    .await?;
    let streams = Arc::new(streams);
    let _ = b.admin.streams.set(streams.clone());
    let fence = Arc::new(Fence::closed());
    let (registry, record, ttl) = registry(b, &js, replicas).await?;
    let Some(lease) = Lease::acquire(
        registry.clone(),
        ttl,
        &record,
        fence.clone(),
        &b.shared,
        sup.requested(),
    )
    .await
    else {
        return Ok(());
    };
    let _ = b.admin.lease.set((fence.clone(), ttl));
    notice(
        &client,
        b.cfg.shard_id.as_str(),
        NoticeKind::LeaseAcquired,
        None,
        format!("pid {}", std::process::id()),
    );
    let nats = Nats {
        client,
        js,
        reconnects,
        registry,
        streams,
        cluster,
        replicas,
    };
    let running = start(sup, b, nats, fence, lease, record).await?;
    let cause = running.wait(sup).await;
    running.stop(b, cause).await
}

/// Checks the event streams are the ones the volume was built from, retrying while NATS
/// does not answer; `None` when a stop was requested meanwhile.
async fn check_stream(
    sup: &Supervisor,
    b: &Base,
    js: &jetstream::Context,
) -> Result<Option<crate::stream::Streams>, RunError> {
    let args = &b.cfg.args;
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));
    loop {
        let checked = crate::stream::check_layout_at_start(
            js,
            &b.vol,
            &args.layout(),
            args.adopt_stream.as_deref(),
        )
        .await;
        match checked {
            Ok(id) => {
                b.shared.set_nats_problem(None);
                return Ok(Some(id));
            }
            Err(crate::stream::StreamCheck::Unavailable(e)) => {
                warn!(error = %e, "cannot check the event stream; retrying");
                b.shared.set_nats_problem(Some(e));
                tokio::select! {
                    _ = sup.requested().cancelled() => return Ok(None),
                    _ = tokio::time::sleep(backoff.next_wait()) => {}
                }
            }
            Err(crate::stream::StreamCheck::Refused(e)) => return Err(RunError::Stream(e.0)),
            Err(crate::stream::StreamCheck::Storage(e)) => return Err(e.into()),
        }
    }
}

/// The registry bucket, the lease time it sets, and the record the lease keeper writes.
async fn registry(
    b: &Base,
    js: &jetstream::Context,
    replicas: usize,
) -> Result<(kv::Store, RecordFn, Duration), RunError> {
    let args = &b.cfg.args;
    let registry = shared::nats::open_or_create_bucket(
        js,
        shared::nats::registry_bucket(&args.registry_bucket, args.lease_ttl, replicas),
    )
    .await
    .map_err(runtime)?;
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
    Ok((registry, shard_record(b, ttl), ttl))
}

/// The shard's registry record, as of now (written by the lease keeper on each heartbeat).
fn shard_record(b: &Base, ttl: Duration) -> RecordFn {
    let (shared, metrics, shard, admin_url, volume_id) = (
        b.shared.clone(),
        b.metrics.clone(),
        b.cfg.shard_id.to_string(),
        b.admin_url.clone(),
        b.volume_id.clone(),
    );
    let sagas: Vec<String> = b.cfg.sagas.names().map(|n| n.to_string()).collect();
    let host = shared::hostname();
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
            state: shared.state(),
            host: host.clone(),
            pid: std::process::id(),
            started_at_ms: shared.started_at_ms,
            heartbeat_at_ms: shared::now_ms(),
            lease_ms: ttl.as_millis() as u64,
            tenants: view.tenants.keys().cloned().collect(),
            counters,
            events_read: metrics.events_read.get(),
            volume_id: volume_id.clone(),
        }
    })
}

/// The NATS side, once connected and checked.
struct Nats {
    client: async_nats::Client,
    js: jetstream::Context,
    reconnects: watch::Receiver<u64>,
    registry: kv::Store,
    streams: Arc<crate::stream::Streams>,
    /// Servers in the cluster, and the copies kept of what the runner creates.
    cluster: usize,
    replicas: usize,
}

/// The running parts, in the order they stop.
struct Running {
    client: async_nats::Client,
    readers: Task<()>,
    ticker: Task<()>,
    reading: Option<Task<()>>,
    placement: Option<Task<()>>,
    engine_tx: mpsc::Sender<EngineMsg>,
    engine_stop: Arc<AtomicBool>,
    engine_thread: std::thread::JoinHandle<()>,
    relay: Task<Relay>,
    reporter: Task<()>,
    keeper: Task<Lease>,
    snapshots: Task<()>,
    /// Cancelled by the readers when the event stream turned out to be another one.
    stream_changed: tokio_util::sync::CancellationToken,
    /// Cancelled by the lease keeper when another runner took the lease.
    lease_lost: tokio_util::sync::CancellationToken,
}

/// Why the runner stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// SIGTERM/SIGINT: drain, then exit 0.
    Requested,
    /// The readers found another event stream: drain, then exit 3.
    StreamChanged,
    /// Another runner holds the lease now: stop without a drain, exit 1.
    LeaseLost,
    /// The engine thread died: stop without a drain, exit 1.
    EngineDied,
}

/// Outbox entries from before this start, of tenants a successor may have taken over while
/// this runner was down: held back until the placement manager settles them.
fn held_outbox(b: &Base) -> Result<Held, RunError> {
    if b.cfg.args.tenant_placement_bucket.is_none() {
        return Ok(Held::default());
    }
    let (tenants, boundary) = b.vol.read(|r| {
        let mut tenants = BTreeSet::new();
        r.scan(TableId::Outbox, &[], None, |_, v| {
            let e: OutboxEntry = shared::edge_storage::decode_value(v)?;
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
    Ok(Held::new(tenants, boundary))
}

/// The engine and what connects it to the rest.
struct EngineStarted {
    tx: mpsc::Sender<EngineMsg>,
    /// The engine's requests for readers.
    readers: mpsc::UnboundedReceiver<crate::engine::ReaderCmd>,
    outbox_notify: Arc<Notify>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

/// Opens the engine on the volume (tenants' modes from their cursors) and starts its
/// thread, the only writer of the volume.
async fn start_engine(b: &Base, nats: &Nats, fence: Arc<Fence>) -> Result<EngineStarted, RunError> {
    let args = &b.cfg.args;
    let placement_mode = args.tenant_placement_bucket.is_some();
    // Room for many small reader chunks: while a commit runs they pile up here and the next
    // transaction takes them all (see Engine::run).
    let (tx, rx) = mpsc::channel::<EngineMsg>(64);
    let (reader_tx, readers) = mpsc::unbounded_channel();
    let outbox_notify = Arc::new(Notify::new());
    let stop = Arc::new(AtomicBool::new(false));
    let (vol, sagas) = (b.vol.clone(), b.cfg.sagas.clone());
    // Under placement the tenants come from the placement manager.
    let tenants = if placement_mode {
        Vec::new()
    } else {
        b.cfg.tenants.clone()
    };
    let links = EngineLinks {
        metrics: b.metrics.clone(),
        shared: b.shared.clone(),
        readers: reader_tx,
        outbox_notify: outbox_notify.clone(),
        stop: stop.clone(),
        fence,
    };
    let whole = crate::reading::initial(
        &nats.js,
        &nats.streams.layout,
        &nats.registry,
        b.cfg.shard_id.as_str(),
        &b.vol,
        &tenants,
    )
    .await;
    let ecfg = EngineConfig {
        layout: nats.streams.layout.clone(),
        stream_ids: nats.streams.ids.clone(),
        whole,
        timer_grace: args.timer_grace,
        shard: b.cfg.shard_id.to_string(),
        max_event_bytes: args.max_event_bytes,
        queue_max_events: crate::engine::QUEUE_MAX_EVENTS,
        max_batch: args.batch_size as usize,
        defer_main_reader: placement_mode,
    };
    let engine =
        tokio::task::spawn_blocking(move || Engine::new(vol, sagas, ecfg, &tenants, links))
            .await
            .map_err(runtime)??;
    let thread = std::thread::Builder::new()
        .name("engine".into())
        .spawn(move || engine.run(rx))
        .map_err(|e| RunError::Runtime(format!("cannot start the engine thread: {e}")))?;
    Ok(EngineStarted {
        tx,
        readers,
        outbox_notify,
        stop,
        thread,
    })
}

fn placement_config(b: &Base, nats: &Nats) -> PlacementConfig {
    PlacementConfig {
        shard: b.cfg.shard_id.to_string(),
        volume_id: b.volume_id.clone(),
        streams: nats.streams.clone(),
        // With both set, the allowlist bounds what placement may give this shard.
        allow: (!b.cfg.tenants.is_empty())
            .then(|| b.cfg.tenants.iter().map(|t| t.to_string()).collect()),
        restored: b
            .vol
            .read(|r| r.restored())
            .ok()
            .flatten()
            .map(|r| (r.taken_at_ms, r.restored_at_ms)),
        commands_stream: b.cfg.args.commands_stream.clone(),
        dlq_stream: b.cfg.args.dlq_stream.clone(),
    }
}

/// Starts the engine thread and every task: readers, ticker, relay, placement manager,
/// lease keeper, position reporter.
async fn start(
    sup: &Supervisor,
    b: &Base,
    nats: Nats,
    fence: Arc<Fence>,
    mut lease: Lease,
    record: RecordFn,
) -> Result<Running, RunError> {
    let args = &b.cfg.args;
    let held = held_outbox(b)?;
    let EngineStarted {
        tx: engine_tx,
        readers: reader_rx,
        outbox_notify,
        stop: engine_stop,
        thread: engine_thread,
    } = start_engine(b, &nats, fence).await?;
    let stream_changed = tokio_util::sync::CancellationToken::new();
    let readers = sup.spawn("readers", {
        let ctx = Arc::new(ReaderCtx {
            js: nats.js.clone(),
            layout: nats.streams.layout.clone(),
            stream_ids: nats.streams.ids.clone(),
            stream_changed: stream_changed.clone(),
            shard: b.cfg.shard_id.to_string(),
            batch_size: (args.batch_size as usize).min(1000),
            read_ahead: args.batch_size as usize,
            engine: reader::Handoff::new(engine_tx.clone(), b.shared.clone()),
            shared: b.shared.clone(),
            metrics: b.metrics.clone(),
            reconnects: nats.reconnects.clone(),
        });
        move |stop| reader::run_manager(ctx, reader_rx, stop)
    });
    let ticker = sup.spawn("ticker", {
        let tx = engine_tx.clone();
        move |stop| async move {
            let mut every = tokio::time::interval(Duration::from_millis(200));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = every.tick() => { let _ = tx.try_send(EngineMsg::Tick); }
                }
            }
        }
    });
    // Partitioned: which groups to read whole, measured again every few seconds.
    let reading = nats.streams.layout.is_partitioned().then(|| {
        let (js, layout, registry, me, shared, tx) = (
            nats.js.clone(),
            nats.streams.layout.clone(),
            nats.registry.clone(),
            b.cfg.shard_id.to_string(),
            b.shared.clone(),
            engine_tx.clone(),
        );
        let period = args.reading_every;
        sup.spawn("reading", move |stop| {
            crate::reading::run(js, layout, registry, me, shared, tx, period, stop)
        })
    });
    let relay = sup.spawn("relay", {
        // A publish whose ack does not come in 2 s (its stream's leader lost with a node)
        // is looked up and sent again (`outbox`): sooner than the client's default 5 s,
        // and far above an ack's time under load (milliseconds for a round of 250).
        let mut js = nats.js.clone();
        js.set_timeout(Duration::from_secs(2));
        let relay = Relay::new(
            b.vol.clone(),
            js,
            outbox_notify,
            b.metrics.clone(),
            b.shared.clone(),
            Deleter::Engine(engine_tx.clone()),
            held.clone(),
            crate::outbox::Streams {
                commands: args.commands_stream.clone(),
                dead_letters: args.dlq_stream.clone(),
            },
        );
        move |stop| relay.run(stop)
    });

    let handoff = shared::nats::open_or_create_bucket(
        &nats.js,
        shared::nats::handoff_bucket(&args.handoff_bucket, nats.replicas),
    )
    .await
    .map_err(runtime)?;
    let _ = b.admin.ops.set(Arc::new(crate::ops::Ops::new(
        engine_tx.clone(),
        b.vol.clone(),
        b.shared.clone(),
        b.cfg.shard_id.to_string(),
        handoff.clone(),
        nats.registry.clone(),
    )));
    let placement = match &args.tenant_placement_bucket {
        Some(bucket) => {
            let links = PlacementLinks {
                js: nats.js.clone(),
                client: nats.client.clone(),
                placement: shared::nats::open_or_create_bucket(
                    &nats.js,
                    shared::nats::placement_bucket(bucket, nats.replicas),
                )
                .await
                .map_err(runtime)?,
                handoff: handoff.clone(),
                registry: nats.registry.clone(),
                engine: engine_tx.clone(),
                shared: b.shared.clone(),
                vol: b.vol.clone(),
                reconnects: nats.reconnects.clone(),
                held,
            };
            let p = Placement::new(placement_config(b, &nats), links);
            Some(sup.spawn("placement", move |stop| p.run(stop)))
        }
        None => {
            b.shared.placement_ready.store(true, Ordering::Release);
            None
        }
    };

    let streams: Vec<String> = crate::nats::stream_configs(args, nats.replicas)
        .into_iter()
        .map(|c| c.name)
        .collect();
    let buckets: Vec<String> = [&args.registry_bucket, &args.handoff_bucket]
        .into_iter()
        .chain(&args.tenant_placement_bucket)
        .cloned()
        .collect();
    let surveyed = crate::nats::survey_replicas(&nats.js, &streams, &buckets, nats.cluster).await;
    let _ = b.admin.storage.set((nats.cluster, surveyed));
    let lease_lost = tokio_util::sync::CancellationToken::new();
    let keeper = sup.spawn("lease", {
        let (lost, shared) = (lease_lost.clone(), b.shared.clone());
        move |stop| async move {
            lease.keep(record, &shared.heartbeat_now, stop, lost).await;
            lease
        }
    });
    let reporter = sup.spawn("positions", {
        let r = Reporter {
            shared: b.shared.clone(),
            handoff,
            shard: b.cfg.shard_id.to_string(),
            volume_id: b.volume_id.clone(),
            streams: nats.streams.clone(),
        };
        move |stop| r.run(stop)
    });

    let snapshotter = Arc::new(crate::snapshot::Snapshotter::new(
        b.vol.clone(),
        nats.js.clone(),
        args.snapshot_bucket.clone(),
        nats.replicas,
        args.snapshot_keep,
        args.snapshot_max_age.0,
        b.metrics.clone(),
    ));
    let _ = b.admin.snapshots.set(snapshotter.clone());
    let every = args.snapshot_every.0;
    let snapshots = sup.spawn("snapshots", move |stop| snapshotter.run(every, stop));

    announce_running(b, &nats.client);
    Ok(Running {
        client: nats.client,
        readers,
        ticker,
        reading,
        placement,
        engine_tx,
        engine_stop,
        engine_thread,
        relay,
        reporter,
        keeper,
        snapshots,
        stream_changed,
        lease_lost,
    })
}

/// Running from here: the state, the log line, and the notice to watchers.
fn announce_running(b: &Base, client: &async_nats::Client) {
    let placement_mode = b.cfg.args.tenant_placement_bucket.is_some();
    b.shared.set_state(RunnerState::Running);
    let assignment = if placement_mode {
        Assignment::Placement
    } else {
        Assignment::Allowlist
    };
    info!(
        shard = %b.cfg.shard_id,
        mode = assignment.as_str(),
        tenants = b.cfg.tenants.len(),
        sagas = b.cfg.sagas.len(),
        admin = %b.admin_url,
        "runner is running"
    );
    notice(
        client,
        b.cfg.shard_id.as_str(),
        NoticeKind::State,
        None,
        RunnerState::Running.as_str(),
    );
}

impl Running {
    /// Waits for a reason to stop. The engine's channel closes when its thread ends, also
    /// by a panic.
    async fn wait(&self, sup: &Supervisor) -> Cause {
        tokio::select! {
            _ = sup.requested().cancelled() => Cause::Requested,
            _ = self.stream_changed.cancelled() => Cause::StreamChanged,
            _ = self.lease_lost.cancelled() => Cause::LeaseLost,
            _ = self.engine_tx.closed() => {
                error!("the engine thread stopped unexpectedly; exiting so a supervisor restarts the runner");
                Cause::EngineDied
            }
        }
    }

    /// Stops everything in order: the same drain as `POST /admin/drain` (no new reads, the
    /// batches in flight committed, the outbox flushed within `RUNNER_SHUTDOWN_TIMEOUT`),
    /// then the tenants handed over and the lease given up. After a lost lease or a dead
    /// engine there is no drain.
    async fn stop(self, b: &Base, cause: Cause) -> Result<(), RunError> {
        let shared = &b.shared;
        let timeout = b.cfg.args.shutdown_timeout;
        let stopping = Instant::now();
        let lost = cause == Cause::LeaseLost;
        let draining =
            !lost && cause != Cause::EngineDied && shared.engine_alive.load(Ordering::Relaxed);
        if draining {
            if shared.state() != RunnerState::Drained {
                crate::ops::begin_drain(shared, timeout);
            }
        } else {
            shared.set_state(RunnerState::Stopping);
        }
        let shard = b.cfg.shard_id.as_str();
        notice(
            &self.client,
            shard,
            NoticeKind::State,
            None,
            shared.state().as_str(),
        );
        // 1. No new reads, no new snapshot (one being uploaded is abandoned).
        self.snapshots.stop().await;
        self.readers.stop().await;
        self.ticker.stop().await;
        if let Some(r) = self.reading {
            r.stop().await;
        }
        // 2. Tenants handed over (not after a lost lease: the new holder owns them now).
        if let Some(p) = self.placement {
            if lost {
                p.abort();
            } else {
                p.stop().await;
            }
        }
        // 3. The engine commits what it holds and stops.
        self.engine_stop.store(true, Ordering::Relaxed);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.engine_tx.send(EngineMsg::Stop))
            .await;
        drop(self.engine_tx);
        let thread = self.engine_thread;
        let crashed = tokio::task::spawn_blocking(move || thread.join().is_err())
            .await
            .unwrap_or(true);
        info!(
            elapsed_ms = stopping.elapsed().as_millis() as u64,
            "engine stopped"
        );
        // 4. The outbox flushed.
        let mut relay = self
            .relay
            .stop()
            .await
            .ok_or_else(|| RunError::Runtime("the outbox relay panicked".into()))?;
        let left = relay.flush(timeout).await;
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
            let _ = crate::ops::progress(shared, &b.vol, stopping, Duration::ZERO).await;
            shared.set_state(RunnerState::Drained);
            info!(
                elapsed_ms = stopping.elapsed().as_millis() as u64,
                "drained"
            );
        }
        // 5. The last positions reported, then the lease given up.
        self.reporter.stop().await;
        if let Some(lease) = self.keeper.stop().await
            && !lost
        {
            lease.release().await;
        }
        // NATS gone may not hold the exit hostage.
        let _ = tokio::time::timeout(Duration::from_secs(2), self.client.flush()).await;
        match cause {
            Cause::LeaseLost => Err(RunError::Runtime(
                "lost the shard's lease to another runner; stopped".into(),
            )),
            _ if crashed => Err(RunError::Runtime("the engine thread panicked".into())),
            _ => match shared.fatal.lock().expect("lock").clone() {
                Some(why) => Err(RunError::Stream(why)),
                None => {
                    info!("stopped cleanly");
                    Ok(())
                }
            },
        }
    }
}
