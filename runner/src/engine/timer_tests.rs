//! Timers against a real volume: a burst due in one millisecond, the place of a timer among
//! the events around its due time, and the same result live (any batching, any watermark
//! passes) and rebuilt by a catch-up reader.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use serde_json::json;
use shared::edge_storage::{
    DedupeRecord, InstanceRecord, OutboxEntry, ScheduleRecord, TableId, Volume, WriteOptions,
    decode_value, keys, meta,
};

use super::*;

fn sagas() -> SagaRegistry {
    SagaRegistry::from_toml(
        Path::new("sagas.toml"),
        include_str!("../../../docs/examples/sagas.toml"),
    )
    .unwrap()
}

const PAY_AFTER: u64 = 30_000;
const T0: u64 = 1_000_000;

struct Rig {
    engine: Engine,
    shared: Arc<SharedState>,
    cmds: mpsc::UnboundedReceiver<ReaderCmd>,
}

fn rig(vol: Arc<Volume>, owned: &[&str]) -> Rig {
    let (tx, cmds) = mpsc::unbounded_channel();
    let shared = Arc::new(SharedState::new());
    let owned: Vec<TenantId> = owned.iter().map(|t| TenantId::new(*t).unwrap()).collect();
    let engine = Engine::new(
        vol,
        sagas(),
        EngineConfig {
            layout: shared::layout::Layout::new("S", 0),
            stream_ids: vec!["S@1".into()],
            whole: vec![0],
            timer_grace: Duration::from_millis(250),
            shard: "a".into(),
            max_event_bytes: 1 << 20,
            queue_max_events: QUEUE_MAX_EVENTS,
            max_batch: 1000,
            defer_main_reader: false,
        },
        &owned,
        EngineLinks {
            metrics: Arc::new(Metrics::new()),
            shared: shared.clone(),
            readers: tx,
            outbox_notify: Arc::new(Notify::new()),
            stop: Arc::new(AtomicBool::new(false)),
            fence: Arc::new(Fence::open()),
        },
    )
    .unwrap();
    Rig {
        engine,
        shared,
        cmds,
    }
}

impl Rig {
    /// A watermark pass, as the ticker runs it; `idle`: the main reader says it is caught
    /// up (the watermark may follow the clock).
    fn tick(&mut self, idle: bool) {
        let c = if idle {
            (shared::now_ms(), self.engine.groups[0].pos)
        } else {
            (0, 0)
        };
        self.shared
            .confirmed
            .lock()
            .unwrap()
            .insert(ReaderId::Group(0), c);
        self.engine.tick();
        while self.engine.timer_backlog {
            self.engine.tick();
        }
    }
}

fn order(seq: u64, time_ms: u64, id: &str, ty: &str, key: &str) -> Msg {
    let body = json!({"id": id, "type": ty, "key": key, "data": {"amount": 5, "customer": "c"}});
    Msg {
        group: 0,
        seq,
        time_ms,
        subject: "evt.t1.order".into(),
        payload: Bytes::from(body.to_string()),
    }
}

/// Everything the volume holds for a tenant, as comparable values.
#[derive(Debug, PartialEq)]
struct Dump {
    instances: BTreeMap<String, InstanceRecord>,
    markers: BTreeMap<String, DedupeRecord>,
    timers: BTreeMap<Vec<u8>, ScheduleRecord>,
    /// msg id -> (subject, payload)
    outbox: BTreeMap<String, (String, Vec<u8>)>,
}

fn dump(vol: &Volume) -> Dump {
    vol.read(|r| {
        let mut d = Dump {
            instances: BTreeMap::new(),
            markers: BTreeMap::new(),
            timers: BTreeMap::new(),
            outbox: BTreeMap::new(),
        };
        r.scan(TableId::Sagas, &[], None, |k, v| {
            let (_, _, key) = keys::decode_three(k)?;
            d.instances.insert(key.to_string(), decode_value(v)?);
            Ok(true)
        })?;
        r.scan(TableId::Dedupe, &[], None, |k, v| {
            let (_, _, m) = keys::decode_dedupe(k)?;
            d.markers.insert(m.to_string(), decode_value(v)?);
            Ok(true)
        })?;
        r.scan(TableId::Schedules, &[], None, |k, v| {
            d.timers.insert(k.to_vec(), decode_value(v)?);
            Ok(true)
        })?;
        r.scan(TableId::Outbox, &[], None, |_, v| {
            let e: OutboxEntry = decode_value(v)?;
            let dup = d.outbox.insert(e.msg_id.clone(), (e.subject, e.payload));
            assert!(dup.is_none(), "two outbox entries with id {}", e.msg_id);
            Ok(true)
        })?;
        Ok::<_, StorageError>(d)
    })
    .unwrap()
}

fn new_vol(dir: &Path) -> Arc<Volume> {
    Arc::new(Volume::open_for_write(dir, &WriteOptions::new("a")).unwrap())
}

/// 200 orders placed in the same millisecond: 200 timers due in the same millisecond, each
/// its own. (Format 1 keyed a timer's marker and its commands' ids by timer name and due
/// time only: 2 of 200 fired.)
#[test]
fn a_burst_of_timers_due_in_the_same_millisecond_all_fire() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = new_vol(tmp.path());
    let mut r = rig(vol.clone(), &["t1"]);
    let msgs: Vec<Msg> = (1..=200)
        .map(|i| order(i, T0, &format!("o{i}"), "OrderPlaced", &format!("o{i}")))
        .collect();
    r.engine.main_batch(msgs);
    r.tick(true);
    let d = dump(&vol);
    assert_eq!(d.instances.len(), 200);
    assert!(d.instances.values().all(|i| i.state == "cancelled"));
    let fired = d
        .markers
        .values()
        .filter(|m| m.outcome == shared::edge_storage::Outcome::TimerFired)
        .count();
    assert_eq!(fired, 200);
    let cancels = d
        .outbox
        .values()
        .filter(|(s, _)| s == "cmd.t1.orders.cancel")
        .count();
    assert_eq!(cancels, 200, "200 cancel commands with 200 distinct ids");
    assert!(d.timers.is_empty());
}

/// A timer fires after the events of its tenant+saga stored before its due time and before
/// those stored at or after it, however the events are batched.
#[test]
fn a_timer_fires_between_the_events_its_due_time_falls_between() {
    let msgs = vec![
        order(1, T0, "p1", "OrderPlaced", "o1"),
        order(2, T0 + 1, "p2", "OrderPlaced", "o2"),
        order(3, T0 + 10_000, "c2", "PaymentCaptured", "o2"),
        // o1's timer is due at T0+30,000: it fires before this payment.
        order(4, T0 + 40_000, "c1", "PaymentCaptured", "o1"),
        order(5, T0 + 50_000, "p3", "OrderPlaced", "o3"),
        // Stored exactly at o3's due time: the timer comes first.
        order(6, T0 + 50_000 + PAY_AFTER, "c3", "PaymentCaptured", "o3"),
        order(7, T0 + 50_000 + PAY_AFTER, "p4", "OrderPlaced", "o4"),
        // One millisecond before o4's due time: the payment comes first.
        order(
            8,
            T0 + 80_000 + PAY_AFTER - 1,
            "c4",
            "PaymentCaptured",
            "o4",
        ),
    ];
    let states = |d: &Dump| -> Vec<(String, String)> {
        d.instances
            .iter()
            .map(|(k, i)| (k.clone(), i.state.clone()))
            .collect()
    };
    let want = vec![
        ("o1".to_string(), "cancelled".to_string()),
        ("o2".into(), "paid".into()),
        ("o3".into(), "cancelled".into()),
        ("o4".into(), "paid".into()),
    ];
    // One batch, no watermark pass in between.
    let one = tempfile::tempdir().unwrap();
    let vol = new_vol(one.path());
    let mut r = rig(vol.clone(), &["t1"]);
    r.engine.main_batch(msgs.clone());
    assert_eq!(states(&dump(&vol)), want);
    // One event per batch, with watermark passes (not idle) after each.
    let each = tempfile::tempdir().unwrap();
    let vol2 = new_vol(each.path());
    let mut r2 = rig(vol2.clone(), &["t1"]);
    for m in &msgs {
        r2.engine.main_batch(vec![m.clone()]);
        r2.tick(false);
    }
    assert_eq!(dump(&vol2), dump(&vol));
    r.tick(true);
    r2.tick(true);
    assert_eq!(dump(&vol2), dump(&vol));
}

/// A random history of orders, driven live (random batches, watermark passes at random
/// points) and rebuilt from scratch by a catch-up reader: the same instances, markers,
/// timers and commands.
#[test]
fn live_and_rebuilt_reach_the_same_state() {
    for seed in 0..60u64 {
        let mut rand = shared::devtools::Xorshift::new(seed).into_fn();
        let mut msgs = Vec::new();
        let mut time = T0;
        for seq in 1..=120u64 {
            time += [0, 1, 500, 9_000, 31_000][rand(5) as usize];
            let key = format!("o{}", rand(12));
            let ty = [
                "OrderPlaced",
                "PaymentCaptured",
                "OrderCancelled",
                "OrderShipped",
            ][rand(4) as usize];
            msgs.push(order(seq, time, &format!("e{seq}"), ty, &key));
        }
        // Live.
        let live = tempfile::tempdir().unwrap();
        let vol = new_vol(live.path());
        let mut r = rig(vol.clone(), &["t1"]);
        let mut i = 0;
        while i < msgs.len() {
            let n = 1 + rand(20) as usize;
            r.engine
                .main_batch(msgs[i..(i + n).min(msgs.len())].to_vec());
            i += n;
            if rand(2) == 0 {
                r.tick(false);
            }
        }
        r.tick(true);
        // Rebuilt: the volume has read past everything; t1 is new and catches up alone.
        let rebuilt = tempfile::tempdir().unwrap();
        let vol2 = new_vol(rebuilt.path());
        vol2.write(|w| w.set_meta_u64(meta::READER_POSITION, msgs.len() as u64))
            .unwrap();
        let mut r2 = rig(vol2.clone(), &["t1"]);
        let lane = loop {
            match r2.cmds.try_recv().expect("a lane is started") {
                ReaderCmd::Start {
                    reader: ReaderId::Lane(l),
                    ..
                } => break l,
                _ => continue,
            }
        };
        let mut i = 0;
        while i < msgs.len() {
            let n = 1 + rand(40) as usize;
            let end = (i + n).min(msgs.len());
            r2.engine
                .lane_batch(lane, msgs[i..end].to_vec(), end == msgs.len());
            i = end;
        }
        assert!(matches!(r2.engine.tenants.get("t1"), Some(Slot::Live)));
        r2.tick(true);
        assert_eq!(dump(&vol2), dump(&vol), "seed {seed}");
    }
}

/// Timers fired before a restart: the release after it still says they fired
/// (`timers_through_ms` at least their due time), and the volume's record of it goes with
/// the release. (It was the watermark of the process alone: after a restart the release
/// reported 0 for timers long fired. Found by the checker, seed 258.)
#[test]
fn a_release_after_a_restart_reports_the_timers_fired_before_it() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = new_vol(tmp.path());
    let mut r = rig(vol.clone(), &["t1"]);
    r.engine.main_batch(vec![
        order(1, T0, "p1", "OrderPlaced", "o1"),
        order(2, T0 + 5, "p2", "OrderPlaced", "o2"),
    ]);
    r.tick(true);
    assert!(
        dump(&vol)
            .instances
            .values()
            .all(|i| i.state == "cancelled")
    );
    drop(r);
    let mut r = rig(vol.clone(), &["t1"]);
    let released = r.engine.release(vec![TenantId::new("t1").unwrap()]);
    let through = released[0].1.expect("served").timers_through_ms;
    assert!(
        through >= T0 + 5 + PAY_AFTER,
        "timers due at {} fired before the restart; the release says through {through}",
        T0 + 5 + PAY_AFTER
    );
    let kept = vol
        .read(|r| r.meta_u64(&meta::fired_through("t1")))
        .unwrap();
    assert_eq!(kept, None, "released: the record goes with it");
}
