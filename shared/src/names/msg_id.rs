//! Every id the runner makes for a message it publishes, built (and parsed) here only.
//!
//! The contract (docs/storage.md, "Identities"):
//!
//! ```text
//! command      cmd:<tenant>:<saga>:evt:<event id>:<index>                  caused by an event
//!              cmd:<tenant>:<saga>:tmr:<instance key>:<timer>:<due ms>:<index>   caused by a timer
//! dead letter  dlq:<stream name>@<stream created ns>:<sequence>            an event, by its place
//!              dlq:<tenant>:<saga>:tmr:<instance key>:<timer>:<due ms>      a timer
//! redrive      redrive:<dlq stream name>@<dlq stream created ns>:<sequence> a dead letter's event
//!                                                                           published again
//! ```
//!
//! Free text (event ids, instance keys, timer names) is percent-encoded: every byte outside
//! `A-Z a-z 0-9 - _ . ~` becomes `%XX`, so `:` only ever separates fields and an id is plain
//! ASCII whatever the input. An id therefore names its cause exactly: one event of one
//! tenant+saga (event ids are unique per tenant+saga by contract), or one timer of one
//! instance with its due time; the index tells the commands of one cause apart. Two
//! different causes never share an id, and a producer's event id can never be taken for a
//! timer (the `evt`/`tmr` field says which). Re-applying the same cause (a replay, a
//! hand-over) rebuilds the same id, which is what lets JetStream drop the copy.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Bytes kept as they are; everything else is `%XX`.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn esc(s: &str) -> percent_encoding::PercentEncode<'_> {
    utf8_percent_encode(s, ESCAPED)
}

/// What caused a command or a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause<'a> {
    /// A producer's event, by its id (unique per tenant+saga).
    Event(&'a str),
    /// One timer of one instance, by instance key, timer name and due time (ms).
    Timer {
        key: &'a str,
        timer: &'a str,
        due_ms: u64,
    },
}

impl std::fmt::Display for Cause<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Event(id) => write!(f, "evt:{}", esc(id)),
            Cause::Timer { key, timer, due_ms } => {
                write!(f, "tmr:{}:{}:{due_ms}", esc(key), esc(timer))
            }
        }
    }
}

/// `Nats-Msg-Id` of the `index`-th command of a cause.
pub fn command(tenant: &str, saga: &str, cause: Cause<'_>, index: usize) -> String {
    format!("cmd:{tenant}:{saga}:{cause}:{index}")
}

/// `Nats-Msg-Id` of an event's dead letter: the event's place in its stream. `stream_id` is
/// the stream's identity ([`stream_identity`]), so a recreated stream whose sequences start
/// again at 1 never reuses an id.
pub fn event_dead_letter(stream_id: &str, seq: u64) -> String {
    format!("dlq:{}:{seq}", esc(stream_id))
}

/// `Nats-Msg-Id` of a timer's dead letter (a timer whose transition failed).
pub fn timer_dead_letter(tenant: &str, saga: &str, key: &str, timer: &str, due_ms: u64) -> String {
    format!(
        "dlq:{tenant}:{saga}:{}",
        Cause::Timer { key, timer, due_ms }
    )
}

/// `Nats-Msg-Id` of a dead letter's event published again to its original subject
/// (`runnerctl dlq redrive`): the dead letter's place in its stream. `dlq_stream_id` is the
/// dead-letter stream's identity ([`stream_identity`]), so redriving the same dead letter
/// twice builds the same id (the event stream drops the copy within its duplicate window),
/// and a recreated dead-letter stream whose sequences start again at 1 never reuses one.
pub fn redrive(dlq_stream_id: &str, seq: u64) -> String {
    format!("redrive:{}:{seq}", esc(dlq_stream_id))
}

/// A stream's identity: its name and the time the server created it (ns since the epoch).
/// A stream deleted and created again under the same name has another identity.
pub fn stream_identity(name: &str, created_unix_ns: i128) -> String {
    format!("{name}@{created_unix_ns}")
}

/// A parsed id, for tools and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Command {
        tenant: String,
        saga: String,
        cause: OwnedCause,
        index: usize,
    },
    EventDeadLetter {
        stream_id: String,
        seq: u64,
    },
    TimerDeadLetter {
        tenant: String,
        saga: String,
        cause: OwnedCause,
    },
    Redrive {
        dlq_stream_id: String,
        seq: u64,
    },
}

/// [`Cause`] with owned strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OwnedCause {
    Event(String),
    Timer {
        key: String,
        timer: String,
        due_ms: u64,
    },
}

impl OwnedCause {
    pub fn as_cause(&self) -> Cause<'_> {
        match self {
            OwnedCause::Event(id) => Cause::Event(id),
            OwnedCause::Timer { key, timer, due_ms } => Cause::Timer {
                key,
                timer,
                due_ms: *due_ms,
            },
        }
    }
}

fn unesc(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

fn parse_cause(f: &[&str]) -> Option<OwnedCause> {
    match f {
        ["evt", id] => Some(OwnedCause::Event(unesc(id)?)),
        ["tmr", key, timer, due] => Some(OwnedCause::Timer {
            key: unesc(key)?,
            timer: unesc(timer)?,
            due_ms: due.parse().ok()?,
        }),
        _ => None,
    }
}

/// Parses an id built by this module; `None` for anything else.
pub fn parse(id: &str) -> Option<Parsed> {
    let f: Vec<&str> = id.split(':').collect();
    match f.as_slice() {
        ["cmd", tenant, saga, cause @ .., index] => Some(Parsed::Command {
            tenant: tenant.to_string(),
            saga: saga.to_string(),
            cause: parse_cause(cause)?,
            index: index.parse().ok()?,
        }),
        ["dlq", stream_id, seq] => Some(Parsed::EventDeadLetter {
            stream_id: unesc(stream_id)?,
            seq: seq.parse().ok()?,
        }),
        ["redrive", stream_id, seq] => Some(Parsed::Redrive {
            dlq_stream_id: unesc(stream_id)?,
            seq: seq.parse().ok()?,
        }),
        ["dlq", tenant, saga, cause @ ..] => Some(Parsed::TimerDeadLetter {
            tenant: tenant.to_string(),
            saga: saga.to_string(),
            cause: parse_cause(cause)?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_read_as_documented() {
        assert_eq!(
            command("acme", "order", Cause::Event("o-1:placed"), 0),
            "cmd:acme:order:evt:o-1%3Aplaced:0"
        );
        assert_eq!(
            command(
                "acme",
                "order",
                Cause::Timer {
                    key: "o 1/ä",
                    timer: "payment_timeout",
                    due_ms: 17
                },
                2
            ),
            "cmd:acme:order:tmr:o%201%2F%C3%A4:payment_timeout:17:2"
        );
        assert_eq!(
            event_dead_letter(&stream_identity("RUNNER_EVENTS", 5), 9),
            "dlq:RUNNER_EVENTS%405:9"
        );
        assert_eq!(
            redrive(&stream_identity("RUNNER_DLQ", 7), 12),
            "redrive:RUNNER_DLQ%407:12"
        );
    }

    #[test]
    fn a_producer_id_shaped_like_a_timer_is_still_an_event() {
        let t = Cause::Timer {
            key: "o1",
            timer: "payment_timeout",
            due_ms: 5,
        };
        let fake = "tmr:o1:payment_timeout:5";
        assert_ne!(
            command("a", "s", t, 0),
            command("a", "s", Cause::Event(fake), 0)
        );
        let fake = "timer:payment_timeout:5";
        assert_ne!(
            command("a", "s", t, 0),
            command("a", "s", Cause::Event(fake), 0)
        );
    }

    fn free() -> impl Strategy<Value = String> {
        prop_oneof!["[^\u{0}]{1,20}", "[a-z:%/ ]{1,8}", Just(":".to_string())]
    }

    fn cause() -> impl Strategy<Value = OwnedCause> {
        prop_oneof![
            free().prop_map(OwnedCause::Event),
            (free(), free(), any::<u64>()).prop_map(|(key, timer, due_ms)| OwnedCause::Timer {
                key,
                timer,
                due_ms
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]

        /// Ids are ASCII without control characters, parse back to what built them, and so
        /// two different causes (or indexes) never share one.
        #[test]
        fn command_ids_round_trip_and_never_collide(
            t in "[A-Za-z0-9_-]{1,8}", s in "[A-Za-z0-9_-]{1,8}",
            a in cause(), b in cause(), i in 0usize..4, j in 0usize..4,
        ) {
            let ia = command(&t, &s, a.as_cause(), i);
            prop_assert!(ia.bytes().all(|c| c.is_ascii_graphic()), "{}", ia);
            prop_assert_eq!(
                parse(&ia),
                Some(Parsed::Command { tenant: t.clone(), saga: s.clone(), cause: a.clone(), index: i })
            );
            let ib = command(&t, &s, b.as_cause(), j);
            prop_assert_eq!(ia == ib, a == b && i == j);
        }

        #[test]
        fn dead_letter_ids_round_trip(name in "[A-Za-z0-9_-]{1,8}", ns in any::<i64>(), seq in any::<u64>(), c in cause()) {
            let sid = stream_identity(&name, ns as i128);
            prop_assert_eq!(
                parse(&event_dead_letter(&sid, seq)),
                Some(Parsed::EventDeadLetter { stream_id: sid.clone(), seq })
            );
            let rid = redrive(&sid, seq);
            prop_assert_eq!(
                parse(&rid),
                Some(Parsed::Redrive { dlq_stream_id: sid.clone(), seq })
            );
            prop_assert_ne!(rid, event_dead_letter(&sid, seq));
            if let OwnedCause::Timer { key, timer, due_ms } = &c {
                let id = timer_dead_letter("t", "s", key, timer, *due_ms);
                prop_assert_eq!(
                    parse(&id),
                    Some(Parsed::TimerDeadLetter { tenant: "t".into(), saga: "s".into(), cause: c.clone() })
                );
            }
        }
    }
}
