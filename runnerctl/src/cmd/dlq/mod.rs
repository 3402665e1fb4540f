//! `runnerctl dlq`: the dead-letter stream read back. `ls` lists dead letters, `show` prints
//! one in full, `redrive` publishes their events again to their original subjects. Nothing
//! here deletes a dead letter.
//!
//! A dead letter is what the runner's `dead_letter` (runner/src/engine/apply.rs) writes: the
//! event's payload (only its start when it was too large, with `Runner-Dlq-Truncated`) on
//! `dlq.<tenant>.<saga>`, or `dlq.invalid-subject` when its subject named no valid tenant or
//! saga, with the reason, its code, the original subject and sequence and the shard in
//! headers. A timer whose transition failed is dead-lettered too, with the original subject
//! `timer.<tenant>.<saga>` and sequence 0: it is no event and cannot be redriven.

mod ls;
mod redrive;
mod show;

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use shared::ids::{SagaName, TenantId};
use shared::names::{self, headers};
use shared::pull::{Pull, PullOptions};

use crate::cli::{DlqArgs, DlqCmd, DlqFilter, NatsArgs};
use crate::exit::CliError;
use crate::nats::{Nats, connect};
use crate::output::{self, Format};

/// The reason codes the runner writes in `Runner-Dlq-Code` (docs/sagas.md lists them; a test
/// keeps the two the same). `--reason` takes others too (a newer runner's), with a note.
pub const CODES: &[&str] = &[
    "bad_json",
    "bad_envelope",
    "bad_field",
    "too_large",
    "unknown_saga",
    "apply_failed",
    "conflicting_duplicate",
    "invalid_subject",
    "wrong_group",
];

pub async fn run(a: DlqArgs, nats: &NatsArgs, format: Format) -> anyhow::Result<()> {
    match a.what {
        DlqCmd::Ls(l) => ls::run(l, nats, &a.dlq_stream, format).await,
        DlqCmd::Show { seq } => show::run(seq, nats, &a.dlq_stream, format).await,
        DlqCmd::Redrive(r) => redrive::run(r, nats, &a.dlq_stream, format).await,
    }
}

/// The dead-letter stream, opened.
pub struct Dlq {
    pub name: String,
    pub stream: stream::Stream,
    /// `<name>@<created ns>` ([`names::msg_id::stream_identity`]): redrive ids are built from
    /// it, so a recreated stream, whose sequences start again at 1, never reuses one.
    pub identity: String,
    /// The last sequence when it was opened: reads stop there, so a listing is a snapshot.
    pub last_seq: u64,
    pub first_seq: u64,
}

/// Connects and opens the dead-letter stream; a missing one is exit 5.
pub async fn open(args: &NatsArgs, name: &str) -> Result<(Nats, Dlq), CliError> {
    let nats = connect(args).await?;
    let stream = match nats.js.get_stream(name).await {
        Ok(s) => s,
        Err(e) if shared::nats::stream_not_found(&e) => {
            return Err(CliError::not_found(format!(
                "stream {name} does not exist on {}: no runner has started there yet, or --dlq-stream (RUNNERCTL_DLQ_STREAM) is not the runners' RUNNER_DLQ_STREAM",
                args.nats_url
            )));
        }
        Err(e) => return Err(CliError::failure(format!("cannot read stream {name}: {e}"))),
    };
    let info = stream.cached_info();
    let dlq = Dlq {
        name: name.to_string(),
        identity: names::msg_id::stream_identity(name, info.created.unix_timestamp_nanos()),
        last_seq: info.state.last_sequence,
        first_seq: info.state.first_sequence,
        stream,
    };
    Ok((nats, dlq))
}

/// One dead letter as stored.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Its sequence in the dead-letter stream.
    pub seq: u64,
    /// When the dead-letter stream stored it.
    pub at: SystemTime,
    pub subject: String,
    pub headers: HeaderMap,
    pub payload: Bytes,
}

impl DeadLetter {
    fn new(
        seq: u64,
        at: async_nats::datetime::DateTime,
        subject: &str,
        headers: Option<HeaderMap>,
        payload: Bytes,
    ) -> DeadLetter {
        let ns = u64::try_from(at.unix_timestamp_nanos()).unwrap_or(0);
        DeadLetter {
            seq,
            at: UNIX_EPOCH + Duration::from_nanos(ns),
            subject: subject.to_string(),
            headers: headers.unwrap_or_default(),
            payload,
        }
    }

    pub fn at_ms(&self) -> u64 {
        self.at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.as_str())
    }

    /// The tenant and saga of its subject; `None` on `dlq.invalid-subject`.
    pub fn tenant_saga(&self) -> Option<(&str, &str)> {
        names::split_dlq_subject(&self.subject)
    }

    pub fn code(&self) -> Option<&str> {
        self.header(headers::DLQ_CODE)
    }

    pub fn original_subject(&self) -> Option<&str> {
        self.header(headers::ORIGINAL_SUBJECT)
    }

    pub fn original_seq(&self) -> Option<u64> {
        self.header(headers::ORIGINAL_SEQUENCE)?.parse().ok()
    }

    /// Whether only the start of the event was kept.
    pub fn truncated(&self) -> bool {
        self.header(headers::DLQ_TRUNCATED).is_some()
    }

    /// The event's full size when it was truncated.
    pub fn original_size(&self) -> Option<u64> {
        self.header(headers::DLQ_TRUNCATED)?.parse().ok()
    }

    /// The `id` of the payload when it is a JSON object with a string `id`.
    pub fn event_id(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Id<'a> {
            #[serde(borrow, default)]
            id: Option<Cow<'a, str>>,
        }
        serde_json::from_slice::<Id>(&self.payload)
            .ok()?
            .id
            .map(Cow::into_owned)
    }
}

/// A dead letter in a listing (`dlq ls -o json` prints an array of these; docs/cli.md).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub seq: u64,
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    pub at_ms: u64,
    pub subject: String,
    pub tenant: Option<String>,
    pub saga: Option<String>,
    pub code: Option<String>,
    pub reason: Option<String>,
    pub original_subject: Option<String>,
    pub original_seq: Option<u64>,
    pub shard: Option<String>,
    pub event_id: Option<String>,
    /// Bytes of payload the dead letter carries.
    pub size: usize,
    pub truncated: bool,
    /// The event's full size, when truncated.
    pub original_size: Option<u64>,
}

impl Row {
    pub fn of(dl: &DeadLetter) -> Row {
        let owned = |s: Option<&str>| s.map(str::to_string);
        Row {
            seq: dl.seq,
            time: humantime::format_rfc3339_millis(dl.at).to_string(),
            at_ms: dl.at_ms(),
            subject: dl.subject.clone(),
            tenant: owned(dl.tenant_saga().map(|(t, _)| t)),
            saga: owned(dl.tenant_saga().map(|(_, s)| s)),
            code: owned(dl.code()),
            reason: owned(dl.header(headers::DLQ_REASON)),
            original_subject: owned(dl.original_subject()),
            original_seq: dl.original_seq(),
            shard: owned(dl.header(headers::SHARD)),
            event_id: dl.event_id(),
            size: dl.payload.len(),
            truncated: dl.truncated(),
            original_size: dl.original_size(),
        }
    }
}

/// Why a dead letter cannot be redriven: a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// `invalid_subject`, `truncated`, `not_an_event`, `subject_mismatch`.
    pub skip: &'static str,
    pub why: String,
}

/// Where a dead letter's event goes back to: its original subject, kept as it is (in the
/// partitioned layout `evt.<group>.<tenant>.<saga>`, which reaches its group's stream
/// directly). Refused when there is no such subject, when only the start of the event was
/// kept, and when the headers do not describe an event of the dead letter's own tenant and
/// saga (a redrive must never publish where the runner would not have read the event: a
/// message planted in the dead-letter stream cannot make an operator publish a command).
pub fn redrive_target(dl: &DeadLetter) -> Result<String, Refusal> {
    let refuse = |skip, why: String| Err(Refusal { skip, why });
    let Some((tenant, saga)) = dl.tenant_saga() else {
        return refuse(
            "invalid_subject",
            "the event's subject named no valid tenant or saga, so there is no subject to publish it to; fix the producer".into(),
        );
    };
    if dl.truncated() {
        let full = dl
            .original_size()
            .map(|n| format!("{n}"))
            .unwrap_or_else(|| "?".into());
        let at = dl
            .original_seq()
            .map(|s| format!(" at sequence {s}"))
            .unwrap_or_default();
        return refuse(
            "truncated",
            format!(
                "only the first {} of its {full} bytes were kept; the whole event is in the event stream{at}",
                dl.payload.len()
            ),
        );
    }
    let Some(original) = dl.original_subject() else {
        return refuse(
            "not_an_event",
            format!("no {} header", headers::ORIGINAL_SUBJECT),
        );
    };
    if original.starts_with("timer.") {
        return refuse(
            "not_an_event",
            "a timer's dead letter (its transition failed), not an event's: there is nothing to publish; fix the saga".into(),
        );
    }
    match names::split_stored_event_subject(original) {
        Some((t, s)) if t == tenant && s == saga => {}
        Some(_) => {
            return refuse(
                "subject_mismatch",
                format!(
                    "its original subject {} is not an event of {tenant}/{saga}, the dead letter's subject",
                    output::escape_controls(original, false)
                ),
            );
        }
        None => {
            return refuse(
                "not_an_event",
                format!(
                    "its original subject {} is not an event subject",
                    output::escape_controls(original, false)
                ),
            );
        }
    }
    if dl.original_seq().unwrap_or(0) == 0 {
        return refuse(
            "not_an_event",
            format!("no {} of an event", headers::ORIGINAL_SEQUENCE),
        );
    }
    Ok(original.to_string())
}

/// The dead letters a filter selects, checked.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    tenant: Option<TenantId>,
    saga: Option<SagaName>,
    codes: Vec<String>,
    since: Option<SystemTime>,
    until: Option<SystemTime>,
}

impl Selection {
    pub fn new(f: &DlqFilter) -> Result<Selection, CliError> {
        let tenant = f
            .tenant
            .clone()
            .map(TenantId::new)
            .transpose()
            .map_err(|e| CliError::usage(format!("--tenant: {e}")))?;
        let saga = f
            .saga
            .clone()
            .map(SagaName::new)
            .transpose()
            .map_err(|e| CliError::usage(format!("--saga: {e}")))?;
        let codes: Vec<String> = f
            .reason
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        for c in &codes {
            if !CODES.contains(&c.as_str()) {
                output::note(&format!(
                    "--reason {c}: not a code this runnerctl knows ({})",
                    CODES.join(", ")
                ));
            }
        }
        if let (Some(a), Some(b)) = (f.since, f.until)
            && a > b
        {
            return Err(CliError::usage(
                "--since is after --until: nothing can match",
            ));
        }
        Ok(Selection {
            tenant,
            saga,
            codes,
            since: f.since,
            until: f.until,
        })
    }

    /// Whether it selects every dead letter.
    pub fn is_everything(&self) -> bool {
        self.tenant.is_none()
            && self.saga.is_none()
            && self.codes.is_empty()
            && self.since.is_none()
            && self.until.is_none()
    }

    /// The subject filter the server applies ("" for the whole stream).
    fn subject_filter(&self) -> String {
        let only_invalid = !self.codes.is_empty()
            && self
                .codes
                .iter()
                .all(|c| c == "invalid_subject" || c == "wrong_group");
        match (&self.tenant, &self.saga) {
            (Some(t), Some(s)) => names::dlq_subject(t, s),
            (Some(t), None) => format!("dlq.{t}.*"),
            (None, Some(s)) => format!("dlq.*.{s}"),
            // Events with an invalid subject are dead-lettered to one subject of their own.
            (None, None) if only_invalid => names::DLQ_INVALID_SUBJECT.to_string(),
            (None, None) => String::new(),
        }
    }

    /// What the server does not filter: the codes (and the times, checked again).
    fn keeps(&self, dl: &DeadLetter) -> bool {
        (self.codes.is_empty() || dl.code().is_some_and(|c| self.codes.iter().any(|x| x == c)))
            && self.since.is_none_or(|t| dl.at >= t)
            && self.until.is_none_or(|t| dl.at <= t)
    }
}

/// Reads the dead letters `sel` selects, in stream order, up to the stream's last sequence
/// when it was opened, and hands each to `each`. The server applies the subject filter and
/// the start time (an ephemeral consumer in memory, without acks, deleted after); the codes
/// are checked here. Store times grow with the sequence, so the read ends at the first dead
/// letter after `--until`.
pub async fn scan(
    nats: &Nats,
    dlq: &Dlq,
    sel: &Selection,
    mut each: impl FnMut(DeadLetter),
) -> Result<(), CliError> {
    if dlq.last_seq == 0 {
        return Ok(());
    }
    let deliver_policy = match sel.since {
        Some(t) => {
            let ns = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as i128;
            consumer::DeliverPolicy::ByStartTime {
                start_time: async_nats::datetime::from_nanos(ns)
                    .map_err(|e| read_error(dlq, &e))?,
            }
        }
        None => consumer::DeliverPolicy::All,
    };
    let c = dlq
        .stream
        .create_consumer(consumer::pull::Config {
            filter_subject: sel.subject_filter(),
            deliver_policy,
            ack_policy: consumer::AckPolicy::None,
            memory_storage: true,
            inactive_threshold: Duration::from_secs(60),
            ..Default::default()
        })
        .await
        .map_err(|e| read_error(dlq, &e))?;
    let name = c.cached_info().name.clone();
    let r = read(nats, dlq, sel, &c, &mut each).await;
    let _ = dlq.stream.delete_consumer(&name).await;
    r
}

fn read_error(dlq: &Dlq, e: &dyn std::fmt::Display) -> CliError {
    CliError::failure(format!("cannot read stream {}: {e}", dlq.name))
}

async fn read(
    nats: &Nats,
    dlq: &Dlq,
    sel: &Selection,
    c: &consumer::PullConsumer,
    each: &mut impl FnMut(DeadLetter),
) -> Result<(), CliError> {
    if c.cached_info().num_pending == 0 {
        return Ok(());
    }
    let opts = PullOptions {
        batch: 500,
        max_bytes: 8 << 20,
        expires: Duration::from_secs(30),
        heartbeat: Duration::from_secs(5),
    };
    let mut pull = Pull::start(&nats.js, c, opts)
        .await
        .map_err(|e| read_error(dlq, &e))?;
    loop {
        for m in pull
            .next_chunk(500)
            .await
            .map_err(|e| read_error(dlq, &e))?
        {
            let info = m.info().map_err(|e| read_error(dlq, &e))?;
            let (seq, pending, at) = (info.stream_sequence, info.pending, info.published);
            if seq > dlq.last_seq {
                return Ok(());
            }
            let dl = DeadLetter::new(
                seq,
                at,
                m.subject.as_str(),
                m.headers.clone(),
                m.payload.clone(),
            );
            if sel.until.is_some_and(|u| dl.at > u) {
                return Ok(());
            }
            if sel.keeps(&dl) {
                each(dl);
            }
            if pending == 0 || seq == dlq.last_seq {
                return Ok(());
            }
        }
    }
}

/// One dead letter by its sequence; exit 5 when the stream does not hold it.
pub async fn get(dlq: &Dlq, seq: u64) -> Result<DeadLetter, CliError> {
    use jetstream::stream::LastRawMessageErrorKind as K;
    match dlq.stream.get_raw_message(seq).await {
        Ok(m) => Ok(DeadLetter::new(
            m.sequence,
            m.time,
            m.subject.as_str(),
            Some(m.headers),
            m.payload,
        )),
        Err(e) if e.kind() == K::NoMessageFound => {
            let holds = if dlq.last_seq == 0 || dlq.first_seq > dlq.last_seq {
                "it is empty".to_string()
            } else {
                format!("it holds sequences {}..{}", dlq.first_seq, dlq.last_seq)
            };
            Err(CliError::not_found(format!(
                "no dead letter {seq} in stream {} ({holds}; `runnerctl dlq ls` lists them)",
                dlq.name
            )))
        }
        Err(e) => Err(CliError::failure(format!(
            "cannot read dead letter {seq} of stream {}: {e}",
            dlq.name
        ))),
    }
}

/// `-` for what is not there.
fn or_dash(s: Option<&str>) -> String {
    s.map(|s| output::escape_controls(s, false))
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn dead_letter(subject: &str, hdrs: &[(&str, &str)], payload: &[u8]) -> DeadLetter {
        let mut h = HeaderMap::new();
        for (k, v) in hdrs {
            h.insert(*k, *v);
        }
        DeadLetter {
            seq: 7,
            at: UNIX_EPOCH + Duration::from_millis(1_795_600_183_999),
            subject: subject.into(),
            headers: h,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    fn event_dl(original: &str, extra: &[(&str, &str)]) -> DeadLetter {
        let mut h = vec![
            ("Runner-Dlq-Code", "unknown_saga"),
            ("Runner-Original-Subject", original),
            ("Runner-Original-Sequence", "45"),
        ];
        h.extend_from_slice(extra);
        dead_letter(
            "dlq.acme.refund",
            &h,
            br#"{"id":"e-1","type":"T","key":"k"}"#,
        )
    }

    #[test]
    fn a_dead_letter_reads_as_a_row() {
        let dl = event_dl("evt.acme.refund", &[("Runner-Shard", "shard-a")]);
        let r = Row::of(&dl);
        assert_eq!(r.tenant.as_deref(), Some("acme"));
        assert_eq!(r.saga.as_deref(), Some("refund"));
        assert_eq!(r.code.as_deref(), Some("unknown_saga"));
        assert_eq!(r.original_seq, Some(45));
        assert_eq!(r.event_id.as_deref(), Some("e-1"));
        assert_eq!(r.time, "2026-11-25T09:49:43.999Z");
        assert_eq!(r.at_ms, 1_795_600_183_999);
        assert!(!r.truncated);
        let bad = dead_letter("dlq.invalid-subject", &[], b"{not json");
        let r = Row::of(&bad);
        assert_eq!((r.tenant, r.saga, r.event_id), (None, None, None));
        assert_eq!(
            dead_letter("dlq.a.b", &[], br#"{"id":5}"#).event_id(),
            None,
            "an id that is not a string is none"
        );
    }

    #[test]
    fn events_go_back_to_their_original_subject_as_it_is() {
        assert_eq!(
            redrive_target(&event_dl("evt.acme.refund", &[])),
            Ok("evt.acme.refund".into())
        );
        // The partitioned layout: the group token stays.
        assert_eq!(
            redrive_target(&event_dl("evt.17.acme.refund", &[])),
            Ok("evt.17.acme.refund".into())
        );
    }

    #[test]
    fn what_cannot_be_redriven_says_why() {
        let skip = |dl: &DeadLetter| redrive_target(dl).unwrap_err().skip;
        let invalid = dead_letter(
            "dlq.invalid-subject",
            &[("Runner-Original-Subject", "evt.t@1.x")],
            b"{}",
        );
        assert_eq!(skip(&invalid), "invalid_subject");
        let cut = event_dl("evt.acme.refund", &[("Runner-Dlq-Truncated", "300000")]);
        let r = redrive_target(&cut).unwrap_err();
        assert_eq!(r.skip, "truncated");
        assert!(
            r.why.contains("300000") && r.why.contains("45"),
            "{}",
            r.why
        );
        let timer = dead_letter(
            "dlq.acme.refund",
            &[
                ("Runner-Original-Subject", "timer.acme.refund"),
                ("Runner-Original-Sequence", "0"),
            ],
            b"{}",
        );
        assert_eq!(skip(&timer), "not_an_event");
        assert_eq!(
            skip(&event_dl("cmd.acme.payments.request", &[])),
            "not_an_event"
        );
        assert_eq!(
            skip(&event_dl("evt.globex.refund", &[])),
            "subject_mismatch"
        );
        assert_eq!(skip(&event_dl("evt.3.acme.order", &[])), "subject_mismatch");
        let no_seq = dead_letter(
            "dlq.acme.refund",
            &[("Runner-Original-Subject", "evt.acme.refund")],
            b"{}",
        );
        assert_eq!(skip(&no_seq), "not_an_event");
        let no_header = dead_letter("dlq.acme.refund", &[], b"{}");
        assert_eq!(skip(&no_header), "not_an_event");
    }

    #[test]
    fn filters_go_to_the_server_where_they_can() {
        let sel = |f: DlqFilter| Selection::new(&f).unwrap();
        let f = |t: Option<&str>, s: Option<&str>, codes: &[&str]| DlqFilter {
            tenant: t.map(Into::into),
            saga: s.map(Into::into),
            reason: codes.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        };
        assert_eq!(sel(f(None, None, &[])).subject_filter(), "");
        assert!(sel(f(None, None, &[])).is_everything());
        assert_eq!(
            sel(f(Some("acme"), None, &[])).subject_filter(),
            "dlq.acme.*"
        );
        assert_eq!(
            sel(f(Some("acme"), Some("order"), &[])).subject_filter(),
            "dlq.acme.order"
        );
        assert_eq!(
            sel(f(None, Some("order"), &[])).subject_filter(),
            "dlq.*.order"
        );
        assert_eq!(
            sel(f(None, None, &["invalid_subject"])).subject_filter(),
            "dlq.invalid-subject"
        );
        assert_eq!(
            sel(f(None, None, &["invalid_subject", "bad_json"])).subject_filter(),
            ""
        );
        assert!(Selection::new(&f(Some("a b"), None, &[])).is_err());
        let s = sel(f(None, None, &["bad_json", "unknown_saga"]));
        assert!(s.keeps(&event_dl("evt.acme.refund", &[])));
        let s = sel(f(None, None, &["bad_json"]));
        assert!(!s.keeps(&event_dl("evt.acme.refund", &[])));
        let late = DlqFilter {
            since: Some(UNIX_EPOCH + Duration::from_secs(10)),
            until: Some(UNIX_EPOCH + Duration::from_secs(5)),
            ..Default::default()
        };
        assert!(Selection::new(&late).is_err());
    }

    /// The codes --reason knows are the ones docs/sagas.md documents.
    #[test]
    fn the_known_codes_are_the_documented_ones() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/sagas.md"))
            .unwrap();
        let documented: Vec<&str> = doc
            .lines()
            .skip_while(|l| !l.starts_with("| `Runner-Dlq-Code` |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
            .collect();
        let mut a: Vec<&str> = documented.clone();
        let mut b: Vec<&str> = CODES.to_vec();
        a.sort();
        b.sort();
        assert_eq!(a, b, "docs/sagas.md's table of Runner-Dlq-Code values");
    }
}
