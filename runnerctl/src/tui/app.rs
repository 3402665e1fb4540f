//! The dashboard's state and its reaction to keys and data messages. No I/O here: keys
//! produce [`Effect`]s that the runtime (`mod.rs`) carries out in tasks, which answer with
//! [`Msg`]s. That keeps the UI from ever blocking and makes every screen testable.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use shared::placement::{
    ClaimRecord, ClaimState, PlacementValue, ShardRecord, parse_placement_value,
};
use shared::wire::{ReplayMode, ReplayPlan, RunnerState, StatusResponse};

use super::offline::Offline;

/// Data and events the runtime sends to the app.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// Registry, placement and claims, as of now.
    Fleet(Fleet),
    /// A runner's status (or why it could not be had).
    Status(String, Result<Box<StatusResponse>, String>),
    /// The statuses of one poll of every runner, applied together.
    Statuses(Vec<(String, Result<Box<StatusResponse>, String>)>),
    /// NATS connection state (connected, detail).
    Conn(bool, String),
    /// A line for the change log.
    Log(String),
    /// The dry run of a replay the operator is setting up.
    ReplayPlan(Result<Box<ReplayPlan>, String>),
    /// Time passed (rates, ages).
    Tick(u64),
    /// A page of the offline view (request id, page or why it could not be read).
    OfflinePage(u64, Result<super::offline::Page, String>),
}

#[derive(Debug, Clone, Default)]
pub struct Fleet {
    pub shards: Vec<ShardRecord>,
    /// tenant -> placement value
    pub placements: BTreeMap<String, String>,
    pub claims: BTreeMap<String, ClaimRecord>,
    /// Registry records that are not shard records (said once in the change log).
    pub garbage: Vec<String>,
}

/// What the runtime must do for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Drain {
        shard: String,
        url: String,
    },
    Resume {
        shard: String,
        url: String,
    },
    PlanReplay {
        url: String,
        tenant: String,
        saga: String,
        mode: ReplayMode,
    },
    Replay {
        url: String,
        tenant: String,
        saga: String,
        mode: ReplayMode,
    },
    Move {
        tenant: String,
        to: String,
    },
    SetRefresh(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Shards,
    Tenants,
    Log,
}

pub const PANES: [Pane; 3] = [Pane::Shards, Pane::Tenants, Pane::Log];

#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    /// A yes/no question; `ok` is where the focus is (it opens on Cancel).
    Confirm {
        title: String,
        body: Vec<String>,
        effect: Effect,
        ok: bool,
    },
    /// Saga (left/right) and mode (up/down) of a replay; Enter asks for the dry run.
    ReplaySetup {
        url: String,
        tenant: String,
        sagas: Vec<String>,
        saga: usize,
        mode: usize,
    },
    /// Waiting for the dry run.
    Planning {
        url: String,
        tenant: String,
        saga: String,
        mode: ReplayMode,
    },
    /// A healthy shard to move a tenant to.
    ShardPicker {
        tenant: String,
        shards: Vec<String>,
        idx: usize,
    },
}

pub const MODES: [ReplayMode; 3] = [
    ReplayMode::CheckpointOnly,
    ReplayMode::CheckpointAndDedupe,
    ReplayMode::FullReset,
];

/// One row of the tenants pane.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantRow {
    pub tenant: String,
    pub desired: String,
    pub owner: Option<String>,
    pub moving: bool,
    pub mismatch: bool,
    /// Sum over sagas of stream sequences behind (None: unknown).
    pub lag: Option<u64>,
    pub checkpoints: String,
    pub rate: f64,
}

pub struct App {
    pub nats_url: String,
    pub readonly: bool,
    pub connected: bool,
    pub conn_detail: String,
    pub refresh: Duration,
    pub focus: Pane,
    pub selected: [usize; 3],
    pub filter: String,
    pub filtering: bool,
    pub help: bool,
    pub dialog: Option<Dialog>,
    pub log: VecDeque<String>,
    pub fleet: Fleet,
    pub statuses: BTreeMap<String, StatusResponse>,
    pub status_errors: BTreeMap<String, String>,
    /// shard -> (applied total, at tick) for events/s; tenant -> same.
    prev_shard: BTreeMap<String, (u64, u64)>,
    prev_tenant: BTreeMap<String, (u64, u64)>,
    pub shard_rate: BTreeMap<String, f64>,
    /// shard -> (events read total, at tick), and events read per second.
    prev_shard_read: BTreeMap<String, (u64, u64)>,
    pub shard_read_rate: BTreeMap<String, f64>,
    pub tenant_rate: BTreeMap<String, f64>,
    pub now_ms: u64,
    pub quit: bool,
    pub offline: Option<Offline>,
    /// Where logs go while the dashboard runs (shown in `?`).
    pub log_file: Option<String>,
    tenants_view: Vec<TenantRow>,
}

impl App {
    pub fn new(nats_url: String, readonly: bool, refresh: Duration) -> App {
        App {
            nats_url,
            readonly,
            connected: false,
            conn_detail: "connecting".into(),
            refresh,
            focus: Pane::Shards,
            selected: [0; 3],
            filter: String::new(),
            filtering: false,
            help: false,
            dialog: None,
            log: VecDeque::new(),
            fleet: Fleet::default(),
            statuses: BTreeMap::new(),
            status_errors: BTreeMap::new(),
            prev_shard: BTreeMap::new(),
            prev_tenant: BTreeMap::new(),
            shard_rate: BTreeMap::new(),
            prev_shard_read: BTreeMap::new(),
            shard_read_rate: BTreeMap::new(),
            tenant_rate: BTreeMap::new(),
            now_ms: 0,
            quit: false,
            offline: None,
            log_file: None,
            tenants_view: Vec::new(),
        }
    }

    pub fn log(&mut self, line: String) {
        tracing::info!(target: "runnerctl::tui", "{line}");
        if self.log.len() >= 500 {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    fn matches(&self, s: &str) -> bool {
        self.filter.is_empty() || s.contains(&self.filter)
    }

    /// Shards shown (filtered), in id order.
    pub fn shard_rows(&self) -> Vec<&ShardRecord> {
        self.fleet
            .shards
            .iter()
            .filter(|s| self.matches(&s.shard_id))
            .collect()
    }

    pub fn shard_health(&self, s: &ShardRecord) -> &'static str {
        let age = self.now_ms.saturating_sub(s.heartbeat_at_ms);
        if age > s.lease_ms {
            "dead"
        } else if s.state != RunnerState::Running
            || self
                .statuses
                .get(&s.shard_id)
                .is_some_and(|st| !st.problems.is_empty())
            || self.status_errors.contains_key(&s.shard_id)
        {
            "warn"
        } else {
            "ok"
        }
    }

    /// Tenants, grouped by owner shard (unowned last), with lag and rate (as of the last
    /// data or filter change).
    pub fn tenant_rows(&self) -> &[TenantRow] {
        &self.tenants_view
    }

    fn compute_tenant_rows(&self) -> Vec<TenantRow> {
        // Each tenant's status, by name: one pass over the statuses.
        let by_tenant: std::collections::HashMap<(&str, &str), &shared::wire::TenantStatus> = self
            .statuses
            .iter()
            .flat_map(|(shard, s)| {
                s.tenants
                    .iter()
                    .map(move |t| ((shard.as_str(), t.tenant.as_str()), t))
            })
            .collect();
        let mut names: Vec<&String> = self.fleet.placements.keys().collect();
        for (t, c) in &self.fleet.claims {
            if c.state == ClaimState::Active && !self.fleet.placements.contains_key(t) {
                names.push(t);
            }
        }
        let mut rows: Vec<TenantRow> = names
            .into_iter()
            .filter(|t| self.matches(t))
            .map(|t| {
                let desired = self
                    .fleet
                    .placements
                    .get(t)
                    .cloned()
                    .unwrap_or_else(|| "-".into());
                let moving = matches!(
                    parse_placement_value(desired.as_bytes()),
                    PlacementValue::Moving { .. }
                );
                let owner = self
                    .fleet
                    .claims
                    .get(t)
                    .filter(|c| c.state == ClaimState::Active)
                    .map(|c| c.shard.clone());
                let st = owner
                    .as_deref()
                    .and_then(|o| by_tenant.get(&(o, t.as_str())).copied());
                let lag = st.and_then(|s| {
                    s.sagas
                        .iter()
                        .map(|g| g.lag)
                        .try_fold(0u64, |a, l| l.map(|l| a + l))
                });
                let checkpoints = st
                    .map(|s| {
                        s.sagas
                            .iter()
                            .filter(|g| g.declared)
                            .map(|g| format!("{}:{}", g.saga, g.checkpoint))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default();
                TenantRow {
                    tenant: t.clone(),
                    mismatch: !moving && owner.as_deref() != Some(desired.as_str()),
                    desired,
                    owner,
                    moving,
                    lag,
                    checkpoints,
                    rate: self.tenant_rate.get(t).copied().unwrap_or(0.0),
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            (a.owner.is_none(), &a.owner, &a.tenant).cmp(&(b.owner.is_none(), &b.owner, &b.tenant))
        });
        rows
    }

    fn pane_len(&self, p: Pane) -> usize {
        match p {
            Pane::Shards => self.shard_rows().len(),
            Pane::Tenants => self.tenant_rows().len(),
            Pane::Log => self.log.len(),
        }
    }

    fn pane_idx(p: Pane) -> usize {
        PANES.iter().position(|x| *x == p).expect("a pane")
    }

    pub fn selected_in(&self, p: Pane) -> usize {
        let n = self.pane_len(p);
        self.selected[Self::pane_idx(p)].min(n.saturating_sub(1))
    }

    fn select(&mut self, p: Pane, i: usize) {
        self.selected[Self::pane_idx(p)] = i;
    }

    pub fn update(&mut self, msg: Msg) -> Option<Effect> {
        // The tenants pane is computed when its inputs change, not on every frame.
        let rebuild = match &msg {
            // Heartbeats change only the shards: no need to recompute the tenants.
            Msg::Fleet(f) => {
                f.placements != self.fleet.placements
                    || f.claims != self.fleet.claims
                    || self.tenants_view.is_empty()
            }
            Msg::Status(..) | Msg::Statuses(..) => true,
            _ => false,
        };
        let filter = matches!(msg, Msg::Key(_)).then(|| self.filter.clone());
        let effect = self.apply(msg);
        if rebuild || filter.is_some_and(|f| f != self.filter) {
            self.tenants_view = self.compute_tenant_rows();
        }
        effect
    }

    fn apply(&mut self, msg: Msg) -> Option<Effect> {
        match msg {
            Msg::Key(k) => return self.key(k),
            Msg::OfflinePage(id, r) => {
                if let Some(o) = self.offline.as_mut() {
                    o.loaded(id, r);
                }
            }
            Msg::Fleet(f) => {
                for s in &f.shards {
                    if let Some(old) = self.fleet.shards.iter().find(|o| o.shard_id == s.shard_id)
                        && old.state != s.state
                    {
                        self.log(format!("{} is {} (was {})", s.shard_id, s.state, old.state));
                    }
                }
                for (t, v) in &f.placements {
                    match self.fleet.placements.get(t) {
                        Some(old) if old != v => self.log(format!("{t} placed on {v} (was {old})")),
                        None if !self.fleet.placements.is_empty() => {
                            self.log(format!("{t} placed on {v}"))
                        }
                        _ => {}
                    }
                }
                for g in &f.garbage {
                    if !self.fleet.garbage.contains(g) {
                        self.log(g.clone());
                    }
                }
                self.fleet = f;
            }
            Msg::Statuses(all) => {
                for (shard, r) in all {
                    self.apply(Msg::Status(shard, r));
                }
            }
            Msg::Status(shard, r) => match r {
                Ok(s) => {
                    self.status_errors.remove(&shard);
                    self.rates(&s);
                    self.statuses.insert(shard, *s);
                }
                Err(e) => {
                    if self.status_errors.get(&shard) != Some(&e) {
                        self.log(format!("{shard}: {e}"));
                    }
                    self.status_errors.insert(shard, e);
                }
            },
            Msg::Conn(ok, detail) => {
                if ok != self.connected {
                    self.log(if ok {
                        format!("connected to {}", self.nats_url)
                    } else {
                        format!("NATS: {detail}")
                    });
                }
                self.connected = ok;
                self.conn_detail = detail;
            }
            Msg::Log(l) => self.log(l),
            Msg::ReplayPlan(r) => {
                if let Some(Dialog::Planning {
                    url,
                    tenant,
                    saga,
                    mode,
                }) = self.dialog.take()
                {
                    match r {
                        Ok(p) => {
                            let d = p.deletes;
                            let mut body = vec![
                                format!("{tenant}/{saga}, mode {}", mode.as_str()),
                                format!(
                                    "deletes: checkpoints {}, dedupe {}, instances {}, outbox {}, timers {}",
                                    d.checkpoints, d.dedupe, d.instances, d.outbox, d.timers
                                ),
                                match (p.stream.first_seq, p.stream.last_seq) {
                                    (Some(a), Some(b)) => format!(
                                        "re-reads {} events (sequences {a}..{b})",
                                        p.stream.events
                                    ),
                                    _ => "the stream holds no event of it".into(),
                                },
                            ];
                            body.extend(p.warnings.iter().map(|w| format!("warning: {w}")));
                            self.dialog = Some(Dialog::Confirm {
                                title: "Replay?".into(),
                                body,
                                effect: Effect::Replay {
                                    url,
                                    tenant,
                                    saga,
                                    mode,
                                },
                                ok: false,
                            });
                        }
                        Err(e) => self.log(format!("replay preview failed: {e}")),
                    }
                }
            }
            Msg::Tick(now_ms) => self.now_ms = now_ms,
        }
        None
    }

    /// Events per second of a shard and its tenants, from the applied counters of two
    /// status reports; and the events per second the shard reads (its read share).
    fn rates(&mut self, s: &StatusResponse) {
        let now = self.now_ms;
        let rate = |prev: Option<(u64, u64)>, v: u64| {
            prev.filter(|(_, at)| now > *at)
                .map(|(p, at)| v.saturating_sub(p) as f64 * 1000.0 / (now - at) as f64)
        };
        if let Some(r) = rate(self.prev_shard.get(&s.shard_id).copied(), s.totals.applied) {
            self.shard_rate.insert(s.shard_id.clone(), r);
        }
        self.prev_shard
            .insert(s.shard_id.clone(), (s.totals.applied, now));
        if let Some(r) = rate(
            self.prev_shard_read.get(&s.shard_id).copied(),
            s.events_read,
        ) {
            self.shard_read_rate.insert(s.shard_id.clone(), r);
        }
        self.prev_shard_read
            .insert(s.shard_id.clone(), (s.events_read, now));
        for t in &s.tenants {
            let a: u64 = t.sagas.iter().map(|g| g.counters.applied).sum();
            if let Some(r) = rate(self.prev_tenant.get(&t.tenant).copied(), a) {
                self.tenant_rate.insert(t.tenant.clone(), r);
            }
            self.prev_tenant.insert(t.tenant.clone(), (a, now));
        }
    }

    fn key(&mut self, k: KeyEvent) -> Option<Effect> {
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            self.quit = true;
            return None;
        }
        if let Some(o) = self.offline.as_mut() {
            if self.help {
                self.help = false;
                return None;
            }
            match k.code {
                KeyCode::Char('q') => self.quit = true,
                KeyCode::Char('?') => self.help = true,
                _ => o.key(k),
            }
            return None;
        }
        if self.help {
            self.help = false;
            return None;
        }
        if self.filtering {
            self.filter_key(k);
            return None;
        }
        if let Some(d) = self.dialog.take() {
            return self.dialog_key(d, k);
        }
        self.pane_key(k)
    }

    /// Typing the filter.
    fn filter_key(&mut self, k: KeyEvent) {
        match k.code {
            KeyCode::Esc => {
                self.filtering = false;
                self.filter.clear();
            }
            KeyCode::Enter => self.filtering = false,
            KeyCode::Backspace => {
                self.filter.pop();
            }
            KeyCode::Char(c) => self.filter.push(c),
            _ => {}
        }
    }

    /// A key on the panes: moving around, and the actions on the selected row.
    fn pane_key(&mut self, k: KeyEvent) -> Option<Effect> {
        let p = self.focus;
        let n = self.pane_len(p);
        let i = self.selected_in(p);
        match k.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Char('/') => {
                self.filtering = true;
                self.filter.clear();
            }
            KeyCode::Esc => self.filter.clear(),
            KeyCode::Tab => {
                self.focus = PANES[(Self::pane_idx(p) + 1) % PANES.len()];
            }
            KeyCode::BackTab => {
                self.focus = PANES[(Self::pane_idx(p) + PANES.len() - 1) % PANES.len()];
            }
            KeyCode::Down | KeyCode::Char('j') => self.select(p, (i + 1).min(n.saturating_sub(1))),
            KeyCode::Up | KeyCode::Char('k') => self.select(p, i.saturating_sub(1)),
            KeyCode::Char('g') | KeyCode::Home => self.select(p, 0),
            KeyCode::Char('G') | KeyCode::End => self.select(p, n.saturating_sub(1)),
            KeyCode::Enter if p == Pane::Shards => {
                // Drill into a shard: its tenants.
                if let Some(s) = self.shard_rows().get(i) {
                    self.filter = s.shard_id.clone();
                    self.focus = Pane::Tenants;
                    self.select(Pane::Tenants, 0);
                }
            }
            KeyCode::Char('+') => {
                self.refresh = (self.refresh / 2).max(Duration::from_millis(250));
                return Some(Effect::SetRefresh(self.refresh));
            }
            KeyCode::Char('-') => {
                self.refresh = (self.refresh * 2).min(Duration::from_secs(30));
                return Some(Effect::SetRefresh(self.refresh));
            }
            KeyCode::Char(c @ ('d' | 'r')) if !self.readonly && p == Pane::Shards => {
                self.ask_state_change(i, c == 'd')
            }
            KeyCode::Char('p') if !self.readonly && p == Pane::Tenants => self.ask_replay(i),
            KeyCode::Char('m') if !self.readonly && p == Pane::Tenants => self.ask_move(i),
            _ => {}
        }
        None
    }

    /// `d`/`r` on shard row `i`: the confirmation of a drain or resume.
    fn ask_state_change(&mut self, i: usize, drain: bool) {
        let Some((shard, url)) = self
            .shard_rows()
            .get(i)
            .map(|s| (s.shard_id.clone(), s.admin_url.clone()))
        else {
            return;
        };
        let (title, body, effect) = if drain {
            (
                format!("Drain {shard}?"),
                vec![
                    format!("{shard} stops reading, commits what is in flight,"),
                    "flushes its outbox and holds timers until resumed.".into(),
                ],
                Effect::Drain { shard, url },
            )
        } else {
            (
                format!("Resume {shard}?"),
                vec![format!("{shard} starts reading again.")],
                Effect::Resume { shard, url },
            )
        };
        self.dialog = Some(Dialog::Confirm {
            title,
            body,
            effect,
            ok: false,
        });
    }

    /// `p` on tenant row `i`: the replay setup, for a tenant an owner serves with sagas.
    fn ask_replay(&mut self, i: usize) {
        let Some(row) = self.tenant_rows().get(i).cloned() else {
            return;
        };
        let owner = row.owner.as_ref().and_then(|o| {
            let url = self
                .fleet
                .shards
                .iter()
                .find(|s| &s.shard_id == o)?
                .admin_url
                .clone();
            let sagas: Vec<String> = self
                .statuses
                .get(o)?
                .tenants
                .iter()
                .find(|t| t.tenant == row.tenant)?
                .sagas
                .iter()
                .filter(|g| g.declared)
                .map(|g| g.saga.clone())
                .collect();
            Some((url, sagas))
        });
        match owner {
            Some((url, sagas)) if !sagas.is_empty() => {
                self.dialog = Some(Dialog::ReplaySetup {
                    url,
                    tenant: row.tenant,
                    sagas,
                    saga: 0,
                    mode: 0,
                })
            }
            _ => self.log(format!(
                "{}: no owner serving it with sagas; nothing to replay",
                row.tenant
            )),
        }
    }

    /// `m` on tenant row `i`: the pick of a healthy shard to move it to.
    fn ask_move(&mut self, i: usize) {
        let Some(row) = self.tenant_rows().get(i).cloned() else {
            return;
        };
        let shards: Vec<String> = self
            .fleet
            .shards
            .iter()
            .filter(|s| self.shard_health(s) == "ok")
            .map(|s| s.shard_id.clone())
            .filter(|s| Some(s) != row.owner.as_ref())
            .collect();
        if shards.is_empty() {
            self.log(format!(
                "{}: no other healthy shard to move it to",
                row.tenant
            ));
        } else {
            self.dialog = Some(Dialog::ShardPicker {
                tenant: row.tenant,
                shards,
                idx: 0,
            });
        }
    }

    fn dialog_key(&mut self, d: Dialog, k: KeyEvent) -> Option<Effect> {
        match d {
            Dialog::Confirm {
                title,
                body,
                effect,
                ok,
            } => match k.code {
                KeyCode::Esc | KeyCode::Char('n') => {}
                KeyCode::Left
                | KeyCode::Right
                | KeyCode::Tab
                | KeyCode::BackTab
                | KeyCode::Char('h')
                | KeyCode::Char('l') => {
                    self.dialog = Some(Dialog::Confirm {
                        title,
                        body,
                        effect,
                        ok: !ok,
                    });
                }
                KeyCode::Enter if ok => return Some(effect),
                KeyCode::Enter => {}
                _ => {
                    self.dialog = Some(Dialog::Confirm {
                        title,
                        body,
                        effect,
                        ok,
                    })
                }
            },
            Dialog::ReplaySetup {
                url,
                tenant,
                sagas,
                mut saga,
                mut mode,
            } => {
                match k.code {
                    KeyCode::Esc => return None,
                    KeyCode::Left | KeyCode::Char('h') => {
                        saga = (saga + sagas.len() - 1) % sagas.len()
                    }
                    KeyCode::Right | KeyCode::Char('l') => saga = (saga + 1) % sagas.len(),
                    KeyCode::Up | KeyCode::Char('k') => mode = mode.saturating_sub(1),
                    KeyCode::Down | KeyCode::Char('j') => mode = (mode + 1).min(MODES.len() - 1),
                    KeyCode::Enter => {
                        let (saga, mode) = (sagas[saga].clone(), MODES[mode]);
                        self.dialog = Some(Dialog::Planning {
                            url: url.clone(),
                            tenant: tenant.clone(),
                            saga: saga.clone(),
                            mode,
                        });
                        return Some(Effect::PlanReplay {
                            url,
                            tenant,
                            saga,
                            mode,
                        });
                    }
                    _ => {}
                }
                self.dialog = Some(Dialog::ReplaySetup {
                    url,
                    tenant,
                    sagas,
                    saga,
                    mode,
                });
            }
            Dialog::Planning { .. } => {
                if k.code != KeyCode::Esc {
                    self.dialog = Some(d);
                }
            }
            Dialog::ShardPicker {
                tenant,
                shards,
                mut idx,
            } => {
                match k.code {
                    KeyCode::Esc => return None,
                    KeyCode::Up | KeyCode::Char('k') => idx = idx.saturating_sub(1),
                    KeyCode::Down | KeyCode::Char('j') => idx = (idx + 1).min(shards.len() - 1),
                    KeyCode::Enter => {
                        let to = shards[idx].clone();
                        self.dialog = Some(Dialog::Confirm {
                            title: format!("Move {tenant} to {to}?"),
                            body: vec![
                                format!("{tenant} and its state move to {to}:"),
                                "release, export, import, flip the placement, clean up.".into(),
                            ],
                            effect: Effect::Move { tenant, to },
                            ok: false,
                        });
                        return None;
                    }
                    _ => {}
                }
                self.dialog = Some(Dialog::ShardPicker {
                    tenant,
                    shards,
                    idx,
                });
            }
        }
        None
    }

    /// Whether a shard is draining or drained, for the UI; a running shard that is
    /// cordoned shows as `cordoned` (it serves its tenants and takes no new ones).
    pub fn shard_state(&self, s: &ShardRecord) -> String {
        let status = self.statuses.get(&s.shard_id);
        match status.map(|st| st.state) {
            Some(RunnerState::Draining) => "draining".into(),
            Some(RunnerState::Drained) => "drained".into(),
            _ if s.state == RunnerState::Running
                && status.is_some_and(|st| st.cordon.is_some()) =>
            {
                "cordoned".into()
            }
            _ => s.state.to_string(),
        }
    }
}
