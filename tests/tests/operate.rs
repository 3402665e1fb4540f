//! What operators run into around the runner, tried the way an unfriendly network or a
//! hurried deploy would: an admin port flooded with half-sent requests, a saga file checked
//! before it ships, logs read from a file rather than a terminal.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use e2e::*;

/// 200 clients that send half a request header and then nothing: each is closed by the
/// header timeout or, over the connection limit, answered 503 and closed at once. Meanwhile
/// and afterwards the API still answers.
#[tokio::test(flavor = "multi_thread")]
async fn half_open_admin_connections_are_closed_and_a_flood_is_turned_away() -> Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let runner = Runner::start(
        RunnerSpec::new(&nats, &tmp.path().join("vol"), &["t1"])
            .env("RUNNER_ADMIN_HEADER_TIMEOUT", "1s")
            .env("RUNNER_ADMIN_MAX_CONNECTIONS", "50"),
    )
    .await?;
    let addr = runner
        .admin_url
        .strip_prefix("http://")
        .context("admin url")?
        .to_string();

    let started = Instant::now();
    let mut held = Vec::new();
    for i in 0..200 {
        let mut s = TcpStream::connect(&addr).with_context(|| format!("connection {i}"))?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: runner\r\nX-Slow: ")?;
        s.set_read_timeout(Some(Duration::from_secs(15)))?;
        held.push(s);
    }
    // Each connection must end (EOF, or a reset) well before the client would give up.
    let (mut busy, mut cut) = (0, 0);
    for (i, mut s) in held.into_iter().enumerate() {
        let mut got = Vec::new();
        match s.read_to_end(&mut got) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => anyhow::bail!("connection {i} was still open after 15 s: {e}"),
        }
        let text = String::from_utf8_lossy(&got);
        if text.starts_with("HTTP/1.1 503") {
            ensure!(
                text.contains("RUNNER_ADMIN_MAX_CONNECTIONS"),
                "the 503 says why: {text}"
            );
            busy += 1;
        } else {
            cut += 1;
        }
    }
    let took = started.elapsed();
    // About 50 held until the header timeout (fewer while the test's own kept-alive client
    // holds a slot; more when opening 200 took longer than the timeout and slots came free
    // meanwhile), the rest turned away at once.
    ensure!(
        cut >= 40 && busy >= 50,
        "expected about 50 held until the header timeout and the rest answered 503; got {cut} closed by the timeout, {busy} answered 503"
    );
    ensure!(
        took < Duration::from_secs(12),
        "200 half-open connections took {took:?} to be closed (header timeout 1 s)"
    );
    // Still serving, with a free slot for a well-behaved client.
    let s = runner.status().await?;
    ensure!(s.shard_id == "shard-a", "status after the flood: {s:?}");
    Ok(())
}

/// `runner check --sagas FILE` says ok (exit 0) for a good file and names the place of the
/// first error (exit 1) for a bad one, without NATS or a volume.
#[test]
fn runner_check_validates_a_saga_file_offline() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let out = std::process::Command::new(bin("runner"))
        .args(["check", "--sagas"])
        .arg(example_sagas())
        .env_clear()
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.code() == Some(0) && stdout.contains(": ok, ") && stdout.contains("order"),
        "good file: {:?} {stdout} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[saga]]\nname = \"order\"\n[[saga.transition]]\nfrom = \"new\"\non = \"A\"\nto = \"b\"\n[[saga.transition.emit]]\nsubject = \"evt.elsewhere\"\n",
    )?;
    let out = std::process::Command::new(bin("runner"))
        .args(["check", "--sagas"])
        .arg(&bad)
        .env_clear()
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(1) && stderr.contains("bad.toml:8:11: emit subject"),
        "bad file: {:?} {stderr}",
        out.status
    );

    let out = std::process::Command::new(bin("runner"))
        .args(["check", "--sagas", "/nonexistent.toml"])
        .env_clear()
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(1) && stderr.contains("cannot read it"),
        "missing file: {:?} {stderr}",
        out.status
    );
    Ok(())
}

/// Written to a file (journald, `kubectl logs`, a pipe), the runner's human log has no
/// colour escape sequences, even without NO_COLOR.
#[test]
fn logs_to_a_file_are_plain_text() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let out = std::process::Command::new(bin("runner"))
        .env_clear()
        .env("RUNNER_DATA_DIR", tmp.path().join("vol"))
        .env("RUNNER_SAGAS", example_sagas())
        .env("RUNNER_SHARD_ID", "a")
        .env("RUNNER_TENANT_ALLOWLIST", "t1,bad tenant")
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(2) && err.contains("'bad tenant'"),
        "{err}"
    );
    ensure!(
        !err.contains('\u{1b}'),
        "escape sequences in a piped log: {err:?}"
    );
    Ok(())
}

async fn scrape(url: &str) -> Result<String> {
    Ok(e2e::http()
        .get(format!("{url}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?)
}

/// The value of the series whose line starts with `series` (name and labels, exactly).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// `/metrics` has lag per tenant and saga, the runner's state, build info, dead letters by
/// reason code, commit latency and timer delay, all in base units; above
/// RUNNER_METRICS_MAX_TENANTS tenants the per-tenant series go and per-saga sums stay.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_carry_lag_state_build_and_dead_letter_reasons_and_cap_tenant_labels() -> Result<()>
{
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let small = Runner::start(
        RunnerSpec::new(&nats, &tmp.path().join("a"), &["t1"]).env("RUNNER_VOLUME_MAX_MB", "1024"),
    )
    .await?;
    let mut capped = RunnerSpec::new(&nats, &tmp.path().join("b"), &["c1", "c2", "c3"])
        .env("RUNNER_METRICS_MAX_TENANTS", "2");
    capped.shard = "shard-b".into();
    let capped = Runner::start(capped).await?;
    let js = jetstream(&nats).await?;
    let mut events = Vec::new();
    for t in ["t1", "c1", "c2", "c3"] {
        for i in 0..5 {
            events.push((
                format!("evt.{t}.account"),
                event(
                    &format!("{t}-{i}"),
                    "Deposited",
                    "a",
                    serde_json::json!({"amount": 1}),
                ),
            ));
        }
        events.push((
            format!("evt.{t}.account"),
            bytes::Bytes::from_static(b"{not json"),
        ));
    }
    publish_all(&js, &events).await?;
    for r in [&small, &capped] {
        r.wait_caught_up(Duration::from_secs(30)).await?;
    }

    let text = eventually(
        Duration::from_secs(30),
        "the dead letters counted",
        || async {
            let t = scrape(&small.admin_url).await.ok()?;
            (value(&t, r#"runner_dead_letters_total{reason="bad_json"}"#) == Some(1.0)).then_some(t)
        },
    )
    .await?;
    let version = env!("CARGO_PKG_VERSION");
    for (series, want) in [
        (format!(r#"runner_build_info{{version="{version}"}}"#), 1.0),
        (r#"runner_state{state="running"}"#.to_string(), 1.0),
        (r#"runner_state{state="draining"}"#.to_string(), 0.0),
        (
            r#"runner_lag_sequences{tenant="t1",saga="account"}"#.to_string(),
            0.0,
        ),
        ("runner_shard_lag_sequences".to_string(), 0.0),
        (
            r#"runner_events_total{tenant="t1",saga="account",outcome="applied"}"#.to_string(),
            5.0,
        ),
        (
            r#"runner_saga_events_total{saga="account",outcome="applied"}"#.to_string(),
            5.0,
        ),
        ("runner_lease_ttl_seconds".to_string(), 15.0),
        ("runner_outbox_oldest_age_seconds".to_string(), 0.0),
    ] {
        ensure!(
            value(&text, &series) == Some(want),
            "{series} should be {want} in:\n{text}"
        );
    }
    ensure!(
        value(&text, "runner_commit_seconds_count").is_some_and(|n| n >= 1.0),
        "commit latency observed:\n{text}"
    );
    ensure!(
        value(&text, "runner_lease_renewal_age_seconds").is_some_and(|a| a < 15.0),
        "lease renewal age:\n{text}"
    );
    ensure!(
        text.contains("runner_timer_delay_seconds_bucket"),
        "timer delay histogram:\n{text}"
    );
    // The volume's space, for the alerts on it: data within the file, the bound as set, and
    // the disk's free space; the same figures in the status.
    let used = value(&text, "runner_volume_used_bytes").unwrap_or(0.0);
    let file = value(&text, "runner_volume_file_bytes").unwrap_or(0.0);
    ensure!(
        used > 0.0 && used <= file,
        "volume data {used} within its file {file}:\n{text}"
    );
    ensure!(
        value(&text, "runner_volume_max_bytes") == Some(1024.0 * 1024.0 * 1024.0),
        "volume bound from RUNNER_VOLUME_MAX_MB:\n{text}"
    );
    ensure!(
        value(&text, "runner_volume_disk_available_bytes").is_some_and(|d| d > 0.0),
        "free disk beside the volume:\n{text}"
    );
    let vol = small.status().await?.volume;
    ensure!(
        vol.max_bytes == 1 << 30
            && vol.disk_available_bytes.is_some_and(|d| d > 0)
            && vol.used_bytes > 0
            && vol.used_bytes <= vol.file_bytes,
        "volume in the status: {vol:?}"
    );
    let ms: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .filter(|n| n.ends_with("_ms") || n.contains("_ms_"))
        .collect();
    ensure!(ms.is_empty(), "series not in base units: {ms:?}");

    // Three tenants over a cap of two: no tenant label anywhere, the sums still there.
    let text = eventually(
        Duration::from_secs(30),
        "the capped shard's sums",
        || async {
            let t = scrape(&capped.admin_url).await.ok()?;
            (value(
                &t,
                r#"runner_saga_events_total{saga="account",outcome="applied"}"#,
            ) == Some(15.0))
            .then_some(t)
        },
    )
    .await?;
    ensure!(
        !text.contains("tenant=\""),
        "per-tenant series above the cap:\n{text}"
    );
    ensure!(
        value(&text, r#"runner_dead_letters_total{reason="bad_json"}"#) == Some(3.0),
        "dead letters by reason above the cap:\n{text}"
    );
    ensure!(
        value(&text, "runner_shard_lag_sequences") == Some(0.0),
        "{text}"
    );
    Ok(())
}

/// A TLS-terminating proxy on a free loopback port in front of `target` (host:port), as an
/// ingress would be; returns its port.
async fn tls_proxy(target: String, cert: &std::path::Path, key: &std::path::Path) -> Result<u16> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let cfg = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let (acceptor, target) = (acceptor.clone(), target.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                let Ok(mut up) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    });
    Ok(port)
}

/// `runnerctl status` takes a shard name like drain and replay do, and speaks https to an
/// admin API behind TLS, trusting a private CA given with --ca-cert; without it, it says
/// the certificate is not trusted.
#[tokio::test(flavor = "multi_thread")]
async fn runnerctl_status_by_shard_name_and_over_https() -> Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let runner = Runner::start(RunnerSpec::new(&nats, &tmp.path().join("vol"), &["t1"])).await?;

    let (code, out, err) = runnerctl_out(&nats, &["status", "shard-a", "-o", "json"], &[])?;
    ensure!(code == 0, "status shard-a: {code} {err}");
    let s: serde_json::Value = serde_json::from_str(&out)?;
    ensure!(s["shard_id"] == "shard-a", "{out}");

    let (code, _, err) = runnerctl_out(&nats, &["status", "shard-zz"], &[])?;
    ensure!(
        code == 5 && err.contains("shard-zz") && err.contains("runnerctl shards"),
        "unknown shard: {code} {err}"
    );

    let (ca, cert, key) = certificates(tmp.path(), "admin")?;
    let target = runner.admin_url.trim_start_matches("http://").to_string();
    let port = tls_proxy(target, &cert, &key).await?;
    let url = format!("https://127.0.0.1:{port}");
    let ca = ca.display().to_string();
    let (code, out, err) = runnerctl_out(
        &nats,
        &["status", "--url", &url, "--ca-cert", &ca, "-o", "json"],
        &[],
    )?;
    ensure!(code == 0, "status over https: {code} {err}");
    let s: serde_json::Value = serde_json::from_str(&out)?;
    ensure!(s["shard_id"] == "shard-a", "{out}");

    let (code, _, err) = runnerctl_out(&nats, &["status", "--url", &url], &[])?;
    ensure!(
        code == 3 && err.to_lowercase().contains("certificate"),
        "untrusted certificate: {code} {err}"
    );
    let (code, _, err) = runnerctl_out(
        &nats,
        &["status", "--url", &url, "--ca-cert", "/nonexistent.pem"],
        &[],
    )?;
    ensure!(
        code == 2 && err.contains("/nonexistent.pem"),
        "missing CA file: {code} {err}"
    );
    Ok(())
}

/// A cordoned shard keeps serving its tenants while `place` (named or recommended) and
/// `move` do not pick it, unless told to with --ignore-cordon; `shards`, `status` and the
/// runner's status show the cordon, and uncordon lifts it.
#[tokio::test(flavor = "multi_thread")]
async fn a_cordoned_shard_serves_on_and_takes_no_new_tenants() -> Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    let a = Runner::start(RunnerSpec::placed(&nats, &tmp.path().join("a"), "shard-a")).await?;
    let b = Runner::start(RunnerSpec::placed(&nats, &tmp.path().join("b"), "shard-b")).await?;
    runnerctl_ok(&nats, &["place", "t1", "shard-a"])?;
    runnerctl_ok(&nats, &["place", "k1", "shard-b"])?;
    a.wait_serving(&["t1"], Duration::from_secs(30)).await?;
    b.wait_serving(&["k1"], Duration::from_secs(30)).await?;

    let out = runnerctl_ok(
        &nats,
        &["cordon", "shard-b", "--reason", "disk swap", "-o", "json"],
    )?;
    let v: serde_json::Value = serde_json::from_str(&out)?;
    ensure!(
        v["changed"] == true && v["cordon"]["reason"] == "disk swap",
        "{out}"
    );
    let again = runnerctl_ok(&nats, &["cordon", "shard-b", "-o", "json"])?;
    ensure!(
        serde_json::from_str::<serde_json::Value>(&again)?["changed"] == false,
        "{again}"
    );

    let shards: serde_json::Value =
        serde_json::from_str(&runnerctl_ok(&nats, &["shards", "-o", "json"])?)?;
    let cordon_of = |s: &str| {
        shards
            .as_array()
            .and_then(|a| a.iter().find(|r| r["shard_id"] == s))
            .map(|r| r["cordon"].clone())
    };
    ensure!(
        cordon_of("shard-b").is_some_and(|c| c["reason"] == "disk swap"),
        "{shards}"
    );
    ensure!(
        cordon_of("shard-a").is_some_and(|c| c.is_null()),
        "{shards}"
    );
    let table = runnerctl_ok(&nats, &["shards"])?;
    ensure!(
        table.contains("CORDONED") && table.contains("disk swap"),
        "{table}"
    );
    ensure!(
        b.status()
            .await?
            .cordon
            .is_some_and(|c| c.reason.as_deref() == Some("disk swap")),
        "the runner's status shows the cordon"
    );

    // Named target: refused, nothing written.
    let (code, _, err) = runnerctl_out(&nats, &["place", "t2", "shard-b"], &[])?;
    ensure!(
        code == 7
            && err.contains("cordoned")
            && err.contains("disk swap")
            && err.contains("--ignore-cordon"),
        "place on a cordoned shard: {code} {err}"
    );
    let (code, _, err) = runnerctl_out(&nats, &["place", "t2", "shard-b", "--force"], &[])?;
    ensure!(code == 7, "--force is not --ignore-cordon: {code} {err}");
    // Recommended target: never the cordoned shard.
    for t in ["t2", "t3", "t4"] {
        let out = runnerctl_ok(&nats, &["place", t, "-o", "json"])?;
        let v: serde_json::Value = serde_json::from_str(&out)?;
        ensure!(v["after"] == "shard-a", "{t} recommended onto: {out}");
    }
    let (code, _, err) = runnerctl_out(&nats, &["move", "t1", "--to", "shard-b"], &[])?;
    ensure!(
        code == 7 && err.contains("cordoned"),
        "move onto a cordoned shard: {code} {err}"
    );
    a.wait_serving(&["t1", "t2", "t3", "t4"], Duration::from_secs(30))
        .await?;

    // The override, then uncordon; shard-b served k1 all along.
    runnerctl_ok(&nats, &["place", "t5", "shard-b", "--ignore-cordon"])?;
    b.wait_serving(&["k1", "t5"], Duration::from_secs(30))
        .await?;
    let out = runnerctl_ok(&nats, &["uncordon", "shard-b", "-o", "json"])?;
    ensure!(
        serde_json::from_str::<serde_json::Value>(&out)?["changed"] == true,
        "{out}"
    );
    runnerctl_ok(&nats, &["place", "t6", "shard-b"])?;
    b.wait_serving(&["k1", "t5", "t6"], Duration::from_secs(30))
        .await?;
    ensure!(
        b.status().await?.cordon.is_none(),
        "uncordoned in the runner's status"
    );

    // Shell completion (clap's dynamic engine) offers the live shards and placed tenants.
    let complete = |words: &[&str]| -> Result<Vec<String>> {
        let out = runnerctl(&nats)
            .env("COMPLETE", "fish")
            .arg("--")
            .arg("runnerctl")
            .args(words)
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_string())
            .collect())
    };
    let shards = complete(&["status", "shard-"])?;
    ensure!(shards == ["shard-a", "shard-b"], "status <TAB>: {shards:?}");
    let shards = complete(&["move", "t1", "--to", "shard-b"])?;
    ensure!(shards == ["shard-b"], "move --to <TAB>: {shards:?}");
    let tenants = complete(&["move", "t"])?;
    ensure!(
        tenants == ["t1", "t2", "t3", "t4", "t5", "t6"],
        "move <TAB>: {tenants:?}"
    );
    let tenants = complete(&["get", "instances", "--tenant", "k"])?;
    ensure!(tenants == ["k1"], "get --tenant <TAB>: {tenants:?}");
    Ok(())
}

/// `runnerctl get instance|instances` reads a live shard through its admin API, found from
/// the tenant's claim, and prints exactly what `inspect` prints for the volume; keys with
/// slashes, spaces, `?`, `%` and non-ASCII survive the URL; pages continue with --after;
/// what does not exist is exit 5; a token-protected runner needs the token.
#[tokio::test(flavor = "multi_thread")]
async fn live_instance_lookups_match_inspect_and_page() -> Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    let vol = tmp.path().join("a");
    let a = Runner::start(
        RunnerSpec::placed(&nats, &vol, "shard-a").env("RUNNER_ADMIN_TOKEN", "s3cret"),
    )
    .await?;
    runnerctl_ok(&nats, &["place", "t1", "shard-a"])?;
    a.wait_serving(&["t1"], Duration::from_secs(30)).await?;
    let keys = ["o/1 ?%#ü", "o-2", "o-3", "o-4", "o-5"];
    let events: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            (
                "evt.t1.order".to_string(),
                event(
                    &format!("e{i}"),
                    "OrderPlaced",
                    k,
                    serde_json::json!({"amount": i, "customer": "c"}),
                ),
            )
        })
        .collect();
    publish_all(&js, &events).await?;
    a.wait_caught_up(Duration::from_secs(30)).await?;
    let tok = [("RUNNERCTL_TOKEN", "s3cret")];

    let (code, live, err) = runnerctl_out(
        &nats,
        &[
            "get", "instance", "--tenant", "t1", "--saga", "order", "--key", keys[0], "-o", "json",
        ],
        &tok,
    )?;
    ensure!(code == 0, "get instance: {code} {err}");
    let vol_s = vol.display().to_string();
    let offline = runnerctl_ok_env(
        &nats,
        &[
            "inspect",
            &vol_s,
            "--allow-live",
            "instance",
            "--tenant",
            "t1",
            "--saga",
            "order",
            "--key",
            keys[0],
            "-o",
            "json",
        ],
        &tok,
    )?;
    let (lv, ov): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&live)?,
        serde_json::from_str(&offline)?,
    );
    ensure!(
        lv == ov && lv["state"] == "awaiting_payment" && lv["key"] == keys[0],
        "live {live}\ninspect {offline}"
    );
    let (code, table, _) = runnerctl_out(
        &nats,
        &[
            "get", "instance", "--tenant", "t1", "--saga", "order", "--key", keys[0],
        ],
        &tok,
    )?;
    ensure!(
        code == 0 && table.contains("state awaiting_payment"),
        "{table}"
    );

    // Pages of two, in key order, the same as inspect's.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = vec![
            "get",
            "instances",
            "--tenant",
            "t1",
            "--saga",
            "order",
            "--limit",
            "2",
            "-o",
            "json",
        ];
        if let Some(a) = &after {
            args.extend(["--after", a.as_str()]);
        }
        let (code, out, err) = runnerctl_out(&nats, &args, &tok)?;
        ensure!(code == 0, "get instances: {code} {err}");
        let page: serde_json::Value = serde_json::from_str(&out)?;
        let items = page["items"].as_array().context("items")?;
        ensure!(items.len() <= 2, "{out}");
        seen.extend(
            items
                .iter()
                .map(|i| i["key"].as_str().unwrap_or_default().to_string()),
        );
        match page["next_after"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
    }
    let mut want: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    want.sort();
    ensure!(seen == want, "paged keys {seen:?}, want {want:?}");
    let all = runnerctl_ok_env(
        &nats,
        &[
            "get",
            "instances",
            "--tenant",
            "t1",
            "--saga",
            "order",
            "--limit",
            "10",
            "-o",
            "json",
        ],
        &tok,
    )?;
    let offline = runnerctl_ok_env(
        &nats,
        &[
            "inspect",
            &vol_s,
            "--allow-live",
            "instances",
            "--tenant",
            "t1",
            "--saga",
            "order",
            "--limit",
            "10",
            "-o",
            "json",
        ],
        &tok,
    )?;
    ensure!(
        serde_json::from_str::<serde_json::Value>(&all)?
            == serde_json::from_str::<serde_json::Value>(&offline)?,
        "live {all}\ninspect {offline}"
    );

    for (args, what) in [
        (
            vec![
                "get", "instance", "--tenant", "t1", "--saga", "order", "--key", "nope",
            ],
            "no instance 'nope'",
        ),
        (
            vec![
                "get",
                "instances",
                "--tenant",
                "t1",
                "--saga",
                "nosaga",
                "--shard",
                "shard-a",
            ],
            "nothing for saga 'nosaga'",
        ),
        (
            vec![
                "get",
                "instances",
                "--tenant",
                "t9",
                "--saga",
                "order",
                "--shard",
                "shard-a",
            ],
            "nothing for tenant 't9'",
        ),
    ] {
        let (code, _, err) = runnerctl_out(&nats, &args, &tok)?;
        ensure!(code == 5 && err.contains(what), "{args:?}: {code} {err}");
    }
    let (code, _, err) = runnerctl_out(
        &nats,
        &["get", "instances", "--tenant", "t1", "--saga", "order"],
        &[],
    )?;
    ensure!(
        code == 4 && err.contains("RUNNERCTL_TOKEN"),
        "without the token: {code} {err}"
    );
    Ok(())
}

fn runnerctl_ok_env(nats: &NatsServer, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let (code, out, err) = runnerctl_out(nats, args, env)?;
    ensure!(code == 0, "runnerctl {args:?}: exit {code}: {err}");
    Ok(out)
}

fn check_json(nats: &NatsServer, extra: &[&str]) -> Result<(i32, serde_json::Value)> {
    let mut args = vec![
        "check",
        "-o",
        "json",
        "--heartbeat-warn",
        "60s",
        "--heartbeat-crit",
        "120s",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = runnerctl_out(nats, &args, &[])?;
    let v: serde_json::Value =
        serde_json::from_str(&out).with_context(|| format!("check output: {out} {err}"))?;
    ensure!(
        v["code"] == code,
        "the JSON's code is the exit code: {code} {out}"
    );
    Ok((code, v))
}

fn check_status(v: &serde_json::Value, name: &str) -> String {
    v["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["check"] == name))
        .map(|c| c["status"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| "absent".into())
}

/// `runnerctl check` answers as a monitoring plugin: OK on a healthy fleet, WARNING on a
/// dead letter or a mismatched placement, CRITICAL on lag past the threshold or a missing
/// shard, UNKNOWN when NATS cannot be reached; exit code and JSON agree.
#[tokio::test(flavor = "multi_thread")]
async fn runnerctl_check_speaks_the_monitoring_plugin_convention() -> Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let js = jetstream(&nats).await?;
    ensure_event_stream(&js).await?;
    let a = Runner::start(RunnerSpec::placed(&nats, &tmp.path().join("a"), "shard-a")).await?;
    let b = Runner::start(RunnerSpec::placed(&nats, &tmp.path().join("b"), "shard-b")).await?;
    runnerctl_ok(&nats, &["place", "t1", "shard-a"])?;
    runnerctl_ok(&nats, &["place", "k1", "shard-b"])?;
    a.wait_serving(&["t1"], Duration::from_secs(30)).await?;
    b.wait_serving(&["k1"], Duration::from_secs(30)).await?;
    let deposit = |t: &str, i: u32| {
        (
            format!("evt.{t}.account"),
            event(
                &format!("{t}-{i}"),
                "Deposited",
                "a",
                serde_json::json!({"amount": 1}),
            ),
        )
    };
    publish_all(&js, &(0..5).map(|i| deposit("t1", i)).collect::<Vec<_>>()).await?;
    a.wait_caught_up(Duration::from_secs(30)).await?;

    let (code, v) = check_json(&nats, &[])?;
    ensure!(code == 0 && v["status"] == "ok", "healthy fleet: {v}");
    let (code, text, _) = runnerctl_out(
        &nats,
        &[
            "check",
            "--heartbeat-warn",
            "60s",
            "--heartbeat-crit",
            "120s",
        ],
        &[],
    )?;
    ensure!(
        code == 0
            && text.starts_with("RUNNER OK - 2 shards healthy | ")
            && text.contains("lag=0;1000;100000"),
        "{text}"
    );

    // A dead letter warns, unless the thresholds allow it.
    publish_all(
        &js,
        &[(
            "evt.t1.account".to_string(),
            bytes::Bytes::from_static(b"{not json"),
        )],
    )
    .await?;
    eventually(
        Duration::from_secs(30),
        "the dead letter counted",
        || async {
            let (code, v) = check_json(&nats, &[]).ok()?;
            (code == 1 && check_status(&v, "dead_letters") == "warning").then_some(())
        },
    )
    .await?;
    let (code, v) = check_json(&nats, &["--dlq-warn", "5", "--dlq-crit", "10"])?;
    ensure!(code == 0, "within the dead-letter thresholds: {v}");

    // A shard that must be there and is not: critical.
    let (code, v) = check_json(
        &nats,
        &["--dlq-warn", "5", "--expect-shards", "shard-a,shard-z"],
    )?;
    ensure!(
        code == 2
            && check_status(&v, "shards") == "critical"
            && v["summary"]
                .as_str()
                .unwrap_or_default()
                .contains("shard-z"),
        "missing shard: {v}"
    );

    // Lag past the critical threshold (shard-a drained while events arrive).
    runnerctl_ok(&nats, &["drain", "shard-a"])?;
    publish_all(&js, &(5..25).map(|i| deposit("t1", i)).collect::<Vec<_>>()).await?;
    let (code, v) = check_json(
        &nats,
        &["--dlq-warn", "5", "--lag-warn", "2", "--lag-crit", "10"],
    )?;
    ensure!(
        code == 2
            && check_status(&v, "lag") == "critical"
            && check_status(&v, "shards") == "warning",
        "lagging, drained shard: {v}"
    );
    runnerctl_ok(&nats, &["resume", "shard-a"])?;
    a.wait_caught_up(Duration::from_secs(30)).await?;

    // A placement no shard serves: a mismatch warns.
    runnerctl_ok(&nats, &["place", "t9", "shard-gone", "--force"])?;
    let (code, v) = check_json(&nats, &["--dlq-warn", "5"])?;
    ensure!(
        code == 1 && check_status(&v, "mismatched") == "warning",
        "mismatch: {v}"
    );

    // NATS unreachable: unknown.
    let (code, out, _) = runnerctl_out(&nats, &["check", "--nats-url", "nats://127.0.0.1:1"], &[])?;
    ensure!(
        code == 3 && out.starts_with("RUNNER UNKNOWN - "),
        "{code} {out}"
    );
    Ok(())
}

fn ctl(config: &std::path::Path, args: &[&str]) -> Result<(i32, String, String)> {
    let out = std::process::Command::new(bin("runnerctl"))
        .env_clear()
        .env("RUNNERCTL_CONFIG", config)
        .env("NO_COLOR", "1")
        .args(args)
        .output()?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    ))
}

/// `config contexts` lists the file's contexts with the current one; `config use-context`
/// switches it, keeping the file's comments, refuses a context the file lacks, and repairs
/// a file whose current context is gone (every other command refuses that file).
#[test]
fn config_contexts_are_listed_and_switched_keeping_the_file() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cfg = tmp.path().join("config.toml");
    std::fs::write(
        &cfg,
        "# fleet settings, kept by hand\ncurrent_context = \"dev\"\n\n[contexts.dev]\nnats_url = \"nats://127.0.0.1:4222\" # local\n\n[contexts.prod]\nnats_url = \"tls://nats.prod:4222\"\n",
    )?;
    let (code, out, err) = ctl(&cfg, &["config", "contexts", "-o", "json"])?;
    ensure!(code == 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out)?;
    ensure!(
        v == serde_json::json!([
            {"name": "dev", "current": true, "nats_url": "nats://127.0.0.1:4222"},
            {"name": "prod", "current": false, "nats_url": "tls://nats.prod:4222"}
        ]),
        "{out}"
    );
    let (code, _, err) = ctl(&cfg, &["config", "use-context", "prod"])?;
    ensure!(code == 0, "{err}");
    let text = std::fs::read_to_string(&cfg)?;
    ensure!(
        text.contains("current_context = \"prod\"")
            && text.contains("# fleet settings, kept by hand")
            && text.contains("# local"),
        "{text}"
    );
    let (code, out, _) = ctl(&cfg, &["config", "show", "-o", "json"])?;
    ensure!(code == 0 && out.contains("tls://nats.prod:4222"), "{out}");

    let (code, _, err) = ctl(&cfg, &["config", "use-context", "staging"])?;
    ensure!(code == 5 && err.contains("dev, prod"), "{code} {err}");

    std::fs::write(&cfg, text.replace("\"prod\"\n\n", "\"gone\"\n\n"))?;
    let (code, _, err) = ctl(&cfg, &["config", "show"])?;
    ensure!(
        code == 2 && err.contains("no context 'gone'"),
        "{code} {err}"
    );
    let (code, _, err) = ctl(&cfg, &["config", "use-context", "dev"])?;
    ensure!(code == 0, "repairing: {err}");
    let (code, _, err) = ctl(&cfg, &["config", "show"])?;
    ensure!(code == 0, "{err}");
    Ok(())
}
