//! `GET /admin/status`, assembled from its three sources: the volume (through the
//! `edge_storage` query layer), the event stream (NATS, bounded to 3 s), and the runner's
//! own state and metrics.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use axum::http::StatusCode;
use futures_util::StreamExt;
use shared::edge_storage::{StorageError, TableId};
use shared::layout::{Group, Layout};
use shared::wire::{
    Assignment, Counters, ErrorCode, GroupStatus, NatsStatus, ReaderStatus, SagaStatus,
    StatusResponse, TenantStatus, VolumeStatus, WaitingTenant,
};

use crate::api::{AdminState, ApiError};
use crate::state::{EngineView, ReaderId};

/// What the volume says, read in one transaction.
struct VolSnapshot {
    /// tenant -> saga -> (checkpoint, outbox, timers)
    tenants: BTreeMap<String, BTreeMap<String, (u64, u64, u64)>>,
    outbox: u64,
    /// When the oldest outbox entry was written (none: empty).
    outbox_oldest_at_ms: Option<u64>,
    timers: u64,
    file_bytes: u64,
    used_bytes: u64,
    max_bytes: u64,
}

/// What the event streams say; what NATS did not answer is unknown (absent).
struct StreamView {
    /// Each group stream's last sequence.
    last: BTreeMap<Group, u64>,
    /// (tenant, saga) -> the subject's last sequence (`Some(None)`: no event on it).
    by_subject: LastBySubject,
    identity: BTreeMap<Group, String>,
}

type LastBySubject = BTreeMap<(String, String), Option<u64>>;

/// The whole status answer; `lag: false` skips the per-subject stream lookups.
pub async fn build(st: &AdminState, lag: bool) -> Result<StatusResponse, ApiError> {
    let view = st.shared.engine.lock().expect("lock").clone();
    let snap = volume_snapshot(st, &view).await?;
    let groups = groups_of_interest(&st.layout, &view);
    let mut stream = match st.js.get() {
        Some(js) => stream_view(js, &st.layout, &groups, &snap, lag).await,
        None => StreamView {
            last: BTreeMap::new(),
            by_subject: BTreeMap::new(),
            identity: BTreeMap::new(),
        },
    };
    let mut problems = st.shared.problems();
    problems.extend(stream_problems(st, &snap, &mut stream));
    let (tenants, totals) = tenant_statuses(st, &view, &snap, &stream);
    // Awaited here: the struct below holds lock guards as temporaries.
    let cordon = cordon(st).await;
    Ok(StatusResponse {
        shard_id: st.shard.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        state: st.shared.state(),
        started_at_ms: st.shared.started_at_ms,
        nats: NatsStatus {
            url: st.nats_url.clone(),
            connected: st.shared.nats_connected.load(Ordering::Relaxed),
            cluster_size: st.storage.get().map(|s| s.0),
            replicas_setting: Some(st.replicas_setting.clone()),
            storage: st.storage.get().map(|s| s.1.clone()).unwrap_or_default(),
        },
        stream: st.layout.base().to_string(),
        stream_last_seq: if st.layout.is_partitioned() {
            None
        } else {
            stream.last.get(&0).copied()
        },
        layout: st.layout.describe(),
        reader: {
            let first = view.positions.iter().next();
            ReaderStatus {
                consumer: first.and_then(|(g, _)| st.shared.consumer(ReaderId::Group(*g))),
                position: first.map(|(_, p)| *p).unwrap_or(0),
            }
        },
        groups: if st.layout.is_partitioned() {
            group_statuses(st, &view, &groups, &stream)
        } else {
            Vec::new()
        },
        tenants,
        assignment: if st.placement_bucket.is_some() {
            Assignment::Placement
        } else {
            Assignment::Allowlist
        },
        placement_bucket: st.placement_bucket.clone(),
        waiting: st
            .shared
            .waiting
            .lock()
            .expect("lock")
            .iter()
            .map(|(t, r)| WaitingTenant {
                tenant: t.clone(),
                reason: r.clone(),
            })
            .collect(),
        totals,
        events_read: st.metrics.events_read.get(),
        invalid_subjects: st.metrics.invalid_subjects.get(),
        outbox_depth: snap.outbox,
        outbox_oldest_at_ms: snap.outbox_oldest_at_ms,
        timers_pending: snap.timers,
        volume: VolumeStatus {
            path: st.vol.dir().display().to_string(),
            file_bytes: snap.file_bytes,
            used_bytes: snap.used_bytes,
            max_bytes: snap.max_bytes,
            disk_available_bytes: crate::status::disk_available(st.vol.dir()),
        },
        problems,
        drain: st.shared.drain.lock().expect("lock").clone(),
        cordon,
        snapshot: st
            .snapshots
            .get()
            .and_then(|s| s.last())
            .map(|s| shared::wire::SnapshotBrief {
                id: s.id,
                taken_at_ms: s.taken_at_ms,
                bytes: s.bytes,
            }),
        replays: st.shared.replays.lock().expect("lock").clone(),
    })
}

/// Checkpoint, outbox and timer counts of each served tenant's sagas (declared, and those
/// that had events without being declared), and the volume's totals and size.
async fn volume_snapshot(st: &AdminState, view: &EngineView) -> Result<VolSnapshot, ApiError> {
    let tenants: Vec<(String, Vec<String>)> = view
        .tenants
        .keys()
        .map(|t| {
            let mut sagas = st.sagas.clone();
            sagas.extend(st.shared.undeclared_of(t));
            (t.clone(), sagas)
        })
        .collect();
    let vol = st.vol.clone();
    tokio::task::spawn_blocking(move || {
        vol.read(|r| {
            let mut out = BTreeMap::new();
            for (t, sagas) in &tenants {
                let mut per = BTreeMap::new();
                for s in sagas {
                    let cp = r.checkpoint(t, s)?.map(|c| c.seq).unwrap_or(0);
                    let c = r.counts(t, s)?;
                    per.insert(s.clone(), (cp, c.outbox, c.timers));
                }
                out.insert(t.clone(), per);
            }
            let space = vol.space()?;
            Ok::<_, StorageError>(VolSnapshot {
                tenants: out,
                outbox: r.entries(TableId::Outbox)?,
                outbox_oldest_at_ms: r
                    .outbox_batch(None, 1)?
                    .first()
                    .map(|(_, e)| e.created_at_ms),
                timers: r.entries(TableId::Schedules)?,
                file_bytes: space.file_bytes,
                used_bytes: space.used_bytes,
                max_bytes: space.max_bytes,
            })
        })
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            e.to_string(),
        )
    })?
    .map_err(ApiError::from)
}

/// Lag against another stream, or against one that went backwards, means nothing: it is
/// unknown (dropped from `stream`), and said so, never 0.
fn stream_problems(st: &AdminState, snap: &VolSnapshot, stream: &mut StreamView) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(streams) = st.streams.get() {
        let changed: Vec<Group> = stream
            .identity
            .iter()
            .filter(|(g, have)| have.as_str() != streams.id(**g))
            .map(|(g, _)| *g)
            .collect();
        for g in changed {
            let have = stream.identity.get(&g).cloned().unwrap_or_default();
            problems.push(format!(
                "stream {} is not the stream this volume reads (it has {have}, the volume {}): it was recreated; lag is unknown (docs/runbooks.md#the-event-stream-was-recreated)",
                st.layout.stream(g),
                streams.id(g)
            ));
            stream.last.remove(&g);
            let layout = &st.layout;
            stream
                .by_subject
                .retain(|(t, _), _| layout.group_of(t) != g);
        }
    }
    // A checkpoint is a position in the whole stream (a hand-over sets it beyond the
    // subject's own last event): only the stream's end can be behind it.
    let behind: Vec<(&String, &String)> = snap
        .tenants
        .iter()
        .flat_map(|(t, per)| per.iter().map(move |(s, v)| (t, s, v.0)))
        .filter(|(t, _, cp)| {
            stream
                .last
                .get(&st.layout.group_of(t))
                .is_some_and(|l| l < cp)
        })
        .map(|(t, s, _)| (t, s))
        .collect();
    if !behind.is_empty() {
        let names: Vec<String> = behind.iter().map(|(t, s)| format!("{t}/{s}")).collect();
        problems.push(format!(
            "the stream holds less than this volume applied for {} (it went backwards?): their lag is unknown",
            names.join(", ")
        ));
        for (t, s) in behind {
            stream.by_subject.remove(&(t.clone(), s.clone()));
        }
    }
    problems
}

/// One entry per served tenant, with its sagas' checkpoints, lag and counters; and the sum
/// of every counter.
fn tenant_statuses(
    st: &AdminState,
    view: &EngineView,
    snap: &VolSnapshot,
    stream: &StreamView,
) -> (Vec<TenantStatus>, Counters) {
    let mut totals = Counters::default();
    let mut out = Vec::new();
    for (t, per) in &snap.tenants {
        let tv = view.tenants.get(t);
        let mut sagas = Vec::new();
        let (mut ob, mut tm) = (0, 0);
        for (s, (cp, o, timers)) in per {
            ob += o;
            tm += timers;
            let counters = st.metrics.counters(t, s);
            totals.add(&counters);
            // Present: NATS answered (None: no event on the subject). Absent: unknown.
            let declared = st.sagas.contains(s);
            let known = stream
                .by_subject
                .get(&(t.clone(), s.clone()))
                .copied()
                .filter(|_| declared);
            sagas.push(SagaStatus {
                saga: s.clone(),
                declared,
                checkpoint: *cp,
                stream_last_seq: known.flatten(),
                lag: known.map(|l| l.unwrap_or(0).saturating_sub(*cp)),
                counters,
            });
        }
        out.push(TenantStatus {
            tenant: t.clone(),
            mode: tv
                .map(|v| v.mode)
                .unwrap_or(shared::edge_storage::CursorMode::Released),
            own_reader: tv.is_some_and(|v| v.own_reader),
            group: st.layout.group_of(t),
            consumer: tv.and_then(|v| st.shared.consumer(v.reader)),
            sagas,
            outbox_depth: ob,
            timers_pending: tm,
        });
    }
    (out, totals)
}

/// The groups status reports on: those read whole and those of the tenants served.
fn groups_of_interest(layout: &Layout, view: &EngineView) -> Vec<Group> {
    let mut groups: std::collections::BTreeSet<Group> = view.positions.keys().copied().collect();
    groups.extend(view.tenants.keys().map(|t| layout.group_of(t)));
    groups.into_iter().collect()
}

fn group_statuses(
    st: &AdminState,
    view: &EngineView,
    groups: &[Group],
    stream: &StreamView,
) -> Vec<GroupStatus> {
    groups
        .iter()
        .map(|g| GroupStatus {
            group: *g,
            stream: st.layout.stream(*g),
            read_whole: view.positions.contains_key(g),
            position: view.positions.get(g).copied(),
            stream_last_seq: stream.last.get(g).copied(),
            tenants: view
                .tenants
                .keys()
                .filter(|t| st.layout.group_of(t) == *g)
                .count() as u64,
            consumer: st.shared.consumer(ReaderId::Group(*g)),
        })
        .collect()
}

/// The group streams' last sequences and identities and, when asked, the last sequence of
/// each tenant+saga subject; what NATS does not answer within 3 s stays unknown.
async fn stream_view(
    js: &jetstream::Context,
    layout: &Layout,
    groups: &[Group],
    snap: &VolSnapshot,
    per_subject: bool,
) -> StreamView {
    let work = async {
        let mut last = BTreeMap::new();
        let mut identity = BTreeMap::new();
        for g in groups {
            let Ok(s) = js.get_stream_no_info(layout.stream(*g)).await else {
                continue;
            };
            if let Ok(info) = s.get_info().await {
                last.insert(*g, info.state.last_sequence);
                identity.insert(*g, crate::stream::identity_of(&info));
            }
        }
        if !per_subject {
            return (last, BTreeMap::new(), identity);
        }
        let keys: Vec<(String, String)> = snap
            .tenants
            .iter()
            .flat_map(|(t, per)| per.keys().map(move |s| (t.clone(), s.clone())))
            .collect();
        let found: LastBySubject = futures_util::stream::iter(keys)
            .map(|(t, sg)| async move {
                let subject = layout.event_subject(&t, &sg);
                let Ok(s) = js
                    .get_stream_no_info(layout.stream(layout.group_of(&t)))
                    .await
                else {
                    return ((t, sg), None);
                };
                let seq = match s.get_last_raw_message_by_subject(&subject).await {
                    Ok(m) => Some(Some(m.sequence)),
                    Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => {
                        Some(None)
                    }
                    Err(_) => None,
                };
                ((t, sg), seq)
            })
            .buffer_unordered(32)
            .filter_map(|(k, v)| async move { v.map(|v| (k, v)) })
            .collect()
            .await;
        (last, found, identity)
    };
    let (last, by_subject, identity) = tokio::time::timeout(Duration::from_secs(3), work)
        .await
        .unwrap_or_default();
    StreamView {
        last,
        by_subject,
        identity,
    }
}

/// The shard's cordon, if an operator set one (`runnerctl cordon`); none when NATS does not
/// answer within a second.
async fn cordon(st: &AdminState) -> Option<shared::placement::CordonRecord> {
    let js = st.js.get()?.clone();
    let (bucket, key) = (
        st.handoff_bucket.clone(),
        shared::placement::cordon_key(&st.shard),
    );
    let read = async move {
        let kv = js.get_key_value(bucket).await.ok()?;
        let v = kv.get(key).await.ok()??;
        serde_json::from_slice::<shared::placement::CordonRecord>(&v).ok()
    };
    tokio::time::timeout(Duration::from_secs(1), read)
        .await
        .ok()
        .flatten()
}

/// Space left to unprivileged writers on the filesystem holding `dir`; `None` when it
/// cannot be read (the status and metrics then leave it out rather than show 0).
pub fn disk_available(dir: &std::path::Path) -> Option<u64> {
    let s = nix::sys::statvfs::statvfs(dir).ok()?;
    (s.blocks_available() as u64).checked_mul(s.fragment_size() as u64)
}
