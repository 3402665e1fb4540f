//! `runnerctl placements`: every placed tenant, where it should be and where it is; and the
//! tenants with events in the stream that no placement names (unplaced: their events wait in
//! the stream until a placement names a shard, which then applies them from the first one
//! the stream retains).

use std::collections::BTreeMap;

use comfy_table::Cell;
use serde::Serialize;
use shared::placement::{ClaimRecord, ClaimState};

use crate::cli::NatsArgs;
use crate::nats::{connect, latest, registry};
use crate::output::{self, Format};

#[derive(Serialize)]
pub struct Row {
    pub tenant: String,
    /// The shard the placement bucket names (none: not placed, but a shard claims it).
    desired: Option<String>,
    /// The shard serving it now (its claim is active).
    owner: Option<String>,
    /// `active` or `released`, and the shard and position of the claim.
    claim_state: Option<String>,
    claim_shard: Option<String>,
    claim_position: Option<u64>,
    /// The owner shard's registry state (`running`, ...), or `dead` when it has no record.
    owner_health: Option<String>,
    pub mismatch: bool,
    pub why: Option<String>,
    /// `<from> -> <to>` while `runnerctl move` moves the tenant (no shard serves it then).
    moving: Option<String>,
    /// Events of the tenant the stream holds, for a tenant no placement names (`None` for
    /// placed or claimed tenants).
    #[serde(skip_serializing_if = "Option::is_none")]
    unplaced_events: Option<u64>,
}

pub async fn run(args: &NatsArgs, format: Format) -> anyhow::Result<()> {
    let nats = connect(args).await?;
    nats.placement().await?;
    let rows = rows(&nats, args).await?;
    match format {
        Format::Json => output::json(&rows),
        Format::Table => {
            if rows.is_empty() {
                output::println(&format!(
                    "no tenant is placed (bucket '{}')",
                    args.placement_bucket
                ));
                return Ok(());
            }
            let mut t = output::table(["TENANT", "DESIRED", "OWNER", "HEALTH", "MISMATCH"]);
            let dash = || "-".to_string();
            for r in &rows {
                t.add_row(vec![
                    Cell::new(&r.tenant),
                    Cell::new(r.desired.clone().unwrap_or_else(dash)),
                    Cell::new(r.owner.clone().unwrap_or_else(dash)),
                    Cell::new(r.owner_health.clone().unwrap_or_else(dash)),
                    Cell::new(r.why.clone().unwrap_or_default()),
                ]);
            }
            output::println(&t.to_string());
            let n = rows.iter().filter(|r| r.mismatch).count();
            let unplaced = rows.iter().filter(|r| r.unplaced_events.is_some()).count();
            let tail = if unplaced > 0 {
                format!(" ({unplaced} unplaced, with events in the stream)")
            } else {
                String::new()
            };
            output::println(&format!("\n{} tenants, {n} mismatched{tail}", rows.len()));
        }
    }

    Ok(())
}

/// Every placed or claimed tenant, and every unplaced one with events in the stream, sorted
/// by tenant, each with whether (and why) where it is differs from where it should be.
pub async fn rows(nats: &crate::nats::Nats, args: &NatsArgs) -> anyhow::Result<Vec<Row>> {
    let placed: BTreeMap<String, String> = latest(nats, &args.placement_bucket, ">")
        .await?
        .into_iter()
        .filter(|e| e.live)
        .map(|e| (e.key, String::from_utf8_lossy(&e.value).trim().to_string()))
        .collect();
    let claims: BTreeMap<String, ClaimRecord> =
        match nats.maybe_bucket(&args.handoff_bucket).await? {
            None => BTreeMap::new(),
            Some(_) => latest(nats, &args.handoff_bucket, "claim.>")
                .await?
                .into_iter()
                .filter(|e| e.live)
                .filter_map(|e| {
                    let t = e.key.strip_prefix("claim.")?.to_string();
                    serde_json::from_slice::<ClaimRecord>(&e.value)
                        .ok()
                        .map(|c| (t, c))
                })
                .collect(),
        };
    let shards: BTreeMap<String, String> = registry(nats)
        .await?
        .into_iter()
        .map(|r| (r.shard_id, r.state.to_string()))
        .collect();
    let mut tenants: Vec<&String> = placed.keys().collect();
    for (t, c) in &claims {
        if c.state == ClaimState::Active && !placed.contains_key(t) {
            tenants.push(t);
        }
    }
    tenants.sort();
    let layout = shared::nats::discover_layout(&nats.js, &args.stream).await;
    let in_stream = shared::nats::events_per_tenant(&nats.js, &layout)
        .await
        .map_err(crate::exit::CliError::failure)?;
    let mut rows = Vec::new();
    for t in tenants {
        let desired = placed.get(t).cloned();
        let claim = claims.get(t);
        let owner = claim
            .filter(|c| c.state == ClaimState::Active)
            .map(|c| c.shard.clone());
        let owner_health = owner
            .as_ref()
            .map(|o| shards.get(o).cloned().unwrap_or_else(|| "dead".into()));
        let moving = match desired
            .as_deref()
            .map(|d| shared::placement::parse_placement_value(d.as_bytes()))
        {
            Some(shared::placement::PlacementValue::Moving { from, to }) => {
                Some(format!("{from} -> {to}"))
            }
            _ => None,
        };
        let why = match (&desired, &owner) {
            _ if moving.is_some() => None,
            (Some(d), Some(o)) if d != o => Some(format!(
                "served by {o}, placed on {d}: waiting for the hand-over"
            )),
            (Some(_), Some(_)) if owner_health.as_deref() == Some("dead") => {
                Some("its shard has no heartbeat (crashed?)".into())
            }
            (Some(d), None) if !shards.contains_key(d) => {
                Some(format!("no owner: shard {d} is not live"))
            }
            (Some(_), None) => Some("no owner yet".into()),
            (None, Some(o)) => Some(format!("served by {o} but not placed")),
            _ => None,
        };
        rows.push(Row {
            tenant: t.clone(),
            desired,
            owner,
            claim_state: claim.map(|c| match c.state {
                ClaimState::Active => "active".into(),
                ClaimState::Released => "released".into(),
            }),
            claim_shard: claim.map(|c| c.shard.clone()),
            claim_position: claim.map(|c| c.position),
            owner_health,
            mismatch: why.is_some(),
            why: why.or_else(|| moving.as_ref().map(|m| format!("moving {m}"))),
            moving,
            unplaced_events: None,
        });
    }
    for (t, n) in &in_stream {
        if placed.contains_key(t) || claims.get(t).is_some_and(|c| c.state == ClaimState::Active) {
            continue;
        }
        rows.push(Row {
            tenant: t.clone(),
            desired: None,
            owner: None,
            claim_state: claims.get(t).map(|_| "released".into()),
            claim_shard: claims.get(t).map(|c| c.shard.clone()),
            claim_position: claims.get(t).map(|c| c.position),
            owner_health: None,
            mismatch: true,
            why: Some(format!(
                "unplaced: {n} events in {} wait for a placement",
                args.stream
            )),
            moving: None,
            unplaced_events: Some(*n),
        });
    }
    rows.sort_by(|a, b| a.tenant.cmp(&b.tenant));
    Ok(rows)
}
