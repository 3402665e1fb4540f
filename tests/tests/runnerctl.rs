//! `runnerctl` against a real runner.

use std::process::Command;
use std::time::Duration;

use e2e::*;
use serde_json::json;

fn runnerctl() -> Command {
    let mut c = Command::new(bin("runnerctl"));
    c.env_remove("RUNNERCTL_TOKEN").env("NO_COLOR", "1");
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_runner_as_a_table_and_as_json() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let spec = RunnerSpec::new(&nats, &tmp.path().join("vol"), &["t1", "t2"])
        .env("RUNNER_ADMIN_TOKEN", "s3cret");
    let runner = Runner::start(spec).await?;
    let js = jetstream(&nats).await?;
    let evs: Vec<_> = (0..10)
        .map(|i| {
            (
                "evt.t1.order".to_string(),
                event(
                    &format!("e{i}"),
                    "OrderPlaced",
                    &format!("o{i}"),
                    json!({"amount": 1, "customer": "c"}),
                ),
            )
        })
        .collect();
    publish_all(&js, &evs).await?;
    let http = reqwest::Client::new();
    let unauth = http
        .get(format!("{}/admin/status", runner.admin_url))
        .send()
        .await?;
    assert_eq!(unauth.status(), 401);
    let body: shared::wire::ErrorBody = unauth.json().await?;
    assert_eq!(body.error, "unauthorized");
    assert!(
        http.get(format!("{}/healthz", runner.admin_url))
            .send()
            .await?
            .status()
            .is_success()
    );
    eventually(Duration::from_secs(30), "events applied", || async {
        let out = runnerctl()
            .args([
                "status",
                "--url",
                &runner.admin_url,
                "--token",
                "s3cret",
                "-o",
                "json",
            ])
            .output()
            .ok()?;
        let s: shared::wire::StatusResponse = serde_json::from_slice(&out.stdout).ok()?;
        (s.totals.applied == 10).then_some(())
    })
    .await?;

    let out = runnerctl()
        .args(["status", "--url", &runner.admin_url])
        .env("RUNNERCTL_TOKEN", "s3cret")
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout)?;
    assert!(table.contains("shard shard-a  state running"), "{table}");
    let row = table
        .lines()
        .find(|l| l.contains("t1") && l.contains("order"))
        .unwrap_or_default()
        .to_string();
    let cols: Vec<&str> = row.split_whitespace().collect();
    // TENANT SAGA MODE CHECKPOINT STREAM-LAST LAG APPLIED ...
    assert_eq!(&cols[..3], ["t1", "order", "live"], "{table}");
    assert_eq!(
        (cols[3], cols[4], cols[5], cols[6]),
        ("10", "10", "0", "10"),
        "{table}"
    );
    assert!(table.contains("no problems"), "{table}");
    assert!(!table.contains("s3cret"));

    let out = runnerctl()
        .args(["status", "--url", &runner.admin_url, "--token", "wrong"])
        .output()?;
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401") && err.contains("--token"), "{err}");
    assert!(!err.contains("wrong"), "the token is never printed: {err}");
    Ok(())
}
