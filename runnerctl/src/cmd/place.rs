//! `runnerctl place` and `runnerctl unplace`: compare-and-swap edits of the placement
//! bucket, checked first, with an audit entry for each.

use async_nats::jetstream::kv;
use async_nats::jetstream::kv::{CreateErrorKind, Operation, UpdateErrorKind};
use bytes::Bytes;
use serde::Serialize;
use shared::ids::{ShardId, TenantId};
use shared::placement::{AuditEntry, ClaimRecord, ClaimState, ShardRecord, claim_key};

use crate::cli::{NatsArgs, PlaceArgs, UnplaceArgs};
use crate::client::Admin;
use crate::exit::{CliError, Kind};
use crate::nats::{Nats, connect, registry, who};
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
    /// The shard was chosen by runnerctl (no shard given).
    recommended: bool,
    /// Partitioned layout: what the placement does to the shard's reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    read_cost: Option<ReadCost>,
}

/// What a shard reads before and after a placement, by the reading rule, in the unit of
/// the load measured (`events retained` by the streams).
#[derive(Serialize, Clone)]
struct ReadCost {
    shard: String,
    unit: &'static str,
    before: f64,
    after: f64,
    /// Of the increase, the tenant's own events; the rest is other tenants' events read
    /// because the shard now reads their group whole.
    own: f64,
    /// The shard recommended for the tenant.
    recommended: Option<String>,
}

fn tenant_arg(s: &str) -> Result<TenantId, CliError> {
    TenantId::new(s).map_err(|e| CliError::usage(format!("{e}")))
}

/// Makes sure the audit stream exists, before anything is written: a change is not made
/// when its audit entry could not be.
async fn audit_ready(nats: &Nats) -> Result<(), CliError> {
    nats.audit_ready().await.map_err(|e| {
        CliError::failure(format!(
            "cannot create the audit stream, so nothing was changed: {e}"
        ))
    })
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
                    "{}: {} -> {} (revision {}{}{})",
                    c.tenant,
                    fmt(&c.before),
                    fmt(&c.after),
                    c.revision,
                    if c.forced { ", forced" } else { "" },
                    if c.recommended {
                        ", the recommended shard"
                    } else {
                        ""
                    }
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
            Kind::Conflict,
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
    let st = admin.status(false).await.ok()?;
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
    if let Some(s) = &args.shard {
        ShardId::new(s.clone()).map_err(|e| CliError::usage(e.to_string()))?;
    }
    if args.reason.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(CliError::usage("--reason is empty").into());
    }
    let nats = connect(nats_args).await?;
    let kv = if args.create {
        shared::nats::open_or_create_bucket(
            &nats.js,
            shared::nats::placement_bucket(&nats_args.placement_bucket, nats.replicas),
        )
        .await
        .map_err(|e| CliError::failure(e.to_string()))?
    } else {
        nats.placement().await?
    };
    let fleet = crate::fleet::read(&nats, nats_args, None, args.ignore_cordon).await?;
    if let Some(s) = &args.shard
        && !args.ignore_cordon
        && let Some(c) = fleet.cordoned.get(s)
    {
        return Err(CliError::refused(format!(
            "shard {s} is cordoned{}: no tenant is placed on it; nothing changed (`runnerctl uncordon {s}`, or --ignore-cordon)",
            crate::cmd::cordon::describe(c)
        ))
        .into());
    }
    let recommended = shared::layout::plan::recommend(
        &fleet.layout,
        tenant.as_str(),
        &fleet.placement,
        &fleet.load,
        &fleet.shards,
    );
    let chosen = args.shard.is_none();
    let shard = match args.shard.clone().or(recommended.clone()) {
        Some(s) => ShardId::new(s).map_err(|e| CliError::usage(e.to_string()))?,
        None => {
            return Err(CliError::refused(
                "no shard given and no live shard to recommend (`runnerctl shards` lists the live ones); nothing changed",
            )
            .into());
        }
    };
    let read_cost = read_cost(&fleet, &tenant, &shard, recommended);

    // Everything is checked before anything is written.
    let Checks {
        refusals,
        mut warnings,
    } = checks(&nats, nats_args, &tenant, &shard, token).await?;
    let entry = kv
        .entry(tenant.as_str())
        .await
        .map_err(|e| CliError::failure(format!("cannot read the placement of {tenant}: {e}")))?;
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
        return Err(CliError::refused(format!(
            "refusing to place {tenant} on {shard}; nothing changed:\n{list}\n(--force overrides)"
        ))
        .into());
    }
    warnings.extend(refusals.iter().map(|r| format!("forced over: {r}")));
    if let Some(w) = read_cost.as_ref().and_then(cost_warning) {
        warnings.push(w);
    }
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
            recommended: chosen,
            read_cost,
        };
        show(&c, format);
        return Ok(());
    }
    audit_ready(&nats).await?;
    let written = write(&kv, &tenant, &shard, entry.as_ref()).await?;
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
    if let Err(e) = nats.audit(&a).await {
        return Err(undo_place(&kv, &tenant, &a, written, e).await.into());
    }
    show(
        &Change {
            tenant: tenant.to_string(),
            before: current,
            after: Some(shard.to_string()),
            revision: written,
            changed: true,
            forced,
            reason: args.reason,
            warnings,
            recommended: chosen,
            read_cost,
        },
        format,
    );
    Ok(())
}

/// What placing `tenant` on `shard` does to the shard's reads (partitioned layout only).
fn read_cost(
    fleet: &crate::fleet::Fleet,
    tenant: &TenantId,
    shard: &ShardId,
    recommended: Option<String>,
) -> Option<ReadCost> {
    use shared::layout::plan::shard_reads;
    if !fleet.layout.is_partitioned() {
        return None;
    }
    let mut after = fleet.placement.clone();
    let mut before = fleet.placement.clone();
    before.remove(tenant.as_str());
    after.insert(tenant.to_string(), shard.to_string());
    Some(ReadCost {
        shard: shard.to_string(),
        unit: fleet.unit,
        before: shard_reads(&fleet.layout, &before, &fleet.load, shard.as_str()),
        after: shard_reads(&fleet.layout, &after, &fleet.load, shard.as_str()),
        own: fleet.load.get(tenant.as_str()).copied().unwrap_or(0.0),
        recommended,
    })
}

/// Said when a placement makes a shard read more than the tenant's own events, or puts the
/// tenant away from its group (a reader of its own).
fn cost_warning(c: &ReadCost) -> Option<String> {
    let away = c.recommended.as_deref().is_some_and(|r| r != c.shard);
    let extra = c.after - c.before - c.own;
    if !away && extra <= 0.0 {
        return None;
    }
    let pct = |x: f64| {
        if c.before > 0.0 {
            format!(" (+{:.0}%)", 100.0 * x / c.before)
        } else {
            String::new()
        }
    };
    let rec = c
        .recommended
        .as_deref()
        .map(|r| format!("; the recommended shard is {r} (`runnerctl place <tenant>` picks it)"))
        .unwrap_or_default();
    Some(if extra > 0.0 {
        format!(
            "{} will read {:.0} more {}{}: the tenant's own {:.0} and {extra:.0} of other tenants of its partition group, which it then reads whole{rec}",
            c.shard,
            c.after - c.before,
            c.unit,
            pct(c.after - c.before),
            c.own
        )
    } else {
        format!(
            "{} will read the tenant with a reader of its own ({:.0} {}{}): its partition group is read elsewhere{rec}",
            c.shard,
            c.own,
            c.unit,
            pct(c.after - c.before)
        )
    })
}

/// What the checks before a placement found: reasons to refuse (`--force` overrides), and
/// warnings.
struct Checks {
    refusals: Vec<String>,
    warnings: Vec<String>,
}

/// The shard must be registered and take tenants; a tenant with state on another live
/// shard must be moved, not placed.
async fn checks(
    nats: &Nats,
    nats_args: &NatsArgs,
    tenant: &TenantId,
    shard: &ShardId,
    token: Option<String>,
) -> Result<Checks, CliError> {
    let shards = registry(nats).await?;
    let mut refusals = Vec::new();
    let mut warnings = Vec::new();
    match shards.iter().find(|r| r.shard_id == shard.as_str()) {
        None => refusals.push(format!(
            "shard '{shard}' is not registered: no live runner serves it (`runnerctl shards` lists the live ones)"
        )),
        Some(r) if r.state.is_stopping() => {
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
        let msg = state_elsewhere(tenant, shard, &c, holder, state);
        if state == Some(false) {
            // Served there, but nothing applied yet: nothing to lose.
        } else if holder.is_some() {
            refusals.push(msg);
        } else {
            warnings.push(msg);
        }
    }
    Ok(Checks { refusals, warnings })
}

/// Why placing a tenant claimed by another shard loses its state there.
fn state_elsewhere(
    tenant: &TenantId,
    shard: &ShardId,
    c: &ClaimRecord,
    holder: Option<&ShardRecord>,
    state: Option<bool>,
) -> String {
    let how = match c.state {
        ClaimState::Active => "it serves it",
        ClaimState::Released => "it released it",
    };
    format!(
        "tenant '{tenant}' {} on {} shard '{}' ({how}): placing it on '{shard}' starts it there with empty state; `runnerctl move {tenant} --to {shard}` moves it with its state, --force starts it empty",
        if state == Some(true) {
            "has state"
        } else {
            "may have state"
        },
        if holder.is_some() { "live" } else { "stopped" },
        c.shard,
    )
}

/// Compare-and-swap write of the placement: over `entry`, or a create when there is none.
async fn write(
    kv: &kv::Store,
    tenant: &TenantId,
    shard: &ShardId,
    entry: Option<&kv::Entry>,
) -> Result<u64, CliError> {
    let value = Bytes::from(shard.to_string());
    Ok(match entry {
        Some(e) => kv.update(tenant.as_str(), value, e.revision).await.map_err(|err| {
            if err.kind() == UpdateErrorKind::WrongLastRevision {
                CliError::conflict(format!("the placement of {tenant} changed while this command ran (it was at revision {}); nothing written: check `runnerctl history {tenant}` and run again", e.revision))
            } else {
                CliError::failure(format!("cannot write the placement of {tenant}: {err}"))
            }
        })?,
        None => kv.create(tenant.as_str(), value).await.map_err(|err| {
            if err.kind() == CreateErrorKind::AlreadyExists {
                CliError::conflict(format!("{tenant} was placed by somebody else while this command ran; nothing written: check `runnerctl history {tenant}` and run again"))
            } else {
                CliError::failure(format!("cannot write the placement of {tenant}: {err}"))
            }
        })?,
    })
}

/// No change without its audit entry: puts the previous value back, and says how that went.
async fn undo_place(
    kv: &kv::Store,
    tenant: &TenantId,
    a: &AuditEntry,
    written: u64,
    e: String,
) -> CliError {
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
    CliError::failure(if undone {
        format!(
            "cannot write the audit entry ({e}); the placement was put back, nothing changed: run again"
        )
    } else {
        format!(
            "the placement was written (revision {written}) but its audit entry was not ({e}), and putting it back failed: check `runnerctl history {tenant}`"
        )
    })
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
            Kind::Failure,
            format!("cannot read the placement of {tenant}: {e}"),
        )
    })?;
    let Some(e) = entry.filter(|e| e.operation == Operation::Put) else {
        return Err(CliError::new(
            Kind::NotFound,
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
        CliError::new(Kind::Conflict, format!("the placement of {tenant} changed while this command ran; nothing removed ({err})"))
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
    if let Err(e) = nats.audit(&a).await {
        // No change without its audit entry: place the tenant back where it was.
        let prev = current.clone().unwrap_or_default();
        let undone = kv.create(tenant.as_str(), Bytes::from(prev)).await.is_ok();
        return Err(CliError::new(
            Kind::Failure,
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
            recommended: false,
            read_cost: None,
        },
        format,
    );
    Ok(())
}
