//! `runnerctl place` and `runnerctl unplace`: compare-and-swap edits of the placement
//! bucket, checked first, with an audit entry for each.

use async_nats::jetstream::kv::{CreateErrorKind, Operation, UpdateErrorKind};
use bytes::Bytes;
use serde::Serialize;
use shared::ids::{ShardId, TenantId};
use shared::placement::{AuditEntry, ClaimRecord, ClaimState, claim_key};

use shared::wire::StatusResponse;

use crate::cli::{NatsArgs, PlaceArgs, UnplaceArgs};
use crate::client::Admin;
use crate::cmd::shards::registry;
use crate::exit::{CONFLICT, CliError, FAILURE, NOT_FOUND, REFUSED};
use crate::nats::{Nats, connect, who};
use crate::output::{self, Format};

#[derive(Serialize)]
struct Change {
    tenant: String,
    before: Option<String>,
    after: Option<String>,
    revision: u64,
    changed: bool,
    forced: bool,
    reason: Option<String>,
    warnings: Vec<String>,
}

fn tenant_arg(s: &str) -> Result<TenantId, CliError> {
    TenantId::new(s).map_err(|e| CliError::usage(format!("{e}")))
}

/// Makes sure the audit stream exists, before anything is written: a change is not made
/// when its audit entry could not be.
async fn audit_ready(nats: &Nats) -> Result<(), CliError> {
    nats.js
        .get_or_create_stream(shared::nats::audit_stream())
        .await
        .map(drop)
        .map_err(|e| {
            CliError::new(
                FAILURE,
                format!("cannot create the audit stream, so nothing was changed: {e}"),
            )
        })
}

/// Writes the audit entry of a change.
async fn audit(nats: &Nats, entry: &AuditEntry) -> Result<(), String> {
    let body = Bytes::from(serde_json::to_vec(entry).expect("serialisable"));
    let ack = nats
        .js
        .publish(shared::placement::audit_subject(&entry.tenant), body)
        .await
        .map_err(|e| e.to_string())?;
    ack.await.map(drop).map_err(|e| e.to_string())
}

fn show(c: &Change, format: Format) {
    match format {
        Format::Json => output::json(c),
        Format::Table => {
            for w in &c.warnings {
                eprintln!("warning: {w}");
            }
            let fmt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not placed)".into());
            if c.changed {
                output::println(&format!(
                    "{}: {} -> {} (revision {}{})",
                    c.tenant,
                    fmt(&c.before),
                    fmt(&c.after),
                    c.revision,
                    if c.forced { ", forced" } else { "" }
                ));
            } else {
                output::println(&format!(
                    "{}: already {} (revision {}); nothing changed",
                    c.tenant,
                    fmt(&c.after),
                    c.revision
                ));
            }
        }
    }
}

fn check_expect(
    tenant: &str,
    expect: &Option<String>,
    current: &Option<String>,
) -> Result<(), CliError> {
    let Some(want) = expect else { return Ok(()) };
    let want = if want == "-" {
        None
    } else {
        Some(want.clone())
    };
    if &want != current {
        let fmt = |v: &Option<String>| {
            v.clone()
                .map(|s| format!("'{s}'"))
                .unwrap_or_else(|| "not placed".into())
        };
        return Err(CliError::new(
            CONFLICT,
            format!(
                "{tenant} is {} now, not {} (--expect); nothing changed",
                fmt(current),
                fmt(&want)
            ),
        ));
    }
    Ok(())
}

/// Whether a live shard that serves `tenant` holds state for it: any checkpoint, outbox
/// entry or timer in its status. `None` when that cannot be told (the shard does not
/// answer, or no longer serves the tenant, so its volume may still hold state).
async fn has_state(admin_url: &str, token: Option<String>, tenant: &str) -> Option<bool> {
    let admin = Admin::new(admin_url, token).ok()?;
    let st: StatusResponse = admin.get("/admin/status?lag=false").await.ok()?;
    let t = st.tenants.iter().find(|t| t.tenant == tenant)?;
    Some(t.outbox_depth > 0 || t.timers_pending > 0 || t.sagas.iter().any(|s| s.checkpoint > 0))
}

pub async fn place(
    args: PlaceArgs,
    nats_args: &NatsArgs,
    token: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    let tenant = tenant_arg(&args.tenant)?;
    let shard = ShardId::new(args.shard.clone()).map_err(|e| CliError::usage(e.to_string()))?;
    if args.reason.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(CliError::usage("--reason is empty").into());
    }
    let nats = connect(nats_args).await?;
    let kv = if args.create {
        shared::nats::open_or_create_bucket(
            &nats.js,
            shared::nats::placement_bucket(&nats_args.placement_bucket),
        )
        .await
        .map_err(|e| CliError::new(FAILURE, e.to_string()))?
    } else {
        nats.placement().await?
    };

    // Everything is checked before anything is written.
    let shards = registry(&nats).await?;
    let mut refusals = Vec::new();
    let mut warnings = Vec::new();
    match shards.iter().find(|r| r.shard_id == shard.as_str()) {
        None => refusals.push(format!(
            "shard '{shard}' is not registered: no live runner serves it (`runnerctl shards` lists the live ones)"
        )),
        Some(r) if r.state == "draining" || r.state == "drained" || r.state == "stopping" => {
            refusals.push(format!("shard '{shard}' is {}: it takes no new tenants", r.state))
        }
        Some(_) => {}
    }
    if let Some(handoff) = nats.maybe_bucket(&nats_args.handoff_bucket).await?
        && let Ok(Some(e)) = handoff.entry(claim_key(tenant.as_str())).await
        && e.operation == Operation::Put
        && let Ok(c) = serde_json::from_slice::<ClaimRecord>(&e.value)
        && c.shard != shard.as_str()
    {
        let holder = shards.iter().find(|r| r.shard_id == c.shard);
        let state = match (holder, c.state) {
            (Some(r), ClaimState::Active) => {
                has_state(&r.admin_url, token.clone(), tenant.as_str()).await
            }
            _ => None,
        };
        let live = holder.is_some();
        let how = match c.state {
            ClaimState::Active => "it serves it",
            ClaimState::Released => "it released it",
        };
        let msg = format!(
            "tenant '{tenant}' {} on {} shard '{}' ({how}): placing it on '{shard}' starts it there with empty state; `runnerctl move {tenant} --to {shard}` moves it with its state, --force starts it empty",
            if state == Some(true) {
                "has state"
            } else {
                "may have state"
            },
            if live { "live" } else { "stopped" },
            c.shard,
        );
        if state == Some(false) {
            // Served there, but nothing applied yet: nothing to lose.
        } else if live {
            refusals.push(msg);
        } else {
            warnings.push(msg);
        }
    }
    let entry = kv.entry(tenant.as_str()).await.map_err(|e| {
        CliError::new(
            FAILURE,
            format!("cannot read the placement of {tenant}: {e}"),
        )
    })?;
    let current = entry
        .as_ref()
        .filter(|e| e.operation == Operation::Put)
        .map(|e| String::from_utf8_lossy(&e.value).trim().to_string());
    check_expect(tenant.as_str(), &args.expect, &current)?;
    if !refusals.is_empty() && !args.force {
        let list = refusals
            .iter()
            .map(|r| format!("  - {r}"))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(CliError::new(REFUSED, format!("refusing to place {tenant} on {shard}; nothing changed:\n{list}\n(--force overrides)")).into());
    }
    warnings.extend(refusals.iter().map(|r| format!("forced over: {r}")));
    if current.as_deref() == Some(shard.as_str()) {
        let c = Change {
            tenant: tenant.to_string(),
            before: current.clone(),
            after: current,
            revision: entry.map(|e| e.revision).unwrap_or(0),
            changed: false,
            forced: false,
            reason: args.reason,
            warnings,
        };
        show(&c, format);
        return Ok(());
    }
    audit_ready(&nats).await?;
    let value = Bytes::from(shard.to_string());
    let written = match &entry {
        Some(e) => kv.update(tenant.as_str(), value, e.revision).await.map_err(|err| {
            if err.kind() == UpdateErrorKind::WrongLastRevision {
                CliError::new(CONFLICT, format!("the placement of {tenant} changed while this command ran (it was at revision {}); nothing written: check `runnerctl history {tenant}` and run again", e.revision))
            } else {
                CliError::new(FAILURE, format!("cannot write the placement of {tenant}: {err}"))
            }
        })?,
        None => kv.create(tenant.as_str(), value).await.map_err(|err| {
            if err.kind() == CreateErrorKind::AlreadyExists {
                CliError::new(CONFLICT, format!("{tenant} was placed by somebody else while this command ran; nothing written: check `runnerctl history {tenant}` and run again"))
            } else {
                CliError::new(FAILURE, format!("cannot write the placement of {tenant}: {err}"))
            }
        })?,
    };
    let (user, host) = who();
    let forced = args.force && !refusals.is_empty();
    let a = AuditEntry {
        action: "place".into(),
        tenant: tenant.to_string(),
        before: current.clone(),
        after: Some(shard.to_string()),
        revision: written,
        who: user,
        host,
        at_ms: shared::now_ms(),
        reason: args.reason.clone(),
        forced,
    };
    let c = Change {
        tenant: tenant.to_string(),
        before: current,
        after: Some(shard.to_string()),
        revision: written,
        changed: true,
        forced,
        reason: args.reason,
        warnings,
    };
    if let Err(e) = audit(&nats, &a).await {
        // No change without its audit entry: put the previous value back.
        let undone = match &a.before {
            Some(prev) => kv
                .update(tenant.as_str(), Bytes::from(prev.clone()), written)
                .await
                .is_ok(),
            None => kv
                .delete_expect_revision(tenant.as_str(), Some(written))
                .await
                .is_ok(),
        };
        return Err(CliError::new(
            FAILURE,
            if undone {
                format!("cannot write the audit entry ({e}); the placement was put back, nothing changed: run again")
            } else {
                format!("the placement was written (revision {written}) but its audit entry was not ({e}), and putting it back failed: check `runnerctl history {tenant}`")
            },
        )
        .into());
    }
    show(&c, format);
    Ok(())
}

pub async fn unplace(
    args: UnplaceArgs,
    nats_args: &NatsArgs,
    format: Format,
) -> anyhow::Result<()> {
    let tenant = tenant_arg(&args.tenant)?;
    let nats = connect(nats_args).await?;
    let kv = nats.placement().await?;
    let entry = kv.entry(tenant.as_str()).await.map_err(|e| {
        CliError::new(
            FAILURE,
            format!("cannot read the placement of {tenant}: {e}"),
        )
    })?;
    let Some(e) = entry.filter(|e| e.operation == Operation::Put) else {
        return Err(CliError::new(
            NOT_FOUND,
            format!(
                "{tenant} is not placed (bucket '{}'); nothing changed",
                nats_args.placement_bucket
            ),
        )
        .into());
    };
    let current = Some(String::from_utf8_lossy(&e.value).trim().to_string());
    check_expect(tenant.as_str(), &args.expect, &current)?;
    audit_ready(&nats).await?;
    kv.delete_expect_revision(tenant.as_str(), Some(e.revision)).await.map_err(|err| {
        CliError::new(CONFLICT, format!("the placement of {tenant} changed while this command ran; nothing removed ({err})"))
    })?;
    let revision = kv
        .entry(tenant.as_str())
        .await
        .ok()
        .flatten()
        .map(|e| e.revision)
        .unwrap_or(e.revision + 1);
    let (user, host) = who();
    let a = AuditEntry {
        action: "unplace".into(),
        tenant: tenant.to_string(),
        before: current.clone(),
        after: None,
        revision,
        who: user,
        host,
        at_ms: shared::now_ms(),
        reason: args.reason.clone(),
        forced: false,
    };
    if let Err(e) = audit(&nats, &a).await {
        // No change without its audit entry: place the tenant back where it was.
        let prev = current.clone().unwrap_or_default();
        let undone = kv.create(tenant.as_str(), Bytes::from(prev)).await.is_ok();
        return Err(CliError::new(
            FAILURE,
            if undone {
                format!("cannot write the audit entry ({e}); the placement was put back, nothing changed: run again")
            } else {
                format!("the placement was removed but its audit entry was not ({e}), and putting it back failed: check `runnerctl history {tenant}`")
            },
        )
        .into());
    }
    show(
        &Change {
            tenant: tenant.to_string(),
            before: current,
            after: None,
            revision,
            changed: true,
            forced: false,
            reason: args.reason,
            warnings: vec![],
        },
        format,
    );
    Ok(())
}
