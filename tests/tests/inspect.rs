//! `runnerctl inspect` on volumes written by the real runner: every command's output against
//! what the volume holds, paging without gaps or repeats, export then import giving an
//! identical diff, read-only proven by bytes and mtimes, and every bad input's exit code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use e2e::*;
use serde_json::{Value, json};
use shared::edge_storage::{StorageError, Volume, WriteOptions, meta};

const WAIT: Duration = Duration::from_secs(60);

fn ctl() -> Command {
    let mut c = Command::new(bin("runnerctl"));
    c.env("NO_COLOR", "1")
        .env("RUNNERCTL_CONFIG", "/nonexistent/runnerctl.toml");
    c
}

/// Runs `runnerctl inspect <vol> args... -o json`, expecting success.
fn inspect(vol: &Path, args: &[&str]) -> anyhow::Result<Value> {
    let out = ctl()
        .arg("inspect")
        .arg(vol)
        .args(args)
        .args(["-o", "json"])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "inspect {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn code(vol: &Path, args: &[&str]) -> anyhow::Result<(Option<i32>, String)> {
    let out = ctl().arg("inspect").arg(vol).args(args).output()?;
    Ok((
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Every file of the volume with a hash of its bytes, its length and its mtime; except
/// `mdbx.lck`, MDBX's reader table, which every reader (read-only ones too) registers in
/// and which holds no data (it is empty on disk once closed; only its mtime moves).
fn fingerprint(dir: &Path) -> anyhow::Result<BTreeMap<PathBuf, (u64, u64, SystemTime)>> {
    use std::hash::{Hash, Hasher};
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.file_name().is_some_and(|n| n == "mdbx.lck") {
            continue;
        }
        let m = std::fs::metadata(&p)?;
        let bytes = std::fs::read(&p)?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        out.insert(p.clone(), (h.finish(), bytes.len() as u64, m.modified()?));
    }
    Ok(out)
}

/// A volume written by a real runner: two tenants, orders in several states (so timers are
/// pending), deposits, and commands stuck in the outbox.
async fn written_volume(nats: &NatsServer, dir: &Path) -> anyhow::Result<()> {
    let js = jetstream(nats).await?;
    ensure_event_stream(&js).await?;
    let mut runner = Runner::start(RunnerSpec::new(nats, dir, &["t1", "t2"])).await?;
    let mut events = Vec::new();
    for t in ["t1", "t2"] {
        for i in 0..40 {
            let k = format!("o{i:03}");
            events.push((
                format!("evt.{t}.order"),
                event(
                    &format!("{t}-p{i}"),
                    "OrderPlaced",
                    &k,
                    json!({"amount": i, "customer": "c"}),
                ),
            ));
            if i % 2 == 0 {
                events.push((
                    format!("evt.{t}.order"),
                    event(&format!("{t}-c{i}"), "PaymentCaptured", &k, json!({})),
                ));
            }
        }
        for i in 0..25 {
            events.push((
                format!("evt.{t}.account"),
                event(
                    &format!("{t}-d{i}"),
                    "Deposited",
                    &format!("a{}", i % 3),
                    json!({"amount": 1}),
                ),
            ));
        }
    }
    publish_all(&js, &events).await?;
    runner.wait_caught_up(WAIT).await?;
    // Commands that cannot be published stay in the outbox.
    js.delete_stream("RUNNER_COMMANDS").await?;
    publish_all(
        &js,
        &[(
            "evt.t1.order".to_string(),
            event(
                "t1-p999",
                "OrderPlaced",
                "o999",
                json!({"amount": 1, "customer": "c"}),
            ),
        )],
    )
    .await?;
    eventually(WAIT, "a command in the outbox", || async {
        let s = runner.status().await.ok()?;
        (s.outbox_depth == 1).then_some(())
    })
    .await?;
    runner.terminate(WAIT)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_shows_what_the_volume_holds_and_changes_nothing() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let vol = tmp.path().join("vol");
    written_volume(&nats, &vol).await?;
    let truth = read_volume(&vol)?;
    let before = fingerprint(&vol)?;

    let s = inspect(&vol, &["summary"])?;
    assert_eq!(s["shard_id"], "shard-a");
    assert_eq!(s["format_version"], shared::edge_storage::FORMAT_VERSION);
    assert_eq!(s["tables"]["sagas"], truth.instances.len() as u64);
    assert_eq!(s["tables"]["dedupe"], truth.dedupe.len() as u64);
    assert_eq!(s["tables"]["checkpoints"], truth.checkpoints.len() as u64);
    assert_eq!(s["tables"]["outbox"], 1);
    assert_eq!(s["tables"]["schedules"], truth.schedules);
    let tenants = s["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 2);
    for t in tenants {
        let name = t["tenant"].as_str().unwrap();
        let n = truth.instances.keys().filter(|k| k.0 == name).count() as u64;
        assert_eq!(t["instances"], n, "{t}");
        let d = truth.dedupe.keys().filter(|k| k.0 == name).count() as u64;
        assert_eq!(t["dedupe"], d, "{t}");
        assert_eq!(t["sagas"], 2);
        assert_eq!(t["outbox"], u64::from(name == "t1"));
        assert_eq!(t["cursor"]["mode"], "live");
    }
    assert_eq!(inspect(&vol, &["tenants"])?.as_array().unwrap().len(), 2);

    let sagas = inspect(&vol, &["sagas", "--tenant", "t1"])?;
    let order = sagas
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["saga"] == "order")
        .unwrap();
    assert_eq!(order["instances"], 41);
    assert_eq!(
        order["checkpoint"]["seq"],
        truth.checkpoints[&("t1".to_string(), "order".to_string())]
    );

    // Paging: pages of 7 cover every instance once, in key order.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = vec![
            "instances",
            "--tenant",
            "t1",
            "--saga",
            "order",
            "--limit",
            "7",
        ];
        if let Some(a) = &after {
            args.extend(["--after", a.as_str()]);
        }
        let page = inspect(&vol, &args)?;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        seen.extend(items.iter().map(|i| i["key"].as_str().unwrap().to_string()));
        match page["next_after"].as_str() {
            Some(a) => after = Some(a.to_string()),
            None => break,
        }
    }
    let want: Vec<String> = truth
        .instances
        .keys()
        .filter(|k| k.0 == "t1" && k.1 == "order")
        .map(|k| k.2.clone())
        .collect();
    assert_eq!(seen, want, "no gaps, no repeats, key order");
    let waiting = inspect(
        &vol,
        &[
            "instances",
            "--tenant",
            "t1",
            "--saga",
            "order",
            "--state",
            "awaiting_payment",
            "--limit",
            "100",
        ],
    )?;
    assert_eq!(waiting["items"].as_array().unwrap().len(), 21);

    let one = inspect(
        &vol,
        &[
            "instance", "--tenant", "t1", "--saga", "order", "--key", "o002",
        ],
    )?;
    let rec = &truth.instances[&("t1".into(), "order".into(), "o002".into())];
    assert_eq!(one["state"], rec.state.as_str());
    assert_eq!(one["version"], rec.version);
    assert_eq!(one["data"]["amount"], json!(2));
    assert!(!one["history"].as_array().unwrap().is_empty());

    let cps = inspect(&vol, &["checkpoints"])?;
    let got: BTreeMap<(String, String), u64> = cps
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                (
                    c["tenant"].as_str().unwrap().into(),
                    c["saga"].as_str().unwrap().into(),
                ),
                c["seq"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, truth.checkpoints);

    let mut ids = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = vec![
            "dedupe", "--tenant", "t2", "--saga", "account", "--limit", "4",
        ];
        if let Some(a) = &after {
            args.extend(["--after", a.as_str()]);
        }
        let page = inspect(&vol, &args)?;
        for i in page["items"].as_array().unwrap() {
            assert!(
                ids.insert(i["event_id"].as_str().unwrap().to_string()),
                "repeat"
            );
        }
        match page["next_after"].as_str() {
            Some(a) => after = Some(a.to_string()),
            None => break,
        }
    }
    assert_eq!(ids, applied_ids(&vol, "t2", "account")?);

    let ob = inspect(&vol, &["outbox"])?;
    assert_eq!(ob.as_array().unwrap().len(), 1);
    assert_eq!(
        ob[0]["msg_id"].as_str().map(|m| m.contains("t1")),
        Some(true),
        "{ob}"
    );
    let timers = inspect(&vol, &["timers", "--limit", "1000"])?;
    assert_eq!(timers.as_array().unwrap().len() as u64, truth.schedules);
    let none_due = inspect(&vol, &["timers", "--due-before", "2000-01-01T00:00:00Z"])?;
    assert_eq!(none_due.as_array().unwrap().len(), 0);

    // Export, then import into an empty volume: the tenant's state is identical.
    let out = ctl()
        .arg("inspect")
        .arg(&vol)
        .args(["export", "--tenant", "t1"])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let empty = tmp.path().join("imported");
    {
        let v = Volume::open_for_write(&empty, &WriteOptions::new("shard-b"))?;
        let summary = v.write(|w| {
            shared::edge_storage::export::import(w, out.stdout.as_slice())
                .map_err(|e| StorageError::Corrupt(e.to_string()))
        })?;
        assert_eq!(summary.counts.instances, 41 + 3);
        assert_eq!(summary.counts.outbox, 1);
    }
    let d = ctl()
        .arg("inspect")
        .arg(&vol)
        .args(["diff"])
        .arg(&empty)
        .args(["--tenant", "t1", "-o", "json"])
        .output()?;
    let diff: Value = serde_json::from_slice(&d.stdout)?;
    // Cursors are not exported (where a tenant is read from belongs to the shard).
    let mut tables = diff["tables"].as_object().unwrap().clone();
    let cursors = tables.remove("cursors").unwrap();
    assert_eq!(cursors["only_a"], 1);
    for (name, t) in &tables {
        assert_eq!(
            (
                t["only_a"].as_u64(),
                t["only_b"].as_u64(),
                t["differ"].as_u64()
            ),
            (Some(0), Some(0), Some(0)),
            "{name}: {t}"
        );
    }
    // A whole-volume diff sees t2, which was not imported, and exits 1.
    let d = ctl()
        .arg("inspect")
        .arg(&vol)
        .arg("diff")
        .arg(&empty)
        .output()?;
    assert_eq!(d.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&d.stdout).contains("t2/order/o000 (only in a)"));

    // The table output of each command works too (and also writes nothing).
    for args in [
        vec!["summary"],
        vec!["tenants"],
        vec!["sagas", "--tenant", "t1"],
        vec![
            "instances",
            "--tenant",
            "t1",
            "--saga",
            "order",
            "--limit",
            "3",
        ],
        vec![
            "instance", "--tenant", "t1", "--saga", "order", "--key", "o001",
        ],
        vec!["checkpoints", "--tenant", "t2"],
        vec!["dedupe", "--tenant", "t1", "--saga", "order"],
        vec!["outbox", "--tenant", "t1"],
        vec!["timers", "--tenant", "t1"],
    ] {
        let (c, err) = code(&vol, &args)?;
        assert_eq!(c, Some(0), "{args:?}: {err}");
    }
    let after = fingerprint(&vol)?;
    assert_eq!(
        after.len(),
        2,
        "mdbx.dat and runner.lock: {:?}",
        after.keys()
    );
    assert_eq!(after, before, "inspect changed the volume");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_volume_and_bad_input_get_clear_errors_and_codes() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let vol = tmp.path().join("vol");
    let runner = Runner::start(RunnerSpec::new(&nats, &vol, &["t1"])).await?;
    let (c, err) = code(&vol, &["summary"])?;
    assert_eq!(c, Some(7), "{err}");
    assert!(
        err.contains(&format!("pid {}", runner.pid().unwrap())) && err.contains("--allow-live"),
        "{err}"
    );
    let out = ctl()
        .arg("inspect")
        .arg(&vol)
        .args(["--allow-live", "summary"])
        .output()?;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("consistent snapshot"));
    drop(runner);

    let (c, err) = code(&tmp.path().join("missing"), &["summary"])?;
    assert_eq!(c, Some(5), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    let empty_dir = tmp.path().join("empty");
    std::fs::create_dir(&empty_dir)?;
    let (c, err) = code(&empty_dir, &["summary"])?;
    assert_eq!(c, Some(9), "{err}");
    assert!(err.contains("not a runner volume"), "{err}");
    let garbage = tmp.path().join("garbage");
    std::fs::create_dir(&garbage)?;
    std::fs::write(garbage.join("mdbx.dat"), vec![7u8; 64 * 1024])?;
    let (c, err) = code(&garbage, &["summary"])?;
    assert_eq!(c, Some(9), "{err}");
    let gb = std::fs::read(garbage.join("mdbx.dat"))?;
    assert!(gb.iter().all(|b| *b == 7), "a bad file was written to");
    // A truncated copy of a real volume.
    let cut = tmp.path().join("cut");
    std::fs::create_dir(&cut)?;
    let data = std::fs::read(vol.join("mdbx.dat"))?;
    std::fs::write(cut.join("mdbx.dat"), &data[..data.len() / 3])?;
    let (c, err) = code(&cut, &["summary"])?;
    assert_eq!(c, Some(9), "{err}");
    // A newer format.
    let newer = tmp.path().join("newer");
    {
        let v = Volume::open_for_write(&newer, &WriteOptions::new("shard-a"))?;
        v.write(|w| w.set_meta_raw(meta::FORMAT_VERSION, &99u32.to_be_bytes()))?;
    }
    let (c, err) = code(&newer, &["summary"])?;
    assert_eq!(c, Some(9), "{err}");
    assert!(err.contains("format version 99"), "{err}");
    // Unknown tenant, saga, key.
    let (c, err) = code(&vol, &["sagas", "--tenant", "nobody"])?;
    assert_eq!(c, Some(5), "{err}");
    let (c, err) = code(&vol, &["instances", "--tenant", "t1", "--saga", "ledger"])?;
    assert_eq!(c, Some(5), "{err}");
    let (c, _) = code(
        &vol,
        &[
            "instance", "--tenant", "t1", "--saga", "order", "--key", "x",
        ],
    )?;
    assert_eq!(c, Some(5));
    Ok(())
}
