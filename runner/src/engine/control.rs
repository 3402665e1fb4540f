//! Drain and replay inside the engine.
//!
//! Drain: [`Engine::pause`] stops every reader and holds timers; batches already read are
//! still applied (they arrive before the reply is used), and published outbox entries are
//! still deleted. [`Engine::resume`] restarts each reader where its position stands.
//!
//! Replay: one transaction deletes what the mode says for the tenant+saga and moves the
//! tenant's cursor back to just before the first retained event of `evt.<tenant>.<saga>`;
//! the tenant then catches up on a reader of its own (its live events queue meanwhile) and
//! goes back to the main reader through the usual hand-over, so nothing is lost, reordered
//! or applied twice. Events of the tenant's other sagas are re-read too and skipped by
//! their checkpoints.

use shared::edge_storage::{CursorMode, TableCode, TenantCursor};
use shared::ids::TenantId;
use shared::wire::ReplayState;
use shared::wire::{ReplayDeletes, ReplayMode, ReplayStatus};
use tracing::info;

use super::apply::BatchCtx;
use super::{Engine, Msg, ReaderCmd, Slot};
use crate::state::ReaderId;

/// Finished replays kept for `GET /admin/replay/<id>`.
const KEEP_FINISHED: usize = 100;

/// A replay to start, checked by the admin API first.
#[derive(Debug, Clone)]
pub struct ReplayOrder {
    pub id: String,
    pub tenant: TenantId,
    pub saga: String,
    pub mode: ReplayMode,
    /// First retained sequence of `evt.<tenant>.<saga>`; none when the stream holds no
    /// event of it (the reset alone is done).
    pub first_seq: Option<u64>,
    pub target_seq: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayRefusal {
    /// The tenant is not served by this runner (any more).
    NotServed,
    /// A replay of the same tenant+saga is running: its id.
    Running(String),
    /// The runner is draining or stopping.
    Stopping,
}

pub struct ActiveReplay {
    pub status: ReplayStatus,
}

impl ActiveReplay {
    fn running(&self) -> bool {
        self.status.state == ReplayState::Running
    }
}

impl Engine {
    /// Sends a reader order, except starts while paused (resume starts them).
    pub(super) fn send_reader(&self, cmd: ReaderCmd) {
        if self.paused && matches!(cmd, ReaderCmd::Start { .. }) {
            return;
        }
        let _ = self.readers.send(cmd);
    }

    pub(super) fn pause(&mut self) {
        if self.paused {
            return;
        }
        self.paused = true;
        for g in self.cfg.layout.groups() {
            if self.groups[g as usize].whole {
                let _ = self.readers.send(ReaderCmd::Stop(ReaderId::Group(g)));
            }
        }
        for lane in self.lanes.keys() {
            let _ = self.readers.send(ReaderCmd::Stop(ReaderId::Lane(*lane)));
        }
        // Entries published before the pause wait for a transaction to be deleted: no batch
        // will come to carry them, and the drain waits for the outbox to be empty.
        if !self.pending_deletes.is_empty() {
            self.commit(|_, _| Ok(()));
        }
        info!(
            lanes = self.lanes.len(),
            "paused: readers stopped, timers held"
        );
        self.publish_replays();
    }

    pub(super) fn resume(&mut self) {
        if !self.paused {
            return;
        }
        self.paused = false;
        if self.main_started {
            for g in self.cfg.layout.groups() {
                if self.groups[g as usize].whole {
                    self.start_group_reader(g);
                }
            }
        }
        for (t, slot) in &self.tenants {
            if let Slot::CatchingUp(cu) = slot {
                self.send_reader(ReaderCmd::Start {
                    reader: ReaderId::Lane(cu.lane),
                    group: self.group_of(t.as_str()),
                    tenant: Some(t.clone()),
                    start_seq: cu.last + 1,
                    confirm: cu.solo,
                });
            }
        }
        info!(positions = ?self.positions(), "resumed");
        self.publish_replays();
    }

    pub(super) fn replay(&mut self, o: ReplayOrder) -> Result<ReplayStatus, ReplayRefusal> {
        if self.paused {
            return Err(ReplayRefusal::Stopping);
        }
        if let Some(r) = self.replays.iter().find(|r| {
            r.running() && r.status.tenant_id == o.tenant.as_str() && r.status.saga_name == o.saga
        }) {
            return Err(ReplayRefusal::Running(r.status.replay_id.clone()));
        }
        if !self.tenants.contains_key(&o.tenant) {
            return Err(ReplayRefusal::NotServed);
        }
        // Timers due by now fire before the reset, so what it deletes does not depend on
        // when the last watermark pass ran.
        let timers_through = self
            .fire_due_of(std::slice::from_ref(&o.tenant))
            .get(&o.tenant)
            .copied()
            .unwrap_or(0);
        let last = match self.tenants.get(&o.tenant) {
            None => return Err(ReplayRefusal::NotServed),
            Some(Slot::Live) => self.live_pos(o.tenant.as_str()),
            Some(Slot::CatchingUp(cu)) => cu.position(),
        };
        // The re-read restarts just before the first retained event; if the tenant's reader
        // is not past it yet, nothing needs re-reading.
        let restart = o.first_seq.map(|f| f - 1).filter(|r| *r < last);
        let (t, s, mode) = (o.tenant.as_str(), o.saga.as_str(), o.mode);
        let deleted = self.commit(|w, env| {
            let mut d = ReplayDeletes {
                checkpoints: w.clear_saga(t, s, TableCode::Checkpoints)?,
                ..Default::default()
            };
            if mode != ReplayMode::CheckpointOnly {
                d.dedupe = w.clear_saga(t, s, TableCode::Dedupe)?;
            }
            if mode == ReplayMode::FullReset {
                d.instances = w.clear_saga(t, s, TableCode::Sagas)?;
                d.outbox = w.clear_saga(t, s, TableCode::Outbox)?;
                d.timers = w.clear_saga(t, s, TableCode::Schedules)?;
            }
            if let Some(seq) = restart {
                w.set_cursor(
                    t,
                    &TenantCursor {
                        mode: CursorMode::CatchingUp,
                        seq,
                        updated_at_ms: env.now_ms,
                    },
                )?;
                // The tenant's position stays where it was while the re-read catches up.
                w.set_meta_u64(&shared::edge_storage::meta::replay_floor(t), last)?;
            }
            Ok(d)
        });
        let Some(deleted) = deleted else {
            return Err(ReplayRefusal::Stopping);
        };
        self.floors.forget_saga(t, s);
        info!(tenant = %o.tenant, saga = %o.saga, mode = mode.as_str(), replay = %o.id, ?deleted, from_seq = ?restart.map(|r| r + 1), "replay: reset committed, re-reading");
        if let Some(seq) = restart {
            match self.tenants.get_mut(&o.tenant) {
                Some(Slot::CatchingUp(cu)) => {
                    // Already on a reader of its own: restart that reader earlier, keeping
                    // the queue of live events (the checkpoints skip what it re-delivers).
                    let old = cu.lane;
                    let lane = self.next_lane;
                    self.next_lane += 1;
                    cu.lane = lane;
                    cu.last = seq;
                    cu.floor = last;
                    let confirm = cu.solo;
                    self.lanes.remove(&old);
                    self.lanes.insert(lane, o.tenant.clone());
                    let _ = self.readers.send(ReaderCmd::Stop(ReaderId::Lane(old)));
                    let group = self.group_of(o.tenant.as_str());
                    self.send_reader(ReaderCmd::Start {
                        reader: ReaderId::Lane(lane),
                        group,
                        tenant: Some(o.tenant.clone()),
                        start_seq: seq + 1,
                        confirm,
                    });
                }
                _ => self.start_catch_up(o.tenant.clone(), seq, last),
            }
        }
        let now = shared::now_ms();
        let done = restart.is_none();
        let status = ReplayStatus {
            replay_id: o.id,
            tenant_id: o.tenant.to_string(),
            saga_name: o.saga,
            mode,
            state: if done {
                ReplayState::Completed
            } else {
                ReplayState::Running
            },
            started_at_ms: now,
            completed_at_ms: done.then_some(now),
            deleted,
            from_seq: restart.map(|r| r + 1),
            target_seq: o.target_seq,
            position: restart.unwrap_or(last),
            reset_at: Some(last),
            timers_through_ms: Some(timers_through),
            scanned: 0,
            applied: 0,
            skipped_dedupe: 0,
            skipped_other: 0,
            ignored: 0,
            dead_lettered: 0,
        };
        self.replays.push(ActiveReplay {
            status: status.clone(),
        });
        self.trim_replays();
        self.publish_view();
        self.publish_replays();
        Ok(status)
    }

    /// Counts a committed re-read batch into the tenant's running replays.
    pub(super) fn replay_progress(
        &mut self,
        tenant: &TenantId,
        msgs: &[Msg],
        ctx: &BatchCtx,
        last: u64,
    ) {
        let mut touched = false;
        for r in self
            .replays
            .iter_mut()
            .filter(|r| r.running() && r.status.tenant_id == tenant.as_str())
        {
            touched = true;
            let st = &mut r.status;
            st.position = st.position.max(last);
            let subject = self.cfg.layout.event_subject(&st.tenant_id, &st.saga_name);
            st.scanned += msgs.iter().filter(|m| m.subject == subject).count() as u64;
            if let Some(acc) = ctx
                .sagas
                .get(tenant.as_str())
                .and_then(|p| p.get(&st.saga_name))
            {
                st.applied += acc.counts[0];
                st.skipped_dedupe += acc.counts[1];
                st.skipped_other += acc.counts[2];
                st.ignored += acc.counts[3];
                st.dead_lettered += acc.counts[4];
            }
        }
        if touched {
            self.publish_replays();
        }
    }

    /// Ends the running replays of a tenant (`completed` when it went live again,
    /// `cancelled` when it was released).
    pub(super) fn end_replays(&mut self, tenant: &str, how: ReplayState) {
        let now = shared::now_ms();
        let mut touched = false;
        for r in self
            .replays
            .iter_mut()
            .filter(|r| r.running() && r.status.tenant_id == tenant)
        {
            r.status.state = how;
            r.status.completed_at_ms = Some(now);
            info!(replay = %r.status.replay_id, tenant, saga = %r.status.saga_name, applied = r.status.applied, "replay {}", how.as_str());
            touched = true;
        }
        if touched {
            self.publish_replays();
        }
    }

    fn trim_replays(&mut self) {
        let finished = self.replays.iter().filter(|r| !r.running()).count();
        let mut drop = finished.saturating_sub(KEEP_FINISHED);
        self.replays.retain(|r| {
            if drop > 0 && !r.running() {
                drop -= 1;
                false
            } else {
                true
            }
        });
    }

    pub(super) fn publish_replays(&self) {
        let paused = self.paused;
        *self.shared.replays.lock().expect("lock") = self
            .replays
            .iter()
            .map(|r| {
                let mut s = r.status.clone();
                if paused && r.running() {
                    s.state = ReplayState::Paused;
                }
                s
            })
            .collect();
    }
}
