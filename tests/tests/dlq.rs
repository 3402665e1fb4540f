//! `runnerctl dlq` against a real nats-server and runner: the dead letters of two tenants
//! listed with each filter, shown in full, and an event whose saga was missing redriven once
//! the saga file has it: applied once, and never twice however often it is redriven (the
//! event stream's duplicate window drops a second redrive; past the window the runner skips
//! the event id it applied).

use std::time::{Duration, SystemTime};

use anyhow::{Context as _, ensure};
use async_nats::jetstream;
use e2e::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// `runnerctl dlq <args> -o json`, which must exit 0.
fn dlq_json(nats: &NatsServer, args: &[&str]) -> anyhow::Result<Value> {
    let mut all = vec!["dlq"];
    all.extend_from_slice(args);
    all.extend(["-o", "json"]);
    let out = runnerctl_ok(nats, &all)?;
    serde_json::from_str(&out).with_context(|| format!("runnerctl {}: {out}", all.join(" ")))
}

/// The original event sequences of a `dlq ls -o json` answer, in its order.
fn originals(v: &Value) -> Vec<u64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|r| r["original_seq"].as_u64().expect("original_seq"))
        .collect()
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// (applied, deduped) of a tenant's saga since the runner started; zeros when not listed.
async fn counters(runner: &Runner, tenant: &str, saga: &str) -> anyhow::Result<(u64, u64)> {
    let s = runner.status().await?;
    Ok(s.tenants
        .iter()
        .filter(|t| t.tenant == tenant)
        .flat_map(|t| t.sagas.iter())
        .find(|s| s.saga == saga)
        .map(|s| (s.counters.applied, s.counters.deduped))
        .unwrap_or((0, 0)))
}

async fn last_event_seq(js: &jetstream::Context) -> anyhow::Result<u64> {
    let mut s = js.get_stream(shared::names::DEFAULT_EVENT_STREAM).await?;
    Ok(s.info().await?.state.last_sequence)
}

fn raw(subject: &str, body: &[u8]) -> (String, bytes::Bytes) {
    (subject.to_string(), bytes::Bytes::copy_from_slice(body))
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_letters_are_listed_shown_and_redriven_once() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    create_streams(&js, Duration::from_secs(120)).await?;

    // First the saga file without the `account` saga: its events are dead-lettered.
    let full = std::fs::read_to_string(example_sagas())?;
    let cut = full
        .find("# An account")
        .context("the example's account saga")?;
    let partial = tmp.path().join("sagas-without-account.toml");
    std::fs::write(&partial, &full[..cut])?;
    let mut spec = RunnerSpec::new(&nats, &tmp.path().join("vol"), &["acme", "globex"])
        .env("RUNNER_MAX_EVENT_BYTES", "1024");
    spec.sagas = partial;
    let mut runner = Runner::start(spec).await?;

    let placed = |id: &str, key: &str| {
        event(
            id,
            "OrderPlaced",
            key,
            json!({"amount": 5, "customer": "c"}),
        )
    };
    let deposit = event("dep-1", "Deposited", "acc-1", json!({"amount": 7}));
    // Batch A: acme.
    let a = publish_all(
        &js,
        &[
            ("evt.acme.order".into(), placed("a-o1", "o1")),
            raw("evt.acme.order", b"{not json"),
            raw("evt.acme.order", br#"{"type":"OrderPlaced","key":"o2"}"#),
            ("evt.acme.account".into(), deposit.clone()),
        ],
    )
    .await?;
    let (a_json, a_envelope, a_unknown) = (a[1], a[2], a[3]);
    runner.wait_caught_up(WAIT).await?;
    eventually(WAIT, "batch A's 3 dead letters", || async {
        (originals(&dlq_json(&nats, &["ls"]).ok()?).len() == 3).then_some(())
    })
    .await?;
    let between = SystemTime::now();
    // Batch B: globex, one more of acme, an invalid subject.
    let big = format!(
        r#"{{"id":"g-big","type":"OrderPlaced","key":"o9","data":{{"pad":"{}"}}}}"#,
        "x".repeat(2000)
    );
    let b = publish_all(
        &js,
        &[
            ("evt.globex.order".into(), placed("g-o1", "o1")),
            raw("evt.globex.order", br#"{"id":"g-x","type":"OrderPlaced"}"#),
            (
                "evt.globex.account".into(),
                event("gdep-1", "Deposited", "acc-1", json!({"amount": 3})),
            ),
            raw("evt.globex.order", big.as_bytes()),
            (
                "evt.acme.order".into(),
                event("a-o3", "OrderPlaced", "o3", json!({"customer": "c"})),
            ),
            raw(
                "evt.bad@tenant.order",
                br#"{"id":"x","type":"OrderPlaced","key":"k"}"#,
            ),
        ],
    )
    .await?;
    let (g_envelope, g_unknown, g_big, a_failed, invalid) = (b[1], b[2], b[3], b[4], b[5]);
    runner.wait_caught_up(WAIT).await?;
    let all = eventually(WAIT, "all 8 dead letters", || async {
        let v = dlq_json(&nats, &["ls"]).ok()?;
        (originals(&v).len() == 8).then_some(v)
    })
    .await?;

    // ls: every dead letter in stream order, each filter exactly its own.
    let expect_all = vec![
        a_json, a_envelope, a_unknown, g_envelope, g_unknown, g_big, a_failed, invalid,
    ];
    assert_eq!(sorted(originals(&all)), sorted(expect_all.clone()));
    let dlq_seqs: Vec<u64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert!(dlq_seqs.windows(2).all(|w| w[0] < w[1]), "{all}");
    let row = |orig: u64| -> Value {
        all.as_array()
            .unwrap()
            .iter()
            .find(|r| r["original_seq"] == orig)
            .cloned()
            .unwrap()
    };
    let unknown = row(a_unknown);
    assert_eq!(unknown["tenant"], "acme");
    assert_eq!(unknown["saga"], "account");
    assert_eq!(unknown["code"], "unknown_saga");
    assert_eq!(unknown["subject"], "dlq.acme.account");
    assert_eq!(unknown["original_subject"], "evt.acme.account");
    assert_eq!(unknown["shard"], "shard-a");
    assert_eq!(unknown["event_id"], "dep-1");
    assert_eq!(unknown["truncated"], false);
    assert!(unknown["reason"].as_str().unwrap().contains("not declared"));
    assert!(unknown["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(row(invalid)["tenant"], Value::Null);
    assert_eq!(row(invalid)["subject"], "dlq.invalid-subject");
    assert_eq!(row(g_big)["truncated"], true);
    assert_eq!(row(a_failed)["code"], "apply_failed");
    assert_eq!(row(a_json)["event_id"], Value::Null);

    let since = time::OffsetDateTime::from(between)
        .format(&time::format_description::well_known::Rfc3339)?;
    for (args, want) in [
        (vec!["ls"], expect_all.clone()),
        (
            vec!["ls", "--tenant", "acme"],
            vec![a_json, a_envelope, a_unknown, a_failed],
        ),
        (
            vec!["ls", "--tenant", "globex", "--saga", "order"],
            vec![g_envelope, g_big],
        ),
        (vec!["ls", "--saga", "account"], vec![a_unknown, g_unknown]),
        (
            vec!["ls", "--reason", "bad_envelope"],
            vec![a_envelope, g_envelope],
        ),
        (
            vec![
                "ls",
                "--tenant",
                "acme",
                "--reason",
                "bad_json,unknown_saga",
            ],
            vec![a_json, a_unknown],
        ),
        (vec!["ls", "--reason", "invalid_subject"], vec![invalid]),
        (vec!["ls", "--reason", "too_large"], vec![g_big]),
        (
            vec!["ls", "--until", &since],
            vec![a_json, a_envelope, a_unknown],
        ),
        (
            vec!["ls", "--since", &since],
            vec![g_envelope, g_unknown, g_big, a_failed, invalid],
        ),
        (
            vec!["ls", "--since", &since, "--tenant", "acme"],
            vec![a_failed],
        ),
        (vec!["ls", "--since", "1h"], expect_all.clone()),
        (vec!["ls", "--until", "1h"], vec![]),
        (vec!["ls", "--tenant", "initech"], vec![]),
    ] {
        let got = originals(&dlq_json(&nats, &args)?);
        assert_eq!(sorted(got), sorted(want), "dlq {}", args.join(" "));
    }
    // --limit keeps the newest and says how many older ones matched.
    let (code, out, err) = runnerctl_out(&nats, &["dlq", "ls", "--limit", "3", "-o", "json"], &[])?;
    assert_eq!(code, 0, "{err}");
    let newest: Vec<u64> = serde_json::from_str::<Value>(&out)?
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(newest, dlq_seqs[5..], "the newest 3, oldest first");
    assert!(err.contains("5 older dead letters match"), "{err}");
    let table = runnerctl_ok(&nats, &["dlq", "ls", "--tenant", "acme"])?;
    assert!(table.contains("ORIGINAL SUBJECT"), "{table}");
    let line = table
        .lines()
        .find(|l| l.contains("dep-1"))
        .unwrap_or_default();
    assert!(
        line.contains("unknown_saga") && line.contains("evt.acme.account"),
        "{table}"
    );
    let (code, _, err) = runnerctl_out(&nats, &["dlq", "ls", "--tenant", "a b"], &[])?;
    assert_eq!(code, 2, "{err}");

    // show: headers and payload.
    let seq_of = |orig: u64| row(orig)["seq"].as_u64().unwrap().to_string();
    let shown = dlq_json(&nats, &["show", &seq_of(a_unknown)])?;
    assert_eq!(shown["headers"]["Runner-Dlq-Code"], json!(["unknown_saga"]));
    assert_eq!(
        shown["headers"]["Runner-Original-Subject"],
        json!(["evt.acme.account"])
    );
    assert_eq!(
        shown["headers"]["Runner-Original-Sequence"],
        json!([a_unknown.to_string()])
    );
    assert_eq!(shown["payload"]["id"], "dep-1");
    assert_eq!(shown["payload"]["data"]["amount"], 7);
    assert_eq!(shown["payload_text"], Value::Null);
    assert_eq!(shown["redrive_to"], "evt.acme.account");
    assert!(
        shown["msg_id"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":{a_unknown}"))
    );
    let text = runnerctl_ok(&nats, &["dlq", "show", &seq_of(a_unknown)])?;
    for want in [
        "code       unknown_saga",
        "Runner-Shard: shard-a",
        "\"id\": \"dep-1\"",
        "redrive    to evt.acme.account",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }
    let shown = dlq_json(&nats, &["show", &seq_of(g_big)])?;
    assert_eq!(shown["truncated"], true);
    assert_eq!(shown["original_size"], big.len());
    assert_eq!(shown["size"], 1024);
    assert_eq!(shown["payload"], Value::Null);
    assert!(
        shown["payload_text"]
            .as_str()
            .unwrap()
            .starts_with("{\"id\":\"g-big\"")
    );
    assert_eq!(shown["redrive_refused"]["skip"], "truncated");
    let shown = dlq_json(&nats, &["show", &seq_of(a_json)])?;
    assert_eq!(shown["payload_text"], "{not json");
    let (code, _, err) = runnerctl_out(&nats, &["dlq", "show", "9999"], &[])?;
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("no dead letter 9999"), "{err}");

    // redrive: the plan of everything, before anything is fixed.
    let plan = dlq_json(&nats, &["redrive", "--all", "--dry-run"])?;
    let planned: Vec<u64> = plan["redrive"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(planned.len(), 6, "{plan}");
    let mut skipped: Vec<(String, String)> = plan["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["skip"].as_str().unwrap().to_string(),
                s["seq"].to_string(),
            )
        })
        .collect();
    skipped.sort();
    assert_eq!(
        skipped,
        [
            ("invalid_subject".to_string(), seq_of(invalid)),
            ("truncated".to_string(), seq_of(g_big)),
        ]
    );
    let (code, _, err) = runnerctl_out(&nats, &["dlq", "redrive", "--yes"], &[])?;
    assert_eq!(code, 2, "a redrive names its dead letters: {err}");

    // Fix the cause: the runner again, with the account saga. The dead-lettered deposit is
    // behind its checkpoint, so nothing applies it until it is redriven.
    runner.terminate(WAIT)?;
    runner.spec.sagas = example_sagas();
    runner.restart().await?;
    runner.wait_caught_up(WAIT).await?;
    assert_eq!(counters(&runner, "acme", "account").await?, (0, 0));
    let before = last_event_seq(&js).await?;

    let target = ["--tenant", "acme", "--reason", "unknown_saga"];
    let dry = dlq_json(&nats, &[&["redrive"][..], &target, &["--dry-run"]].concat())?;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["redrive"].as_array().unwrap().len(), 1, "{dry}");
    assert_eq!(dry["redrive"][0]["subject"], "evt.acme.account");
    assert_eq!(dry["redrive"][0]["event_id"], "dep-1");
    assert_eq!(dry["redrive"][0]["outcome"], "planned");
    let text = runnerctl_ok(
        &nats,
        &[&["dlq", "redrive"][..], &target, &["--dry-run"]].concat(),
    )?;
    assert!(text.contains("publish to evt.acme.account"), "{text}");
    assert!(text.contains("nothing published"), "{text}");
    let (code, _, err) = runnerctl_out(&nats, &[&["dlq", "redrive"][..], &target].concat(), &[])?;
    assert_eq!(code, 7, "no terminal, no --yes: {err}");
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(last_event_seq(&js).await?, before, "nothing was published");

    // Redrive it: published to its original subject, applied once.
    let done = dlq_json(&nats, &["redrive", &seq_of(a_unknown), "--yes"])?;
    assert_eq!(done["published"], 1, "{done}");
    let item = &done["redrive"][0];
    assert_eq!(item["outcome"], "published");
    assert_eq!(item["stream"], "RUNNER_EVENTS");
    assert_eq!(item["stream_seq"], before + 1);
    let stored = js
        .get_stream(shared::names::DEFAULT_EVENT_STREAM)
        .await?
        .get_raw_message(before + 1)
        .await?;
    assert_eq!(stored.subject.as_str(), "evt.acme.account");
    assert_eq!(stored.payload, deposit, "the payload, untouched");
    assert_eq!(
        stored.headers.get("Nats-Msg-Id").map(|v| v.as_str()),
        item["msg_id"].as_str()
    );
    assert_eq!(
        stored
            .headers
            .get("Runner-Redriven-From")
            .map(|v| v.as_str()),
        Some(format!("RUNNER_DLQ:{}", seq_of(a_unknown)).as_str())
    );
    eventually(WAIT, "the redriven deposit applied", || async {
        (counters(&runner, "acme", "account").await.ok()? == (1, 0)).then_some(())
    })
    .await?;

    // Again, by filter: the event stream drops it (same Nats-Msg-Id within its window).
    let again = dlq_json(&nats, &[&["redrive"][..], &target, &["--yes"]].concat())?;
    assert_eq!(again["redrive"][0]["outcome"], "duplicate", "{again}");
    assert_eq!(
        (again["published"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(last_event_seq(&js).await?, before + 1, "nothing new stored");
    runner.wait_caught_up(WAIT).await?;
    assert_eq!(counters(&runner, "acme", "account").await?, (1, 0));

    // Past the window (shortened here), the copy is stored, and the runner skips the event id
    // it applied.
    // Twice: nats-server (2.15) fires the purge of old ids at once when the window changes,
    // but stores the new window only after that, so the first change's purge may still see
    // 2 minutes and wait that long; the second one's sees a short window either way.
    let mut events = js.get_stream(shared::names::DEFAULT_EVENT_STREAM).await?;
    let mut cfg = events.info().await?.config.clone();
    for ms in [200, 250] {
        cfg.duplicate_window = Duration::from_millis(ms);
        js.update_stream(cfg.clone()).await?;
    }
    let last = std::sync::Mutex::new(String::new());
    let late = eventually(WAIT, "a redrive past the duplicate window", || async {
        let v = dlq_json(&nats, &[&["redrive"][..], &target, &["--yes"]].concat());
        *last.lock().unwrap() = format!("{v:?}");
        let v = v.ok()?;
        (v["redrive"][0]["outcome"] == "published").then_some(v)
    })
    .await
    .with_context(|| format!("last answer: {}", last.lock().unwrap()))?;
    assert_eq!(late["redrive"][0]["stream_seq"], before + 2);
    eventually(WAIT, "the copy skipped as a duplicate", || async {
        (counters(&runner, "acme", "account").await.ok()? == (1, 1)).then_some(())
    })
    .await?;
    let inst = runnerctl_ok(
        &nats,
        &[
            "inspect",
            runner.spec.data_dir.to_str().unwrap(),
            "--allow-live",
            "instance",
            "--tenant",
            "acme",
            "--saga",
            "account",
            "--key",
            "acc-1",
            "-o",
            "json",
        ],
    )?;
    let inst: Value = serde_json::from_str(&inst)?;
    assert_eq!(inst["data"]["balance"], 7, "applied once: {inst}");
    assert_eq!(inst["version"], 1, "{inst}");

    // Nothing was deleted from the dead-letter stream, and nothing was dead-lettered again.
    runner.wait_caught_up(WAIT).await?;
    ensure!(
        originals(&dlq_json(&nats, &["ls"])?).len() == 8,
        "the dead letters stay"
    );
    assert!(runner.terminate(WAIT)?.success());
    Ok(())
}
