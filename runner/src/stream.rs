//! The event stream's identity: a volume's positions (checkpoints, cursors, the reader
//! position) are sequences of one stream, not of any stream that has its name. A stream
//! deleted and created again starts its sequences at 1 again; read with the old positions it
//! would be skipped silently. So the volume records the identity of the stream it was built
//! from (`meta.stream_id`: name and creation time), the runner compares it with the stream
//! at every start and every time a reader (re)creates its consumer, and refuses a stream
//! that is not the one, unless the operator adopts it (`RUNNER_ADOPT_STREAM`).

use async_nats::jetstream::{self, stream};
use shared::edge_storage::{CursorMode, StorageError, TableId, TenantCursor, Volume, meta};
use shared::names::msg_id::stream_identity;
use tracing::{info, warn};

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

fn recorded(vol: &Volume) -> Result<Recorded, StorageError> {
    vol.read(|r| {
        let mut highest = 0;
        r.scan(TableId::Checkpoints, &[], None, |_, v| {
            let c: shared::edge_storage::Checkpoint = shared::edge_storage::decode_value(v)?;
            highest = highest.max(c.seq);
            Ok(true)
        })?;
        Ok(Recorded {
            id: r.meta_str(meta::STREAM_ID)?,
            reader_position: r.meta_u64(meta::READER_POSITION)?.unwrap_or(0),
            highest_checkpoint: highest,
        })
    })
}

/// Checks the stream against the volume at start, records its identity in a new volume,
/// and adopts a recreated stream when `adopt` names it. Returns the identity.
pub async fn check_at_start(
    js: &jetstream::Context,
    vol: &Volume,
    stream_name: &str,
    adopt: Option<&str>,
) -> Result<String, StreamCheck> {
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
    let rec = recorded(vol)?;
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
            adopt_stream(vol, &current)?;
            warn!(previous = %id, adopted = %current, "adopted the recreated event stream: every tenant reads it from its first event; events whose ids were applied before are skipped as duplicates");
            Ok(current)
        }
        Some(id) => Err(StreamCheck::Refused(StreamRefused(format!(
            "stream {stream_name} is not the stream this volume was built from: the volume read {id} up to sequence {position}, the server now has {current} (sequences {}..{last}). It was deleted and created again, or this is another NATS system. Reading it with the volume's positions would skip or misplace events, so the runner refuses. If the stream was recreated on purpose, start the runner once with RUNNER_ADOPT_STREAM={current}: every tenant then reads the new stream from its first event, and events whose ids were applied before are skipped as duplicates. See {runbook}",
            info.state.first_sequence
        )))),
        None if position == 0 => {
            vol.write(|w| w.set_meta_str(meta::STREAM_ID, &current))?;
            Ok(current)
        }
        None if last >= position => {
            // A volume from before identities were recorded (format 1): its positions fit
            // this stream, which is all that can be checked.
            vol.write(|w| w.set_meta_str(meta::STREAM_ID, &current))?;
            info!(stream = %current, position, "recorded the identity of the event stream this volume reads");
            Ok(current)
        }
        None => Err(StreamCheck::Refused(StreamRefused(format!(
            "stream {stream_name} ends at sequence {last}, but this volume has read up to {position}: the stream was recreated since. Start the runner once with RUNNER_ADOPT_STREAM={current} to read it from its first event (events applied before are skipped as duplicates); see {runbook}"
        )))),
    }
}

/// Re-bases the volume on a recreated stream: every position back to 0, in one transaction.
fn adopt_stream(vol: &Volume, current: &str) -> Result<(), StorageError> {
    vol.write(|w| {
        let mut cps = Vec::new();
        w.scan(TableId::Checkpoints, &[], None, |k, _| {
            let (t, s) = shared::edge_storage::keys::decode_two(k)?;
            cps.push((t.to_string(), s.to_string()));
            Ok(true)
        })?;
        for (t, s) in cps {
            w.delete_checkpoint(&t, &s)?;
        }
        for (t, c) in w.cursors()? {
            if c.mode != CursorMode::Live {
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
        w.set_meta_u64(meta::READER_POSITION, 0)?;
        w.set_meta_str(meta::STREAM_ID, current)
    })
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
