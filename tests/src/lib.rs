//! Harness for end-to-end tests and benchmarks: real `nats-server`, real `runner` and
//! `runnerctl` processes, each with its own temp dirs, and helpers to publish events, wait
//! for conditions with deadlines, and read volumes through `edge_storage`.

/// An HTTP client for tests and benchmarks. In a workspace build reqwest has runnerctl's
/// TLS features (rustls without a built-in provider), so the ring provider is installed for
/// the process first.
pub fn http() -> reqwest::Client {
    http_builder().build().expect("an HTTP client")
}

/// [`http`]'s builder, for clients with settings of their own.
pub fn http_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

pub mod bench;
pub mod check;
pub mod natsproxy;
pub mod soak;
pub mod timers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use async_nats::jetstream;
pub use shared::devtools::{NatsServer, ServerOptions};
use shared::edge_storage::{Holder, InstanceRecord, LOCK_FILE, Outcome, TableId, Volume, keys};
use shared::wire::StatusResponse;

/// Directory holding the workspace's built binaries (next to this test's `deps/`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().expect("exe dir");
    if dir.ends_with("deps") {
        dir.parent().expect("target dir").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// Path of a workspace binary; fails clearly when it was not built.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.is_file(),
        "{} is not built: run `cargo build -p {name}` (the test command does)",
        p.display()
    );
    p
}

/// The example saga file shipped in docs/.
pub fn example_sagas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/sagas.toml")
}

/// A benchmark option from the environment, or its default.
pub fn env_or<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

/// Peak resident memory (VmHWM) of a process, in MB; NaN when unknown.
pub fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// The `q` quantile (0..=1) of samples, nearest rank; NaN when empty.
pub fn quantile_of(samples: &[f64], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Polls `GET /admin/replay/<id>` of the runner at `url` until the replay is over
/// (completed, or cancelled by a release); its last status as JSON.
pub async fn wait_replay_over(url: &str, id: &str, within: Duration) -> Result<serde_json::Value> {
    let http = http();
    let path = format!("{url}{}", shared::routes::replay_status(id));
    eventually(within, "the replay to end", || async {
        let v: serde_json::Value = http.get(&path).send().await.ok()?.json().await.ok()?;
        let state: shared::wire::ReplayState = serde_json::from_value(v["state"].clone()).ok()?;
        (!state.is_active()).then_some(v)
    })
    .await
}

/// Polls `f` every 20 ms until it returns `Some`, or fails after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out after {within:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How to start a runner.
#[derive(Debug, Clone)]
pub struct RunnerSpec {
    pub shard: String,
    pub data_dir: PathBuf,
    pub nats_url: String,
    pub tenants: Vec<String>,
    pub sagas: PathBuf,
    /// Follow this placement bucket (`RUNNER_TENANT_PLACEMENT_BUCKET`).
    pub placement: Option<String>,
    pub env: BTreeMap<String, String>,
}

impl RunnerSpec {
    pub fn new(nats: &NatsServer, data_dir: &Path, tenants: &[&str]) -> Self {
        Self::at(nats.url(), data_dir, tenants)
    }

    /// A runner of `tenants` on the NATS servers `urls` (one URL or several, comma-separated).
    pub fn at(urls: String, data_dir: &Path, tenants: &[&str]) -> Self {
        RunnerSpec {
            shard: "shard-a".into(),
            data_dir: data_dir.to_path_buf(),
            nats_url: urls,
            tenants: tenants.iter().map(|t| t.to_string()).collect(),
            sagas: example_sagas(),
            placement: None,
            env: BTreeMap::new(),
        }
    }

    /// A runner of shard `shard` following the default placement bucket.
    pub fn placed(nats: &NatsServer, data_dir: &Path, shard: &str) -> Self {
        let mut s = Self::new(nats, data_dir, &[]);
        s.shard = shard.to_string();
        s.placement = Some(shared::placement::DEFAULT_PLACEMENT_BUCKET.to_string());
        s
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.insert(k.into(), v.into());
        self
    }
}

/// A running `runner` process, killed when dropped. Its log is printed if the test panics.
pub struct Runner {
    pub spec: RunnerSpec,
    child: Option<Child>,
    pub log: PathBuf,
    pub admin_url: String,
    http: reqwest::Client,
}

impl Runner {
    /// Spawns the runner without waiting for it.
    pub fn spawn(spec: &RunnerSpec, log: &Path) -> Result<Child> {
        let logf = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let mut cmd = Command::new(bin("runner"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUNNER_NATS_URL", &spec.nats_url)
            .env("RUNNER_DATA_DIR", &spec.data_dir)
            .env("RUNNER_SAGAS", &spec.sagas)
            .env("RUNNER_SHARD_ID", &spec.shard)
            .env("RUNNER_ADMIN_ADDR", "127.0.0.1:0")
            .env("NO_COLOR", "1");
        if !spec.tenants.is_empty() {
            cmd.env("RUNNER_TENANT_ALLOWLIST", spec.tenants.join(","));
        }
        if let Some(b) = &spec.placement {
            cmd.env("RUNNER_TENANT_PLACEMENT_BUCKET", b);
        }
        if let Ok(level) = std::env::var("RUNNER_TEST_LOG") {
            cmd.env("RUST_LOG", level);
        }
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(logf.try_clone()?)
            .stderr(logf);
        cmd.spawn().context("spawning runner")
    }

    /// Starts a runner and waits until it is ready (`/readyz` 200).
    pub async fn start(spec: RunnerSpec) -> Result<Runner> {
        let mut r = Self::start_unready(spec)?;
        r.wait_ready().await?;
        Ok(r)
    }

    /// Starts a runner and returns at once; `wait_ready` or `wait_listening` follow.
    pub fn start_unready(spec: RunnerSpec) -> Result<Runner> {
        let log = spec.data_dir.with_extension("log");
        let child = Self::spawn(&spec, &log)?;
        Ok(Runner {
            spec,
            child: Some(child),
            log,
            admin_url: String::new(),
            http: http(),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Waits for this process to hold the volume and answer `/readyz` with 200.
    pub async fn wait_ready(&mut self) -> Result<()> {
        self.wait_admin(true).await
    }

    /// Waits only for this process to hold the volume and serve its admin API (it may still
    /// be starting: a benchmark that samples its counters from the first event on).
    pub async fn wait_listening(&mut self) -> Result<()> {
        self.wait_admin(false).await
    }

    async fn wait_admin(&mut self, ready: bool) -> Result<()> {
        let pid = self.pid().ok_or_else(|| anyhow!("runner not started"))?;
        let lock = self.spec.data_dir.join(LOCK_FILE);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!(
                    "runner exited during start ({status}); log:\n{}",
                    self.log_text()
                );
            }
            if let Some(url) = std::fs::read_to_string(&lock)
                .ok()
                .and_then(|s| serde_json::from_str::<Holder>(&s).ok())
                .filter(|h| h.pid == pid)
                .and_then(|h| h.admin_url)
            {
                self.admin_url = url;
                if !ready {
                    return Ok(());
                }
                let ready = self
                    .http
                    .get(format!("{}/readyz", self.admin_url))
                    .send()
                    .await;
                if ready.is_ok_and(|r| r.status().is_success()) {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("runner not ready within 30 s; log:\n{}", self.log_text());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET /admin/status` (with the runner's RUNNER_ADMIN_TOKEN, if it has one)
    pub async fn status(&self) -> Result<StatusResponse> {
        let mut req = self.http.get(format!("{}/admin/status", self.admin_url));
        if let Some(t) = self.spec.env.get("RUNNER_ADMIN_TOKEN") {
            req = req.bearer_auth(t);
        }
        let r = req.send().await?.error_for_status()?;
        Ok(r.json().await?)
    }

    /// Kills the process with SIGKILL (no chance to clean up) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits for the exit (at most `within`).
    pub fn terminate(&mut self, within: Duration) -> Result<ExitStatus> {
        let mut c = self
            .child
            .take()
            .ok_or_else(|| anyhow!("runner not running"))?;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )?;
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = c.try_wait()? {
                return Ok(s);
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let text = self.log_text();
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                bail!(
                    "runner did not exit within {within:?} of SIGTERM; log tail:\n{}",
                    tail.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the process again with the same spec (after a kill or stop).
    pub async fn restart(&mut self) -> Result<()> {
        self.kill9();
        self.child = Some(Self::spawn(&self.spec, &self.log)?);
        self.wait_ready().await
    }

    /// Waits until every owned tenant+saga's checkpoint reaches `seq` of the stream, i.e.
    /// every event up to there was handled.
    pub async fn wait_caught_up(&self, within: Duration) -> Result<StatusResponse> {
        let last = std::sync::Mutex::new(None);
        let r = eventually(within, "the runner to catch up with the stream", || async {
            let s = self.status().await.ok()?;
            // Partitioned: the group streams answered instead of the single stream, and a
            // tenant read by a reader of its own for good is as caught up as a live one.
            let answered = s.stream_last_seq.is_some()
                || (s.layout.starts_with("partitioned")
                    && s.groups.iter().all(|g| g.stream_last_seq.is_some()));
            let done = answered
                && s.tenants.iter().all(|t| {
                    (t.mode == shared::wire::CursorMode::Live || t.own_reader)
                        && t.sagas.iter().all(|sg| !sg.declared || sg.lag == Some(0))
                })
                && s.outbox_depth == 0;
            if done {
                return Some(s);
            }
            *last.lock().unwrap() = Some(s);
            None
        })
        .await;
        r.map_err(|e| {
            let text = self.log_text();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            anyhow!(
                "{e} (shard {}); last status: {}; log tail:\n{}",
                self.spec.shard,
                serde_json::to_string(&*last.lock().unwrap()).unwrap_or_default(),
                tail.join("\n")
            )
        })
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            let text = self.log_text();
            let tail: Vec<&str> = text.lines().rev().take(60).collect();
            eprintln!("---- runner {} log (last 60 lines) ----", self.spec.shard);
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

/// A JetStream context on a fresh connection.
pub async fn jetstream(nats: &NatsServer) -> Result<jetstream::Context> {
    let c = async_nats::connect(nats.url()).await?;
    Ok(jetstream::new(c))
}

/// An event envelope.
pub fn event(id: &str, ty: &str, key: &str, data: serde_json::Value) -> bytes::Bytes {
    serde_json::json!({"id": id, "type": ty, "key": key, "data": data})
        .to_string()
        .into()
}

/// Publishes events in order, awaiting the acks in chunks; returns their sequences.
pub async fn publish_all(
    js: &jetstream::Context,
    events: &[(String, bytes::Bytes)],
) -> Result<Vec<u64>> {
    let mut seqs = Vec::with_capacity(events.len());
    for chunk in events.chunks(500) {
        let mut acks = Vec::with_capacity(chunk.len());
        for (subject, payload) in chunk {
            acks.push(js.publish(subject.clone(), payload.clone()).await?);
        }
        for a in acks {
            seqs.push(a.await?.sequence);
        }
    }
    Ok(seqs)
}

/// Creates the event stream as the runner would (tests that publish before any runner
/// started need it).
pub async fn ensure_event_stream(js: &jetstream::Context) -> Result<()> {
    js.get_or_create_stream(jetstream::stream::Config {
        name: shared::names::DEFAULT_EVENT_STREAM.into(),
        subjects: vec![shared::names::EVENT_SUBJECTS.into()],
        allow_direct: true,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await?;
    Ok(())
}

/// Every message of a stream, as (subject, headers, payload), read with a throwaway
/// consumer. On a cluster just recovering from a fault JetStream may not answer at first:
/// the read is tried again for up to 30 s.
pub async fn read_stream(
    js: &jetstream::Context,
    stream: &str,
) -> Result<Vec<async_nats::jetstream::Message>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match read_stream_once(js, stream).await {
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("reading stream {stream}: {e}; trying again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}

async fn read_stream_once(
    js: &jetstream::Context,
    stream: &str,
) -> Result<Vec<async_nats::jetstream::Message>> {
    let s = js.get_stream(stream).await?;
    let total = s.cached_info().state.messages as usize;
    if total == 0 {
        return Ok(Vec::new());
    }
    let c = s
        .create_consumer(jetstream::consumer::pull::Config {
            ack_policy: jetstream::consumer::AckPolicy::None,
            memory_storage: true,
            ..Default::default()
        })
        .await?;
    let mut out = Vec::with_capacity(total);
    let mut msgs = shared::pull::Pull::start(js, &c, Default::default()).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while out.len() < total {
        match tokio::time::timeout_at(deadline, msgs.next()).await {
            Ok(m) => out.push(m?),
            _ => bail!("read only {} of {total} messages of {stream}", out.len()),
        }
    }
    Ok(out)
}

/// What a stopped volume holds, read through `edge_storage` (read-only).
#[derive(Debug, Default)]
pub struct VolumeContents {
    /// (tenant, saga, key) -> instance
    pub instances: BTreeMap<(String, String, String), InstanceRecord>,
    /// (tenant, saga, event id) -> outcome
    pub dedupe: BTreeMap<(String, String, String), Outcome>,
    /// (tenant, saga, instance key, timer, due ms) of every fired timer's marker
    pub timers_fired: std::collections::BTreeSet<(String, String, String, String, u64)>,
    pub checkpoints: BTreeMap<(String, String), u64>,
    pub outbox: u64,
    pub schedules: u64,
}

pub fn read_volume(dir: &Path) -> Result<VolumeContents> {
    let (vol, _) = Volume::open_read_only(dir, true)?;
    let mut c = VolumeContents::default();
    vol.read(|r| {
        r.scan(TableId::Sagas, &[], None, |k, v| {
            let (t, s, key) = keys::decode_three(k)?;
            let rec: InstanceRecord = postcard_decode(v)?;
            c.instances.insert((t.into(), s.into(), key.into()), rec);
            Ok(true)
        })?;
        r.scan(TableId::Dedupe, &[], None, |k, v| {
            let (t, s, m) = keys::decode_dedupe(k)?;
            let rec: shared::edge_storage::DedupeRecord = postcard_decode(v)?;
            match m {
                keys::Marked::Event(id) => {
                    c.dedupe
                        .insert((t.into(), s.into(), id.into()), rec.outcome);
                }
                keys::Marked::Timer { key, timer, due_ms } => {
                    c.timers_fired
                        .insert((t.into(), s.into(), key.into(), timer.into(), due_ms));
                }
            }
            Ok(true)
        })?;
        r.scan(TableId::Checkpoints, &[], None, |k, v| {
            let (t, s) = keys::decode_two(k)?;
            let rec: shared::edge_storage::Checkpoint = postcard_decode(v)?;
            c.checkpoints.insert((t.into(), s.into()), rec.seq);
            Ok(true)
        })?;
        c.outbox = r.entries(TableId::Outbox)?;
        c.schedules = r.entries(TableId::Schedules)?;
        Ok::<_, shared::edge_storage::StorageError>(())
    })?;
    Ok(c)
}

fn postcard_decode<T: serde::de::DeserializeOwned>(
    v: &[u8],
) -> Result<T, shared::edge_storage::StorageError> {
    shared::edge_storage::decode_value(v)
}

/// `runnerctl` pointed at `nats`, with colour off.
pub fn runnerctl(nats: &NatsServer) -> Command {
    runnerctl_at(&nats.url())
}

/// `runnerctl` pointed at the servers `urls` (one or several, comma-separated).
pub fn runnerctl_at(urls: &str) -> Command {
    let mut c = Command::new(bin("runnerctl"));
    c.env("NATS_URL", urls)
        .env("NO_COLOR", "1")
        // A developer's own config file must not steer the tests.
        .env("RUNNERCTL_CONFIG", "/nonexistent/runnerctl.toml")
        .env_remove("RUNNERCTL_CONTEXT")
        .env_remove("RUNNERCTL_TOKEN");
    c
}

/// Runs `runnerctl` and fails (with its output) unless it exits 0; returns stdout.
pub fn runnerctl_ok(nats: &NatsServer, args: &[&str]) -> Result<String> {
    let out = runnerctl(nats).args(args).output()?;
    if !out.status.success() {
        bail!(
            "runnerctl {} exited {}: {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

impl Runner {
    /// Waits until the runner serves exactly `tenants`, each live.
    pub async fn wait_serving(&self, tenants: &[&str], within: Duration) -> Result<StatusResponse> {
        let want: std::collections::BTreeSet<String> =
            tenants.iter().map(|t| t.to_string()).collect();
        eventually(
            within,
            &format!("shard {} to serve {want:?}", self.spec.shard),
            || async {
                let s = self.status().await.ok()?;
                let have: std::collections::BTreeSet<String> =
                    s.tenants.iter().map(|t| t.tenant.clone()).collect();
                (have == want
                    && s.tenants
                        .iter()
                        .all(|t| t.mode == shared::wire::CursorMode::Live || t.own_reader))
                .then_some(s)
            },
        )
        .await
    }
}

/// A TCP proxy in front of a server, to cut and restore a client's connection without
/// touching the server.
pub struct TcpProxy {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(target_port: u16) -> Result<TcpProxy> {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> =
            Default::default();
        let accept = tokio::spawn({
            let (up, conns) = (up.clone(), conns.clone());
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let task = tokio::spawn(async move {
                        if let Ok(mut outbound) =
                            tokio::net::TcpStream::connect(("127.0.0.1", target_port)).await
                        {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    conns.lock().expect("lock").push(task.abort_handle());
                }
            }
        });
        Ok(TcpProxy {
            port,
            up,
            conns,
            accept,
        })
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Drops every connection and refuses new ones until [`restore`](Self::restore).
    pub fn sever(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for c in self.conns.lock().expect("lock").drain(..) {
            c.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.sever();
        self.accept.abort();
    }
}

/// The dedupe markers (event ids) of one tenant+saga in a stopped volume.
pub fn applied_ids(
    dir: &Path,
    tenant: &str,
    saga: &str,
) -> Result<std::collections::BTreeSet<String>> {
    Ok(read_volume(dir)?
        .dedupe
        .into_keys()
        .filter(|(t, s, _)| t == tenant && s == saga)
        .map(|(_, _, id)| id)
        .collect())
}

/// A program running in a detached tmux session of a given size: keys in, screen out.
/// The session is killed on drop.
pub struct Tmux(pub String);

impl Tmux {
    /// Starts `cmd` (a shell command line; prefix it with `exec` to make the pane's pid the
    /// program's) in a new session `name` of `size` (columns, rows).
    pub fn start(name: &str, cmd: &str, size: (u16, u16)) -> Result<Tmux> {
        let st = std::process::Command::new("tmux")
            .args(["new-session", "-d", "-s", name])
            .args(["-x", &size.0.to_string(), "-y", &size.1.to_string(), cmd])
            .status()?;
        ensure!(st.success(), "tmux new-session failed (is tmux installed?)");
        Ok(Tmux(name.to_string()))
    }

    pub fn keys(&self, keys: &[&str]) -> Result<()> {
        let st = std::process::Command::new("tmux")
            .args(["send-keys", "-t", &self.0])
            .args(keys)
            .status()?;
        ensure!(st.success(), "tmux send-keys failed");
        Ok(())
    }

    /// The visible screen, as text.
    pub fn screen(&self) -> String {
        std::process::Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// The pid of the pane's process.
    pub fn pane_pid(&self) -> Result<u32> {
        let out = std::process::Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.0, "#{pane_pid}"])
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
    }

    pub fn alive(&self) -> bool {
        std::process::Command::new("tmux")
            .args(["has-session", "-t", &self.0])
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// Waits until the screen shows `what`; returns the screen.
    pub async fn wait_for(&self, within: Duration, what: &str) -> Result<String> {
        eventually(within, &format!("the screen to show {what:?}"), || async {
            let s = self.screen();
            s.contains(what).then_some(s)
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}; screen:\n{}", self.screen()))
    }

    /// Waits until the program has exited (the session is gone).
    pub async fn wait_gone(&self, within: Duration) -> Result<()> {
        eventually(within, "the program to exit", || async {
            (!self.alive()).then_some(())
        })
        .await
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// A small deterministic generator, seeded from the clock and printed, so a failing run can
/// be repeated with `E2E_SEED`.
pub fn rng() -> impl FnMut(u64) -> u64 {
    let seed = std::env::var("E2E_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("E2E_SEED={seed}");
    shared::devtools::Xorshift::new(seed).into_fn()
}

/// Deposits numbered `from..from + n` on `accounts` accounts (`acc0`...) of `t`'s account
/// saga: id `<t>-d<i>`, amount `i`. In stream order, each account's balance is the sum of
/// its numbers.
pub fn numbered_deposits(t: &str, from: u32, n: u32, accounts: u32) -> Vec<(String, bytes::Bytes)> {
    (from..from + n)
        .map(|i| {
            (
                format!("evt.{t}.account"),
                event(
                    &format!("{t}-d{i}"),
                    "Deposited",
                    &format!("acc{}", i % accounts.max(1)),
                    serde_json::json!({ "amount": i }),
                ),
            )
        })
        .collect()
}

/// `n` deposits (the example `account` saga) over `tenants` x 20 accounts, one in 20
/// published twice with the same id; and what each account must hold once every unique
/// event is applied exactly once: (balance, versions).
pub struct Deposits {
    pub n: u64,
    pub events: Vec<(String, bytes::Bytes)>,
    pub expected: BTreeMap<(String, String), (i64, u64)>,
    /// The `ledger.credit` command each unique deposit must produce: `Nats-Msg-Id` ->
    /// payload (the running balance follows the stream order of each account's deposits).
    pub commands: BTreeMap<String, serde_json::Value>,
}

impl Deposits {
    pub fn new(tenants: &[&str], n: u64, rand: &mut impl FnMut(u64) -> u64) -> Deposits {
        let mut events = Vec::new();
        let mut expected: BTreeMap<(String, String), (i64, u64)> = BTreeMap::new();
        let mut commands = BTreeMap::new();
        for i in 0..n {
            let t = tenants[i as usize % tenants.len()];
            let acc = format!("acc{}", rand(20));
            let amount = 1 + rand(100) as i64;
            let id = format!("{t}-dep-{i}");
            let e = (
                format!("evt.{t}.account"),
                event(
                    &id,
                    "Deposited",
                    &acc,
                    serde_json::json!({ "amount": amount }),
                ),
            );
            events.push(e.clone());
            if i % 20 == 0 {
                events.push(e);
            }
            let x = expected.entry((t.to_string(), acc.clone())).or_default();
            x.0 += amount;
            x.1 += 1;
            commands.insert(
                shared::names::msg_id::command(
                    t,
                    "account",
                    shared::names::msg_id::Cause::Event(&id),
                    0,
                ),
                serde_json::json!({"account": acc, "amount": amount, "balance": x.0}),
            );
        }
        Deposits {
            n,
            events,
            expected,
            commands,
        }
    }

    /// The stopped volume at `dir` and the command stream show every unique deposit applied
    /// exactly once: one dedupe marker each, each account's balance and version, one
    /// `ledger.credit` command each after JetStream's de-duplication.
    pub async fn assert_exactly_once(&self, dir: &Path, js: &jetstream::Context) -> Result<()> {
        self.assert_exactly_once_in(&[dir], js).await
    }

    /// [`Deposits::assert_exactly_once`] over the stopped volumes of several shards that
    /// served disjoint tenants.
    pub async fn assert_exactly_once_in(
        &self,
        dirs: &[&Path],
        js: &jetstream::Context,
    ) -> Result<()> {
        let mut vol = VolumeContents::default();
        for dir in dirs {
            let v = read_volume(dir)?;
            for k in v.dedupe.keys() {
                ensure!(!vol.dedupe.contains_key(k), "{k:?} applied on two shards");
            }
            vol.dedupe.extend(v.dedupe);
            vol.instances.extend(v.instances);
        }
        let markers = vol.dedupe.keys().filter(|(_, s, _)| s == "account").count() as u64;
        ensure!(
            markers == self.n,
            "{markers} dedupe markers for {} unique events",
            self.n
        );
        for ((t, acc), (sum, n)) in &self.expected {
            let rec = vol
                .instances
                .get(&(t.clone(), "account".to_string(), acc.clone()))
                .with_context(|| format!("{t}/{acc}: no instance"))?;
            let data: serde_json::Value = serde_json::from_str(&rec.data)?;
            ensure!(
                data["balance"] == serde_json::json!(sum),
                "{t}/{acc}: balance {} instead of {sum}: an event lost or applied twice",
                data["balance"]
            );
            ensure!(
                rec.version == *n,
                "{t}/{acc}: version {} instead of {n}",
                rec.version
            );
        }
        // Every expected command, with its exact payload, stored once: the command stream's
        // duplicate window is short in these tests (create_streams), so a re-publish would
        // be stored again and counted here.
        let mut cmds = stored(js, "RUNNER_COMMANDS").await?;
        cmds.retain(|m| m.subject.ends_with(".ledger.credit"));
        assert_each_id_once(&cmds, "ledger.credit commands")?;
        let got: BTreeMap<String, serde_json::Value> = cmds
            .iter()
            .map(|m| {
                let v = serde_json::from_slice(&m.payload).unwrap_or(serde_json::Value::Null);
                (m.msg_id.clone(), v)
            })
            .collect();
        let missing = self
            .commands
            .keys()
            .filter(|k| !got.contains_key(*k))
            .count();
        let unexpected = got
            .keys()
            .filter(|k| !self.commands.contains_key(*k))
            .count();
        ensure!(
            missing == 0 && unexpected == 0,
            "{} commands for {} unique deposits: {missing} missing, {unexpected} unexpected",
            got.len(),
            self.n
        );
        for (id, want) in &self.commands {
            ensure!(
                &got[id] == want,
                "{id}: payload {} instead of {want}",
                got[id]
            );
        }
        Ok(())
    }
}

/// The runner's three streams, created before any runner starts (a runner keeps an existing
/// stream's settings) with a duplicate window of `dup`. Exactly-once checks use a window
/// shorter than the scenario, so that a command published twice shows up twice instead of
/// being hidden by JetStream's default 2-minute window.
pub async fn create_streams(js: &jetstream::Context, dup: Duration) -> Result<()> {
    create_streams_with(js, dup, 1).await
}

/// [`create_streams`] with `replicas` copies of each stream (on a cluster).
pub async fn create_streams_with(
    js: &jetstream::Context,
    dup: Duration,
    replicas: usize,
) -> Result<()> {
    let name = shared::names::DEFAULT_EVENT_STREAM;
    js.create_stream(jetstream::stream::Config {
        name: name.into(),
        subjects: vec![shared::names::EVENT_SUBJECTS.into()],
        allow_direct: true,
        duplicate_window: dup,
        num_replicas: replicas,
        ..Default::default()
    })
    .await
    .with_context(|| format!("creating stream {name}"))?;
    create_output_streams(js, dup, replicas).await
}

/// A nats-server whose account maps `evt.<tenant>.<saga>` to the group streams of a
/// partitioned layout of `groups` (docs/consumption.md#the-layout).
pub fn partitioned_nats(groups: u16) -> Result<NatsServer> {
    let layout = shared::layout::Layout::new(shared::names::DEFAULT_EVENT_STREAM, groups);
    let dir = tempfile::Builder::new()
        .prefix("nats-conf-")
        .tempdir()?
        .keep();
    let conf = dir.join("nats.conf");
    std::fs::write(&conf, layout.mapping_config().unwrap_or_default())?;
    NatsServer::start_with(ServerOptions {
        config_file: Some(conf),
        ..Default::default()
    })
    .map_err(|e| anyhow!(e))
}

/// The group streams of a partitioned layout and the command and dead-letter streams, as
/// [`create_streams`] makes them.
pub async fn create_group_streams(
    js: &jetstream::Context,
    layout: &shared::layout::Layout,
    dup: Duration,
) -> Result<()> {
    for g in layout.groups() {
        let mut metadata = std::collections::HashMap::new();
        metadata.insert(
            shared::nats::PARTITIONS_METADATA.to_string(),
            layout.partitions().to_string(),
        );
        js.create_stream(jetstream::stream::Config {
            name: layout.stream(g),
            subjects: vec![layout.subjects(g)],
            allow_direct: true,
            duplicate_window: dup,
            metadata,
            ..Default::default()
        })
        .await
        .with_context(|| format!("creating stream {}", layout.stream(g)))?;
    }
    create_output_streams(js, dup, 1).await
}

/// The command and dead-letter streams, with a duplicate window of `dup`.
async fn create_output_streams(
    js: &jetstream::Context,
    dup: Duration,
    replicas: usize,
) -> Result<()> {
    for (name, subject) in [
        (
            shared::names::DEFAULT_COMMAND_STREAM,
            shared::names::COMMAND_SUBJECTS,
        ),
        (
            shared::names::DEFAULT_DLQ_STREAM,
            shared::names::DLQ_SUBJECTS,
        ),
    ] {
        js.create_stream(jetstream::stream::Config {
            name: name.into(),
            subjects: vec![subject.into()],
            allow_direct: true,
            duplicate_window: dup,
            num_replicas: replicas,
            ..Default::default()
        })
        .await
        .with_context(|| format!("creating stream {name}"))?;
    }
    Ok(())
}

/// A message as stored in the command or dead-letter stream.
#[derive(Debug, Clone)]
pub struct Stored {
    pub seq: u64,
    pub subject: String,
    pub msg_id: String,
    pub headers: BTreeMap<String, String>,
    pub payload: bytes::Bytes,
}

/// Every message of `stream` with its `Nats-Msg-Id` and headers.
pub async fn stored(js: &jetstream::Context, stream: &str) -> Result<Vec<Stored>> {
    Ok(read_stream(js, stream)
        .await?
        .into_iter()
        .map(|m| {
            let headers: BTreeMap<String, String> = m
                .headers
                .as_ref()
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| {
                            (
                                k.to_string(),
                                v.first().map(|v| v.to_string()).unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Stored {
                seq: m.info().map(|i| i.stream_sequence).unwrap_or(0),
                subject: m.subject.to_string(),
                msg_id: headers.get("Nats-Msg-Id").cloned().unwrap_or_default(),
                headers,
                payload: m.payload.clone(),
            }
        })
        .collect())
}

/// Fails if any `Nats-Msg-Id` appears more than once in `msgs`, naming it.
pub fn assert_each_id_once(msgs: &[Stored], what: &str) -> Result<()> {
    let mut seen = std::collections::BTreeMap::<&str, u32>::new();
    for m in msgs {
        *seen.entry(&m.msg_id).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    ensure!(
        twice.is_empty(),
        "{what}: {} ids stored more than once, e.g. {:?}",
        twice.len(),
        twice.iter().take(3).collect::<Vec<_>>()
    );
    Ok(())
}

/// Waits for a spawned process to exit, at most `within`.
pub async fn wait_exit(child: &mut Child, within: Duration) -> Result<ExitStatus> {
    eventually(within, "the process to exit", || {
        let s = child.try_wait().ok().flatten();
        async move { s }
    })
    .await
}

impl Runner {
    /// Waits until the runner's log contains `needle`.
    pub async fn wait_log(&self, needle: &str, within: Duration) -> Result<()> {
        eventually(within, &format!("the log to say {needle:?}"), || async {
            self.log_text().contains(needle).then_some(())
        })
        .await
        .map_err(|e| anyhow!("{e}; log:\n{}", self.log_text()))
    }

    /// Whether the process is still running (not merely spawned once).
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// The live process's exit, once it exits (at most `within`).
    pub async fn wait_exit(&mut self, within: Duration) -> Result<ExitStatus> {
        let c = self
            .child
            .as_mut()
            .ok_or_else(|| anyhow!("runner not running"))?;
        let s = wait_exit(c, within).await?;
        self.child = None;
        Ok(s)
    }
}

/// Runs `runnerctl` and returns (exit code, stdout, stderr).
pub fn runnerctl_out(
    nats: &NatsServer,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(i32, String, String)> {
    let mut c = runnerctl(nats);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.args(args).output()?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// A CA, and a server certificate it signed for 127.0.0.1 and localhost; returns the CA's
/// PEM path and the server's cert and key paths.
pub fn certificates(dir: &Path, name: &str) -> Result<(PathBuf, PathBuf, PathBuf)> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &issuer)?;
    let paths = (
        dir.join(format!("{name}-ca.pem")),
        dir.join(format!("{name}-server.pem")),
        dir.join(format!("{name}-server-key.pem")),
    );
    std::fs::write(&paths.0, ca_cert.pem())?;
    std::fs::write(&paths.1, cert.pem())?;
    std::fs::write(&paths.2, key.serialize_pem())?;
    Ok(paths)
}
