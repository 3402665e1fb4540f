//! `runnerctl move` against a real nats-server and two runners: a move under a steady flow,
//! moves interrupted after each phase (runnerctl stopped, the source killed, the target
//! killed) and rerun, an abort, and the refusals.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use e2e::*;
use serde_json::Value;
use shared::placement::MovePhase;

const WAIT: Duration = Duration::from_secs(60);

fn deposits(t: &str, from: u32, n: u32) -> Vec<(String, bytes::Bytes)> {
    e2e::numbered_deposits(t, from, n, 4)
}

fn ids(t: &str, n: u32) -> BTreeSet<String> {
    (0..n).map(|i| format!("{t}-d{i}")).collect()
}

/// (sum of balances, sum of deposit counts) of a tenant in a stopped volume.
fn balance(dir: &Path, t: &str) -> anyhow::Result<(i64, i64)> {
    let v = read_volume(dir)?;
    let (mut b, mut d) = (0, 0);
    for ((tt, s, _), i) in &v.instances {
        if tt == t && s == "account" {
            let data: Value = serde_json::from_str(&i.data)?;
            b += data["balance"].as_i64().unwrap_or(0);
            d += data["deposits"].as_i64().unwrap_or(0);
        }
    }
    Ok((b, d))
}

fn holds(dir: &Path, t: &str) -> anyhow::Result<usize> {
    let v = read_volume(dir)?;
    Ok(v.instances.keys().filter(|k| k.0 == t).count()
        + v.dedupe.keys().filter(|k| k.0 == t).count()
        + v.checkpoints.keys().filter(|k| k.0 == t).count())
}

async fn applied_on(r: &Runner, t: &str) -> u64 {
    r.status()
        .await
        .ok()
        .and_then(|s| {
            s.tenants
                .into_iter()
                .find(|x| x.tenant == t)
                .map(|x| x.sagas.iter().map(|s| s.counters.applied).sum())
        })
        .unwrap_or(0)
}

fn mv(
    nats: &NatsServer,
    args: &[&str],
    stop_after: Option<&str>,
) -> anyhow::Result<(Option<i32>, String, String)> {
    let mut c = runnerctl(nats);
    c.arg("move").args(args);
    if let Some(p) = stop_after {
        c.env("RUNNERCTL_MOVE_STOP_AFTER", p);
    }
    let out = c.output()?;
    Ok((
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_under_a_steady_flow_carries_the_state_and_applies_every_event_once()
-> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    let (va, vb) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a = Runner::start(RunnerSpec::placed(&nats, &va, "shard-a")).await?;
    let mut b = Runner::start(RunnerSpec::placed(&nats, &vb, "shard-b")).await?;
    runnerctl_ok(&nats, &["place", "t1", "shard-a"])?;
    runnerctl_ok(&nats, &["place", "k1", "shard-a"])?;
    a.wait_serving(&["k1", "t1"], WAIT).await?;

    // Refusals, before anything changes.
    let (c, _, err) = mv(&nats, &["t1", "--to", "shard-a"], None)?;
    assert_eq!(c, Some(7), "{err}");
    assert!(err.contains("already placed on shard-a"), "{err}");
    let (c, _, err) = mv(&nats, &["t1", "--to", "shard-z"], None)?;
    assert_eq!(c, Some(5), "{err}");
    assert!(err.contains("shard 'shard-z' is not registered"), "{err}");
    let (c, _, err) = mv(&nats, &["nobody", "--to", "shard-b"], None)?;
    assert_eq!(c, Some(5), "{err}");
    assert!(err.contains("is not placed"), "{err}");
    runnerctl_ok(&nats, &["drain", "shard-b"])?;
    let (c, _, err) = mv(&nats, &["t1", "--to", "shard-b"], None)?;
    assert_eq!(c, Some(7), "{err}");
    assert!(err.contains("shard shard-b is drained"), "{err}");
    runnerctl_ok(&nats, &["resume", "shard-b"])?;

    // Events flow before, during and after the move.
    publish_all(&js, &deposits("t1", 0, 1000)).await?;
    publish_all(&js, &deposits("k1", 0, 10)).await?;
    eventually(WAIT, "shard-a to apply the first events", || async {
        (applied_on(&a, "t1").await >= 1000 && applied_on(&a, "k1").await >= 10).then_some(())
    })
    .await?;
    let flow = tokio::spawn({
        let js = js.clone();
        async move {
            for chunk in 0..20u32 {
                publish_all(&js, &deposits("t1", 1000 + chunk * 100, 100)).await?;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            anyhow::Ok(())
        }
    });
    let plan = runnerctl_ok(
        &nats,
        &["move", "t1", "--to", "shard-b", "--dry-run", "-o", "json"],
    )?;
    let plan: Value = serde_json::from_str(&plan)?;
    assert_eq!(plan["source"]["instances"], 4, "{plan}");
    let out = runnerctl_ok(
        &nats,
        &[
            "move",
            "t1",
            "--to",
            "shard-b",
            "--reason",
            "rebalance",
            "-o",
            "json",
        ],
    )?;
    let moved: Value = serde_json::from_str(&out)?;
    assert_eq!(moved["moved"]["instances"], 4, "{moved}");
    assert!(
        moved["moved"]["sha256"]
            .as_str()
            .is_some_and(|s| s.len() == 64)
    );
    flow.await??;
    b.wait_serving(&["t1"], WAIT).await?;
    b.wait_caught_up(WAIT).await?;
    let placements: Value =
        serde_json::from_str(&runnerctl_ok(&nats, &["placements", "-o", "json"])?)?;
    let row = placements
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tenant"] == "t1")
        .unwrap();
    assert_eq!(
        (row["desired"].as_str(), row["owner"].as_str()),
        (Some("shard-b"), Some("shard-b"))
    );
    let hist = runnerctl_ok(&nats, &["history", "t1"])?;
    assert!(hist.contains("rebalance"), "{hist}");

    // --keep-source leaves a copy, and moving back onto it is refused.
    runnerctl_ok(&nats, &["move", "k1", "--to", "shard-b", "--keep-source"])?;
    let (c, _, err) = mv(&nats, &["k1", "--to", "shard-a"], None)?;
    assert_eq!(c, Some(7), "{err}");
    assert!(err.contains("shard-a already holds"), "{err}");

    a.terminate(WAIT)?;
    b.terminate(WAIT)?;
    assert_eq!(
        applied_ids(&vb, "t1", "account")?,
        ids("t1", 3000),
        "every event, once, on the target"
    );
    assert_eq!(balance(&vb, "t1")?, ((0..3000).sum::<i64>(), 3000));
    assert_eq!(holds(&va, "t1")?, 0, "the source deleted its copy");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_move_converges_when_rerun_and_an_abort_restores_the_source()
-> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    let (va, vb) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a = Runner::start(RunnerSpec::placed(&nats, &va, "shard-a")).await?;
    let mut b = Runner::start(RunnerSpec::placed(&nats, &vb, "shard-b")).await?;
    let mut tenants = Vec::new();
    for phase in ["released", "imported", "flipped"] {
        for kill in ["runnerctl", "source", "target"] {
            let t = format!("{}-{}", &phase[..3], &kill[..3]);
            runnerctl_ok(&nats, &["place", &t, "shard-a"])?;
            eventually(WAIT, "shard-a to serve the tenant", || async {
                let s = a.status().await.ok()?;
                s.tenants.iter().any(|x| x.tenant == t).then_some(())
            })
            .await?;
            publish_all(&js, &deposits(&t, 0, 100)).await?;
            eventually(WAIT, "shard-a to apply the first events", || async {
                (applied_on(&a, &t).await >= 100).then_some(())
            })
            .await?;
            let (c, _, err) = mv(&nats, &[&t, "--to", "shard-b"], Some(phase))?;
            assert_eq!(c, Some(99), "{t}: {err}");
            match kill {
                "source" => {
                    a.kill9();
                    a.restart().await?;
                }
                "target" => {
                    b.kill9();
                    b.restart().await?;
                }
                _ => {}
            }
            // Events keep coming while the move is interrupted.
            publish_all(&js, &deposits(&t, 100, 50)).await?;
            let (c, _, err) = mv(&nats, &[&t, "--to", "shard-b"], None)?;
            assert_eq!(c, Some(0), "{t}: rerun: {err}");
            assert!(err.contains(&format!("after phase {phase}")), "{t}: {err}");
            publish_all(&js, &deposits(&t, 150, 50)).await?;
            tenants.push(t);
        }
    }

    // An abort after the import: the source serves the tenant again, the target keeps nothing.
    runnerctl_ok(&nats, &["place", "ab", "shard-a"])?;
    publish_all(&js, &deposits("ab", 0, 100)).await?;
    eventually(WAIT, "shard-a to apply ab", || async {
        (applied_on(&a, "ab").await >= 100).then_some(())
    })
    .await?;
    let (c, _, err) = mv(&nats, &["ab", "--to", "shard-b"], Some("imported"))?;
    assert_eq!(c, Some(99), "{err}");
    let placements: Value =
        serde_json::from_str(&runnerctl_ok(&nats, &["placements", "-o", "json"])?)?;
    let row = placements
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tenant"] == "ab")
        .unwrap();
    assert_eq!(row["moving"], "shard-a -> shard-b", "{row}");
    // Another destination while a move is recorded: refused.
    let (c, _, err) = mv(&nats, &["ab", "--to", "shard-c"], None)?;
    assert_eq!(c, Some(6), "{err}");
    runnerctl_ok(&nats, &["move", "ab", "--abort"])?;
    publish_all(&js, &deposits("ab", 100, 50)).await?;
    eventually(WAIT, "shard-a to apply ab again", || async {
        (applied_on(&a, "ab").await >= 150).then_some(())
    })
    .await?;
    let (c, _, err) = mv(&nats, &["ab", "--abort"], None)?;
    assert_eq!(c, Some(5), "nothing left to abort: {err}");

    let names: Vec<&str> = tenants.iter().map(|s| s.as_str()).collect();
    b.wait_serving(&names, WAIT).await?;
    b.wait_caught_up(WAIT).await?;
    a.wait_caught_up(WAIT).await?;
    a.terminate(WAIT)?;
    b.terminate(WAIT)?;
    for t in &tenants {
        assert_eq!(
            applied_ids(&vb, t, "account")?,
            ids(t, 200),
            "{t}: every event once on the target"
        );
        assert_eq!(balance(&vb, t)?, ((0..200).sum::<i64>(), 200), "{t}");
        assert_eq!(holds(&va, t)?, 0, "{t}: the source's copy is gone");
    }
    assert_eq!(applied_ids(&va, "ab", "account")?, ids("ab", 150));
    assert_eq!(balance(&va, "ab")?, ((0..150).sum::<i64>(), 150));
    assert_eq!(holds(&vb, "ab")?, 0);
    Ok(())
}

/// `runnerctl move` killed with SIGKILL at random moments (not only between phases), then
/// run again: the move finishes and every event is applied once, on the target.
#[tokio::test(flavor = "multi_thread")]
async fn a_move_killed_at_random_moments_finishes_when_rerun() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    let (va, vb) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a = Runner::start(RunnerSpec::placed(&nats, &va, "shard-a")).await?;
    let mut b = Runner::start(RunnerSpec::placed(&nats, &vb, "shard-b")).await?;
    let mut rand = rng();
    let mut tenants = Vec::new();
    let mut killed = 0;
    let mut phases = BTreeSet::new();
    let handoff = js.get_key_value("runner_handoff").await?;
    for i in 0..6u64 {
        let t = format!("kill{i}");
        runnerctl_ok(&nats, &["place", &t, "shard-a"])?;
        publish_all(&js, &deposits(&t, 0, 100)).await?;
        eventually(WAIT, "shard-a to apply the first events", || async {
            (applied_on(&a, &t).await >= 100).then_some(())
        })
        .await?;
        let mut child = runnerctl(&nats)
            .args(["move", &t, "--to", "shard-b"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        // Killed once the move has recorded a chosen phase (spread over the tenants), plus
        // a random few ms: in different phases and between them.
        let target = [
            MovePhase::Releasing,
            MovePhase::Released,
            MovePhase::Imported,
        ][i as usize % 3];
        let mut reached = None;
        let deadline = std::time::Instant::now() + WAIT;
        while reached.is_none() && std::time::Instant::now() < deadline {
            if child.try_wait()?.is_some() {
                break;
            }
            if let Some(p) = move_phase(&handoff, &t).await
                && p >= target
            {
                reached = Some(p);
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(rand(15))).await;
        let _ = child.kill();
        let st = child.wait()?;
        eprintln!("{t}: killed after phase {reached:?}; runnerctl move ended with {st}");
        if st.code().is_none()
            && let Some(p) = reached
            && p < MovePhase::Flipped
        {
            killed += 1;
            phases.insert(p);
        }
        publish_all(&js, &deposits(&t, 100, 50)).await?;
        let (c, _, err) = mv(&nats, &[&t, "--to", "shard-b"], None)?;
        // 0: finished now; 7 "already placed on shard-b": it had finished before the kill.
        assert!(
            c == Some(0) || (c == Some(7) && err.contains("already placed on shard-b")),
            "{t}: rerun: {c:?} {err}"
        );
        publish_all(&js, &deposits(&t, 150, 50)).await?;
        tenants.push(t);
    }
    assert!(
        killed >= 4 && phases.len() >= 2,
        "only {killed} moves were killed mid-way, after phases {phases:?}"
    );
    let names: Vec<&str> = tenants.iter().map(|s| s.as_str()).collect();
    b.wait_serving(&names, WAIT).await?;
    b.wait_caught_up(WAIT).await?;
    a.wait_caught_up(WAIT).await?;
    a.terminate(WAIT)?;
    b.terminate(WAIT)?;
    for t in &tenants {
        assert_eq!(applied_ids(&vb, t, "account")?, ids(t, 200), "{t}");
        assert_eq!(balance(&vb, t)?, ((0..200).sum::<i64>(), 200), "{t}");
        assert_eq!(holds(&va, t)?, 0, "{t}: the source's copy is gone");
    }
    Ok(())
}

/// The phase a move of `t` has recorded, if one is under way.
async fn move_phase(handoff: &async_nats::jetstream::kv::Store, t: &str) -> Option<MovePhase> {
    let v = handoff.get(shared::placement::move_key(t)).await.ok()??;
    serde_json::from_slice::<shared::placement::MoveRecord>(&v)
        .ok()
        .map(|r| r.phase)
}
