//! The driver: one seeded run of the real system, its history, and the comparison with the
//! model.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use async_nats::jetstream;
use bytes::Bytes;
use serde_json::{Value, json};
use shared::edge_storage::{
    DedupeRecord, InstanceRecord, ScheduleRecord, TableId, Volume, decode_value, keys,
};
use shared::layout::Layout;
use shared::names::msg_id::stream_identity;
use shared::placement::{ClaimRecord, ClaimState, claim_key};
use shared::wire::ReplayMode;

use super::model::{At, Epoch, Event, Expected, History, Model, Op, VolumeModel};
use crate::*;

const SHARDS: [&str; 3] = ["shard-a", "shard-b", "shard-c"];
const TENANTS: [&str; 4] = ["t1", "t2", "t3", "t4"];
const WAIT: Duration = Duration::from_secs(60);

/// One run's settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    /// Operations of the schedule (publishing bursts included).
    pub steps: usize,
    /// Keep the run's directories (volumes, logs) and print where.
    pub keep: bool,
}

/// What a run did and compared.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub seed: u64,
    pub schedule: Vec<String>,
    pub events: usize,
    pub commands: usize,
    pub dead_letters: usize,
    pub instances: usize,
    pub markers: usize,
    pub timers_fired: usize,
    /// Commands the design allows again (re-emitted by a replay) and found twice.
    pub republished_by_replays: usize,
    /// The event layout the seed ran on (even seeds: partitioned, 2 groups).
    pub layout: String,
    pub secs: f64,
}

impl Report {
    /// How many operations of each kind the schedule had.
    pub fn kinds(&self) -> BTreeMap<&'static str, usize> {
        let mut k = BTreeMap::new();
        for s in &self.schedule {
            let kind = match s.split_whitespace().next().unwrap_or("") {
                "publish" => "bursts",
                "wait" => "waits",
                "SIGKILL" => "kills",
                "restart" => "nats restarts",
                "place" => "flips",
                "move" if s.contains("aborted") => "aborted moves",
                "move" if s.contains("killed") => "killed moves",
                "move" => "moves",
                "replay" => "replays",
                "recreate" => "recreated streams",
                _ => "other",
            };
            *k.entry(kind).or_default() += 1;
        }
        k
    }
}

/// The schedule's deterministic generator.
type Rng = shared::devtools::Xorshift;

/// Makes events: orders (placed, paid, shipped, cancelled) whose payment timers race the
/// payments, deposits, exact and conflicting duplicates, ids of odd shapes, bad payloads,
/// an undeclared saga, an invalid subject.
struct Gen {
    n: u64,
    orders: BTreeMap<String, Vec<String>>,
    sent: Vec<(String, Bytes)>,
}

impl Gen {
    fn event(&mut self, r: &mut Rng) -> (String, Bytes) {
        self.n += 1;
        let n = self.n;
        let t = r.pick(&TENANTS).to_string();
        let order = |ty: &str, key: &str, id: String| {
            (
                format!("evt.{t}.order"),
                event(&id, ty, key, json!({"amount": n % 50, "customer": "c"})),
            )
        };
        let known = self.orders.get(&t).cloned().unwrap_or_default();
        let e = match r.below(100) {
            0..40 => {
                let key = format!("o{n}");
                self.orders.entry(t.clone()).or_default().push(key.clone());
                order("OrderPlaced", &key, format!("e{n}"))
            }
            40..55 if !known.is_empty() => order(
                "PaymentCaptured",
                r.pick::<String>(&known).as_str(),
                format!("e{n}"),
            ),
            55..60 if !known.is_empty() => order(
                "OrderShipped",
                r.pick::<String>(&known).as_str(),
                format!("e{n}"),
            ),
            60..64 if !known.is_empty() => order(
                "OrderCancelled",
                r.pick::<String>(&known).as_str(),
                format!("e{n}"),
            ),
            64..84 => (
                format!("evt.{t}.account"),
                event(
                    &format!("e{n}"),
                    "Deposited",
                    &format!("a{}", r.below(5)),
                    json!({"amount": 1 + n % 9}),
                ),
            ),
            84..89 if !self.sent.is_empty() => {
                self.sent[r.below(self.sent.len() as u64) as usize].clone()
            }
            89..92 if !self.sent.is_empty() => {
                // An id used before, with another body.
                let (subject, body) = self.sent[r.below(self.sent.len() as u64) as usize].clone();
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                match v["id"].as_str() {
                    Some(id) => (
                        subject,
                        event(id, "Deposited", "conflict", json!({"amount": 1})),
                    ),
                    None => order("OrderPlaced", &format!("o{n}"), format!("e{n}")),
                }
            }
            92..94 => (format!("evt.{t}.order"), Bytes::from_static(b"{not json")),
            94..96 => (
                format!("evt.{t}.refund"),
                event(&format!("e{n}"), "RefundRequested", "r1", json!({})),
            ),
            96..97 => (
                "evt.bad@tenant.order".to_string(),
                event(&format!("e{n}"), "OrderPlaced", "x", json!({})),
            ),
            _ => {
                let key = format!("o{n}: /ü");
                self.orders.entry(t.clone()).or_default().push(key.clone());
                order("OrderPlaced", &key, format!("e{n}:/ ✓"))
            }
        };
        self.sent.push(e.clone());
        e
    }
}

struct Fleet {
    nats: NatsServer,
    js: jetstream::Context,
    runners: Vec<Runner>,
    /// tenant -> owner shard, as the driver placed it.
    owner: BTreeMap<String, String>,
    history: History,
    epoch: usize,
    epochs_done: Vec<Epoch>,
    /// Partitioned seeds: the layout (the epochs are its groups).
    layout: Option<Layout>,
    adopt: Option<String>,
    dir: PathBuf,
    sagas: PathBuf,
}

impl Fleet {
    fn runner(&self, shard: &str) -> &Runner {
        self.runners
            .iter()
            .find(|r| r.spec.shard == shard)
            .expect("a runner per shard")
    }

    fn runner_mut(&mut self, shard: &str) -> &mut Runner {
        self.runners
            .iter_mut()
            .find(|r| r.spec.shard == shard)
            .expect("a runner per shard")
    }

    fn spec(&self, shard: &str) -> RunnerSpec {
        let mut s = RunnerSpec::placed(&self.nats, &self.dir.join(shard), shard);
        s.sagas = self.sagas.clone();
        if let Some(l) = &self.layout {
            // Shares measured every 500 ms: groups flip between read whole and tenants'
            // own readers many times in a run.
            s = s
                .env("RUNNER_PARTITIONS", &l.partitions().to_string())
                .env("RUNNER_READING_EVERY", "500ms");
        }
        if let Some(a) = &self.adopt {
            s = s.env("RUNNER_ADOPT_STREAM", a);
        }
        s
    }

    /// Records an operation at a tenant's position: in the current incarnation of the
    /// single stream, or in the stream of the tenant's group.
    fn at(&mut self, after: u64, op: Op) {
        let epoch = match (&self.layout, &op) {
            (None, _) => self.epoch,
            (
                Some(l),
                Op::Place { tenant, .. }
                | Op::Release { tenant, .. }
                | Op::Move { tenant, .. }
                | Op::Replay { tenant, .. },
            ) => l.group_of(tenant) as usize,
        };
        self.history.ops.push(At { epoch, after, op });
    }

    async fn claim(&self, tenant: &str) -> Result<ClaimRecord> {
        let kv = self.js.get_key_value("runner_handoff").await?;
        let v = kv
            .get(claim_key(tenant))
            .await?
            .with_context(|| format!("no claim for {tenant}"))?;
        Ok(serde_json::from_slice(&v)?)
    }

    /// Waits until every tenant is served, live, by its owner and nobody else.
    async fn settle(&self) -> Result<()> {
        for shard in SHARDS {
            let mine: Vec<&str> = self
                .owner
                .iter()
                .filter(|(_, s)| s.as_str() == shard)
                .map(|(t, _)| t.as_str())
                .collect();
            self.runner(shard).wait_serving(&mine, WAIT).await?;
        }
        Ok(())
    }

    /// Waits until every runner has applied the whole stream and published its outbox.
    async fn caught_up(&self) -> Result<()> {
        for r in &self.runners {
            r.wait_caught_up(WAIT).await?;
        }
        Ok(())
    }

    /// Records where a tenant's claim says it was handed over: released at its position
    /// (after its timers due by the recorded watermark fired), then taken by its shard.
    async fn record_handover(&mut self, tenant: &str, moved_to: Option<&str>) -> Result<()> {
        let c = self.claim(tenant).await?;
        let owner = self.owner[tenant].clone();
        ensure!(
            c.shard == owner && c.state == ClaimState::Active,
            "{tenant}: claim {c:?}, expected active on {owner}"
        );
        self.at(
            c.position,
            Op::Release {
                tenant: tenant.into(),
                timers_through: c.timers_through_ms,
            },
        );
        match moved_to {
            Some(to) => self.at(
                c.position,
                Op::Move {
                    tenant: tenant.into(),
                    to: to.into(),
                },
            ),
            None => self.at(
                c.position,
                Op::Place {
                    tenant: tenant.into(),
                    shard: owner,
                    handover: true,
                },
            ),
        }
        Ok(())
    }

    /// Stops every runner cleanly and records the release of each tenant.
    async fn stop_all(&mut self) -> Result<()> {
        for r in &mut self.runners {
            ensure!(
                r.terminate(WAIT)?.success(),
                "shard {} did not stop cleanly",
                r.spec.shard
            );
        }
        for t in TENANTS {
            let c = self.claim(t).await?;
            ensure!(
                c.state == ClaimState::Released,
                "{t}: not released at stop: {c:?}"
            );
            self.at(
                c.position,
                Op::Release {
                    tenant: t.into(),
                    timers_through: c.timers_through_ms,
                },
            );
        }
        Ok(())
    }
}

/// Every event stream as stored: the single stream, or each group stream in group order.
async fn all_stream_events(js: &jetstream::Context, layout: &Option<Layout>) -> Result<Vec<Epoch>> {
    let names: Vec<String> = match layout {
        None => vec![shared::names::DEFAULT_EVENT_STREAM.to_string()],
        Some(l) => l.groups().map(|g| l.stream(g)).collect(),
    };
    let mut out = Vec::new();
    for n in names {
        let (stream_id, events) = stream_events(js, &n).await?;
        out.push(Epoch { stream_id, events });
    }
    Ok(out)
}

async fn stream_events(js: &jetstream::Context, name: &str) -> Result<(String, Vec<Event>)> {
    let mut s = js.get_stream(name).await?;
    let info = s.info().await?;
    let id = stream_identity(&info.config.name, info.created.unix_timestamp_nanos());
    let msgs = read_stream(js, name).await?;
    let mut out = Vec::with_capacity(msgs.len());
    for m in msgs {
        let i = m.info().map_err(|e| anyhow!("{e}"))?;
        out.push(Event {
            seq: i.stream_sequence,
            time_ms: (i.published.unix_timestamp_nanos() / 1_000_000).max(0) as u64,
            subject: m.subject.to_string(),
            payload: m.payload.clone(),
        });
    }
    out.sort_by_key(|e| e.seq);
    Ok((id, out))
}

/// One seeded run: the schedule, the model, the comparison.
pub async fn run(cfg: Config) -> Result<Report> {
    let started = Instant::now();
    let mut r = Rng::new(cfg.seed);
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().to_path_buf();
    if cfg.keep {
        eprintln!("check seed {}: keeping {}", cfg.seed, dir.display());
    }
    // Even seeds run the partitioned layout with 2 groups: t1 and t3 share one, t2 and t4
    // the other, so placement flips move groups between read whole and tenants' own readers.
    let layout = cfg
        .seed
        .is_multiple_of(2)
        .then(|| Layout::new(shared::names::DEFAULT_EVENT_STREAM, 2));
    let nats = match &layout {
        Some(l) => partitioned_nats(l.partitions())?,
        None => NatsServer::start().map_err(anyhow::Error::msg)?,
    };
    let js = jetstream(&nats).await?;
    match &layout {
        Some(l) => create_group_streams(&js, l, Duration::from_millis(100)).await?,
        None => create_streams(&js, Duration::from_millis(100)).await?,
    }
    let sagas = dir.join("sagas.toml");
    std::fs::write(
        &sagas,
        std::fs::read_to_string(example_sagas())?.replace("after = \"30s\"", "after = \"1s\""),
    )?;
    let mut fleet = Fleet {
        nats,
        js,
        runners: Vec::new(),
        owner: BTreeMap::new(),
        history: History {
            shards: SHARDS.iter().map(|s| s.to_string()).collect(),
            layout: layout.clone(),
            ..Default::default()
        },
        epoch: 0,
        epochs_done: Vec::new(),
        layout: layout.clone(),
        adopt: None,
        dir: dir.clone(),
        sagas,
    };
    for s in SHARDS {
        let spec = fleet.spec(s);
        fleet.runners.push(Runner::start(spec).await?);
    }
    for (i, t) in TENANTS.iter().enumerate() {
        let shard = SHARDS[i % SHARDS.len()];
        runnerctl_ok(&fleet.nats, &["place", t, shard])?;
        fleet.owner.insert(t.to_string(), shard.to_string());
        fleet.at(
            0,
            Op::Place {
                tenant: t.to_string(),
                shard: shard.into(),
                handover: false,
            },
        );
    }
    fleet.settle().await?;

    let mut report = Report {
        seed: cfg.seed,
        layout: layout
            .as_ref()
            .map(|l| l.describe())
            .unwrap_or_else(|| "single".into()),
        ..Default::default()
    };
    let mut source = Gen {
        n: 0,
        orders: BTreeMap::new(),
        sent: Vec::new(),
    };
    let mut recreated = false;
    let schedule = run_schedule(
        &cfg,
        &mut r,
        &mut fleet,
        &mut source,
        &mut report,
        &mut recreated,
    )
    .await;
    if let Err(e) = schedule {
        std::mem::forget(tmp);
        bail!(
            "seed {}: the schedule failed: {e:#}\nschedule so far:\n  {}\nvolumes and logs kept in {}\nrun it again: cargo run -p e2e --bin check -- --seed {}",
            cfg.seed,
            report.schedule.join("\n  "),
            dir.display(),
            cfg.seed
        );
    }
    finish(cfg, fleet, report, tmp, dir, started).await
}

async fn run_schedule(
    cfg: &Config,
    r: &mut Rng,
    fleet: &mut Fleet,
    source: &mut Gen,
    report: &mut Report,
    recreated: &mut bool,
) -> Result<()> {
    for step in 0..cfg.steps {
        let roll = r.below(100);
        let what = match roll {
            0..35 => {
                // A burst, published without waiting in between: many share a millisecond.
                let n = 5 + r.below(40);
                let evs: Vec<_> = (0..n).map(|_| source.event(r)).collect();
                publish_all(&fleet.js, &evs).await?;
                format!("publish {n}")
            }
            35..43 => {
                let ms = 200 + r.below(1300);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                format!("wait {ms} ms")
            }
            43..51 => {
                let shard = *r.pick(&SHARDS);
                tokio::time::sleep(Duration::from_millis(r.below(200))).await;
                fleet.runner_mut(shard).restart().await?;
                format!("SIGKILL {shard} and restart")
            }
            51..55 => {
                fleet.nats.restart().map_err(anyhow::Error::msg)?;
                "restart nats-server".to_string()
            }
            55..68 => {
                let t = r.pick(&TENANTS).to_string();
                let from = fleet.owner[&t].clone();
                let others: Vec<&str> = SHARDS.iter().copied().filter(|s| *s != from).collect();
                let to = r.pick(&others).to_string();
                fleet.settle().await?;
                fleet.caught_up().await?;
                runnerctl_ok(&fleet.nats, &["place", &t, &to, "--force"])?;
                fleet.owner.insert(t.clone(), to.clone());
                fleet.settle().await?;
                fleet.record_handover(&t, None).await?;
                format!("place {t} {from} -> {to} (no state)")
            }
            68..78 => move_step(fleet, r).await?,
            78..93 => replay_step(fleet, r).await?,
            _ if !*recreated && step > cfg.steps / 3 && fleet.layout.is_none() => {
                *recreated = true;
                fleet.caught_up().await?;
                fleet.stop_all().await?;
                let (id, events) =
                    stream_events(&fleet.js, shared::names::DEFAULT_EVENT_STREAM).await?;
                fleet.epochs_done.push(Epoch {
                    stream_id: id,
                    events,
                });
                fleet
                    .js
                    .delete_stream(shared::names::DEFAULT_EVENT_STREAM)
                    .await?;
                ensure_event_stream(&fleet.js).await?;
                let (id, _) = stream_events(&fleet.js, shared::names::DEFAULT_EVENT_STREAM).await?;
                fleet.adopt = Some(id);
                fleet.epoch += 1;
                for t in TENANTS {
                    let owner = fleet.owner[t].clone();
                    fleet.at(
                        0,
                        Op::Place {
                            tenant: t.into(),
                            shard: owner,
                            handover: false,
                        },
                    );
                }
                // Events again, some with ids the volumes know: skipped as duplicates.
                let mut evs: Vec<_> = source.sent.iter().rev().take(10).cloned().collect();
                evs.extend((0..10).map(|_| source.event(r)));
                publish_all(&fleet.js, &evs).await?;
                for i in 0..fleet.runners.len() {
                    let spec = fleet.spec(&fleet.runners[i].spec.shard.clone());
                    fleet.runners[i] = Runner::start(spec).await?;
                }
                fleet.settle().await?;
                "recreate the event stream (runners stopped), adopt it".to_string()
            }
            _ => {
                let ms = 100 + r.below(500);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                format!("wait {ms} ms")
            }
        };
        report.schedule.push(what);
    }
    Ok(())
}

async fn finish(
    cfg: Config,
    mut fleet: Fleet,
    mut report: Report,
    tmp: tempfile::TempDir,
    dir: PathBuf,
    started: Instant,
) -> Result<Report> {
    // Quiescence: everything applied and published, every due timer of a served tenant
    // fired; then a clean stop, whose releases are recorded too.
    fleet.settle().await?;
    fleet.caught_up().await?;
    for run in &fleet.runners {
        eventually(WAIT, "the served tenants' timers to fire", || async {
            let s = run.status().await.ok()?;
            s.tenants
                .iter()
                .all(|t| t.timers_pending == 0)
                .then_some(())
        })
        .await?;
    }
    fleet.caught_up().await?;
    fleet.stop_all().await?;
    let last = all_stream_events(&fleet.js, &fleet.layout).await?;
    fleet.epochs_done.extend(last);
    fleet.history.epochs = std::mem::take(&mut fleet.epochs_done);
    report.events = fleet.history.epochs.iter().map(|e| e.events.len()).sum();

    let registry = runner::saga::SagaRegistry::from_file(&fleet.sagas)?;
    let expected = Model::run(&registry, &fleet.history);
    let compared = compare(&expected, &fleet, &dir).await;
    report.secs = started.elapsed().as_secs_f64();
    match compared {
        Ok(c) => {
            report.commands = c.commands;
            report.dead_letters = c.dead_letters;
            report.instances = c.instances;
            report.markers = c.markers;
            report.timers_fired = c.timers_fired;
            report.republished_by_replays = c.republished;
            if cfg.keep {
                std::mem::forget(tmp);
            }
            Ok(report)
        }
        Err(e) => {
            std::mem::forget(tmp);
            Err(anyhow!(
                "seed {}: {e}\nschedule:\n  {}\nvolumes and logs kept in {}\nrun it again: cargo run -p e2e --bin check -- --seed {} (just check SEED={})",
                cfg.seed,
                report.schedule.join("\n  "),
                dir.display(),
                cfg.seed,
                cfg.seed
            ))
        }
    }
}

/// A move of a random tenant to a shard holding nothing of it: plain, or with `runnerctl`
/// killed at a random moment and run again, or stopped after a phase and aborted.
async fn move_step(fleet: &mut Fleet, r: &mut Rng) -> Result<String> {
    fleet.settle().await?;
    let t = r.pick(&TENANTS).to_string();
    let from = fleet.owner[&t].clone();
    let mut targets = Vec::new();
    for s in SHARDS.iter().filter(|s| **s != from) {
        let url = format!("{}/admin/tenants/{t}", fleet.runner(s).admin_url);
        let info: shared::wire::TenantInfo = crate::http().get(url).send().await?.json().await?;
        if !info.has_state() {
            targets.push(s.to_string());
        }
    }
    if targets.is_empty() {
        return Ok(format!("(no shard without {t}'s state to move it to)"));
    }
    let to = r.pick(&targets).clone();
    fleet.caught_up().await?;
    let how = r.below(3);
    let moved = match how {
        0 => {
            runnerctl_ok(&fleet.nats, &["move", &t, "--to", &to])?;
            true
        }
        1 => {
            let mut child = runnerctl(&fleet.nats)
                .args(["move", &t, "--to", &to])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()?;
            tokio::time::sleep(Duration::from_millis(r.below(400))).await;
            let _ = child.kill();
            let _ = child.wait();
            let (code, _, err) = runnerctl_out(&fleet.nats, &["move", &t, "--to", &to], &[])?;
            ensure!(
                code == 0 || (code == 7 && err.contains("already placed on")),
                "move rerun: {code} {err}"
            );
            true
        }
        _ => {
            let phase = *r.pick(&["released", "imported"]);
            let (code, _, err) = runnerctl_out(
                &fleet.nats,
                &["move", &t, "--to", &to],
                &[("RUNNERCTL_MOVE_STOP_AFTER", phase)],
            )?;
            ensure!(code == 99, "move stopped after {phase}: {code} {err}");
            runnerctl_ok(&fleet.nats, &["move", &t, "--abort"])?;
            false
        }
    };
    if moved {
        fleet.owner.insert(t.clone(), to.clone());
    }
    fleet.settle().await?;
    // The model moves the state from the owner it knows (before this step).
    let owner_now = fleet.owner[&t].clone();
    fleet.owner.insert(t.clone(), from.clone());
    let rec_to = moved.then_some(to.as_str());
    // record_handover checks the claim against the new owner.
    fleet.owner.insert(t.clone(), owner_now);
    fleet.record_handover(&t, rec_to).await?;
    Ok(match how {
        0 => format!("move {t} {from} -> {to}"),
        1 => format!("move {t} {from} -> {to}, runnerctl killed and run again"),
        _ => format!("move {t} {from} -> {to}, stopped and aborted"),
    })
}

/// A replay of a random tenant's saga in a random mode, followed to its end.
async fn replay_step(fleet: &mut Fleet, r: &mut Rng) -> Result<String> {
    // After a kill or a NATS restart the owner may not serve its tenants again yet.
    fleet.settle().await?;
    let t = r.pick(&TENANTS).to_string();
    let saga = *r.pick(&["order", "account"]);
    let mode = *r.pick(&[
        ReplayMode::CheckpointOnly,
        ReplayMode::CheckpointAndDedupe,
        ReplayMode::FullReset,
    ]);
    let owner = fleet.owner[&t].clone();
    let url = fleet.runner(&owner).admin_url.clone();
    let http = crate::http();
    let resp = http
        .post(format!("{url}/admin/replay"))
        .json(&json!({"tenant_id": t, "saga_name": saga, "mode": mode}))
        .send()
        .await?;
    let code = resp.status().as_u16();
    let body: Value = resp.json().await?;
    ensure!(code == 202 || code == 200, "replay: {code} {body}");
    let id = body["replay_id"].as_str().context("replay id")?.to_string();
    let done = wait_replay_over(&url, &id, WAIT).await?;
    ensure!(
        done["state"] == shared::wire::ReplayState::Completed.as_str(),
        "replay {id} of {t}/{saga} ended {}, not completed: {done}",
        done["state"]
    );
    let reset_at = done["reset_at"].as_u64().context("reset_at")?;
    let timers_through = done["timers_through_ms"]
        .as_u64()
        .context("timers_through_ms")?;
    fleet.at(
        reset_at,
        Op::Replay {
            tenant: t.clone(),
            saga: saga.into(),
            mode,
            timers_through,
        },
    );
    Ok(format!(
        "replay {t}/{saga} {mode:?} on {owner} at {reset_at}"
    ))
}

#[derive(Debug, Default)]
struct Compared {
    commands: usize,
    dead_letters: usize,
    instances: usize,
    markers: usize,
    timers_fired: usize,
    republished: usize,
}

/// What a stopped volume holds, whole records.
fn read_model(dir: &Path) -> Result<(VolumeModel, u64)> {
    let (vol, _) = Volume::open_read_only(dir, true)?;
    let mut m = VolumeModel::default();
    let outbox = vol.read(|r| {
        r.scan(TableId::Sagas, &[], None, |k, v| {
            let (t, s, key) = keys::decode_three(k)?;
            let rec: InstanceRecord = decode_value(v)?;
            m.instances.insert((t.into(), s.into(), key.into()), rec);
            Ok(true)
        })?;
        r.scan(TableId::Dedupe, &[], None, |k, v| {
            let (t, s, what) = keys::decode_dedupe(k)?;
            let rec: DedupeRecord = decode_value(v)?;
            match what {
                keys::Marked::Event(id) => {
                    m.markers.insert((t.into(), s.into(), id.into()), rec);
                }
                keys::Marked::Timer { key, timer, due_ms } => {
                    m.timer_marks
                        .insert((t.into(), s.into(), key.into(), timer.into(), due_ms), rec);
                }
            }
            Ok(true)
        })?;
        r.scan(TableId::Schedules, &[], None, |k, v| {
            let d = keys::decode_schedule(k)?;
            let rec: ScheduleRecord = decode_value(v)?;
            m.schedules.insert(
                (
                    d.tenant.into(),
                    d.saga.into(),
                    d.due_ms,
                    d.key.into(),
                    d.timer.into(),
                ),
                rec,
            );
            Ok(true)
        })?;
        r.entries(TableId::Outbox)
    })?;
    Ok((m, outbox))
}

fn diff_maps<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
    what: &str,
    want: &BTreeMap<K, V>,
    got: &BTreeMap<K, V>,
    out: &mut Vec<String>,
) {
    for (k, v) in want {
        match got.get(k) {
            None => out.push(format!("{what} {k:?}: missing; expected {v:?}")),
            Some(g) if g != v => out.push(format!("{what} {k:?}: {g:?}\n      expected {v:?}")),
            _ => {}
        }
    }
    for (k, g) in got {
        if !want.contains_key(k) {
            out.push(format!("{what} {k:?}: not expected, found {g:?}"));
        }
    }
}

async fn compare(want: &Expected, fleet: &Fleet, dir: &Path) -> Result<Compared> {
    let mut c = Compared::default();
    let mut diffs = Vec::new();
    for shard in SHARDS {
        let (got, outbox) = read_model(&dir.join(shard))?;
        if outbox != 0 {
            diffs.push(format!(
                "{shard}: {outbox} outbox entries left after a clean stop"
            ));
        }
        let empty = VolumeModel::default();
        let w = want.volumes.get(shard).unwrap_or(&empty);
        let mut d = Vec::new();
        diff_maps("instance", &w.instances, &got.instances, &mut d);
        diff_maps("dedupe marker", &w.markers, &got.markers, &mut d);
        diff_maps("timer marker", &w.timer_marks, &got.timer_marks, &mut d);
        diff_maps("pending timer", &w.schedules, &got.schedules, &mut d);
        diffs.extend(d.into_iter().map(|x| format!("{shard}: {x}")));
        c.instances += got.instances.len();
        c.markers += got.markers.len();
        c.timers_fired += got.timer_marks.len();
    }
    let shards = SHARDS.len();
    for (stream, expected) in [
        ("RUNNER_COMMANDS", &want.commands),
        ("RUNNER_DLQ", &want.dead_letters),
    ] {
        let msgs = stored(&fleet.js, stream).await?;
        let mut by_id: BTreeMap<String, Vec<&Stored>> = BTreeMap::new();
        for m in &msgs {
            by_id.entry(m.msg_id.clone()).or_default().push(m);
        }
        for (id, copies) in &by_id {
            let Some(e) = expected.get(id) else {
                diffs.push(format!(
                    "{stream}: {id} on {} was published but the model has no such message",
                    copies[0].subject
                ));
                continue;
            };
            let allowed = if e.per_shard { shards } else { e.times };
            if copies.len() > allowed {
                let by: Vec<String> = copies
                    .iter()
                    .map(|m| {
                        format!(
                            "seq {} by {} ({})",
                            m.seq,
                            m.headers
                                .get("Runner-Shard")
                                .map(String::as_str)
                                .unwrap_or("?"),
                            m.headers
                                .get("Runner-Original-Subject")
                                .map(String::as_str)
                                .unwrap_or(&m.subject)
                        )
                    })
                    .collect();
                diffs.push(format!(
                    "{stream}: {id} stored {} times; the model produced it {allowed} time(s): {}",
                    copies.len(),
                    by.join(", ")
                ));
            }
            if copies.len() > 1 {
                c.republished += 1;
            }
            for m in copies {
                if m.subject != e.subject {
                    diffs.push(format!(
                        "{stream}: {id} on {}, expected {}",
                        m.subject, e.subject
                    ));
                }
                match &e.code {
                    Some(code) => {
                        if m.headers.get("Runner-Dlq-Code") != Some(code) {
                            diffs.push(format!(
                                "{stream}: {id} code {:?}, expected {code}",
                                m.headers.get("Runner-Dlq-Code")
                            ));
                        }
                    }
                    None => {
                        if !e.payloads.contains(m.payload.as_ref()) {
                            diffs.push(format!(
                                "{stream}: {id} payload {}, expected one of {:?}",
                                String::from_utf8_lossy(&m.payload),
                                e.payloads
                                    .iter()
                                    .map(|p| String::from_utf8_lossy(p).into_owned())
                                    .collect::<Vec<_>>()
                            ));
                        }
                    }
                }
            }
        }
        let missing: BTreeSet<&String> = expected
            .iter()
            .filter(|(k, e)| !e.optional && !by_id.contains_key(*k))
            .map(|(k, _)| k)
            .collect();
        for id in missing.iter().take(20) {
            diffs.push(format!(
                "{stream}: {id} never published ({:?})",
                expected[*id]
            ));
        }
        if stream == "RUNNER_COMMANDS" {
            c.commands = msgs.len();
        } else {
            c.dead_letters = msgs.len();
        }
    }
    if !diffs.is_empty() {
        let n = diffs.len();
        diffs.truncate(40);
        bail!(
            "{n} differences between the runners and the model:\n  {}",
            diffs.join("\n  ")
        );
    }
    Ok(c)
}
