//! Outages, against real servers: nats-server restarted mid-stream and stopped for longer
//! than the runner's reconnect backoff; the volume's filesystem running out of space. Each
//! ends with every event applied exactly once and every command published once.
//! (SIGKILL loops and SIGTERM during a batch: tests/tests/processing.rs.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::*;

const WAIT: Duration = Duration::from_secs(60);
/// Orders of 8 KB each published on the full disk: 24 MB, more than a growth step (16 MB).
const ORDERS: usize = 3_000;

/// Publishes `events`, retrying a chunk until NATS takes it (duplicates in the stream are
/// fine: the runner applies an event id once).
async fn publish_through_outages(
    js: &async_nats::jetstream::Context,
    events: &[(String, bytes::Bytes)],
) -> anyhow::Result<()> {
    for chunk in events.chunks(200) {
        eventually(WAIT, "NATS to take the events", || async {
            publish_all(js, chunk).await.ok()
        })
        .await?;
    }
    Ok(())
}

/// `r`, with the runner's log tail and status printed when it is an error.
async fn or_log<T>(runner: &Runner, r: anyhow::Result<T>) -> anyhow::Result<T> {
    if r.is_err() {
        let text = runner.log_text();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        for l in tail.into_iter().rev() {
            eprintln!("runner: {l}");
        }
        eprintln!(
            "status: {:?}",
            runner.status().await.map(|s| (s.problems, s.tenants))
        );
    }
    r
}

async fn readiness(admin: &str) -> Option<(u16, shared::wire::Readiness)> {
    let r = e2e::http()
        .get(format!("{admin}/readyz"))
        .send()
        .await
        .ok()?;
    let code = r.status().as_u16();
    Some((code, r.json().await.ok()?))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nats_restart_and_a_long_outage_mid_stream_lose_nothing() -> anyhow::Result<()> {
    let mut nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let vol = tmp.path().join("vol");
    let js = jetstream(&nats).await?;
    create_streams(&js, Duration::from_millis(100)).await?;
    let runner = Runner::start(RunnerSpec::new(&nats, &vol, &["t1", "t2"])).await?;
    let admin = runner.admin_url.clone();
    let work = Deposits::new(&["t1", "t2"], 6_000, &mut rng());
    let thirds: Vec<&[(String, bytes::Bytes)]> =
        work.events.chunks(work.events.len() / 3 + 1).collect();

    // A restart while the runner works through a backlog.
    publish_through_outages(&js, thirds[0]).await?;
    nats.restart().map_err(anyhow::Error::msg)?;
    publish_through_outages(&js, thirds[1]).await?;

    // A stop longer than the reconnect backoff (at most 5 s): the runner says so and waits.
    nats.stop();
    let (code, r) = eventually(WAIT, "readyz to fail while NATS is down", || async {
        readiness(&admin).await.filter(|(c, _)| *c == 503)
    })
    .await?;
    assert_eq!(code, 503);
    assert!(
        r.reasons.iter().any(|x| x.contains("NATS")),
        "{:?}",
        r.reasons
    );
    tokio::time::sleep(Duration::from_secs(8)).await;
    nats.restart().map_err(anyhow::Error::msg)?;
    publish_through_outages(&js, thirds[2]).await?;

    eventually(WAIT, "readyz to pass again", || async {
        readiness(&admin).await.filter(|(c, _)| *c == 200)
    })
    .await?;
    let status = or_log(&runner, runner.wait_caught_up(WAIT).await).await?;
    assert_eq!(status.totals.dead_lettered, 0, "{status:?}");
    let mut runner = runner;
    assert!(runner.terminate(WAIT)?.success());
    work.assert_exactly_once(&vol, &js).await?;
    Ok(())
}

/// A small tmpfs for the volume, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> anyhow::Result<Tmpfs> {
        std::fs::create_dir_all(at)?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "this test mounts a small tmpfs to fill the volume's filesystem and needs root \
             (CAP_SYS_ADMIN): mount said {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Writes zeros to `path` until the filesystem is full; returns the bytes written.
fn fill(path: &Path) -> anyhow::Result<u64> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    let block = vec![0u8; 64 << 10];
    let mut n = 0u64;
    loop {
        match f.write(&block) {
            Ok(0) => break,
            Ok(k) => n += k as u64,
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => return Err(e.into()),
        }
    }
    let _ = f.sync_all();
    Ok(n)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_stops_work_says_so_and_resumes_when_space_returns() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let fs = Tmpfs::mount(&tmp.path().join("fs"), "256m")?;
    let vol = fs.0.join("vol");
    let js = jetstream(&nats).await?;
    create_streams(&js, Duration::from_millis(100)).await?;
    let mut runner = Runner::start(RunnerSpec::new(&nats, &vol, &["t1", "t2"])).await?;
    let admin = runner.admin_url.clone();
    let work = Deposits::new(&["t1", "t2"], 3_000, &mut rng());
    let (before, after) = work.events.split_at(work.events.len() / 3);
    publish_all(&js, before).await?;
    runner.wait_caught_up(WAIT).await?;

    // The disk fills up; then come orders with 8 KB of customer data each (kept in the
    // instance), far more than the volume's free pages, and the rest of the deposits.
    let filler = fs.0.join("filler");
    let filled = fill(&filler)?;
    eprintln!("filled the volume's filesystem with {} MB", filled >> 20);
    let big = "x".repeat(8 << 10);
    let orders: Vec<(String, bytes::Bytes)> = (0..ORDERS)
        .map(|i| {
            let data = serde_json::json!({"amount": 10, "customer": big});
            (
                "evt.t1.order".to_string(),
                event(&format!("big-{i}"), "OrderPlaced", &format!("o{i}"), data),
            )
        })
        .collect();
    publish_all(&js, &orders).await?;
    publish_all(&js, after).await?;
    let waited = eventually(WAIT, "readyz to fail on the full volume", || async {
        readiness(&admin)
            .await
            .filter(|(c, r)| *c == 503 && r.reasons.iter().any(|x| x.contains("volume")))
    })
    .await;
    let (_, r) = or_log(&runner, waited).await?;
    eprintln!("readyz: {:?}", r.reasons);
    let s = runner.status().await?;
    assert!(
        s.problems.iter().any(|p| p.contains("volume")),
        "{:?}",
        s.problems
    );
    assert!(runner.alive(), "the runner keeps running");
    let errors = e2e::http()
        .get(format!("{admin}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        errors
            .lines()
            .any(|l| l.starts_with("runner_storage_errors_total ") && !l.ends_with(" 0")),
        "storage errors are counted"
    );

    // Space returns: the runner goes on by itself, nothing lost or applied twice.
    std::fs::remove_file(&filler)?;
    let again = eventually(WAIT, "readyz to pass again", || async {
        readiness(&admin).await.filter(|(c, _)| *c == 200)
    })
    .await;
    or_log(&runner, again).await?;
    or_log(&runner, runner.wait_caught_up(WAIT).await).await?;
    assert!(runner.terminate(WAIT)?.success());
    work.assert_exactly_once(&vol, &js).await?;
    let v = read_volume(&vol)?;
    let orders = v
        .instances
        .keys()
        .filter(|(t, s, _)| t == "t1" && s == "order")
        .count();
    assert_eq!(orders, ORDERS, "every order once");
    Ok(())
}
