//! The runner's core processing against a real nats-server: tenants, exactly-once apply,
//! dead letters, commands, timers, and the volume lock.

use std::time::Duration;

use e2e::*;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn two_tenants_are_processed_independently_and_others_are_left_alone() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let mut runner = Runner::start(RunnerSpec::new(
        &nats,
        &tmp.path().join("vol"),
        &["t1", "t2"],
    ))
    .await?;
    let js = jetstream(&nats).await?;
    let mut events = Vec::new();
    for t in ["t1", "t2", "t3"] {
        for i in 0..20 {
            events.push((
                format!("evt.{t}.order"),
                event(
                    &format!("{t}-p{i}"),
                    "OrderPlaced",
                    &format!("o{i}"),
                    json!({"amount": i, "customer": "c"}),
                ),
            ));
        }
        for i in 0..10 {
            events.push((
                format!("evt.{t}.order"),
                event(
                    &format!("{t}-c{i}"),
                    "PaymentCaptured",
                    &format!("o{i}"),
                    json!({}),
                ),
            ));
        }
        for i in 0..5 {
            events.push((
                format!("evt.{t}.account"),
                event(
                    &format!("{t}-d{i}"),
                    "Deposited",
                    "acc",
                    json!({"amount": 10}),
                ),
            ));
        }
    }
    publish_all(&js, &events).await?;
    let status = runner.wait_caught_up(WAIT).await?;
    assert_eq!(status.tenants.len(), 2);
    for t in &status.tenants {
        let order = t.sagas.iter().find(|s| s.saga == "order").unwrap();
        assert_eq!(order.counters.applied, 30, "{t:?}");
        let account = t.sagas.iter().find(|s| s.saga == "account").unwrap();
        assert_eq!(account.counters.applied, 5, "{t:?}");
    }
    assert_eq!(status.totals.dead_lettered, 0);
    // The read share: every applied event was read, and nothing beyond what was published.
    assert!(
        (70..=events.len() as u64).contains(&status.events_read),
        "events read {} with 70 applied and {} published",
        status.events_read,
        events.len()
    );

    let exit = runner.terminate(WAIT)?;
    assert!(exit.success(), "SIGTERM exit: {exit}");
    let vol = read_volume(&tmp.path().join("vol"))?;
    assert!(
        vol.instances.keys().all(|(t, _, _)| t != "t3"),
        "t3 is not served here"
    );
    for t in ["t1", "t2"] {
        let paid = vol
            .instances
            .iter()
            .filter(|((tt, s, _), r)| tt == t && s == "order" && r.state == "paid")
            .count();
        let waiting = vol
            .instances
            .iter()
            .filter(|((tt, s, _), r)| tt == t && s == "order" && r.state == "awaiting_payment")
            .count();
        assert_eq!((paid, waiting), (10, 10), "{t}");
        let acc = &vol.instances[&(t.to_string(), "account".to_string(), "acc".to_string())];
        let data: serde_json::Value = serde_json::from_str(&acc.data)?;
        assert_eq!(data["balance"], json!(50));
        assert_eq!(acc.version, 5);
    }
    assert_eq!(vol.outbox, 0, "every command was published");
    // 20 payment requests + 10 shipping requests + 5 ledger credits per tenant.
    let cmds = read_stream(&js, "RUNNER_COMMANDS").await?;
    for t in ["t1", "t2"] {
        let n = cmds
            .iter()
            .filter(|m| m.subject.starts_with(&format!("cmd.{t}.")))
            .count();
        assert_eq!(n, 35, "{t}");
    }
    assert!(cmds.iter().all(|m| !m.subject.starts_with("cmd.t3.")));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_while_events_flow_loses_nothing_and_applies_nothing_twice() -> anyhow::Result<()> {
    // At least 20 kills at random points while 10,000 events flow (E2E_KILLS, E2E_EVENTS).
    let n: u64 = env_or("E2E_EVENTS", 10_000);
    let min_kills: u32 = env_or("E2E_KILLS", 20);
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    create_streams(&js, Duration::from_millis(100)).await?;
    let mut runner = Runner::start(RunnerSpec::new(
        &nats,
        &tmp.path().join("vol"),
        &["t1", "t2"],
    ))
    .await?;
    let mut rand = rng();

    let work = Deposits::new(&["t1", "t2"], n, &mut rand);
    let publisher = {
        let js = js.clone();
        let events = work.events.clone();
        tokio::spawn(async move {
            // Paced so that the events flow during the kills (about 15 s).
            for chunk in events.chunks(50) {
                publish_all(&js, chunk).await?;
                tokio::time::sleep(Duration::from_millis(70)).await;
            }
            anyhow::Ok(())
        })
    };
    let (mut kills, mut mid_flow) = (0, 0);
    while !publisher.is_finished() || kills < min_kills {
        tokio::time::sleep(Duration::from_millis(100 + rand(400))).await;
        if !publisher.is_finished() {
            mid_flow += 1;
        }
        runner.kill9();
        kills += 1;
        runner.restart().await?;
    }
    publisher.await??;
    eprintln!("killed the runner {kills} times, {mid_flow} of them while {n} events flowed");
    // The point is killing it while events arrive (the publisher is paced for that).
    assert!(
        mid_flow >= min_kills / 2,
        "only {mid_flow} kills while events flowed"
    );
    let status = runner.wait_caught_up(WAIT).await?;
    let deduped: u64 = status
        .tenants
        .iter()
        .flat_map(|t| &t.sagas)
        .map(|s| s.counters.deduped)
        .sum();
    assert!(status.totals.dead_lettered == 0, "{status:?}");
    assert!(runner.terminate(WAIT)?.success());

    work.assert_exactly_once(&tmp.path().join("vol"), &js)
        .await?;
    // Duplicates published on purpose are skipped by their dedupe marker (at least in the
    // last incarnation; earlier ones' counters died with them).
    assert!(deduped <= n / 20, "{deduped}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_event_ids_are_applied_once() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let mut runner =
        Runner::start(RunnerSpec::new(&nats, &tmp.path().join("vol"), &["t1"])).await?;
    let js = jetstream(&nats).await?;
    let dep = |id: &str| {
        (
            "evt.t1.account".to_string(),
            event(id, "Deposited", "a", json!({"amount": 7})),
        )
    };
    publish_all(
        &js,
        &[dep("d1"), dep("d1"), dep("d2"), dep("d1"), dep("d2")],
    )
    .await?;
    let s = runner.wait_caught_up(WAIT).await?;
    let acc = s.tenants[0]
        .sagas
        .iter()
        .find(|x| x.saga == "account")
        .unwrap();
    assert_eq!((acc.counters.applied, acc.counters.deduped), (2, 3));
    runner.terminate(WAIT)?;
    let vol = read_volume(&tmp.path().join("vol"))?;
    let rec = &vol.instances[&("t1".into(), "account".into(), "a".into())];
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&rec.data)?["balance"],
        json!(14)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_events_are_dead_lettered_with_a_reason_and_the_rest_flows_on()
-> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let spec = RunnerSpec::new(&nats, &tmp.path().join("vol"), &["t1"])
        .env("RUNNER_MAX_EVENT_BYTES", "1024");
    let mut runner = Runner::start(spec).await?;
    let js = jetstream(&nats).await?;
    let good = |i: u32| {
        (
            "evt.t1.account".to_string(),
            event(&format!("g{i}"), "Deposited", "a", json!({"amount": 1})),
        )
    };
    let raw =
        |subject: &str, body: &[u8]| (subject.to_string(), bytes::Bytes::copy_from_slice(body));
    let big = format!(
        r#"{{"id":"big","type":"Deposited","key":"a","data":{{"pad":"{}"}}}}"#,
        "x".repeat(2000)
    );
    let bad = vec![
        (raw("evt.t1.account", b"{not json"), "bad_json"),
        (raw("evt.t1.account", b"\xff\xfe\x00"), "bad_json"),
        (
            raw("evt.t1.account", br#"{"type":"Deposited","key":"a"}"#),
            "bad_envelope",
        ),
        (
            raw("evt.t1.account", br#"{"id":"x1","key":"a"}"#),
            "bad_envelope",
        ),
        (
            raw("evt.t1.account", br#"{"id":"x2","type":"Deposited"}"#),
            "bad_envelope",
        ),
        (
            raw(
                "evt.t1.account",
                br#"{"id":5,"type":"Deposited","key":"a"}"#,
            ),
            "bad_envelope",
        ),
        (
            raw(
                "evt.t1.account",
                br#"{"id":"x3","type":"Deposited","key":"a","data":{"amount":"ten"}}"#,
            ),
            "apply_failed",
        ),
        (
            raw("evt.t1.nosuchsaga", br#"{"id":"x4","type":"T","key":"a"}"#),
            "unknown_saga",
        ),
        (raw("evt.t1.account", big.as_bytes()), "too_large"),
        (
            raw(
                "evt.t@1.account",
                br#"{"id":"x5","type":"Deposited","key":"a"}"#,
            ),
            "invalid_subject",
        ),
    ];
    let mut all = vec![good(0)];
    for (i, (e, _)) in bad.iter().enumerate() {
        all.push(e.clone());
        all.push(good(i as u32 + 1));
    }
    let seqs = publish_all(&js, &all).await?;
    let s = runner.wait_caught_up(WAIT).await?;
    let acc = s.tenants[0]
        .sagas
        .iter()
        .find(|x| x.saga == "account")
        .unwrap();
    assert_eq!(
        acc.counters.applied,
        bad.len() as u64 + 1,
        "every good event after a bad one is applied"
    );
    assert_eq!(acc.counters.dead_lettered, 8);
    let unknown = s.tenants[0]
        .sagas
        .iter()
        .find(|x| x.saga == "nosuchsaga")
        .expect("undeclared saga shown in status");
    assert_eq!(unknown.counters.dead_lettered, 1);
    assert_eq!(s.totals.dead_lettered, 9);
    assert_eq!(s.invalid_subjects, 1);
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    let dlq = read_stream(&js, "RUNNER_DLQ").await?;
    assert_eq!(dlq.len(), bad.len());
    for (i, (_, code)) in bad.iter().enumerate() {
        let seq = seqs[1 + 2 * i];
        let m = dlq
            .iter()
            .find(|m| {
                m.headers
                    .as_ref()
                    .and_then(|h| h.get("Runner-Original-Sequence"))
                    .map(|v| v.to_string())
                    == Some(seq.to_string())
            })
            .unwrap_or_else(|| panic!("no dead letter for seq {seq}"));
        let h = m.headers.as_ref().unwrap();
        assert_eq!(
            h.get("Runner-Dlq-Code").map(|v| v.to_string()).as_deref(),
            Some(*code),
            "seq {seq}"
        );
        assert!(!h.get("Runner-Dlq-Reason").unwrap().to_string().is_empty());
        let expect_subject = if *code == "invalid_subject" {
            "dlq.invalid-subject".to_string()
        } else if *code == "unknown_saga" {
            "dlq.t1.nosuchsaga".into()
        } else {
            "dlq.t1.account".into()
        };
        assert_eq!(m.subject.as_str(), expect_subject);
    }
    assert!(runner.terminate(WAIT)?.success());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timer_due_while_the_runner_was_down_fires_once_after_restart() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let sagas = tmp.path().join("sagas.toml");
    let text =
        std::fs::read_to_string(example_sagas())?.replace("after = \"30s\"", "after = \"2s\"");
    assert!(text.contains("after = \"2s\""));
    std::fs::write(&sagas, text)?;
    let mut spec = RunnerSpec::new(&nats, &tmp.path().join("vol"), &["t1"]);
    spec.sagas = sagas;
    let mut runner = Runner::start(spec).await?;
    let js = jetstream(&nats).await?;
    publish_all(
        &js,
        &[(
            "evt.t1.order".into(),
            event(
                "p1",
                "OrderPlaced",
                "o1",
                json!({"amount": 5, "customer": "c"}),
            ),
        )],
    )
    .await?;
    let s = runner.wait_caught_up(WAIT).await?;
    assert_eq!(s.timers_pending, 1);
    runner.kill9();
    // The timer falls due while the runner is down: wait for its due time to pass.
    let due = vol_timer_due(&tmp.path().join("vol"))?;
    eventually(WAIT, "the timer's due time to pass", || async {
        (shared::now_ms() > due + 300).then_some(())
    })
    .await?;
    runner.restart().await?;
    // (Status reads the volume before the counters: wait for both to show the firing.)
    eventually(WAIT, "the payment timer to fire", || async {
        let s = runner.status().await.ok()?;
        (s.totals.timers_fired == 1 && s.timers_pending == 0 && s.outbox_depth == 0).then_some(s)
    })
    .await?;
    // A second restart must not fire it again.
    runner.restart().await?;
    let s = runner.wait_caught_up(WAIT).await?;
    assert_eq!(s.totals.timers_fired, 0);
    assert!(runner.terminate(WAIT)?.success());
    let vol = read_volume(&tmp.path().join("vol"))?;
    let rec = &vol.instances[&("t1".into(), "order".into(), "o1".into())];
    assert_eq!(rec.state, "cancelled");
    assert_eq!(rec.version, 2);
    assert!(rec.timers.is_empty());
    let cancels = read_stream(&js, "RUNNER_COMMANDS")
        .await?
        .into_iter()
        .filter(|m| m.subject.as_str() == "cmd.t1.orders.cancel")
        .count();
    assert_eq!(cancels, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_runner_on_the_same_volume_is_refused_naming_the_holder() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let spec = RunnerSpec::new(&nats, &tmp.path().join("vol"), &["t1"]);
    let runner = Runner::start(spec.clone()).await?;
    let out = std::process::Command::new(bin("runner"))
        .env("RUNNER_NATS_URL", nats.url())
        .env("RUNNER_DATA_DIR", tmp.path().join("vol"))
        .env("RUNNER_SAGAS", example_sagas())
        .env("RUNNER_SHARD_ID", "shard-a")
        .env("RUNNER_TENANT_ALLOWLIST", "t1")
        .env("RUNNER_ADMIN_ADDR", "127.0.0.1:0")
        .env("NO_COLOR", "1")
        .output()?;
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("held by runner pid {}", runner.pid().unwrap())),
        "{err}"
    );
    assert!(err.contains("shard shard-a"), "{err}");
    // The holder was not disturbed.
    assert!(runner.status().await.is_ok());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_added_later_catches_up_from_the_first_event_while_events_flow()
-> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("vol");
    let mut runner = Runner::start(RunnerSpec::new(&nats, &dir, &["t1"])).await?;
    let js = jetstream(&nats).await?;
    let dep = |t: &str, i: u32| {
        (
            format!("evt.{t}.account"),
            event(
                &format!("{t}-{i}"),
                "Deposited",
                &format!("a{}", i % 3),
                json!({"amount": i}),
            ),
        )
    };
    let first: Vec<_> = (0..600)
        .map(|i| dep(if i % 2 == 0 { "t1" } else { "t2" }, i))
        .collect();
    publish_all(&js, &first).await?;
    runner.wait_caught_up(WAIT).await?;
    assert!(runner.terminate(WAIT)?.success());

    // t2 joins; events of both keep coming while it catches up.
    runner.spec.tenants.push("t2".into());
    let publisher = {
        let js = js.clone();
        tokio::spawn(async move {
            for i in 600..1200u32 {
                publish_all(&js, &[dep(if i % 2 == 0 { "t1" } else { "t2" }, i)]).await?;
                if i % 50 == 0 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            anyhow::Ok(())
        })
    };
    runner.restart().await?;
    publisher.await??;
    let s = runner.wait_caught_up(WAIT).await?;
    let t2 = s.tenants.iter().find(|t| t.tenant == "t2").unwrap();
    assert_eq!(t2.mode, shared::wire::CursorMode::Live);
    let log = runner.log_text();
    assert!(
        log.contains("tenant catching up on its own reader") && log.contains("tenant=t2"),
        "{log}"
    );
    assert!(
        log.contains("tenant caught up: now served by the main reader"),
        "{log}"
    );
    assert!(runner.terminate(WAIT)?.success());
    let vol = read_volume(&dir)?;
    for t in ["t1", "t2"] {
        for a in 0..3u32 {
            let want: Vec<u32> = (0..1200)
                .filter(|i| (i % 2 == 0) == (t == "t1") && i % 3 == a)
                .collect();
            let rec = &vol.instances[&(t.to_string(), "account".to_string(), format!("a{a}"))];
            let data: serde_json::Value = serde_json::from_str(&rec.data)?;
            assert_eq!(data["balance"], json!(want.iter().sum::<u32>()), "{t}/a{a}");
            assert_eq!(rec.version, want.len() as u64, "{t}/a{a}");
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_runner_waits_for_nats_and_says_why_it_is_not_ready() -> anyhow::Result<()> {
    let mut nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let url = nats.url();
    nats.stop();
    let tmp = tempfile::tempdir()?;
    let spec = RunnerSpec::new(&nats, &tmp.path().join("vol"), &["t1"]);
    let log = tmp.path().join("runner.log");
    let mut child = Runner::spawn(&spec, &log)?;
    // Not ready, with the reason, while NATS is down.
    let lock = tmp.path().join("vol").join(shared::edge_storage::LOCK_FILE);
    let admin = eventually(WAIT, "the admin API", || async {
        let h: shared::edge_storage::Holder =
            serde_json::from_str(&std::fs::read_to_string(&lock).ok()?).ok()?;
        h.admin_url
    })
    .await?;
    let http = e2e::http();
    let body: shared::wire::Readiness = eventually(WAIT, "a readiness answer", || async {
        let r = http.get(format!("{admin}/readyz")).send().await.ok()?;
        (r.status() == 503).then_some(())?;
        let b: shared::wire::Readiness = r.json().await.ok()?;
        b.reasons
            .iter()
            .any(|x| x.contains("cannot connect to NATS"))
            .then_some(b)
    })
    .await?;
    assert!(body.reasons.iter().any(|r| r.contains(&url)), "{body:?}");
    assert!(child.try_wait()?.is_none(), "still running, retrying");
    let text = std::fs::read_to_string(&log)?;
    assert!(text.contains("attempt 1"), "{text}");
    // Once NATS is back the runner gets ready by itself.
    nats.restart().map_err(anyhow::Error::msg)?;
    eventually(
        Duration::from_secs(60),
        "the runner to become ready",
        || async {
            let r = http.get(format!("{admin}/readyz")).send().await.ok()?;
            r.status().is_success().then_some(())
        },
    )
    .await?;
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_configuration_exits_2_with_a_specific_message() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let bad_sagas = tmp.path().join("bad.toml");
    std::fs::write(
        &bad_sagas,
        "[[saga]]\nname = \"order\"\n[[saga.transition]]\nfrom = \"new\"\non = \"A\"\nto = \"b\"\n[[saga.transition.emit]]\nsubject = \"evt.elsewhere\"\n",
    )?;
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![("RUNNER_TENANT_ALLOWLIST", "t1,bad tenant".into())],
            "'bad tenant'",
        ),
        (
            vec![("RUNNER_SAGAS", bad_sagas.display().to_string())],
            "bad.toml:8:11: emit subject",
        ),
        (
            vec![("RUNNER_SAGAS", "/nonexistent.toml".into())],
            "/nonexistent.toml: cannot read it",
        ),
        (
            vec![("RUNNER_ADMIN_ADDR", "0.0.0.0:0".into())],
            "RUNNER_ADMIN_TOKEN is not set",
        ),
        (
            vec![("RUNNER_DATA_DIR", "/proc/runner".into())],
            "RUNNER_DATA_DIR=/proc/runner",
        ),
        (
            vec![(
                "RUNNER_NATS_URL",
                "nats://127.0.0.1:4222,nats://127.0.0.1:42x22".into(),
            )],
            "RUNNER_NATS_URL: 'nats://127.0.0.1:42x22' is not a NATS server URL",
        ),
        (
            vec![("RUNNER_REPLICAS", "7".into())],
            "RUNNER_REPLICAS: '7' is not a replica count",
        ),
    ];
    for (env, needle) in cases {
        let mut cmd = std::process::Command::new(bin("runner"));
        cmd.env_clear()
            .env("RUNNER_DATA_DIR", tmp.path().join("vol"))
            .env("RUNNER_SAGAS", example_sagas())
            .env("RUNNER_SHARD_ID", "a")
            .env("RUNNER_TENANT_ALLOWLIST", "t1")
            .env("NO_COLOR", "1");
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {err}");
        assert!(
            err.contains(needle),
            "{env:?}: expected {needle:?} in {err}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_while_events_flow_stops_cleanly_and_loses_nothing() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("vol");
    let mut runner = Runner::start(RunnerSpec::new(&nats, &dir, &["t1"])).await?;
    let js = jetstream(&nats).await?;
    let dep = |i: u32| {
        (
            "evt.t1.account".to_string(),
            event(&format!("d{i}"), "Deposited", "a", json!({"amount": 1})),
        )
    };
    let events: Vec<_> = (0..4000).map(dep).collect();
    let publisher = {
        let js = js.clone();
        tokio::spawn(async move {
            for c in events.chunks(200) {
                publish_all(&js, c).await?;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            anyhow::Ok(())
        })
    };
    // Stop in the middle of the flow.
    eventually(WAIT, "some events applied", || async {
        let s = runner.status().await.ok()?;
        (s.totals.applied > 500).then_some(())
    })
    .await?;
    let started = std::time::Instant::now();
    let exit = runner.terminate(WAIT)?;
    assert!(exit.success(), "{exit}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopping took {:?}",
        started.elapsed()
    );
    let log = runner.log_text();
    assert!(
        log.contains("SIGTERM: stopping") && log.contains("stopped cleanly"),
        "{log}"
    );
    // NATS is up: everything the engine committed was published before the exit,
    // including what was acknowledged while the engine stopped.
    let flushed = log.lines().find(|l| l.contains("outbox flushed"));
    assert!(flushed.is_some_and(|l| l.ends_with(" left=0")), "{log}");
    publisher.await??;
    runner.restart().await?;
    runner.wait_caught_up(WAIT).await?;
    assert!(runner.terminate(WAIT)?.success());
    let vol = read_volume(&dir)?;
    let rec = &vol.instances[&("t1".into(), "account".into(), "a".into())];
    assert_eq!(rec.version, 4000);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&rec.data)?["balance"],
        json!(4000)
    );
    assert_eq!(read_stream(&js, "RUNNER_COMMANDS").await?.len(), 4000);
    Ok(())
}

/// The due time of the one pending timer of a stopped volume.
fn vol_timer_due(dir: &std::path::Path) -> anyhow::Result<u64> {
    let (v, _) = shared::edge_storage::Volume::open_read_only(dir, true)?;
    let mut due = None;
    v.read(|r| {
        r.scan(
            shared::edge_storage::TableId::Schedules,
            &[],
            None,
            |k, _| {
                due = Some(shared::edge_storage::keys::decode_schedule(k)?.due_ms);
                Ok(false)
            },
        )
    })?;
    due.ok_or_else(|| anyhow::anyhow!("no pending timer"))
}
