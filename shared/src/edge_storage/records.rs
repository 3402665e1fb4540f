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
    /// Stream sequence of the event (for a timer: of the event whose transition armed it).
    pub seq: u64,
    /// When the event was stored in the stream (for a timer: its due time), ms.
    pub at_ms: u64,
    pub outcome: Outcome,
    /// [`event_digest`] of the event's type, key and data, so a second event with the same
    /// id but another body is told apart from a true duplicate; 0 when unknown (timers,
    /// markers migrated from format 1).
    #[serde(default)]
    pub digest: u64,
}

/// The digest kept in a dedupe marker: SipHash-1-3 (fixed keys, so it is stable across
/// builds) over the event's type, instance key and raw data, each length-prefixed. Never 0.
pub fn event_digest(event_type: &str, key: &str, data: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = siphasher::sip::SipHasher13::new_with_keys(0x72756e6e6572, 0x64656475);
    for part in [event_type.as_bytes(), key.as_bytes(), data] {
        h.write_u64(part.len() as u64);
        h.write(part);
    }
    h.finish().max(1)
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
    /// Stream sequence of the event the entry comes from (for a timer's effects: of the
    /// event that armed the timer); 0 when unknown. A former owner of a tenant uses it to
    /// tell the entries its successor made again from those only it holds.
    #[serde(default)]
    pub cause_seq: u64,
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
    /// Stream sequence of the event whose transition (or chain of timers) armed it; 0 when
    /// unknown.
    #[serde(default)]
    pub cause_seq: u64,
}

/// How far a tenant has been read, and by what. Stored by variant index (postcard); in JSON
/// (the admin API, `inspect --output json`) as `live`, `catching_up`, `released`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

impl std::fmt::Display for CursorMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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

/// Strategies for arbitrary records, for property tests here and in `export`.
#[cfg(test)]
pub(crate) mod arb {
    use super::*;
    use proptest::prelude::*;

    /// Any text, short: control characters, quotes, non-ASCII, the empty string.
    pub fn text() -> impl Strategy<Value = String> {
        ".{0,10}"
    }

    pub fn instance() -> impl Strategy<Value = InstanceRecord> {
        let timers = proptest::collection::vec(
            (text(), any::<u64>()).prop_map(|(name, due_ms)| TimerRef { name, due_ms }),
            0..3,
        );
        let history = proptest::collection::vec(
            (any::<u64>(), text(), text(), text(), text(), any::<u64>()).prop_map(
                |(seq, event_id, event_type, from, to, at_ms)| HistoryEntry {
                    seq,
                    event_id,
                    event_type,
                    from,
                    to,
                    at_ms,
                },
            ),
            0..3,
        );
        (
            (text(), any::<u64>(), any::<u64>(), any::<u64>()),
            (any::<u64>(), text(), text(), timers, history),
        )
            .prop_map(
                |(
                    (state, version, created_at_ms, updated_at_ms),
                    (last_seq, last_event_id, data, timers, history),
                )| {
                    InstanceRecord {
                        state,
                        version,
                        created_at_ms,
                        updated_at_ms,
                        last_seq,
                        last_event_id,
                        data,
                        timers,
                        history,
                    }
                },
            )
    }

    pub fn dedupe() -> impl Strategy<Value = DedupeRecord> {
        (
            any::<u64>(),
            any::<u64>(),
            prop::sample::select(vec![
                Outcome::Applied,
                Outcome::Ignored,
                Outcome::TimerFired,
            ]),
            any::<u64>(),
        )
            .prop_map(|(seq, at_ms, outcome, digest)| DedupeRecord {
                seq,
                at_ms,
                outcome,
                digest,
            })
    }

    pub fn checkpoint() -> impl Strategy<Value = Checkpoint> {
        (any::<u64>(), any::<u64>())
            .prop_map(|(seq, updated_at_ms)| Checkpoint { seq, updated_at_ms })
    }

    pub fn schedule() -> impl Strategy<Value = ScheduleRecord> {
        (text(), any::<u64>(), text(), any::<u64>()).prop_map(
            |(fire, armed_at_ms, armed_by, cause_seq)| ScheduleRecord {
                fire,
                armed_at_ms,
                armed_by,
                cause_seq,
            },
        )
    }

    /// An outbox entry of `tenant`/`saga` with a subject the runner would write.
    pub fn outbox(tenant: String, saga: String) -> impl Strategy<Value = OutboxEntry> {
        (
            any::<bool>(),
            "[a-z.]{1,10}",
            text(),
            proptest::collection::vec((text(), text()), 0..3),
            proptest::collection::vec(any::<u8>(), 0..16),
            any::<u64>(),
        )
            .prop_map(
                move |(cmd, rest, msg_id, headers, payload, created_at_ms)| {
                    let (kind, subject) = if cmd {
                        (OutboxKind::Command, format!("cmd.{tenant}.{rest}"))
                    } else {
                        (OutboxKind::DeadLetter, format!("dlq.{tenant}.{saga}"))
                    };
                    OutboxEntry {
                        kind,
                        subject,
                        msg_id,
                        headers,
                        payload,
                        tenant: tenant.clone(),
                        saga: saga.clone(),
                        created_at_ms,
                        cause_seq: created_at_ms / 3,
                    }
                },
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A postcard varint (LEB128) of `n`.
    fn varint(mut n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    fn decode_all(bytes: &[u8]) -> [Result<(), String>; 7] {
        fn one<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<(), String> {
            decode_value::<T>(b).map(|_| ()).map_err(|e| e.to_string())
        }
        [
            one::<InstanceRecord>(bytes),
            one::<DedupeRecord>(bytes),
            one::<Checkpoint>(bytes),
            one::<OutboxEntry>(bytes),
            one::<ScheduleRecord>(bytes),
            one::<TenantCursor>(bytes),
            one::<Vec<TimerRef>>(bytes),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]

        /// Stored values of every table decode from arbitrary bytes to a value or a
        /// corruption error with a message; never a panic.
        #[test]
        fn values_decode_from_garbage_or_explain(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            for r in decode_all(&bytes) {
                if let Err(e) = r {
                    prop_assert!(e.contains("undecodable value"), "{}", e);
                }
            }
        }

        /// A declared length (string, byte string or list) far beyond the input is an error,
        /// not an allocation of that size: postcard borrows strings from the input and serde
        /// caps the capacity it reserves for lists.
        #[test]
        fn huge_declared_lengths_are_errors_not_allocations(
            len in prop_oneof![Just(u64::MAX), Just(u32::MAX as u64), 1u64 << 20..1u64 << 62],
            at in 0usize..6,
            tail in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            // `at` small varints (enum tags, numbers, short strings) and then the huge length.
            let mut bytes: Vec<u8> = std::iter::repeat_n(0u8, at).collect();
            bytes.extend(varint(len));
            bytes.extend(tail);
            for r in decode_all(&bytes) {
                if let Err(e) = r {
                    prop_assert!(!e.is_empty());
                }
            }
        }

        #[test]
        fn arbitrary_records_round_trip(i in arb::instance(), d in arb::dedupe(), s in arb::schedule(), o in arb::outbox("t".into(), "s".into())) {
            prop_assert_eq!(decode::<InstanceRecord>("sagas", &encode(&i).unwrap()).unwrap(), i);
            prop_assert_eq!(decode::<DedupeRecord>("dedupe", &encode(&d).unwrap()).unwrap(), d);
            prop_assert_eq!(decode::<ScheduleRecord>("schedules", &encode(&s).unwrap()).unwrap(), s);
            prop_assert_eq!(decode::<OutboxEntry>("outbox", &encode(&o).unwrap()).unwrap(), o);
        }
    }

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
            cause_seq: 0,
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
