//! NATS names: event, command and dead-letter subjects, default stream names and consumer
//! names. Every subject the pair uses is built and parsed here.

use crate::ids::{SagaName, TenantId};

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
/// Subjects of the dead-letter stream.
pub const DLQ_SUBJECTS: &str = "dlq.>";

/// Dead-letter subject for events whose subject names no valid tenant or saga. Two tokens,
/// so it can never collide with a `dlq.<tenant>.<saga>` subject.
pub const DLQ_INVALID_SUBJECT: &str = "dlq.invalid-subject";

/// Headers the runner puts on dead-lettered messages.
pub mod headers {
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
}

/// `evt.<tenant>.<saga>`
pub fn event_subject(tenant: &TenantId, saga: &SagaName) -> String {
    format!("evt.{tenant}.{saga}")
}

/// `evt.<tenant>.>`: every saga of one tenant.
pub fn tenant_event_filter(tenant: &TenantId) -> String {
    format!("evt.{tenant}.>")
}

/// `dlq.<tenant>.<saga>`
pub fn dlq_subject(tenant: &TenantId, saga: &SagaName) -> String {
    format!("dlq.{tenant}.{saga}")
}

/// `cmd.<tenant>.`: the prefix every command subject of a tenant starts with.
pub fn command_prefix(tenant: &TenantId) -> String {
    format!("cmd.{tenant}.")
}

/// What an event subject says, or why it says nothing usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSubject {
    Valid { tenant: TenantId, saga: SagaName },
    Invalid { reason: String },
}

/// Parses `evt.<tenant>.<saga>`.
pub fn parse_event_subject(subject: &str) -> EventSubject {
    let mut parts = subject.split('.');
    let (Some("evt"), Some(t), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return EventSubject::Invalid {
            reason: format!("subject '{subject}' is not of the form evt.<tenant>.<saga>"),
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

    #[test]
    fn publish_subject_check() {
        assert!(check_publish_subject("cmd.t1.payments.request").is_ok());
        assert!(check_publish_subject("cmd.t1..x").is_err());
        assert!(check_publish_subject("cmd.t1.*").is_err());
        assert!(check_publish_subject("cmd.t1.a b").is_err());
    }
}
