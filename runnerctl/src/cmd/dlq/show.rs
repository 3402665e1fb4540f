//! `runnerctl dlq show <seq>`: one dead letter in full: its headers, its payload (pretty JSON
//! when it is JSON, else escaped), whether it was truncated and where a redrive would send it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{DeadLetter, Refusal, Row, get, open, or_dash, redrive_target};
use crate::cli::NatsArgs;
use crate::output::{self, Format};

/// `dlq show -o json` (docs/cli.md).
#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    row: Row,
    msg_id: Option<String>,
    /// Every header, by name, with its values.
    headers: BTreeMap<String, Vec<String>>,
    /// The payload when it is JSON.
    payload: Option<serde_json::Value>,
    /// The payload when it is not JSON: UTF-8 kept, control characters, `\` and bytes that
    /// are not UTF-8 escaped (`\n`, `\\`, `\xff`).
    payload_text: Option<String>,
    /// The subject a redrive would publish the event to.
    redrive_to: Option<String>,
    /// Why it cannot be redriven.
    redrive_refused: Option<Refusal>,
}

pub async fn run(seq: u64, args: &NatsArgs, stream: &str, format: Format) -> anyhow::Result<()> {
    let (_nats, dlq) = open(args, stream).await?;
    let dl = get(&dlq, seq).await?;
    let shown = shown(&dl);
    match format {
        Format::Json => output::json(&shown),
        Format::Table => output::print(&text(&dlq.name, &shown)),
    }
    Ok(())
}

fn shown(dl: &DeadLetter) -> Shown {
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, values) in dl.headers.iter() {
        headers
            .entry(name.to_string())
            .or_default()
            .extend(values.iter().map(|v| v.as_str().to_string()));
    }
    let payload = serde_json::from_slice::<serde_json::Value>(&dl.payload).ok();
    let (redrive_to, redrive_refused) = match redrive_target(dl) {
        Ok(s) => (Some(s), None),
        Err(r) => (None, Some(r)),
    };
    Shown {
        row: Row::of(dl),
        msg_id: dl
            .header(shared::names::headers::MSG_ID)
            .map(str::to_string),
        headers,
        payload_text: payload.is_none().then(|| output::escape_bytes(&dl.payload)),
        payload,
        redrive_to,
        redrive_refused,
    }
}

fn text(stream: &str, s: &Shown) -> String {
    let r = &s.row;
    let line = |k: &str, v: String| format!("{k:<10} {v}\n");
    let mut out = format!(
        "dead letter {} of {stream}, stored {}\n",
        r.seq,
        output::utc(r.at_ms)
    );
    out += &line("subject", or_dash(Some(&r.subject)));
    out += &line("code", or_dash(r.code.as_deref()));
    out += &line("reason", or_dash(r.reason.as_deref()));
    out += &line(
        "original",
        format!(
            "{}, sequence {}",
            or_dash(r.original_subject.as_deref()),
            r.original_seq
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into())
        ),
    );
    out += &line("shard", or_dash(r.shard.as_deref()));
    out += &line("event id", or_dash(r.event_id.as_deref()));
    out += &line(
        "truncated",
        match (r.truncated, r.original_size) {
            (false, _) => "no".into(),
            (true, Some(n)) => format!("yes: {} of {n} bytes kept", r.size),
            (true, None) => format!("yes: {} bytes kept", r.size),
        },
    );
    out += &line(
        "redrive",
        match (&s.redrive_to, &s.redrive_refused) {
            (Some(to), _) => format!("to {}", output::escape_controls(to, false)),
            (None, Some(no)) => format!("no ({}): {}", no.skip, no.why),
            (None, None) => "-".into(),
        },
    );
    out += "\nheaders\n";
    for (name, values) in &s.headers {
        for v in values {
            out += &format!(
                "  {}: {}\n",
                output::escape_controls(name, false),
                output::escape_controls(v, false)
            );
        }
    }
    match (&s.payload, &s.payload_text) {
        (Some(v), _) => {
            let pretty = serde_json::to_string_pretty(v).expect("serialisable");
            out += &format!(
                "\npayload ({} bytes, JSON)\n{}\n",
                r.size,
                output::escape_controls(&pretty, true)
            );
        }
        (None, Some(t)) => {
            out += &format!("\npayload ({} bytes, not JSON; escaped)\n{t}\n", r.size);
        }
        (None, None) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::dead_letter;
    use super::*;

    #[test]
    fn a_dead_letter_in_full() {
        let dl = dead_letter(
            "dlq.acme.refund",
            &[
                ("Runner-Dlq-Code", "unknown_saga"),
                ("Runner-Dlq-Reason", "saga 'refund' is not declared"),
                ("Runner-Original-Subject", "evt.acme.refund"),
                ("Runner-Original-Sequence", "45"),
                ("Nats-Msg-Id", "dlq:RUNNER_EVENTS%401:45"),
            ],
            br#"{"id":"e-1","type":"T","key":"k","data":{"note":"\u001b[31m"}}"#,
        );
        let s = shown(&dl);
        assert_eq!(s.redrive_to.as_deref(), Some("evt.acme.refund"));
        assert_eq!(s.payload.as_ref().unwrap()["id"], "e-1");
        assert!(s.payload_text.is_none());
        assert_eq!(s.headers["Runner-Dlq-Code"], ["unknown_saga"]);
        let t = text("RUNNER_DLQ", &s);
        assert!(t.contains("code       unknown_saga"), "{t}");
        assert!(t.contains("redrive    to evt.acme.refund"), "{t}");
        assert!(t.contains("  Runner-Original-Sequence: 45"), "{t}");
        assert!(t.contains("\"id\": \"e-1\""), "{t}");
        assert!(
            !t.contains('\u{1b}'),
            "no raw escape reaches the terminal: {t}"
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["seq"], 7);
        assert_eq!(v["original_subject"], "evt.acme.refund");
        assert_eq!(v["msg_id"], "dlq:RUNNER_EVENTS%401:45");

        let raw = dead_letter("dlq.invalid-subject", &[], b"not \x1b json\xff");
        let s = shown(&raw);
        assert!(s.payload.is_none());
        assert_eq!(s.payload_text.as_deref(), Some(r"not \u{1b} json\xff"));
        assert_eq!(s.redrive_refused.as_ref().unwrap().skip, "invalid_subject");
        let t = text("RUNNER_DLQ", &s);
        assert!(!t.contains('\u{1b}'), "{t}");
        assert!(t.contains("redrive    no (invalid_subject)"), "{t}");
    }
}
