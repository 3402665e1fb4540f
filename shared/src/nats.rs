//! The KV buckets and streams of the placement protocol, defined once for the runner and
//! `runnerctl` (whoever comes first creates them with these settings).

use std::time::Duration;

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::context::GetStreamErrorKind;
use async_nats::jetstream::{self, kv, stream};

use crate::placement::{AUDIT_STREAM, PLACEMENT_HISTORY};

/// How to authenticate to NATS and verify its certificate: the runner's `RUNNER_NATS_*`
/// settings and runnerctl's `--nats-*` flags are the same options, built here once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatsAuth {
    /// A `.creds` file (JWT and nkey seed).
    pub creds: Option<std::path::PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// A file holding an nkey seed.
    pub nkey: Option<std::path::PathBuf>,
    /// A CA certificate (PEM): TLS is then required.
    pub tls_ca: Option<std::path::PathBuf>,
}

/// How the options are spelled in error messages.
#[derive(Debug, Clone, Copy)]
pub enum OptionNames {
    /// Environment variables with this prefix: `RUNNER_NATS_CREDS=<path>: ...`.
    Env(&'static str),
    /// Command-line flags: `--nats-creds <path>: ...`.
    Flags,
}

impl OptionNames {
    fn name(self, opt: &str, path: &std::path::Path) -> String {
        match self {
            OptionNames::Env(prefix) => {
                format!("{prefix}{}={}", opt.to_uppercase(), path.display())
            }
            OptionNames::Flags => format!("--nats-{} {}", opt.replace('_', "-"), path.display()),
        }
    }
}

impl NatsAuth {
    /// Connect options with these credentials; a file that cannot be read is an error that
    /// names the option. Name, timeouts, reconnects and callbacks are the caller's.
    pub async fn connect_options(
        &self,
        names: OptionNames,
    ) -> Result<async_nats::ConnectOptions, String> {
        let mut opts = match &self.creds {
            Some(p) => async_nats::ConnectOptions::with_credentials_file(p.clone())
                .await
                .map_err(|e| format!("{}: {e}", names.name("creds", p)))?,
            None => async_nats::ConnectOptions::new(),
        };
        if let (Some(u), Some(p)) = (&self.user, &self.password) {
            opts = opts.user_and_password(u.clone(), p.clone());
        }
        if let Some(t) = &self.token {
            opts = opts.token(t.clone());
        }
        if let Some(p) = &self.nkey {
            let seed = std::fs::read_to_string(p)
                .map_err(|e| format!("{}: {e}", names.name("nkey", p)))?;
            opts = opts.nkey(seed.trim().to_string());
        }
        if let Some(ca) = &self.tls_ca {
            std::fs::metadata(ca).map_err(|e| format!("{}: {e}", names.name("tls_ca", ca)))?;
            opts = opts.add_root_certificates(ca.clone()).require_tls(true);
        }
        Ok(opts)
    }
}

/// NATS servers to connect to: one URL or several, comma-separated, as every NATS client
/// and the nats CLI take them (`nats://a:4222,nats://b:4222`). The client tries them in
/// turn and learns the rest of a cluster from the one it reaches. Parsed up front, so a
/// typo is a configuration error, not an outage retried forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerList {
    addrs: Vec<async_nats::ServerAddr>,
}

impl std::str::FromStr for ServerList {
    type Err = String;

    fn from_str(text: &str) -> Result<ServerList, String> {
        let mut addrs = Vec::new();
        for part in text.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(format!(
                    "'{text}' has an empty server: give one NATS URL or several, comma-separated (nats://a:4222,nats://b:4222)"
                ));
            }
            let addr: async_nats::ServerAddr = part.parse().map_err(|e| {
                format!(
                    "'{part}' is not a NATS server URL ({e}): write nats://host:port, tls://host:port or host:port, several comma-separated"
                )
            })?;
            addrs.push(addr);
        }
        Ok(ServerList { addrs })
    }
}

impl ServerList {
    /// The servers, in the order given: what `connect` takes.
    pub fn addrs(&self) -> &[async_nats::ServerAddr] {
        &self.addrs
    }

    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }
}

/// The servers as they can be shown in logs and status: scheme, host and port, never a
/// user or password written into a URL.
impl std::fmt::Display for ServerList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, a) in self.addrs.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let (scheme, host) = (a.scheme(), a.host());
            if host.contains(':') {
                write!(f, "{scheme}://[{host}]:{}", a.port())?;
            } else {
                write!(f, "{scheme}://{host}:{}", a.port())?;
            }
        }
        Ok(())
    }
}

/// How many copies a stream or KV bucket the runner or `runnerctl` creates keeps on a
/// cluster (`RUNNER_REPLICAS`, `--replicas`): `auto` is 1 on a single server and 3 on a
/// cluster of three or more (the cluster size below that), or a fixed count from 1 to 5,
/// JetStream's limit. What exists already keeps its own count (`runnerctl setup` changes
/// it); the runner and `runnerctl setup` warn where it is below [`Replicas::expected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Replicas {
    #[default]
    Auto,
    Fixed(u8),
}

impl std::str::FromStr for Replicas {
    type Err = String;

    fn from_str(s: &str) -> Result<Replicas, String> {
        match s.trim() {
            "auto" => Ok(Replicas::Auto),
            n => match n.parse::<u8>() {
                Ok(n @ 1..=5) => Ok(Replicas::Fixed(n)),
                _ => Err(format!(
                    "'{s}' is not a replica count: write auto, or 1 to 5 (JetStream keeps at most 5 copies)"
                )),
            },
        }
    }
}

impl std::fmt::Display for Replicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Replicas::Auto => f.write_str("auto"),
            Replicas::Fixed(n) => write!(f, "{n}"),
        }
    }
}

impl Replicas {
    /// The count to create with on a cluster of `cluster_size` servers.
    pub fn resolve(self, cluster_size: usize) -> usize {
        match self {
            Replicas::Auto => Self::expected(cluster_size),
            Replicas::Fixed(n) => usize::from(n),
        }
    }

    /// The count below which something is less safe than the cluster allows: every server
    /// up to 3 (one lost server leaves a majority of copies).
    pub fn expected(cluster_size: usize) -> usize {
        cluster_size.clamp(1, 3)
    }
}

/// How many servers the connected cluster has, as the server told the client: itself and
/// the client URLs it advertises for the others (1 on a server without a cluster).
pub fn cluster_size(info: &async_nats::ServerInfo) -> usize {
    if info.cluster.is_none() {
        return 1;
    }
    let me = format!("{}:{}", info.host, info.port);
    1 + info.connect_urls.iter().filter(|u| **u != me).count()
}

/// A stream's or bucket's replica count against what the cluster allows, for logs and
/// status: `None` when it is enough.
pub fn replica_warning(what: &str, replicas: usize, cluster_size: usize) -> Option<String> {
    let want = Replicas::expected(cluster_size);
    (replicas < want).then(|| {
        format!(
            "{what} keeps {replicas} cop{} on a cluster of {cluster_size} servers: losing the server{} that hold{} it stops the fleet; raise it to {want} with `runnerctl setup --replicas {want}`",
            if replicas == 1 { "y" } else { "ies" },
            if replicas == 1 { "" } else { "s" },
            if replicas == 1 { "s" } else { "" },
        )
    })
}

/// What a group's stream holds, from the server's per-subject counts (no message is read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupEvents {
    /// Events per tenant.
    pub per_tenant: std::collections::BTreeMap<String, u64>,
    /// Every event the stream holds.
    pub total: u64,
    /// The stream's last sequence.
    pub last_seq: u64,
}

/// What group `g`'s stream holds; empty when the stream does not exist.
pub async fn group_events(
    js: &jetstream::Context,
    layout: &crate::layout::Layout,
    g: crate::layout::Group,
) -> Result<GroupEvents, String> {
    use futures_util::TryStreamExt;
    let stream = layout.stream(g);
    // (Fetching its info tells a missing stream apart.)
    let Ok(s) = js.get_stream(&stream).await else {
        return Ok(Default::default());
    };
    let fail =
        |e: &dyn std::fmt::Display| format!("cannot read the subjects of stream {stream}: {e}");
    let mut info = s
        .info_with_subjects(layout.subjects(g))
        .await
        .map_err(|e| fail(&e))?;
    let mut out = GroupEvents {
        total: info.info.state.messages,
        last_seq: info.info.state.last_sequence,
        ..Default::default()
    };
    while let Some((subject, n)) = info.try_next().await.map_err(|e| fail(&e))? {
        if let Ok((t, _)) = layout.split(g, &subject) {
            *out.per_tenant.entry(t.to_string()).or_default() += n as u64;
        }
    }
    Ok(out)
}

/// Events per tenant in every stream of the layout (no message is read); a stream that
/// does not exist counts nothing.
pub async fn events_per_tenant(
    js: &jetstream::Context,
    layout: &crate::layout::Layout,
) -> Result<std::collections::BTreeMap<String, u64>, String> {
    let mut out = std::collections::BTreeMap::new();
    for g in layout.groups() {
        for (t, n) in group_events(js, layout, g).await?.per_tenant {
            *out.entry(t).or_default() += n;
        }
    }
    Ok(out)
}

/// Stream metadata key recording the partition count on every group stream.
pub const PARTITIONS_METADATA: &str = "runner.partitions";

/// A stream as the runner creates it: file storage, limits retention (oldest discarded),
/// a 2-minute duplicate window, direct gets, `replicas` copies.
pub fn stream_config(name: &str, subject: &str, replicas: usize) -> stream::Config {
    stream::Config {
        name: name.to_string(),
        subjects: vec![subject.to_string()],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        discard: stream::DiscardPolicy::Old,
        duplicate_window: Duration::from_secs(120),
        allow_direct: true,
        num_replicas: replicas,
        ..Default::default()
    }
}

/// An event stream of the layout as the runner creates it ([`stream_config`]); a group
/// stream records the partition count in its metadata ([`PARTITIONS_METADATA`]).
pub fn event_stream_config(
    layout: &crate::layout::Layout,
    g: crate::layout::Group,
    replicas: usize,
) -> stream::Config {
    let mut c = stream_config(&layout.stream(g), &layout.subjects(g), replicas);
    if layout.is_partitioned() {
        c.metadata.insert(
            PARTITIONS_METADATA.to_string(),
            layout.partitions().to_string(),
        );
    }
    c
}

/// Group `g`'s stream of `layout` made like `old` (the stream it replaces, when a fleet moves
/// to partitioned streams): the same storage, replicas, retention, age limit, discard
/// policy and duplicate window; byte and message limits shared out over the groups, so the
/// streams together keep what the old one kept.
pub fn group_stream_like(
    old: &stream::Config,
    layout: &crate::layout::Layout,
    g: crate::layout::Group,
) -> stream::Config {
    let share = |limit: i64| {
        if limit > 0 {
            let n = i64::from(layout.partitions().max(1));
            (limit + n - 1) / n
        } else {
            limit
        }
    };
    stream::Config {
        storage: old.storage,
        num_replicas: old.num_replicas,
        retention: old.retention,
        discard: old.discard,
        max_age: old.max_age,
        duplicate_window: old.duplicate_window,
        max_bytes: share(old.max_bytes),
        max_messages: share(old.max_messages),
        max_messages_per_subject: old.max_messages_per_subject,
        ..event_stream_config(layout, g, old.num_replicas)
    }
}

/// Whether `e` says the stream does not exist (as opposed to NATS not answering).
pub fn stream_not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(e.kind(), GetStreamErrorKind::JetStream(j) if j.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

/// The layout a fleet uses with base stream `base`: partitioned if group stream 0 exists and
/// says how many groups there are, else the single stream.
pub async fn discover_layout(js: &jetstream::Context, base: &str) -> crate::layout::Layout {
    let single = crate::layout::Layout::new(base, 0);
    let Ok(s) = js.get_stream_no_info(format!("{base}_0")).await else {
        return single;
    };
    match s.get_info().await {
        Ok(info) => info
            .config
            .metadata
            .get(PARTITIONS_METADATA)
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p > 0)
            .map(|p| crate::layout::Layout::new(base, p))
            .unwrap_or(single),
        Err(_) => single,
    }
}

/// Tenants with events in the stream that no key of the placement bucket names, with their
/// event counts.
pub async fn unplaced_tenants(
    js: &jetstream::Context,
    layout: &crate::layout::Layout,
    placement: &kv::Store,
) -> Result<std::collections::BTreeMap<String, u64>, String> {
    use futures_util::TryStreamExt;
    let placed: std::collections::BTreeSet<String> = placement
        .keys()
        .await
        .map_err(|e| format!("cannot list the placement bucket: {e}"))?
        .try_collect()
        .await
        .map_err(|e| format!("cannot list the placement bucket: {e}"))?;
    let mut events = events_per_tenant(js, layout).await?;
    events.retain(|t, _| !placed.contains(t));
    Ok(events)
}

/// Why a bucket could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BucketError {
    #[error("KV bucket '{0}' does not exist")]
    NotFound(String),
    #[error("cannot open KV bucket '{0}': {1}")]
    Other(String, String),
}

/// A stream's handle and info. On a cluster, JetStream answers "no responders" or nothing
/// for a moment while a server starts or a leader is elected (nats-server's followers wait
/// 4-9 s for a lost leader): a request that got no answer within 2 s is sent again, for up
/// to 12 s in all, before it is an error. An answer ("not found", say) is returned at once.
pub async fn get_stream_patiently(
    js: &jetstream::Context,
    name: &str,
) -> Result<jetstream::stream::Stream, GetStreamPatientlyError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(12);
    let mut wait = Duration::from_millis(100);
    loop {
        let last = match tokio::time::timeout(Duration::from_secs(2), js.get_stream(name)).await {
            Ok(Err(e)) if matches!(e.kind(), GetStreamErrorKind::Request) => {
                GetStreamPatientlyError::Unanswered(e.to_string())
            }
            Ok(Err(e)) => return Err(GetStreamPatientlyError::Answer(e)),
            Ok(Ok(s)) => return Ok(s),
            Err(_) => GetStreamPatientlyError::Unanswered("no answer in 2 s".into()),
        };
        if tokio::time::Instant::now() + wait >= deadline {
            return Err(last);
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(1));
    }
}

/// Why [`get_stream_patiently`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum GetStreamPatientlyError {
    /// JetStream answered: the stream does not exist, or the request was refused.
    #[error("{0}")]
    Answer(jetstream::context::GetStreamError),
    /// No answer came, however often it was asked.
    #[error("JetStream did not answer for 12 s (last: {0})")]
    Unanswered(String),
}

/// Opens an existing bucket, telling a missing bucket apart from other failures.
pub async fn open_bucket(js: &jetstream::Context, name: &str) -> Result<kv::Store, BucketError> {
    if let Err(e) = get_stream_patiently(js, &format!("KV_{name}")).await {
        return Err(match &e {
            GetStreamPatientlyError::Answer(a) if stream_not_found(a) => {
                BucketError::NotFound(name.to_string())
            }
            _ => BucketError::Other(name.to_string(), e.to_string()),
        });
    }
    js.get_key_value(name)
        .await
        .map_err(|e| BucketError::Other(name.to_string(), e.to_string()))
}

/// Opens the bucket `config` describes, creating it if it does not exist.
pub async fn open_or_create_bucket(
    js: &jetstream::Context,
    config: kv::Config,
) -> Result<kv::Store, BucketError> {
    let name = config.bucket.clone();
    match open_bucket(js, &name).await {
        Err(BucketError::NotFound(_)) => match js.create_key_value(config).await {
            Ok(s) => Ok(s),
            // Created by somebody else meanwhile.
            Err(e) => open_bucket(js, &name)
                .await
                .map_err(|_| BucketError::Other(name.clone(), format!("cannot create it: {e}"))),
        },
        other => other,
    }
}

/// Placement: tenant -> shard, written by operators; revisions kept for `history`.
pub fn placement_bucket(name: &str, replicas: usize) -> kv::Config {
    kv::Config {
        bucket: name.to_string(),
        description: "runner tenant placement: key = tenant, value = shard id".into(),
        history: PLACEMENT_HISTORY,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    }
}

/// Shard registry and lease: one heartbeat record per live runner, gone `lease` after its
/// last heartbeat.
pub fn registry_bucket(name: &str, lease: Duration, replicas: usize) -> kv::Config {
    kv::Config {
        bucket: name.to_string(),
        description: "runner shard registry and lease: key = shard id".into(),
        history: 1,
        max_age: lease,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    }
}

/// Hand-over: tenant claims and shards' position reports.
pub fn handoff_bucket(name: &str, replicas: usize) -> kv::Config {
    kv::Config {
        bucket: name.to_string(),
        description: "runner hand-over: claim.<tenant>, positions.<shard>".into(),
        history: 8,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    }
}

/// The audit trail of placement changes.
pub fn audit_stream(replicas: usize) -> stream::Config {
    stream::Config {
        name: AUDIT_STREAM.to_string(),
        subjects: vec!["audit.>".into()],
        storage: stream::StorageType::File,
        max_messages_per_subject: 1000,
        num_replicas: replicas,
        ..Default::default()
    }
}

/// A key's latest entry.
#[derive(Debug, Clone)]
pub struct Latest {
    pub key: String,
    pub value: bytes::Bytes,
    pub revision: u64,
    /// False for a delete or purge marker.
    pub live: bool,
    pub time_ms: u64,
}

/// Every key's latest entry in a bucket, for keys matching `filter` (`>`, `claim.>`), read
/// with one consumer that ends when it has delivered them all (nothing to wait for when no
/// key matches).
pub async fn latest_entries(
    js: &jetstream::Context,
    bucket: &str,
    filter: &str,
) -> Result<Vec<Latest>, String> {
    let stream = get_stream_patiently(js, &format!("KV_{bucket}"))
        .await
        .map_err(|e| format!("cannot read KV bucket '{bucket}': {e}"))?;
    let prefix = format!("$KV.{bucket}.");
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::Config {
            filter_subject: format!("{prefix}{filter}"),
            deliver_policy: jetstream::consumer::DeliverPolicy::LastPerSubject,
            ack_policy: jetstream::consumer::AckPolicy::None,
            memory_storage: true,
            inactive_threshold: Duration::from_secs(30),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot read KV bucket '{bucket}': {e}"))?;
    let mut pending = consumer.cached_info().num_pending;
    let mut out = Vec::new();
    if pending == 0 {
        return Ok(out);
    }
    let mut msgs = crate::pull::Pull::start(js, &consumer, Default::default())
        .await
        .map_err(|e| format!("cannot read KV bucket '{bucket}': {e}"))?;
    while pending > 0 {
        let m = tokio::time::timeout(Duration::from_secs(10), msgs.next())
            .await
            .map_err(|_| format!("reading KV bucket '{bucket}' took too long"))?
            .map_err(|e| format!("cannot read KV bucket '{bucket}': {e}"))?;
        let info = m.info().map_err(|e| e.to_string())?;
        pending = info.pending;
        let revision = info.stream_sequence;
        let time = (info.published.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
        let live = m
            .headers
            .as_ref()
            .and_then(|h| h.get("KV-Operation"))
            .is_none_or(|op| op.as_str() != "DEL" && op.as_str() != "PURGE");
        let key = m
            .subject
            .as_str()
            .strip_prefix(&prefix)
            .unwrap_or(m.subject.as_str())
            .to_string();
        out.push(Latest {
            key,
            value: m.payload.clone(),
            revision,
            live,
            time_ms: time,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;

    #[test]
    fn a_server_list_takes_one_url_or_several() {
        let one: ServerList = "nats://127.0.0.1:4222".parse().unwrap();
        assert_eq!(one.len(), 1);
        let three: ServerList = "nats://a:4222, tls://b:4223,c".parse().unwrap();
        assert_eq!(three.len(), 3);
        assert_eq!(
            three.to_string(),
            "nats://a:4222,tls://b:4223,nats://c:4222"
        );
        let ipv6: ServerList = "nats://[::1]:4222".parse().unwrap();
        assert_eq!(ipv6.to_string(), "nats://[::1]:4222");
    }

    #[test]
    fn a_bad_server_list_says_which_part_is_wrong() {
        let e = "nats://a:4222,nats://b:42x22"
            .parse::<ServerList>()
            .unwrap_err();
        assert!(
            e.contains("'nats://b:42x22' is not a NATS server URL"),
            "{e}"
        );
        let e = "nats://a:4222,,nats://b:4222"
            .parse::<ServerList>()
            .unwrap_err();
        assert!(e.contains("empty server"), "{e}");
        let e = "".parse::<ServerList>().unwrap_err();
        assert!(e.contains("empty server"), "{e}");
        let e = "http://a:4222".parse::<ServerList>().unwrap_err();
        assert!(e.contains("invalid scheme"), "{e}");
    }

    #[test]
    fn a_server_list_never_shows_a_password() {
        let l: ServerList = "nats://bob:s3cret@a:4222".parse().unwrap();
        assert_eq!(l.to_string(), "nats://a:4222");
    }

    #[test]
    fn replicas_are_auto_or_one_to_five() {
        assert_eq!("auto".parse::<Replicas>(), Ok(Replicas::Auto));
        assert_eq!("3".parse::<Replicas>(), Ok(Replicas::Fixed(3)));
        for bad in ["0", "6", "three", ""] {
            assert!(bad.parse::<Replicas>().is_err(), "{bad}");
        }
        assert_eq!(Replicas::Auto.resolve(1), 1);
        assert_eq!(Replicas::Auto.resolve(2), 2);
        assert_eq!(Replicas::Auto.resolve(3), 3);
        assert_eq!(Replicas::Auto.resolve(5), 3);
        assert_eq!(
            Replicas::Fixed(5).resolve(1),
            5,
            "a fixed count is the operator's"
        );
        assert!(replica_warning("stream X", 1, 3).is_some());
        assert!(replica_warning("stream X", 3, 5).is_none());
        assert!(replica_warning("stream X", 1, 1).is_none());
    }

    #[test]
    fn group_streams_keep_the_single_streams_settings_and_share_its_limits() {
        let old = stream::Config {
            name: "RUNNER_EVENTS".into(),
            subjects: vec!["evt.*.*".into()],
            num_replicas: 3,
            storage: stream::StorageType::Memory,
            max_age: Duration::from_secs(86_400),
            duplicate_window: Duration::from_secs(30),
            max_bytes: 1000,
            max_messages: -1,
            sealed: true,
            ..Default::default()
        };
        let layout = Layout::new("RUNNER_EVENTS", 3);
        let c = group_stream_like(&old, &layout, 2);
        assert_eq!(c.name, "RUNNER_EVENTS_2");
        assert_eq!(c.subjects, vec!["evt.2.*.*".to_string()]);
        assert_eq!(c.num_replicas, 3);
        assert_eq!(c.storage, stream::StorageType::Memory);
        assert_eq!(c.max_age, Duration::from_secs(86_400));
        assert_eq!(c.duplicate_window, Duration::from_secs(30));
        assert_eq!(c.max_bytes, 334, "1000 bytes over 3 groups, rounded up");
        assert_eq!(c.max_messages, -1, "unlimited stays unlimited");
        assert!(!c.sealed, "a group stream is open");
        assert_eq!(c.metadata[PARTITIONS_METADATA], "3");
    }
}
