//! The offline view: a stopped volume, browsed read-only (tenants -> sagas -> instances ->
//! state), plus its outbox, timers and checkpoints. Reads go through `edge_storage`'s
//! read-only open, a page at a time like `runnerctl inspect --limit/--after`, on a thread of
//! their own ([`spawn_loader`]): the UI sends a [`Request`] and draws the [`Page`] when it
//! comes back, so a slow disk never freezes the screen. A volume that cannot be opened (wrong
//! path, not a volume, held by a live runner) is shown in place; `R` tries again.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use shared::edge_storage::{
    Counts, InstanceRecord, Paged, RO, Reader, StorageError, TableId, Volume, decode_value, keys,
};

use crate::volume::storage_error;

/// Rows per listing page (like `inspect --limit`).
pub const PAGE: usize = 200;

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

/// Starts the loader thread for the volume at `path` and returns where to send requests;
/// each page goes to `send` (which says whether anybody still listens). The volume is opened
/// on the first request (and again after a failure), so a wrong path is an error page, not
/// an exit.
pub fn spawn_loader(
    path: PathBuf,
    allow_live: bool,
    send: impl Fn(u64, Result<Page, String>) -> bool + Send + 'static,
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
                            if !send(req.id, Err(storage_error(e).message)) {
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
                if !send(req.id, r) {
                    return;
                }
            }
        })
        .expect("cannot start the volume reader thread");
    rtx
}

/// Reads one page of `req.level` in one read transaction, through the query layer.
pub fn read_page(vol: &Volume, req: &Request) -> Result<Page, String> {
    let after = req.after.as_deref();
    vol.read(|r| {
        Ok::<_, StorageError>(match &req.level {
            Level::Tenants => tenants(r)?,
            Level::Sagas { tenant } => sagas(r, tenant)?,
            Level::Instances { tenant, saga } => {
                let p = r.page(
                    TableId::Sagas,
                    &keys::saga_prefix(tenant, saga)?,
                    after,
                    PAGE,
                    |k, v| {
                        let (_, _, key) = keys::decode_three(k)?;
                        let rec: InstanceRecord = decode_value(v)?;
                        Ok(Some(vec![
                            key.to_string(),
                            rec.state,
                            rec.version.to_string(),
                            rec.last_seq.to_string(),
                        ]))
                    },
                )?;
                listing(vec!["KEY", "STATE", "VERSION", "LAST SEQ"], p)
            }
            Level::Instance { tenant, saga, key } => Page {
                text: instance_text(r, tenant, saga, key)?,
                ..Page::default()
            },
            Level::Outbox => {
                let p = r.outbox_page(after, PAGE)?;
                listing(
                    vec!["SEQ", "TENANT", "SAGA", "SUBJECT"],
                    map(p, |(seq, e)| {
                        vec![seq.to_string(), e.tenant, e.saga, e.subject]
                    }),
                )
            }
            Level::Timers => {
                let p = r.timers_page(None, after, PAGE)?;
                listing(
                    vec!["TENANT", "SAGA", "KEY", "DUE MS", "FIRES"],
                    map(p, |t| {
                        vec![t.tenant, t.saga, t.key, t.due_ms.to_string(), t.record.fire]
                    }),
                )
            }
            Level::Checkpoints => {
                let p = r.checkpoints_page(after, PAGE)?;
                listing(
                    vec!["TENANT", "SAGA", "CHECKPOINT"],
                    map(p, |(t, s, c)| vec![t, s, c.seq.to_string()]),
                )
            }
        })
    })
    .map_err(|e| storage_error(e).message)
}

fn map<T>(p: Paged<T>, row: impl FnMut(T) -> Vec<String>) -> Paged<Vec<String>> {
    Paged {
        items: p.items.into_iter().map(row).collect(),
        next: p.next,
    }
}

fn listing(header: Vec<&'static str>, p: Paged<Vec<String>>) -> Page {
    Page {
        header,
        rows: p.items,
        next: p.next,
        ..Page::default()
    }
}

/// Every tenant with entries, and its counts over all its sagas.
fn tenants(r: &Reader<'_, RO>) -> Result<Page, StorageError> {
    let mut rows = Vec::new();
    for (t, per) in r.stats(None)? {
        let mut c = Counts::default();
        per.values().for_each(|s| c.add(s));
        rows.push(vec![
            t,
            c.instances.to_string(),
            c.dedupe.to_string(),
            c.outbox.to_string(),
            c.timers.to_string(),
        ]);
    }
    Ok(Page {
        header: vec!["TENANT", "INSTANCES", "DEDUPE", "OUTBOX", "TIMERS"],
        rows,
        ..Page::default()
    })
}

/// A tenant's sagas with entries, their counts and checkpoints.
fn sagas(r: &Reader<'_, RO>, tenant: &str) -> Result<Page, StorageError> {
    let mut rows = Vec::new();
    let per: BTreeMap<String, Counts> = r.stats(Some(tenant))?.remove(tenant).unwrap_or_default();
    for (s, c) in per {
        let cp = r
            .checkpoint(tenant, &s)?
            .map(|c| c.seq.to_string())
            .unwrap_or("-".into());
        rows.push(vec![s, c.instances.to_string(), c.dedupe.to_string(), cp]);
    }
    Ok(Page {
        header: vec!["SAGA", "INSTANCES", "DEDUPE", "CHECKPOINT"],
        rows,
        ..Page::default()
    })
}

fn instance_text(
    r: &Reader<'_, RO>,
    tenant: &str,
    saga: &str,
    key: &str,
) -> Result<String, StorageError> {
    Ok(match r.instance(tenant, saga, key)? {
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
    })
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
