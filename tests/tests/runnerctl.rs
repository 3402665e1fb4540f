//! `runnerctl` against a real runner.

use std::process::Command;
use std::time::Duration;

use e2e::*;
use serde_json::json;

fn runnerctl() -> Command {
    let mut c = Command::new(bin("runnerctl"));
    c.env_remove("RUNNERCTL_TOKEN")
        .env_remove("RUNNERCTL_CONTEXT")
        .env("RUNNERCTL_CONFIG", "/nonexistent/runnerctl.toml")
        .env("NO_COLOR", "1");
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
    let http = e2e::http();
    let unauth = http
        .get(format!("{}/admin/status", runner.admin_url))
        .send()
        .await?;
    assert_eq!(unauth.status(), 401);
    let body: shared::wire::ErrorBody = unauth.json().await?;
    assert_eq!(body.error, shared::wire::ErrorCode::Unauthorized);
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

/// `runnerctl dev` starts NATS, two placed shards and a generator, prints how to reach
/// them, and on Ctrl-C stops everything and removes what it created.
#[tokio::test(flavor = "multi_thread")]
async fn dev_runs_a_two_shard_stack_and_cleans_up_on_ctrl_c() -> anyhow::Result<()> {
    dev_stack(1).await
}

/// `runnerctl dev --cluster 3`: the same stack on a 3-node cluster, everything with 3 copies,
/// the runners given every server.
#[tokio::test(flavor = "multi_thread")]
async fn dev_runs_the_stack_on_a_three_node_cluster() -> anyhow::Result<()> {
    dev_stack(3).await
}

async fn dev_stack(cluster: usize) -> anyhow::Result<()> {
    use std::io::BufRead;
    let mut dev = runnerctl()
        .args([
            "dev",
            "--no-view",
            "--rate",
            "200",
            "--admin-addr",
            "127.0.0.1:0",
            "--nats-port",
            "0",
            "--cluster",
            &cluster.to_string(),
        ])
        .env("RUNNERCTL_RUNNER_BIN", e2e::bin("runner"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let out = dev.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut intro = Vec::new();
    while !intro
        .iter()
        .any(|l: &String| l.trim_start().starts_with("stop"))
    {
        intro.push(rx.recv_timeout(Duration::from_secs(90))?);
    }
    let text = intro.join("\n");
    let nats_url = text
        .split_whitespace()
        .find(|w| w.starts_with("nats://"))
        .expect("the NATS URL is printed")
        .to_string();
    assert_eq!(
        nats_url.split(',').count(),
        cluster,
        "every server's URL is printed: {text}"
    );
    let shards = runnerctl()
        .env("NATS_URL", &nats_url)
        .args(["shards", "-o", "json"])
        .output()?;
    let shards: serde_json::Value = serde_json::from_slice(&shards.stdout)?;
    let shards = shards.as_array().expect("an array");
    assert_eq!(shards.len(), 2, "{text}");
    let urls: Vec<String> = shards
        .iter()
        .map(|s| s["admin_url"].as_str().unwrap().to_string())
        .collect();
    let served: usize = shards
        .iter()
        .map(|s| s["tenants"].as_array().unwrap().len())
        .sum();
    assert_eq!(served, 3, "every tenant placed on a shard");
    let http = e2e::http();
    e2e::eventually(
        Duration::from_secs(60),
        "events applied on both shards",
        || async {
            let mut all = true;
            for u in &urls {
                let s: shared::wire::StatusResponse = http
                    .get(format!("{u}/admin/status"))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                all &= s.totals.applied > 0
                    && s.nats.cluster_size == Some(cluster)
                    && !s.nats.storage.is_empty()
                    && s.nats.storage.iter().all(|i| i.replicas == cluster.min(3));
            }
            all.then_some(())
        },
    )
    .await?;
    let log = text
        .split_whitespace()
        .find(|w| w.ends_with("shard-a.log"))
        .expect("the log path is printed");
    let root = std::path::Path::new(log).parent().unwrap().to_path_buf();
    assert!(root.exists());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(dev.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )?;
    let status = e2e::eventually(Duration::from_secs(60), "runnerctl dev to stop", || {
        let s = dev.try_wait().ok().flatten();
        async move { s }
    })
    .await?;
    assert!(status.success(), "{status}");
    assert!(!root.exists(), "{} was not removed", root.display());
    Ok(())
}

/// A NATS server list that does not parse is a usage error naming the setting, before any
/// connection is tried.
#[test]
fn a_bad_nats_url_is_exit_2_naming_the_setting() -> anyhow::Result<()> {
    let out = runnerctl()
        .env("NATS_URL", "nats://127.0.0.1:4222,nats://127.0.0.1:42x22")
        .args(["placements"])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--nats-url") && err.contains("'nats://127.0.0.1:42x22'"),
        "{err}"
    );
    Ok(())
}

/// Settings come from flags, then the environment, then the selected context of the config
/// file, then defaults; `config show` says which, and never prints a secret.
#[test]
fn config_contexts_merge_under_flags_and_env_and_hide_secrets() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("config.toml");
    std::fs::write(
        &file,
        r#"
current_context = "dev"
[contexts.dev]
nats_url = "nats://127.0.0.1:4333"
registry_bucket = "dev_shards"
token = "dev-s3cret"
output = "json"
[contexts.prod]
nats_url = "tls://nats.prod:4222"
nats_user = "ops"
nats_password = "prod-pa55"
"#,
    )?;
    let show =
        |args: &[&str], env: &[(&str, &str)]| -> anyhow::Result<(Option<i32>, String, String)> {
            let mut c = Command::new(bin("runnerctl"));
            c.env("RUNNERCTL_CONFIG", &file)
                .env_remove("RUNNERCTL_CONTEXT")
                .env_remove("NATS_URL")
                .env_remove("RUNNERCTL_OUTPUT")
                .env_remove("RUNNERCTL_TOKEN");
            for (k, v) in env {
                c.env(k, v);
            }
            let out = c.args(args).args(["config", "show"]).output()?;
            Ok((
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ))
        };
    let source = |v: &serde_json::Value, k: &str| -> (String, String) {
        let row = v["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["setting"] == k)
            .unwrap();
        (
            row["value"].as_str().unwrap_or("").to_string(),
            row["source"].as_str().unwrap().to_string(),
        )
    };
    // current_context = dev; its output = json applies.
    let (c, out, err) = show(&[], &[])?;
    assert_eq!(c, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(v["context"], "dev");
    assert_eq!(
        source(&v, "nats_url"),
        ("nats://127.0.0.1:4333".into(), "context".into())
    );
    assert_eq!(
        source(&v, "registry_bucket"),
        ("dev_shards".into(), "context".into())
    );
    assert_eq!(
        source(&v, "placement_bucket"),
        ("runner_placement".into(), "default".into())
    );
    assert_eq!(
        source(&v, "token"),
        ("(set, hidden)".into(), "context".into())
    );
    assert!(!out.contains("dev-s3cret"));
    // The environment beats the context, a flag beats both.
    let (_, out, _) = show(
        &["--context", "prod", "-o", "json"],
        &[("NATS_URL", "nats://env:1")],
    )?;
    let v: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(
        source(&v, "nats_url"),
        ("nats://env:1".into(), "env".into())
    );
    assert_eq!(source(&v, "nats_user"), ("ops".into(), "context".into()));
    assert_eq!(source(&v, "output"), ("json".into(), "flag".into()));
    assert!(!out.contains("prod-pa55"));
    let (_, out, _) = show(
        &["--nats-url", "nats://flag:2", "-o", "json"],
        &[("NATS_URL", "nats://env:1"), ("RUNNERCTL_CONTEXT", "prod")],
    )?;
    let v: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(v["context"], "prod");
    assert_eq!(
        source(&v, "nats_url"),
        ("nats://flag:2".into(), "flag".into())
    );
    // An unknown context is a usage error naming the ones there are.
    let (c, _, err) = show(&["--context", "staging"], &[])?;
    assert_eq!(c, Some(2));
    assert!(
        err.contains("no context 'staging'") && err.contains("dev, prod"),
        "{err}"
    );
    Ok(())
}

/// A placement change is not kept when its audit entry cannot be written: here the audit
/// stream exists but does not take the placement subjects, so the publish fails after the
/// placement was written, and runnerctl puts the previous value back.
#[tokio::test(flavor = "multi_thread")]
async fn a_change_whose_audit_entry_cannot_be_written_is_put_back() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let js = jetstream(&nats).await?;
    js.create_stream(async_nats::jetstream::stream::Config {
        name: shared::placement::AUDIT_STREAM.into(),
        subjects: vec!["audit.elsewhere.>".into()],
        ..Default::default()
    })
    .await?;
    let run = |args: &[&str]| e2e::runnerctl(&nats).args(args).output();
    let out = run(&["place", "acme", "shard-a", "--force", "--create"])?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("put back, nothing changed"), "{err}");
    let kv = js
        .get_key_value(shared::placement::DEFAULT_PLACEMENT_BUCKET)
        .await?;
    let e = kv.entry("acme").await?;
    assert!(
        e.is_none_or(|e| e.operation != async_nats::jetstream::kv::Operation::Put),
        "acme is not placed"
    );
    Ok(())
}
