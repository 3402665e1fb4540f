//! Drawing the dashboard: header, panes, footer from the key registry, dialogs, help.
//! Colour only marks health and focus; with `NO_COLOR` the selection stays visible through
//! reversed video and a `>` marker.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

use super::app::{App, Dialog, MODES, Pane};
use super::keys::{KEYS, OFFLINE_KEYS};
use super::offline::Offline;

pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    fn health(&self, h: &str) -> Style {
        match h {
            "ok" => self.fg(Color::Green),
            "warn" => self.fg(Color::Yellow),
            _ => self.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }
}

fn block<'a>(title: String, focused: bool, t: &Theme) -> Block<'a> {
    let b = Block::default().borders(Borders::ALL).title(title);
    if focused {
        b.border_style(t.fg(Color::Cyan).add_modifier(Modifier::BOLD))
    } else {
        b
    }
}

fn age(ms: u64) -> String {
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}s", ms / 1000)
    }
}

/// A lag bar of up to 8 cells, on a log scale (1 seq .. 1M seqs).
fn bar(lag: Option<u64>) -> String {
    match lag {
        None => "?".into(),
        Some(0) => "·".into(),
        Some(l) => {
            let n = ((l as f64).log10().ceil() as usize + 1).clamp(1, 8);
            "█".repeat(n)
        }
    }
}

pub fn draw(f: &mut Frame, app: &App, t: &Theme) {
    if let Some(o) = &app.offline {
        draw_offline(f, app, o, t);
    } else {
        draw_fleet(f, app, t);
    }
    if app.help {
        draw_help(f, app);
    }
}

fn header(app: &App, t: &Theme) -> Line<'static> {
    let conn = if app.connected {
        Span::styled(format!("● {}", app.nats_url), t.fg(Color::Green))
    } else {
        Span::styled(
            format!("○ {} ({})", app.nats_url, app.conn_detail),
            t.fg(Color::Red),
        )
    };
    let mut spans = vec![
        Span::styled(
            "runnerctl tui ",
            Style::default().add_modifier(Modifier::BOLD),
        ),
        conn,
        Span::raw(format!("  refresh {:.1}s", app.refresh.as_secs_f64())),
    ];
    if app.readonly {
        spans.push(Span::raw("  [read-only]"));
    }
    if app.filtering || !app.filter.is_empty() {
        spans.push(Span::raw(format!(
            "  filter: {}{}",
            app.filter,
            if app.filtering { "▏" } else { "" }
        )));
    }
    Line::from(spans)
}

fn footer(app: &App) -> Line<'static> {
    let parts: Vec<String> = KEYS
        .iter()
        .filter(|k| !(k.footer.is_empty() || k.mutating && app.readonly))
        .map(|k| k.footer.to_string())
        .collect();
    Line::from(parts.join("  "))
}

fn draw_fleet(f: &mut Frame, app: &App, t: &Theme) {
    let [head, shards, tenants, log, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(30),
        Constraint::Fill(1),
        Constraint::Length(6),
        Constraint::Length(1),
    ])
    .areas(f.area());
    f.render_widget(Paragraph::new(header(app, t)), head);
    f.render_widget(
        Paragraph::new(footer(app)).style(t.fg(Color::DarkGray)),
        foot,
    );
    draw_shards(f, app, t, shards);
    draw_tenants(f, app, t, tenants);
    draw_log(f, app, t, log);
    if let Some(d) = &app.dialog {
        draw_dialog(f, d, t);
    }
}

/// The shards pane: state, tenants, rate, lag, outbox, dead letters, heartbeat.
fn draw_shards(f: &mut Frame, app: &App, t: &Theme, area: Rect) {
    let rows: Vec<Row> = app
        .shard_rows()
        .iter()
        .map(|s| {
            let st = app.statuses.get(&s.shard_id);
            let health = app.shard_health(s);
            let lag: u64 = st
                .map(|st| {
                    st.tenants
                        .iter()
                        .flat_map(|x| &x.sagas)
                        .filter_map(|g| g.lag)
                        .sum()
                })
                .unwrap_or(0);
            Row::new(vec![
                Cell::from(s.shard_id.clone()),
                Cell::from(app.shard_state(s)).style(t.health(health)),
                Cell::from(s.tenants.len().to_string()),
                Cell::from(format!(
                    "{:.0}",
                    app.shard_rate.get(&s.shard_id).copied().unwrap_or(0.0)
                )),
                Cell::from(format!(
                    "{:.0}",
                    app.shard_read_rate.get(&s.shard_id).copied().unwrap_or(0.0)
                )),
                Cell::from(lag.to_string()),
                Cell::from(st.map(|x| x.outbox_depth.to_string()).unwrap_or("-".into())),
                Cell::from(
                    st.map(|x| x.totals.dead_lettered.to_string())
                        .unwrap_or("-".into()),
                ),
                Cell::from(age(app.now_ms.saturating_sub(s.heartbeat_at_ms))),
            ])
        })
        .collect();
    let n = rows.len();
    let table = Table::new(
        rows,
        [
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(5),
            Constraint::Length(6),
        ],
    )
    .header(
        Row::new([
            "SHARD", "STATE", "TENANTS", "EVENTS/S", "READ/S", "LAG", "OUTBOX", "DEAD", "BEAT",
        ])
        .style(Style::default().add_modifier(Modifier::BOLD)),
    )
    .row_highlight_style(t.selected())
    .highlight_symbol(">")
    .block(block(format!("shards ({n})"), app.focus == Pane::Shards, t));
    let mut state =
        TableState::default().with_selected((n > 0).then(|| app.selected_in(Pane::Shards)));
    f.render_stateful_widget(table, area, &mut state);
}

/// Tenants, grouped by owner, with a lag bar. Only the rows on screen are built: a fleet
/// has thousands of tenants and a frame must stay cheap.
fn draw_tenants(f: &mut Frame, app: &App, t: &Theme, area: Rect) {
    let trs = app.tenant_rows();
    let n = trs.len();
    let sel = app.selected_in(Pane::Tenants);
    let (first, visible) = window(sel, n, area.height.saturating_sub(3) as usize);
    let rows: Vec<Row> = trs[first..first + visible]
        .iter()
        .map(|r| {
            let flag = if r.moving {
                "moving"
            } else if r.mismatch {
                "MISMATCH"
            } else {
                ""
            };
            Row::new(vec![
                Cell::from(r.owner.clone().unwrap_or_else(|| "-".into())),
                Cell::from(r.tenant.clone()),
                Cell::from(r.desired.clone()),
                Cell::from(flag).style(if r.mismatch {
                    t.health("dead")
                } else {
                    t.health("warn")
                }),
                Cell::from(r.lag.map(|l| l.to_string()).unwrap_or("?".into())),
                Cell::from(bar(r.lag)).style(t.fg(Color::Magenta)),
                Cell::from(format!("{:.0}", r.rate)),
                Cell::from(r.checkpoints.clone()),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(5),
            Constraint::Fill(1),
        ],
    )
    .header(
        Row::new([
            "OWNER",
            "TENANT",
            "DESIRED",
            "",
            "LAG",
            "",
            "EV/S",
            "CHECKPOINTS",
        ])
        .style(Style::default().add_modifier(Modifier::BOLD)),
    )
    .row_highlight_style(t.selected())
    .highlight_symbol(">")
    .block(block(
        format!("tenants by shard ({n})"),
        app.focus == Pane::Tenants,
        t,
    ));
    let mut state = TableState::default().with_selected((n > 0).then_some(sel - first));
    f.render_stateful_widget(table, area, &mut state);
}

/// The change log: its latest lines.
fn draw_log(f: &mut Frame, app: &App, t: &Theme, area: Rect) {
    let h = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = app
        .log
        .iter()
        .skip(app.log.len().saturating_sub(h))
        .map(|l| Line::from(l.clone()))
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(block("changes".into(), app.focus == Pane::Log, t)),
        area,
    );
}

/// The rows to show of `n` with `sel` selected and `height` lines: (first, count). The
/// selection is kept on screen, as low as it needs to be.
fn window(sel: usize, n: usize, height: usize) -> (usize, usize) {
    let height = height.max(1);
    let first = (sel + 1)
        .saturating_sub(height)
        .min(n.saturating_sub(height));
    (first, n.saturating_sub(first).min(height))
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn buttons(ok: bool, t: &Theme) -> Line<'static> {
    let style = |on: bool| {
        if on {
            t.selected().add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        }
    };
    Line::from(vec![
        Span::styled(
            if !ok { " > Cancel < " } else { "   Cancel   " },
            style(!ok),
        ),
        Span::raw("   "),
        Span::styled(if ok { " > OK < " } else { "   OK   " }, style(ok)),
    ])
}

fn draw_dialog(f: &mut Frame, d: &Dialog, t: &Theme) {
    let (title, mut lines): (String, Vec<Line>) = match d {
        Dialog::Confirm {
            title, body, ok, ..
        } => {
            let mut l: Vec<Line> = body.iter().map(|b| Line::from(b.clone())).collect();
            l.push(Line::from(""));
            l.push(buttons(*ok, t));
            l.push(Line::from("←/→ choose · Enter confirm · Esc cancel"));
            (title.clone(), l)
        }
        Dialog::ReplaySetup {
            tenant,
            sagas,
            saga,
            mode,
            ..
        } => {
            let mut l = vec![Line::from(format!(
                "tenant {tenant}   saga ← {} →",
                sagas[*saga]
            ))];
            l.push(Line::from(""));
            for (i, m) in MODES.iter().enumerate() {
                let label = format!("{} {}", if i == *mode { ">" } else { " " }, m.as_str());
                l.push(Line::styled(
                    label,
                    if i == *mode {
                        t.selected()
                    } else {
                        Style::default()
                    },
                ));
            }
            l.push(Line::from(""));
            l.push(Line::from("Enter: preview (dry run) · Esc cancel"));
            ("Replay".into(), l)
        }
        Dialog::Planning {
            tenant, saga, mode, ..
        } => (
            "Replay".into(),
            vec![Line::from(format!(
                "asking for the dry run of {tenant}/{saga} ({})...",
                mode.as_str()
            ))],
        ),
        Dialog::ShardPicker {
            tenant,
            shards,
            idx,
        } => {
            let mut l = vec![Line::from(format!("move {tenant} to:"))];
            for (i, s) in shards.iter().enumerate() {
                let label = format!("{} {s}", if i == *idx { ">" } else { " " });
                l.push(Line::styled(
                    label,
                    if i == *idx {
                        t.selected()
                    } else {
                        Style::default()
                    },
                ));
            }
            l.push(Line::from(""));
            l.push(Line::from("Enter choose · Esc cancel"));
            ("Move".into(), l)
        }
    };
    // Height with wrapping: each line takes ceil(width / inner width) rows.
    let inner = 62usize
        .min(f.area().width.saturating_sub(2) as usize)
        .max(1);
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let area = centered(f.area(), 64, rows as u16 + 2);
    lines.truncate(area.height.saturating_sub(2) as usize);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

fn draw_help(f: &mut Frame, app: &App) {
    let keys = if app.offline.is_some() {
        OFFLINE_KEYS
    } else {
        KEYS
    };
    let mut lines: Vec<Line> = keys
        .iter()
        .filter(|k| !(k.mutating && app.readonly))
        .map(|k| Line::from(format!("{:<14} {}", k.keys, k.what)))
        .collect();
    lines.push(Line::from(""));
    if let Some(l) = &app.log_file {
        lines.push(Line::from(format!("log: {l}")));
    }
    lines.push(Line::from("any key closes this help"));
    let area = centered(f.area(), 52, lines.len() as u16 + 2);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title("keys")),
        area,
    );
}

fn draw_offline(f: &mut Frame, app: &App, o: &Offline, t: &Theme) {
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(f.area());
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                "runnerctl tui ",
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!("volume {} (read-only)", o.path)),
            Span::styled(
                o.note
                    .as_ref()
                    .map(|n| format!(" · {n}"))
                    .unwrap_or_default(),
                t.fg(Color::Yellow),
            ),
        ])),
        head,
    );
    let footer: Vec<&str> = OFFLINE_KEYS
        .iter()
        .filter(|k| !k.footer.is_empty())
        .map(|k| k.footer)
        .collect();
    f.render_widget(
        Paragraph::new(footer.join("  ")).style(t.fg(Color::DarkGray)),
        foot,
    );
    let title = o.title();
    if let Some(e) = &o.error {
        f.render_widget(
            Paragraph::new(vec![
                Line::styled(e.clone(), t.fg(Color::Red)),
                Line::from(""),
                Line::from("R reads again · Esc back · q quits"),
            ])
            .wrap(Wrap { trim: false })
            .block(block(title, true, t)),
            body,
        );
        return;
    }
    if o.header.is_empty() {
        f.render_widget(
            Paragraph::new(o.text.clone())
                .wrap(Wrap { trim: false })
                .block(block(title, true, t)),
            body,
        );
        return;
    }
    let widths: Vec<Constraint> = o.header.iter().map(|_| Constraint::Fill(1)).collect();
    let rows: Vec<Row> = o.rows.iter().map(|r| Row::new(r.clone())).collect();
    let n = rows.len();
    let table = Table::new(rows, widths)
        .header(Row::new(o.header.clone()).style(Style::default().add_modifier(Modifier::BOLD)))
        .row_highlight_style(t.selected())
        .highlight_symbol(">")
        .block(block(format!("{title} ({n})"), true, t));
    let mut state = TableState::default().with_selected((n > 0).then_some(o.selected.min(n - 1)));
    f.render_stateful_widget(table, body, &mut state);
    let _ = app;
}
