//! `runnerctl tui`: the live fleet (shard registry, placement, the runners' admin APIs) or
//! a stopped volume (`--volume`). Data is fetched in tasks that send messages; keys come
//! from a thread; the UI thread only draws, so it never blocks on the network or disk.
//! The terminal is restored on exit, on error and on panic (ratatui's hook).

pub mod app;
pub mod keys;
pub mod offline;
pub mod ui;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use futures_util::StreamExt;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use shared::backoff::Backoff;
use shared::ids::{SagaName, TenantId};
use shared::placement::ClaimRecord;
use shared::wire::{DrainRequest, ReplayMode, ReplayRequest};
use tokio::sync::{Notify, mpsc, watch};

use crate::cli::{NatsArgs, TuiArgs};
use crate::client::{Admin, follow_replay};
use crate::exit::CliError;
use crate::moves;
use crate::nats::{connect, registry_checked};
use app::{App, Effect, Fleet, Msg};

pub async fn run(args: TuiArgs, nats_args: &NatsArgs, token: Option<String>) -> anyhow::Result<()> {
    if !std::io::stdout().is_terminal() {
        return Err(CliError::usage(
            "runnerctl tui needs a terminal (use status, shards, placements or inspect in scripts)",
        )
        .into());
    }
    let theme = ui::Theme {
        color: crate::output::color_allowed(),
    };
    let refresh = args.refresh;
    let mut app = App::new(nats_args.nats_url.clone(), args.readonly, refresh);
    match args.log_file.clone().or_else(default_log_file) {
        Some(path) => match init_log(&path) {
            Ok(()) => app.log_file = Some(path.display().to_string()),
            Err(e) => app.log(format!("not logging to {}: {e}", path.display())),
        },
        None => app.log("not logging to a file: set --log-file (no HOME)".into()),
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    if let Some(path) = &args.volume {
        let loader =
            offline::spawn_loader(path.clone(), args.allow_live, offline_pages(tx.clone()));
        app.offline = Some(offline::Offline::new(
            path.display().to_string(),
            Some(loader),
        ));
    } else {
        let (rtx, rrx) = watch::channel(refresh);
        spawn_data(nats_args.clone(), token.clone(), tx.clone(), rrx);
        app.log(format!("watching the fleet on {}", nats_args.nats_url));
        let effects = EffectRunner {
            tx: tx.clone(),
            nats: nats_args.clone(),
            token,
            refresh: rtx,
        };
        return ui_loop(app, theme, tx, rx, Some(effects)).await;
    }
    let _ = &mut rx;
    ui_loop(app, theme, tx, rx, None).await
}

/// Where the offline view's loader sends its pages: the app's message channel (false once
/// nobody listens).
fn offline_pages(
    tx: mpsc::UnboundedSender<Msg>,
) -> impl Fn(u64, Result<offline::Page, String>) -> bool + Send + 'static {
    move |id, r| tx.send(Msg::OfflinePage(id, r)).is_ok()
}

/// `$XDG_STATE_HOME/runnerctl/tui.log`, else `~/.local/state/runnerctl/tui.log`.
fn default_log_file() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/state"))
        })?;
    Some(base.join("runnerctl").join("tui.log"))
}

/// Sends tracing (runnerctl's change log, async-nats and HTTP errors) to `path`, appending,
/// while the screen belongs to the dashboard. Filter: `RUNNERCTL_LOG` (default
/// `warn,runnerctl=info`).
fn init_log(path: &std::path::Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUNNERCTL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,runnerctl=info"));
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .map_err(std::io::Error::other)?;
    tracing::info!("runnerctl tui {} started", env!("CARGO_PKG_VERSION"));
    Ok(())
}

struct EffectRunner {
    tx: mpsc::UnboundedSender<Msg>,
    nats: NatsArgs,
    token: Option<String>,
    refresh: watch::Sender<Duration>,
}

async fn ui_loop(
    mut app: App,
    theme: ui::Theme,
    tx: mpsc::UnboundedSender<Msg>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    effects: Option<EffectRunner>,
) -> anyhow::Result<()> {
    let mut terminal = ratatui::try_init()?;
    // Keys (and resizes) from a thread of their own.
    let keys = tx.clone();
    std::thread::spawn(move || {
        loop {
            match event::read() {
                Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => {
                    if keys.send(Msg::Key(k)).is_err() {
                        break;
                    }
                }
                Ok(Event::Resize(..)) => {
                    if keys.send(Msg::Tick(shared::now_ms())).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let ticker = tx.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(500));
        loop {
            every.tick().await;
            if ticker.send(Msg::Tick(shared::now_ms())).is_err() {
                break;
            }
        }
    });
    app.now_ms = shared::now_ms();
    let mut frames = FrameStats::from_env();
    let result: anyhow::Result<()> = async {
        loop {
            let t0 = std::time::Instant::now();
            let mut render = Duration::ZERO;
            terminal.draw(|f| {
                let r0 = std::time::Instant::now();
                ui::draw(f, &app, &theme);
                render = r0.elapsed();
            })?;
            if let Some(s) = frames.as_mut() {
                s.micros.push(t0.elapsed().as_micros() as u64);
                s.render_micros.push(render.as_micros() as u64);
            }
            let Some(msg) = rx.recv().await else { break };
            let mut next = Some(msg);
            // Take everything queued before drawing again.
            while let Some(m) = next.take() {
                if let Some(e) = app.update(m)
                    && let Some(r) = &effects
                {
                    r.run(e);
                }
                next = rx.try_recv().ok();
            }
            if app.quit {
                break;
            }
        }
        Ok(())
    }
    .await;
    ratatui::restore();
    if let Some(s) = frames {
        s.write();
    }
    result
}

/// Frame times for the benchmark: with `RUNNERCTL_TUI_STATS=<file>`, the time of every
/// frame is kept and written there as JSON on exit: `render_*` (layout and widgets into the
/// frame buffer) and `draw_*` (that plus the diff and the write to the terminal), each with
/// `p50_us`, `p99_us`, `max_us`; and `frames`.
struct FrameStats {
    path: std::path::PathBuf,
    micros: Vec<u64>,
    render_micros: Vec<u64>,
}

impl FrameStats {
    fn from_env() -> Option<FrameStats> {
        std::env::var_os("RUNNERCTL_TUI_STATS").map(|p| FrameStats {
            path: p.into(),
            micros: Vec::new(),
            render_micros: Vec::new(),
        })
    }

    fn write(self) {
        let figures = |mut v: Vec<u64>| {
            v.sort_unstable();
            let q = |f: f64| {
                v.get(((v.len() as f64 - 1.0) * f).round() as usize)
                    .copied()
                    .unwrap_or(0)
            };
            serde_json::json!({"p50_us": q(0.5), "p99_us": q(0.99), "max_us": v.last().copied().unwrap_or(0)})
        };
        let mut slowest: Vec<(usize, u64)> =
            self.render_micros.iter().copied().enumerate().collect();
        slowest.sort_by_key(|(_, us)| std::cmp::Reverse(*us));
        slowest.truncate(5);
        let out = serde_json::json!({
            "slowest_render": slowest,
            "frames": self.micros.len(),
            "draw": figures(self.micros),
            "render": figures(self.render_micros),
        });
        if let Err(e) = std::fs::write(&self.path, out.to_string()) {
            tracing::warn!("cannot write frame stats to {}: {e}", self.path.display());
        }
    }
}

impl EffectRunner {
    /// Carries out an effect in a task of its own; the outcome comes back as messages.
    fn run(&self, e: Effect) {
        let tx = self.tx.clone();
        let token = self.token.clone();
        match e {
            Effect::SetRefresh(d) => {
                let _ = self.refresh.send(d);
            }
            Effect::Drain { shard, url } => {
                tokio::spawn(state_change(tx, token, shard, url, true));
            }
            Effect::Resume { shard, url } => {
                tokio::spawn(state_change(tx, token, shard, url, false));
            }
            Effect::PlanReplay {
                url,
                tenant,
                saga,
                mode,
            } => {
                tokio::spawn(async move {
                    let r = async {
                        Admin::new(&url, token)?
                            .replay_plan(&replay_request(&tenant, &saga, mode)?)
                            .await
                    }
                    .await;
                    let _ = tx.send(Msg::ReplayPlan(r.map(Box::new).map_err(|e| e.to_string())));
                });
            }
            Effect::Replay {
                url,
                tenant,
                saga,
                mode,
            } => {
                tokio::spawn(replay(tx, token, url, tenant, saga, mode));
            }
            Effect::Move { tenant, to } => {
                tokio::spawn(move_tenant(tx, self.nats.clone(), token, tenant, to));
            }
        }
    }
}

fn replay_request(tenant: &str, saga: &str, mode: ReplayMode) -> Result<ReplayRequest, CliError> {
    Ok(ReplayRequest {
        tenant_id: TenantId::new(tenant).map_err(|e| CliError::usage(e.to_string()))?,
        saga_name: SagaName::new(saga).map_err(|e| CliError::usage(e.to_string()))?,
        mode,
        dry_run: false,
    })
}

/// Drains or resumes a runner; the result goes to the change log.
async fn state_change(
    tx: mpsc::UnboundedSender<Msg>,
    token: Option<String>,
    shard: String,
    url: String,
    drain: bool,
) {
    let r = async {
        let a = Admin::new(&url, token)?;
        if drain {
            a.drain(&DrainRequest::default()).await.map(drop)
        } else {
            a.resume().await.map(drop)
        }
    }
    .await;
    let _ = tx.send(Msg::Log(match r {
        Ok(()) if drain => format!("{shard}: drain started"),
        Ok(()) => format!("{shard}: resumed"),
        Err(e) => format!("{shard}: {e}"),
    }));
}

/// Starts a replay and follows it to its end, in the change log.
async fn replay(
    tx: mpsc::UnboundedSender<Msg>,
    token: Option<String>,
    url: String,
    tenant: String,
    saga: String,
    mode: ReplayMode,
) {
    let r = async {
        let a = Admin::new(&url, token)?;
        let acc = a
            .replay_start(&replay_request(&tenant, &saga, mode)?)
            .await?;
        let _ = tx.send(Msg::Log(format!(
            "replay {} of {tenant}/{saga} ({}) started",
            acc.replay_id,
            mode.as_str()
        )));
        follow_replay(&a, &acc.replay_id, Duration::from_millis(500), None, |s| {
            let _ = tx.send(Msg::Log(format!(
                "replay {}: {} at {} of {}, applied {}",
                s.replay_id,
                s.state.as_str(),
                s.position,
                s.target_seq.unwrap_or(0),
                s.applied
            )));
        })
        .await
    }
    .await;
    if let Err(e) = r {
        let _ = tx.send(Msg::Log(format!("replay: {e}")));
    }
}

/// A move's progress, as lines of the change log.
struct ChangeLog {
    tx: mpsc::UnboundedSender<Msg>,
    tenant: String,
}

impl moves::Report for ChangeLog {
    fn step(&self, n: u8, what: &str) {
        let _ = self
            .tx
            .send(Msg::Log(format!("move {}: [{n}/5] {what}", self.tenant)));
    }

    fn done(&self, detail: &str, elapsed: Duration) {
        let _ = self.tx.send(Msg::Log(format!(
            "move {}: {detail} ({:.1}s)",
            self.tenant,
            elapsed.as_secs_f64()
        )));
    }

    fn note(&self, line: &str) {
        let _ = self.tx.send(Msg::Log(line.to_string()));
    }
}

/// Moves a tenant with its state, in this process (as `runnerctl move` does); progress and
/// result go to the change log.
async fn move_tenant(
    tx: mpsc::UnboundedSender<Msg>,
    nats: NatsArgs,
    token: Option<String>,
    tenant: String,
    to: String,
) {
    let _ = tx.send(Msg::Log(format!("moving {tenant} to {to}...")));
    let report = ChangeLog {
        tx: tx.clone(),
        tenant: tenant.clone(),
    };
    let r = async {
        let req = moves::Request {
            tenant: TenantId::new(tenant.clone()).map_err(|e| CliError::usage(e.to_string()))?,
            to: Some(to.clone()),
            reason: Some("runnerctl tui".into()),
            keep_source: false,
            dry_run: false,
            abort: false,
            // The dashboard's move refuses a cordoned target like `runnerctl move` does.
            ignore_cordon: false,
            timeout: Duration::from_secs(300),
            stop_after: None,
        };
        moves::run(&req, &nats, token, &report).await
    }
    .await;
    let _ = tx.send(Msg::Log(match r {
        Ok(_) => format!("moved {tenant} to {to}"),
        Err(e) => format!("move of {tenant}: {e}"),
    }));
}

/// A KV bucket followed by a watch: its latest entries, parsed.
struct Followed<T> {
    map: BTreeMap<String, T>,
    /// Changes applied so far (to tell whether anything changed).
    version: u64,
}

type Shared<T> = std::sync::Arc<std::sync::Mutex<Followed<T>>>;

fn followed<T>() -> Shared<T> {
    std::sync::Arc::new(std::sync::Mutex::new(Followed {
        map: BTreeMap::new(),
        version: 0,
    }))
}

/// Keeps `state` equal to the keys of `bucket` under `filter`: replays the latest value of
/// each key, then applies every change; after an error or a lost bucket it starts over (a
/// missing bucket reads as empty). No bucket is re-read on a timer, so thousands of
/// placements cost nothing while nothing changes.
fn follow<T: Send + 'static>(
    js: async_nats::jetstream::Context,
    bucket: String,
    filter: &'static str,
    parse: fn(&[u8]) -> T,
    state: Shared<T>,
    nudge: std::sync::Arc<Notify>,
) {
    use async_nats::jetstream::kv::Operation;
    tokio::spawn(async move {
        loop {
            let r: Result<(), String> = async {
                let kv = js.get_key_value(&bucket).await.map_err(|e| e.to_string())?;
                let mut fresh: BTreeMap<String, T> = BTreeMap::new();
                let empty = kv.status().await.map_err(|e| e.to_string())?.values() == 0;
                let mut w = kv
                    .watch_with_history(filter)
                    .await
                    .map_err(|e| e.to_string())?;
                let mut synced = empty;
                if synced {
                    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                    s.map.clear();
                    s.version += 1;
                    nudge.notify_one();
                }
                while let Some(e) = w.next().await {
                    let e = e.map_err(|e| e.to_string())?;
                    if synced {
                        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                        match e.operation {
                            Operation::Put => s.map.insert(e.key, parse(&e.value)),
                            Operation::Delete | Operation::Purge => s.map.remove(&e.key),
                        };
                        s.version += 1;
                        nudge.notify_one();
                        continue;
                    }
                    // The replay of what the bucket holds: shown whole once it ends.
                    match e.operation {
                        Operation::Put => fresh.insert(e.key, parse(&e.value)),
                        Operation::Delete | Operation::Purge => fresh.remove(&e.key),
                    };
                    if e.delta == 0 {
                        synced = true;
                        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                        s.map = std::mem::take(&mut fresh);
                        s.version += 1;
                        nudge.notify_one();
                    }
                }
                Err("the watch ended".into())
            }
            .await;
            if let Err(e) = r {
                tracing::debug!(bucket, "following the bucket: {e}; starting over");
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

/// Feeds the fleet view: the placement and hand-over buckets are followed by watches; the
/// registry (a few records, which expire without a notice when a runner dies) is read when it
/// changes and at every poll; each runner's status is polled at the refresh rate.
fn spawn_data(
    nats_args: NatsArgs,
    token: Option<String>,
    tx: mpsc::UnboundedSender<Msg>,
    mut refresh: watch::Receiver<Duration>,
) {
    tokio::spawn(async move {
        let nudge = std::sync::Arc::new(Notify::new());
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
        let nats = loop {
            match connect(&nats_args).await {
                Ok(n) => break n,
                Err(e) => {
                    if tx.send(Msg::Conn(false, e.message.clone())).is_err() {
                        return;
                    }
                    tokio::time::sleep(backoff.next_wait()).await;
                }
            }
        };
        let _ = tx.send(Msg::Conn(true, "connected".into()));
        let placements: Shared<String> = followed();
        let claims: Shared<Option<ClaimRecord>> = followed();
        follow(
            nats.js.clone(),
            nats_args.placement_bucket.clone(),
            ">",
            |v| String::from_utf8_lossy(v).trim().to_string(),
            placements.clone(),
            nudge.clone(),
        );
        follow(
            nats.js.clone(),
            nats_args.handoff_bucket.clone(),
            "claim.>",
            |v| serde_json::from_slice(v).ok(),
            claims.clone(),
            nudge.clone(),
        );
        {
            // Registry changes (states, heartbeats) nudge a read of the registry.
            let (js, bucket, nudge) = (
                nats.js.clone(),
                nats_args.registry_bucket.clone(),
                nudge.clone(),
            );
            tokio::spawn(async move {
                loop {
                    if let Ok(kv) = js.get_key_value(&bucket).await
                        && let Ok(mut w) = kv.watch_all().await
                    {
                        while let Some(Ok(_)) = w.next().await {
                            nudge.notify_one();
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            });
        }
        let mut poll_at = tokio::time::Instant::now();
        let (mut pv, mut cv) = (u64::MAX, u64::MAX);
        let (mut pmap, mut cmap) = (BTreeMap::new(), BTreeMap::new());
        loop {
            let poll = tokio::time::Instant::now() >= poll_at;
            match registry_checked(&nats).await {
                Ok((shards, garbage)) => {
                    let _ = tx.send(Msg::Conn(true, "connected".into()));
                    {
                        let p = placements.lock().unwrap_or_else(|p| p.into_inner());
                        if p.version != pv {
                            pv = p.version;
                            pmap = p.map.clone();
                        }
                    }
                    {
                        let c = claims.lock().unwrap_or_else(|p| p.into_inner());
                        if c.version != cv {
                            cv = c.version;
                            cmap = c
                                .map
                                .iter()
                                .filter_map(|(k, v)| {
                                    Some((k.strip_prefix("claim.")?.to_string(), v.clone()?))
                                })
                                .collect();
                        }
                    }
                    let fleet = Fleet {
                        shards,
                        placements: pmap.clone(),
                        claims: cmap.clone(),
                        garbage,
                    };
                    let urls: Vec<(String, String)> = fleet
                        .shards
                        .iter()
                        .map(|s| (s.shard_id.clone(), s.admin_url.clone()))
                        .collect();
                    if tx.send(Msg::Fleet(fleet)).is_err() {
                        return;
                    }
                    if poll {
                        poll_at = tokio::time::Instant::now() + *refresh.borrow_and_update();
                        let statuses =
                            futures_util::future::join_all(urls.into_iter().map(|(shard, url)| {
                                let token = token.clone();
                                async move {
                                    let r =
                                        async { Admin::new(&url, token)?.status(true).await }.await;
                                    (shard, r.map(Box::new).map_err(|e| e.message))
                                }
                            }))
                            .await;
                        if tx.send(Msg::Statuses(statuses)).is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    poll_at = tokio::time::Instant::now() + *refresh.borrow_and_update();
                    if tx.send(Msg::Conn(false, e.message)).is_err() {
                        return;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep_until(poll_at) => {}
                _ = nudge.notified() => {
                    // A burst of changes (a placement batch, heartbeats) makes one update.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                _ = refresh.changed() => {
                    poll_at = tokio::time::Instant::now();
                }
            }
        }
    });
}

#[cfg(test)]
mod tests;
