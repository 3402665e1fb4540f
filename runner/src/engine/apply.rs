//! What one event (or one fired timer) does inside a batch's write transaction: the
//! checkpoint and dedupe checks, the saga's decision, and every write it implies. Nothing
//! here commits; the batch commits once, or not at all.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Map, Value};
use shared::edge_storage::{
    DedupeRecord, DueTimer, HistoryEntry, InstanceRecord, OutboxEntry, OutboxKind, Outcome,
    ScheduleRecord, StorageError, TimerRef, Writer,
};
use shared::names::{self, headers};

use crate::envelope::{self, Rejection};
use crate::metrics::outcome;
use crate::saga::{Decision, EventView, InstanceView, Saga, SagaRegistry, Transition};

/// An event as read from the stream.
#[derive(Debug, Clone)]
pub struct Msg {
    pub seq: u64,
    /// When the server stored it, ms since the epoch.
    pub time_ms: u64,
    pub subject: String,
    pub payload: Bytes,
}

/// Per tenant+saga results of a batch.
#[derive(Debug, Default)]
pub struct SagaAcc {
    /// New checkpoint, written once at the end of the batch.
    pub checkpoint: Option<u64>,
    /// Indexed like [`outcome::ALL`].
    pub counts: [u64; 5],
    pub timers_fired: u64,
}

/// What a batch did, gathered while its transaction is open and used only after it commits.
#[derive(Debug, Default)]
pub struct BatchCtx {
    /// tenant -> saga -> results (nested so lookups by `&str` need no allocation).
    pub sagas: HashMap<String, HashMap<String, SagaAcc>>,
    pub invalid_subjects: u64,
    pub outbox_added: usize,
    /// Earliest due time of the timers armed by this batch.
    pub earliest_armed: Option<u64>,
    /// Stream times of the events applied, for the latency histogram.
    pub applied_times: Vec<u64>,
    /// Earliest pending timer seen by a timer scan.
    pub next_timer: Option<u64>,
}

impl BatchCtx {
    pub fn acc(&mut self, tenant: &str, saga: &str) -> &mut SagaAcc {
        if !self.sagas.contains_key(tenant) {
            self.sagas.insert(tenant.to_string(), HashMap::new());
        }
        let per = self.sagas.get_mut(tenant).expect("inserted");
        if !per.contains_key(saga) {
            per.insert(saga.to_string(), SagaAcc::default());
        }
        per.get_mut(saga).expect("inserted")
    }

    fn count(&mut self, tenant: &str, saga: &str, what: &'static str) {
        let i = outcome::ALL
            .iter()
            .position(|o| *o == what)
            .expect("known outcome");
        self.acc(tenant, saga).counts[i] += 1;
    }

    /// Writes the batch's checkpoints.
    pub fn flush_checkpoints(&self, w: &mut Writer<'_>, now: u64) -> Result<(), StorageError> {
        for (t, per) in &self.sagas {
            for (s, acc) in per {
                if let Some(seq) = acc.checkpoint {
                    w.set_checkpoint(
                        t,
                        s,
                        &shared::edge_storage::Checkpoint {
                            seq,
                            updated_at_ms: now,
                        },
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// Settings the apply step needs.
pub struct ApplyEnv<'a> {
    pub sagas: &'a SagaRegistry,
    pub stream: &'a str,
    pub shard: &'a str,
    pub max_event_bytes: usize,
    pub now_ms: u64,
}

fn header_safe(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match s.char_indices().nth(1000) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// Dead-letters `m`: a copy with the reason in headers goes to the outbox, bound for
/// `dlq.<tenant>.<saga>` (or `dlq.invalid-subject`).
pub fn dead_letter(
    w: &mut Writer<'_>,
    ctx: &mut BatchCtx,
    env: &ApplyEnv<'_>,
    owner: Option<(&str, &str)>,
    m: &Msg,
    why: &Rejection,
) -> Result<(), StorageError> {
    let msg_id = format!("dlq:{}:{}", env.stream, m.seq);
    dead_letter_with_id(w, ctx, env, owner, m, why, msg_id)
}

fn dead_letter_with_id(
    w: &mut Writer<'_>,
    ctx: &mut BatchCtx,
    env: &ApplyEnv<'_>,
    owner: Option<(&str, &str)>,
    m: &Msg,
    why: &Rejection,
    msg_id: String,
) -> Result<(), StorageError> {
    let (tenant, saga, subject) = match owner {
        Some((t, s)) => (t, s, format!("dlq.{t}.{s}")),
        None => ("", "", names::DLQ_INVALID_SUBJECT.to_string()),
    };
    let mut hdrs = vec![
        (headers::DLQ_REASON.to_string(), header_safe(&why.reason)),
        (headers::DLQ_CODE.to_string(), why.code.to_string()),
        (
            headers::ORIGINAL_SUBJECT.to_string(),
            header_safe(&m.subject),
        ),
        (headers::ORIGINAL_SEQUENCE.to_string(), m.seq.to_string()),
        (headers::SHARD.to_string(), env.shard.to_string()),
    ];
    // An oversized event is kept in the stream; its dead letter carries only the start of it,
    // so the copy cannot exceed the server's payload limit.
    let payload = if m.payload.len() > env.max_event_bytes {
        hdrs.push(("Runner-Dlq-Truncated".into(), m.payload.len().to_string()));
        m.payload[..env.max_event_bytes.min(64 * 1024)].to_vec()
    } else {
        m.payload.to_vec()
    };
    w.push_outbox(&OutboxEntry {
        kind: OutboxKind::DeadLetter,
        subject,
        msg_id,
        headers: hdrs,
        payload,
        tenant: tenant.to_string(),
        saga: saga.to_string(),
        created_at_ms: env.now_ms,
    })?;
    ctx.outbox_added += 1;
    if owner.is_some() {
        ctx.count(tenant, saga, outcome::DEAD_LETTERED);
    } else {
        ctx.invalid_subjects += 1;
    }
    Ok(())
}

/// Applies one event of `tenant`/`saga` (a valid subject of an owned tenant).
pub fn apply_event(
    w: &mut Writer<'_>,
    ctx: &mut BatchCtx,
    env: &ApplyEnv<'_>,
    tenant: &str,
    saga_name: &str,
    m: &Msg,
) -> Result<(), StorageError> {
    let Some(saga) = env.sagas.get(saga_name) else {
        let declared: Vec<&str> = env.sagas.names().map(|n| n.as_str()).collect();
        let why = Rejection::new(
            "unknown_saga",
            format!(
                "saga '{saga_name}' is not declared in the saga file (declared: {})",
                declared.join(", ")
            ),
        );
        return dead_letter(w, ctx, env, Some((tenant, saga_name)), m, &why);
    };
    let checkpoint = match ctx.acc(tenant, saga_name).checkpoint {
        Some(v) => v,
        None => w.checkpoint(tenant, saga_name)?.map(|c| c.seq).unwrap_or(0),
    };
    if m.seq <= checkpoint {
        ctx.count(tenant, saga_name, outcome::SKIPPED);
        return Ok(());
    }
    ctx.acc(tenant, saga_name).checkpoint = Some(m.seq);
    let ev = match envelope::parse(&m.payload, env.max_event_bytes) {
        Ok(e) => e,
        Err(why) => return dead_letter(w, ctx, env, Some((tenant, saga_name)), m, &why),
    };
    // Claim the event id: the marker is written now (as applied) and corrected below if the
    // event turns out ignored or dead-lettered; the transaction makes that invisible.
    let claimed = DedupeRecord {
        seq: m.seq,
        at_ms: env.now_ms,
        outcome: Outcome::Applied,
    };
    if !w.insert_dedupe(tenant, saga_name, &ev.id, &claimed)? {
        ctx.count(tenant, saga_name, outcome::DEDUPED);
        return Ok(());
    }
    let rec = w.instance(tenant, saga_name, &ev.key)?;
    let view = EventView::new(
        tenant,
        saga_name,
        &ev.id,
        &ev.event_type,
        &ev.key,
        m.seq,
        m.time_ms,
        ev.data,
    );
    let decision = decide(saga.as_ref(), &view, rec.as_ref()).and_then(|d| match &d {
        Decision::Apply(tr) => check_commands(tenant, tr).map(|_| d),
        Decision::Ignore => Ok(d),
    });
    match decision {
        Err(reason) => {
            // Not applied: the id stays free for a corrected event.
            w.delete_dedupe(tenant, saga_name, &ev.id)?;
            let why = Rejection::new("apply_failed", reason);
            dead_letter(w, ctx, env, Some((tenant, saga_name)), m, &why)
        }
        Ok(Decision::Ignore) => {
            let rec = DedupeRecord {
                outcome: Outcome::Ignored,
                ..claimed
            };
            w.put_dedupe(tenant, saga_name, &ev.id, &rec)?;
            ctx.count(tenant, saga_name, outcome::IGNORED);
            Ok(())
        }
        Ok(Decision::Apply(tr)) => {
            write_transition(w, ctx, env, saga.as_ref(), &view, rec, tr)?;
            ctx.count(tenant, saga_name, outcome::APPLIED);
            ctx.applied_times.push(m.time_ms);
            Ok(())
        }
    }
}

fn mark(
    w: &mut Writer<'_>,
    tenant: &str,
    saga: &str,
    id: &str,
    seq: u64,
    outcome: Outcome,
    now: u64,
) -> Result<(), StorageError> {
    w.put_dedupe(
        tenant,
        saga,
        id,
        &DedupeRecord {
            seq,
            at_ms: now,
            outcome,
        },
    )
}

fn instance_data(rec: Option<&InstanceRecord>) -> Map<String, Value> {
    rec.and_then(|r| serde_json::from_str::<Map<String, Value>>(&r.data).ok())
        .unwrap_or_default()
}

fn decide(
    saga: &dyn Saga,
    ev: &EventView<'_>,
    rec: Option<&InstanceRecord>,
) -> Result<Decision, String> {
    let data = instance_data(rec);
    let view = InstanceView {
        exists: rec.is_some(),
        state: rec
            .map(|r| r.state.as_str())
            .unwrap_or(saga.initial_state()),
        version: rec.map(|r| r.version).unwrap_or(0),
        data: &data,
        timers: rec.map(|r| r.timers.as_slice()).unwrap_or(&[]),
    };
    // A saga implemented in code may panic: that must dead-letter the event, not crash-loop
    // the runner on it.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| saga.handle(ev, &view)))
        .unwrap_or_else(|p| {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("saga '{}' panicked: {what}", ev.saga))
        })
}

/// Commands must stay on the tenant's own command subjects.
fn check_commands(tenant: &str, tr: &Transition) -> Result<(), String> {
    let prefix = format!("cmd.{tenant}.");
    for c in &tr.commands {
        if !c.subject.starts_with(&prefix) {
            return Err(format!(
                "command subject '{}' is outside the tenant's '{prefix}>'",
                c.subject
            ));
        }
        names::check_publish_subject(&c.subject)?;
    }
    Ok(())
}

/// Writes the instance, its timers and its commands for an applied transition.
fn write_transition(
    w: &mut Writer<'_>,
    ctx: &mut BatchCtx,
    env: &ApplyEnv<'_>,
    saga: &dyn Saga,
    ev: &EventView<'_>,
    rec: Option<InstanceRecord>,
    tr: Transition,
) -> Result<(), StorageError> {
    let (t, s, key) = (ev.tenant, ev.saga, ev.key);
    let is_new = rec.is_none();
    let mut rec = rec.unwrap_or_else(|| InstanceRecord {
        state: saga.initial_state().to_string(),
        version: 0,
        created_at_ms: env.now_ms,
        updated_at_ms: env.now_ms,
        last_seq: 0,
        last_event_id: String::new(),
        data: "{}".into(),
        timers: Vec::new(),
        history: Vec::new(),
    });
    for name in tr.cancel.iter().chain(tr.arm.iter().map(|a| &a.name)) {
        if let Some(pos) = rec.timers.iter().position(|r| &r.name == name) {
            let old = rec.timers.remove(pos);
            w.delete_schedule(t, s, old.due_ms, key, &old.name)?;
        }
    }
    for a in &tr.arm {
        w.put_schedule(
            t,
            s,
            a.due_ms,
            key,
            &a.name,
            &ScheduleRecord {
                fire: a.fire.clone(),
                armed_at_ms: env.now_ms,
                armed_by: ev.id.to_string(),
            },
        )?;
        rec.timers.push(TimerRef {
            name: a.name.clone(),
            due_ms: a.due_ms,
        });
        ctx.earliest_armed = Some(ctx.earliest_armed.map_or(a.due_ms, |e| e.min(a.due_ms)));
    }
    for (i, c) in tr.commands.into_iter().enumerate() {
        w.push_outbox(&OutboxEntry {
            kind: OutboxKind::Command,
            subject: c.subject,
            msg_id: format!("{t}:{s}:{}:{i}", ev.id),
            headers: vec![
                ("Runner-Event-Id".into(), ev.id.to_string()),
                ("Runner-Instance".into(), key.to_string()),
            ],
            payload: c.payload,
            tenant: t.to_string(),
            saga: s.to_string(),
            created_at_ms: env.now_ms,
        })?;
        ctx.outbox_added += 1;
    }
    let from = std::mem::replace(&mut rec.state, tr.to);
    rec.version += 1;
    rec.updated_at_ms = env.now_ms;
    rec.last_seq = ev.seq;
    rec.last_event_id = ev.id.to_string();
    if let Some(d) = tr.data {
        rec.data = serde_json::to_string(&d).expect("a JSON map serialises");
    }
    let limit = saga.history_limit();
    if limit > 0 {
        rec.history.push(HistoryEntry {
            seq: ev.seq,
            event_id: ev.id.to_string(),
            event_type: ev.event_type.to_string(),
            from,
            to: rec.state.clone(),
            at_ms: env.now_ms,
        });
        let excess = rec.history.len().saturating_sub(limit);
        rec.history.drain(..excess);
    }
    w.put_instance(t, s, key, &rec, is_new)
}

/// Fires one due timer of `tenant`/`saga`.
pub fn fire_timer(
    w: &mut Writer<'_>,
    ctx: &mut BatchCtx,
    env: &ApplyEnv<'_>,
    tenant: &str,
    saga_name: &str,
    due: &DueTimer,
    sched: &ScheduleRecord,
) -> Result<(), StorageError> {
    w.delete_schedule(tenant, saga_name, due.due_ms, &due.key, &due.timer)?;
    let Some(saga) = env.sagas.get(saga_name) else {
        return Ok(());
    };
    let Some(mut rec) = w.instance(tenant, saga_name, &due.key)? else {
        return Ok(());
    };
    let Some(pos) = rec
        .timers
        .iter()
        .position(|r| r.name == due.timer && r.due_ms == due.due_ms)
    else {
        return Ok(());
    };
    rec.timers.remove(pos);
    let id = format!("timer:{}:{}", due.timer, due.due_ms);
    if w.dedupe(tenant, saga_name, &id)?.is_some() {
        return w.put_instance(tenant, saga_name, &due.key, &rec, false);
    }
    let view = EventView::new(
        tenant,
        saga_name,
        &id,
        &sched.fire,
        &due.key,
        0,
        due.due_ms,
        None,
    );
    let decision = decide(saga.as_ref(), &view, Some(&rec)).and_then(|d| match &d {
        Decision::Apply(tr) => check_commands(tenant, tr).map(|_| d),
        Decision::Ignore => Ok(d),
    });
    match decision {
        Ok(Decision::Apply(tr)) => {
            write_transition(w, ctx, env, saga.as_ref(), &view, Some(rec), tr)?
        }
        Ok(Decision::Ignore) => w.put_instance(tenant, saga_name, &due.key, &rec, false)?,
        Err(reason) => {
            w.put_instance(tenant, saga_name, &due.key, &rec, false)?;
            let body = serde_json::json!({"timer": due.timer, "key": due.key, "fire": sched.fire, "due_ms": due.due_ms});
            let m = Msg {
                seq: 0,
                time_ms: due.due_ms,
                subject: format!("timer.{tenant}.{saga_name}"),
                payload: Bytes::from(body.to_string()),
            };
            let mut why = Rejection::new("apply_failed", reason);
            why.reason = format!(
                "timer '{}' of instance '{}': {}",
                due.timer, due.key, why.reason
            );
            // A timer has no stream sequence: its dead letter's id names the timer instead.
            let msg_id = format!("dlq:timer:{tenant}:{saga_name}:{}:{id}", due.key);
            dead_letter_with_id(w, ctx, env, Some((tenant, saga_name)), &m, &why, msg_id)?;
        }
    }
    mark(
        w,
        tenant,
        saga_name,
        &id,
        0,
        Outcome::TimerFired,
        env.now_ms,
    )?;
    ctx.acc(tenant, saga_name).timers_fired += 1;
    Ok(())
}
