//! Snapshot tests of every screen and dialog: the app driven by data messages and key
//! events, drawn on ratatui's TestBackend at 80x24 (and a resize), compared with the files in
//! `src/tui/snapshots/` (`UPDATE_SNAPSHOTS=1 cargo test -p runnerctl tui` rewrites them).
//! Times are fixed, so nothing in a snapshot depends on the clock.

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;
use shared::placement::{ClaimRecord, ClaimState, ShardRecord};
use shared::wire::{ReplayMode, StatusResponse};

use super::app::{App, Dialog, Effect, Fleet, Msg};
use super::offline::{Level, Offline};
use super::ui::{Theme, draw};

const NOW: u64 = 1_795_600_000_000;

fn shard(id: &str, state: &str, tenants: &[&str], beat_ago: u64) -> ShardRecord {
    ShardRecord {
        shard_id: id.into(),
        admin_url: format!(
            "http://127.0.0.1:{}",
            if id == "shard-a" { 7070 } else { 7071 }
        ),
        version: "0.1.0".into(),
        state: serde_json::from_value(json!(state)).expect("a runner state"),
        host: "vm".into(),
        pid: 42,
        started_at_ms: NOW - 60_000,
        heartbeat_at_ms: NOW - beat_ago,
        lease_ms: 15_000,
        tenants: tenants.iter().map(|t| t.to_string()).collect(),
        counters: Default::default(),
        events_read: 0,
        volume_id: "v".into(),
    }
}

fn status(
    shard: &str,
    state: &str,
    tenants: &[(&str, u64, u64)],
    applied: u64,
) -> Box<StatusResponse> {
    let ts: Vec<serde_json::Value> = tenants
        .iter()
        .map(|(t, cp, lag)| {
            json!({"tenant": t, "mode": "live", "consumer": null, "outbox_depth": 0, "timers_pending": 0,
                "sagas": [{"saga": "order", "declared": true, "checkpoint": cp, "stream_last_seq": cp + lag, "lag": lag,
                    "counters": {"applied": applied, "deduped": 0, "skipped": 0, "ignored": 0, "dead_lettered": 0, "timers_fired": 0}}]})
        })
        .collect();
    Box::new(
        serde_json::from_value(json!({
            "shard_id": shard, "version": "0.1.0", "state": state, "started_at_ms": NOW - 60_000,
            "nats": {"url": "nats://127.0.0.1:4222", "connected": true}, "stream": "RUNNER_EVENTS",
            "stream_last_seq": 900, "reader": {"consumer": null, "position": 880}, "tenants": ts,
            "totals": {"applied": applied, "deduped": 0, "skipped": 0, "ignored": 0, "dead_lettered": 1, "timers_fired": 0},
            "events_read": applied * 4,
            "invalid_subjects": 0, "outbox_depth": 3, "timers_pending": 0,
            "volume": {"path": "/v", "file_bytes": 1, "used_bytes": 1}, "problems": []
        }))
        .expect("a status"),
    )
}

fn claim(shard: &str) -> ClaimRecord {
    ClaimRecord {
        shard: shard.into(),
        state: ClaimState::Active,
        position: 0,
        updated_at_ms: NOW,
        volume_id: None,
        stream_id: None,
        timers_through_ms: 0,
        restored_from: None,
    }
}

/// A fleet: shard-a serving acme and initech, shard-b draining with globex, and zeta
/// placed on shard-b but still served by shard-a (a mismatch).
fn fleet_app(readonly: bool) -> App {
    let mut app = App::new(
        "nats://127.0.0.1:4222".into(),
        readonly,
        Duration::from_secs(2),
    );
    app.update(Msg::Conn(true, "connected".into()));
    app.update(Msg::Tick(NOW - 2000));
    app.update(Msg::Fleet(Fleet {
        shards: vec![
            shard("shard-a", "running", &["acme", "initech", "zeta"], 1200),
            shard("shard-b", "draining", &["globex"], 800),
        ],
        placements: [
            ("acme", "shard-a"),
            ("globex", "shard-b"),
            ("initech", "shard-a"),
            ("zeta", "shard-b"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect(),
        claims: [
            ("acme", "shard-a"),
            ("globex", "shard-b"),
            ("initech", "shard-a"),
            ("zeta", "shard-a"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), claim(b)))
        .collect(),
        garbage: vec![],
    }));
    app.update(Msg::Status(
        "shard-a".into(),
        Ok(status(
            "shard-a",
            "running",
            &[("acme", 700, 0), ("initech", 650, 12), ("zeta", 10, 4000)],
            100,
        )),
    ));
    app.update(Msg::Status(
        "shard-b".into(),
        Ok(status("shard-b", "draining", &[("globex", 880, 0)], 50)),
    ));
    app.update(Msg::Tick(NOW));
    app.update(Msg::Status(
        "shard-a".into(),
        Ok(status(
            "shard-a",
            "running",
            &[("acme", 700, 0), ("initech", 650, 12), ("zeta", 10, 4000)],
            300,
        )),
    ));
    app.update(Msg::Log("shard-b is draining (was running)".into()));
    app
}

fn key(app: &mut App, code: KeyCode) -> Option<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn render(app: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| draw(f, app, &Theme { color: false }))
        .expect("draw");
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let line: String = (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn snapshot(name: &str, text: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/tui/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        want == text,
        "snapshot {name} differs (UPDATE_SNAPSHOTS=1 cargo test -p runnerctl tui to accept):\n--- want\n{want}\n--- got\n{text}"
    );
}

#[test]
fn fleet_view() {
    let app = fleet_app(false);
    let s = render(&app, 80, 24);
    assert!(s.contains("shard-b") && s.contains("draining"), "{s}");
    assert!(
        s.contains("MISMATCH"),
        "zeta is served by shard-a but placed on shard-b:\n{s}"
    );
    snapshot("fleet", &s);
    snapshot("fleet_wide", &render(&app, 120, 30));
}

#[test]
fn panes_and_filter() {
    let mut app = fleet_app(false);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('j'));
    snapshot("tenants_focus", &render(&app, 80, 24));
    key(&mut app, KeyCode::Char('/'));
    for c in "glo".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let s = render(&app, 80, 24);
    assert!(s.contains("filter: glo") && !s.contains("acme"), "{s}");
    snapshot("filter", &s);
    key(&mut app, KeyCode::Esc);
    assert!(app.filter.is_empty());
}

#[test]
fn help_lists_the_key_registry() {
    let mut app = fleet_app(false);
    key(&mut app, KeyCode::Char('?'));
    let s = render(&app, 80, 24);
    assert!(
        s.contains("drain shard") && s.contains("any key closes"),
        "{s}"
    );
    snapshot("help", &s);
    key(&mut app, KeyCode::Char('x'));
    assert!(!app.help);
}

#[test]
fn drain_dialog_opens_on_cancel() {
    let mut app = fleet_app(false);
    assert_eq!(key(&mut app, KeyCode::Char('d')), None);
    let s = render(&app, 80, 24);
    assert!(
        s.contains("Drain shard-a?") && s.contains("> Cancel <"),
        "{s}"
    );
    snapshot("drain_dialog", &s);
    // Enter on Cancel does nothing.
    assert_eq!(key(&mut app, KeyCode::Enter), None);
    assert!(app.dialog.is_none());
    key(&mut app, KeyCode::Char('d'));
    key(&mut app, KeyCode::Right);
    snapshot("drain_dialog_ok", &render(&app, 80, 24));
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        Some(Effect::Drain {
            shard: "shard-a".into(),
            url: "http://127.0.0.1:7070".into()
        })
    );
}

#[test]
fn replay_picks_saga_and_mode_and_shows_the_dry_run() {
    let mut app = fleet_app(false);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('p'));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    snapshot("replay_setup", &render(&app, 80, 24));
    let e = key(&mut app, KeyCode::Enter);
    assert_eq!(
        e,
        Some(Effect::PlanReplay {
            url: "http://127.0.0.1:7070".into(),
            tenant: "acme".into(),
            saga: "order".into(),
            mode: ReplayMode::FullReset
        })
    );
    let plan = serde_json::from_value(json!({
        "tenant_id": "acme", "saga_name": "order", "mode": "full_reset",
        "deletes": {"checkpoints": 1, "dedupe": 700, "instances": 40, "outbox": 0, "timers": 3},
        "stream": {"subject": "evt.acme.order", "first_seq": 1, "last_seq": 700, "events": 700, "stream_first_seq": 1},
        "warnings": []
    }))
    .unwrap();
    app.update(Msg::ReplayPlan(Ok(Box::new(plan))));
    let s = render(&app, 80, 24);
    assert!(s.contains("dedupe 700") && s.contains("> Cancel <"), "{s}");
    snapshot("replay_confirm", &s);
    key(&mut app, KeyCode::Left);
    assert!(matches!(
        key(&mut app, KeyCode::Enter),
        Some(Effect::Replay {
            mode: ReplayMode::FullReset,
            ..
        })
    ));
}

#[test]
fn move_offers_healthy_shards_only() {
    let mut app = fleet_app(false);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('m'));
    // shard-b drains: no healthy shard other than the owner.
    assert!(app.dialog.is_none());
    assert!(app.log.back().unwrap().contains("no other healthy shard"));
    app.update(Msg::Fleet(Fleet {
        shards: vec![
            shard("shard-a", "running", &["acme"], 100),
            shard("shard-b", "running", &[], 100),
            shard("shard-c", "running", &[], 100),
        ],
        ..app.fleet.clone()
    }));
    app.update(Msg::Status(
        "shard-b".into(),
        Ok(status("shard-b", "running", &[], 50)),
    ));
    app.update(Msg::Status(
        "shard-c".into(),
        Ok(status("shard-c", "running", &[], 50)),
    ));
    key(&mut app, KeyCode::Char('m'));
    let Some(Dialog::ShardPicker { shards, .. }) = &app.dialog else {
        panic!("a picker")
    };
    assert_eq!(shards, &vec!["shard-b".to_string(), "shard-c".to_string()]);
    key(&mut app, KeyCode::Down);
    snapshot("move_picker", &render(&app, 80, 24));
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Right);
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        Some(Effect::Move {
            tenant: "acme".into(),
            to: "shard-c".into()
        })
    );
}

#[test]
fn readonly_offers_no_action() {
    let mut app = fleet_app(true);
    let s = render(&app, 80, 24);
    assert!(
        s.contains("[read-only]") && !s.contains("drain shard"),
        "{s}"
    );
    snapshot("readonly", &s);
    assert_eq!(key(&mut app, KeyCode::Char('d')), None);
    assert!(app.dialog.is_none());
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('m'));
    key(&mut app, KeyCode::Char('p'));
    assert!(app.dialog.is_none());
}

#[test]
fn disconnected_header_and_tiny_terminal() {
    let mut app = fleet_app(false);
    app.update(Msg::Conn(false, "connection refused".into()));
    let s = render(&app, 80, 24);
    assert!(s.contains("connection refused"), "{s}");
    snapshot("disconnected", &s);
    // A terminal far below 80x24 still draws (no panic).
    let _ = render(&app, 20, 6);
}

#[test]
fn offline_view() {
    let mut app = App::new(String::new(), true, Duration::from_secs(2));
    app.offline = Some(Offline::fixed(
        "/var/lib/runner/shard-a",
        Level::Tenants,
        vec!["TENANT", "INSTANCES", "DEDUPE", "OUTBOX", "TIMERS"],
        vec![
            vec![
                "acme".into(),
                "40".into(),
                "700".into(),
                "0".into(),
                "3".into(),
            ],
            vec![
                "globex".into(),
                "12".into(),
                "90".into(),
                "1".into(),
                "0".into(),
            ],
        ],
        "",
    ));
    key(&mut app, KeyCode::Char('j'));
    snapshot("offline_tenants", &render(&app, 80, 24));
    app.offline = Some(Offline::fixed(
        "/var/lib/runner/shard-a",
        Level::Instance {
            tenant: "acme".into(),
            saga: "order".into(),
            key: "o1".into(),
        },
        vec![],
        vec![],
        "state paid  version 2  last seq 14 (acme-c1)\n\n{\n  \"amount\": 10\n}",
    ));
    let s = render(&app, 80, 24);
    assert!(
        s.contains("acme › order › o1") && s.contains("\"amount\": 10"),
        "{s}"
    );
    snapshot("offline_instance", &s);
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

#[test]
fn garbage_in_the_registry_is_said_once_and_the_rest_still_shows() {
    let mut app = fleet_app(false);
    let bad = "registry record 'shard-x' is not a shard record (expected value at line 1 column 1); ignored".to_string();
    for _ in 0..3 {
        app.update(Msg::Fleet(Fleet {
            garbage: vec![bad.clone()],
            ..app.fleet.clone()
        }));
    }
    assert_eq!(app.log.iter().filter(|l| **l == bad).count(), 1);
    let s = render(&app, 80, 24);
    assert!(
        s.contains("shard-a") && s.contains("not a shard record"),
        "{s}"
    );
}

/// A volume written through edge_storage, browsed page by page through the loader thread,
/// as `runnerctl tui --volume` does.
#[tokio::test]
async fn offline_pages_have_no_gaps_or_repeats_and_a_wrong_path_is_shown_in_place() {
    use shared::edge_storage::{InstanceRecord, StorageError, Volume, WriteOptions};
    let dir = tempfile::tempdir().unwrap();
    let n = super::offline::PAGE * 2 + 17;
    {
        let v = Volume::open_for_write(dir.path(), &WriteOptions::new("shard-a")).unwrap();
        v.write(|w| {
            for i in 0..n {
                let rec = InstanceRecord {
                    state: "open".into(),
                    version: 1,
                    created_at_ms: 1,
                    updated_at_ms: 1,
                    last_seq: i as u64,
                    last_event_id: format!("e{i}"),
                    data: format!(r#"{{"i":{i}}}"#),
                    timers: vec![],
                    history: vec![],
                };
                w.put_instance("acme", "order", &format!("o{i:05}"), &rec, true)?;
            }
            Ok::<_, StorageError>(())
        })
        .unwrap();
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let loader = super::offline::spawn_loader(
        dir.path().to_path_buf(),
        false,
        super::offline_pages(tx.clone()),
    );
    let mut app = App::new(String::new(), true, Duration::from_secs(2));
    app.offline = Some(Offline::new("vol".into(), Some(loader)));
    async fn settle(app: &mut App, rx: &mut tokio::sync::mpsc::UnboundedReceiver<Msg>) {
        while app.offline.as_ref().unwrap().loading {
            let m = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("a page within 10 s")
                .unwrap();
            app.update(m);
        }
    }
    settle(&mut app, &mut rx).await;
    let o = app.offline.as_ref().unwrap();
    assert_eq!(o.rows, vec![vec!["acme", &n.to_string(), "0", "0", "0"]]);
    key(&mut app, KeyCode::Enter);
    settle(&mut app, &mut rx).await;
    key(&mut app, KeyCode::Enter);
    settle(&mut app, &mut rx).await;
    let mut seen: Vec<String> = vec![];
    loop {
        let o = app.offline.as_ref().unwrap();
        assert!(o.error.is_none(), "{:?}", o.error);
        seen.extend(o.rows.iter().map(|r| r[0].clone()));
        if !o.more() {
            break;
        }
        assert!(
            o.title().contains(&format!("page {}", o.page)),
            "{}",
            o.title()
        );
        key(&mut app, KeyCode::Char(']'));
        settle(&mut app, &mut rx).await;
    }
    let want: Vec<String> = (0..n).map(|i| format!("o{i:05}")).collect();
    assert_eq!(seen, want, "every instance once, in order");
    assert_eq!(app.offline.as_ref().unwrap().page, 3);
    // Back one page, then open an instance: its state as pretty JSON.
    key(&mut app, KeyCode::Char('['));
    settle(&mut app, &mut rx).await;
    let o = app.offline.as_ref().unwrap();
    assert_eq!(o.rows[0][0], format!("o{:05}", super::offline::PAGE));
    key(&mut app, KeyCode::Enter);
    settle(&mut app, &mut rx).await;
    let s = render(&app, 80, 24);
    assert!(
        s.contains(&format!("\"i\": {}", super::offline::PAGE)),
        "{s}"
    );

    // A path with no volume: said in place, the dashboard still answers keys.
    let loader =
        super::offline::spawn_loader(dir.path().join("nope"), false, super::offline_pages(tx));
    let mut app = App::new(String::new(), true, Duration::from_secs(2));
    app.offline = Some(Offline::new("nope".into(), Some(loader)));
    settle(&mut app, &mut rx).await;
    let s = render(&app, 80, 24);
    assert!(s.contains("no volume at"), "{s}");
    assert!(s.contains("R reads again"), "{s}");
    key(&mut app, KeyCode::Char('?'));
    assert!(render(&app, 80, 24).contains("next/previous page"));
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

#[test]
fn a_tenant_being_moved_is_flagged_moving_not_mismatched() {
    let mut app = fleet_app(false);
    let mut placements = app.fleet.placements.clone();
    placements.insert("acme".into(), "moving:shard-a:shard-b".into());
    app.update(Msg::Fleet(Fleet {
        placements,
        ..app.fleet.clone()
    }));
    let s = render(&app, 100, 30);
    let line = s.lines().find(|l| l.contains("acme")).expect("an acme row");
    assert!(
        line.contains("moving") && !line.contains("MISMATCH"),
        "{line}"
    );
}

#[test]
fn a_long_tenant_list_scrolls_with_the_selection() {
    let mut app = fleet_app(false);
    let placements = (0..300)
        .map(|i| (format!("t{i:03}"), "shard-a".to_string()))
        .collect();
    app.update(Msg::Fleet(Fleet {
        placements,
        ..app.fleet.clone()
    }));
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('G'));
    let s = render(&app, 80, 24);
    assert!(
        s.lines().any(|l| l.contains('>') && l.contains("t299")),
        "the last tenant is on screen and selected: {s}"
    );
    assert!(!s.contains("t000"), "{s}");
    key(&mut app, KeyCode::Char('g'));
    let s = render(&app, 80, 24);
    // (the change log still names t299; the tenants pane does not)
    let rows = |s: &str, t: &str| s.lines().any(|l| l.contains(t) && l.contains("MISMATCH"));
    assert!(rows(&s, "t000") && !rows(&s, "t299"), "{s}");
    // The filter narrows the list at once.
    key(&mut app, KeyCode::Char('/'));
    for c in "t29".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_eq!(app.tenant_rows().len(), 10);
}

#[test]
fn a_cordoned_shard_says_so_in_the_shards_pane() {
    let mut app = fleet_app(false);
    let mut st = status("shard-a", "running", &[("acme", 700, 0)], 100);
    st.cordon = Some(shared::placement::CordonRecord {
        shard: "shard-a".into(),
        reason: Some("disk swap".into()),
        by: "ops@vm".into(),
        at_ms: NOW - 60_000,
    });
    app.update(Msg::Status("shard-a".into(), Ok(st)));
    let s = render(&app, 120, 30);
    let row = s
        .lines()
        .find(|l| l.contains("shard-a"))
        .unwrap_or_default();
    assert!(row.contains("cordoned"), "shard-a's row:\n{s}");
    let row_b = s
        .lines()
        .find(|l| l.contains("shard-b"))
        .unwrap_or_default();
    assert!(!row_b.contains("cordoned"), "shard-b is not:\n{s}");
}
