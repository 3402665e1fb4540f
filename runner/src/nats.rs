//! Connecting to NATS (retrying with backoff, logging each attempt) and making sure the
//! event, command and dead-letter streams exist.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_nats::{ConnectOptions, Event};
use shared::backoff::Backoff;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::Args;
use crate::metrics::Metrics;
use crate::state::SharedState;

async fn options(
    args: &Args,
    name: String,
    shared: Arc<SharedState>,
    metrics: Arc<Metrics>,
    reconnects: watch::Sender<u64>,
) -> Result<ConnectOptions, String> {
    let opts = args
        .nats_auth()
        .connect_options(shared::nats::OptionNames::Env("RUNNER_NATS_"))
        .await?;
    Ok(opts
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        .reconnect_delay_callback(|attempt| {
            Backoff::for_attempt(Duration::from_millis(100), Duration::from_secs(5), attempt)
        })
        .event_callback(move |ev| {
            let shared = shared.clone();
            let metrics = metrics.clone();
            let reconnects = reconnects.clone();
            async move {
                match ev {
                    Event::Connected => {
                        shared.nats_connected.store(true, Ordering::Relaxed);
                        shared.set_nats_problem(None);
                        metrics.nats_connected.set(1);
                        reconnects.send_modify(|n| *n += 1);
                        info!("connected to NATS");
                    }
                    Event::Disconnected => {
                        shared.nats_connected.store(false, Ordering::Relaxed);
                        shared.set_nats_problem(Some("lost the NATS connection; reconnecting".into()));
                        metrics.nats_connected.set(0);
                        warn!("lost the NATS connection; reconnecting (events are not lost: reading resumes from the volume's positions)");
                    }
                    Event::LameDuckMode => warn!("NATS server entered lame duck mode"),
                    Event::SlowConsumer(_) => warn!("NATS reports this client as a slow consumer"),
                    other => warn!(event = %other, "NATS connection event"),
                }
            }
        }))
}

/// Connects, retrying with backoff until it works or `cancel` fires.
pub async fn connect(
    args: &Args,
    shard: &str,
    shared: Arc<SharedState>,
    metrics: Arc<Metrics>,
    reconnects: watch::Sender<u64>,
    cancel: &CancellationToken,
) -> Result<Option<async_nats::Client>, String> {
    let servers = args.nats_servers().map_err(|e| e.0)?;
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(10));
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let opts = options(
            args,
            format!("runner {shard}"),
            shared.clone(),
            metrics.clone(),
            reconnects.clone(),
        )
        .await?;
        let result = tokio::select! {
            _ = cancel.cancelled() => return Ok(None),
            r = opts.connect(servers.addrs()) => r,
        };
        match result {
            Ok(c) => {
                shared.nats_connected.store(true, Ordering::Relaxed);
                shared.set_nats_problem(None);
                metrics.nats_connected.set(1);
                return Ok(Some(c));
            }
            Err(e) => {
                let wait = backoff.next_wait();
                let msg = format!(
                    "cannot connect to NATS at {servers} (attempt {attempt}): {e}; retrying in {:.1}s",
                    wait.as_secs_f64()
                );
                warn!("{msg}");
                shared.set_nats_problem(Some(msg));
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(None),
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

/// The streams the runner needs, with their documented defaults: the event stream or the
/// group streams of the layout, commands and dead letters.
pub fn stream_configs(args: &Args, replicas: usize) -> Vec<stream::Config> {
    let base = shared::nats::stream_config;
    let layout = args.layout();
    let mut all: Vec<stream::Config> = layout
        .groups()
        .map(|g| shared::nats::event_stream_config(&layout, g, replicas))
        .collect();
    all.push(base(
        &args.commands_stream,
        shared::names::COMMAND_SUBJECTS,
        replicas,
    ));
    all.push(base(
        &args.dlq_stream,
        shared::names::DLQ_SUBJECTS,
        replicas,
    ));
    all
}

/// Each stream's and KV bucket's replica count, logged (a warning where it is below what
/// the cluster allows) and kept for the status. Something that does not answer is left
/// out (it was just opened; the status says nothing rather than something wrong).
pub async fn survey_replicas(
    js: &jetstream::Context,
    streams: &[String],
    buckets: &[String],
    cluster: usize,
) -> Vec<shared::wire::StoredItem> {
    let mut out = Vec::new();
    let items = streams
        .iter()
        .map(|s| ("stream", s.clone(), s.clone()))
        .chain(
            buckets
                .iter()
                .map(|b| ("bucket", b.clone(), format!("KV_{b}"))),
        );
    for (kind, name, stream) in items {
        let Ok(s) = js.get_stream(&stream).await else {
            continue;
        };
        let info = s.cached_info();
        let replicas = info.config.num_replicas.max(1);
        let warning = shared::nats::replica_warning(&format!("{kind} {name}"), replicas, cluster);
        match &warning {
            Some(w) => warn!("{w}"),
            None => info!(kind, name = %name, replicas, "replicas"),
        }
        out.push(shared::wire::StoredItem {
            kind: kind.to_string(),
            name,
            replicas,
            warning,
        });
    }
    out
}

/// Creates the streams that are missing, retrying until it works or `cancel` fires.
pub async fn ensure_streams(
    js: &jetstream::Context,
    args: &Args,
    replicas: usize,
    shared: &SharedState,
    cancel: &CancellationToken,
) -> bool {
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(10));
    'retry: loop {
        for cfg in stream_configs(args, replicas) {
            let name = cfg.name.clone();
            let result = tokio::select! {
                _ = cancel.cancelled() => return false,
                r = js.get_or_create_stream(cfg) => r,
            };
            match result {
                Ok(mut s) => {
                    if let Ok(info) = s.info().await {
                        info!(stream = %name, subjects = ?info.config.subjects, messages = info.state.messages, "stream ready");
                    }
                }
                Err(e) => {
                    let hint = if replicas > 1 {
                        format!(
                            "is JetStream enabled on at least {replicas} servers of the cluster (RUNNER_REPLICAS)?"
                        )
                    } else {
                        "is JetStream enabled on the server? nats-server -js".to_string()
                    };
                    let msg =
                        format!("cannot create or find stream {name}: {e} ({hint}); retrying");
                    warn!("{msg}");
                    shared.set_nats_problem(Some(msg));
                    tokio::select! {
                        _ = cancel.cancelled() => return false,
                        _ = tokio::time::sleep(backoff.next_wait()) => {}
                    }
                    continue 'retry;
                }
            }
        }
        shared.set_nats_problem(None);
        return true;
    }
}
