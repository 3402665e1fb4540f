//! Connecting `runnerctl` to NATS and opening the placement protocol's buckets, with errors
//! that say what to do.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use shared::nats::{BucketError, open_bucket};

use crate::cli::NatsArgs;
use crate::exit::{CliError, FAILURE, NOT_FOUND, UNREACHABLE};

pub struct Nats {
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub args: NatsArgs,
}

pub async fn connect(args: &NatsArgs) -> Result<Nats, CliError> {
    let mut opts = match &args.nats_creds {
        Some(p) => async_nats::ConnectOptions::with_credentials_file(p.clone())
            .await
            .map_err(|e| CliError::usage(format!("--nats-creds {}: {e}", p.display())))?,
        None => async_nats::ConnectOptions::new(),
    };
    if let (Some(u), Some(p)) = (&args.nats_user, &args.nats_password) {
        opts = opts.user_and_password(u.clone(), p.clone());
    }
    if let Some(t) = &args.nats_token {
        opts = opts.token(t.clone());
    }
    if let Some(p) = &args.nats_nkey {
        let seed = std::fs::read_to_string(p)
            .map_err(|e| CliError::usage(format!("--nats-nkey {}: {e}", p.display())))?;
        opts = opts.nkey(seed.trim().to_string());
    }
    if let Some(ca) = &args.nats_tls_ca {
        std::fs::metadata(ca)
            .map_err(|e| CliError::usage(format!("--nats-tls-ca {}: {e}", ca.display())))?;
        opts = opts.add_root_certificates(ca.clone()).require_tls(true);
    }
    let opts = opts
        .name("runnerctl")
        .connection_timeout(Duration::from_secs(3))
        .max_reconnects(Some(3));
    let client = opts.connect(args.nats_url.as_str()).await.map_err(|e| {
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
            UNREACHABLE,
            format!("cannot connect to NATS at {}: {e}; {hint}", args.nats_url),
        )
    })?;
    let js = jetstream::new(client.clone());
    Ok(Nats {
        client,
        js,
        args: args.clone(),
    })
}

impl Nats {
    /// Opens a bucket; a missing one is exit code 5 with `hint`.
    pub async fn bucket(&self, name: &str, hint: &str) -> Result<kv::Store, CliError> {
        open_bucket(&self.js, name).await.map_err(|e| match e {
            BucketError::NotFound(_) => CliError::new(
                NOT_FOUND,
                format!(
                    "KV bucket '{name}' does not exist on {}: {hint}",
                    self.args.nats_url
                ),
            ),
            BucketError::Other(_, why) => {
                CliError::new(FAILURE, format!("cannot open KV bucket '{name}': {why}"))
            }
        })
    }

    /// Opens a bucket, `None` when it does not exist.
    pub async fn maybe_bucket(&self, name: &str) -> Result<Option<kv::Store>, CliError> {
        match open_bucket(&self.js, name).await {
            Ok(s) => Ok(Some(s)),
            Err(BucketError::NotFound(_)) => Ok(None),
            Err(BucketError::Other(_, why)) => Err(CliError::new(
                FAILURE,
                format!("cannot open KV bucket '{name}': {why}"),
            )),
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
}

/// Every key's latest entry of a bucket matching `filter` (see [`shared::nats::latest_entries`]).
pub async fn latest(
    nats: &Nats,
    bucket: &str,
    filter: &str,
) -> Result<Vec<shared::nats::Latest>, CliError> {
    shared::nats::latest_entries(&nats.js, bucket, filter)
        .await
        .map_err(|e| CliError::new(FAILURE, e))
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
    let host = nix::unistd::gethostname()
        .ok()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|| "unknown".into());
    (user, host)
}
