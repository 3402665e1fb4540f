//! The engine against a real volume, driven directly with reader batches in random
//! interleavings: a tenant that catches up and is handed to the main reader must end with
//! every one of its events applied exactly once, whatever the order in which the two
//! readers deliver, and however small the catch-up queue.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use bytes::Bytes;
use serde_json::{Value, json};
use shared::edge_storage::{TableCode, Volume, WriteOptions};

use super::*;

fn xorshift(seed: u64) -> impl FnMut(u64) -> u64 {
    shared::devtools::Xorshift::new(seed).into_fn()
}

fn sagas() -> SagaRegistry {
    SagaRegistry::from_toml(
        Path::new("sagas.toml"),
        include_str!("../../../docs/examples/sagas.toml"),
    )
    .unwrap()
}

fn tid(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

struct Rig {
    engine: Engine,
    cmds: mpsc::UnboundedReceiver<ReaderCmd>,
}

fn rig(vol: Arc<Volume>, owned: &[&str], queue_max: usize) -> Rig {
    rig_fenced(vol, owned, queue_max, Arc::new(Fence::open()))
}

fn rig_fenced(vol: Arc<Volume>, owned: &[&str], queue_max: usize, fence: Arc<Fence>) -> Rig {
    let (tx, cmds) = mpsc::unbounded_channel();
    let owned: Vec<TenantId> = owned.iter().map(|t| tid(t)).collect();
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
            queue_max_events: queue_max,
            max_batch: 1000,
            defer_main_reader: false,
        },
        &owned,
        EngineLinks {
            metrics: Arc::new(Metrics::new()),
            shared: Arc::new(SharedState::new()),
            readers: tx,
            outbox_notify: Arc::new(Notify::new()),
            stop: Arc::new(AtomicBool::new(false)),
            fence,
        },
    )
    .unwrap();
    Rig { engine, cmds }
}

fn stream(n: u64, rand: &mut impl FnMut(u64) -> u64) -> Vec<Msg> {
    (1..=n)
        .map(|seq| {
            let t = ["t1", "t2", "t3"][rand(3) as usize];
            let acc = format!("a{}", rand(4));
            let body = json!({"id": format!("e{seq}"), "type": "Deposited", "key": acc, "data": {"amount": seq}});
            Msg {
                group: 0,
                seq,
                time_ms: 1,
                subject: format!("evt.{t}.account"),
                payload: Bytes::from(body.to_string()),
            }
        })
        .collect()
}

/// (tenant, account) -> (balance, version) expected after applying `msgs` of `tenants`.
fn expected(msgs: &[Msg], tenants: &[&str]) -> BTreeMap<(String, String), (u64, u64)> {
    let mut out = BTreeMap::new();
    for m in msgs {
        let t = m.subject.split('.').nth(1).unwrap();
        if !tenants.contains(&t) {
            continue;
        }
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        let e = out
            .entry((t.to_string(), v["key"].as_str().unwrap().to_string()))
            .or_insert((0, 0));
        e.0 += m.seq;
        e.1 += 1;
    }
    out
}

fn actual(vol: &Volume) -> BTreeMap<(String, String), (u64, u64)> {
    let mut out = BTreeMap::new();
    vol.read(|r| {
        for t in ["t1", "t2", "t3"] {
            for a in 0..4 {
                let key = format!("a{a}");
                if let Some(rec) = r.instance(t, "account", &key)? {
                    let d: Value = serde_json::from_str(&rec.data).unwrap();
                    out.insert(
                        (t.to_string(), key),
                        (d["balance"].as_u64().unwrap(), rec.version),
                    );
                }
            }
        }
        Ok::<_, StorageError>(())
    })
    .unwrap();
    out
}

fn lane_of(engine: &Engine, t: &str) -> Option<u64> {
    match engine.tenants.get(t) {
        Some(Slot::CatchingUp(cu)) => Some(cu.lane),
        _ => None,
    }
}

/// One run: `t1` is served from the start; after `k` events `t2` is added and must catch
/// up while the main reader goes on.
fn run_scenario(seed: u64, n: u64, queue_max: usize) {
    let mut rand = xorshift(seed);
    let msgs = stream(n, &mut rand);
    let k = 1 + rand(n / 2);
    let tmp = tempfile::tempdir().unwrap();
    let vol = Arc::new(Volume::open_for_write(tmp.path(), &WriteOptions::new("a")).unwrap());
    {
        let mut r = rig(vol.clone(), &["t1"], queue_max);
        r.engine.main_batch(msgs[..k as usize].to_vec());
    }
    let mut r = rig(vol.clone(), &["t1", "t2"], queue_max);
    let mut main_started = false;
    let mut lane: Option<u64> = None;
    while let Ok(cmd) = r.cmds.try_recv() {
        match cmd {
            ReaderCmd::Start {
                reader: ReaderId::Group(0),
                start_seq,
                ..
            } => {
                assert_eq!(start_seq, k + 1);
                main_started = true;
            }
            ReaderCmd::Start {
                reader: ReaderId::Lane(l),
                tenant,
                start_seq,
                ..
            } => {
                assert_eq!(tenant.as_ref().map(|t| t.as_str()), Some("t2"));
                assert_eq!(
                    start_seq, 1,
                    "a tenant never served starts at the first event"
                );
                lane = Some(l);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(main_started);
    let lane = lane.expect("t2 catches up on a lane");
    let t2: Vec<&Msg> = msgs
        .iter()
        .filter(|m| m.subject.starts_with("evt.t2."))
        .collect();
    // What each reader fetched but the engine has not taken yet (the channel), so that a
    // lane's "nothing pending" can be older than what the main reader delivered since.
    let mut main_fifo: VecDeque<Vec<Msg>> = VecDeque::new();
    let mut lane_fifo: VecDeque<(Vec<Msg>, bool)> = VecDeque::new();
    let (mut visible, mut main_next, mut lane_next) = (k, k + 1, 1u64);
    let mut stopped = false;
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps < 100_000, "seed {seed}: no progress");
        let live = lane_of(&r.engine, "t2").is_none();
        if live && main_next > n && main_fifo.is_empty() {
            break;
        }
        match rand(6) {
            0 => visible = (visible + 1 + rand(6)).min(n),
            1 if main_next <= visible => {
                let end = (main_next + rand(8)).min(visible);
                main_fifo.push_back(msgs[(main_next - 1) as usize..end as usize].to_vec());
                main_next = end + 1;
            }
            2 => {
                if let Some(b) = main_fifo.pop_front() {
                    r.engine.main_batch(b);
                }
            }
            3 if !live || rand(4) == 0 => {
                // The lane fetches t2's next events; after the hand-over these are stale and
                // must be ignored.
                let take = 1 + rand(6) as usize;
                let batch: Vec<Msg> = t2
                    .iter()
                    .filter(|m| m.seq >= lane_next && m.seq <= visible)
                    .take(take)
                    .map(|m| (*m).clone())
                    .collect();
                if let Some(last) = batch.last() {
                    lane_next = last.seq + 1;
                }
                let caught_up = !t2.iter().any(|m| m.seq >= lane_next && m.seq <= visible);
                lane_fifo.push_back((batch, caught_up));
            }
            4 => {
                if let Some((b, caught_up)) = lane_fifo.pop_front() {
                    r.engine.lane_batch(lane, b, caught_up);
                }
            }
            _ => {}
        }
        if lane_of(&r.engine, "t2").is_none() && !stopped {
            match r.cmds.try_recv() {
                Ok(ReaderCmd::Stop(ReaderId::Lane(l))) if l == lane => stopped = true,
                other => panic!("seed {seed}: going live must stop the lane, got {other:?}"),
            }
        }
    }
    assert!(stopped);
    assert_eq!(actual(&vol), expected(&msgs, &["t1", "t2"]), "seed {seed}");
    let markers = vol
        .read(|r| r.count("t2", "account", TableCode::Dedupe))
        .unwrap();
    assert_eq!(markers, t2.len() as u64, "seed {seed}");
    let cursor = vol.read(|r| r.cursor("t2")).unwrap().unwrap();
    assert_eq!(cursor.mode, CursorMode::Live);
}

#[test]
fn catch_up_hands_over_exactly_once_in_any_interleaving() {
    for seed in 0..150 {
        run_scenario(seed, 60, QUEUE_MAX_EVENTS);
    }
}

#[test]
fn catch_up_survives_an_overflowing_queue() {
    for seed in 1000..1150 {
        run_scenario(seed, 60, 2);
    }
}

#[test]
fn released_tenants_resume_where_they_left_off() {
    let mut rand = xorshift(7);
    let msgs = stream(90, &mut rand);
    let tmp = tempfile::tempdir().unwrap();
    let vol = Arc::new(Volume::open_for_write(tmp.path(), &WriteOptions::new("a")).unwrap());
    {
        let mut r = rig(vol.clone(), &["t1", "t2"], 100);
        r.engine.main_batch(msgs[..30].to_vec());
    }
    {
        // t2 is released at 30 while 30..60 are applied for t1 only.
        let mut r = rig(vol.clone(), &["t1"], 100);
        let c = vol.read(|r| r.cursor("t2")).unwrap().unwrap();
        assert_eq!((c.mode, c.seq), (CursorMode::Released, 30));
        r.engine.main_batch(msgs[30..60].to_vec());
    }
    let mut r = rig(vol.clone(), &["t1", "t2"], 100);
    let mut lane_start = None;
    while let Ok(cmd) = r.cmds.try_recv() {
        if let ReaderCmd::Start {
            reader: ReaderId::Lane(l),
            start_seq,
            ..
        } = cmd
        {
            lane_start = Some((l, start_seq));
        }
    }
    let (lane, start) = lane_start.expect("t2 catches up");
    assert_eq!(start, 31, "from the released position on");
    let t2_missed: Vec<Msg> = msgs[30..60]
        .iter()
        .filter(|m| m.subject.starts_with("evt.t2."))
        .cloned()
        .collect();
    r.engine.lane_batch(lane, t2_missed, true);
    assert!(
        lane_of(&r.engine, "t2").is_none(),
        "caught up with an empty queue"
    );
    r.engine.main_batch(msgs[60..].to_vec());
    assert_eq!(actual(&vol), expected(&msgs, &["t1", "t2"]));
}

struct Panics {
    name: shared::ids::SagaName,
}

impl crate::saga::Saga for Panics {
    fn name(&self) -> &shared::ids::SagaName {
        &self.name
    }
    fn initial_state(&self) -> &str {
        "new"
    }
    fn handle(
        &self,
        _: &crate::saga::EventView<'_>,
        _: &crate::saga::InstanceView<'_>,
    ) -> Result<crate::saga::Decision, String> {
        panic!("bug in saga code")
    }
}

#[test]
fn a_panicking_saga_dead_letters_the_event_instead_of_crashing() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = Arc::new(Volume::open_for_write(tmp.path(), &WriteOptions::new("a")).unwrap());
    let mut r = rig(vol.clone(), &["t1"], 100);
    let mut reg = sagas();
    reg.add(Arc::new(Panics {
        name: shared::ids::SagaName::new("boom").unwrap(),
    }))
    .unwrap();
    r.engine.sagas = reg;
    let body = json!({"id": "e1", "type": "X", "key": "k"}).to_string();
    let next =
        json!({"id": "e2", "type": "Deposited", "key": "a0", "data": {"amount": 2}}).to_string();
    r.engine.main_batch(vec![
        Msg {
            group: 0,
            seq: 1,
            time_ms: 1,
            subject: "evt.t1.boom".into(),
            payload: Bytes::from(body),
        },
        Msg {
            group: 0,
            seq: 2,
            time_ms: 1,
            subject: "evt.t1.account".into(),
            payload: Bytes::from(next),
        },
    ]);
    let (dlq, cp) = vol
        .read(|r| Ok::<_, StorageError>((r.outbox_batch(None, 10)?, r.checkpoint("t1", "boom")?)))
        .unwrap();
    let dead: Vec<_> = dlq
        .iter()
        .filter(|(_, e)| e.subject == "dlq.t1.boom")
        .collect();
    assert_eq!(dead.len(), 1);
    let reason = &dead[0]
        .1
        .headers
        .iter()
        .find(|(k, _)| k == "Runner-Dlq-Reason")
        .unwrap()
        .1;
    assert!(reason.contains("panicked: bug in saga code"), "{reason}");
    assert_eq!(cp.unwrap().seq, 1, "the checkpoint moves past it");
    assert_eq!(
        actual(&vol)[&("t1".to_string(), "a0".to_string())],
        (2, 1),
        "the next event is applied"
    );
}

/// Finding 10: the lease fence was checked once per commit, before the first attempt, so a
/// commit retried for long (a full disk) could land after the lease expired, when another
/// runner may serve the shard. Both a failed attempt and one that outlived the fence must
/// wait for the lease to be confirmed again.
#[test]
fn a_commit_never_lands_while_the_lease_is_unconfirmed() {
    for fail_first in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let vol = Arc::new(Volume::open_for_write(tmp.path(), &WriteOptions::new("a")).unwrap());
        let fence = Arc::new(Fence::closed());
        fence.extend(Instant::now(), Duration::from_millis(100));
        let mut r = rig_fenced(vol.clone(), &["t1"], 100, fence.clone());
        let reopened = Arc::new(std::sync::Mutex::new(None::<Instant>));
        let t = std::thread::spawn({
            let (fence, reopened) = (fence.clone(), reopened.clone());
            move || {
                std::thread::sleep(Duration::from_millis(500));
                *reopened.lock().unwrap() = Some(Instant::now());
                fence.extend(Instant::now(), Duration::from_secs(30));
            }
        });
        let mut calls = 0;
        let landed = r
            .engine
            .commit(|w, _| {
                calls += 1;
                if calls == 1 {
                    // The attempt outlives the fence, then fails or completes.
                    std::thread::sleep(Duration::from_millis(200));
                    if fail_first {
                        return Err(StorageError::Corrupt("disk full (simulated)".into()));
                    }
                }
                w.set_meta_u64("probe", calls)?;
                Ok(Instant::now())
            })
            .unwrap();
        t.join().unwrap();
        let reopened = reopened.lock().unwrap().unwrap();
        assert!(
            landed >= reopened,
            "fail_first={fail_first}: committed {:?} before the lease was confirmed",
            reopened - landed
        );
        let probe = vol.read(|r| r.meta_u64("probe")).unwrap();
        assert!(
            probe >= Some(2),
            "the first attempt must not have landed: {probe:?}"
        );
    }
}

/// An import that a crash interrupted leaves `meta.import:<tenant>`: the tenant is not
/// served until its partial state is deleted, which clears the marker.
#[test]
fn a_tenant_with_an_unfinished_import_is_not_served_until_it_is_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = Arc::new(Volume::open_for_write(tmp.path(), &WriteOptions::new("a")).unwrap());
    vol.write(|w| {
        w.set_meta_str(&shared::edge_storage::meta::import_marker("t2"), "sha")?;
        w.set_checkpoint(
            "t2",
            "account",
            &shared::edge_storage::Checkpoint {
                seq: 5,
                updated_at_ms: 1,
            },
        )
    })
    .unwrap();
    let mut r = rig(vol.clone(), &["t1"], 100);
    let got = r.engine.acquire(vec![(tid("t2"), Resume::Volume)]);
    let err = got[0].1.clone().unwrap_err();
    assert!(err.contains("did not finish"), "{err}");
    assert!(lane_of(&r.engine, "t2").is_none() && !r.engine.tenants.contains_key("t2"));
    vol.write(|w| w.clear_tenant("t2")).unwrap();
    let got = r.engine.acquire(vec![(tid("t2"), Resume::Volume)]);
    assert!(got[0].1.is_ok(), "{:?}", got[0].1);
}

/// A tenant whose own reader is ahead of the group reader when it goes live (it was
/// applied up to 30 elsewhere; the group reader here is at 10): the group reader then
/// delivers its events 11..30 again, and must skip them, not only the declared sagas'
/// (their checkpoints do) but an undeclared saga's, which has no checkpoint and would be
/// dead-lettered a second time. The tenant's position says 30 meanwhile, and after a
/// restart too. (Found by the model-based checker, seed 222.)
#[test]
fn a_tenant_live_ahead_of_its_group_reader_is_not_applied_twice() {
    let msg = |seq: u64, t: &str, saga: &str| {
        let body = json!({"id": format!("e{seq}"), "type": "Deposited", "key": "a0", "data": {"amount": seq}});
        Msg {
            group: 0,
            seq,
            time_ms: 1,
            subject: format!("evt.{t}.{saga}"),
            payload: Bytes::from(body.to_string()),
        }
    };
    let msgs: Vec<Msg> = (1..=40)
        .map(|seq| match seq {
            15 | 25 | 35 => msg(seq, "t2", "refund"),
            s if s % 2 == 0 => msg(seq, "t2", "account"),
            _ => msg(seq, "t1", "account"),
        })
        .collect();
    let dead_letters = |vol: &Volume| -> Vec<String> {
        let mut out = Vec::new();
        vol.read(|r| {
            r.scan(shared::edge_storage::TableId::Outbox, &[], None, |_, v| {
                let e: shared::edge_storage::OutboxEntry = shared::edge_storage::decode_value(v)?;
                if e.subject.starts_with("dlq.") {
                    out.push(e.msg_id);
                }
                Ok(true)
            })
        })
        .unwrap();
        out
    };
    let tmp = tempfile::tempdir().unwrap();
    let vol = Arc::new(Volume::open_for_write(tmp.path(), &WriteOptions::new("a")).unwrap());
    let mut r = rig(vol.clone(), &["t1"], 100);
    r.engine.main_batch(msgs[..10].to_vec());
    // t2 comes from a shard that applied it up to 30.
    let started = r.engine.acquire(vec![(tid("t2"), Resume::After(30))]);
    assert!(started[0].1.is_ok(), "{started:?}");
    let lane = lane_of(&r.engine, "t2").expect("catches up from 30, past the group reader");
    r.engine.lane_batch(lane, Vec::new(), true);
    assert!(lane_of(&r.engine, "t2").is_none(), "live: nothing pending");
    r.engine.publish_view();
    assert_eq!(
        r.engine.shared.engine.lock().unwrap().position_of("t2"),
        Some(30),
        "its position is where it was applied to, not the group reader's"
    );
    r.engine.main_batch(msgs[10..20].to_vec());
    drop(r);
    // A restart before the group reader passes 30 keeps skipping.
    let mut r = rig(vol.clone(), &["t1", "t2"], 100);
    assert!(
        lane_of(&r.engine, "t2").is_none(),
        "still live after a restart"
    );
    r.engine.main_batch(msgs[20..].to_vec());
    let dl = dead_letters(&vol);
    assert_eq!(
        dl.len(),
        1,
        "only seq 35's refund is dead-lettered here: {dl:?}"
    );
    assert!(dl[0].ends_with(":35"), "{dl:?}");
}

/// 30 deposits: t1's are the odd sequences up to 29; 30 is another tenant's.
fn odd_t1(seed: u64) -> Vec<Msg> {
    stream(30, &mut xorshift(seed))
        .into_iter()
        .map(|mut m| {
            let t = if m.seq % 2 == 1 { "t1" } else { "t2" };
            m.subject = format!("evt.{t}.account");
            m
        })
        .collect()
}

/// A `checkpoint_only` replay of t1/account from the first event.
fn replay_t1(engine: &mut Engine) {
    let replay = engine.replay(ReplayOrder {
        id: "r1".into(),
        tenant: tid("t1"),
        saga: "account".into(),
        mode: shared::wire::ReplayMode::CheckpointOnly,
        first_seq: Some(1),
        target_seq: Some(29),
    });
    assert!(replay.is_ok(), "{replay:?}");
}

/// A replay re-reads a tenant from earlier on a reader of its own. Until the re-read passes
/// where the tenant stood, its position stays there: reported and released at it, also after
/// a restart in the middle, so a next owner does not apply again what this one applied
/// before the replay. Once released, the floor is gone from the volume.
#[test]
fn a_replay_does_not_move_a_tenants_position_back() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = Arc::new(Volume::open_for_write(tmp.path(), &WriteOptions::new("a")).unwrap());
    let msgs = odd_t1(7);
    let mut r = rig(vol.clone(), &["t1"], 100);
    r.engine.main_batch(msgs.clone());
    let position = |e: &Engine| {
        e.publish_view();
        e.shared.engine.lock().unwrap().position_of("t1")
    };
    assert_eq!(position(&r.engine), Some(30));
    replay_t1(&mut r.engine);
    let lane = lane_of(&r.engine, "t1").expect("re-read on a reader of its own");
    // Part of the re-read: the reader stands at 9, the tenant still at 30.
    r.engine.lane_batch(lane, msgs[..9].to_vec(), false);
    assert_eq!(position(&r.engine), Some(30));
    drop(r);
    let mut r = rig(vol.clone(), &["t1"], 100);
    assert!(lane_of(&r.engine, "t1").is_some(), "the re-read goes on");
    assert_eq!(position(&r.engine), Some(30), "after a restart too");
    let released = r.engine.release(vec![tid("t1")]);
    assert_eq!(released[0].1.map(|p| p.position), Some(30));
    let floor = vol.read(|r| r.meta_u64(&meta::replay_floor("t1"))).unwrap();
    assert_eq!(floor, None, "released: the floor is gone");
}

/// A restart under placement: the engine starts with no tenant (each is marked released
/// where it stood), then the placement manager finds the claim still its own, taken at an
/// older position. The tenant goes on from where this volume left it, not from the claim's
/// position (which re-read everything since), and a replay's re-read goes on from where it
/// was, with the tenant's position where it stood.
#[test]
fn a_restart_under_placement_goes_on_from_the_volume() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = Arc::new(Volume::open_for_write(tmp.path(), &WriteOptions::new("a")).unwrap());
    let msgs = odd_t1(3);
    let mut r = rig(vol.clone(), &["t1"], 100);
    r.engine.main_batch(msgs.clone());
    drop(r);
    let mut r = rig(vol.clone(), &[], 100);
    let started = r.engine.acquire(vec![(tid("t1"), Resume::Ours(0))]);
    assert_eq!(
        started[0].1,
        Ok(Started {
            live: true,
            from: 31
        }),
        "on from the volume's position, not the claim's"
    );
    // Behind the claim (a crash before the acquire committed): after the claim.
    let fresh = tempfile::tempdir().unwrap();
    let vol2 = Arc::new(Volume::open_for_write(fresh.path(), &WriteOptions::new("a")).unwrap());
    let mut r2 = rig(vol2, &[], 100);
    r2.engine.main_batch(msgs.clone());
    let started = r2.engine.acquire(vec![(tid("t1"), Resume::Ours(20))]);
    assert_eq!(
        started[0].1,
        Ok(Started {
            live: false,
            from: 21
        })
    );
    // A replay re-reading it when the runner stops: the re-read goes on after the restart.
    replay_t1(&mut r.engine);
    let lane = lane_of(&r.engine, "t1").expect("re-read on a reader of its own");
    r.engine.lane_batch(lane, msgs[..9].to_vec(), false);
    drop(r);
    let mut r = rig(vol.clone(), &[], 100);
    let started = r.engine.acquire(vec![(tid("t1"), Resume::Ours(0))]);
    assert_eq!(
        started[0].1,
        Ok(Started {
            live: false,
            from: 10
        }),
        "the re-read goes on from where it was"
    );
    r.engine.publish_view();
    assert_eq!(
        r.engine.shared.engine.lock().unwrap().position_of("t1"),
        Some(30)
    );
}

#[test]
fn a_transaction_takes_what_is_queued_up_to_its_size_and_each_readers_share() {
    let (g, l1, l2) = (ReaderId::Group(0), ReaderId::Lane(1), ReaderId::Lane(2));
    // Alone, a reader's small batches fill the transaction (its room is counted in events,
    // not batches: 40 batches of 25 make one transaction of 1,000, then the rest waits).
    let small: Vec<Option<(ReaderId, usize)>> = (0..60).map(|_| Some((g, 25))).collect();
    let j = joining((g, 25), &small, 1000);
    assert_eq!(j.iter().filter(|x| **x).count(), 39);
    assert!(j[..39].iter().all(|x| *x));
    // Several readers: each puts up to its share in, at least its first batch, and once one
    // of its batches waits its later ones wait too (its order is kept), also those that
    // would fit.
    let q = vec![
        Some((g, 600)),
        Some((l1, 5)),
        Some((g, 300)),
        Some((l2, 2000)),
        Some((g, 10)),
        Some((l1, 5)),
    ];
    assert_eq!(
        joining((g, 500), &q, 100_000),
        vec![false, true, false, true, false, true]
    );
    // A message that is not a batch ends the transaction's batches.
    let q = vec![Some((l1, 5)), None, Some((l1, 5))];
    assert_eq!(joining((g, 5), &q, 100_000), vec![true]);
    // Full: nothing more joins.
    let q = vec![Some((l1, 5))];
    assert_eq!(joining((g, 1000), &q, 1000), Vec::<bool>::new());
}
