//! What one event (or one fired timer) does inside a batch's write transaction: the
//! checkpoint and dedupe checks, the saga's decision, and every write it implies. Nothing
//! here commits; the batch commits once, or not at all.

use foldhash::{HashMap, HashMapExt};

use bytes::Bytes;
use serde_json::{Map, Value};
use shared::edge_storage::{
    DedupeRecord, DueTimer, HistoryEntry, InstanceRecord, OutboxEntry, OutboxKind, Outcome,
    ScheduleRecord, StorageError, TimerRef, Writer, event_digest,
};
use shared::names::msg_id::{self, Cause};
use shared::names::{self, headers};

use crate::envelope::{self, Rejection};
use crate::metrics::outcome;
use crate::saga::{Decision, EventView, InstanceView, Saga, SagaRegistry, Transition};

/// An event as read from the stream.
#[derive(Debug, Clone)]
pub struct Msg {
    /// The group whose stream it was read from (0 in the single layout).
    pub group: shared::layout::Group,
    pub seq: u64,
    /// When the server stored it, ms since the epoch.
    pub time_ms: u64,
    pub subject: String,
    pub payload: Bytes,
}

impl crate::inflight::Costed for Msg {
    fn cost_bytes(&self) -> usize {
        self.payload.len() + self.subject.len() + 64
    }
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
    /// Commands and dead letters not written because the volume's restore guard says the
    /// lost volume published them already.
    pub suppressed: u64,
    /// Stream times of the events applied, for the latency histogram.
    pub applied_times: Vec<u64>,
    /// Earliest pending timer per tenant+saga as this batch left it (`u64::MAX`: none);
    /// merged into the engine's [`TimerFloors`] once the batch commits.
    pub floors: HashMap<String, HashMap<String, u64>>,
    /// Timers fired by this batch.
    pub timers_fired: usize,
    /// Per tenant, the latest due time of a timer fired, as `meta::fired_through` holds it
    /// (read once per batch).
    fired_through: HashMap<String, u64>,
    /// The reason code of each event or timer this batch dead-lettered.
    pub dead_letter_codes: Vec<&'static str>,
    /// How late each timer this batch fired was (wall clock at the batch against its due
    /// time, ms).
    pub timer_delays_ms: Vec<u64>,
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

    fn floor(&self, floors: &TimerFloors, tenant: &str, saga: &str) -> Option<u64> {
        self.floors
            .get(tenant)
            .and_then(|p| p.get(saga))
            .copied()
            .or_else(|| floors.get(tenant, saga))
    }

    fn set_floor(&mut self, tenant: &str, saga: &str, due: u64) {
        if !self.floors.contains_key(tenant) {
            self.floors.insert(tenant.to_string(), HashMap::new());
        }
        let per = self.floors.get_mut(tenant).expect("inserted");
        match per.get_mut(saga) {
            Some(f) => *f = due,
            None => {
                per.insert(saga.to_string(), due);
            }
        }
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

/// The earliest pending timer of each tenant+saga the engine serves, so that the apply path
/// looks for due timers only when one can be due (one B-tree seek otherwise saved per event).
/// Absent: not known yet (the next look seeks); `u64::MAX`: none pending.
#[derive(Debug, Default)]
pub struct TimerFloors {
    map: HashMap<String, HashMap<String, u64>>,
}

impl TimerFloors {
    pub fn get(&self, tenant: &str, saga: &str) -> Option<u64> {
        self.map.get(tenant).and_then(|p| p.get(saga)).copied()
    }

    /// Takes what a committed batch learned.
    pub fn merge(&mut self, from: HashMap<String, HashMap<String, u64>>) {
        for (t, per) in from {
            self.map.entry(t).or_default().extend(per);
        }
    }

    /// Forgets a tenant (acquired, released, reset): the next look seeks.
    pub fn forget(&mut self, tenant: &str) {
        self.map.remove(tenant);
    }

    /// Whether a tenant may have a timer pending in one of `sagas` (unknown counts as may).
    pub fn may_have_timers<'s>(
        &self,
        tenant: &str,
        mut sagas: impl Iterator<Item = &'s str>,
    ) -> bool {
        sagas.any(|s| self.get(tenant, s).is_none_or(|f| f != u64::MAX))
    }

    /// Forgets one tenant+saga.
    pub fn forget_saga(&mut self, tenant: &str, saga: &str) {
        if let Some(p) = self.map.get_mut(tenant) {
            p.remove(saga);
        }
    }
}

/// Settings the apply step needs.
pub struct ApplyEnv<'a> {
    pub sagas: &'a SagaRegistry,
    pub layout: &'a shared::layout::Layout,
    /// Each group's stream identity (`names::msg_id::stream_identity`), by group, for
    /// dead-letter ids.
    pub stream_ids: &'a [String],
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
    let stream_id = env
        .stream_ids
        .get(m.group as usize)
        .map(String::as_str)
        .unwrap_or_default();
    let msg_id = msg_id::event_dead_letter(stream_id, m.seq);
    dead_letter_with_id(w, ctx, env, owner, m, why, msg_id, m.seq)
}

#[allow(clippy::too_many_arguments)]
fn dead_letter_with_id(
    w: &mut Writer<'_>,
    ctx: &mut BatchCtx,
    env: &ApplyEnv<'_>,
    owner: Option<(&str, &str)>,
    m: &Msg,
    why: &Rejection,
    msg_id: String,
    cause_seq: u64,
) -> Result<(), StorageError> {
    let (tenant, saga, subject) = match owner {
        Some((t, s)) => (t, s, names::dlq_subject(t, s)),
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
        hdrs.push((
            headers::DLQ_TRUNCATED.to_string(),
            m.payload.len().to_string(),
        ));
        m.payload[..env.max_event_bytes.min(64 * 1024)].to_vec()
    } else {
        m.payload.to_vec()
    };
    if w.push_outbox(&OutboxEntry {
        kind: OutboxKind::DeadLetter,
        subject,
        msg_id,
        headers: hdrs,
        payload,
        tenant: tenant.to_string(),
        saga: saga.to_string(),
        created_at_ms: env.now_ms,
        cause_seq,
    })? {
        ctx.outbox_added += 1;
    } else {
        ctx.suppressed += 1;
    }
    ctx.dead_letter_codes.push(why.code);
    if owner.is_some() {
        ctx.count(tenant, saga, outcome::DEAD_LETTERED);
    } else {
        ctx.invalid_subjects += 1;
    }
    Ok(())
}

/// Most timers fired ahead of one event (a saga in code that re-arms a timer due at once,
/// forever, must not hang the engine; the rest fire on later looks).
const MAX_TIMERS_BEFORE_EVENT: usize = 100_000;

/// Applies one event of `tenant`/`saga` (a valid subject of an owned tenant).
///
/// Timers first: every timer of the tenant+saga due at or before the event's stream time
/// fires before the event is handled (see [`fire_due`]), so that a timer's place among the
/// events is fixed by the data, the same live and in any rebuild.
pub fn apply_event(
    w: &mut Writer<'_>,
    ctx: &mut BatchCtx,
    env: &ApplyEnv<'_>,
    floors: &TimerFloors,
    tenant: &str,
    saga_name: &str,
    m: &Msg,
) -> Result<(), StorageError> {
    let checkpoint = match ctx.acc(tenant, saga_name).checkpoint {
        Some(v) => v,
        None => w.checkpoint(tenant, saga_name)?.map(|c| c.seq).unwrap_or(0),
    };
    if m.seq <= checkpoint {
        ctx.count(tenant, saga_name, outcome::SKIPPED);
        return Ok(());
    }
    ctx.acc(tenant, saga_name).checkpoint = Some(m.seq);
    // Past the checkpoint first, so an event of an undeclared saga is dead-lettered once
    // per shard, not again on every re-read (a catch-up, a replay of another saga).
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
    fire_due(
        w,
        ctx,
        env,
        floors,
        tenant,
        saga_name,
        m.time_ms,
        MAX_TIMERS_BEFORE_EVENT,
    )?;
    let ev = match envelope::parse(&m.payload, env.max_event_bytes) {
        Ok(e) => e,
        Err(why) => return dead_letter(w, ctx, env, Some((tenant, saga_name)), m, &why),
    };
    let digest = event_digest(
        &ev.event_type,
        &ev.key,
        ev.data.map(|d| d.get().as_bytes()).unwrap_or_default(),
    );
    // Claim the event id: the marker is written now (as applied) and corrected below if the
    // event turns out ignored or dead-lettered; the transaction makes that invisible.
    let claimed = DedupeRecord {
        seq: m.seq,
        at_ms: m.time_ms,
        outcome: Outcome::Applied,
        digest,
    };
    if !w.insert_dedupe(tenant, saga_name, &ev.id, &claimed)? {
        let first = w.dedupe(tenant, saga_name, &ev.id)?;
        if let Some(first) = first.filter(|f| f.digest != 0 && f.digest != digest) {
            let why = Rejection::new(
                "conflicting_duplicate",
                format!(
                    "event id '{}' was handled before (stream sequence {}) with another type, key or data; ids must be unique per tenant and saga, so this event is not applied",
                    ev.id, first.seq
                ),
            );
            return dead_letter(w, ctx, env, Some((tenant, saga_name)), m, &why);
        }
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
            let cause = Cause::Event(&ev.id);
            write_transition(w, ctx, env, saga.as_ref(), &view, cause, m.seq, rec, tr)?;
            ctx.count(tenant, saga_name, outcome::APPLIED);
            ctx.applied_times.push(m.time_ms);
            Ok(())
        }
    }
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
    for c in &tr.commands {
        if !names::is_tenant_command(&c.subject, tenant) {
            return Err(format!(
                "command subject '{}' is outside the tenant's '{}'",
                c.subject,
                names::tenant_command_filter(tenant)
            ));
        }
        names::check_publish_subject(&c.subject)?;
    }
    Ok(())
}

/// Writes the instance, its timers and its commands for an applied transition. `cause`
/// names what caused it (the ids of its commands derive from it) and `cause_seq` the stream
/// sequence it goes back to. Times come from the data (the event's stream time, or the
/// timer's due time), never from the clock, so a rebuild writes the same records.
#[allow(clippy::too_many_arguments)]
fn write_transition(
    w: &mut Writer<'_>,
    ctx: &mut BatchCtx,
    env: &ApplyEnv<'_>,
    saga: &dyn Saga,
    ev: &EventView<'_>,
    cause: Cause<'_>,
    cause_seq: u64,
    rec: Option<InstanceRecord>,
    tr: Transition,
) -> Result<(), StorageError> {
    let (t, s, key) = (ev.tenant, ev.saga, ev.key);
    let is_new = rec.is_none();
    let mut rec = rec.unwrap_or_else(|| InstanceRecord {
        state: saga.initial_state().to_string(),
        version: 0,
        created_at_ms: ev.time_ms,
        updated_at_ms: ev.time_ms,
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
                armed_at_ms: ev.time_ms,
                armed_by: ev.id.to_string(),
                cause_seq,
            },
        )?;
        rec.timers.push(TimerRef {
            name: a.name.clone(),
            due_ms: a.due_ms,
        });
        // Lower the tenant+saga's floor; where this batch has not looked yet, make the next
        // look seek (0), since an earlier timer may be pending.
        match ctx.floors.get(t).and_then(|p| p.get(s)).copied() {
            Some(f) if a.due_ms < f => ctx.set_floor(t, s, a.due_ms),
            Some(_) => {}
            None => ctx.set_floor(t, s, 0),
        }
    }
    let (event_id, timer) = match cause {
        Cause::Event(id) => (Some(id), None),
        Cause::Timer { timer, .. } => (None, Some(timer)),
    };
    for (i, c) in tr.commands.into_iter().enumerate() {
        let mut hdrs = vec![(headers::INSTANCE.to_string(), key.to_string())];
        if let Some(id) = event_id {
            hdrs.push((headers::EVENT_ID.to_string(), id.to_string()));
        }
        if let Some(tm) = timer {
            hdrs.push((headers::TIMER.to_string(), tm.to_string()));
        }
        if w.push_outbox(&OutboxEntry {
            kind: OutboxKind::Command,
            subject: c.subject,
            msg_id: msg_id::command(t, s, cause, i),
            headers: hdrs,
            payload: c.payload,
            tenant: t.to_string(),
            saga: s.to_string(),
            created_at_ms: env.now_ms,
            cause_seq,
        })? {
            ctx.outbox_added += 1;
        } else {
            ctx.suppressed += 1;
        }
    }
    let from = std::mem::replace(&mut rec.state, tr.to);
    rec.version += 1;
    rec.updated_at_ms = ev.time_ms;
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
            at_ms: ev.time_ms,
        });
        let excess = rec.history.len().saturating_sub(limit);
        rec.history.drain(..excess);
    }
    w.put_instance(t, s, key, &rec, is_new)
}

/// Fires the timers of `tenant`/`saga` due at or before `upto` (ms, stream time), earliest
/// first, at most `budget`; returns how many fired. Timers armed by what fires are fired
/// too when they are due by `upto`. Looks at the volume only when the tenant+saga's floor
/// says a timer can be due.
///
/// When a timer fires, by definition: after every event of its tenant+saga stored before
/// its due time and before every event stored at or after it (docs/sagas.md, "Timers").
#[allow(clippy::too_many_arguments)]
pub fn fire_due(
    w: &mut Writer<'_>,
    ctx: &mut BatchCtx,
    env: &ApplyEnv<'_>,
    floors: &TimerFloors,
    tenant: &str,
    saga: &str,
    upto: u64,
    budget: usize,
) -> Result<usize, StorageError> {
    let mut fired = 0;
    while fired < budget {
        if ctx.floor(floors, tenant, saga).is_some_and(|f| f > upto) {
            break;
        }
        let due = w.due_timers(tenant, saga, upto, (budget - fired).min(1000))?;
        let got = due.len();
        for (d, rec) in due {
            fire_timer(w, ctx, env, tenant, saga, &d, &rec)?;
            fired += 1;
        }
        let next = w.next_timer(tenant, saga)?.map(|(d, _)| d);
        ctx.set_floor(tenant, saga, next.unwrap_or(u64::MAX));
        if got == 0 {
            break;
        }
    }
    ctx.timers_fired += fired;
    Ok(fired)
}

/// Keeps `meta::fired_through` of `tenant` at the latest due time fired.
fn note_fired(
    w: &mut Writer<'_>,
    ctx: &mut BatchCtx,
    tenant: &str,
    due_ms: u64,
) -> Result<(), StorageError> {
    let name = shared::edge_storage::meta::fired_through(tenant);
    let known = match ctx.fired_through.get(tenant) {
        Some(v) => *v,
        None => w.meta_u64(&name)?.unwrap_or(0),
    };
    if due_ms > known {
        w.set_meta_u64(&name, due_ms)?;
    }
    ctx.fired_through
        .insert(tenant.to_string(), known.max(due_ms));
    Ok(())
}

/// Fires one due timer of `tenant`/`saga`.
fn fire_timer(
    w: &mut Writer<'_>,
    ctx: &mut BatchCtx,
    env: &ApplyEnv<'_>,
    tenant: &str,
    saga_name: &str,
    due: &DueTimer,
    sched: &ScheduleRecord,
) -> Result<(), StorageError> {
    w.delete_schedule(tenant, saga_name, due.due_ms, &due.key, &due.timer)?;
    note_fired(w, ctx, tenant, due.due_ms)?;
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
    if w.timer_marker(tenant, saga_name, &due.key, &due.timer, due.due_ms)?
        .is_some()
    {
        return w.put_instance(tenant, saga_name, &due.key, &rec, false);
    }
    // What the saga (and its templates) see as the event id of a timer.
    let view_id = format!("timer:{}:{}", due.timer, due.due_ms);
    let view = EventView::new(
        tenant,
        saga_name,
        &view_id,
        &sched.fire,
        &due.key,
        0,
        due.due_ms,
        None,
    );
    let cause = Cause::Timer {
        key: &due.key,
        timer: &due.timer,
        due_ms: due.due_ms,
    };
    let decision = decide(saga.as_ref(), &view, Some(&rec)).and_then(|d| match &d {
        Decision::Apply(tr) => check_commands(tenant, tr).map(|_| d),
        Decision::Ignore => Ok(d),
    });
    match decision {
        Ok(Decision::Apply(tr)) => write_transition(
            w,
            ctx,
            env,
            saga.as_ref(),
            &view,
            cause,
            sched.cause_seq,
            Some(rec),
            tr,
        )?,
        Ok(Decision::Ignore) => w.put_instance(tenant, saga_name, &due.key, &rec, false)?,
        Err(reason) => {
            w.put_instance(tenant, saga_name, &due.key, &rec, false)?;
            let body = serde_json::json!({"timer": due.timer, "key": due.key, "fire": sched.fire, "due_ms": due.due_ms});
            let m = Msg {
                group: env.layout.group_of(tenant),
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
            let id = msg_id::timer_dead_letter(tenant, saga_name, &due.key, &due.timer, due.due_ms);
            dead_letter_with_id(
                w,
                ctx,
                env,
                Some((tenant, saga_name)),
                &m,
                &why,
                id,
                sched.cause_seq,
            )?;
        }
    }
    w.put_timer_marker(
        tenant,
        saga_name,
        &due.key,
        &due.timer,
        due.due_ms,
        &DedupeRecord {
            seq: sched.cause_seq,
            at_ms: due.due_ms,
            outcome: Outcome::TimerFired,
            digest: 0,
        },
    )?;
    ctx.acc(tenant, saga_name).timers_fired += 1;
    ctx.timer_delays_ms
        .push(env.now_ms.saturating_sub(due.due_ms));
    Ok(())
}
