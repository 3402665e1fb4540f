//! The values stored in each table. Values are encoded with postcard (compact, not
//! self-describing): these structs are the schema, and any change to them bumps
//! [`FORMAT_VERSION`](super::FORMAT_VERSION).

use serde::{Deserialize, Serialize};

use super::StorageError;

/// `sagas`: one saga instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRecord {
    /// Current state name.
    pub state: String,
    /// Number of events and timers applied to this instance.
    pub version: u64,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    /// Stream sequence of the last event applied (0 when the last change was a timer).
    pub last_seq: u64,
    pub last_event_id: String,
    /// The instance's data: a JSON object, as text.
    pub data: String,
    /// Timers armed for this instance (name and due time), mirrored in `schedules`.
    pub timers: Vec<TimerRef>,
    /// The most recent transitions, oldest first, bounded by the saga's `history` setting.
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerRef {
    pub name: String,
    pub due_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Stream sequence of the event (0 for a timer).
    pub seq: u64,
    pub event_id: String,
    pub event_type: String,
    pub from: String,
    pub to: String,
    pub at_ms: u64,
}

/// What happened to an event that left a dedupe marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// A transition was applied.
    Applied,
    /// The instance's state (or its absence) has no transition for the event's type.
    Ignored,
    /// A timer fired (the marker's id is the timer's id).
    TimerFired,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Ignored => "ignored",
            Outcome::TimerFired => "timer_fired",
        }
    }
}

/// `dedupe`: one applied or ignored event (or fired timer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupeRecord {
    /// Stream sequence of the event (0 for a timer).
    pub seq: u64,
    pub at_ms: u64,
    pub outcome: Outcome,
}

/// `checkpoints`: the last stream sequence applied (or skipped) for a tenant+saga.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: u64,
    pub updated_at_ms: u64,
}

/// Why an outbox entry exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutboxKind {
    /// A command a saga emitted, for `cmd.<tenant>.…`.
    Command,
    /// A copy of an event that could not be parsed or applied, for `dlq.…`.
    DeadLetter,
}

/// `outbox`: one message waiting to be published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub kind: OutboxKind,
    pub subject: String,
    /// `Nats-Msg-Id`, derived from what caused the message so a re-publish is deduplicated.
    pub msg_id: String,
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
    /// Tenant and saga the entry belongs to (empty for an event with an invalid subject).
    pub tenant: String,
    pub saga: String,
    pub created_at_ms: u64,
}

/// `schedules`: one pending timer. The key holds tenant, saga, due time, instance key and
/// timer name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRecord {
    /// The event type delivered to the instance when the timer fires.
    pub fire: String,
    pub armed_at_ms: u64,
    /// Id of the event whose transition armed the timer.
    pub armed_by: String,
}

/// How far a tenant has been read, and by what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CursorMode {
    /// Served by the shard's main reader: every event of the tenant up to the volume's
    /// `reader_position` has been handled.
    Live,
    /// Being caught up by a reader of its own: every event of the tenant up to `seq` has
    /// been handled.
    CatchingUp,
    /// No longer served here: every event of the tenant up to `seq` was handled before it
    /// was released.
    Released,
}

impl CursorMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CursorMode::Live => "live",
            CursorMode::CatchingUp => "catching_up",
            CursorMode::Released => "released",
        }
    }
}

/// `cursors`: one per tenant this volume has served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantCursor {
    pub mode: CursorMode,
    /// Meaningful for `CatchingUp` and `Released`; see [`CursorMode`].
    pub seq: u64,
    pub updated_at_ms: u64,
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StorageError> {
    postcard::to_allocvec(v).map_err(|e| StorageError::Corrupt(format!("cannot encode: {e}")))
}

/// Decodes a stored value of any table (for tools that scan raw entries).
pub fn decode_value<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StorageError> {
    decode("?", bytes)
}

pub(crate) fn decode<'a, T: Deserialize<'a>>(
    table: &str,
    bytes: &'a [u8],
) -> Result<T, StorageError> {
    postcard::from_bytes(bytes)
        .map_err(|e| StorageError::Corrupt(format!("undecodable value in table '{table}': {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let r = InstanceRecord {
            state: "awaiting_payment".into(),
            version: 3,
            created_at_ms: 1,
            updated_at_ms: 2,
            last_seq: 42,
            last_event_id: "e-1".into(),
            data: r#"{"amount":10}"#.into(),
            timers: vec![TimerRef {
                name: "payment".into(),
                due_ms: 99,
            }],
            history: vec![],
        };
        let b = encode(&r).unwrap();
        assert_eq!(decode::<InstanceRecord>("sagas", &b).unwrap(), r);
        let o = OutboxEntry {
            kind: OutboxKind::DeadLetter,
            subject: "dlq.t.s".into(),
            msg_id: "x".into(),
            headers: vec![("a".into(), "b".into())],
            payload: vec![0xff, 0, 1],
            tenant: "t".into(),
            saga: "s".into(),
            created_at_ms: 5,
        };
        assert_eq!(
            decode::<OutboxEntry>("outbox", &encode(&o).unwrap()).unwrap(),
            o
        );
    }

    #[test]
    fn garbage_is_a_corruption_error_not_a_panic() {
        let e = decode::<InstanceRecord>("sagas", &[0xff, 0xff, 0xff]).unwrap_err();
        assert!(e.to_string().contains("sagas"), "{e}");
    }
}
