//! The real `runnerctl tui` in a real terminal (tmux), against a real stack: it opens,
//! shows the shards, and drains the selected one through the confirmation dialog; the
//! admin API then says the shard is drained, and the log file has the change log.

use std::time::Duration;

use e2e::*;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_drains_a_shard_through_its_dialog() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let a = Runner::start(RunnerSpec::placed(&nats, &tmp.path().join("a"), "shard-a")).await?;
    let _b = Runner::start(RunnerSpec::placed(&nats, &tmp.path().join("b"), "shard-b")).await?;
    runnerctl_ok(&nats, &["place", "acme", "shard-a"])?;
    runnerctl_ok(&nats, &["place", "globex", "shard-b"])?;
    a.wait_serving(&["acme"], WAIT).await?;

    let log = tmp.path().join("tui.log");
    let session = Tmux::start(
        &format!("runnerctl-tui-{}", std::process::id()),
        &format!(
            "env NATS_URL={} RUNNERCTL_CONFIG=/nonexistent {} tui --refresh 500ms --log-file {}",
            nats.url(),
            bin("runnerctl").display(),
            log.display()
        ),
        (100, 30),
    )?;
    let screen = session.wait_for(WAIT, "globex").await?;
    assert!(
        screen.contains("shard-a") && screen.contains("shard-b"),
        "{screen}"
    );
    // A placement made while it runs shows up (the placement bucket is watched). Whether it
    // also makes a change-log line depends on whether the watch had finished replaying the
    // bucket when it came (then it is initial state): the row is what must appear.
    runnerctl_ok(&nats, &["place", "initech", "shard-b"])?;
    session.wait_for(WAIT, "initech").await?;
    // shard-a is the first row and selected: drain, move to OK, confirm.
    session.keys(&["d"])?;
    session.wait_for(WAIT, "Drain shard-a?").await?;
    assert!(
        session.screen().contains("> Cancel <"),
        "the dialog opens on Cancel"
    );
    session.keys(&["Right"])?;
    session.wait_for(WAIT, "> OK <").await?;
    session.keys(&["Enter"])?;
    session.wait_for(WAIT, "shard-a: drain started").await?;
    let s = eventually(WAIT, "shard-a to be drained", || async {
        let s = a.status().await.ok()?;
        (s.state == shared::wire::RunnerState::Drained).then_some(s)
    })
    .await?;
    assert!(s.drain.is_some());
    session.wait_for(WAIT, "drained").await?;
    session.keys(&["q"])?;
    session.wait_gone(WAIT).await?;
    // What the change log said went to the log file too.
    let logged = std::fs::read_to_string(&log)?;
    assert!(logged.contains("shard-a: drain started"), "{logged}");
    Ok(())
}
