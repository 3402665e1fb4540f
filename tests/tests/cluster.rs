//! A real 3-node NATS cluster on loopback, two runners placed through the placement bucket,
//! events flowing, and one fault per case: a stream's or bucket's leader, the meta leader,
//! the node a runner is connected to, killed (SIGKILL) and restarted; or every node
//! restarted in turn. Each case ends with every event applied exactly once, each command
//! stored once, every tenant on one shard, placement and leases intact, and prints its stall
//! (an event's store time to its command's store time) for docs/reliability.md.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, ensure};
use async_nats::jetstream;
use e2e::*;
use shared::devtools::NatsCluster;
use shared::names::msg_id;

const TENANTS: [&str; 4] = ["t1", "t2", "t3", "t4"];
const EVENTS: u64 = 1200;
/// Commands are published again after a lost ack only if the runner cannot tell they are
/// stored: a short window makes such a copy visible instead of hiding it.
const DUP: Duration = Duration::from_secs(1);

/// One cluster case at a time: two would share two cores with six servers and four runners.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A JetStream context on the cluster, once its meta leader is elected.
async fn jetstream_on(urls: &str) -> Result<jetstream::Context> {
    let servers: Vec<String> = urls.split(',').map(str::to_string).collect();
    let c = async_nats::connect(servers).await?;
    let js = jetstream::new(c);
    eventually(Duration::from_secs(30), "JetStream on the cluster", || {
        let js = js.clone();
        async move { js.query_account().await.ok() }
    })
    .await?;
    Ok(js)
}

/// The server that leads `stream`'s replicas.
async fn leader_of(js: &jetstream::Context, stream: &str) -> Result<String> {
    eventually(
        Duration::from_secs(30),
        &format!("a leader of {stream}"),
        || async {
            let mut s = js.get_stream(stream).await.ok()?;
            let info = s.info().await.ok()?;
            info.cluster
                .as_ref()
                .and_then(|c| c.leader.clone())
                .filter(|l| !l.is_empty())
        },
    )
    .await
}

async fn monitor(cluster: &NatsCluster, path: &str) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for n in &cluster.nodes {
        if !n.server.running() {
            continue;
        }
        let url = format!("{}{path}", n.monitor_url());
        if let Ok(r) = e2e::http().get(&url).send().await
            && let Ok(v) = r.json::<serde_json::Value>().await
        {
            out.push((n.name.clone(), v));
        }
    }
    out
}

/// The JetStream meta leader, as the nodes' `/jsz` say.
async fn meta_leader(cluster: &NatsCluster) -> Result<String> {
    eventually(Duration::from_secs(30), "a meta leader", || async {
        monitor(cluster, "/jsz")
            .await
            .into_iter()
            .find_map(|(_, v)| v["meta_cluster"]["leader"].as_str().map(str::to_string))
            .filter(|l| !l.is_empty())
    })
    .await
}

/// The node runner `shard` is connected to, from the nodes' `/connz`.
async fn node_of_runner(cluster: &NatsCluster, shard: &str) -> Result<String> {
    let name = format!("runner {shard}");
    eventually(
        Duration::from_secs(10),
        &format!("{name}'s node"),
        || async {
            monitor(cluster, "/connz?limit=1000")
                .await
                .into_iter()
                .find(|(_, v)| {
                    v["connections"]
                        .as_array()
                        .is_some_and(|cs| cs.iter().any(|c| c["name"] == name.as_str()))
                })
                .map(|(node, _)| node)
        },
    )
    .await
}

/// Publishes the deposits in order, one at a time, each retried (same `Nats-Msg-Id`) until
/// the stream acknowledges it, so a leader's loss stalls the flow instead of reordering it.
fn publisher(
    js: jetstream::Context,
    events: Vec<(String, bytes::Bytes)>,
    published: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<Result<()>> {
    tokio::spawn(async move {
        for (i, (subject, payload)) in events.into_iter().enumerate() {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", format!("pub-{i}").as_str());
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                let sent = js
                    .publish_with_headers(subject.clone(), headers.clone(), payload.clone())
                    .await;
                let acked = match sent {
                    Ok(ack) => tokio::time::timeout(Duration::from_secs(2), ack).await,
                    Err(e) => Ok(Err(e)),
                };
                if let Ok(Ok(_)) = acked {
                    break;
                }
                ensure!(
                    tokio::time::Instant::now() < deadline,
                    "event {i} not stored within 60 s"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            published.fetch_add(1, Ordering::Relaxed);
            // About 250 events/s: the flow lasts through the fault.
            tokio::time::sleep(Duration::from_millis(4)).await;
        }
        Ok(())
    })
}

/// What a case does while events flow.
enum Fault {
    StreamLeader(&'static str),
    BucketLeader(&'static str),
    MetaLeader,
    RunnerNode,
    Rolling,
}

struct Case {
    cluster: NatsCluster,
    js: jetstream::Context,
    _dir: tempfile::TempDir,
    runners: Vec<Runner>,
    deposits: Deposits,
}

/// The cluster, its streams and buckets (3 copies), t1 and t2 placed on shard-a, t3 and t4
/// on shard-b, both runners serving.
async fn fleet() -> Result<Case> {
    let cluster = NatsCluster::start(3).map_err(|e| anyhow!(e))?;
    let urls = cluster.urls();
    let js = jetstream_on(&urls).await?;
    create_streams_with(&js, DUP, 3).await?;
    let out = runnerctl_at(&urls).args(["setup", "-o", "json"]).output()?;
    ensure!(
        out.status.success(),
        "runnerctl setup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    ensure!(report["cluster_size"] == 3, "setup saw {report}");
    for item in report["items"].as_array().context("items")? {
        ensure!(
            item["replicas"] == 3,
            "setup left {item} with other than 3 copies"
        );
    }
    for (t, shard) in [
        ("t1", "shard-a"),
        ("t2", "shard-a"),
        ("t3", "shard-b"),
        ("t4", "shard-b"),
    ] {
        let out = runnerctl_at(&urls)
            .args(["place", t, shard, "--force"])
            .output()?;
        ensure!(
            out.status.success(),
            "runnerctl place {t} {shard}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = tempfile::tempdir()?;
    let mut runners = Vec::new();
    for shard in ["shard-a", "shard-b"] {
        let mut spec = RunnerSpec::at(urls.clone(), &dir.path().join(shard), &[]);
        spec.shard = shard.into();
        spec.placement = Some(shared::placement::DEFAULT_PLACEMENT_BUCKET.into());
        runners.push(Runner::start(spec).await?);
    }
    runners[0]
        .wait_serving(&["t1", "t2"], Duration::from_secs(30))
        .await?;
    runners[1]
        .wait_serving(&["t3", "t4"], Duration::from_secs(30))
        .await?;
    // The runner reached the cluster through the list and says what each thing keeps.
    let s = runners[0].status().await?;
    ensure!(s.nats.cluster_size == Some(3), "status: {:?}", s.nats);
    ensure!(
        s.nats.storage.len() >= 6
            && s.nats
                .storage
                .iter()
                .all(|i| i.replicas == 3 && i.warning.is_none()),
        "status: {:?}",
        s.nats.storage
    );
    let deposits = Deposits::new(&TENANTS, EVENTS, &mut rng());
    Ok(Case {
        cluster,
        js,
        _dir: dir,
        runners,
        deposits,
    })
}

/// Waits until `published` passes `n`.
async fn published_past(published: &AtomicU64, n: u64) -> Result<()> {
    eventually(
        Duration::from_secs(60),
        &format!("{n} events published"),
        || async { (published.load(Ordering::Relaxed) >= n).then_some(()) },
    )
    .await
}

/// Waits until the streams and buckets of the fleet each have a leader and current
/// replicas again, after a node came back.
async fn healed(case: &Case) -> Result<()> {
    for s in [
        "RUNNER_EVENTS",
        "RUNNER_COMMANDS",
        "KV_runner_placement",
        "KV_runner_shards",
        "KV_runner_handoff",
    ] {
        eventually(
            Duration::from_secs(60),
            &format!("{s}'s replicas current"),
            || async {
                let mut st = case.js.get_stream(s).await.ok()?;
                let info = st.info().await.ok()?;
                let c = info.cluster.as_ref()?;
                (c.leader.is_some()
                    && c.replicas.len() == 2
                    && c.replicas.iter().all(|r| r.current))
                .then_some(())
            },
        )
        .await?;
    }
    Ok(())
}

async fn run_case(fault: Fault) -> Result<()> {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut case = fleet().await?;
    let published = Arc::new(AtomicU64::new(0));
    let flow = publisher(
        jetstream_on(&case.cluster.urls()).await?,
        case.deposits.events.clone(),
        published.clone(),
    );
    published_past(&published, 200).await?;
    let victims: Vec<String> = match &fault {
        Fault::StreamLeader(s) => vec![leader_of(&case.js, s).await?],
        Fault::BucketLeader(b) => vec![leader_of(&case.js, &format!("KV_{b}")).await?],
        Fault::MetaLeader => vec![meta_leader(&case.cluster).await?],
        Fault::RunnerNode => vec![node_of_runner(&case.cluster, "shard-a").await?],
        Fault::Rolling => case.cluster.nodes.iter().map(|n| n.name.clone()).collect(),
    };
    for victim in &victims {
        let at = published.load(Ordering::Relaxed);
        let node = case.cluster.node(victim).context("victim node")?;
        if matches!(fault, Fault::Rolling) {
            // An upgrade: each node stopped politely, started again, and the cluster
            // healed before the next.
            node.server.stop();
        } else {
            node.server.kill();
        }
        eprintln!("{victim} down after {at} events");
        let total = case.deposits.events.len() as u64;
        published_past(&published, (at + 150).min(total)).await?;
        case.cluster
            .node(victim)
            .context("victim node")?
            .server
            .restart()
            .map_err(|e| anyhow!(e))?;
        healed(&case).await?;
    }
    flow.await??;
    for r in &case.runners {
        r.wait_caught_up(Duration::from_secs(90)).await?;
    }
    // Placement is still followed live after the fault: a new tenant placed now is served.
    // (Asked again, as an operator would, while a node just back may not answer yet.)
    let urls = case.cluster.urls();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = runnerctl_at(&urls)
            .args(["place", "t5", "shard-a"])
            .output()?;
        if out.status.success() {
            break;
        }
        let last_error = String::from_utf8_lossy(&out.stderr);
        ensure!(
            tokio::time::Instant::now() < deadline,
            "runnerctl place t5 shard-a after the fault: {last_error}"
        );
        eprintln!("runnerctl place t5 shard-a: {last_error}; trying again");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Every tenant on exactly one shard, as placed; both leases held.
    let a = case.runners[0]
        .wait_serving(&["t1", "t2", "t5"], Duration::from_secs(30))
        .await?;
    let b = case.runners[1]
        .wait_serving(&["t3", "t4"], Duration::from_secs(30))
        .await?;
    for s in [&a, &b] {
        ensure!(
            s.state == shared::wire::RunnerState::Running,
            "{} is {:?} after the fault",
            s.shard_id,
            s.state
        );
    }
    // Both leases in the registry (asked until the answer is complete: a node just back may
    // still be catching up).
    let urls = case.cluster.urls();
    let registry = eventually(
        Duration::from_secs(30),
        "both shards in the registry",
        || {
            let urls = urls.clone();
            async move {
                let out = runnerctl_at(&urls)
                    .args(["shards", "-o", "json"])
                    .output()
                    .ok()?;
                let shards: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
                let live: BTreeSet<String> = shards
                    .as_array()?
                    .iter()
                    .filter_map(|r| r["shard_id"].as_str().map(str::to_string))
                    .collect();
                (live == BTreeSet::from(["shard-a".to_string(), "shard-b".to_string()]))
                    .then_some(live)
            }
        },
    )
    .await;
    ensure!(registry.is_ok(), "registry after the fault: {registry:?}");
    let stall = stall(&case).await?;
    if std::env::var("E2E_CLUSTER_LOGS").is_ok() {
        for r in &case.runners {
            eprintln!("--- {}\n{}", r.spec.shard, r.log_text());
        }
    }
    let mut dirs = Vec::new();
    for r in &mut case.runners {
        r.terminate(Duration::from_secs(20))?;
        dirs.push(r.spec.data_dir.clone());
    }
    let dirs: Vec<&std::path::Path> = dirs.iter().map(|d| d.as_path()).collect();
    case.deposits
        .assert_exactly_once_in(&dirs, &case.js)
        .await?;
    eprintln!(
        "stall (event stored -> command stored): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        stall.0, stall.1, stall.2
    );
    ensure!(
        stall.2 < 30_000.0,
        "an event waited {:.0} ms for its command: the fleet did not recover",
        stall.2
    );
    Ok(())
}

/// Each deposit's delay from its store time to its command's (p50, p99, max, ms).
async fn stall(case: &Case) -> Result<(f64, f64, f64)> {
    let events = read_stream(&case.js, "RUNNER_EVENTS").await?;
    let mut stored_at: BTreeMap<String, i128> = BTreeMap::new();
    for m in &events {
        let v: serde_json::Value = serde_json::from_slice(&m.payload)?;
        let id = v["id"].as_str().unwrap_or_default().to_string();
        let t = m
            .info()
            .map_err(|e| anyhow!(e))?
            .published
            .unix_timestamp_nanos();
        stored_at.entry(id).or_insert(t);
    }
    let mut delays = Vec::new();
    for m in read_stream(&case.js, "RUNNER_COMMANDS").await? {
        let cause = m
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .and_then(|v| msg_id::parse(v.as_str()));
        let Some(msg_id::Parsed::Command {
            cause: msg_id::OwnedCause::Event(id),
            ..
        }) = cause
        else {
            continue;
        };
        let Some(event) = stored_at.get(&id) else {
            continue;
        };
        let t = m
            .info()
            .map_err(|e| anyhow!(e))?
            .published
            .unix_timestamp_nanos();
        delays.push((t - event) as f64 / 1e6);
    }
    ensure!(!delays.is_empty(), "no command matched an event");
    let max = delays.iter().cloned().fold(0.0, f64::max);
    Ok((quantile_of(&delays, 0.5), quantile_of(&delays, 0.99), max))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_streams_leader_killed() -> Result<()> {
    run_case(Fault::StreamLeader("RUNNER_EVENTS")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_streams_leader_killed() -> Result<()> {
    run_case(Fault::StreamLeader("RUNNER_COMMANDS")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_placement_buckets_leader_killed() -> Result<()> {
    run_case(Fault::BucketLeader(
        shared::placement::DEFAULT_PLACEMENT_BUCKET,
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_buckets_leader_killed() -> Result<()> {
    run_case(Fault::BucketLeader(
        shared::placement::DEFAULT_REGISTRY_BUCKET,
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handoff_buckets_leader_killed() -> Result<()> {
    run_case(Fault::BucketLeader(
        shared::placement::DEFAULT_HANDOFF_BUCKET,
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_meta_leader_killed() -> Result<()> {
    run_case(Fault::MetaLeader).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_a_runner_is_connected_to_killed() -> Result<()> {
    run_case(Fault::RunnerNode).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_restarted_in_turn() -> Result<()> {
    run_case(Fault::Rolling).await
}

/// A runner cut off from NATS (its only way there, a proxy, severed) for longer than its
/// lease: it applies nothing more, the tenant's next owner takes over once the lease has
/// expired, and when the partition heals the cut-off runner applies and publishes nothing
/// for the tenant it lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_cut_off_past_its_lease_gives_its_tenant_up() -> Result<()> {
    let _one = ONE_AT_A_TIME.lock().await;
    const WAIT: Duration = Duration::from_secs(60);
    // One server: a cluster's servers advertise each other, and a client cut off from one
    // reconnects to another past any proxy.
    let nats = shared::devtools::NatsServer::start().map_err(|e| anyhow!(e))?;
    let urls = nats.url();
    let js = jetstream_on(&urls).await?;
    create_streams_with(&js, DUP, 1).await?;
    let out = runnerctl_at(&urls).args(["setup"]).output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let proxy = e2e::natsproxy::NatsProxy::start(nats.port).await?;
    let dir = tempfile::tempdir()?;
    let (va, vb) = (dir.path().join("a"), dir.path().join("b"));
    let spec = |url: String, vol: &std::path::Path, shard: &str| {
        let mut s = RunnerSpec::at(url, vol, &[]).env("RUNNER_LEASE_TTL", "3s");
        s.shard = shard.into();
        s.placement = Some(shared::placement::DEFAULT_PLACEMENT_BUCKET.into());
        s
    };
    let mut a = Runner::start(spec(proxy.url(), &va, "shard-a")).await?;
    let mut b = Runner::start(spec(urls.clone(), &vb, "shard-b")).await?;
    let out = runnerctl_at(&urls)
        .args(["place", "t1", "shard-a"])
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    a.wait_serving(&["t1"], WAIT).await?;

    let events: Vec<_> = numbered_deposits("t1", 0, 600, 20);
    let before = publish_all(&js, &events[..200]).await?;
    a.wait_caught_up(WAIT).await?;
    // Its position report covers them, so the next owner starts after them.
    let handoff = js
        .get_key_value(shared::placement::DEFAULT_HANDOFF_BUCKET)
        .await?;
    let last = *before.last().context("published")?;
    eventually(WAIT, "shard-a to report its position", || async {
        let v = handoff
            .get(shared::placement::positions_key("shard-a"))
            .await
            .ok()??;
        let p: shared::placement::PositionsRecord = serde_json::from_slice(&v).ok()?;
        (p.tenants.get("t1").copied()? >= last).then_some(())
    })
    .await?;
    let applied_at_cut = a.status().await?.totals.applied;

    proxy.sever();
    let cut = std::time::Instant::now();
    eventually(WAIT, "shard-a to say NATS is lost", || async {
        let s = a.status().await.ok()?;
        (!s.nats.connected && !s.problems.is_empty()).then_some(())
    })
    .await?;
    // The next owner: placed once shard-a's lease is gone from the registry (a placement on
    // a tenant whose owner still holds its lease would be refused without --force).
    eventually(WAIT, "t1 placed on shard-b", || async {
        let out = runnerctl_at(&urls)
            .args(["place", "t1", "shard-b"])
            .output()
            .ok()?;
        out.status.success().then_some(())
    })
    .await?;
    b.wait_serving(&["t1"], WAIT).await?;
    let took = cut.elapsed();
    ensure!(
        took >= Duration::from_secs(3),
        "shard-b served t1 {took:?} after the cut, before shard-a's 3 s lease could expire"
    );
    publish_all(&js, &events[200..400]).await?;
    b.wait_caught_up(WAIT).await?;
    ensure!(
        a.status().await?.totals.applied == applied_at_cut,
        "shard-a applied events while cut off"
    );

    // Healed: shard-a finds its lease gone and stops (a supervisor restarts it); started
    // again, it serves nothing, and applies and publishes nothing of t1.
    proxy.restore();
    let exit = a.wait_exit(WAIT).await?;
    ensure!(
        exit.code() == Some(1),
        "shard-a exited {exit} after losing its lease"
    );
    ensure!(
        a.log_text().contains("lost the shard's lease"),
        "shard-a did not say it lost its lease:\n{}",
        a.log_text()
    );
    a.restart().await?;
    a.wait_serving(&[], WAIT).await?;
    publish_all(&js, &events[400..]).await?;
    b.wait_caught_up(WAIT).await?;
    ensure!(
        a.status().await?.totals.applied == 0,
        "shard-a applied events of a tenant it lost after the partition healed"
    );
    a.terminate(WAIT)?;
    b.terminate(WAIT)?;
    let on_a = applied_ids(&va, "t1", "account")?;
    let on_b = applied_ids(&vb, "t1", "account")?;
    ensure!(
        on_a.len() == 200,
        "shard-a applied {} events, not the first 200",
        on_a.len()
    );
    ensure!(
        on_b.len() == 400,
        "shard-b applied {} events, not the last 400",
        on_b.len()
    );
    ensure!(on_a.is_disjoint(&on_b), "an event applied on both shards");
    let cmds = stored(&js, "RUNNER_COMMANDS").await?;
    assert_each_id_once(&cmds, "commands")?;
    ensure!(
        cmds.len() == 600,
        "{} commands for 600 deposits",
        cmds.len()
    );
    Ok(())
}

/// What a single server made with one copy, later grown into a cluster: the runner warns at
/// start and in its status, `runnerctl setup` reports it `below`, and `--update` raises it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_few_replicas_are_reported_and_raised() -> Result<()> {
    let _one = ONE_AT_A_TIME.lock().await;
    let cluster = NatsCluster::start(3).map_err(|e| anyhow!(e))?;
    let urls = cluster.urls();
    let js = jetstream_on(&urls).await?;
    create_streams_with(&js, DUP, 1).await?;
    let dir = tempfile::tempdir()?;
    let r = Runner::start(RunnerSpec::at(urls.clone(), &dir.path().join("a"), &["t1"])).await?;
    let s = r.status().await?;
    let events = s
        .nats
        .storage
        .iter()
        .find(|i| i.name == "RUNNER_EVENTS")
        .context("RUNNER_EVENTS in the status")?;
    ensure!(
        events.replicas == 1
            && events
                .warning
                .as_deref()
                .is_some_and(|w| w.contains("runnerctl setup --replicas 3")),
        "status: {events:?}"
    );
    let registry = s
        .nats
        .storage
        .iter()
        .find(|i| i.name == shared::placement::DEFAULT_REGISTRY_BUCKET)
        .context("the registry in the status")?;
    ensure!(
        registry.replicas == 3 && registry.warning.is_none(),
        "what the runner created keeps 3 copies: {registry:?}"
    );
    ensure!(
        r.log_text().contains("stream RUNNER_EVENTS keeps 1 copy"),
        "no warning at start:\n{}",
        r.log_text()
    );
    let status = runnerctl_at(&urls)
        .args(["status", "--url", &r.admin_url])
        .output()?;
    let text = String::from_utf8_lossy(&status.stdout);
    ensure!(
        text.contains("cluster of 3")
            && text.contains("warning: stream RUNNER_EVENTS keeps 1 copy"),
        "runnerctl status:\n{text}"
    );
    let report = |extra: &[&str]| -> Result<serde_json::Value> {
        let out = runnerctl_at(&urls)
            .args(["setup", "-o", "json"])
            .args(extra)
            .output()?;
        ensure!(
            out.status.success(),
            "runnerctl setup {extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let action = |v: &serde_json::Value, name: &str| {
        v["items"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["name"] == name).cloned())
            .unwrap_or_default()
    };
    let before = report(&[])?;
    ensure!(
        action(&before, "RUNNER_EVENTS")["action"] == "below",
        "{before}"
    );
    let raised = report(&["--update"])?;
    ensure!(
        action(&raised, "RUNNER_EVENTS")["action"] == "raised"
            && action(&raised, "RUNNER_EVENTS")["replicas"] == 3,
        "{raised}"
    );
    let info = js.get_stream("RUNNER_EVENTS").await?.cached_info().clone();
    ensure!(info.config.num_replicas == 3, "{:?}", info.config);
    let after = report(&[])?;
    ensure!(
        after["items"]
            .as_array()
            .context("items")?
            .iter()
            .all(|i| i["action"] == "ok" && i["replicas"] == 3),
        "{after}"
    );
    Ok(())
}
