//! The event envelope `{"id", "type", "key", "data"}` and the reasons an event is rejected.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// Longest event id and instance key, in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// Longest event type, in bytes.
pub const MAX_TYPE_BYTES: usize = 128;

/// A parsed envelope, borrowing from the payload where it can.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    pub event_type: Cow<'a, str>,
    #[serde(borrow)]
    pub key: Cow<'a, str>,
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
}

/// Why an event cannot be used: a stable code for scripts and a reason for people. Sent in
/// the dead letter's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub reason: String,
}

impl Rejection {
    pub fn new(code: &'static str, reason: impl Into<String>) -> Self {
        Rejection {
            code,
            reason: reason.into(),
        }
    }
}

fn check_field(name: &str, v: &str, max: usize) -> Result<(), Rejection> {
    if v.is_empty() {
        return Err(Rejection::new(
            "bad_field",
            format!("field '{name}' is empty"),
        ));
    }
    if v.len() > max {
        return Err(Rejection::new(
            "bad_field",
            format!(
                "field '{name}' is {} bytes long; the limit is {max}",
                v.len()
            ),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(Rejection::new(
            "bad_field",
            format!("field '{name}' contains a control character (NUL, newline, ...)"),
        ));
    }
    Ok(())
}

/// Parses and checks an event payload.
pub fn parse(payload: &[u8], max_bytes: usize) -> Result<Envelope<'_>, Rejection> {
    if payload.len() > max_bytes {
        return Err(Rejection::new(
            "too_large",
            format!(
                "payload is {} bytes; RUNNER_MAX_EVENT_BYTES is {max_bytes}",
                payload.len()
            ),
        ));
    }
    let env: Envelope = serde_json::from_slice(payload).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => Rejection::new(
                "bad_envelope",
                format!("not an event envelope {{\"id\", \"type\", \"key\", \"data\"}}: {e}"),
            ),
            _ => Rejection::new("bad_json", format!("payload is not valid JSON: {e}")),
        }
    })?;
    check_field("id", &env.id, MAX_ID_BYTES)?;
    check_field("type", &env.event_type, MAX_TYPE_BYTES)?;
    check_field("key", &env.key, MAX_ID_BYTES)?;
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_good_envelope_without_copying() {
        let p = br#"{"id":"e1","type":"OrderPlaced","key":"o1","data":{"amount":3},"extra":true}"#;
        let e = parse(p, 1024).unwrap();
        assert!(matches!(e.id, Cow::Borrowed("e1")));
        assert_eq!(e.event_type, "OrderPlaced");
        assert_eq!(e.data.unwrap().get(), r#"{"amount":3}"#);
        let e = parse(br#"{"id":"e\"1","type":"T","key":"k"}"#, 1024).unwrap();
        assert_eq!(e.id, "e\"1");
        assert!(e.data.is_none());
    }

    #[test]
    fn malformed_events_get_codes_and_reasons() {
        let big = vec![b' '; 2000];
        let cases: [(&[u8], &str, &str); 9] = [
            (b"{not json", "bad_json", "not valid JSON"),
            (b"", "bad_json", "not valid JSON"),
            (b"\xff\xfe", "bad_json", "not valid JSON"),
            (b"[1,2]", "bad_envelope", "not an event envelope"),
            (
                br#"{"type":"T","key":"k"}"#,
                "bad_envelope",
                "missing field `id`",
            ),
            (
                br#"{"id":1,"type":"T","key":"k"}"#,
                "bad_envelope",
                "invalid type",
            ),
            (
                br#"{"id":"","type":"T","key":"k"}"#,
                "bad_field",
                "field 'id' is empty",
            ),
            (
                br#"{"id":"a\u0000","type":"T","key":"k"}"#,
                "bad_field",
                "control character",
            ),
            (&big, "too_large", "RUNNER_MAX_EVENT_BYTES"),
        ];
        for (p, code, needle) in cases {
            let r = parse(p, 1024).unwrap_err();
            assert_eq!(r.code, code, "{r:?}");
            assert!(r.reason.contains(needle), "{needle}: {r:?}");
        }
        let long = format!(r#"{{"id":"{}","type":"T","key":"k"}}"#, "x".repeat(300));
        assert!(
            parse(long.as_bytes(), 4096)
                .unwrap_err()
                .reason
                .contains("300 bytes")
        );
        let bad_utf8_in_string = b"{\"id\":\"\xc3\x28\",\"type\":\"T\",\"key\":\"k\"}";
        assert_eq!(
            parse(bad_utf8_in_string, 1024).unwrap_err().code,
            "bad_json"
        );
    }
}
