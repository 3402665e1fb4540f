//! The partitioned layout end to end (docs/consumption.md#the-layout): a real nats-server
//! whose account mapping routes `evt.<tenant>.<saga>` to the group streams, two runners with
//! `RUNNER_PARTITIONS`, each reading whole the groups its tenants hold and one tenant of
//! another shard's group with a reader of its own.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use e2e::*;
use shared::layout::Layout;

const GROUPS: u16 = 8;

/// Tenant ids with odd characters, by group.
fn tenants_by_group(layout: &Layout, n: usize) -> BTreeMap<u16, Vec<String>> {
    let mut out: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for i in 0..n {
        let t = match i % 3 {
            0 => format!("t{i}"),
            1 => format!("T-{i}_x"),
            _ => format!("{i}-_-{i}"),
        };
        out.entry(layout.group_of(&t)).or_default().push(t);
    }
    out
}

/// Events read by a runner: its read share.
async fn events_read(r: &Runner) -> Result<u64> {
    Ok(r.status().await?.events_read)
}

/// Two shards split the groups (recommended placement) and shard A also serves one tenant of
/// shard B's groups (an arbitrary placement): every event is applied exactly once, each
/// shard reads whole only its groups, the stray tenant has a reader of its own, and the
/// servers deliver about one message per event (read amplification from the runners' own
/// counts and from the server's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_read_only_their_groups_and_apply_every_event_once() -> Result<()> {
    let nats = partitioned_nats(GROUPS)?;
    let js = jetstream(&nats).await?;
    let layout = Layout::new(shared::names::DEFAULT_EVENT_STREAM, GROUPS);
    create_group_streams(&js, &layout, Duration::from_secs(2)).await?;
    let by_group = tenants_by_group(&layout, 48);
    let stray = by_group[&6][0].clone();
    let mut a: Vec<String> = (0..4).flat_map(|g| by_group[&g].clone()).collect();
    a.push(stray.clone());
    let b: Vec<String> = (4..GROUPS)
        .flat_map(|g| by_group[&g].clone())
        .filter(|t| *t != stray)
        .collect();
    let all: Vec<&str> = a.iter().chain(b.iter()).map(String::as_str).collect();
    let mut rand = rng();
    let deposits = Deposits::new(&all, 3000, &mut rand);
    let half = deposits.events.len() / 2;
    // A backlog before the runners start, the rest while they run.
    publish_all(&js, &deposits.events[..half]).await?;
    let tmp = tempfile::tempdir()?;
    let spec = |shard: &str, tenants: &[String]| {
        let ts: Vec<&str> = tenants.iter().map(String::as_str).collect();
        let mut s = RunnerSpec::new(&nats, &tmp.path().join(shard), &ts)
            .env("RUNNER_PARTITIONS", &GROUPS.to_string());
        s.shard = shard.to_string();
        s
    };
    let mut ra = Runner::start(spec("a", &a)).await?;
    let mut rb = Runner::start(spec("b", &b)).await?;
    publish_all(&js, &deposits.events[half..]).await?;
    // An event stored in a group that is not its tenant's (a producer computing the group
    // itself, wrongly) is dead-lettered, not applied under the wrong stream's sequence.
    let misplaced = &by_group[&1][0];
    js.publish(
        format!("evt.0.{misplaced}.account"),
        event(
            "wrong-1",
            "Deposited",
            "acc0",
            serde_json::json!({"amount": 5}),
        ),
    )
    .await?
    .await?;
    let sa = ra.wait_caught_up(Duration::from_secs(60)).await?;
    let sb = rb.wait_caught_up(Duration::from_secs(60)).await?;

    let whole = |s: &shared::wire::StatusResponse| -> Vec<u16> {
        s.groups
            .iter()
            .filter(|g| g.read_whole)
            .map(|g| g.group)
            .collect()
    };
    assert_eq!(sa.layout, "partitioned/8");
    assert_eq!(whole(&sa), vec![0, 1, 2, 3], "shard a: {:?}", sa.groups);
    assert_eq!(whole(&sb), vec![4, 5, 6, 7], "shard b: {:?}", sb.groups);
    let own: Vec<&str> = sa
        .tenants
        .iter()
        .filter(|t| t.own_reader)
        .map(|t| t.tenant.as_str())
        .collect();
    assert_eq!(own, vec![stray.as_str()]);
    assert!(sb.tenants.iter().all(|t| !t.own_reader));

    // Read share: every stored event once, plus the stray tenant's read twice (by its own
    // reader on a and with group 6 on b).
    let stored_total: u64 = deposits.events.len() as u64 + 1;
    let stray_events = deposits
        .events
        .iter()
        .filter(|(s, _)| *s == format!("evt.{stray}.account"))
        .count() as u64;
    // (A consumer recreated after an error delivers a few again: at most 5% here.)
    let read = events_read(&ra).await? + events_read(&rb).await?;
    let want = stored_total + stray_events;
    assert!(
        read >= want && read * 100 <= want * 105,
        "{read} events read by both shards for {stored_total} stored ({stray_events} of the stray tenant)"
    );

    let dlq = stored(&js, "RUNNER_DLQ").await?;
    let wrong: Vec<&Stored> = dlq
        .iter()
        .filter(|m| m.headers.get("Runner-Dlq-Code").map(String::as_str) == Some("wrong_group"))
        .collect();
    assert_eq!(wrong.len(), 1, "{dlq:?}");
    assert!(
        wrong[0].headers["Runner-Dlq-Reason"].contains("belongs to partition group 1"),
        "{:?}",
        wrong[0].headers
    );

    ra.terminate(Duration::from_secs(20))?;
    rb.terminate(Duration::from_secs(20))?;
    deposits
        .assert_exactly_once_in(&[&tmp.path().join("a"), &tmp.path().join("b")], &js)
        .await
}

/// A volume built on one layout is refused by a runner configured for another, with the
/// way out; nothing in it is touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_of_another_layout_is_refused() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("a");
    let deposits = Deposits::new(&["t1"], 20, &mut rng());
    let single = NatsServer::start().map_err(anyhow::Error::msg)?;
    let js1 = jetstream(&single).await?;
    create_streams(&js1, Duration::from_secs(120)).await?;
    publish_all(&js1, &deposits.events).await?;
    let r = Runner::start(RunnerSpec::new(&single, &dir, &["t1"])).await?;
    r.wait_caught_up(Duration::from_secs(30)).await?;
    drop(r);
    let spec = RunnerSpec::new(&single, &dir, &["t1"]).env("RUNNER_PARTITIONS", "8");
    let log = tmp.path().join("refused.log");
    let mut child = Runner::spawn(&spec, &log)?;
    let status = wait_exit(&mut child, Duration::from_secs(30)).await?;
    assert_eq!(status.code(), Some(3));
    let text = std::fs::read_to_string(&log)?;
    assert!(
        text.contains("single event layout") && text.contains("RUNNER_PARTITIONS=0"),
        "{text}"
    );
    let vol = read_volume(&dir)?;
    assert_eq!(vol.dedupe.len(), 20);
    Ok(())
}

/// `runnerctl place` without a shard picks the shard that reads the tenant's group; placed
/// elsewhere, it says what that costs in reads. `runnerctl rebalance` proposes moving the
/// stray tenant home, and `--apply` moves it with its state; interrupted, `--resume`
/// finishes it. Every event is applied exactly once through all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placement_follows_groups_and_rebalance_moves_strays_home() -> Result<()> {
    let nats = partitioned_nats(GROUPS)?;
    let js = jetstream(&nats).await?;
    let layout = Layout::new(shared::names::DEFAULT_EVENT_STREAM, GROUPS);
    create_group_streams(&js, &layout, Duration::from_secs(2)).await?;
    let by_group = tenants_by_group(&layout, 64);
    let g0: Vec<String> = by_group[&0].iter().take(3).cloned().collect();
    let g1: Vec<String> = by_group[&1].iter().take(1).cloned().collect();
    let tmp = tempfile::tempdir()?;
    let placed = |shard: &str| {
        RunnerSpec::placed(&nats, &tmp.path().join(shard), shard)
            .env("RUNNER_PARTITIONS", &GROUPS.to_string())
    };
    let ra = Runner::start(placed("shard-a")).await?;
    let rb = Runner::start(placed("shard-b")).await?;
    runnerctl_ok(&nats, &["place", &g0[0], "shard-a", "--create"])?;
    runnerctl_ok(&nats, &["place", &g1[0], "shard-b"])?;
    let all: Vec<&str> = g0.iter().chain(g1.iter()).map(String::as_str).collect();
    let deposits = Deposits::new(&all, 400, &mut rng());
    let half = deposits.events.len() / 2;
    publish_all(&js, &deposits.events[..half]).await?;

    // No shard given: the one reading the tenant's group.
    let out = runnerctl_ok(&nats, &["place", &g0[1]])?;
    assert!(
        out.contains("-> shard-a") && out.contains("the recommended shard"),
        "{out}"
    );
    // Elsewhere: placed, and the read cost said.
    let (code, out, err) = runnerctl_out(&nats, &["place", &g0[2], "shard-b", "-o", "json"], &[])?;
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(v["read_cost"]["recommended"], "shard-a", "{v}");
    assert!(v["read_cost"]["own"].as_f64().unwrap_or(0.0) > 0.0, "{v}");
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap_or("").contains("reader of its own")),
        "{v}"
    );
    ra.wait_serving(&[&g0[0], &g0[1]], Duration::from_secs(30))
        .await?;
    rb.wait_serving(&[&g1[0], &g0[2]], Duration::from_secs(30))
        .await?;
    publish_all(&js, &deposits.events[half..]).await?;

    // The plan: the stray goes home, nothing else.
    let out = runnerctl_ok(&nats, &["rebalance", "--window", "1s", "-o", "json"])?;
    let plan: serde_json::Value = serde_json::from_str(&out)?;
    let moves = plan["moves"].as_array().unwrap();
    assert_eq!(moves.len(), 1, "{plan}");
    assert_eq!(moves[0]["tenant"], g0[2].as_str());
    assert_eq!(moves[0]["to"], "shard-a");
    assert!(
        plan["read_amplification_after"].as_f64().unwrap()
            < plan["read_amplification_before"].as_f64().unwrap(),
        "{plan}"
    );
    // Applied, interrupted after the state was imported; then resumed.
    let (code, out, err) = runnerctl_out(
        &nats,
        &["rebalance", "--window", "1s", "--apply"],
        &[("RUNNERCTL_MOVE_STOP_AFTER", "imported")],
    )?;
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("--resume"), "{err}");
    let out = runnerctl_ok(&nats, &["rebalance", "--resume"])?;
    assert!(out.contains("the rebalance is done"), "{out}");
    let (code, _, err) = runnerctl_out(&nats, &["rebalance", "--resume"], &[])?;
    assert_eq!(code, 2, "nothing left to resume: {err}");
    ra.wait_serving(&[&g0[0], &g0[1], &g0[2]], Duration::from_secs(30))
        .await?;
    rb.wait_serving(&[&g1[0]], Duration::from_secs(30)).await?;
    ra.wait_caught_up(Duration::from_secs(30)).await?;
    rb.wait_caught_up(Duration::from_secs(30)).await?;
    let sa = ra.status().await?;
    assert!(
        sa.groups.iter().any(|g| g.group == 0 && g.read_whole),
        "{:?}",
        sa.groups
    );
    let (mut ra, mut rb) = (ra, rb);
    ra.terminate(Duration::from_secs(20))?;
    rb.terminate(Duration::from_secs(20))?;
    deposits
        .assert_exactly_once_in(
            &[&tmp.path().join("shard-a"), &tmp.path().join("shard-b")],
            &js,
        )
        .await
}

/// Publishes `events` in order from a task, each until the server acknowledges it (a
/// publish refused while streams change is retried), never past what the test allowed.
struct Publisher {
    allowed: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    published: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    more: std::sync::Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Publisher {
    fn start(js: async_nats::jetstream::Context, events: Vec<(String, bytes::Bytes)>) -> Self {
        use std::sync::atomic::Ordering;
        let allowed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let published = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let more = std::sync::Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn({
            let (allowed, published, more) = (allowed.clone(), published.clone(), more.clone());
            async move {
                for (i, (subject, payload)) in events.into_iter().enumerate() {
                    while i >= allowed.load(Ordering::Acquire) {
                        more.notified().await;
                    }
                    let mut tries = 0;
                    loop {
                        let ack = match js.publish(subject.clone(), payload.clone()).await {
                            Ok(a) => a.await.map(|_| ()).map_err(anyhow::Error::from),
                            Err(e) => Err(e.into()),
                        };
                        match ack {
                            Ok(()) => break,
                            Err(e) if tries < 200 => {
                                tries += 1;
                                let _ = e;
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                            Err(e) => return Err(e.context(format!("publishing event {i}"))),
                        }
                    }
                    published.store(i + 1, Ordering::Release);
                    // Spread over the steps: events keep flowing while they run.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Ok(())
            }
        });
        Publisher {
            allowed,
            published,
            more,
            task,
        }
    }

    /// Lets the task publish up to event `n` (exclusive).
    fn allow(&self, n: usize) {
        self.allowed.store(n, std::sync::atomic::Ordering::Release);
        self.more.notify_one();
    }

    async fn wait_published(&self, n: usize) -> Result<()> {
        eventually(
            Duration::from_secs(60),
            "events to be published",
            || async {
                (self.published.load(std::sync::atomic::Ordering::Acquire) >= n).then_some(())
            },
        )
        .await
    }
}

/// Messages a stream holds.
async fn messages_in(js: &async_nats::jetstream::Context, stream: &str) -> Result<u64> {
    Ok(js.get_stream(stream).await?.info().await?.state.messages)
}

/// The runbook of docs/runbooks.md#moving-to-partitioned-streams, with events published
/// throughout: two placed shards on the single stream; `runnerctl migrate` creates the group
/// streams; the server's mapping is reloaded, so producers land in them; a runner started
/// partitioned too early is refused; `--seal` refuses while a tenant with events is
/// unplaced, then seals and waits for both shards; one runner is killed, the other stopped,
/// both start partitioned and move their volumes. Every deposit is applied exactly once, in
/// each account's publish order (the balances of the commands say so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_moves_from_the_single_stream_with_events_flowing() -> Result<()> {
    const G: u16 = 4;
    let conf_dir = tempfile::tempdir()?;
    let conf = conf_dir.path().join("nats.conf");
    std::fs::write(&conf, "# the single stream: no mapping yet\n")?;
    let nats = NatsServer::start_with(shared::devtools::nats_server::ServerOptions {
        config_file: Some(conf.clone()),
        ..Default::default()
    })
    .map_err(anyhow::Error::msg)?;
    let js = jetstream(&nats).await?;
    create_streams(&js, Duration::from_secs(2)).await?;
    let layout = Layout::new(shared::names::DEFAULT_EVENT_STREAM, G);
    let tenants: Vec<String> = (0..12)
        .map(|i| match i % 3 {
            0 => format!("m{i}"),
            1 => format!("M-{i}_y"),
            _ => format!("{i}_-_{i}"),
        })
        .collect();
    let (late, placed) = tenants.split_last().unwrap();
    let all: Vec<&str> = tenants.iter().map(String::as_str).collect();
    let deposits = Deposits::new(&all, 2500, &mut rng());
    let n = deposits.events.len();
    let tmp = tempfile::tempdir()?;
    let dirs = [tmp.path().join("shard-a"), tmp.path().join("shard-b")];
    let mut ra = Runner::start(RunnerSpec::placed(&nats, &dirs[0], "shard-a")).await?;
    let mut rb = Runner::start(RunnerSpec::placed(&nats, &dirs[1], "shard-b")).await?;
    for (i, t) in placed.iter().enumerate() {
        let shard = if i % 2 == 0 { "shard-a" } else { "shard-b" };
        let mut args = vec!["place", t.as_str(), shard];
        if i == 0 {
            args.push("--create");
        }
        runnerctl_ok(&nats, &args)?;
    }
    let publisher = Publisher::start(js.clone(), deposits.events.clone());

    // 1. The single stream, as before.
    publisher.allow(n / 5);
    publisher.wait_published(n / 10).await?;
    let out = runnerctl_ok(&nats, &["migrate", "--partitions", "4", "-o", "json"])?;
    let v: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(v["layout"], "partitioned/4", "{v}");
    assert!(
        v["streams"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["created"] == true),
        "{v}"
    );
    assert!(v["next"].as_str().unwrap().contains("--seal"), "{v}");
    let mapping = v["mapping"].as_str().unwrap().to_string();
    assert!(mapping.contains("partition(4,1)"), "{mapping}");

    // 2. The mapping, reloaded while events flow: they land in the group streams.
    publisher.allow(2 * n / 5);
    std::fs::write(&conf, &mapping)?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(nats.pid().unwrap() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )?;
    eventually(
        Duration::from_secs(30),
        "events in the group streams",
        || async {
            let mut held = 0;
            for g in layout.groups() {
                held += messages_in(&js, &layout.stream(g)).await.ok()?;
            }
            (held > 0).then_some(())
        },
    )
    .await?;

    // Too early: the single stream is not sealed, so a partitioned runner refuses the
    // volume and touches nothing.
    ra.terminate(Duration::from_secs(20))?;
    let early = RunnerSpec::placed(&nats, &dirs[0], "shard-a").env("RUNNER_PARTITIONS", "4");
    let log = tmp.path().join("early.log");
    let mut child = Runner::spawn(&early, &log)?;
    let status = wait_exit(&mut child, Duration::from_secs(30)).await?;
    let text = std::fs::read_to_string(&log)?;
    assert_eq!(status.code(), Some(3), "{text}");
    assert!(
        text.contains("not sealed") && text.contains("--seal"),
        "{text}"
    );
    ra.restart().await?;

    // 3. Seal: refused while a tenant with events in the single stream has no placement.
    publisher.allow(3 * n / 5);
    publisher.wait_published(2 * n / 5).await?;
    let (code, out, err) = runnerctl_out(&nats, &["migrate", "--partitions", "4", "--seal"], &[])?;
    assert_eq!(code, 7, "{out}{err}");
    assert!(
        err.contains(late.as_str()) && err.contains("runnerctl place"),
        "{err}"
    );
    runnerctl_ok(&nats, &["place", late, "shard-b"])?;
    let out = runnerctl_ok(
        &nats,
        &[
            "migrate",
            "--partitions",
            "4",
            "--seal",
            "--timeout",
            "60s",
            "-o",
            "json",
        ],
    )?;
    let v: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(v["from"]["sealed"], true, "{v}");
    let sealed_at = v["from"]["last_seq"].as_u64().unwrap();
    let shards = v["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 2, "{v}");
    for s in shards {
        assert_eq!(s["finished"], true, "{v}");
        assert!(s["position"].as_u64().unwrap() >= sealed_at, "{v}");
    }
    assert!(
        v["next"].as_str().unwrap().contains("RUNNER_PARTITIONS=4"),
        "{v}"
    );
    let old = js
        .get_stream(shared::names::DEFAULT_EVENT_STREAM)
        .await?
        .info()
        .await?
        .clone();
    assert!(old.config.sealed);
    assert_eq!(old.state.last_sequence, sealed_at);

    // 4. Each runner restarts partitioned, events flowing: one killed, one stopped.
    publisher.allow(4 * n / 5);
    ra.kill9();
    ra.spec.env.insert("RUNNER_PARTITIONS".into(), "4".into());
    ra.restart().await?;
    rb.terminate(Duration::from_secs(20))?;
    rb.spec.env.insert("RUNNER_PARTITIONS".into(), "4".into());
    rb.restart().await?;
    publisher.allow(n);
    publisher.wait_published(n).await?;
    publisher.task.await??;
    let out = runnerctl_ok(&nats, &["migrate", "--partitions", "4", "-o", "json"])?;
    let v: serde_json::Value = serde_json::from_str(&out)?;
    assert!(v["next"].as_str().unwrap().starts_with("done"), "{v}");
    let sa = ra.wait_caught_up(Duration::from_secs(60)).await?;
    let sb = rb.wait_caught_up(Duration::from_secs(60)).await?;
    assert_eq!(sa.layout, "partitioned/4");
    assert_eq!(sb.layout, "partitioned/4");
    assert!(
        ra.log_text()
            .contains("moved the volume from the sealed single stream")
    );
    let in_groups: u64 = {
        let mut held = 0;
        for g in layout.groups() {
            held += messages_in(&js, &layout.stream(g)).await?;
        }
        held
    };
    assert!(sealed_at + in_groups >= n as u64, "every publish is stored");
    ra.terminate(Duration::from_secs(20))?;
    rb.terminate(Duration::from_secs(20))?;
    deposits
        .assert_exactly_once_in(&[&dirs[0], &dirs[1]], &js)
        .await
}
