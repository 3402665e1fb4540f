//! The runner's settings: every one is an env var with an identically named flag, merged by
//! clap (flag > env > default) and then validated once, with errors that say what to fix.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use shared::ids::{ShardId, TenantId, parse_tenant_list};

use crate::saga::SagaRegistry;

const EXAMPLES: &str = "\
Examples:
  # Serve tenants t1 and t2 from a local volume, with the example sagas
  runner --data-dir /var/lib/runner/shard-a --shard-id shard-a \\
         --sagas docs/examples/sagas.toml --tenant-allowlist t1,t2

  # The same with env vars, as in a container
  RUNNER_DATA_DIR=/data RUNNER_SHARD_ID=shard-a RUNNER_SAGAS=/etc/runner/sagas.toml \\
  RUNNER_TENANT_ALLOWLIST=t1,t2 RUNNER_NATS_URL=nats://nats:4222 runner

  # Validate a saga file before deploying it (exit 0 valid, 1 with the located error)
  runner check --sagas docs/examples/sagas.toml

Exit codes: 0 stopped cleanly, 1 failed while running, 2 bad configuration,
3 the volume is held by another runner or unusable, or the event stream is not the one
the volume was built from.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Saga runner: reads tenant-qualified events from NATS JetStream, applies them to sagas
/// exactly once, and keeps saga state, dedupe markers, checkpoints, outbox and timers in a
/// local MDBX volume.
#[derive(Debug, Clone, Parser)]
#[command(name = "runner", version, after_help = EXAMPLES)]
pub struct Args {
    /// NATS server URL(s), comma-separated (nats://a:4222,nats://b:4222): the client tries
    /// them in turn and learns the rest of a cluster from the one it reaches.
    #[arg(long, env = "RUNNER_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// Copies kept of each stream and KV bucket the runner creates: auto (1 on a single
    /// server, 3 on a cluster of three or more) or 1-5. Existing ones keep theirs; the
    /// runner warns where a count is below the cluster's (docs/deployment.md#replicas).
    #[arg(long, env = "RUNNER_REPLICAS", default_value = "auto")]
    pub replicas: String,
    /// NATS credentials file (JWT + nkey seed).
    #[arg(long, env = "RUNNER_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// NATS user (with --nats-password).
    #[arg(long, env = "RUNNER_NATS_USER")]
    pub nats_user: Option<String>,
    /// NATS password.
    #[arg(long, env = "RUNNER_NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// NATS token.
    #[arg(long, env = "RUNNER_NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
    /// NATS nkey seed file.
    #[arg(long, env = "RUNNER_NATS_NKEY")]
    pub nats_nkey: Option<PathBuf>,
    /// CA certificate (PEM) to verify the NATS server's TLS certificate; enables TLS.
    #[arg(long, env = "RUNNER_NATS_TLS_CA")]
    pub nats_tls_ca: Option<PathBuf>,

    /// Directory of this shard's MDBX volume (created if missing; must be empty or a volume).
    #[arg(long, env = "RUNNER_DATA_DIR")]
    pub data_dir: PathBuf,
    /// The saga file (TOML), e.g. docs/examples/sagas.toml.
    #[arg(long, env = "RUNNER_SAGAS")]
    pub sagas: PathBuf,
    /// This runner's shard id ([A-Za-z0-9_-], 1-64). Default: the host name.
    #[arg(long, env = "RUNNER_SHARD_ID")]
    pub shard_id: Option<String>,
    /// Comma-separated tenant ids this runner serves. With a placement bucket too, only
    /// these of the tenants placed on this shard are served.
    #[arg(long, env = "RUNNER_TENANT_ALLOWLIST")]
    pub tenant_allowlist: Option<String>,
    /// NATS KV bucket of the tenant placement (key = tenant, value = shard id): serve the
    /// tenants placed on RUNNER_SHARD_ID and follow changes live. Created if missing.
    #[arg(long, env = "RUNNER_TENANT_PLACEMENT_BUCKET")]
    pub tenant_placement_bucket: Option<String>,
    /// NATS KV bucket of the shard registry, which is also the shard lease. Created if
    /// missing.
    #[arg(long, env = "RUNNER_REGISTRY_BUCKET", default_value = shared::placement::DEFAULT_REGISTRY_BUCKET)]
    pub registry_bucket: String,
    /// NATS KV bucket of the hand-over records (tenant claims and position reports). Created
    /// if missing.
    #[arg(long, env = "RUNNER_HANDOFF_BUCKET", default_value = shared::placement::DEFAULT_HANDOFF_BUCKET)]
    pub handoff_bucket: String,
    /// Lease time: a dead runner's shard can be taken over this long after its last
    /// heartbeat. Applies when this runner creates the registry bucket; an existing bucket
    /// keeps its own (its max_age).
    #[arg(long, env = "RUNNER_LEASE_TTL", default_value = "15s", value_parser = humantime::parse_duration)]
    pub lease_ttl: Duration,

    /// JetStream stream holding events on evt.<tenant>.<saga> (created if missing).
    #[arg(long, env = "RUNNER_STREAM", default_value = shared::names::DEFAULT_EVENT_STREAM)]
    pub stream: String,
    /// Partition groups of the event layout (docs/consumption.md#the-layout): 0 reads the
    /// single stream RUNNER_STREAM (evt.<tenant>.<saga>); G > 0 reads the G group streams
    /// <RUNNER_STREAM>_<g> (evt.<g>.<tenant>.<saga>, g = fnv1a32(tenant) % G), created if
    /// missing. Every runner and runnerctl of a fleet must use the same value.
    #[arg(long, env = "RUNNER_PARTITIONS", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=shared::layout::MAX_PARTITIONS as i64))]
    pub partitions: u16,
    /// Partitioned layout: how often the shares of the groups this shard has tenants in are
    /// measured again, to read a group whole or its tenants with readers of their own.
    #[arg(long, env = "RUNNER_READING_EVERY", default_value = "10s", value_parser = humantime::parse_duration)]
    pub reading_every: Duration,
    /// JetStream stream capturing emitted commands, cmd.> (created if missing).
    #[arg(long, env = "RUNNER_COMMANDS_STREAM", default_value = shared::names::DEFAULT_COMMAND_STREAM)]
    pub commands_stream: String,
    /// JetStream stream capturing dead-lettered events, dlq.> (created if missing).
    #[arg(long, env = "RUNNER_DLQ_STREAM", default_value = shared::names::DEFAULT_DLQ_STREAM)]
    pub dlq_stream: String,

    /// Address of the admin HTTP API. Loopback by default; a non-loopback address needs
    /// RUNNER_ADMIN_TOKEN. Port 0 picks a free port (see runner.lock for the URL).
    #[arg(long, env = "RUNNER_ADMIN_ADDR", default_value = "127.0.0.1:7070")]
    pub admin_addr: SocketAddr,
    /// Bearer token every /admin/* request must carry.
    #[arg(long, env = "RUNNER_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Admin API: how long a client has to send a request's headers, and how long an idle
    /// kept-alive connection stays open. Slower connections are closed.
    #[arg(long, env = "RUNNER_ADMIN_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub admin_header_timeout: Duration,
    /// Admin API: how long a request may take to be answered (408 after it). A tenant
    /// import's upload is exempt; an export's body streams after its answer starts.
    #[arg(long, env = "RUNNER_ADMIN_REQUEST_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub admin_request_timeout: Duration,
    /// Admin API: most connections open at once. One more is answered 503 and closed.
    #[arg(long, env = "RUNNER_ADMIN_MAX_CONNECTIONS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub admin_max_connections: u32,

    /// `/metrics` drops its per-tenant series (tenant × saga labels) while the runner serves
    /// more tenants than this; the shard's own series, with per-saga sums, remain.
    #[arg(long, env = "RUNNER_METRICS_MAX_TENANTS", default_value_t = crate::metrics::DEFAULT_MAX_TENANTS as u32)]
    pub metrics_max_tenants: u32,

    /// Log format; RUST_LOG sets the level (default info).
    #[arg(long, env = "RUNNER_LOG_FORMAT", value_enum, default_value = "human")]
    pub log_format: LogFormat,

    /// Most events applied in one MDBX transaction. Batches grow up to this only while
    /// commits are the bottleneck (a backlog); live traffic commits as it arrives.
    #[arg(long, env = "RUNNER_BATCH_SIZE", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch_size: u32,
    /// Largest event payload applied; larger ones are dead-lettered.
    #[arg(long, env = "RUNNER_MAX_EVENT_BYTES", default_value_t = 256 * 1024)]
    pub max_event_bytes: usize,
    /// How long a stop may spend flushing the outbox.
    #[arg(long, env = "RUNNER_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,
    /// How far behind the clock the timer watermark stays while the shard is idle: a timer
    /// fires once every event stored before its due time is applied, and an idle shard takes
    /// that to be so this long after the due time. Set it above the clock skew between the
    /// runner's host and the NATS servers plus an event's delivery delay.
    #[arg(long, env = "RUNNER_TIMER_GRACE", default_value = "250ms", value_parser = humantime::parse_duration)]
    pub timer_grace: Duration,
    /// Adopt a recreated event stream: the identity (`<stream>@<created ns>`) the runner
    /// printed when it refused the stream. Every tenant then reads it from its first event;
    /// events whose ids were applied before are skipped. Ignored once adopted.
    #[arg(long, env = "RUNNER_ADOPT_STREAM")]
    pub adopt_stream: Option<String>,
    /// Upper bound of the volume's data file, in MiB.
    #[arg(long, env = "RUNNER_VOLUME_MAX_MB", default_value_t = 262_144)]
    pub volume_max_mb: u64,

    /// NATS Object Store bucket holding the shards' snapshots (created at the first
    /// snapshot, with the RUNNER_REPLICAS copies of everything else).
    #[arg(long, env = "RUNNER_SNAPSHOT_BUCKET", default_value = shared::snapshots::DEFAULT_BUCKET)]
    pub snapshot_bucket: String,
    /// How often the runner snapshots its volume into the bucket (`0` or `off`: only when
    /// asked, `runnerctl snapshot`). The first one is taken this long after the start.
    #[arg(long, env = "RUNNER_SNAPSHOT_EVERY", default_value = "1h", value_parser = parse_optional_duration)]
    pub snapshot_every: OptionalDuration,
    /// Snapshots of this shard kept (the newest), at least 1.
    #[arg(long, env = "RUNNER_SNAPSHOT_KEEP", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub snapshot_keep: u32,
    /// Snapshots older than this are deleted (`0` or `off`: no age limit); the newest is
    /// always kept.
    #[arg(long, env = "RUNNER_SNAPSHOT_MAX_AGE", default_value = "7d", value_parser = parse_optional_duration)]
    pub snapshot_max_age: OptionalDuration,
    /// A volume restored from a snapshot is served only if the event stream still holds
    /// every event since the snapshot; otherwise the runner exits 3, naming what is gone.
    /// `true` serves it anyway, without those events (docs/runbooks.md#a-shards-volume-was-lost).
    #[arg(long, env = "RUNNER_RESTORE_ACCEPT_LOSS", default_value_t = false, action = clap::ArgAction::Set)]
    pub restore_accept_loss: bool,
}

/// A duration that `0` or `off` turns off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalDuration(pub Option<Duration>);

fn parse_optional_duration(s: &str) -> Result<OptionalDuration, String> {
    match s.trim() {
        "0" | "off" | "none" => Ok(OptionalDuration(None)),
        s => humantime::parse_duration(s)
            .map(|d| OptionalDuration((!d.is_zero()).then_some(d)))
            .map_err(|e| format!("{e} (a duration like 30m or 1h, or `off`)")),
    }
}

/// Validated settings.
#[derive(Clone)]
pub struct Config {
    pub args: Args,
    pub shard_id: ShardId,
    pub tenants: Vec<TenantId>,
    pub sagas: SagaRegistry,
}

impl Args {
    /// The event layout (`RUNNER_STREAM`, `RUNNER_PARTITIONS`).
    pub fn layout(&self) -> shared::layout::Layout {
        shared::layout::Layout::new(&self.stream, self.partitions)
    }

    /// The NATS servers (`RUNNER_NATS_URL`), checked by [`Config::from_args`].
    pub fn nats_servers(&self) -> Result<shared::nats::ServerList, ConfigError> {
        self.nats_url
            .parse()
            .map_err(|e| ConfigError(format!("RUNNER_NATS_URL: {e}")))
    }

    /// The replica setting (`RUNNER_REPLICAS`), checked by [`Config::from_args`].
    pub fn replicas(&self) -> Result<shared::nats::Replicas, ConfigError> {
        self.replicas
            .parse()
            .map_err(|e| ConfigError(format!("RUNNER_REPLICAS: {e}")))
    }

    /// The NATS credentials and CA, as the connect-options builder in `shared` takes them.
    pub fn nats_auth(&self) -> shared::nats::NatsAuth {
        shared::nats::NatsAuth {
            creds: self.nats_creds.clone(),
            user: self.nats_user.clone(),
            password: self.nats_password.clone(),
            token: self.nats_token.clone(),
            nkey: self.nats_nkey.clone(),
            tls_ca: self.nats_tls_ca.clone(),
        }
    }
}

/// A configuration the runner cannot start with.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn default_shard_id() -> Result<ShardId, ConfigError> {
    let name = shared::hostname();
    let first = name.split('.').next().unwrap_or("").to_string();
    ShardId::new(first.clone()).map_err(|e| {
        ConfigError(format!(
            "RUNNER_SHARD_ID is not set and the host name '{first}' is not a valid shard id ({e}); set RUNNER_SHARD_ID"
        ))
    })
}

impl Config {
    /// Validates `args`: ids, the saga file, the admin address and token, the data dir.
    pub fn from_args(args: Args) -> Result<Config, ConfigError> {
        let shard_id = match &args.shard_id {
            Some(s) => {
                ShardId::new(s.clone()).map_err(|e| ConfigError(format!("RUNNER_SHARD_ID: {e}")))?
            }
            None => default_shard_id()?,
        };
        let tenants = match &args.tenant_allowlist {
            Some(list) => parse_tenant_list(list)
                .map_err(|e| ConfigError(format!("RUNNER_TENANT_ALLOWLIST: {e}")))?,
            None => Vec::new(),
        };
        if args.tenant_placement_bucket.is_none() && tenants.is_empty() {
            return Err(ConfigError(
                "no tenants to serve: set RUNNER_TENANT_ALLOWLIST (comma-separated tenant ids), or RUNNER_TENANT_PLACEMENT_BUCKET to follow a placement bucket".into(),
            ));
        }
        for (what, name) in [
            (
                "RUNNER_TENANT_PLACEMENT_BUCKET",
                args.tenant_placement_bucket.as_deref(),
            ),
            (
                "RUNNER_REGISTRY_BUCKET",
                Some(args.registry_bucket.as_str()),
            ),
            ("RUNNER_HANDOFF_BUCKET", Some(args.handoff_bucket.as_str())),
        ] {
            if let Some(n) = name
                && (n.is_empty()
                    || !n
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            {
                return Err(ConfigError(format!(
                    "{what}='{n}' is not a valid KV bucket name (A-Z a-z 0-9 _ -)"
                )));
            }
        }
        if args.lease_ttl < Duration::from_secs(3) || args.lease_ttl > Duration::from_secs(600) {
            return Err(ConfigError(format!(
                "RUNNER_LEASE_TTL={} is out of range: between 3s and 10m",
                humantime::format_duration(args.lease_ttl)
            )));
        }
        for (what, name) in [
            ("RUNNER_STREAM", &args.stream),
            ("RUNNER_COMMANDS_STREAM", &args.commands_stream),
            ("RUNNER_DLQ_STREAM", &args.dlq_stream),
        ] {
            if name.is_empty()
                || name.len() > 255
                || name
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || ".*>/\\".contains(c))
            {
                return Err(ConfigError(format!(
                    "{what}='{name}' is not a valid stream name (no spaces, '.', '*', '>', '/' or '\\')"
                )));
            }
        }
        let sagas = SagaRegistry::from_file(&args.sagas).map_err(|e| ConfigError(e.to_string()))?;
        if args
            .admin_token
            .as_ref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(ConfigError("RUNNER_ADMIN_TOKEN is set but empty".into()));
        }
        if !args.admin_addr.ip().is_loopback() && args.admin_token.is_none() {
            return Err(ConfigError(format!(
                "RUNNER_ADMIN_ADDR={} is not a loopback address and RUNNER_ADMIN_TOKEN is not set: refusing to expose the admin API without a token; set a token or bind to 127.0.0.1",
                args.admin_addr
            )));
        }
        args.nats_servers()?;
        args.replicas()?;
        if args.nats_user.is_some() != args.nats_password.is_some() {
            return Err(ConfigError(
                "RUNNER_NATS_USER and RUNNER_NATS_PASSWORD go together: set both or neither".into(),
            ));
        }
        if args.timer_grace > Duration::from_secs(60) {
            return Err(ConfigError(format!(
                "RUNNER_TIMER_GRACE={} is out of range: at most 60s",
                humantime::format_duration(args.timer_grace)
            )));
        }
        if args.max_event_bytes == 0 {
            return Err(ConfigError(
                "RUNNER_MAX_EVENT_BYTES must be at least 1".into(),
            ));
        }
        for (what, p) in [
            ("RUNNER_NATS_CREDS", &args.nats_creds),
            ("RUNNER_NATS_NKEY", &args.nats_nkey),
            ("RUNNER_NATS_TLS_CA", &args.nats_tls_ca),
        ] {
            if let Some(p) = p {
                std::fs::metadata(p)
                    .map_err(|e| ConfigError(format!("{what}={}: {e}", p.display())))?;
            }
        }
        check_data_dir(&args.data_dir)?;
        Ok(Config {
            args,
            shard_id,
            tenants,
            sagas,
        })
    }
}

fn check_data_dir(dir: &std::path::Path) -> Result<(), ConfigError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        ConfigError(format!(
            "RUNNER_DATA_DIR={}: cannot create it: {e}",
            dir.display()
        ))
    })?;
    let probe = dir.join(".runner-write-probe");
    std::fs::write(&probe, b"probe")
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| {
            ConfigError(format!(
                "RUNNER_DATA_DIR={} is not writable: {e}",
                dir.display()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Result<Config, ConfigError> {
        let tmp = tempfile::tempdir().unwrap();
        let sagas = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/sagas.toml");
        let mut v = vec![
            "runner",
            "--data-dir",
            tmp.path().to_str().unwrap(),
            "--sagas",
            sagas,
            "--shard-id",
            "a",
        ];
        v.extend_from_slice(extra);
        Config::from_args(Args::try_parse_from(v).unwrap())
    }

    #[test]
    fn a_good_configuration_validates() {
        let c = args(&["--tenant-allowlist", "t1, t2"]).unwrap();
        assert_eq!(c.tenants.len(), 2);
        assert!(c.sagas.get("order").is_some());
    }

    #[test]
    fn bad_settings_get_specific_errors() {
        let e = args(&["--tenant-allowlist", "t1,t@2"]).err().unwrap().0;
        assert!(
            e.contains("RUNNER_TENANT_ALLOWLIST") && e.contains("'t@2'"),
            "{e}"
        );
        let e = args(&[]).err().unwrap().0;
        assert!(
            e.contains("no tenants") && e.contains("RUNNER_TENANT_PLACEMENT_BUCKET"),
            "{e}"
        );
        assert!(args(&["--tenant-placement-bucket", "placement"]).is_ok());
        let e = args(&["--tenant-placement-bucket", "place.ment"])
            .err()
            .unwrap()
            .0;
        assert!(e.contains("not a valid KV bucket name"), "{e}");
        let e = args(&["--tenant-allowlist", "t1", "--lease-ttl", "1s"])
            .err()
            .unwrap()
            .0;
        assert!(e.contains("RUNNER_LEASE_TTL=1s"), "{e}");
        let e = args(&["--tenant-allowlist", "t1", "--admin-addr", "0.0.0.0:7070"])
            .err()
            .unwrap()
            .0;
        assert!(e.contains("RUNNER_ADMIN_TOKEN is not set"), "{e}");
        assert!(
            args(&[
                "--tenant-allowlist",
                "t1",
                "--admin-addr",
                "0.0.0.0:7070",
                "--admin-token",
                "s3cret"
            ])
            .is_ok()
        );
        let e = args(&["--tenant-allowlist", "t1", "--nats-user", "u"])
            .err()
            .unwrap()
            .0;
        assert!(e.contains("go together"), "{e}");
    }

    #[test]
    fn missing_saga_file_and_unwritable_dir_are_explained() {
        let tmp = tempfile::tempdir().unwrap();
        let v = [
            "runner",
            "--data-dir",
            tmp.path().to_str().unwrap(),
            "--sagas",
            "/nonexistent/s.toml",
            "--shard-id",
            "a",
            "--tenant-allowlist",
            "t1",
        ];
        let e = Config::from_args(Args::try_parse_from(v).unwrap())
            .err()
            .unwrap()
            .0;
        assert!(
            e.contains("/nonexistent/s.toml") && e.contains("cannot read"),
            "{e}"
        );
        let sagas = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/sagas.toml");
        let v = [
            "runner",
            "--data-dir",
            "/proc/nope",
            "--sagas",
            sagas,
            "--shard-id",
            "a",
            "--tenant-allowlist",
            "t1",
        ];
        let e = Config::from_args(Args::try_parse_from(v).unwrap())
            .err()
            .unwrap()
            .0;
        assert!(e.contains("RUNNER_DATA_DIR=/proc/nope"), "{e}");
    }
}
