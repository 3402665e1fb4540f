//! NATS names: event, command and dead-letter subjects, default stream names and consumer
//! names. Every subject the pair uses is built and parsed here.

use crate::ids::{SagaName, TenantId};

pub mod msg_id;

/// Default name of the stream holding events (`RUNNER_STREAM`).
pub const DEFAULT_EVENT_STREAM: &str = "RUNNER_EVENTS";
/// Default name of the stream capturing emitted commands (`RUNNER_COMMANDS_STREAM`).
pub const DEFAULT_COMMAND_STREAM: &str = "RUNNER_COMMANDS";
/// Default name of the stream capturing dead-lettered events (`RUNNER_DLQ_STREAM`).
pub const DEFAULT_DLQ_STREAM: &str = "RUNNER_DLQ";

/// Subjects of the event stream: exactly three tokens, so a publish to anything else is
/// refused by the server instead of being stored and ignored.
pub const EVENT_SUBJECTS: &str = "evt.*.*";
/// Subjects of the command stream.
pub const COMMAND_SUBJECTS: &str = "cmd.>";
/// What every command subject starts with, before the tenant token (`cmd.<tenant>.<...>`).
pub const COMMAND_ROOT: &str = "cmd.";
/// Subjects of the dead-letter stream.
pub const DLQ_SUBJECTS: &str = "dlq.>";

/// Dead-letter subject for events whose subject names no valid tenant or saga. Two tokens,
/// so it can never collide with a `dlq.<tenant>.<saga>` subject.
pub const DLQ_INVALID_SUBJECT: &str = "dlq.invalid-subject";

/// Headers the runner puts on the messages it publishes.
pub mod headers {
    /// On a command: the id of the event that caused it (absent when a timer did).
    pub const EVENT_ID: &str = "Runner-Event-Id";
    /// On a command: the saga instance it comes from.
    pub const INSTANCE: &str = "Runner-Instance";
    /// On a command caused by a timer: the timer's name.
    pub const TIMER: &str = "Runner-Timer";
    /// JetStream's de-duplication header; its values are built by [`super::msg_id`].
    pub const MSG_ID: &str = "Nats-Msg-Id";
    /// Why the event was dead-lettered, for people.
    pub const DLQ_REASON: &str = "Runner-Dlq-Reason";
    /// A stable code for the reason, for scripts (`bad_json`, `missing_field`, ...).
    pub const DLQ_CODE: &str = "Runner-Dlq-Code";
    /// The event's original subject.
    pub const ORIGINAL_SUBJECT: &str = "Runner-Original-Subject";
    /// The event's sequence in the event stream.
    pub const ORIGINAL_SEQUENCE: &str = "Runner-Original-Sequence";
    /// The shard that dead-lettered it.
    pub const SHARD: &str = "Runner-Shard";
    /// On a dead letter of an oversized event: the event's full size in bytes (the dead
    /// letter carries only its start).
    pub const DLQ_TRUNCATED: &str = "Runner-Dlq-Truncated";
    /// On an event published again by `runnerctl dlq redrive`: the dead letter it came from,
    /// `<dead-letter stream>:<sequence>`.
    pub const REDRIVEN_FROM: &str = "Runner-Redriven-From";
}

/// `evt.<tenant>.<saga>`
pub fn event_subject<T, S>(tenant: &T, saga: &S) -> String
where
    T: AsRef<str> + ?Sized,
    S: AsRef<str> + ?Sized,
{
    format!("evt.{}.{}", tenant.as_ref(), saga.as_ref())
}

/// `evt.<tenant>.>`: every saga of one tenant.
pub fn tenant_event_filter<T: AsRef<str> + ?Sized>(tenant: &T) -> String {
    format!("evt.{}.>", tenant.as_ref())
}

/// The tenant of a tenant filter built by [`tenant_event_filter`] (`evt.<tenant>.>`).
pub fn tenant_of_filter(filter: &str) -> Option<&str> {
    filter.strip_prefix("evt.")?.strip_suffix(".>")
}

/// `dlq.<tenant>.<saga>`
pub fn dlq_subject<T, S>(tenant: &T, saga: &S) -> String
where
    T: AsRef<str> + ?Sized,
    S: AsRef<str> + ?Sized,
{
    format!("dlq.{}.{}", tenant.as_ref(), saga.as_ref())
}

/// The tenant and saga tokens of a dead-letter subject `dlq.<tenant>.<saga>`, borrowed and
/// not validated; `None` for [`DLQ_INVALID_SUBJECT`] and anything else.
pub fn split_dlq_subject(subject: &str) -> Option<(&str, &str)> {
    let mut parts = subject.splitn(4, '.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("dlq"), Some(t), Some(s), None) => Some((t, s)),
        _ => None,
    }
}

/// The tenant and saga of an event subject as stored in either layout: `evt.<tenant>.<saga>`
/// (single) or `evt.<group>.<tenant>.<saga>` (partitioned, see [`crate::layout`]), valid ids
/// only; `None` for anything else.
pub fn split_stored_event_subject(subject: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = subject.split('.').collect();
    let (t, s) = match parts.as_slice() {
        ["evt", t, s] => (*t, *s),
        ["evt", g, t, s] if !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()) => (*t, *s),
        _ => return None,
    };
    (crate::ids::is_valid_id(t) && crate::ids::is_valid_id(s)).then_some((t, s))
}

/// `cmd.<tenant>.`: the prefix every command subject of a tenant starts with.
pub fn command_prefix<T: AsRef<str> + ?Sized>(tenant: &T) -> String {
    format!("cmd.{}.", tenant.as_ref())
}

/// `cmd.<tenant>.>`: every command of one tenant.
pub fn tenant_command_filter<T: AsRef<str> + ?Sized>(tenant: &T) -> String {
    format!("cmd.{}.>", tenant.as_ref())
}

/// Whether `subject` is one of `tenant`'s command subjects (`cmd.<tenant>.<...>`), without
/// allocating (checked for every emitted command).
pub fn is_tenant_command(subject: &str, tenant: &str) -> bool {
    subject
        .strip_prefix("cmd.")
        .and_then(|r| r.strip_prefix(tenant))
        .is_some_and(|r| r.len() > 1 && r.starts_with('.'))
}

/// The tenant and saga tokens of `evt.<tenant>.<saga>`, borrowed and not validated (the
/// hot path checks them with [`crate::ids::is_valid_id`] where it needs to); `None` when the
/// subject does not have that shape.
pub fn split_event_subject(subject: &str) -> Option<(&str, &str)> {
    let mut parts = subject.splitn(4, '.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("evt"), Some(t), Some(s), None) => Some((t, s)),
        _ => None,
    }
}

/// Why an event subject is not of the form `evt.<tenant>.<saga>`, for a dead letter.
pub fn bad_event_subject_reason(subject: &str) -> String {
    format!("subject '{subject}' is not of the form evt.<tenant>.<saga>")
}

/// The partition group of a tenant among `groups`: `fnv1a32(tenant) % groups`, the value the
/// server's `{{partition(groups,1)}}` subject transform gives the tenant token (checked
/// against a real server in `tests/tests/layout.rs`). The scale-out layout routes each
/// tenant's events to the stream of its group (see docs/consumption.md).
pub fn partition_of(tenant: &str, groups: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in tenant.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h % groups.max(1)
}

/// The subject transform that adds the partition group as the second token:
/// `evt.*.*` -> `evt.{{partition(G,1)}}.{{wildcard(1)}}.{{wildcard(2)}}`, as (source,
/// destination), for an account mapping or a stream's `subject_transform`.
pub fn partition_transform(groups: u32) -> (String, String) {
    (
        EVENT_SUBJECTS.to_string(),
        format!("evt.{{{{partition({groups},1)}}}}.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}"),
    )
}

/// What an event subject says, or why it says nothing usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSubject {
    Valid { tenant: TenantId, saga: SagaName },
    Invalid { reason: String },
}

/// Parses `evt.<tenant>.<saga>`.
pub fn parse_event_subject(subject: &str) -> EventSubject {
    let Some((t, s)) = split_event_subject(subject) else {
        return EventSubject::Invalid {
            reason: bad_event_subject_reason(subject),
        };
    };
    let tenant = match TenantId::new(t) {
        Ok(t) => t,
        Err(e) => {
            return EventSubject::Invalid {
                reason: format!("subject '{subject}': {e}"),
            };
        }
    };
    match SagaName::new(s) {
        Ok(saga) => EventSubject::Valid { tenant, saga },
        Err(e) => EventSubject::Invalid {
            reason: format!("subject '{subject}': {e}"),
        },
    }
}

/// Checks that `subject` is a publishable NATS subject: non-empty tokens, no whitespace, no
/// wildcards.
pub fn check_publish_subject(subject: &str) -> Result<(), String> {
    if subject.is_empty() {
        return Err("subject is empty".into());
    }
    for tok in subject.split('.') {
        if tok.is_empty() {
            return Err(format!("subject '{subject}' has an empty token"));
        }
        if tok == "*" || tok == ">" {
            return Err(format!("subject '{subject}' contains a wildcard"));
        }
        if let Some(c) = tok.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("subject '{subject}' contains {c:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_groups_are_stable_and_in_range() {
        // FNV-1a 32 test vectors ("" and "a"), then the group.
        assert_eq!(partition_of("", 1 << 31), 0x811c_9dc5 % (1 << 31));
        assert_eq!(partition_of("a", 1 << 31), 0xe40c_292c % (1 << 31));
        for t in ["t1", "acme", "a-b_C", "x"] {
            assert!(partition_of(t, 64) < 64);
            assert_eq!(partition_of(t, 1), 0);
            assert_eq!(partition_of(t, 0), 0);
        }
        let (src, dest) = partition_transform(16);
        assert_eq!(src, "evt.*.*");
        assert_eq!(
            dest,
            "evt.{{partition(16,1)}}.{{wildcard(1)}}.{{wildcard(2)}}"
        );
    }

    #[test]
    fn builds_and_recognises_tenant_subjects() {
        assert_eq!(event_subject("t1", "order"), "evt.t1.order");
        assert_eq!(dlq_subject("t1", "order"), "dlq.t1.order");
        assert_eq!(tenant_of_filter(&tenant_event_filter("t-1")), Some("t-1"));
        assert_eq!(tenant_of_filter("evt.t1.order"), None);
        assert!(is_tenant_command("cmd.t1.pay", "t1"));
        assert!(is_tenant_command(
            &format!("{}x.y", command_prefix("t1")),
            "t1"
        ));
        for other in [
            "cmd.t10.pay",
            "cmd.t1.",
            "cmd.t1",
            "evt.t1.pay",
            "cmd.t.pay",
        ] {
            assert!(!is_tenant_command(other, "t1"), "{other}");
        }
        assert_eq!(split_dlq_subject("dlq.t1.order"), Some(("t1", "order")));
        assert_eq!(split_dlq_subject(DLQ_INVALID_SUBJECT), None);
        assert_eq!(split_dlq_subject("dlq.a.b.c"), None);
        assert_eq!(
            split_stored_event_subject("evt.t1.order"),
            Some(("t1", "order"))
        );
        assert_eq!(
            split_stored_event_subject("evt.12.t1.order"),
            Some(("t1", "order"))
        );
        for other in [
            "evt.x.t1.order",
            "evt..t1.order",
            "timer.t1.order",
            "evt.t1",
            "evt.t@1.order",
            "cmd.t1.order",
            "evt.1.2.t1.order",
        ] {
            assert_eq!(split_stored_event_subject(other), None, "{other}");
        }
        assert_eq!(split_event_subject("evt.a.b"), Some(("a", "b")));
        assert_eq!(split_event_subject("evt.a.b.c"), None);
        assert_eq!(split_event_subject("evt.a"), None);
    }

    #[test]
    fn parses_valid_event_subjects() {
        let EventSubject::Valid { tenant, saga } = parse_event_subject("evt.t1.order") else {
            panic!("expected valid");
        };
        assert_eq!((tenant.as_str(), saga.as_str()), ("t1", "order"));
    }

    #[test]
    fn explains_invalid_subjects() {
        for (s, needle) in [
            ("evt.t1", "not of the form"),
            ("evt.t1.order.x", "not of the form"),
            ("cmd.t1.order", "not of the form"),
            ("evt.t@1.order", "contains '@'"),
            ("evt.t1.or der", "contains ' '"),
        ] {
            match parse_event_subject(s) {
                EventSubject::Invalid { reason } => assert!(reason.contains(needle), "{reason}"),
                v => panic!("{s} parsed as {v:?}"),
            }
        }
    }

    mod props {
        use super::super::*;
        use crate::ids::{MAX_ID_LEN, ShardId, is_valid_id, parse_tenant_list};
        use proptest::prelude::*;

        fn id() -> impl Strategy<Value = String> {
            "[A-Za-z0-9_-]{1,64}"
        }

        /// Subject-ish text: tokens of id characters, dots, wildcards, blanks, controls and
        /// non-ASCII, so that near-valid subjects come up often.
        fn subjectish() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![
                    Just("evt".to_string()),
                    Just(".".to_string()),
                    Just("*".to_string()),
                    Just(">".to_string()),
                    "[A-Za-z0-9_-]{0,70}",
                    ".{0,3}",
                ],
                0..8,
            )
            .prop_map(|v| v.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]

            /// Any subject parses to a valid tenant and saga or to a reason that quotes it;
            /// valid means exactly `evt.<id>.<id>`, and it rebuilds the same subject.
            #[test]
            fn event_subjects_parse_or_explain(s in prop_oneof![subjectish(), ".{0,80}"]) {
                match parse_event_subject(&s) {
                    EventSubject::Valid { tenant, saga } => {
                        prop_assert_eq!(event_subject(&tenant, &saga), s);
                    }
                    EventSubject::Invalid { reason } => {
                        prop_assert!(reason.contains(&format!("'{s}'")), "{}", reason);
                        let parts: Vec<&str> = s.split('.').collect();
                        prop_assert!(
                            !(parts.len() == 3 && parts[0] == "evt"
                                && is_valid_id(parts[1]) && is_valid_id(parts[2]))
                        );
                    }
                }
            }

            #[test]
            fn valid_subjects_round_trip(t in id(), s in id()) {
                let (t, s) = (TenantId::new(t).unwrap(), SagaName::new(s).unwrap());
                prop_assert_eq!(
                    parse_event_subject(&event_subject(&t, &s)),
                    EventSubject::Valid { tenant: t.clone(), saga: s.clone() }
                );
                prop_assert!(check_publish_subject(&dlq_subject(&t, &s)).is_ok());
                let prefix = format!("evt.{t}.");
                prop_assert!(tenant_event_filter(&t).starts_with(&prefix));
            }

            /// Id validation agrees with the documented alphabet, the allocation-free check
            /// and serde; a refusal says why, with the value cut to 80 characters.
            #[test]
            fn ids_validate_or_explain(s in prop_oneof![id(), subjectish(), ".{0,100}", "[a-z]{60,200}"]) {
                let ok = !s.is_empty() && s.len() <= MAX_ID_LEN
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                prop_assert_eq!(is_valid_id(&s), ok);
                match TenantId::new(s.clone()) {
                    Ok(t) => { prop_assert!(ok); prop_assert_eq!(t.as_str(), s.as_str()); }
                    Err(e) => {
                        prop_assert!(!ok);
                        let msg = e.to_string();
                        prop_assert!(msg.starts_with("tenant id"), "{}", msg);
                        prop_assert!(msg.len() < 500, "{}", msg);
                    }
                }
                prop_assert_eq!(SagaName::new(s.clone()).is_ok(), ok);
                prop_assert_eq!(ShardId::new(s.clone()).is_ok(), ok);
                let json = serde_json::to_string(&s).unwrap();
                prop_assert_eq!(serde_json::from_str::<TenantId>(&json).is_ok(), ok);
            }

            #[test]
            fn tenant_lists_hold_only_valid_ids(s in prop_oneof![
                proptest::collection::vec(prop_oneof![id(), subjectish()], 0..5).prop_map(|v| v.join(",")),
                ".{0,60}",
            ]) {
                match parse_tenant_list(&s) {
                    Ok(l) => {
                        for t in &l {
                            prop_assert!(is_valid_id(t.as_str()));
                        }
                        let mut d = l.clone();
                        d.sort();
                        d.dedup();
                        prop_assert_eq!(d.len(), l.len());
                    }
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
            }

            /// Publish-subject checks never panic and refuse what NATS would.
            #[test]
            fn publish_subjects_check_or_explain(s in prop_oneof![subjectish(), ".{0,40}"]) {
                match check_publish_subject(&s) {
                    Ok(()) => {
                        prop_assert!(!s.is_empty());
                        for tok in s.split('.') {
                            prop_assert!(!tok.is_empty() && tok != "*" && tok != ">");
                            prop_assert!(!tok.chars().any(|c| c.is_whitespace() || c.is_control()));
                        }
                    }
                    Err(e) => prop_assert!(!e.is_empty()),
                }
            }
        }
    }

    #[test]
    fn publish_subject_check() {
        assert!(check_publish_subject("cmd.t1.payments.request").is_ok());
        assert!(check_publish_subject("cmd.t1..x").is_err());
        assert!(check_publish_subject("cmd.t1.*").is_err());
        assert!(check_publish_subject("cmd.t1.a b").is_err());
    }
}
