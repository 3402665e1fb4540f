//! The event stream's identity: a volume's positions (checkpoints, cursors, the reader
//! position) are sequences of one stream, not of any stream that has its name. A stream
//! deleted and created again starts its sequences at 1 again; read with the old positions it
//! would be skipped silently. So the volume records the identity of the stream it was built
//! from (`meta.stream_id`: name and creation time), the runner compares it with the stream
//! at every start and every time a reader (re)creates its consumer, and refuses a stream
//! that is not the one, unless the operator adopts it (`RUNNER_ADOPT_STREAM`).

use async_nats::jetstream::{self, stream};
use shared::edge_storage::{CursorMode, StorageError, TableId, TenantCursor, Volume, meta};
use shared::layout::{Group, Layout};
use shared::names::msg_id::stream_identity;
use tracing::{info, warn};

/// The event streams of the layout and the identity of each, as the volume reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streams {
    pub layout: Layout,
    /// By group.
    pub ids: Vec<String>,
}

impl Streams {
    /// The identity of a group's stream.
    pub fn id(&self, g: Group) -> &str {
        self.ids
            .get(g as usize)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The identity of the stream holding a tenant's events (where its positions are).
    pub fn id_of_tenant(&self, tenant: &str) -> &str {
        self.id(self.layout.group_of(tenant))
    }

    /// One identity for all the streams, for records that hold positions of many tenants
    /// (position reports): the stream's identity in the single layout; in a partitioned one
    /// the layout and a digest of every group stream's identity.
    pub fn fleet_id(&self) -> String {
        if !self.layout.is_partitioned() {
            return self.id(0).to_string();
        }
        let joined = self.ids.join(",");
        format!(
            "{}/{}@{:08x}",
            self.layout.base(),
            self.layout.describe(),
            shared::names::partition_of(&joined, u32::MAX)
        )
    }
}

/// Checks the volume was built for this layout (recording it in a volume that has read
/// nothing yet), then every group stream against it. Returns every stream's identity.
pub async fn check_layout_at_start(
    js: &jetstream::Context,
    vol: &Volume,
    layout: &Layout,
    adopt: Option<&str>,
) -> Result<Streams, StreamCheck> {
    let recorded = vol.read(|r| r.meta_str(meta::LAYOUT))?;
    let have = match recorded {
        Some(r) => Layout::parse_partitions(&r),
        // Volumes from before layouts: single if they read anything.
        None => {
            let read = vol.read(|r| {
                Ok::<_, StorageError>(
                    r.meta_str(meta::STREAM_ID)?.is_some()
                        || r.meta_u64(meta::READER_POSITION)?.unwrap_or(0) > 0
                        || r.entries(TableId::Checkpoints)? > 0,
                )
            })?;
            read.then_some(0)
        }
    };
    match have {
        Some(p) if p == layout.partitions() => {}
        Some(0) => move_to_partitioned(js, vol, layout).await?,
        Some(p) => {
            let had = Layout::new(layout.base(), p).describe();
            return Err(StreamCheck::Refused(StreamRefused(format!(
                "this volume's positions are in the {had} event layout, but the runner is configured for {} (RUNNER_PARTITIONS={}); positions of one layout mean nothing in another. Start it with RUNNER_PARTITIONS={p}, or follow docs/consumption.md#moving-from-the-single-stream-to-partitioned-streams",
                layout.describe(),
                layout.partitions()
            ))));
        }
        None => {
            vol.write(|w| w.set_meta_str(meta::LAYOUT, &layout.describe()))?;
        }
    }
    let mut ids = Vec::new();
    for g in layout.groups() {
        ids.push(check_at_start(js, vol, layout, g, adopt).await?);
    }
    Ok(Streams {
        layout: layout.clone(),
        ids,
    })
}

/// Where the runbook of the move from the single stream is.
const MOVE_RUNBOOK: &str = "docs/runbooks.md#moving-to-partitioned-streams";

/// Moves a volume of the single layout to the partitioned `layout`, once the single stream
/// is sealed and this volume has read it to its end: every position of the single stream is
/// dropped and every group stream is read from its first event, in one transaction. Refuses
/// (exit 3, saying what to do) before that. docs/consumption.md#moving-from-the-single-stream-to-partitioned-streams
async fn move_to_partitioned(
    js: &jetstream::Context,
    vol: &Volume,
    layout: &Layout,
) -> Result<(), StreamCheck> {
    let single = Layout::new(layout.base(), 0);
    let name = single.stream(0);
    let refuse = |why: String| Err(StreamCheck::Refused(StreamRefused(why)));
    let unavailable = |e: &dyn std::fmt::Display| {
        StreamCheck::Unavailable(format!("cannot read stream {name}: {e}"))
    };
    let info = match js.get_stream(&name).await {
        Ok(mut s) => s.info().await.map_err(|e| unavailable(&e))?.clone(),
        Err(e) if shared::nats::stream_not_found(&e) => {
            return refuse(format!(
                "this volume reads the single stream {name}, which is gone, so whether it applied every event of it cannot be known; the runner refuses to move it to {} (RUNNER_PARTITIONS={}). Keep the single stream (sealed) until every shard has moved: see {MOVE_RUNBOOK}",
                layout.describe(),
                layout.partitions()
            ));
        }
        Err(e) => return Err(unavailable(&e)),
    };
    let current = identity_of(&info);
    let last = info.state.last_sequence;
    let (recorded, position, behind) = vol.read(|r| {
        let behind = r
            .cursors()?
            .into_iter()
            .filter(|(_, c)| c.mode == CursorMode::CatchingUp && c.seq < last)
            .count();
        Ok::<_, StorageError>((
            r.meta_str(meta::STREAM_ID)?,
            r.meta_u64(meta::READER_POSITION)?.unwrap_or(0),
            behind,
        ))
    })?;
    if recorded.as_deref().is_some_and(|id| id != current) {
        return refuse(format!(
            "stream {name} is not the single stream this volume read ({}, now {current}): it was recreated, so this volume cannot have read it to its end. See {MOVE_RUNBOOK}",
            recorded.unwrap_or_default()
        ));
    }
    let partitions = layout.partitions();
    if !info.config.sealed {
        return refuse(format!(
            "this volume's positions are in the single event layout, stream {name}, which is not sealed, and the runner is configured for {} (RUNNER_PARTITIONS={partitions}). First route producers to the group streams, then seal {name} (`runnerctl migrate --partitions {partitions} --seal`); until then run with RUNNER_PARTITIONS=0. See {MOVE_RUNBOOK}",
            layout.describe()
        ));
    }
    if position < last || behind > 0 {
        return refuse(format!(
            "this volume has read the sealed stream {name} up to sequence {position} of {last} ({behind} tenants still catching up): its events must all be applied before the move. Run it with RUNNER_PARTITIONS=0 until `runnerctl migrate --partitions {partitions}` says this shard finished, then start it with RUNNER_PARTITIONS={partitions}. See {MOVE_RUNBOOK}"
        ));
    }
    vol.write(|w| {
        drop_positions(w, |_| true)?;
        w.delete_meta(meta::READER_POSITION)?;
        w.delete_meta(meta::STREAM_ID)?;
        for g in layout.groups() {
            w.set_meta_u64(&meta::reader_position(layout, g), 0)?;
        }
        w.set_meta_str(meta::MOVED_FROM, &format!("{current}@{last}"))?;
        w.set_meta_str(meta::LAYOUT, &layout.describe())
    })?;
    warn!(
        from = %current,
        read_to = last,
        layout = %layout.describe(),
        "moved the volume from the sealed single stream, read to its end, to the partitioned layout: every tenant reads its group stream from its first event"
    );
    Ok(())
}

/// The identity of the stream described by `info`.
pub fn identity_of(info: &stream::Info) -> String {
    stream_identity(&info.config.name, info.created.unix_timestamp_nanos())
}

/// Why the stream cannot be used with this volume; exit code 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StreamRefused(pub String);

/// What the volume says of the stream it was built from.
struct Recorded {
    id: Option<String>,
    reader_position: u64,
    highest_checkpoint: u64,
}

fn recorded(vol: &Volume, layout: &Layout, g: Group) -> Result<Recorded, StorageError> {
    vol.read(|r| {
        let mut highest = 0;
        r.scan(TableId::Checkpoints, &[], None, |k, v| {
            let (t, _) = shared::edge_storage::keys::decode_two(k)?;
            if layout.group_of(t) == g {
                let c: shared::edge_storage::Checkpoint = shared::edge_storage::decode_value(v)?;
                highest = highest.max(c.seq);
            }
            Ok(true)
        })?;
        Ok(Recorded {
            id: r.meta_str(&meta::stream_id(layout, g))?,
            reader_position: r.meta_u64(&meta::reader_position(layout, g))?.unwrap_or(0),
            highest_checkpoint: highest,
        })
    })
}

/// Checks a group's stream against the volume at start, records its identity in a new
/// volume, and adopts a recreated stream when `adopt` names it. Returns the identity.
async fn check_at_start(
    js: &jetstream::Context,
    vol: &Volume,
    layout: &Layout,
    g: Group,
    adopt: Option<&str>,
) -> Result<String, StreamCheck> {
    let stream_name = &layout.stream(g);
    let id_key = meta::stream_id(layout, g);
    let mut s = js
        .get_stream(stream_name)
        .await
        .map_err(|e| StreamCheck::Unavailable(format!("cannot read stream {stream_name}: {e}")))?;
    let info = s
        .info()
        .await
        .map_err(|e| StreamCheck::Unavailable(format!("cannot read stream {stream_name}: {e}")))?
        .clone();
    let current = identity_of(&info);
    let last = info.state.last_sequence;
    let rec = recorded(vol, layout, g)?;
    let position = rec.reader_position.max(rec.highest_checkpoint);
    let runbook = "docs/runbooks.md#the-event-stream-was-recreated";
    match rec.id {
        Some(id) if id == current => {
            if last < position {
                return Err(StreamCheck::Refused(StreamRefused(format!(
                    "stream {stream_name} ends at sequence {last}, but this volume has read it up to {position}: the stream lost messages this volume applied (restored from an older backup?). Refusing to run on it: see {runbook}"
                ))));
            }
            Ok(current)
        }
        Some(id) if adopt == Some(current.as_str()) => {
            adopt_stream(vol, layout, g, &current)?;
            warn!(previous = %id, adopted = %current, "adopted the recreated event stream: every tenant reads it from its first event; events whose ids were applied before are skipped as duplicates");
            Ok(current)
        }
        Some(id) => Err(StreamCheck::Refused(StreamRefused(format!(
            "stream {stream_name} is not the stream this volume was built from: the volume read {id} up to sequence {position}, the server now has {current} (sequences {}..{last}). It was deleted and created again, or this is another NATS system. Reading it with the volume's positions would skip or misplace events, so the runner refuses. If the stream was recreated on purpose, start the runner once with RUNNER_ADOPT_STREAM={current}: every tenant then reads the new stream from its first event, and events whose ids were applied before are skipped as duplicates. See {runbook}",
            info.state.first_sequence
        )))),
        None if position == 0 => {
            vol.write(|w| w.set_meta_str(&id_key, &current))?;
            Ok(current)
        }
        None if last >= position => {
            // A volume from before identities were recorded (format 1): its positions fit
            // this stream, which is all that can be checked.
            vol.write(|w| w.set_meta_str(&id_key, &current))?;
            info!(stream = %current, position, "recorded the identity of the event stream this volume reads");
            Ok(current)
        }
        None => Err(StreamCheck::Refused(StreamRefused(format!(
            "stream {stream_name} ends at sequence {last}, but this volume has read up to {position}: the stream was recreated since. Start the runner once with RUNNER_ADOPT_STREAM={current} to read it from its first event (events applied before are skipped as duplicates); see {runbook}"
        )))),
    }
}

/// Re-bases the volume on a recreated stream of group `g`: every position in it back to 0,
/// in one transaction.
fn adopt_stream(
    vol: &Volume,
    layout: &Layout,
    g: Group,
    current: &str,
) -> Result<(), StorageError> {
    vol.write(|w| {
        drop_positions(w, |t| layout.group_of(t) == g)?;
        w.set_meta_u64(&meta::reader_position(layout, g), 0)?;
        w.set_meta_str(&meta::stream_id(layout, g), current)
    })
}

/// Drops every stream position of the tenants `of` selects: their checkpoints deleted,
/// their cursors' sequences back to 0 (a live cursor's sequence too: where its own reader
/// had got, in the old stream).
fn drop_positions(
    w: &mut shared::edge_storage::Writer<'_>,
    of: impl Fn(&str) -> bool,
) -> Result<(), StorageError> {
    let mut cps = Vec::new();
    w.scan(TableId::Checkpoints, &[], None, |k, _| {
        let (t, s) = shared::edge_storage::keys::decode_two(k)?;
        if of(t) {
            cps.push((t.to_string(), s.to_string()));
        }
        Ok(true)
    })?;
    for (t, s) in cps {
        w.delete_checkpoint(&t, &s)?;
    }
    for (t, _) in w.replay_floors()? {
        if of(&t) {
            w.delete_meta(&shared::edge_storage::meta::replay_floor(&t))?;
        }
    }
    for (t, c) in w.cursors()? {
        if c.seq > 0 && of(&t) {
            w.set_cursor(
                &t,
                &TenantCursor {
                    mode: c.mode,
                    seq: 0,
                    updated_at_ms: shared::now_ms(),
                },
            )?;
        }
    }
    Ok(())
}

/// The outcome of a failed check.
#[derive(Debug, thiserror::Error)]
pub enum StreamCheck {
    /// NATS did not answer: retry.
    #[error("{0}")]
    Unavailable(String),
    /// The stream is not this volume's: exit 3.
    #[error(transparent)]
    Refused(StreamRefused),
    #[error(transparent)]
    Storage(#[from] StorageError),
}
