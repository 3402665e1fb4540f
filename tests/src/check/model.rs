//! The reference model: what the runners must have produced from a history, computed
//! sequentially over in-memory maps. It takes the saga file's decisions through the same
//! `Saga` trait the runner uses (the sagas' own semantics have their unit tests) and
//! re-implements, independently of the engine, everything around them: the order of
//! events and timers, checkpoints, dedupe by id and digest, dead letters, the ids of
//! commands, hand-overs with and without state, the three replay modes, a recreated
//! stream.
//!
//! A history is the event stream as stored (every incarnation of it, with the servers'
//! timestamps) and the operations the driver performed, each placed at the stream position
//! the runners reported for it: where a tenant was released and taken, where a replay reset
//! its saga, and the timer watermark each of those fired timers up to. Those are the only
//! choices left to the system; everything else follows from the data.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use serde_json::{Map, Value};
use shared::edge_storage::{
    DedupeRecord, HistoryEntry, InstanceRecord, Outcome, ScheduleRecord, TimerRef, event_digest,
};
use shared::ids::is_valid_id;
use shared::names::msg_id::{self, Cause};
use shared::wire::ReplayMode;

use runner::saga::{Decision, EventView, InstanceView, SagaRegistry, Transition};

/// An event as stored in the stream.
#[derive(Debug, Clone)]
pub struct Event {
    pub seq: u64,
    pub time_ms: u64,
    pub subject: String,
    pub payload: Bytes,
}

/// One incarnation of the event stream.
#[derive(Debug, Clone)]
pub struct Epoch {
    /// Its identity, as the runners name it in dead-letter ids.
    pub stream_id: String,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `shard` serves the tenant from here on, with what it holds of it. `handover`: it
    /// took a claim released at this position (its checkpoints are raised to it); false
    /// for a first placement or a start after a recreated stream.
    Place {
        tenant: String,
        shard: String,
        handover: bool,
    },
    /// The tenant's owner released it; its timers due by `timers_through` fired first.
    Release { tenant: String, timers_through: u64 },
    /// The tenant's state moves from its owner to `to` (after a release).
    Move { tenant: String, to: String },
    /// A replay of the tenant's saga on its owner, reset at this position after its
    /// timers due by `timers_through` fired.
    Replay {
        tenant: String,
        saga: String,
        mode: ReplayMode,
        timers_through: u64,
    },
}

/// An operation at a place in the history: after every event up to `after` of stream
/// incarnation `epoch` (and before the next).
#[derive(Debug, Clone)]
pub struct At {
    pub epoch: usize,
    pub after: u64,
    pub op: Op,
}

#[derive(Debug, Clone, Default)]
pub struct History {
    /// The incarnations of the single stream one after the other; in a partitioned layout
    /// (`layout`), the group streams, epoch `g` being group `g`'s (no stream recreated).
    pub epochs: Vec<Epoch>,
    pub ops: Vec<At>,
    pub shards: Vec<String>,
    /// The partitioned layout the epochs are the groups of; none for the single stream.
    pub layout: Option<shared::layout::Layout>,
}

/// What one volume must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VolumeModel {
    /// (tenant, saga, key)
    pub instances: BTreeMap<(String, String, String), InstanceRecord>,
    /// (tenant, saga, event id)
    pub markers: BTreeMap<(String, String, String), DedupeRecord>,
    /// (tenant, saga, key, timer, due)
    pub timer_marks: BTreeMap<(String, String, String, String, u64), DedupeRecord>,
    /// (tenant, saga, due, key, timer)
    pub schedules: BTreeMap<(String, String, u64, String, String), ScheduleRecord>,
    /// (tenant, saga) -> checkpoint
    checkpoints: BTreeMap<(String, String), u64>,
}

/// A message the system must have published: how many times the model produced it (a
/// replay or a hand-over re-produces with the same id) and every payload it had.
#[derive(Debug, Clone, Default)]
pub struct Emitted {
    pub subject: String,
    pub times: usize,
    pub payloads: BTreeSet<Vec<u8>>,
    /// Dead letters only: the reason code.
    pub code: Option<String>,
    /// Dead-lettered by every shard that reads the event (an event no tenant owns).
    pub per_shard: bool,
    /// Maybe never published: an event no tenant owns, in a group stream that no shard
    /// may have read whole.
    pub optional: bool,
}

#[derive(Debug, Default)]
pub struct Expected {
    pub volumes: BTreeMap<String, VolumeModel>,
    pub commands: BTreeMap<String, Emitted>,
    pub dead_letters: BTreeMap<String, Emitted>,
}

/// Largest event the runners apply (`RUNNER_MAX_EVENT_BYTES`' default).
const MAX_EVENT_BYTES: usize = 256 * 1024;

pub struct Model<'a> {
    sagas: &'a SagaRegistry,
    out: Expected,
    owner: BTreeMap<String, String>,
    stream_id: String,
    layout: Option<shared::layout::Layout>,
    /// The epoch (group, when partitioned) being run.
    group: u16,
}

impl<'a> Model<'a> {
    /// Runs `history` and returns what the runners must have produced.
    pub fn run(sagas: &'a SagaRegistry, history: &History) -> Expected {
        let mut m = Model {
            sagas,
            out: Expected::default(),
            owner: BTreeMap::new(),
            stream_id: String::new(),
            layout: history.layout.clone(),
            group: 0,
        };
        for s in &history.shards {
            m.out.volumes.insert(s.clone(), VolumeModel::default());
        }
        for (e, epoch) in history.epochs.iter().enumerate() {
            m.stream_id = epoch.stream_id.clone();
            m.group = e as u16;
            if e > 0 && m.layout.is_none() {
                // A recreated stream was adopted: every position back to 0.
                for v in m.out.volumes.values_mut() {
                    v.checkpoints.clear();
                }
            }
            let mut ops: Vec<&At> = history.ops.iter().filter(|a| a.epoch == e).collect();
            ops.sort_by_key(|a| a.after); // stable: same position, recorded order
            let mut ops = ops.into_iter().peekable();
            for ev in &epoch.events {
                while let Some(a) = ops.next_if(|a| a.after < ev.seq) {
                    m.op(a, epoch);
                }
                m.deliver(ev, history.shards.len());
            }
            for a in ops {
                m.op(a, epoch);
            }
        }
        m.out
    }

    fn declared(&self) -> Vec<String> {
        self.sagas.names().map(|n| n.to_string()).collect()
    }

    fn op(&mut self, at: &At, epoch: &Epoch) {
        match &at.op {
            Op::Place {
                tenant,
                shard,
                handover,
            } => {
                if *handover {
                    let v = self.out.volumes.entry(shard.clone()).or_default();
                    for s in self.sagas.names() {
                        let cp = v
                            .checkpoints
                            .entry((tenant.clone(), s.to_string()))
                            .or_default();
                        *cp = (*cp).max(at.after);
                    }
                }
                self.owner.insert(tenant.clone(), shard.clone());
            }
            Op::Release {
                tenant,
                timers_through,
            } => {
                if let Some(shard) = self.owner.get(tenant).cloned() {
                    for s in self.declared() {
                        self.fire_due(&shard, tenant, &s, *timers_through);
                    }
                }
            }
            Op::Move { tenant, to } => {
                let Some(from) = self.owner.get(tenant).cloned() else {
                    return;
                };
                let src = self.out.volumes.entry(from).or_default();
                let mut moved = VolumeModel::default();
                let mine = |t: &String| t == tenant;
                src.instances.retain(|k, v| {
                    (!mine(&k.0)) || {
                        moved.instances.insert(k.clone(), v.clone());
                        false
                    }
                });
                src.markers.retain(|k, v| {
                    (!mine(&k.0)) || {
                        moved.markers.insert(k.clone(), *v);
                        false
                    }
                });
                src.timer_marks.retain(|k, v| {
                    (!mine(&k.0)) || {
                        moved.timer_marks.insert(k.clone(), *v);
                        false
                    }
                });
                src.schedules.retain(|k, v| {
                    (!mine(&k.0)) || {
                        moved.schedules.insert(k.clone(), v.clone());
                        false
                    }
                });
                src.checkpoints.retain(|k, v| {
                    (!mine(&k.0)) || {
                        moved.checkpoints.insert(k.clone(), *v);
                        false
                    }
                });
                let dst = self.out.volumes.entry(to.clone()).or_default();
                dst.instances.extend(moved.instances);
                dst.markers.extend(moved.markers);
                dst.timer_marks.extend(moved.timer_marks);
                dst.schedules.extend(moved.schedules);
                dst.checkpoints.extend(moved.checkpoints);
                self.owner.insert(tenant.clone(), to.clone());
            }
            Op::Replay {
                tenant,
                saga,
                mode,
                timers_through,
            } => {
                let Some(shard) = self.owner.get(tenant).cloned() else {
                    return;
                };
                for s in self.declared() {
                    self.fire_due(&shard, tenant, &s, *timers_through);
                }
                let v = self.out.volumes.entry(shard.clone()).or_default();
                let ts = |k: &(String, String)| &k.0 == tenant && &k.1 == saga;
                v.checkpoints.retain(|k, _| !ts(k));
                if *mode != ReplayMode::CheckpointOnly {
                    v.markers.retain(|k, _| !(&k.0 == tenant && &k.1 == saga));
                    v.timer_marks
                        .retain(|k, _| !(&k.0 == tenant && &k.1 == saga));
                }
                if *mode == ReplayMode::FullReset {
                    v.instances.retain(|k, _| !(&k.0 == tenant && &k.1 == saga));
                    v.schedules.retain(|k, _| !(&k.0 == tenant && &k.1 == saga));
                }
                // The re-read: every retained event of the tenant up to here, in order, on
                // a reader of its own (other sagas are skipped by their checkpoints).
                let events: Vec<Event> = epoch
                    .events
                    .iter()
                    .filter(|e| e.seq <= at.after && self.split(e).0 == Some(tenant.as_str()))
                    .cloned()
                    .collect();
                for e in &events {
                    if let (Some(_), Some(s)) = self.split(e)
                        && is_valid_id(s)
                    {
                        self.apply_event(&shard, tenant, s, e);
                    }
                }
            }
        }
    }

    /// An event read by the main readers.
    /// The tenant and saga tokens of an event of the current epoch (none: not of the form
    /// of its stream's subjects).
    fn split<'e>(&self, ev: &'e Event) -> (Option<&'e str>, Option<&'e str>) {
        let parsed = match &self.layout {
            Some(l) => l.split(self.group, &ev.subject).ok(),
            None => shared::names::split_event_subject(&ev.subject),
        };
        match parsed {
            Some((t, s)) => (Some(t), Some(s)),
            None => (None, None),
        }
    }

    fn deliver(&mut self, ev: &Event, shards: usize) {
        let (Some(t), Some(s)) = self.split(ev) else {
            self.dead_letter_invalid(ev, shards);
            return;
        };
        if !is_valid_id(t) {
            self.dead_letter_invalid(ev, shards);
            return;
        }
        let Some(shard) = self.owner.get(t).cloned() else {
            return;
        };
        if !is_valid_id(s) {
            // The owner dead-letters it (no tenant+saga to count it under).
            let id = msg_id::event_dead_letter(&self.stream_id, ev.seq);
            self.emit_dead_letter(
                id,
                "dlq.invalid-subject",
                "invalid_subject",
                &ev.payload,
                false,
            );
            return;
        }
        self.apply_event(&shard, t, s, ev);
    }

    fn dead_letter_invalid(&mut self, ev: &Event, shards: usize) {
        let _ = shards;
        let id = msg_id::event_dead_letter(&self.stream_id, ev.seq);
        self.emit_dead_letter(
            id.clone(),
            "dlq.invalid-subject",
            "invalid_subject",
            &ev.payload,
            true,
        );
        if self.layout.is_some()
            && let Some(e) = self.out.dead_letters.get_mut(&id)
        {
            e.optional = true;
        }
    }

    fn emit_dead_letter(
        &mut self,
        id: String,
        subject: &str,
        code: &str,
        payload: &[u8],
        per_shard: bool,
    ) {
        let e = self.out.dead_letters.entry(id).or_default();
        e.subject = subject.to_string();
        e.times += 1;
        e.payloads.insert(payload.to_vec());
        e.code = Some(code.to_string());
        e.per_shard |= per_shard;
    }

    fn dead_letter(&mut self, t: &str, s: &str, ev: &Event, code: &str) {
        let id = msg_id::event_dead_letter(&self.stream_id, ev.seq);
        let payload = ev.payload.clone();
        self.emit_dead_letter(id, &format!("dlq.{t}.{s}"), code, &payload, false);
    }

    fn vol(&mut self, shard: &str) -> &mut VolumeModel {
        self.out.volumes.entry(shard.to_string()).or_default()
    }

    /// One event of an owned tenant, as `engine::apply::apply_event` must handle it.
    fn apply_event(&mut self, shard: &str, t: &str, s: &str, ev: &Event) {
        let key = (t.to_string(), s.to_string());
        let cp = self.vol(shard).checkpoints.get(&key).copied().unwrap_or(0);
        if ev.seq <= cp {
            return;
        }
        self.vol(shard).checkpoints.insert(key, ev.seq);
        let Some(saga) = self.sagas.get(s).cloned() else {
            self.dead_letter(t, s, ev, "unknown_saga");
            return;
        };
        self.fire_due(shard, t, s, ev.time_ms);
        let env = match runner::envelope::parse(&ev.payload, MAX_EVENT_BYTES) {
            Ok(e) => e,
            Err(why) => {
                self.dead_letter(t, s, ev, why.code);
                return;
            }
        };
        let digest = event_digest(
            &env.event_type,
            &env.key,
            env.data.map(|d| d.get().as_bytes()).unwrap_or_default(),
        );
        let mk = (t.to_string(), s.to_string(), env.id.to_string());
        if let Some(first) = self.vol(shard).markers.get(&mk).copied() {
            if first.digest != 0 && first.digest != digest {
                self.dead_letter(t, s, ev, "conflicting_duplicate");
            }
            return;
        }
        let ik = (t.to_string(), s.to_string(), env.key.to_string());
        let rec = self.vol(shard).instances.get(&ik).cloned();
        let view = EventView::new(
            t,
            s,
            &env.id,
            &env.event_type,
            &env.key,
            ev.seq,
            ev.time_ms,
            env.data,
        );
        let marker = |outcome| DedupeRecord {
            seq: ev.seq,
            at_ms: ev.time_ms,
            outcome,
            digest,
        };
        match decide(saga.as_ref(), &view, rec.as_ref()) {
            Err(_) => self.dead_letter(t, s, ev, "apply_failed"),
            Ok(Decision::Ignore) => {
                self.vol(shard).markers.insert(mk, marker(Outcome::Ignored));
            }
            Ok(Decision::Apply(tr)) => {
                self.write_transition(
                    shard,
                    saga.as_ref(),
                    &view,
                    Cause::Event(&env.id),
                    ev.seq,
                    rec,
                    tr,
                );
                self.vol(shard).markers.insert(mk, marker(Outcome::Applied));
            }
        }
    }

    /// Fires the timers of `t`/`s` on `shard` due by `upto`, earliest first, and those they
    /// arm that are due by then too.
    fn fire_due(&mut self, shard: &str, t: &str, s: &str, upto: u64) {
        loop {
            let next = self
                .vol(shard)
                .schedules
                .range(
                    (
                        t.to_string(),
                        s.to_string(),
                        0,
                        String::new(),
                        String::new(),
                    )..,
                )
                .next()
                .filter(|(k, _)| k.0 == t && k.1 == s && k.2 <= upto)
                .map(|(k, v)| (k.clone(), v.clone()));
            let Some((k, sched)) = next else { return };
            self.fire_timer(shard, k, sched);
        }
    }

    fn fire_timer(
        &mut self,
        shard: &str,
        k: (String, String, u64, String, String),
        sched: ScheduleRecord,
    ) {
        let (t, s, due, key, timer) = k.clone();
        self.vol(shard).schedules.remove(&k);
        let Some(saga) = self.sagas.get(&s).cloned() else {
            return;
        };
        let ik = (t.clone(), s.clone(), key.clone());
        let Some(mut rec) = self.vol(shard).instances.get(&ik).cloned() else {
            return;
        };
        let Some(pos) = rec
            .timers
            .iter()
            .position(|r| r.name == timer && r.due_ms == due)
        else {
            return;
        };
        rec.timers.remove(pos);
        let tk = (t.clone(), s.clone(), key.clone(), timer.clone(), due);
        if self.vol(shard).timer_marks.contains_key(&tk) {
            self.vol(shard).instances.insert(ik, rec);
            return;
        }
        let view_id = format!("timer:{timer}:{due}");
        let view = EventView::new(&t, &s, &view_id, &sched.fire, &key, 0, due, None);
        let cause = Cause::Timer {
            key: &key,
            timer: &timer,
            due_ms: due,
        };
        match decide(saga.as_ref(), &view, Some(&rec)) {
            Ok(Decision::Apply(tr)) => self.write_transition(
                shard,
                saga.as_ref(),
                &view,
                cause,
                sched.cause_seq,
                Some(rec),
                tr,
            ),
            Ok(Decision::Ignore) => {
                self.vol(shard).instances.insert(ik, rec);
            }
            Err(_) => {
                self.vol(shard).instances.insert(ik, rec);
                let id = msg_id::timer_dead_letter(&t, &s, &key, &timer, due);
                let body = serde_json::json!({"timer": timer, "key": key, "fire": sched.fire, "due_ms": due});
                let subject = format!("dlq.{t}.{s}");
                self.emit_dead_letter(
                    id,
                    &subject,
                    "apply_failed",
                    body.to_string().as_bytes(),
                    false,
                );
            }
        }
        self.vol(shard).timer_marks.insert(
            tk,
            DedupeRecord {
                seq: sched.cause_seq,
                at_ms: due,
                outcome: Outcome::TimerFired,
                digest: 0,
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn write_transition(
        &mut self,
        shard: &str,
        saga: &dyn runner::saga::Saga,
        ev: &EventView<'_>,
        cause: Cause<'_>,
        cause_seq: u64,
        rec: Option<InstanceRecord>,
        tr: Transition,
    ) {
        let (t, s, key) = (ev.tenant, ev.saga, ev.key);
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
        let v = self.vol(shard);
        for name in tr.cancel.iter().chain(tr.arm.iter().map(|a| &a.name)) {
            if let Some(pos) = rec.timers.iter().position(|r| &r.name == name) {
                let old = rec.timers.remove(pos);
                v.schedules.remove(&(
                    t.to_string(),
                    s.to_string(),
                    old.due_ms,
                    key.to_string(),
                    old.name,
                ));
            }
        }
        for a in &tr.arm {
            v.schedules.insert(
                (
                    t.to_string(),
                    s.to_string(),
                    a.due_ms,
                    key.to_string(),
                    a.name.clone(),
                ),
                ScheduleRecord {
                    fire: a.fire.clone(),
                    armed_at_ms: ev.time_ms,
                    armed_by: ev.id.to_string(),
                    cause_seq,
                },
            );
            rec.timers.push(TimerRef {
                name: a.name.clone(),
                due_ms: a.due_ms,
            });
        }
        for (i, c) in tr.commands.into_iter().enumerate() {
            let e = self
                .out
                .commands
                .entry(msg_id::command(t, s, cause, i))
                .or_default();
            e.subject = c.subject;
            e.times += 1;
            e.payloads.insert(c.payload);
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
        self.vol(shard)
            .instances
            .insert((t.to_string(), s.to_string(), key.to_string()), rec);
    }
}

fn decide(
    saga: &dyn runner::saga::Saga,
    ev: &EventView<'_>,
    rec: Option<&InstanceRecord>,
) -> Result<Decision, String> {
    let data: Map<String, Value> = rec
        .and_then(|r| serde_json::from_str(&r.data).ok())
        .unwrap_or_default();
    let view = InstanceView {
        exists: rec.is_some(),
        state: rec
            .map(|r| r.state.as_str())
            .unwrap_or(saga.initial_state()),
        version: rec.map(|r| r.version).unwrap_or(0),
        data: &data,
        timers: rec.map(|r| r.timers.as_slice()).unwrap_or(&[]),
    };
    let d = saga.handle(ev, &view)?;
    if let Decision::Apply(tr) = &d {
        let prefix = format!("cmd.{}.", ev.tenant);
        for c in &tr.commands {
            if !c.subject.starts_with(&prefix) {
                return Err(format!(
                    "command subject '{}' outside '{prefix}>'",
                    c.subject
                ));
            }
            shared::names::check_publish_subject(&c.subject)?;
        }
    }
    Ok(d)
}
