//! `runnerctl tui`: the live fleet (shard registry, placement, the runners' admin APIs) or
//! a stopped volume (`--volume`). Data is fetched in tasks that send messages; keys come
//! from a thread; the UI thread only draws, so it never blocks on the network or disk.
//! The terminal is restored on exit, on error and on panic (ratatui's hook).

pub mod app;
pub mod offline;
pub mod ui;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use futures_util::StreamExt;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use shared::placement::{ClaimRecord, ShardRecord};
use shared::wire::{ReplayAccepted, ReplayRequest, ReplayStatus, StatusResponse};
use tokio::sync::{Notify, mpsc, watch};

use crate::cli::{NatsArgs, TuiArgs};
use crate::client::Admin;
use crate::exit::CliError;
use crate::nats::{Nats, connect, latest};
use app::{App, Effect, Fleet, Msg};

pub async fn run(args: TuiArgs, nats_args: &NatsArgs, token: Option<String>) -> anyhow::Result<()> {
    if !std::io::stdout().is_terminal() {
        return Err(CliError::usage(
            "runnerctl tui needs a terminal (use status, shards, placements or inspect in scripts)",
        )
        .into());
    }
    let theme = ui::Theme {
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true),
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
        let loader = offline::spawn_loader(path.clone(), args.allow_live, tx.clone());
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
            terminal.draw(|f| ui::draw(f, &app, &theme))?;
            if let Some(s) = frames.as_mut() {
                s.micros.push(t0.elapsed().as_micros() as u64);
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
/// draw (layout, render and the write to the terminal) is kept and written there as JSON
/// on exit (`frames`, `p50_us`, `p99_us`, `max_us`).
struct FrameStats {
    path: std::path::PathBuf,
    micros: Vec<u64>,
}

impl FrameStats {
    fn from_env() -> Option<FrameStats> {
        std::env::var_os("RUNNERCTL_TUI_STATS").map(|p| FrameStats {
            path: p.into(),
            micros: Vec::new(),
        })
    }

    fn write(mut self) {
        self.micros.sort_unstable();
        let q = |f: f64| {
            self.micros
                .get(((self.micros.len() as f64 - 1.0) * f).round() as usize)
                .copied()
                .unwrap_or(0)
        };
        let out = serde_json::json!({
            "frames": self.micros.len(),
            "p50_us": q(0.5),
            "p99_us": q(0.99),
            "max_us": self.micros.last().copied().unwrap_or(0),
        });
        if let Err(e) = std::fs::write(&self.path, out.to_string()) {
            tracing::warn!("cannot write frame stats to {}: {e}", self.path.display());
        }
    }
}

impl EffectRunner {
    fn run(&self, e: Effect) {
        let tx = self.tx.clone();
        let token = self.token.clone();
        match e {
            Effect::SetRefresh(d) => {
                let _ = self.refresh.send(d);
            }
            Effect::Drain { shard, url } => state_change(tx, token, shard, url, true),
            Effect::Resume { shard, url } => state_change(tx, token, shard, url, false),
            Effect::PlanReplay {
                url,
                tenant,
                saga,
                mode,
            } => {
                tokio::spawn(async move {
                    let r = async {
                        let a = Admin::new(&url, token)?;
                        a.post(
                            "/admin/replay",
                            &ReplayRequest {
                                tenant_id: tenant,
                                saga_name: saga,
                                mode,
                                dry_run: true,
                            },
                        )
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
                tokio::spawn(async move {
                    let r = async {
                        let a = Admin::new(&url, token)?;
                        let acc: ReplayAccepted = a
                            .post(
                                "/admin/replay",
                                &ReplayRequest {
                                    tenant_id: tenant.clone(),
                                    saga_name: saga.clone(),
                                    mode,
                                    dry_run: false,
                                },
                            )
                            .await?;
                        let _ = tx.send(Msg::Log(format!(
                            "replay {} of {tenant}/{saga} ({}) started",
                            acc.replay_id,
                            mode.as_str()
                        )));
                        loop {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            let s: ReplayStatus = a.get(&acc.status_url).await?;
                            let _ = tx.send(Msg::Log(format!(
                                "replay {}: {} at {} of {}, applied {}",
                                s.replay_id,
                                s.state,
                                s.position,
                                s.target_seq.unwrap_or(0),
                                s.applied
                            )));
                            if s.state != "running" && s.state != "paused" {
                                return Ok::<_, CliError>(());
                            }
                        }
                    }
                    .await;
                    if let Err(e) = r {
                        let _ = tx.send(Msg::Log(format!("replay: {e}")));
                    }
                });
            }
            Effect::Move { tenant, to } => {
                let nats = self.nats.clone();
                tokio::spawn(async move {
                    let _ = tx.send(Msg::Log(format!("moving {tenant} to {to}...")));
                    let exe = std::env::current_exe();
                    let r = async {
                        let mut c = tokio::process::Command::new(exe.map_err(|e| e.to_string())?);
                        c.args([
                            "move",
                            &tenant,
                            "--to",
                            &to,
                            "-o",
                            "json",
                            "--reason",
                            "runnerctl tui",
                        ])
                        .args(["--nats-url", &nats.nats_url])
                        .args(["--placement-bucket", &nats.placement_bucket])
                        .args(["--registry-bucket", &nats.registry_bucket])
                        .args(["--handoff-bucket", &nats.handoff_bucket])
                        .env_remove("RUNNERCTL_CONTEXT")
                        .stdin(std::process::Stdio::null());
                        for (k, v) in [
                            ("RUNNERCTL_TOKEN", token),
                            ("RUNNERCTL_NATS_PASSWORD", nats.nats_password.clone()),
                            ("RUNNERCTL_NATS_TOKEN", nats.nats_token.clone()),
                            ("RUNNERCTL_NATS_USER", nats.nats_user.clone()),
                        ] {
                            if let Some(v) = v {
                                c.env(k, v);
                            }
                        }
                        for (flag, v) in [
                            ("--nats-creds", &nats.nats_creds),
                            ("--nats-nkey", &nats.nats_nkey),
                            ("--nats-tls-ca", &nats.nats_tls_ca),
                        ] {
                            if let Some(p) = v {
                                c.arg(flag).arg(p);
                            }
                        }
                        let out = c.output().await.map_err(|e| e.to_string())?;
                        if out.status.success() {
                            Ok(())
                        } else {
                            Err(String::from_utf8_lossy(&out.stderr)
                                .lines()
                                .last()
                                .unwrap_or("move failed")
                                .to_string())
                        }
                    }
                    .await;
                    let _ = tx.send(Msg::Log(match r {
                        Ok(()) => format!("moved {tenant} to {to}"),
                        Err(e) => format!("move of {tenant}: {e}"),
                    }));
                });
            }
        }
    }
}

/// Drains or resumes a runner; the result goes to the change log.
fn state_change(
    tx: mpsc::UnboundedSender<Msg>,
    token: Option<String>,
    shard: String,
    url: String,
    drain: bool,
) {
    tokio::spawn(async move {
        let r = async {
            let a = Admin::new(&url, token)?;
            let path = if drain {
                "/admin/drain"
            } else {
                "/admin/resume"
            };
            let _: serde_json::Value = a.post(path, &serde_json::json!({})).await?;
            Ok::<_, CliError>(())
        }
        .await;
        let _ = tx.send(Msg::Log(match r {
            Ok(()) if drain => format!("{shard}: drain started"),
            Ok(()) => format!("{shard}: resumed"),
            Err(e) => format!("{shard}: {e}"),
        }));
    });
}

/// Fetches the fleet (registry, placement, claims) and each runner's status at the refresh
/// rate, and at once when the placement or registry bucket changes.
fn spawn_data(
    nats_args: NatsArgs,
    token: Option<String>,
    tx: mpsc::UnboundedSender<Msg>,
    mut refresh: watch::Receiver<Duration>,
) {
    tokio::spawn(async move {
        let nudge = std::sync::Arc::new(Notify::new());
        let mut backoff = Duration::from_millis(500);
        let nats = loop {
            match connect(&nats_args).await {
                Ok(n) => break n,
                Err(e) => {
                    if tx.send(Msg::Conn(false, e.message.clone())).is_err() {
                        return;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        };
        let _ = tx.send(Msg::Conn(true, "connected".into()));
        for bucket in [
            nats_args.placement_bucket.clone(),
            nats_args.registry_bucket.clone(),
        ] {
            let (js, nudge) = (nats.js.clone(), nudge.clone());
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
        let http_token = token;
        loop {
            match fleet(&nats).await {
                Ok(f) => {
                    let _ = tx.send(Msg::Conn(true, "connected".into()));
                    let shards = f.shards.clone();
                    if tx.send(Msg::Fleet(f)).is_err() {
                        return;
                    }
                    let statuses = futures_util::future::join_all(shards.iter().map(|s| {
                        let token = http_token.clone();
                        async move {
                            let r = async {
                                Admin::new(&s.admin_url, token)?
                                    .get::<StatusResponse>("/admin/status")
                                    .await
                            }
                            .await;
                            (s.shard_id.clone(), r.map(Box::new).map_err(|e| e.message))
                        }
                    }))
                    .await;
                    for (shard, r) in statuses {
                        let _ = tx.send(Msg::Status(shard, r));
                    }
                }
                Err(e) => {
                    if tx.send(Msg::Conn(false, e)).is_err() {
                        return;
                    }
                }
            }
            let every = *refresh.borrow_and_update();
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = nudge.notified() => {}
                _ = refresh.changed() => {}
            }
        }
    });
}

async fn fleet(nats: &Nats) -> Result<Fleet, String> {
    let (shards, garbage): (Vec<ShardRecord>, Vec<String>) =
        crate::cmd::shards::registry_checked(nats)
            .await
            .map_err(|e| e.message)?;
    let placements: BTreeMap<String, String> =
        match nats.maybe_bucket(&nats.args.placement_bucket).await {
            Ok(Some(_)) => latest(nats, &nats.args.placement_bucket, ">")
                .await
                .map_err(|e| e.message)?
                .into_iter()
                .filter(|e| e.live)
                .map(|e| (e.key, String::from_utf8_lossy(&e.value).trim().to_string()))
                .collect(),
            Ok(None) => BTreeMap::new(),
            Err(e) => return Err(e.message),
        };
    let claims: BTreeMap<String, ClaimRecord> =
        match nats.maybe_bucket(&nats.args.handoff_bucket).await {
            Ok(Some(_)) => latest(nats, &nats.args.handoff_bucket, "claim.>")
                .await
                .map_err(|e| e.message)?
                .into_iter()
                .filter(|e| e.live)
                .filter_map(|e| {
                    let t = e.key.strip_prefix("claim.")?.to_string();
                    serde_json::from_slice::<ClaimRecord>(&e.value)
                        .ok()
                        .map(|c| (t, c))
                })
                .collect(),
            Ok(None) => BTreeMap::new(),
            Err(e) => return Err(e.message),
        };
    Ok(Fleet {
        shards,
        placements,
        claims,
        garbage,
    })
}

#[cfg(test)]
mod tests;
