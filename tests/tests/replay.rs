//! Replay (DESIGN.md §6) and drain (§5) against a real nats-server and runner: each mode's
//! exact effect on the state, events published during a replay, drain with events in
//! flight, drain during a replay, and every error code of the admin endpoints.

use std::time::Duration;

use e2e::*;
use serde_json::{Value, json};
use shared::edge_storage::{StorageError, TableCode, Volume, WriteOptions};

const WAIT: Duration = Duration::from_secs(60);

fn deposits(t: &str, from: u32, n: u32) -> Vec<(String, bytes::Bytes)> {
    e2e::numbered_deposits(t, from, n, 5)
}

/// Orders placed, paid and shipped, in that order per order.
fn orders(t: &str, from: u32, n: u32) -> Vec<(String, bytes::Bytes)> {
    let mut out = Vec::new();
    for i in from..from + n {
        let k = format!("o{i}");
        out.push((
            format!("evt.{t}.order"),
            event(
                &format!("{t}-p{i}"),
                "OrderPlaced",
                &k,
                json!({"amount": i, "customer": "c"}),
            ),
        ));
        out.push((
            format!("evt.{t}.order"),
            event(&format!("{t}-c{i}"), "PaymentCaptured", &k, json!({})),
        ));
        out.push((
            format!("evt.{t}.order"),
            event(&format!("{t}-s{i}"), "OrderShipped", &k, json!({})),
        ));
    }
    out
}

/// Sum of the balances and deposits of a tenant's accounts in a stopped volume.
fn balances(dir: &std::path::Path, t: &str) -> anyhow::Result<(i64, i64)> {
    let v = read_volume(dir)?;
    let (mut bal, mut dep) = (0, 0);
    for ((tt, s, _), inst) in &v.instances {
        if tt == t && s == "account" {
            let d: Value = serde_json::from_str(&inst.data)?;
            bal += d["balance"].as_i64().unwrap_or(0);
            dep += d["deposits"].as_i64().unwrap_or(0);
        }
    }
    Ok((bal, dep))
}

/// Comparable state of a tenant+saga: key -> (state, data, version).
fn instances(
    dir: &std::path::Path,
    t: &str,
    saga: &str,
) -> anyhow::Result<Vec<(String, String, String, u64)>> {
    Ok(read_volume(dir)?
        .instances
        .into_iter()
        .filter(|((tt, s, _), _)| tt == t && s == saga)
        .map(|((_, _, k), i)| (k, i.state, i.data, i.version))
        .collect())
}

async fn post(url: &str, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    let r = e2e::http()
        .post(format!("{url}{path}"))
        .json(&body)
        .send()
        .await?;
    let code = r.status().as_u16();
    Ok((code, r.json().await.unwrap_or(Value::Null)))
}

async fn wait_replay(url: &str, id: &str) -> anyhow::Result<Value> {
    wait_replay_over(url, id, WAIT).await
}

#[tokio::test(flavor = "multi_thread")]
async fn full_reset_rebuilds_what_a_fresh_runner_builds_and_applies_live_events_once_after_it()
-> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    let mut events = deposits("t1", 1, 3000);
    events.extend(orders("t1", 0, 300));
    publish_all(&js, &events).await?;
    let vol = tmp.path().join("a");
    let mut a = Runner::start(RunnerSpec::new(&nats, &vol, &["t1"])).await?;
    a.wait_caught_up(WAIT).await?;

    // The preview is exact and changes nothing.
    let out = runnerctl(&nats)
        .args([
            "replay",
            "--url",
            &a.admin_url,
            "--tenant",
            "t1",
            "--saga",
            "order",
            "--mode",
            "full_reset",
            "--dry-run",
            "-o",
            "json",
        ])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dry: Value = serde_json::from_slice(&out.stdout)?;
    let d = &dry["plan"]["deletes"];
    assert_eq!(
        (
            d["checkpoints"].as_u64(),
            d["dedupe"].as_u64(),
            d["instances"].as_u64(),
            d["timers"].as_u64()
        ),
        (Some(1), Some(900), Some(300), Some(0)),
        "{dry}"
    );
    assert_eq!(dry["plan"]["stream"]["events"], 900);
    assert!(dry["replay"].is_null());
    // Without a terminal a destructive mode needs --yes.
    let out = runnerctl(&nats)
        .args([
            "replay",
            "--url",
            &a.admin_url,
            "--tenant",
            "t1",
            "--saga",
            "order",
            "--mode",
            "full_reset",
        ])
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --yes"));

    // The replay, with new orders published while it runs.
    let (code, accepted) = post(
        &a.admin_url,
        "/admin/replay",
        json!({"tenant_id": "t1", "saga_name": "order", "mode": "full_reset"}),
    )
    .await?;
    assert_eq!(code, 202, "{accepted}");
    let id = accepted["replay_id"].as_str().unwrap().to_string();
    publish_all(&js, &orders("t1", 300, 100)).await?;
    let done = wait_replay(&a.admin_url, &id).await?;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["deleted"]["instances"], 300);
    assert_eq!(done["deleted"]["dedupe"], 900);
    assert!(done["scanned"].as_u64().unwrap() >= 900, "{done}");
    assert_eq!(done["skipped_dedupe"], 0, "{done}");
    a.wait_caught_up(WAIT).await?;
    let st = a.status().await?;
    let order = st.tenants[0]
        .sagas
        .iter()
        .find(|s| s.saga == "order")
        .unwrap();
    assert_eq!(order.counters.ignored, 0, "events applied out of order");
    a.terminate(WAIT)?;

    // A fresh runner over the same events builds the same state.
    let fresh = tmp.path().join("fresh");
    let mut b = Runner::start(RunnerSpec::new(&nats, &fresh, &["t1"])).await?;
    b.wait_caught_up(WAIT).await?;
    b.terminate(WAIT)?;
    let replayed = instances(&vol, "t1", "order")?;
    assert_eq!(replayed.len(), 400);
    assert!(replayed.iter().all(|(_, state, _, _)| state == "shipped"));
    assert_eq!(replayed, instances(&fresh, "t1", "order")?);
    assert_eq!(
        applied_ids(&vol, "t1", "order")?,
        applied_ids(&fresh, "t1", "order")?
    );
    // The saga not replayed is untouched.
    assert_eq!(balances(&vol, "t1")?, ((1..=3000).sum::<i64>(), 3000));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn checkpoint_and_dedupe_applies_every_retained_event_once_more() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    publish_all(&js, &deposits("t1", 1, 500)).await?;
    let vol = tmp.path().join("a");
    let mut a = Runner::start(RunnerSpec::new(&nats, &vol, &["t1"])).await?;
    a.wait_caught_up(WAIT).await?;
    let out = runnerctl(&nats)
        .args([
            "replay",
            "--url",
            &a.admin_url,
            "--tenant",
            "t1",
            "--saga",
            "account",
            "--mode",
            "checkpoint_and_dedupe",
            "--yes",
            "-o",
            "json",
        ])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(r["replay"]["state"], "completed");
    assert_eq!(r["replay"]["deleted"]["dedupe"], 500);
    assert_eq!(r["replay"]["deleted"]["instances"], 0);
    assert_eq!(r["replay"]["applied"], 500, "{r}");
    a.wait_caught_up(WAIT).await?;
    a.terminate(WAIT)?;
    let s: i64 = (1..=500).sum();
    assert_eq!(balances(&vol, "t1")?, (2 * s, 1000));

    // The stream loses the saga's first 400 events: a full_reset would rebuild a partial
    // state, so the preview warns and, without a terminal, only --yes proceeds.
    js.get_stream("RUNNER_EVENTS")
        .await?
        .purge()
        .filter("evt.t1.account")
        .keep(100)
        .await?;
    a.restart().await?;
    let out = runnerctl(&nats)
        .args([
            "replay",
            "--url",
            &a.admin_url,
            "--tenant",
            "t1",
            "--saga",
            "account",
            "--mode",
            "full_reset",
            "--dry-run",
            "-o",
            "json",
        ])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout)?;
    let w = r["plan"]["warnings"][0].as_str().unwrap_or_default();
    assert!(w.contains("at least 400 applied events are gone"), "{r}");
    assert_eq!(r["plan"]["stream"]["events"], 100);
    let out = runnerctl(&nats)
        .args([
            "replay",
            "--url",
            &a.admin_url,
            "--tenant",
            "t1",
            "--saga",
            "account",
            "--mode",
            "full_reset",
        ])
        .output()?;
    assert_eq!(out.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not hold every event"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn checkpoint_only_applies_only_events_never_applied() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    publish_all(&js, &deposits("t1", 1, 300)).await?;
    let vol = tmp.path().join("a");
    let mut a = Runner::start(RunnerSpec::new(&nats, &vol, &["t1"])).await?;
    a.wait_caught_up(WAIT).await?;
    a.terminate(WAIT)?;
    // A gap, made offline: the markers of two events and the checkpoint are gone, as if
    // those events had been acknowledged without being applied.
    {
        let v = Volume::open_for_write(&vol, &WriteOptions::new("shard-a"))?;
        v.write(|w| {
            assert!(w.delete_dedupe("t1", "account", "t1-d7")?);
            assert!(w.delete_dedupe("t1", "account", "t1-d250")?);
            assert_eq!(w.clear_saga("t1", "account", TableCode::Checkpoints)?, 1);
            Ok::<_, StorageError>(())
        })?;
    }
    a.restart().await?;
    let out = runnerctl(&nats)
        .args([
            "replay",
            "--url",
            &a.admin_url,
            "--tenant",
            "t1",
            "--saga",
            "account",
            "--mode",
            "checkpoint_only",
            "-o",
            "json",
        ])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(r["plan"]["deletes"]["dedupe"], 0);
    let rep = &r["replay"];
    assert_eq!(
        (
            rep["scanned"].as_u64(),
            rep["applied"].as_u64(),
            rep["skipped_dedupe"].as_u64()
        ),
        (Some(300), Some(2), Some(298)),
        "{r}"
    );
    a.terminate(WAIT)?;
    let s: i64 = (1..=300).sum();
    assert_eq!(balances(&vol, "t1")?, (s + 7 + 250, 302));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn drain_with_events_in_flight_ends_drained_and_resume_loses_nothing() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    create_streams(&js, Duration::from_millis(100)).await?;
    let vol = tmp.path().join("a");
    let mut a = Runner::start(RunnerSpec::new(&nats, &vol, &["t1"])).await?;
    // Events (and the commands they emit) flow while the drain starts.
    let flow = tokio::spawn({
        let js = js.clone();
        async move { publish_all(&js, &orders("t1", 0, 2000)).await }
    });
    eventually(WAIT, "events to flow", || async {
        let s = a.status().await.ok()?;
        (s.totals.applied > 100).then_some(())
    })
    .await?;
    let out = runnerctl(&nats)
        .args(["drain", "shard-a", "--timeout", "30s", "-o", "json"])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(d["state"], "drained", "{d}");
    assert_eq!(d["drain"]["outbox_left"], 0);
    assert_eq!(d["drain"]["in_flight_batches"], 0);
    let http = e2e::http();
    let ready = http.get(format!("{}/readyz", a.admin_url)).send().await?;
    assert_eq!(ready.status().as_u16(), 503);
    let reasons: Value = ready.json().await?;
    assert!(
        reasons["reasons"][0].as_str().unwrap().contains("drained"),
        "{reasons}"
    );
    // Idempotent: the same drain, not a new one.
    let (code, again) = post(&a.admin_url, "/admin/drain", json!({})).await?;
    assert_eq!(code, 202);
    assert_eq!(again["started_at_ms"], d["drain"]["started_at_ms"]);
    // Drained: nothing more is read, whatever is published.
    flow.await??;
    let before = a.status().await?;
    assert!(
        before.reader.consumer.is_none(),
        "a drained runner keeps a consumer: {:?}",
        before.reader
    );
    publish_all(&js, &deposits("t1", 1, 50)).await?;
    // The 50 events are stored: watch the drained runner for half a second, every 50 ms.
    for _ in 0..10 {
        let now = a.status().await?;
        assert_eq!(
            before.reader.position, now.reader.position,
            "a drained runner read events"
        );
        assert_eq!(now.outbox_depth, 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A replay is refused while drained.
    let (code, err) = post(
        &a.admin_url,
        "/admin/replay",
        json!({"tenant_id": "t1", "saga_name": "order", "mode": "checkpoint_only"}),
    )
    .await?;
    assert_eq!(
        (code, err["error"].as_str()),
        (409, Some("draining")),
        "{err}"
    );

    runnerctl_ok(&nats, &["resume", "shard-a"])?;
    a.wait_caught_up(WAIT).await?;
    // --no-wait returns once the drain has started; /readyz fails from that moment.
    let out = runnerctl_ok(&nats, &["drain", "shard-a", "--no-wait", "-o", "json"])?;
    let d: Value = serde_json::from_str(&out)?;
    assert!(d["state"] == "draining" || d["state"] == "drained", "{d}");
    let ready = http.get(format!("{}/readyz", a.admin_url)).send().await?;
    assert_eq!(ready.status().as_u16(), 503);
    runnerctl_ok(&nats, &["resume", "shard-a"])?;
    a.wait_caught_up(WAIT).await?;
    a.terminate(WAIT)?;
    let ids = applied_ids(&vol, "t1", "order")?;
    assert_eq!(ids.len(), 6000, "every order event applied once");
    assert!(
        instances(&vol, "t1", "order")?
            .iter()
            .all(|(_, s, _, _)| s == "shipped")
    );
    assert_eq!(balances(&vol, "t1")?, ((1..=50).sum::<i64>(), 50));
    // Every command once, also past a duplicate window shorter than the test: 2 per
    // order, 1 per deposit.
    let cmds = stored(&js, "RUNNER_COMMANDS").await?;
    assert_each_id_once(&cmds, "commands")?;
    assert_eq!(cmds.len(), 4050);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drain_pauses_a_running_replay_and_every_error_has_its_code() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    publish_all(&js, &deposits("t1", 1, 1500)).await?;
    // One event per transaction: a replay slow enough to be caught running.
    let spec =
        RunnerSpec::new(&nats, &tmp.path().join("a"), &["t1", "t2"]).env("RUNNER_BATCH_SIZE", "1");
    let mut a = Runner::start(spec).await?;
    a.wait_caught_up(WAIT).await?;
    let url = a.admin_url.clone();
    let body = |t: &str, s: &str, m: &str| json!({"tenant_id": t, "saga_name": s, "mode": m});

    // Bad input: 400, 415, 413, 404, each with {error, message} and nothing changed.
    let (c, e) = post(
        &url,
        "/admin/replay",
        json!({"tenant_id": "t1", "saga_name": "account", "mode": "everything"}),
    )
    .await?;
    assert_eq!((c, e["error"].as_str()), (400, Some("bad_request")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("mode"), "{e}");
    let (c, e) = post(
        &url,
        "/admin/replay",
        json!({"tenant_id": "t1", "mode": "full_reset"}),
    )
    .await?;
    assert_eq!((c, e["error"].as_str()), (400, Some("bad_request")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("saga_name"), "{e}");
    let (c, e) = post(&url, "/admin/replay", body("t 1", "account", "full_reset")).await?;
    assert_eq!(c, 400, "{e}");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("tenant_id") && msg.contains("tenant id 't 1'"),
        "{e}"
    );
    // A bad saga name is reported as one (it used to be called a bad tenant id).
    let (c, e) = post(&url, "/admin/replay", body("t1", "acc.ount", "full_reset")).await?;
    assert_eq!((c, e["error"].as_str()), (400, Some("bad_request")), "{e}");
    let msg = e["message"].as_str().unwrap();
    let (why, _example) = msg.split_once("; expected").unwrap_or((msg, ""));
    assert!(
        why.contains("saga_name: saga name 'acc.ount'") && !why.contains("tenant"),
        "{e}"
    );
    let r = e2e::http()
        .post(format!("{url}/admin/replay"))
        .body(body("t1", "account", "full_reset").to_string())
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 415);
    assert_eq!(r.json::<Value>().await?["error"], "unsupported_media_type");
    let r = e2e::http()
        .post(format!("{url}/admin/replay"))
        .header("content-type", "application/json")
        .body(vec![b' '; 100 * 1024])
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(r.json::<Value>().await?["error"], "payload_too_large");
    let (c, e) = post(&url, "/admin/replay", body("t9", "account", "full_reset")).await?;
    assert_eq!(
        (c, e["error"].as_str()),
        (404, Some("unknown_tenant")),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not served by shard shard-a"),
        "{e}"
    );
    let (c, e) = post(&url, "/admin/replay", body("t1", "ledger", "full_reset")).await?;
    assert_eq!((c, e["error"].as_str()), (404, Some("unknown_saga")), "{e}");
    let (c, e) = post(&url, "/admin/drain", json!({"timeout_ms": "soon"})).await?;
    assert_eq!((c, e["error"].as_str()), (400, Some("bad_request")), "{e}");
    let r = e2e::http()
        .get(format!("{url}/admin/replay/r-nope"))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 404);

    // A replay, then a drain while it runs: the replay pauses.
    let (c, acc) = post(&url, "/admin/replay", body("t1", "account", "full_reset")).await?;
    assert_eq!(c, 202, "{acc}");
    let id = acc["replay_id"].as_str().unwrap().to_string();
    let (c, e) = post(
        &url,
        "/admin/replay",
        body("t1", "account", "checkpoint_only"),
    )
    .await?;
    assert_eq!(
        (c, e["error"].as_str()),
        (409, Some("replay_running")),
        "{e}"
    );
    let (c, _) = post(&url, "/admin/drain", json!({"timeout_ms": 5000})).await?;
    assert_eq!(c, 202);
    let paused = eventually(WAIT, "the drain to complete", || async {
        let s = a.status().await.ok()?;
        (s.state == shared::wire::RunnerState::Drained).then_some(s)
    })
    .await?;
    let r = paused.replays.iter().find(|r| r.replay_id == id).unwrap();
    assert_eq!(r.state, shared::wire::ReplayState::Paused, "{r:?}");
    assert!(
        paused
            .drain
            .as_ref()
            .unwrap()
            .note
            .as_deref()
            .unwrap_or("")
            .contains("paused"),
        "{:?}",
        paused.drain
    );
    let (c, e) = post(
        &url,
        "/admin/replay",
        body("t2", "account", "checkpoint_only"),
    )
    .await?;
    assert_eq!((c, e["error"].as_str()), (409, Some("draining")), "{e}");
    // Resume: the replay continues to its end.
    let (c, _) = post(&url, "/admin/resume", json!({})).await?;
    assert_eq!(c, 200);
    let done = wait_replay(&url, &id).await?;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["applied"], 1500, "{done}");
    a.wait_caught_up(WAIT).await?;
    a.terminate(WAIT)?;
    assert_eq!(
        balances(&tmp.path().join("a"), "t1")?,
        ((1..=1500).sum::<i64>(), 1500)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drain_that_cannot_flush_times_out_saying_what_blocks_it() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    let a = Runner::start(RunnerSpec::new(&nats, &tmp.path().join("a"), &["t1"])).await?;
    // Without the command stream no command can be published: the outbox keeps them.
    js.delete_stream("RUNNER_COMMANDS").await?;
    publish_all(&js, &orders("t1", 0, 20)).await?;
    eventually(WAIT, "commands waiting in the outbox", || async {
        let s = a.status().await.ok()?;
        (s.outbox_depth >= 40).then_some(())
    })
    .await?;
    let out = runnerctl(&nats)
        .args([
            "drain",
            "--url",
            &a.admin_url,
            "--timeout",
            "1s",
            "--flush-timeout",
            "60s",
        ])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{err}");
    assert!(
        err.contains("still draining") && err.contains("40 outbox entries not published"),
        "{err}"
    );
    let s = a.status().await?;
    assert_eq!(s.state, shared::wire::RunnerState::Draining);
    assert_eq!(s.drain.unwrap().outbox_left, 40);
    let out = runnerctl(&nats)
        .args(["resume", "--url", &a.admin_url])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(a.status().await?.state, shared::wire::RunnerState::Running);
    Ok(())
}

/// On a terminal a destructive replay asks first, and the answer defaults to No: Enter
/// changes nothing (exit 7); `y` runs it to the end with a progress bar.
#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_a_destructive_replay_asks_and_defaults_to_no() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    publish_all(&js, &deposits("t1", 1, 200)).await?;
    let vol = tmp.path().join("a");
    let a = Runner::start(RunnerSpec::new(&nats, &vol, &["t1"])).await?;
    a.wait_caught_up(WAIT).await?;
    let cmd = format!(
        "env NATS_URL={} RUNNERCTL_CONFIG=/nonexistent NO_COLOR=1 {} replay --url {} --tenant t1 --saga account --mode full_reset; echo EXIT=$?; sleep 60",
        nats.url(),
        bin("runnerctl").display(),
        a.admin_url
    );
    let no = Tmux::start(
        &format!("replay-no-{}", std::process::id()),
        &cmd,
        (120, 30),
    )?;
    no.wait_for(WAIT, "Run full_reset on t1/account?").await?;
    assert!(no.screen().contains("[y/N]"), "{}", no.screen());
    no.keys(&["Enter"])?;
    let screen = no.wait_for(WAIT, "EXIT=").await?;
    assert!(screen.contains("EXIT=7"), "{screen}");
    assert!(screen.contains("nothing changed"), "{screen}");
    let s = a.status().await?;
    assert_eq!(
        s.tenants[0]
            .sagas
            .iter()
            .map(|g| g.counters.applied)
            .sum::<u64>(),
        200
    );
    drop(no);

    let yes = Tmux::start(
        &format!("replay-yes-{}", std::process::id()),
        &cmd,
        (120, 30),
    )?;
    yes.wait_for(WAIT, "Run full_reset on t1/account?").await?;
    yes.keys(&["y"])?;
    let screen = yes.wait_for(WAIT, "EXIT=").await?;
    assert!(screen.contains("EXIT=0"), "{screen}");
    a.wait_caught_up(WAIT).await?;
    let mut a = a;
    assert!(a.terminate(WAIT)?.success());
    // Rebuilt from the stream: each deposit once.
    assert_eq!(balances(&vol, "t1")?, ((1..=200).sum::<i64>(), 200));
    Ok(())
}
