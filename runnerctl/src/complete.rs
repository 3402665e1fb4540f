//! Completion of shard and tenant names, through clap's dynamic completion engine: a shell
//! set up with `source <(COMPLETE=bash runnerctl)` (or zsh, fish, elvish, powershell) asks
//! runnerctl itself for candidates, and for shard and tenant arguments runnerctl asks NATS,
//! with the settings it would use for a command (flags aside: environment and config
//! context). NATS that does not answer within a second completes nothing rather than
//! hanging the shell.

use std::ffi::OsStr;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};
use clap_complete::engine::CompletionCandidate;

use crate::cli::Cli;

/// The NATS settings of a plain command, from the environment and the config file.
fn nats_args() -> Option<crate::cli::NatsArgs> {
    let m = Cli::command()
        .try_get_matches_from(["runnerctl", "shards"])
        .ok()?;
    let mut cli = Cli::from_arg_matches(&m).ok()?;
    crate::config::apply(&mut cli, &m).ok()?;
    Some(cli.nats)
}

/// Names from NATS (at most a second), those starting with what was typed.
fn candidates<F, Fut>(current: &OsStr, what: &'static str, fetch: F) -> Vec<CompletionCandidate>
where
    F: FnOnce(crate::nats::Nats) -> Fut,
    Fut: std::future::Future<Output = Vec<(String, Option<String>)>>,
{
    let Some(args) = nats_args() else {
        return Vec::new();
    };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    let names = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(1), async {
            let nats = crate::nats::connect(&args).await.ok()?;
            Some(fetch(nats).await)
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
    });
    let prefix = current.to_string_lossy();
    names
        .into_iter()
        .filter(|(n, _)| n.starts_with(prefix.as_ref()))
        .map(|(n, help)| {
            CompletionCandidate::new(n).help(Some(help.unwrap_or_else(|| what.to_string()).into()))
        })
        .collect()
}

/// Live shards from the registry, and cordoned ones.
pub fn shards(current: &OsStr) -> Vec<CompletionCandidate> {
    candidates(current, "shard", |nats| async move {
        let mut out: Vec<(String, Option<String>)> = crate::nats::registry(&nats)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                let help = format!("shard, {}, {} tenants", r.state, r.tenants.len());
                (r.shard_id, Some(help))
            })
            .collect();
        let cordons = crate::nats::cordons(&nats, &nats.args.handoff_bucket)
            .await
            .unwrap_or_default();
        for (s, _) in cordons {
            match out.iter_mut().find(|(n, _)| *n == s) {
                Some((_, h)) => *h = h.take().map(|h| format!("{h}, cordoned")),
                None => out.push((s, Some("shard, cordoned, not running".into()))),
            }
        }
        out
    })
}

/// Placed tenants, from the placement bucket.
pub fn tenants(current: &OsStr) -> Vec<CompletionCandidate> {
    candidates(current, "tenant", |nats| async move {
        crate::fleet::placement_targets(&nats, &nats.args.placement_bucket)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(t, s)| (t, Some(format!("tenant on {s}"))))
            .collect()
    })
}
