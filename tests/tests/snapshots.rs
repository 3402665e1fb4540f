//! Shard snapshots and restore (issue 20), against real nats-servers and volumes: a volume
//! destroyed (stopped, or right after a SIGKILL mid-burst) and restored from its snapshot
//! ends exactly like a shard that never failed on the same events, without publishing any
//! command twice although the duplicate window is long past; a snapshot taken while events
//! flow is one consistent boundary; corrupt, truncated and foreign snapshots are refused
//! with a reason; a stream that lost events since the snapshot is refused (runnerctl exit 7,
//! runner exit 3) unless the loss is accepted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use e2e::*;
use serde_json::json;
use shared::names::msg_id::{self, OwnedCause, Parsed};

const WAIT: Duration = Duration::from_secs(40);
/// Short, so that a command published again after a restore would be stored again.
const DUP: Duration = Duration::from_millis(200);
const TENANTS: [&str; 3] = ["t1", "t-2x", "t_3"];

/// The example sagas with a 2 s payment timer.
fn sagas(dir: &Path) -> Result<PathBuf> {
    let p = dir.join("sagas.toml");
    let text =
        std::fs::read_to_string(example_sagas())?.replace("after = \"30s\"", "after = \"2s\"");
    std::fs::write(&p, text)?;
    Ok(p)
}

/// Orders `from..from+n` of each tenant: every second one paid at once, the others left to
/// their payment timer (a cancel command 2 s later).
fn orders(from: u32, n: u32) -> Vec<(String, bytes::Bytes)> {
    let mut out = Vec::new();
    for i in from..from + n {
        for t in TENANTS {
            let key = format!("order/{i} ü?");
            out.push((
                format!("evt.{t}.order"),
                event(
                    &format!("{t}-placed-{i}"),
                    "OrderPlaced",
                    &key,
                    json!({"amount": i, "customer": "c"}),
                ),
            ));
            if i % 2 == 0 {
                out.push((
                    format!("evt.{t}.order"),
                    event(&format!("{t}-paid-{i}"), "PaymentCaptured", &key, json!({})),
                ));
            }
        }
    }
    out
}

fn deposits(from: u32, n: u32) -> Vec<(String, bytes::Bytes)> {
    let mut out = Vec::new();
    for t in TENANTS {
        out.extend(numbered_deposits(t, from, n, 7));
    }
    out
}

/// (tenant, saga, key) and (state, version, data, last_seq, last_event_id).
type Instances = BTreeMap<(String, String, String), (String, u64, String, u64, String)>;

/// What must be equal between two shards that applied the same events on two servers:
/// stream times (and so timer due times) differ, the rest may not.
#[derive(Debug, PartialEq, Eq)]
struct Comparable {
    /// (tenant, saga, key) -> (state, version, data, last_seq, last_event_id)
    instances: Instances,
    dedupe: BTreeMap<(String, String, String), String>,
    /// (tenant, saga, key, timer) of each fired timer
    timers_fired: BTreeSet<(String, String, String, String)>,
    schedules: u64,
    checkpoints: BTreeMap<(String, String), u64>,
}

fn comparable(dir: &Path) -> Result<Comparable> {
    let v = read_volume(dir)?;
    Ok(Comparable {
        instances: v
            .instances
            .into_iter()
            .map(|(k, i)| {
                // A timer's "event id" names its due time, which follows the server's clock.
                let last = match i.last_event_id.rsplit_once(':') {
                    Some((timer, _)) if timer.starts_with("timer:") => format!("{timer}:*"),
                    _ => i.last_event_id,
                };
                (k, (i.state, i.version, i.data, i.last_seq, last))
            })
            .collect(),
        dedupe: v
            .dedupe
            .into_iter()
            .map(|(k, o)| (k, format!("{o:?}")))
            .collect(),
        timers_fired: v
            .timers_fired
            .into_iter()
            .map(|(t, s, k, tm, _)| (t, s, k, tm))
            .collect(),
        schedules: v.schedules,
        checkpoints: v.checkpoints,
    })
}

/// The command stream as a multiset of (subject, id without a timer's due time, payload).
fn command_multiset(cmds: &[Stored]) -> BTreeMap<(String, String, String), u32> {
    let mut out = BTreeMap::new();
    for c in cmds {
        let id = match msg_id::parse(&c.msg_id) {
            Some(Parsed::Command {
                tenant,
                saga,
                cause: OwnedCause::Timer { key, timer, .. },
                index,
            }) => format!("cmd:{tenant}:{saga}:tmr:{key}:{timer}:*:{index}"),
            _ => c.msg_id.clone(),
        };
        *out.entry((
            c.subject.clone(),
            id,
            String::from_utf8_lossy(&c.payload).into_owned(),
        ))
        .or_insert(0) += 1;
    }
    out
}

async fn metric(r: &Runner, name: &str) -> Option<f64> {
    e2e::bench::metric(&http(), &r.admin_url, name).await
}

/// One side of the comparison: a nats-server with the runner's streams, and a runner.
struct Side {
    nats: NatsServer,
    js: async_nats::jetstream::Context,
    spec: RunnerSpec,
}

impl Side {
    async fn new(dir: &Path, sagas: &Path) -> Result<Side> {
        std::fs::create_dir_all(dir)?;
        let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
        let js = jetstream(&nats).await?;
        create_streams(&js, DUP).await?;
        let mut spec = RunnerSpec::new(&nats, &dir.join("vol"), &TENANTS)
            .env("RUNNER_LEASE_TTL", "3s")
            .env("RUNNER_SNAPSHOT_EVERY", "off");
        spec.sagas = sagas.to_path_buf();
        Ok(Side { nats, js, spec })
    }

    async fn cancels(&self) -> Result<usize> {
        Ok(stored(&self.js, "RUNNER_COMMANDS")
            .await?
            .iter()
            .filter(|c| c.subject.ends_with(".orders.cancel"))
            .count())
    }
}

/// Waits until `n` cancel commands (fired payment timers) are stored on `side`.
async fn wait_cancels(side: &Side, n: usize) -> Result<()> {
    eventually(WAIT, &format!("{n} cancel commands"), || async {
        (side.cancels().await.ok()? >= n).then_some(())
    })
    .await
}

/// A shard's volume is destroyed after commands and timers of events since its snapshot were
/// published, then restored from the snapshot (`runnerctl restore`) long after the command
/// stream's duplicate window. It must end with the same instances, dedupe markers, fired and
/// pending timers and checkpoints as a shard that applied the same events on another
/// server and never failed, and the same multiset of commands: each once. Tried with the
/// runner stopped cleanly and with a SIGKILL in the middle of a burst.
#[tokio::test(flavor = "multi_thread")]
async fn a_volume_restored_from_its_snapshot_ends_like_a_shard_that_never_failed() -> Result<()> {
    for killed in [false, true] {
        let tmp = tempfile::tempdir()?;
        let sagas = sagas(tmp.path())?;
        let a_side = Side::new(&tmp.path().join("a"), &sagas).await?;
        let r_side = Side::new(&tmp.path().join("ref"), &sagas).await?;
        let mut a = Runner::start(a_side.spec.clone()).await?;
        let mut r = Runner::start(r_side.spec.clone()).await?;
        let publish = |events: Vec<(String, bytes::Bytes)>| {
            let (ja, jr) = (a_side.js.clone(), r_side.js.clone());
            async move {
                publish_all(&ja, &events).await?;
                publish_all(&jr, &events).await?;
                anyhow::Ok(())
            }
        };
        // Before the snapshot: orders whose timers are still pending when it is taken.
        let mut first = deposits(0, 40);
        first.extend(orders(0, 6));
        publish(first).await?;
        a.wait_caught_up(WAIT).await?;
        let out = runnerctl_ok(
            &a_side.nats,
            &["snapshot", "--url", &a.admin_url, "-o", "json"],
        )?;
        let taken: serde_json::Value = serde_json::from_str(&out)?;
        let snap_id = taken["snapshot"]["id"]
            .as_str()
            .context("snapshot id")?
            .to_string();
        ensure!(
            taken["snapshot"]["tenants"] == json!(TENANTS.len()),
            "snapshot: {taken}"
        );
        // After it: more of everything; the snapshot's pending timers fire.
        let mut second = deposits(40, 60);
        second.extend(orders(6, 6));
        if killed {
            // Killed in the middle of a burst: part of it applied and published, part not.
            let (half, rest) = second.split_at(second.len() / 2);
            publish(half.to_vec()).await?;
            let ja = a_side.js.clone();
            let rest_a = rest.to_vec();
            let burst = tokio::spawn(async move { publish_all(&ja, &rest_a).await });
            eventually(WAIT, "commands of the burst published", || async {
                (stored(&a_side.js, "RUNNER_COMMANDS").await.ok()?.len() > 200).then_some(())
            })
            .await?;
            a.kill9();
            burst.await??;
            publish_all(&r_side.js, rest).await?;
        } else {
            publish(second).await?;
            a.wait_caught_up(WAIT).await?;
            wait_cancels(&a_side, 3 * TENANTS.len() * 2).await?;
            a.terminate(WAIT)?;
        }
        let published_before = stored(&a_side.js, "RUNNER_COMMANDS").await?.len();
        std::fs::remove_dir_all(&a_side.spec.data_dir)?;
        // Past the duplicate window: JetStream would store a re-published command again.
        tokio::time::sleep(DUP * 3).await;
        let (code, out, err) = runnerctl_out(
            &a_side.nats,
            &[
                "restore",
                "shard-a",
                "--to",
                a_side.spec.data_dir.to_str().unwrap(),
            ],
            &[],
        )?;
        ensure!(code == 0, "restore: {code} {out} {err}");
        ensure!(
            out.contains(&snap_id) && out.contains("SHA-256 verified"),
            "{out}"
        );
        a = Runner::start(a_side.spec.clone()).await?;
        // After the restore: more events, on both.
        let mut third = deposits(100, 30);
        third.extend(orders(12, 4));
        publish(third).await?;
        a.wait_caught_up(WAIT).await?;
        r.wait_caught_up(WAIT).await?;
        let cancels = 16 / 2 * TENANTS.len();
        wait_cancels(&a_side, cancels).await?;
        wait_cancels(&r_side, cancels).await?;
        eventually(WAIT, "the restore guard to end", || async {
            (metric(&a, "runner_restore_guard").await? == 0.0).then_some(())
        })
        .await?;
        let suppressed = metric(&a, "runner_restore_suppressed_total")
            .await
            .unwrap_or(0.0);
        a.terminate(WAIT)?;
        r.terminate(WAIT)?;
        let (ca, cr) = (
            comparable(&a_side.spec.data_dir)?,
            comparable(&r_side.spec.data_dir)?,
        );
        ensure!(
            ca.instances == cr.instances,
            "killed={killed}: instances differ: {:?}",
            ca.instances
                .iter()
                .filter(|(k, v)| cr.instances.get(*k) != Some(v))
                .take(3)
                .collect::<Vec<_>>()
        );
        ensure!(
            ca.dedupe == cr.dedupe,
            "killed={killed}: dedupe markers differ"
        );
        ensure!(
            ca.timers_fired == cr.timers_fired && ca.schedules == cr.schedules,
            "killed={killed}: timers differ: fired {} vs {}, pending {} vs {}",
            ca.timers_fired.len(),
            cr.timers_fired.len(),
            ca.schedules,
            cr.schedules
        );
        ensure!(ca == cr, "killed={killed}: checkpoints differ");
        let cmds_a = stored(&a_side.js, "RUNNER_COMMANDS").await?;
        let cmds_r = stored(&r_side.js, "RUNNER_COMMANDS").await?;
        assert_each_id_once(&cmds_a, "commands of the restored shard")?;
        let (ma, mr) = (command_multiset(&cmds_a), command_multiset(&cmds_r));
        ensure!(
            ma == mr,
            "killed={killed}: {} commands against {} on the shard that never failed ({published_before} before the loss); only here: {:?}; only there: {:?}",
            cmds_a.len(),
            cmds_r.len(),
            ma.keys()
                .filter(|k| !mr.contains_key(*k))
                .take(3)
                .collect::<Vec<_>>(),
            mr.keys()
                .filter(|k| !ma.contains_key(*k))
                .take(3)
                .collect::<Vec<_>>()
        );
        ensure!(
            suppressed > 0.0,
            "killed={killed}: nothing suppressed after the restore: the test re-applied nothing"
        );
    }
    Ok(())
}

/// Snapshots taken while events flow: each, restored, is the volume as of one transaction:
/// for every tenant, its dedupe markers are exactly its events up to the snapshot's
/// position, each account's balance is the sum of those deposits, and the checkpoints are
/// those the snapshot reports.
#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_taken_while_events_flow_is_one_consistent_boundary() -> Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    create_streams(&js, DUP).await?;
    let spec =
        RunnerSpec::new(&nats, &tmp.path().join("a"), &TENANTS).env("RUNNER_SNAPSHOT_EVERY", "off");
    let a = Runner::start(spec.clone()).await?;
    let events = deposits(0, 1500);
    let flow = {
        let (js, events) = (js.clone(), events.clone());
        tokio::spawn(async move {
            for chunk in events.chunks(50) {
                publish_all(&js, chunk).await?;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            anyhow::Ok(())
        })
    };
    let mut ids = Vec::new();
    while !flow.is_finished() && ids.len() < 4 {
        let out = runnerctl_ok(&nats, &["snapshot", "--url", &a.admin_url, "-o", "json"])?;
        let v: serde_json::Value = serde_json::from_str(&out)?;
        ids.push(v["snapshot"]["id"].as_str().context("id")?.to_string());
    }
    flow.await??;
    ensure!(
        ids.len() >= 2,
        "only {} snapshots while events flowed",
        ids.len()
    );
    a.wait_caught_up(WAIT).await?;
    let stream = read_stream(&js, shared::names::DEFAULT_EVENT_STREAM).await?;
    for (k, id) in ids.iter().enumerate() {
        let dir = tmp.path().join(format!("restored-{k}"));
        runnerctl_ok(
            &nats,
            &[
                "restore",
                "shard-a",
                "--snapshot",
                id,
                "--to",
                dir.to_str().unwrap(),
            ],
        )?;
        let v = read_volume(&dir)?;
        let (vol, _) = shared::edge_storage::Volume::open_read_only(&dir, false)?;
        let positions = vol.read(shared::edge_storage::snapshot::tenant_positions)?;
        drop(vol);
        // Its description in the bucket says the same, without a download.
        let described: serde_json::Value = serde_json::from_str(&runnerctl_ok(
            &nats,
            &["snapshots", "shard-a", "--snapshot", id, "-o", "json"],
        )?)?;
        ensure!(
            described["positions"] == json!(positions),
            "snapshot {id}: described {} against {positions:?} in its data",
            described["positions"]
        );
        for t in TENANTS {
            let at = positions[t];
            let mut want_ids = BTreeSet::new();
            let mut balances: BTreeMap<String, i64> = BTreeMap::new();
            for m in &stream {
                let seq = m.info().map_err(anyhow::Error::msg)?.stream_sequence;
                if seq > at || m.subject.as_str() != format!("evt.{t}.account") {
                    continue;
                }
                let e: serde_json::Value = serde_json::from_slice(&m.payload)?;
                if want_ids.insert(e["id"].as_str().unwrap_or_default().to_string()) {
                    *balances
                        .entry(e["key"].as_str().unwrap_or_default().to_string())
                        .or_default() += e["data"]["amount"].as_i64().unwrap_or(0);
                }
            }
            let got_ids: BTreeSet<String> = v
                .dedupe
                .keys()
                .filter(|(tt, _, _)| tt == t)
                .map(|(_, _, id)| id.clone())
                .collect();
            ensure!(
                got_ids == want_ids,
                "snapshot {id}, {t} at {at}: {} markers for {} events up to the position",
                got_ids.len(),
                want_ids.len()
            );
            for (acc, sum) in balances {
                let rec = &v.instances[&(t.to_string(), "account".to_string(), acc.clone())];
                let data: serde_json::Value = serde_json::from_str(&rec.data)?;
                ensure!(
                    data["balance"] == json!(sum),
                    "snapshot {id}: {t}/{acc} balance {} instead of {sum}",
                    data["balance"]
                );
            }
        }
    }
    Ok(())
}

/// Corrupt, truncated and foreign snapshots are refused (exit 9) with a reason, and leave
/// nothing in the target directory; an unknown id is exit 5; a directory that is not empty
/// is refused (exit 7) before anything is downloaded.
#[tokio::test(flavor = "multi_thread")]
async fn corrupt_truncated_and_foreign_snapshots_are_refused_with_a_reason() -> Result<()> {
    use async_nats::jetstream::object_store::ObjectMetadata;
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    create_streams(&js, DUP).await?;
    let a = Runner::start(
        RunnerSpec::new(&nats, &tmp.path().join("a"), &["t1"]).env("RUNNER_SNAPSHOT_EVERY", "off"),
    )
    .await?;
    let mut b_spec =
        RunnerSpec::new(&nats, &tmp.path().join("b"), &["t9"]).env("RUNNER_SNAPSHOT_EVERY", "off");
    b_spec.shard = "shard-b".into();
    let b = Runner::start(b_spec).await?;
    publish_all(&js, &numbered_deposits("t1", 0, 30, 3)).await?;
    publish_all(&js, &numbered_deposits("t9", 0, 30, 3)).await?;
    a.wait_caught_up(WAIT).await?;
    b.wait_caught_up(WAIT).await?;
    let snap = |url: &str| -> Result<serde_json::Value> {
        let out = runnerctl_ok(&nats, &["snapshot", "--url", url, "-o", "json"])?;
        Ok(serde_json::from_str::<serde_json::Value>(&out)?["snapshot"].clone())
    };
    let good = snap(&a.admin_url)?;
    let foreign = snap(&b.admin_url)?;
    let store = js
        .get_object_store(shared::snapshots::DEFAULT_BUCKET)
        .await?;
    let data = |s: &serde_json::Value| {
        let (store, name) = (
            store.clone(),
            format!(
                "{}/{}",
                s["shard"].as_str().unwrap(),
                s["id"].as_str().unwrap()
            ),
        );
        async move {
            let mut o = store.get(&name).await?;
            let mut buf = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut o, &mut buf).await?;
            anyhow::Ok(buf)
        }
    };
    let good_bytes = data(&good).await?;
    let foreign_bytes = data(&foreign).await?;
    // Stores `bytes` as shard-a's snapshot `id`, described like the good one (its size and
    // SHA-256 unless `describe` says otherwise).
    let put = |id: &str, bytes: Vec<u8>, describe: &dyn Fn(&mut serde_json::Value)| {
        let mut summary = good.clone();
        summary["id"] = json!(id);
        describe(&mut summary);
        let store = store.clone();
        let name = format!("shard-a/{id}");
        async move {
            let meta = ObjectMetadata {
                name,
                metadata: [(
                    shared::snapshots::SUMMARY_KEY.to_string(),
                    summary.to_string(),
                )]
                .into(),
                ..Default::default()
            };
            store.put(meta, &mut bytes.as_slice()).await?;
            anyhow::Ok(())
        }
    };
    let mut flipped = good_bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    put("corrupt", flipped, &|_| {}).await?;
    put(
        "truncated",
        good_bytes[..good_bytes.len() / 3].to_vec(),
        &|_| {},
    )
    .await?;
    let f = tmp.path().join("foreign.dat");
    std::fs::write(&f, &foreign_bytes)?;
    let (foreign_len, foreign_sha) = shared::edge_storage::snapshot::file_digest(&f)?;
    put("foreign", foreign_bytes, &|s| {
        s["sha256"] = json!(foreign_sha);
        s["bytes"] = json!(foreign_len);
    })
    .await?;
    for (id, code, reason) in [
        ("corrupt", 9, "corrupt: the SHA-256"),
        ("truncated", 9, "truncated"),
        ("foreign", 9, "belongs to shard 'shard-b'"),
        ("no-such-id", 5, "has no snapshot no-such-id"),
    ] {
        let dir = tmp.path().join(format!("to-{id}"));
        let (c, out, err) = runnerctl_out(
            &nats,
            &[
                "restore",
                "shard-a",
                "--snapshot",
                id,
                "--to",
                dir.to_str().unwrap(),
            ],
            &[],
        )?;
        ensure!(
            c == code && err.contains(reason),
            "{id}: exit {c}, wanted {code} with '{reason}': {out} {err}"
        );
        ensure!(
            !dir.exists(),
            "{id}: the refused restore left {}",
            dir.display()
        );
    }
    // The good one still restores; then its directory is not empty any more.
    let dir = tmp.path().join("to-good");
    runnerctl_ok(
        &nats,
        &[
            "restore",
            "shard-a",
            "--snapshot",
            good["id"].as_str().unwrap(),
            "--to",
            dir.to_str().unwrap(),
        ],
    )?;
    let (c, _, err) = runnerctl_out(
        &nats,
        &["restore", "shard-a", "--to", dir.to_str().unwrap()],
        &[],
    )?;
    ensure!(c == 7 && err.contains("is not empty"), "{c} {err}");
    Ok(())
}

/// The event stream loses events after the snapshot's position (its limits): `runnerctl
/// restore` refuses (exit 7) naming the tenant and the sequences, and writes nothing; with
/// --accept-loss it restores. A volume restored while the stream held everything, whose
/// events are then removed before the runner starts, makes the runner exit 3 with the same
/// explanation, until RUNNER_RESTORE_ACCEPT_LOSS=true.
#[tokio::test(flavor = "multi_thread")]
async fn events_lost_since_the_snapshot_are_refused_unless_accepted() -> Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    create_streams(&js, DUP).await?;
    // At most 300 events kept: older ones are removed as new ones come.
    let mut cfg = js
        .get_stream(shared::names::DEFAULT_EVENT_STREAM)
        .await?
        .cached_info()
        .config
        .clone();
    cfg.max_messages = 300;
    js.update_stream(cfg).await?;
    let spec =
        RunnerSpec::new(&nats, &tmp.path().join("a"), &["t1"]).env("RUNNER_SNAPSHOT_EVERY", "off");
    let mut a = Runner::start(spec.clone()).await?;
    publish_all(&js, &numbered_deposits("t1", 0, 100, 3)).await?;
    a.wait_caught_up(WAIT).await?;
    runnerctl_ok(&nats, &["snapshot", "--url", &a.admin_url])?;
    a.terminate(WAIT)?;
    std::fs::remove_dir_all(&spec.data_dir)?;
    let dir = spec.data_dir.to_str().unwrap().to_string();
    // The stream still holds everything since the snapshot: restored, checked at start.
    publish_all(&js, &numbered_deposits("t1", 100, 100, 3)).await?;
    runnerctl_ok(&nats, &["restore", "shard-a", "--to", &dir])?;
    // Then 300 more: the stream drops the events right after the snapshot's position.
    publish_all(&js, &numbered_deposits("t1", 200, 300, 3)).await?;
    let mut r = Runner::start_unready(spec.clone())?;
    let status = r.wait_exit(WAIT).await?;
    let log = r.log_text();
    ensure!(
        status.code() == Some(3)
            && log.contains("tenant t1")
            && log.contains("RUNNER_RESTORE_ACCEPT_LOSS"),
        "runner on a restored volume with lost events: {status}; log:\n{log}"
    );
    // runnerctl refuses such a restore up front, and writes nothing.
    let other = tmp.path().join("other");
    let (c, _, err) = runnerctl_out(
        &nats,
        &["restore", "shard-a", "--to", other.to_str().unwrap()],
        &[],
    )?;
    ensure!(
        c == 7 && err.contains("tenant t1") && err.contains("--accept-loss") && !other.exists(),
        "{c} {err}"
    );
    let out = runnerctl_ok(
        &nats,
        &[
            "restore",
            "shard-a",
            "--to",
            other.to_str().unwrap(),
            "--accept-loss",
        ],
    )?;
    ensure!(
        out.contains("loss accepted") || out.contains("restored"),
        "{out}"
    );
    // The runner accepts it when told to, and serves what the stream still holds.
    let a = Runner::start(spec.clone().env("RUNNER_RESTORE_ACCEPT_LOSS", "true")).await?;
    a.wait_caught_up(WAIT).await?;
    ensure!(
        a.log_text().contains("the loss was accepted"),
        "no warning about the accepted loss"
    );
    Ok(())
}

/// A move without a live source: shard-a is killed and its volume is gone for good, its
/// tenant moves onto shard-b with the state of shard-a's snapshot (`runnerctl move t1 --to
/// shard-b --from-snapshot`). shard-b re-applies the events since the snapshot: in the end
/// every deposit is applied exactly once, with one command each, although shard-a had
/// published the commands of the events since the snapshot long before (past the duplicate
/// window); a move while shard-a is still registered is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_of_a_lost_shard_moves_onto_another_from_its_snapshot() -> Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    create_streams(&js, DUP).await?;
    let spec = |shard: &str| {
        RunnerSpec::placed(&nats, &tmp.path().join(shard), shard)
            .env("RUNNER_LEASE_TTL", "3s")
            .env("RUNNER_SNAPSHOT_EVERY", "off")
    };
    let mut a = Runner::start(spec("shard-a")).await?;
    let b = Runner::start(spec("shard-b")).await?;
    runnerctl_ok(&nats, &["place", "t1", "shard-a"])?;
    runnerctl_ok(&nats, &["place", "t2", "shard-b"])?;
    a.wait_serving(&["t1"], WAIT).await?;
    let deposits = Deposits::new(&["t1"], 300, &mut rng());
    let (first, rest) = deposits.events.split_at(deposits.events.len() / 3);
    let (second, third) = rest.split_at(rest.len() / 2);
    publish_all(&js, first).await?;
    a.wait_caught_up(WAIT).await?;
    runnerctl_ok(&nats, &["snapshot", "shard-a"])?;
    publish_all(&js, second).await?;
    a.wait_caught_up(WAIT).await?;
    a.kill9();
    std::fs::remove_dir_all(tmp.path().join("shard-a"))?;
    tokio::time::sleep(DUP * 3).await;
    // Its lease has not expired yet: refused, nothing changed.
    let (c, _, err) = runnerctl_out(
        &nats,
        &["move", "t1", "--to", "shard-b", "--from-snapshot"],
        &[],
    )?;
    ensure!(c == 7 && err.contains("shard-a"), "{c} {err}");
    let out = eventually(
        WAIT,
        "shard-a's lease to expire and the move to pass",
        || async {
            let (c, out, _) = runnerctl_out(
                &nats,
                &[
                    "move",
                    "t1",
                    "--to",
                    "shard-b",
                    "--from-snapshot",
                    "-o",
                    "json",
                ],
                &[],
            )
            .ok()?;
            (c == 0).then_some(out)
        },
    )
    .await?;
    let moved: serde_json::Value = serde_json::from_str(&out)?;
    ensure!(
        moved["from"] == "shard-a" && moved["to"] == "shard-b",
        "{moved}"
    );
    publish_all(&js, third).await?;
    b.wait_caught_up(WAIT).await?;
    eventually(WAIT, "the guard on shard-b to end", || async {
        (metric(&b, "runner_restore_guard").await? == 0.0).then_some(())
    })
    .await?;
    let suppressed = metric(&b, "runner_restore_suppressed_total")
        .await
        .unwrap_or(0.0);
    let mut b = b;
    b.terminate(WAIT)?;
    deposits
        .assert_exactly_once(&tmp.path().join("shard-b"), &js)
        .await?;
    ensure!(
        suppressed > 0.0,
        "shard-b re-applied nothing that was published"
    );
    Ok(())
}

/// The schedule and retention: a runner with `RUNNER_SNAPSHOT_EVERY=1s` and
/// `RUNNER_SNAPSHOT_KEEP=2` takes snapshots by itself, and the bucket keeps its two newest
/// (their descriptions too; the older ones' are deleted with them); `/admin/status` names
/// the newest.
#[tokio::test(flavor = "multi_thread")]
async fn scheduled_snapshots_keep_the_newest_few() -> Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    create_streams(&js, DUP).await?;
    let a = Runner::start(
        RunnerSpec::new(&nats, &tmp.path().join("a"), &["t1"])
            .env("RUNNER_SNAPSHOT_EVERY", "1s")
            .env("RUNNER_SNAPSHOT_KEEP", "2"),
    )
    .await?;
    publish_all(&js, &numbered_deposits("t1", 0, 20, 3)).await?;
    eventually(WAIT, "four scheduled snapshots", || async {
        (metric(&a, "runner_snapshots_total{result=\"ok\"}").await? >= 4.0).then_some(())
    })
    .await?;
    // Stopped, so the bucket holds still while it is looked at (at most one more snapshot
    // comes between the status and the stop: the status's newest is still kept).
    let newest = a
        .status()
        .await?
        .snapshot
        .context("status names no snapshot")?;
    let mut a = a;
    a.terminate(WAIT)?;
    let listed: Vec<serde_json::Value> = serde_json::from_str(&runnerctl_ok(
        &nats,
        &["snapshots", "shard-a", "-o", "json"],
    )?)?;
    ensure!(
        listed.len() == 2,
        "{} snapshots kept: {listed:?}",
        listed.len()
    );
    let store = js
        .get_object_store(shared::snapshots::DEFAULT_BUCKET)
        .await?;
    let mut names = Vec::new();
    let mut objects = store.list().await?;
    while let Some(o) = futures_util::StreamExt::next(&mut objects).await {
        let o = o?;
        if !o.deleted {
            names.push(o.name);
        }
    }
    names.sort();
    let want: Vec<String> = listed
        .iter()
        .flat_map(|s| {
            let id = s["id"].as_str().unwrap_or_default();
            [format!("shard-a/{id}"), format!("shard-a/{id}.json")]
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    ensure!(names == want, "objects {names:?}, wanted {want:?}");
    let ids: Vec<&str> = listed.iter().filter_map(|s| s["id"].as_str()).collect();
    ensure!(
        ids.contains(&newest.id.as_str()),
        "status names {}, the bucket holds {ids:?}",
        newest.id
    );
    Ok(())
}
