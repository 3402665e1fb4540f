//! Connecting `runnerctl` to NATS and reading the placement protocol's buckets (the shard
//! registry included) and audit trail, with errors that say what to do.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use shared::nats::{BucketError, open_bucket};
use shared::placement::{AuditEntry, ShardRecord};

use crate::cli::NatsArgs;
use crate::exit::{CliError, Kind};

pub struct Nats {
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub args: NatsArgs,
    /// Servers in the cluster reached (1: no cluster).
    pub cluster: usize,
    /// Copies of what runnerctl creates (`--replicas` on this cluster).
    pub replicas: usize,
}

pub async fn connect(args: &NatsArgs) -> Result<Nats, CliError> {
    let servers: shared::nats::ServerList = args.nats_url.parse().map_err(|e| {
        CliError::usage(format!(
            "--nats-url (NATS_URL, or the context's nats_url): {e}"
        ))
    })?;
    let opts = args
        .auth()
        .connect_options(shared::nats::OptionNames::Flags)
        .await
        .map_err(CliError::usage)?;
    let opts = opts
        .name("runnerctl")
        .connection_timeout(Duration::from_secs(3))
        .max_reconnects(Some(3));
    let client = opts.connect(servers.addrs()).await.map_err(|e| {
        use async_nats::ConnectErrorKind as K;
        let hint = match e.kind() {
            K::AuthorizationViolation | K::Authentication => {
                "NATS refused the credentials: check --nats-user/--nats-password, --nats-token, --nats-nkey or --nats-creds (RUNNERCTL_NATS_*, or the context's)"
            }
            _ if e.kind() == K::Tls || e.to_string().contains("certificate") => {
                "the TLS handshake failed: is --nats-tls-ca (RUNNERCTL_NATS_TLS_CA) the CA that signed the server's certificate?"
            }
            _ => "is it running, and is this the right --nats-url (NATS_URL)?",
        };
        CliError::new(
            Kind::Unreachable,
            format!("cannot connect to NATS at {servers}: {e}; {hint}"),
        )
    })?;
    let js = jetstream::new(client.clone());
    let cluster = shared::nats::cluster_size(&client.server_info());
    Ok(Nats {
        client,
        js,
        args: args.clone(),
        cluster,
        replicas: args.replicas.resolve(cluster),
    })
}

impl Nats {
    /// Opens a bucket; a missing one is exit code 5 with `hint`.
    pub async fn bucket(&self, name: &str, hint: &str) -> Result<kv::Store, CliError> {
        open_bucket(&self.js, name).await.map_err(|e| match e {
            BucketError::NotFound(_) => CliError::not_found(format!(
                "KV bucket '{name}' does not exist on {}: {hint}",
                self.args.nats_url
            )),
            BucketError::Other(_, why) => {
                CliError::failure(format!("cannot open KV bucket '{name}': {why}"))
            }
        })
    }

    /// Opens a bucket, `None` when it does not exist.
    pub async fn maybe_bucket(&self, name: &str) -> Result<Option<kv::Store>, CliError> {
        match open_bucket(&self.js, name).await {
            Ok(s) => Ok(Some(s)),
            Err(BucketError::NotFound(_)) => Ok(None),
            Err(BucketError::Other(_, why)) => Err(CliError::failure(format!(
                "cannot open KV bucket '{name}': {why}"
            ))),
        }
    }

    pub async fn placement(&self) -> Result<kv::Store, CliError> {
        let name = &self.args.placement_bucket;
        self.bucket(
            name,
            "no tenant was placed yet. Create it with `runnerctl place <tenant> <shard> --create`, or point --placement-bucket (RUNNERCTL_PLACEMENT_BUCKET) at the bucket the runners use (their RUNNER_TENANT_PLACEMENT_BUCKET)",
        )
        .await
    }

    /// Makes sure the audit stream exists; a change should not be made when its audit entry
    /// cannot be.
    pub async fn audit_ready(&self) -> Result<(), String> {
        self.js
            .get_or_create_stream(shared::nats::audit_stream(self.replicas))
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Publishes the audit entry of a change and waits for the stream to store it.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), String> {
        let body = Bytes::from(serde_json::to_vec(entry).expect("serialisable"));
        let ack = self
            .js
            .publish(shared::placement::audit_subject(&entry.tenant), body)
            .await
            .map_err(|e| e.to_string())?;
        ack.await.map(drop).map_err(|e| e.to_string())
    }

    /// The audit entry of a change whose own success does not depend on it: the stream is
    /// created if missing, and a failure is ignored.
    pub async fn audit_best_effort(&self, entry: &AuditEntry) {
        let _ = self.audit_ready().await;
        let _ = self.audit(entry).await;
    }
}

/// The registry's records, by shard id. Records that cannot be read are reported on stderr
/// and skipped.
pub async fn registry(nats: &Nats) -> Result<Vec<ShardRecord>, CliError> {
    let (out, garbage) = registry_checked(nats).await?;
    for g in garbage {
        eprintln!("warning: {g}");
    }
    Ok(out)
}

/// The registry's shard records, in id order, and a line for each record that is not one
/// (it is skipped; the caller says so where its user will see it).
pub async fn registry_checked(nats: &Nats) -> Result<(Vec<ShardRecord>, Vec<String>), CliError> {
    let bucket = &nats.args.registry_bucket;
    if nats.maybe_bucket(bucket).await?.is_none() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut out = Vec::new();
    let mut garbage = Vec::new();
    for e in latest(nats, bucket, ">").await? {
        if !e.live {
            continue;
        }
        match serde_json::from_slice::<ShardRecord>(&e.value) {
            Ok(r) => out.push(r),
            Err(err) => garbage.push(format!(
                "registry record '{}' is not a shard record ({err}); ignored",
                e.key
            )),
        }
    }
    out.sort_by(|a, b| a.shard_id.cmp(&b.shard_id));
    Ok((out, garbage))
}

/// Every key's latest entry of a bucket matching `filter` (see [`shared::nats::latest_entries`]).
pub async fn latest(
    nats: &Nats,
    bucket: &str,
    filter: &str,
) -> Result<Vec<shared::nats::Latest>, CliError> {
    shared::nats::latest_entries(&nats.js, bucket, filter)
        .await
        .map_err(CliError::failure)
}

/// The cordoned shards, by shard (none without a hand-over bucket). Unreadable records
/// count as cordons too: whoever wrote the key meant to keep tenants off the shard.
pub async fn cordons(
    nats: &Nats,
    handoff_bucket: &str,
) -> Result<std::collections::BTreeMap<String, shared::placement::CordonRecord>, CliError> {
    let mut out = std::collections::BTreeMap::new();
    if nats.maybe_bucket(handoff_bucket).await?.is_none() {
        return Ok(out);
    }
    for e in latest(nats, handoff_bucket, "cordon.>").await? {
        if !e.live {
            continue;
        }
        let Some(shard) = e.key.strip_prefix("cordon.") else {
            continue;
        };
        let rec =
            serde_json::from_slice(&e.value).unwrap_or_else(|_| shared::placement::CordonRecord {
                shard: shard.to_string(),
                reason: Some("(unreadable cordon record)".into()),
                by: String::new(),
                at_ms: 0,
            });
        out.insert(shard.to_string(), rec);
    }
    Ok(out)
}

/// `user@host` of whoever runs this command.
pub fn who() -> (String, String) {
    let user = std::env::var("RUNNERCTL_USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        })
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| format!("uid {}", nix::unistd::getuid()));
    let host = shared::hostname();
    (user, host)
}
