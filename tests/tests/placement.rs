//! Live placement against a real nats-server and real runners: tenants follow the bucket
//! without restart, hand-overs apply every event exactly once across shards, crashed owners
//! are taken over after their lease, and `runnerctl` edits placements safely.

use std::collections::BTreeSet;
use std::time::Duration;

use e2e::*;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

fn deposit(t: &str, i: u32) -> (String, bytes::Bytes) {
    (
        format!("evt.{t}.account"),
        event(
            &format!("{t}-{i}"),
            "Deposited",
            &format!("a{}", i % 3),
            json!({"amount": 1}),
        ),
    )
}

/// Publishes `n` deposits for `tenant` over about `secs` seconds, in the background.
fn flow(
    js: &async_nats::jetstream::Context,
    tenant: &str,
    n: u32,
    secs: f64,
) -> tokio::task::JoinHandle<anyhow::Result<Vec<u64>>> {
    let (js, tenant) = (js.clone(), tenant.to_string());
    tokio::spawn(async move {
        let mut seqs = Vec::new();
        let chunk = 50;
        let pause = Duration::from_secs_f64(secs / (n as f64 / chunk as f64));
        for start in (0..n).step_by(chunk as usize) {
            let evs: Vec<_> = (start..(start + chunk).min(n))
                .map(|i| deposit(&tenant, i))
                .collect();
            seqs.extend(publish_all(&js, &evs).await?);
            tokio::time::sleep(pause).await;
        }
        Ok(seqs)
    })
}

fn all_ids(t: &str, n: u32) -> BTreeSet<String> {
    (0..n).map(|i| format!("{t}-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn moving_a_tenant_between_live_shards_applies_every_event_once_across_them()
-> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let (va, vb) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a = Runner::start(RunnerSpec::placed(&nats, &va, "shard-a")).await?;
    let mut b = Runner::start(RunnerSpec::placed(&nats, &vb, "shard-b")).await?;
    runnerctl_ok(&nats, &["place", "t1", "shard-a", "--reason", "first home"])?;
    a.wait_serving(&["t1"], WAIT).await?;
    let js = jetstream(&nats).await?;
    let publisher = flow(&js, "t1", 3000, 3.0);
    eventually(WAIT, "some events applied on shard-a", || async {
        (a.status().await.ok()?.totals.applied > 500).then_some(())
    })
    .await?;
    // shard-a holds t1's state: place refuses without --force, and says why.
    let refused = runnerctl(&nats).args(["place", "t1", "shard-b"]).output()?;
    assert_eq!(refused.status.code(), Some(7));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("has state on live shard 'shard-a'") && err.contains("--force"),
        "{err}"
    );
    runnerctl_ok(
        &nats,
        &["place", "t1", "shard-b", "--force", "--reason", "rebalance"],
    )?;
    a.wait_serving(&[], WAIT).await?;
    b.wait_serving(&["t1"], WAIT).await?;
    let seqs = publisher.await??;
    b.wait_caught_up(WAIT).await?;
    // A replay sent to the old owner says which shard serves the tenant now.
    let r = e2e::http()
        .post(format!("{}/admin/replay", a.admin_url))
        .json(&serde_json::json!({"tenant_id": "t1", "saga_name": "account", "mode": "checkpoint_only", "dry_run": true}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 404);
    let body: serde_json::Value = r.json().await?;
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("served by shard shard-b") && msg.contains(&b.admin_url),
        "{body}"
    );
    // runnerctl finds the owner from the claim.
    let preview = runnerctl_ok(
        &nats,
        &[
            "replay",
            "--tenant",
            "t1",
            "--saga",
            "account",
            "--mode",
            "checkpoint_only",
            "--dry-run",
        ],
    )?;
    assert!(preview.contains(&b.admin_url), "{preview}");
    assert!(a.terminate(WAIT)?.success());
    assert!(b.terminate(WAIT)?.success());

    let on_a = applied_ids(&va, "t1", "account")?;
    let on_b = applied_ids(&vb, "t1", "account")?;
    eprintln!(
        "applied on shard-a: {}, on shard-b: {}, stream {}..{}",
        on_a.len(),
        on_b.len(),
        seqs[0],
        seqs[seqs.len() - 1]
    );
    assert!(
        !on_a.is_empty() && !on_b.is_empty(),
        "both shards served t1"
    );
    assert!(
        on_a.is_disjoint(&on_b),
        "no event applied by both shards: {:?}",
        on_a.intersection(&on_b).take(5).collect::<Vec<_>>()
    );
    let union: BTreeSet<String> = on_a.union(&on_b).cloned().collect();
    assert_eq!(union, all_ids("t1", 3000), "every event applied");

    // The history shows both changes, who made them and why.
    let hist = runnerctl_ok(&nats, &["history", "t1"])?;
    assert!(
        hist.contains("first home") && hist.contains("rebalance") && hist.contains("put (forced)"),
        "{hist}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crashed_owner_is_taken_over_after_its_lease_from_its_last_reported_position()
-> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let (va, vb) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a =
        Runner::start(RunnerSpec::placed(&nats, &va, "shard-a").env("RUNNER_LEASE_TTL", "3s"))
            .await?;
    let mut b =
        Runner::start(RunnerSpec::placed(&nats, &vb, "shard-b").env("RUNNER_LEASE_TTL", "3s"))
            .await?;
    runnerctl_ok(&nats, &["place", "t1", "shard-a"])?;
    a.wait_serving(&["t1"], WAIT).await?;
    let js = jetstream(&nats).await?;
    let publisher = flow(&js, "t1", 3000, 3.0);
    eventually(WAIT, "some events applied on shard-a", || async {
        (a.status().await.ok()?.totals.applied > 800).then_some(())
    })
    .await?;
    a.kill9();
    let killed_at = std::time::Instant::now();
    runnerctl_ok(&nats, &["place", "t1", "shard-b", "--force"])?;
    b.wait_serving(&["t1"], WAIT).await?;
    let took = killed_at.elapsed();
    let seqs = publisher.await??;
    b.wait_caught_up(WAIT).await?;
    assert!(b.terminate(WAIT)?.success());
    assert!(
        took < Duration::from_secs(3 + 3),
        "takeover within the lease time (+ a heartbeat): {took:?}"
    );
    assert!(
        b.log_text()
            .contains("took the tenant over from a shard whose lease expired")
    );

    // What shard-a reported last before it died.
    let handoff = js
        .get_key_value(shared::placement::DEFAULT_HANDOFF_BUCKET)
        .await?;
    let report: shared::placement::PositionsRecord = serde_json::from_slice(
        &handoff
            .get(shared::placement::positions_key("shard-a"))
            .await?
            .unwrap(),
    )?;
    let reported = report.tenants["t1"];
    let on_a = applied_ids(&va, "t1", "account")?;
    let on_b = applied_ids(&vb, "t1", "account")?;
    let twice: BTreeSet<&String> = on_a.intersection(&on_b).collect();
    // Events after the reported position, by id (ids are in publish order).
    let first = seqs[0];
    let after_report: BTreeSet<String> = (0..3000u32)
        .filter(|i| first + *i as u64 > reported)
        .map(|i| format!("t1-{i}"))
        .collect();
    eprintln!(
        "shard-a applied {}, reported position {reported} (event #{}), shard-b applied {}; applied twice: {} (bound: {} events after the report)",
        on_a.len(),
        reported.saturating_sub(first) + 1,
        on_b.len(),
        twice.len(),
        after_report.len()
    );
    assert!(
        twice.iter().all(|id| after_report.contains(*id)),
        "only events after shard-a's last report are applied twice"
    );
    let union: BTreeSet<String> = on_a.union(&on_b).cloned().collect();
    assert_eq!(union, all_ids("t1", 3000), "nothing lost");
    drop(a);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_placed_removed_and_placed_again_is_served_again_without_loss()
-> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let va = tmp.path().join("a");
    let mut a = Runner::start(RunnerSpec::placed(&nats, &va, "shard-a")).await?;
    let js = jetstream(&nats).await?;
    runnerctl_ok(&nats, &["place", "t1", "shard-a"])?;
    a.wait_serving(&["t1"], WAIT).await?;
    publish_all(&js, &(0..100).map(|i| deposit("t1", i)).collect::<Vec<_>>()).await?;
    a.wait_caught_up(WAIT).await?;
    runnerctl_ok(&nats, &["unplace", "t1", "--reason", "pause"])?;
    a.wait_serving(&[], WAIT).await?;
    // Published while nobody serves t1.
    publish_all(
        &js,
        &(100..200).map(|i| deposit("t1", i)).collect::<Vec<_>>(),
    )
    .await?;
    let s = a.status().await?;
    assert!(s.tenants.is_empty());
    // A value that is not a shard id is logged and ignored.
    let kv = js
        .get_key_value(shared::placement::DEFAULT_PLACEMENT_BUCKET)
        .await?;
    kv.put("t2", "not a shard!".into()).await?;
    runnerctl_ok(&nats, &["place", "t1", "shard-a"])?;
    let s = a.wait_serving(&["t1"], WAIT).await?;
    assert_eq!(s.tenants.len(), 1);
    a.wait_caught_up(WAIT).await?;
    assert!(
        a.log_text()
            .contains("placement value is not a valid shard id")
    );
    assert!(a.terminate(WAIT)?.success());
    assert_eq!(applied_ids(&va, "t1", "account")?, all_ids("t1", 200));
    Ok(())
}

/// Events of a tenant that no placement names wait in the stream: no shard applies them,
/// `runnerctl placements` lists the tenant as unplaced with its event count, and once it is
/// placed its shard applies every one of them, from the first.
#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_with_events_and_no_placement_is_listed_and_served_from_its_first_event_once_placed()
-> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let va = tmp.path().join("a");
    let a = Runner::start(RunnerSpec::placed(&nats, &va, "shard-a")).await?;
    let js = jetstream(&nats).await?;
    runnerctl_ok(&nats, &["place", "t1", "shard-a"])?;
    a.wait_serving(&["t1"], WAIT).await?;
    publish_all(&js, &(0..30).map(|i| deposit("t1", i)).collect::<Vec<_>>()).await?;
    publish_all(
        &js,
        &(0..40).map(|i| deposit("ghost", i)).collect::<Vec<_>>(),
    )
    .await?;
    a.wait_caught_up(WAIT).await?;
    let s = a.status().await?;
    assert_eq!(s.tenants.len(), 1, "{:?}", s.tenants);
    let rows: serde_json::Value =
        serde_json::from_str(&runnerctl_ok(&nats, &["placements", "-o", "json"])?)?;
    let ghost = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tenant"] == "ghost")
        .unwrap_or_else(|| panic!("ghost not listed: {rows}"));
    assert_eq!(ghost["unplaced_events"], 40, "{ghost}");
    assert_eq!(ghost["desired"], serde_json::Value::Null, "{ghost}");
    let t1 = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tenant"] == "t1")
        .unwrap();
    assert!(t1.get("unplaced_events").is_none(), "{t1}");
    let http = e2e::http();
    let metric = |name: &'static str| {
        let (http, url) = (http.clone(), a.admin_url.clone());
        async move { e2e::bench::metric(&http, &url, name).await }
    };
    assert_eq!(metric("runner_unplaced_tenants").await, Some(1.0));
    assert_eq!(metric("runner_unplaced_events").await, Some(40.0));
    let table = runnerctl_ok(&nats, &["placements"])?;
    assert!(
        table.contains("unplaced: 40 events in RUNNER_EVENTS wait for a placement")
            && table.contains("(1 unplaced, with events in the stream)"),
        "{table}"
    );
    runnerctl_ok(&nats, &["place", "ghost", "shard-a"])?;
    a.wait_serving(&["t1", "ghost"], WAIT).await?;
    a.wait_caught_up(WAIT).await?;
    let rows: serde_json::Value =
        serde_json::from_str(&runnerctl_ok(&nats, &["placements", "-o", "json"])?)?;
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("unplaced_events").is_none()),
        "{rows}"
    );
    assert_eq!(metric("runner_unplaced_tenants").await, Some(0.0));
    let mut a = a;
    assert!(a.terminate(WAIT)?.success());
    assert_eq!(applied_ids(&va, "ghost", "account")?, all_ids("ghost", 40));
    assert_eq!(applied_ids(&va, "t1", "account")?, all_ids("t1", 30));
    Ok(())
}

/// With both the bucket and an allowlist, a runner serves only tenants placed on it AND
/// allowed; a purge releases like a delete; an empty value is logged and ignored.
#[tokio::test(flavor = "multi_thread")]
async fn the_allowlist_restricts_placement_and_a_purge_releases() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let va = tmp.path().join("a");
    let mut a = Runner::start(
        RunnerSpec::placed(&nats, &va, "shard-a").env("RUNNER_TENANT_ALLOWLIST", "t1,t2"),
    )
    .await?;
    let js = jetstream(&nats).await?;
    let kv = js
        .get_key_value(shared::placement::DEFAULT_PLACEMENT_BUCKET)
        .await?;
    kv.put("t1", "shard-a".into()).await?;
    kv.put("t3", "shard-a".into()).await?;
    kv.put("t2", "".into()).await?;
    a.wait_serving(&["t1"], WAIT).await?;
    publish_all(&js, &(0..50).map(|i| deposit("t1", i)).collect::<Vec<_>>()).await?;
    publish_all(&js, &(0..50).map(|i| deposit("t3", i)).collect::<Vec<_>>()).await?;
    a.wait_caught_up(WAIT).await?;
    kv.purge("t1").await?;
    a.wait_serving(&[], WAIT).await?;
    kv.put("t2", "shard-a".into()).await?;
    let s = a.wait_serving(&["t2"], WAIT).await?;
    assert!(
        s.tenants.iter().all(|t| t.tenant != "t3"),
        "t3 is not allowed"
    );
    let log = a.log_text();
    assert!(
        log.contains("placement value is not a valid shard id"),
        "the empty value was logged"
    );
    assert!(a.terminate(WAIT)?.success());
    assert_eq!(applied_ids(&va, "t1", "account")?, all_ids("t1", 50));
    assert!(applied_ids(&va, "t3", "account")?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watcher_converges_after_losing_its_nats_connection() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let proxy = TcpProxy::start(nats.port).await?;
    let tmp = tempfile::tempdir()?;
    let mut spec = RunnerSpec::placed(&nats, &tmp.path().join("a"), "shard-a");
    spec.nats_url = proxy.url();
    let a = Runner::start(spec).await?;
    runnerctl_ok(&nats, &["place", "t1", "shard-a"])?;
    a.wait_serving(&["t1"], WAIT).await?;
    proxy.sever();
    eventually(WAIT, "the runner to notice the lost connection", || async {
        let s = a.status().await.ok()?;
        (!s.nats.connected).then_some(())
    })
    .await?;
    // Changes the runner cannot see now.
    runnerctl_ok(&nats, &["unplace", "t1"])?;
    runnerctl_ok(&nats, &["place", "t2", "shard-a", "--force"])?;
    runnerctl_ok(&nats, &["place", "t3", "shard-a", "--force"])?;
    proxy.restore();
    a.wait_serving(&["t2", "t3"], WAIT).await?;
    assert!(a.log_text().contains("re-reading the placement bucket"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_runner_with_a_held_shard_id_waits_and_takes_over_when_the_holder_dies()
-> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let first = Runner::start(
        RunnerSpec::placed(&nats, &tmp.path().join("a1"), "shard-a").env("RUNNER_LEASE_TTL", "3s"),
    )
    .await?;
    let spec2 =
        RunnerSpec::placed(&nats, &tmp.path().join("a2"), "shard-a").env("RUNNER_LEASE_TTL", "3s");
    let log2 = tmp.path().join("a2.log");
    let mut second = Runner::spawn(&spec2, &log2)?;
    let pid = first.pid().unwrap();
    eventually(
        WAIT,
        "the second runner to say who holds the shard",
        || async {
            let text = std::fs::read_to_string(&log2).ok()?;
            text.contains(&format!("shard shard-a is held by pid {pid}"))
                .then_some(())
        },
    )
    .await?;
    let text = std::fs::read_to_string(&log2)?;
    assert!(
        text.contains(&first.admin_url),
        "names the holder's admin URL: {text}"
    );
    assert!(second.try_wait()?.is_none(), "it waits instead of exiting");
    let shards = runnerctl_ok(&nats, &["shards", "-o", "json"])?;
    let shards: Vec<serde_json::Value> = serde_json::from_str(&shards)?;
    assert_eq!(shards.len(), 1);
    assert_eq!(shards[0]["pid"], json!(pid));
    let mut first = first;
    first.kill9();
    let killed = std::time::Instant::now();
    eventually(WAIT, "the second runner to take the shard", || async {
        let text = std::fs::read_to_string(&log2).ok()?;
        text.contains("took the shard's lease").then_some(())
    })
    .await?;
    assert!(
        killed.elapsed() < Duration::from_secs(6),
        "within the lease time: {:?}",
        killed.elapsed()
    );
    let _ = second.kill();
    let _ = second.wait();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn runnerctl_placement_commands_check_before_writing() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let code = |args: &[&str]| -> anyhow::Result<(Option<i32>, String)> {
        let out = runnerctl(&nats).args(args).output()?;
        Ok((
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    };
    // No bucket yet.
    let (c, err) = code(&["place", "t1", "shard-a"])?;
    assert_eq!(c, Some(5), "{err}");
    assert!(
        err.contains("does not exist") && err.contains("--create"),
        "{err}"
    );
    // Bad ids are usage errors.
    let (c, err) = code(&["place", "t 1", "shard-a"])?;
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("'t 1' contains ' '"), "{err}");
    let (c, _) = code(&["place", "t1", "shard/a"])?;
    assert_eq!(c, Some(2));
    // Unknown shard: refused, nothing written (the bucket is created, the key is not).
    let (c, err) = code(&["place", "t1", "shard-a", "--create"])?;
    assert_eq!(c, Some(7), "{err}");
    assert!(err.contains("shard 'shard-a' is not registered"), "{err}");
    let (c, err) = code(&["history", "t1"])?;
    assert_eq!(c, Some(5), "nothing was written: {err}");

    let a = Runner::start(RunnerSpec::placed(&nats, &tmp.path().join("a"), "shard-a")).await?;
    // `watch` shows the change and what the runner did about it, one JSON object per line.
    let mut watch = runnerctl(&nats)
        .args(["watch", "-o", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let err = watch.stderr.take().expect("piped");
    let (up_tx, up) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut first = String::new();
        let _ = std::io::BufReader::new(err).read_line(&mut first);
        let _ = up_tx.send(first);
    });
    let first = up.recv_timeout(WAIT)?;
    assert!(first.starts_with("watching placement bucket"), "{first}");
    let (tx, lines) = std::sync::mpsc::channel::<serde_json::Value>();
    let out = watch.stdout.take().expect("piped");
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx
                .send(serde_json::from_str(&l).expect("watch prints JSON lines"))
                .is_err()
            {
                break;
            }
        }
    });
    runnerctl_ok(&nats, &["place", "t1", "shard-a", "--expect", "-"])?;
    a.wait_serving(&["t1"], WAIT).await?;
    let deadline = std::time::Instant::now() + WAIT;
    let (mut saw_put, mut saw_started) = (false, false);
    while !(saw_put && saw_started) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Ok(v) = lines.recv_timeout(left) else {
            let _ = watch.kill();
            anyhow::bail!(
                "watch did not show the placement (put {saw_put}, started {saw_started})"
            );
        };
        if v["type"] == "placement" && v["tenant"] == "t1" && v["shard"] == "shard-a" {
            saw_put = true;
        }
        if v["type"] == "notice" && v["kind"] == "tenant_started" && v["tenant"] == "t1" {
            saw_started = true;
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    // Compare-and-swap: --expect names the wrong owner.
    let (c, err) = code(&["place", "t1", "shard-a", "--expect", "shard-c"])?;
    assert_eq!(c, Some(6), "{err}");
    assert!(err.contains("t1 is 'shard-a' now, not 'shard-c'"), "{err}");
    let (c, err) = code(&["unplace", "t9"])?;
    assert_eq!(c, Some(5), "{err}");
    // The listing commands.
    let p: Vec<serde_json::Value> =
        serde_json::from_str(&runnerctl_ok(&nats, &["placements", "-o", "json"])?)?;
    assert_eq!(p.len(), 1);
    assert_eq!(
        (
            p[0]["desired"].as_str(),
            p[0]["owner"].as_str(),
            p[0]["mismatch"].as_bool()
        ),
        (Some("shard-a"), Some("shard-a"), Some(false))
    );
    let table = runnerctl_ok(&nats, &["shards"])?;
    assert!(
        table.contains("shard-a") && table.contains("running") && table.contains(&a.admin_url),
        "{table}"
    );
    // t1 has had no event on shard-a: nothing to lose, so moving it needs no --force.
    let b = Runner::start(RunnerSpec::placed(&nats, &tmp.path().join("b"), "shard-b")).await?;
    let moved = runnerctl_ok(&nats, &["place", "t1", "shard-b", "--expect", "shard-a"])?;
    assert!(moved.contains("t1: shard-a -> shard-b"), "{moved}");
    b.wait_serving(&["t1"], WAIT).await?;
    // NATS unreachable.
    let out = runnerctl(&nats)
        .args(["placements", "--nats-url", "nats://127.0.0.1:1"])
        .output()?;
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot connect to NATS at nats://127.0.0.1:1")
    );
    Ok(())
}
