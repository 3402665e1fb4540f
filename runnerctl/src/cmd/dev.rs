//! `runnerctl dev`: a complete local stack in one command, like a dev server. It starts
//! nats-server with JetStream (found or installed, see shared::devtools), one runner on a
//! temporary volume with the example sagas, and a steady generator of sample events, then
//! shows the runner's status live. Ctrl-C stops everything it started and removes what it
//! created unless `--keep`.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use shared::devtools::{NatsCluster, NatsServer, ServerOptions};
use shared::edge_storage::{Holder, LOCK_FILE};
use shared::ids::TenantId;

use crate::cli::DevArgs;
use crate::client::Admin;
use crate::exit::{CliError, Kind};
use crate::output;

/// The example sagas, shipped inside the binary so `dev` works from anywhere.
const EXAMPLE_SAGAS: &str = include_str!("../../../docs/examples/sagas.toml");
/// Partition groups of the dev stack's event layout (docs/consumption.md#the-layout): the
/// server maps `evt.<tenant>.<saga>` to the group streams, each shard reads its share.
const DEV_PARTITIONS: u16 = 8;

fn runner_binary(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    if let Some(p) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("runner")))
        .filter(|p| p.is_file())
    {
        return Ok(p);
    }
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|d| d.join("runner")).find(|p| p.is_file()))
        .ok_or_else(|| {
            CliError::usage("cannot find the runner binary next to runnerctl or on PATH; build it (cargo build -p runner) or pass --runner-bin").into()
        })
}

/// The requested admin address, or a free port on the same interface if it is taken.
fn admin_addr(wanted: SocketAddr) -> SocketAddr {
    match std::net::TcpListener::bind(wanted) {
        Ok(_) => wanted,
        Err(_) => SocketAddr::new(wanted.ip(), 0),
    }
}

struct RunnerProc {
    child: Child,
    log: PathBuf,
}

impl RunnerProc {
    fn stop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(20).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for RunnerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_admin(proc: &mut RunnerProc, dir: &Path) -> anyhow::Result<String> {
    let pid = proc.child.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = proc.child.try_wait()? {
            bail!(
                "the runner exited during start ({status}); its log:\n{}",
                proc.log_tail()
            );
        }
        let holder = std::fs::read_to_string(dir.join(LOCK_FILE))
            .ok()
            .and_then(|s| serde_json::from_str::<Holder>(&s).ok())
            .filter(|h| h.pid == pid);
        if let Some(url) = holder.and_then(|h| h.admin_url)
            && let Ok(admin) = Admin::new(&url, None)
            && admin.ready().await.is_ok()
        {
            return Ok(url);
        }
        if Instant::now() > deadline {
            bail!(
                "the runner did not become ready within 60 s; its log:\n{}",
                proc.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The shards of the stack: `shard-a`, `shard-b`, ...
fn shard_ids(n: u8) -> Vec<String> {
    (0..n)
        .map(|i| format!("shard-{}", (b'a' + i) as char))
        .collect()
}

/// The shard tenant `i` is placed on: round-robin.
fn shard_of(shard_ids: &[String], i: usize) -> &str {
    &shard_ids[i % shard_ids.len()]
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    let tenants = check_args(&args)?;
    let runner_bin = runner_binary(args.runner_bin.clone())?;
    let work = tempfile::Builder::new()
        .prefix("runner-dev-")
        .tempdir()
        .context("cannot create a temp dir")?;
    let root = work.path().to_path_buf();
    let sagas = match &args.sagas {
        Some(p) => p.clone(),
        None => {
            let p = root.join("sagas.toml");
            std::fs::write(&p, EXAMPLE_SAGAS)?;
            p
        }
    };
    let nats = start_nats(&root, args.nats_port, args.cluster).await?;
    let shard_ids = shard_ids(args.shards);
    let js = place_tenants(&nats, &tenants, &shard_ids).await?;
    let stack = Stack {
        runner_bin: &runner_bin,
        root: &root,
        sagas: &sagas,
        nats_url: nats.url(),
    };
    let mut runners = Vec::new();
    let mut urls = Vec::new();
    for (i, shard) in shard_ids.iter().enumerate() {
        let (proc, url) = stack.start_runner(shard, i, args.admin_addr).await?;
        runners.push((shard.clone(), proc));
        urls.push(url);
    }

    serving(&urls, tenants.len()).await;
    let stop = tokio_util_free::Stop::default();
    let gen_task = tokio::spawn(generate(js, tenants.clone(), args.rate, stop.clone()));
    let intro = intro(&args, &nats.url(), &tenants, &shard_ids, &runners, &urls);
    let live_view = !args.no_view && std::io::stdout().is_terminal();
    if live_view {
        // The dashboard, on this stack; quitting it (q, Ctrl-C) stops the stack.
        dashboard(nats.url()).await;
        output::print(&intro);
    } else {
        output::print(&intro);
        let admins: Vec<Admin> = urls
            .iter()
            .map(|u| Admin::new(u, None))
            .collect::<Result<_, _>>()?;
        report_until_stopped(&admins, &mut runners).await;
    }

    eprintln!("\nstopping: generator, runners (they drain), nats-server...");
    stop.set();
    let published = gen_task.await.unwrap_or(0);
    tokio::task::spawn_blocking(move || {
        for (_, mut proc) in runners {
            proc.stop();
        }
    })
    .await?;
    drop(nats);
    if args.keep {
        let kept = work.keep();
        eprintln!("published {published} events; kept {}", kept.display());
    } else {
        drop(work);
        eprintln!("published {published} events; removed the volume, log and NATS store");
    }
    Ok(())
}

/// The tenants, once the flags are known to make sense.
fn check_args(args: &DevArgs) -> Result<Vec<TenantId>, CliError> {
    let tenants: Vec<TenantId> = args
        .tenants
        .iter()
        .map(|t| TenantId::new(t.trim()).map_err(|e| CliError::usage(format!("--tenants: {e}"))))
        .collect::<Result<_, _>>()?;
    if tenants.is_empty() {
        return Err(CliError::usage("--tenants: name at least one tenant"));
    }
    if args.rate == 0 || args.rate > 100_000 {
        return Err(CliError::usage(
            "--rate must be between 1 and 100000 events per second",
        ));
    }
    Ok(tenants)
}

/// Waits (up to 30 s) until the runners serve every tenant between them, so the stack is
/// ready when it says so (placement, and each shard's reading plan, take a moment).
async fn serving(urls: &[String], tenants: usize) {
    let admins: Vec<Admin> = urls
        .iter()
        .filter_map(|u| Admin::new(u, None).ok())
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let mut served = 0;
        for a in &admins {
            if let Ok(s) = a.status(false).await {
                served += s.tenants.len();
            }
        }
        if served >= tenants {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The stack's NATS: one server, or a cluster.
enum DevNats {
    One(Box<NatsServer>),
    Cluster(NatsCluster),
}

impl DevNats {
    /// The client URL(s), comma-separated.
    fn url(&self) -> String {
        match self {
            DevNats::One(s) => s.url(),
            DevNats::Cluster(c) => c.urls(),
        }
    }
}

/// nats-server with JetStream (or a cluster of `cluster` of them), its store under `root`,
/// on `port` if it is free (one server), with the account mapping of the partitioned
/// layout.
async fn start_nats(root: &Path, port: u16, cluster: u8) -> anyhow::Result<DevNats> {
    let store = root.join("nats");
    let conf = root.join("nats.conf");
    let layout = shared::layout::Layout::new(shared::names::DEFAULT_EVENT_STREAM, DEV_PARTITIONS);
    std::fs::write(&conf, layout.mapping_config().unwrap_or_default())
        .with_context(|| format!("cannot write {}", conf.display()))?;
    if cluster > 1 {
        eprintln!("starting a cluster of {cluster} nats-servers with JetStream...");
        let c = tokio::task::spawn_blocking(move || {
            NatsCluster::start_with(usize::from(cluster), Some(conf), Some(store))
        })
        .await?
        .map_err(|e| CliError::new(Kind::Unreachable, format!("cannot start the cluster: {e}")))?;
        return Ok(DevNats::Cluster(c));
    }
    eprintln!("starting nats-server with JetStream...");
    // (A statement of its own: the probe's listener must be closed before the server binds.)
    let port = std::net::TcpListener::bind(("127.0.0.1", port))
        .is_ok()
        .then_some(port);
    let nats = tokio::task::spawn_blocking(move || {
        NatsServer::start_with(ServerOptions {
            store_dir: Some(store),
            port,
            config_file: Some(conf),
            ..Default::default()
        })
    })
    .await?
    .map_err(|e| CliError::new(Kind::Unreachable, format!("cannot start nats-server: {e}")))?;
    Ok(DevNats::One(Box::new(nats)))
}

/// The placement bucket, with the tenants spread over the shards.
async fn place_tenants(
    nats: &DevNats,
    tenants: &[TenantId],
    shard_ids: &[String],
) -> anyhow::Result<async_nats::jetstream::Context> {
    let servers: shared::nats::ServerList = nats.url().parse().map_err(anyhow::Error::msg)?;
    let client = async_nats::connect(servers.addrs())
        .await
        .context("cannot connect to the dev nats-server")?;
    let size = shared::nats::cluster_size(&client.server_info());
    let replicas = shared::nats::Replicas::Auto.resolve(size);
    let js = async_nats::jetstream::new(client);
    let bucket = shared::placement::DEFAULT_PLACEMENT_BUCKET;
    // A new cluster elects its JetStream meta leader a moment after it starts.
    let deadline = Instant::now() + Duration::from_secs(30);
    let kv = loop {
        match shared::nats::open_or_create_bucket(
            &js,
            shared::nats::placement_bucket(bucket, replicas),
        )
        .await
        {
            Ok(kv) => break kv,
            Err(e) if Instant::now() > deadline => {
                return Err(CliError::failure(e.to_string()).into());
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    for (i, t) in tenants.iter().enumerate() {
        // (A bucket just made on a cluster may not answer for a moment.)
        loop {
            match kv
                .put(t.as_str(), shard_of(shard_ids, i).to_string().into())
                .await
            {
                Ok(_) => break,
                Err(e) if Instant::now() > deadline => {
                    return Err(anyhow::Error::new(e).context("cannot write the placement"));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
    Ok(js)
}

/// What every runner of the stack shares.
struct Stack<'a> {
    runner_bin: &'a Path,
    root: &'a Path,
    sagas: &'a Path,
    nats_url: String,
}

impl Stack<'_> {
    /// Starts runner number `i` and waits until it is ready; its admin URL.
    async fn start_runner(
        &self,
        shard: &str,
        i: usize,
        first_admin: SocketAddr,
    ) -> anyhow::Result<(RunnerProc, String)> {
        let volume = self.root.join(shard);
        let log = self.root.join(format!("{shard}.log"));
        let logf = std::fs::File::create(&log)?;
        // Port 0: a free port for each runner; else consecutive ports from the one given.
        let port = match first_admin.port() {
            0 => 0,
            p => p.saturating_add(i as u16),
        };
        let addr = admin_addr(SocketAddr::new(first_admin.ip(), port));
        eprintln!("starting runner {shard}...");
        let child = Command::new(self.runner_bin)
            .env("RUNNER_NATS_URL", &self.nats_url)
            .env("RUNNER_DATA_DIR", &volume)
            .env("RUNNER_SAGAS", self.sagas)
            .env("RUNNER_SHARD_ID", shard)
            .env("RUNNER_PARTITIONS", DEV_PARTITIONS.to_string())
            .env(
                "RUNNER_TENANT_PLACEMENT_BUCKET",
                shared::placement::DEFAULT_PLACEMENT_BUCKET,
            )
            .env("RUNNER_ADMIN_ADDR", addr.to_string())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(logf.try_clone()?)
            .stderr(logf)
            .spawn()
            .with_context(|| format!("cannot start {}", self.runner_bin.display()))?;
        let mut proc = RunnerProc { child, log };
        let url = wait_admin(&mut proc, &volume).await?;
        Ok((proc, url))
    }
}

/// Where everything is, and what to try.
fn intro(
    args: &DevArgs,
    nats_url: &str,
    tenants: &[TenantId],
    shard_ids: &[String],
    runners: &[(String, RunnerProc)],
    urls: &[String],
) -> String {
    let nats_hint = if nats_url == "nats://127.0.0.1:4222" {
        String::new()
    } else {
        format!("\n  env      export NATS_URL={nats_url}   (so runnerctl finds this NATS)")
    };
    let mut intro =
        format!("runnerctl dev: a local stack is running\n  nats     {nats_url}{nats_hint}\n");
    for ((shard, proc), url) in runners.iter().zip(urls) {
        let placed: Vec<&str> = tenants
            .iter()
            .enumerate()
            .filter(|(i, _)| shard_of(shard_ids, *i) == shard)
            .map(|(_, t)| t.as_str())
            .collect();
        intro += &format!(
            "  runner   {shard}: admin {url}, tenants {}, log {}\n",
            placed.join(","),
            proc.log.display()
        );
    }
    intro += &format!(
        "  events   {} per second of the example sagas (docs/examples/sagas.toml)\n  try      runnerctl shards    runnerctl placements    runnerctl status --url {}\n           runnerctl move {} --to {}    runnerctl drain {}\n  stop     Ctrl-C{}\n",
        args.rate,
        urls[0],
        tenants[0],
        shard_ids[shard_ids.len() - 1],
        shard_ids[0],
        if args.keep {
            " (everything is kept)"
        } else {
            " (everything is removed)"
        },
    );
    intro
}

/// The dashboard on the stack, until it is quit or a stop signal comes.
async fn dashboard(nats_url: String) {
    let nats_args = crate::cli::NatsArgs {
        nats_url,
        nats_creds: None,
        nats_user: None,
        nats_password: None,
        nats_token: None,
        nats_nkey: None,
        nats_tls_ca: None,
        placement_bucket: shared::placement::DEFAULT_PLACEMENT_BUCKET.to_string(),
        registry_bucket: shared::placement::DEFAULT_REGISTRY_BUCKET.to_string(),
        handoff_bucket: shared::placement::DEFAULT_HANDOFF_BUCKET.to_string(),
        snapshot_bucket: shared::snapshots::DEFAULT_BUCKET.to_string(),
        replicas: shared::nats::Replicas::Auto,
        stream: shared::names::DEFAULT_EVENT_STREAM.to_string(),
    };
    let tui = crate::cli::TuiArgs {
        volume: None,
        allow_live: false,
        readonly: false,
        refresh: Duration::from_secs(1),
        log_file: None,
    };
    let shown = tokio::select! {
        r = crate::tui::run(tui, &nats_args, None) => r,
        _ = stop_signal() => {
            // The dashboard was dropped mid-draw: give the terminal back.
            ratatui::restore();
            Ok(())
        }
    };
    if let Err(e) = shown {
        eprintln!("dashboard: {e}");
    }
}

/// Without the dashboard: a line per runner every 10 s, until a stop signal or a runner
/// exits.
async fn report_until_stopped(admins: &[Admin], runners: &mut [(String, RunnerProc)]) {
    let mut last_line = Instant::now() - Duration::from_secs(60);
    let stopped = stop_signal();
    tokio::pin!(stopped);
    'run: loop {
        let mut statuses = Vec::new();
        for a in admins {
            statuses.push(a.status(true).await);
        }
        if last_line.elapsed() >= Duration::from_secs(10) {
            last_line = Instant::now();
            for (s, (shard, _)) in statuses.iter().zip(runners.iter()) {
                match s {
                    Ok(s) => output::println(&format!(
                        "{shard}: {} tenants, applied {} deduped {} ignored {} dead-lettered {} timers {} outbox {} reader at {}",
                        s.tenants.len(),
                        s.totals.applied,
                        s.totals.deduped,
                        s.totals.ignored,
                        s.totals.dead_lettered,
                        s.totals.timers_fired,
                        s.outbox_depth,
                        s.reader.position
                    )),
                    Err(e) => eprintln!("{shard}: status unavailable: {e}"),
                }
            }
        }
        for (shard, proc) in runners.iter_mut() {
            if let Ok(Some(st)) = proc.child.try_wait() {
                eprintln!(
                    "runner {shard} exited ({st}); its log:\n{}",
                    proc.log_tail()
                );
                break 'run;
            }
        }
        tokio::select! {
            _ = &mut stopped => break,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Ctrl-C, SIGTERM or SIGHUP (a closed terminal): each stops the stack cleanly.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut hup = signal(SignalKind::hangup()).expect("SIGHUP handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}

/// A stop flag shared with the generator.
mod tokio_util_free {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[derive(Clone, Default)]
    pub struct Stop(Arc<AtomicBool>);

    impl Stop {
        pub fn set(&self) {
            self.0.store(true, Ordering::Relaxed);
        }
        pub fn is_set(&self) -> bool {
            self.0.load(Ordering::Relaxed)
        }
    }
}

fn envelope(id: &str, ty: &str, key: &str, data: serde_json::Value) -> bytes::Bytes {
    serde_json::json!({"id": id, "type": ty, "key": key, "data": data})
        .to_string()
        .into()
}

/// Publishes sample events at `rate` per second until stopped: orders that are paid and
/// shipped (or left to time out), account deposits, now and then a duplicate and a malformed
/// event so the dedupe and dead-letter paths show. Returns how many it published.
async fn generate(
    js: async_nats::jetstream::Context,
    tenants: Vec<TenantId>,
    rate: u32,
    stop: tokio_util_free::Stop,
) -> u64 {
    let tick = Duration::from_millis(100);
    let per_tick = (rate as f64 / 10.0).max(0.0);
    let mut budget = 0.0;
    let mut n: u64 = 0;
    // (due, subject, payload)
    let mut later: VecDeque<(Instant, String, bytes::Bytes)> = VecDeque::new();
    let mut published = 0u64;
    let mut warned = false;
    while !stop.is_set() {
        budget += per_tick;
        while budget >= 1.0 {
            budget -= 1.0;
            n += 1;
            let t = &tenants[(n as usize) % tenants.len()];
            let (subject, payload) = if later
                .front()
                .is_some_and(|(due, _, _)| *due <= Instant::now())
            {
                let (_, s, p) = later.pop_front().expect("front");
                (s, p)
            } else if n.is_multiple_of(500) {
                (
                    format!("evt.{t}.order"),
                    bytes::Bytes::from_static(b"{this is not json"),
                )
            } else if n.is_multiple_of(5) {
                let acc = format!("acc-{}", n % 7);
                (
                    format!("evt.{t}.account"),
                    envelope(
                        &format!("dep-{n}"),
                        "Deposited",
                        &acc,
                        serde_json::json!({"amount": n % 100 + 1}),
                    ),
                )
            } else {
                let order = format!("o-{n}");
                let now = Instant::now();
                let subject = format!("evt.{t}.order");
                if !n.is_multiple_of(4) {
                    later.push_back((
                        now + Duration::from_secs(2),
                        subject.clone(),
                        envelope(
                            &format!("pay-{n}"),
                            "PaymentCaptured",
                            &order,
                            serde_json::json!({}),
                        ),
                    ));
                    later.push_back((
                        now + Duration::from_secs(4),
                        subject.clone(),
                        envelope(
                            &format!("ship-{n}"),
                            "OrderShipped",
                            &order,
                            serde_json::json!({}),
                        ),
                    ));
                }
                if n.is_multiple_of(200) {
                    // A duplicate delivery of the same event id.
                    later.push_back((
                        now + Duration::from_secs(1),
                        subject.clone(),
                        envelope(
                            &format!("place-{n}"),
                            "OrderPlaced",
                            &order,
                            serde_json::json!({"amount": 10, "customer": "c"}),
                        ),
                    ));
                }
                (
                    subject,
                    envelope(
                        &format!("place-{n}"),
                        "OrderPlaced",
                        &order,
                        serde_json::json!({"amount": n % 90 + 10, "customer": format!("cust-{}", n % 13)}),
                    ),
                )
            };
            let mut v: Vec<_> = later.drain(..).collect();
            v.sort_by_key(|(d, _, _)| *d);
            later.extend(v);
            match js.publish(subject, payload).await {
                Ok(ack) => {
                    if ack.await.is_ok() {
                        published += 1;
                    }
                }
                Err(e) if !warned => {
                    eprintln!("generator: publish failed: {e}");
                    warned = true;
                }
                Err(_) => {}
            }
        }
        tokio::time::sleep(tick).await;
    }
    published
}
