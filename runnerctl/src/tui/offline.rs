//! The offline view: a stopped volume, browsed read-only (tenants -> sagas -> instances ->
//! state), plus its outbox, timers and checkpoints. Reads go through `edge_storage`'s
//! read-only open, a page at a time like `runnerctl inspect --limit/--after`, on a thread of
//! their own ([`spawn_loader`]): the UI sends a [`Request`] and draws the [`Page`] when it
//! comes back, so a slow disk never freezes the screen. A volume that cannot be opened (wrong
//! path, not a volume, held by a live runner) is shown in place; `R` tries again.

use std::path::PathBuf;

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use shared::edge_storage::{
    InstanceRecord, OutboxEntry, ScheduleRecord, StorageError, TableId, Volume, decode_value, keys,
};
use tokio::sync::mpsc::UnboundedSender;

use super::app::{KeyHelp, Msg};

/// Rows per listing page (like `inspect --limit`).
pub const PAGE: usize = 200;

/// The offline view's keys: its footer and its `?` help.
pub const OFFLINE_KEYS: &[KeyHelp] = &[
    KeyHelp {
        keys: "↑↓ j/k",
        what: "move",
        mutating: false,
        footer: "↑↓ move",
    },
    KeyHelp {
        keys: "g/G",
        what: "first/last row",
        mutating: false,
        footer: "",
    },
    KeyHelp {
        keys: "Enter",
        what: "drill in",
        mutating: false,
        footer: "Enter open",
    },
    KeyHelp {
        keys: "Esc",
        what: "back",
        mutating: false,
        footer: "Esc back",
    },
    KeyHelp {
        keys: "PgDn/] PgUp/[",
        what: "next/previous page",
        mutating: false,
        footer: "] [ page",
    },
    KeyHelp {
        keys: "o/t/c",
        what: "outbox / timers / checkpoints",
        mutating: false,
        footer: "o/t/c tables",
    },
    KeyHelp {
        keys: "R",
        what: "read again",
        mutating: false,
        footer: "",
    },
    KeyHelp {
        keys: "?",
        what: "help",
        mutating: false,
        footer: "? help",
    },
    KeyHelp {
        keys: "q",
        what: "quit",
        mutating: false,
        footer: "q quit",
    },
];

#[derive(Debug, Clone, PartialEq)]
pub enum Level {
    Tenants,
    Sagas {
        tenant: String,
    },
    Instances {
        tenant: String,
        saga: String,
    },
    Instance {
        tenant: String,
        saga: String,
        key: String,
    },
    Outbox,
    Timers,
    Checkpoints,
}

/// What the UI asks the loader for: one page of a level.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Answers to older requests are dropped.
    pub id: u64,
    pub level: Level,
    /// Start after this key (the previous page's last), like `inspect --after`.
    pub after: Option<Vec<u8>>,
}

/// One page of a level, read in one read transaction.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub text: String,
    /// The key to start the next page after, when there is more.
    pub next: Option<Vec<u8>>,
    /// Said once when the volume is held by a live runner (`--allow-live`).
    pub note: Option<String>,
}

pub struct Offline {
    pub path: String,
    pub level: Level,
    /// Rows of the current listing (first column is the key to drill into).
    pub rows: Vec<Vec<String>>,
    pub header: Vec<&'static str>,
    /// Text of the instance view.
    pub text: String,
    pub selected: usize,
    /// Why the volume or this level could not be read, shown in place.
    pub error: Option<String>,
    /// Said in the header: a live runner holds the volume (`--allow-live`).
    pub note: Option<String>,
    /// A request is out and its page has not come back.
    pub loading: bool,
    /// 1-based page number of the listing.
    pub page: usize,
    after: Option<Vec<u8>>,
    next: Option<Vec<u8>>,
    /// After-keys of the pages before this one, to page back.
    back: Vec<Option<Vec<u8>>>,
    stack: Vec<(Level, usize)>,
    last_id: u64,
    loader: Option<std::sync::mpsc::Sender<Request>>,
    /// Requests made without a loader (tests read them).
    pub sent: Vec<Request>,
}

impl std::fmt::Debug for Offline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offline")
            .field("path", &self.path)
            .field("level", &self.level)
            .field("page", &self.page)
            .finish()
    }
}

/// Starts the loader thread for the volume at `path` and returns where to send requests.
/// The volume is opened on the first request (and again after a failure), so a wrong path
/// is an error page, not an exit.
pub fn spawn_loader(
    path: PathBuf,
    allow_live: bool,
    tx: UnboundedSender<Msg>,
) -> std::sync::mpsc::Sender<Request> {
    let (rtx, rrx) = std::sync::mpsc::channel::<Request>();
    std::thread::Builder::new()
        .name("volume-reader".into())
        .spawn(move || {
            let mut vol: Option<Volume> = None;
            while let Ok(mut req) = rrx.recv() {
                // Only the newest request matters.
                while let Ok(newer) = rrx.try_recv() {
                    req = newer;
                }
                let mut note = None;
                if vol.is_none() {
                    match Volume::open_read_only(&path, allow_live) {
                        Ok((v, holder)) => {
                            note = holder.map(|h| format!("live snapshot: in use by {h}"));
                            vol = Some(v);
                        }
                        Err(e) => {
                            let msg = crate::cmd::inspect::storage_error(e).message;
                            if tx.send(Msg::OfflinePage(req.id, Err(msg))).is_err() {
                                return;
                            }
                            continue;
                        }
                    }
                }
                let r = vol
                    .as_ref()
                    .map(|v| read_page(v, &req))
                    .unwrap_or_else(|| Err("the volume is not open".into()));
                let r = r.map(|mut p| {
                    p.note = note;
                    p
                });
                if tx.send(Msg::OfflinePage(req.id, r)).is_err() {
                    return;
                }
            }
        })
        .expect("cannot start the volume reader thread");
    rtx
}

fn count(v: &[u8]) -> u64 {
    u64::from_be_bytes(v.try_into().unwrap_or([0; 8]))
}

/// Reads one page of `req.level` in one read transaction.
pub fn read_page(vol: &Volume, req: &Request) -> Result<Page, String> {
    let after = req.after.as_deref();
    vol.read(|r| {
        let mut p = Page::default();
        let mut last: Option<Vec<u8>> = None;
        let mut full = false;
        // Takes a row; says whether to go on (stops one row past a page to know there is more).
        let mut take = |rows: &mut Vec<Vec<String>>, k: &[u8], row: Vec<String>| {
            if rows.len() == PAGE {
                full = true;
                return false;
            }
            rows.push(row);
            last = Some(k.to_vec());
            true
        };
        match &req.level {
            Level::Tenants => {
                let mut per: std::collections::BTreeMap<String, [u64; 5]> = Default::default();
                r.scan(TableId::Stats, &[], None, |k, v| {
                    let (t, _, table) = keys::decode_stats(k)?;
                    if let Some(c) = (table as usize).checked_sub(1).and_then(|i| per.entry(t.to_string()).or_default().get_mut(i)) {
                        *c += count(v);
                    }
                    Ok(true)
                })?;
                for (t, c) in per {
                    p.rows.push(vec![t, c[0].to_string(), c[1].to_string(), c[3].to_string(), c[4].to_string()]);
                }
                p.header = vec!["TENANT", "INSTANCES", "DEDUPE", "OUTBOX", "TIMERS"];
            }
            Level::Sagas { tenant } => {
                let mut per: std::collections::BTreeMap<String, [u64; 5]> = Default::default();
                r.scan(TableId::Stats, &keys::tenant_prefix(tenant)?, None, |k, v| {
                    let (_, s, table) = keys::decode_stats(k)?;
                    if let Some(c) = (table as usize).checked_sub(1).and_then(|i| per.entry(s.to_string()).or_default().get_mut(i)) {
                        *c += count(v);
                    }
                    Ok(true)
                })?;
                for (s, c) in per {
                    let cp = r.checkpoint(tenant, &s)?.map(|c| c.seq.to_string()).unwrap_or("-".into());
                    p.rows.push(vec![s, c[0].to_string(), c[1].to_string(), cp]);
                }
                p.header = vec!["SAGA", "INSTANCES", "DEDUPE", "CHECKPOINT"];
            }
            Level::Instances { tenant, saga } => {
                r.scan(TableId::Sagas, &keys::saga_prefix(tenant, saga)?, after, |k, v| {
                    let (_, _, key) = keys::decode_three(k)?;
                    let rec: InstanceRecord = decode_value(v)?;
                    Ok(take(&mut p.rows, k, vec![key.to_string(), rec.state, rec.version.to_string(), rec.last_seq.to_string()]))
                })?;
                p.header = vec!["KEY", "STATE", "VERSION", "LAST SEQ"];
            }
            Level::Instance { tenant, saga, key } => {
                p.text = match r.instance(tenant, saga, key)? {
                    Some(rec) => {
                        let data: serde_json::Value = serde_json::from_str(&rec.data)
                            .unwrap_or(serde_json::Value::String(rec.data.clone()));
                        format!(
                            "state {}  version {}  last seq {} ({})\n\n{}\n\ntimers: {:?}\nhistory: {} entries",
                            rec.state,
                            rec.version,
                            rec.last_seq,
                            rec.last_event_id,
                            serde_json::to_string_pretty(&data).unwrap_or_default(),
                            rec.timers,
                            rec.history.len()
                        )
                    }
                    None => format!("no instance {key} of {tenant}/{saga} (deleted since the listing?)"),
                };
            }
            Level::Outbox => {
                r.scan(TableId::Outbox, &[], after, |k, v| {
                    let e: OutboxEntry = decode_value(v)?;
                    Ok(take(&mut p.rows, k, vec![keys::decode_outbox(k)?.to_string(), e.tenant, e.saga, e.subject]))
                })?;
                p.header = vec!["SEQ", "TENANT", "SAGA", "SUBJECT"];
            }
            Level::Timers => {
                r.scan(TableId::Schedules, &[], after, |k, v| {
                    let d = keys::decode_schedule(k)?;
                    let rec: ScheduleRecord = decode_value(v)?;
                    Ok(take(&mut p.rows, k, vec![d.tenant.into(), d.saga.into(), d.key.into(), d.due_ms.to_string(), rec.fire]))
                })?;
                p.header = vec!["TENANT", "SAGA", "KEY", "DUE MS", "FIRES"];
            }
            Level::Checkpoints => {
                r.scan(TableId::Checkpoints, &[], after, |k, v| {
                    let (t, s) = keys::decode_two(k)?;
                    let c: shared::edge_storage::Checkpoint = decode_value(v)?;
                    Ok(take(&mut p.rows, k, vec![t.into(), s.into(), c.seq.to_string()]))
                })?;
                p.header = vec!["TENANT", "SAGA", "CHECKPOINT"];
            }
        }
        if full {
            p.next = last;
        }
        Ok::<_, StorageError>(p)
    })
    .map_err(|e| crate::cmd::inspect::storage_error(e).message)
}

impl Offline {
    /// The view of the volume at `path`, reading through `loader`; asks for the tenants.
    pub fn new(path: String, loader: Option<std::sync::mpsc::Sender<Request>>) -> Offline {
        let mut o = Offline {
            path,
            level: Level::Tenants,
            rows: vec![],
            header: vec![],
            text: String::new(),
            selected: 0,
            error: None,
            note: None,
            loading: false,
            page: 1,
            after: None,
            next: None,
            back: vec![],
            stack: vec![],
            last_id: 0,
            loader,
            sent: vec![],
        };
        o.request();
        o
    }

    /// For tests of the UI: fixed rows, no loader.
    #[cfg(test)]
    pub fn fixed(
        path: &str,
        level: Level,
        header: Vec<&'static str>,
        rows: Vec<Vec<String>>,
        text: &str,
    ) -> Offline {
        let mut o = Offline::new(path.into(), None);
        o.level = level;
        o.loading = false;
        o.header = header;
        o.rows = rows;
        o.text = text.into();
        o
    }

    fn request(&mut self) {
        self.last_id += 1;
        self.loading = true;
        let req = Request {
            id: self.last_id,
            level: self.level.clone(),
            after: self.after.clone(),
        };
        match &self.loader {
            Some(l) => {
                if l.send(req).is_err() {
                    self.loading = false;
                    self.error = Some("the volume reader stopped; quit and start again".into());
                }
            }
            None => self.sent.push(req),
        }
    }

    /// A page came back from the loader.
    pub fn loaded(&mut self, id: u64, r: Result<Page, String>) {
        if id != self.last_id {
            return;
        }
        self.loading = false;
        match r {
            Ok(p) => {
                self.rows = p.rows;
                self.header = p.header;
                self.text = p.text;
                self.next = p.next;
                if p.note.is_some() {
                    self.note = p.note;
                }
                self.error = None;
                self.selected = self.selected.min(self.rows.len().saturating_sub(1));
            }
            Err(e) => {
                self.rows.clear();
                self.error = Some(e);
            }
        }
    }

    fn go(&mut self, level: Level) {
        self.stack.push((self.level.clone(), self.selected));
        self.level = level;
        self.selected = 0;
        self.reset_paging();
        self.request();
    }

    fn reset_paging(&mut self) {
        self.page = 1;
        self.after = None;
        self.next = None;
        self.back.clear();
    }

    /// Whether a next page exists.
    pub fn more(&self) -> bool {
        self.next.is_some()
    }

    pub fn key(&mut self, k: KeyEvent) {
        let n = self.rows.len();
        match k.code {
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(n.saturating_sub(1))
            }
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Char('g') | KeyCode::Home => self.selected = 0,
            KeyCode::Char('G') | KeyCode::End => self.selected = n.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(']') => {
                if let Some(next) = self.next.take() {
                    self.back.push(self.after.replace(next));
                    self.page += 1;
                    self.selected = 0;
                    self.request();
                }
            }
            KeyCode::PageUp | KeyCode::Char('[') => {
                if let Some(prev) = self.back.pop() {
                    self.after = prev;
                    self.page -= 1;
                    self.selected = 0;
                    self.request();
                }
            }
            KeyCode::Char('R') => self.request(),
            KeyCode::Esc | KeyCode::Backspace => {
                if let Some((l, s)) = self.stack.pop() {
                    self.level = l;
                    self.reset_paging();
                    self.selected = s;
                    self.request();
                }
            }
            KeyCode::Char('o') => self.go(Level::Outbox),
            KeyCode::Char('t') => self.go(Level::Timers),
            KeyCode::Char('c') => self.go(Level::Checkpoints),
            KeyCode::Enter => {
                let Some(first) = self
                    .rows
                    .get(self.selected)
                    .and_then(|r| r.first())
                    .cloned()
                else {
                    return;
                };
                let next = match &self.level {
                    Level::Tenants => Level::Sagas { tenant: first },
                    Level::Sagas { tenant } => Level::Instances {
                        tenant: tenant.clone(),
                        saga: first,
                    },
                    Level::Instances { tenant, saga } => Level::Instance {
                        tenant: tenant.clone(),
                        saga: saga.clone(),
                        key: first,
                    },
                    _ => return,
                };
                self.go(next);
            }
            _ => {}
        }
    }

    pub fn title(&self) -> String {
        let base = match &self.level {
            Level::Tenants => "tenants".into(),
            Level::Sagas { tenant } => format!("{tenant} › sagas"),
            Level::Instances { tenant, saga } => format!("{tenant} › {saga} › instances"),
            Level::Instance { tenant, saga, key } => format!("{tenant} › {saga} › {key}"),
            Level::Outbox => "outbox".into(),
            Level::Timers => "timers".into(),
            Level::Checkpoints => "checkpoints".into(),
        };
        let paged = matches!(
            self.level,
            Level::Instances { .. } | Level::Outbox | Level::Timers | Level::Checkpoints
        );
        let mut t = base;
        if paged && (self.page > 1 || self.more()) {
            t.push_str(&format!(
                " · page {}{}",
                self.page,
                if self.more() { ", more: ]" } else { "" }
            ));
        }
        if self.loading {
            t.push_str(" · reading…");
        }
        t
    }
}
