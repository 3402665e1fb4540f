//! `runnerctl dlq redrive`: publishes dead letters' events again to their original subjects.
//!
//! Each event goes out with its payload untouched (so its envelope id, the runner's dedupe
//! key, is the one it had) and a `Nats-Msg-Id` built from the dead letter's place in the
//! dead-letter stream ([`shared::names::msg_id::redrive`]): redriving the same dead letter
//! again within the event stream's duplicate window stores nothing, and past it the runner
//! skips an event id it already applied. The plan comes first (what goes where, what is
//! skipped and why); publishing needs `--yes` or an answer on a terminal. Dead letters stay
//! in their stream.

use std::io::IsTerminal;

use async_nats::HeaderMap;
use comfy_table::Cell;
use serde::Serialize;
use shared::names::{headers, msg_id};

use super::{DeadLetter, Dlq, Selection, get, open, or_dash, redrive_target, scan};
use crate::cli::{DlqRedriveArgs, NatsArgs};
use crate::exit::CliError;
use crate::nats::Nats;
use crate::output::{self, Format};

/// Publishes in flight before their acknowledgements are awaited.
const IN_FLIGHT: usize = 256;

/// A dead letter to redrive, and (once tried) what became of it.
#[derive(Debug, Serialize)]
struct Item {
    seq: u64,
    tenant: Option<String>,
    saga: Option<String>,
    code: Option<String>,
    event_id: Option<String>,
    /// Where the event goes: its original subject.
    subject: String,
    msg_id: String,
    /// `planned` (a dry run), `published`, `duplicate` (the event stream already had this
    /// redrive within its duplicate window and stored nothing), `failed`.
    outcome: &'static str,
    /// The stream that stored it, and where.
    stream: Option<String>,
    stream_seq: Option<u64>,
    error: Option<String>,
    #[serde(skip)]
    payload: bytes::Bytes,
}

/// A dead letter left alone, and why.
#[derive(Debug, Serialize)]
struct Skipped {
    seq: u64,
    tenant: Option<String>,
    saga: Option<String>,
    code: Option<String>,
    original_subject: Option<String>,
    /// `invalid_subject`, `truncated`, `not_an_event`, `subject_mismatch`.
    skip: &'static str,
    why: String,
}

/// `dlq redrive -o json` (docs/cli.md).
#[derive(Debug, Serialize)]
struct Report {
    dlq_stream: String,
    dry_run: bool,
    redrive: Vec<Item>,
    skipped: Vec<Skipped>,
    published: usize,
    duplicates: usize,
    failed: usize,
}

pub async fn run(
    a: DlqRedriveArgs,
    args: &NatsArgs,
    stream: &str,
    format: Format,
) -> anyhow::Result<()> {
    let sel = Selection::new(&a.filter)?;
    if a.seqs.is_empty() && sel.is_everything() && !a.all {
        return Err(CliError::usage(
            "say which dead letters: their sequences (`dlq redrive 12 15`), a filter (--tenant, --saga, --reason, --since, --until), or --all",
        )
        .into());
    }
    let (nats, dlq) = open(args, stream).await?;
    let letters = if a.seqs.is_empty() {
        let mut all = Vec::new();
        scan(&nats, &dlq, &sel, |dl| all.push(dl)).await?;
        all
    } else {
        let mut seqs = a.seqs.clone();
        seqs.sort_unstable();
        seqs.dedup();
        let mut all = Vec::with_capacity(seqs.len());
        for seq in seqs {
            all.push(get(&dlq, seq).await?);
        }
        all
    };
    let mut report = plan(&dlq.name, &dlq.identity, letters, a.dry_run);
    if format == Format::Table {
        output::print(&plan_text(&report));
    }
    if let Some(n) = payload_note(&report.redrive) {
        output::note(&n);
    }
    if a.dry_run || report.redrive.is_empty() {
        if format == Format::Json {
            output::json(&report);
        }
        return Ok(());
    }
    confirm(report.redrive.len(), a.yes)?;
    publish(&nats, &dlq, &mut report.redrive).await;
    for i in &report.redrive {
        match i.outcome {
            "published" => report.published += 1,
            "duplicate" => report.duplicates += 1,
            _ => report.failed += 1,
        }
    }
    match format {
        Format::Json => output::json(&report),
        Format::Table => output::print(&summary(&report)),
    }
    if report.failed > 0 {
        return Err(CliError::failure(format!(
            "{} of {} publishes failed (see above); the others were published, and redriving the same dead letters again is safe",
            report.failed,
            report.redrive.len()
        ))
        .into());
    }
    Ok(())
}

/// What to publish where, and what to skip; `identity` is the dead-letter stream's
/// ([`Dlq::identity`]).
fn plan(dlq_stream: &str, identity: &str, letters: Vec<DeadLetter>, dry_run: bool) -> Report {
    let mut redrive = Vec::new();
    let mut skipped = Vec::new();
    for dl in letters {
        let (tenant, saga) = match dl.tenant_saga() {
            Some((t, s)) => (Some(t.to_string()), Some(s.to_string())),
            None => (None, None),
        };
        let code = dl.code().map(str::to_string);
        match redrive_target(&dl) {
            Ok(subject) => redrive.push(Item {
                seq: dl.seq,
                tenant,
                saga,
                code,
                event_id: dl.event_id(),
                subject,
                msg_id: msg_id::redrive(identity, dl.seq),
                outcome: "planned",
                stream: None,
                stream_seq: None,
                error: None,
                payload: dl.payload,
            }),
            Err(no) => skipped.push(Skipped {
                seq: dl.seq,
                tenant,
                saga,
                code,
                original_subject: dl.original_subject().map(str::to_string),
                skip: no.skip,
                why: no.why,
            }),
        }
    }
    Report {
        dlq_stream: dlq_stream.to_string(),
        dry_run,
        redrive,
        skipped,
        published: 0,
        duplicates: 0,
        failed: 0,
    }
}

/// The plan as a table, one row per dead letter in stream order, and a line of counts.
fn plan_text(r: &Report) -> String {
    if r.redrive.is_empty() && r.skipped.is_empty() {
        return format!(
            "no dead letters in {} match: nothing to redrive\n",
            r.dlq_stream
        );
    }
    let mut rows: Vec<(u64, Vec<Cell>)> = Vec::new();
    for i in &r.redrive {
        rows.push((
            i.seq,
            vec![
                Cell::new(i.seq),
                Cell::new(or_dash(i.tenant.as_deref())),
                Cell::new(or_dash(i.saga.as_deref())),
                Cell::new(or_dash(i.code.as_deref())),
                Cell::new(or_dash(i.event_id.as_deref())),
                Cell::new(format!("publish to {}", or_dash(Some(&i.subject)))),
            ],
        ));
    }
    for s in &r.skipped {
        rows.push((
            s.seq,
            vec![
                Cell::new(s.seq),
                Cell::new(or_dash(s.tenant.as_deref())),
                Cell::new(or_dash(s.saga.as_deref())),
                Cell::new(or_dash(s.code.as_deref())),
                Cell::new("-"),
                Cell::new(format!("skip ({}): {}", s.skip, s.why)),
            ],
        ));
    }
    rows.sort_by_key(|(seq, _)| *seq);
    let mut t = output::table(["DLQ SEQ", "TENANT", "SAGA", "CODE", "EVENT ID", "PLAN"]);
    for (_, cells) in rows {
        t.add_row(cells);
    }
    format!(
        "{t}\n{} to redrive, {} skipped{}\n",
        r.redrive.len(),
        r.skipped.len(),
        if r.dry_run {
            " (dry run: nothing published)"
        } else {
            ""
        }
    )
}

/// Codes the runner gives an event for its payload: redriven unchanged, it meets the same fate.
const PAYLOAD_CODES: &[&str] = &[
    "bad_json",
    "bad_envelope",
    "bad_field",
    "conflicting_duplicate",
];

/// A word when the plan redrives events that were refused for their payload.
fn payload_note(items: &[Item]) -> Option<String> {
    let n = items
        .iter()
        .filter(|i| {
            i.code
                .as_deref()
                .is_some_and(|c| PAYLOAD_CODES.contains(&c))
        })
        .count();
    (n > 0).then(|| {
        format!(
            "{n} of these were dead-lettered for their payload ({}): published again unchanged, they are dead-lettered again; their producer must publish them corrected",
            PAYLOAD_CODES.join(", ")
        )
    })
}

/// Publishing changes what the runners apply: `--yes`, or an answer on a terminal.
fn confirm(n: usize, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        return Err(CliError::refused(format!(
            "redrive publishes {n} events to the event stream; without a terminal to confirm, pass --yes (--dry-run shows the plan); nothing was published"
        )));
    }
    let yes = dialoguer::Confirm::new()
        .with_prompt(format!(
            "Publish {n} event{} again to {}?",
            if n == 1 { "" } else { "s" },
            if n == 1 {
                "its original subject"
            } else {
                "their original subjects"
            }
        ))
        .default(false)
        .interact()
        .map_err(|e| CliError::failure(format!("cannot ask for confirmation: {e}")))?;
    if !yes {
        return Err(CliError::refused("not confirmed; nothing was published"));
    }
    Ok(())
}

/// Publishes every item, `IN_FLIGHT` at a time, in order, and records each outcome; a failed
/// publish does not stop the others.
async fn publish(nats: &Nats, dlq: &Dlq, items: &mut [Item]) {
    for chunk in items.chunks_mut(IN_FLIGHT) {
        let mut acks = Vec::with_capacity(chunk.len());
        for i in chunk.iter_mut() {
            let mut h = HeaderMap::new();
            h.insert(headers::MSG_ID, i.msg_id.as_str());
            h.insert(
                headers::REDRIVEN_FROM,
                format!("{}:{}", dlq.name, i.seq).as_str(),
            );
            let sent = nats
                .js
                .publish_with_headers(i.subject.clone(), h, i.payload.clone())
                .await;
            match sent {
                Ok(ack) => acks.push(Some(ack)),
                Err(e) => {
                    fail(i, &e);
                    acks.push(None);
                }
            }
        }
        for (i, ack) in chunk.iter_mut().zip(acks) {
            let Some(ack) = ack else { continue };
            match ack.await {
                Ok(a) => {
                    i.outcome = if a.duplicate {
                        "duplicate"
                    } else {
                        "published"
                    };
                    i.stream = Some(a.stream);
                    i.stream_seq = Some(a.sequence);
                }
                Err(e) => fail(i, &e),
            }
        }
    }
}

fn fail(i: &mut Item, e: &dyn std::fmt::Display) {
    i.outcome = "failed";
    let e = e.to_string();
    i.error = Some(if e.contains("no responders") {
        format!(
            "{e}: no stream stores {} (is it the event stream of this NATS?)",
            i.subject
        )
    } else {
        e
    });
}

/// What was done, after the plan.
fn summary(r: &Report) -> String {
    let mut out = String::new();
    for i in r.redrive.iter().filter(|i| i.outcome == "failed") {
        out += &format!(
            "error: dead letter {} to {}: {}\n",
            i.seq,
            or_dash(Some(&i.subject)),
            or_dash(i.error.as_deref())
        );
    }
    let mut skips: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in &r.skipped {
        *skips.entry(s.skip).or_default() += 1;
    }
    let skips: Vec<String> = skips.iter().map(|(k, n)| format!("{n} {k}")).collect();
    out += &format!(
        "redriven {} of {}: {} published",
        r.published + r.duplicates,
        r.redrive.len() + r.skipped.len(),
        r.published
    );
    if r.duplicates > 0 {
        out += &format!(
            ", {} already in the event stream (redriven before, within its duplicate window: not stored again)",
            r.duplicates
        );
    }
    if !r.skipped.is_empty() {
        out += &format!("; skipped {} ({})", r.skipped.len(), skips.join(", "));
    }
    if r.failed > 0 {
        out += &format!("; failed {}", r.failed);
    }
    out += "\n";
    out += &format!(
        "the dead letters stay in {}; follow the events in `runnerctl status <shard>` (applied, deduped, dead-lettered again)\n",
        r.dlq_stream
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::dead_letter;
    use super::*;

    #[test]
    fn the_plan_sends_events_home_and_skips_the_rest_with_reasons() {
        let ok = dead_letter(
            "dlq.acme.refund",
            &[
                ("Runner-Dlq-Code", "unknown_saga"),
                ("Runner-Original-Subject", "evt.acme.refund"),
                ("Runner-Original-Sequence", "45"),
            ],
            br#"{"id":"e-1","type":"T","key":"k"}"#,
        );
        let mut cut = ok.clone();
        cut.seq = 9;
        cut.headers.insert("Runner-Dlq-Truncated", "300000");
        let mut invalid = dead_letter("dlq.invalid-subject", &[], b"{}");
        invalid.seq = 3;
        let r = plan("RUNNER_DLQ", "RUNNER_DLQ@5", vec![ok, cut, invalid], true);
        assert_eq!(r.redrive.len(), 1);
        assert_eq!(r.redrive[0].subject, "evt.acme.refund");
        assert_eq!(r.redrive[0].msg_id, "redrive:RUNNER_DLQ%405:7");
        assert_eq!(r.redrive[0].event_id.as_deref(), Some("e-1"));
        let skips: Vec<(u64, &str)> = r.skipped.iter().map(|s| (s.seq, s.skip)).collect();
        assert_eq!(skips, [(9, "truncated"), (3, "invalid_subject")]);
        let t = plan_text(&r);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[1].trim_start().starts_with("3 "),
            "in stream order: {t}"
        );
        assert!(t.contains("publish to evt.acme.refund"), "{t}");
        assert!(t.contains("1 to redrive, 2 skipped (dry run"), "{t}");
        assert_eq!(payload_note(&r.redrive), None, "unknown_saga can be fixed");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["redrive"][0]["outcome"], "planned");
        assert!(v["redrive"][0].get("payload").is_none());
        assert_eq!(v["skipped"][1]["skip"], "invalid_subject");
    }

    #[test]
    fn the_summary_says_what_happened() {
        let mut r = plan(
            "RUNNER_DLQ",
            "RUNNER_DLQ@5",
            vec![dead_letter(
                "dlq.acme.order",
                &[
                    ("Runner-Dlq-Code", "bad_json"),
                    ("Runner-Original-Subject", "evt.acme.order"),
                    ("Runner-Original-Sequence", "3"),
                ],
                b"{x",
            )],
            false,
        );
        assert!(payload_note(&r.redrive).unwrap().starts_with("1 of these"));
        r.redrive[0].outcome = "published";
        r.published = 1;
        assert_eq!(
            summary(&r).lines().next().unwrap(),
            "redriven 1 of 1: 1 published"
        );
        r.redrive[0].outcome = "duplicate";
        (r.published, r.duplicates) = (0, 1);
        assert!(summary(&r).contains("1 already in the event stream"));
    }
}
