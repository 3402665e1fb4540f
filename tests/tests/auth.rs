//! NATS authentication: the runner and `runnerctl` against a nats-server (with JetStream)
//! that requires a user and password, a token, an nkey, a creds file (operator mode), or TLS
//! with a private CA. With the right credentials the runner becomes ready and applies an
//! event and `runnerctl` reads the shard registry; with none or wrong ones the runner stays
//! unready and says why, and `runnerctl` exits 3 (NATS unreachable) saying why. The secret
//! is never printed.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use e2e::*;
use serde_json::json;
use shared::edge_storage::{Holder, LOCK_FILE};

const WAIT: Duration = Duration::from_secs(20);

/// One way of authenticating, as the runner's env, `runnerctl`'s flags and a test client.
#[derive(Clone, Default)]
struct Creds {
    user: Option<(String, String)>,
    token: Option<String>,
    nkey: Option<PathBuf>,
    tls_ca: Option<PathBuf>,
    creds: Option<PathBuf>,
}

impl Creds {
    fn runner_env(&self) -> Vec<(&'static str, String)> {
        let mut env = Vec::new();
        if let Some((u, p)) = &self.user {
            env.push(("RUNNER_NATS_USER", u.clone()));
            env.push(("RUNNER_NATS_PASSWORD", p.clone()));
        }
        if let Some(t) = &self.token {
            env.push(("RUNNER_NATS_TOKEN", t.clone()));
        }
        if let Some(p) = &self.nkey {
            env.push(("RUNNER_NATS_NKEY", p.display().to_string()));
        }
        if let Some(p) = &self.tls_ca {
            env.push(("RUNNER_NATS_TLS_CA", p.display().to_string()));
        }
        if let Some(p) = &self.creds {
            env.push(("RUNNER_NATS_CREDS", p.display().to_string()));
        }
        env
    }

    fn ctl_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if let Some((u, p)) = &self.user {
            flags.extend(["--nats-user".into(), u.clone()]);
            flags.extend(["--nats-password".into(), p.clone()]);
        }
        if let Some(t) = &self.token {
            flags.extend(["--nats-token".into(), t.clone()]);
        }
        if let Some(p) = &self.nkey {
            flags.extend(["--nats-nkey".into(), p.display().to_string()]);
        }
        if let Some(p) = &self.tls_ca {
            flags.extend(["--nats-tls-ca".into(), p.display().to_string()]);
        }
        if let Some(p) = &self.creds {
            flags.extend(["--nats-creds".into(), p.display().to_string()]);
        }
        flags
    }

    async fn jetstream(&self, nats: &NatsServer) -> Result<async_nats::jetstream::Context> {
        let mut opts = match &self.creds {
            Some(p) => async_nats::ConnectOptions::with_credentials_file(p.clone()).await?,
            None => async_nats::ConnectOptions::new(),
        };
        if let Some((u, p)) = &self.user {
            opts = opts.user_and_password(u.clone(), p.clone());
        }
        if let Some(t) = &self.token {
            opts = opts.token(t.clone());
        }
        if let Some(p) = &self.nkey {
            opts = opts.nkey(std::fs::read_to_string(p)?.trim().to_string());
        }
        if let Some(p) = &self.tls_ca {
            opts = opts.add_root_certificates(p.clone()).require_tls(true);
        }
        let client = opts.connect(nats.url()).await?;
        Ok(async_nats::jetstream::new(client))
    }
}

/// A wrong way in: its credentials, the secrets that must not be printed, and what the
/// runner's and `runnerctl`'s messages must say.
struct Bad {
    what: &'static str,
    creds: Creds,
    says: &'static str,
    /// What `runnerctl` advises.
    hint: &'static str,
}

/// A nats-server with JetStream and `conf` (its auth or TLS block).
fn server(dir: &Path, conf: &str) -> Result<NatsServer> {
    let file = dir.join("nats.conf");
    std::fs::write(&file, conf)?;
    NatsServer::start_with(ServerOptions {
        config_file: Some(file),
        ..Default::default()
    })
    .map_err(anyhow::Error::msg)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_hidden(what: &str, printed: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !printed.contains(s),
            "{what} printed the secret {s:?}:\n{printed}"
        );
    }
}

/// The runner and `runnerctl` work with `good`, and fail clearly with each of `bad`, never
/// printing any of `secrets`.
async fn exercise(
    nats: &NatsServer,
    dir: &Path,
    good: &Creds,
    bad: &[Bad],
    secrets: &[&str],
) -> Result<()> {
    // The runner, with the right credentials: ready, and it applies a published event.
    let mut spec = RunnerSpec::new(nats, &dir.join("vol-a"), &["t1"]);
    for (k, v) in good.runner_env() {
        spec = spec.env(k, &v);
    }
    let runner = Runner::start(spec).await?;
    let js = good.jetstream(nats).await?;
    ensure_event_stream(&js).await?;
    publish_all(
        &js,
        &[(
            "evt.t1.order".into(),
            event(
                "e1",
                "OrderPlaced",
                "o1",
                json!({"amount": 5, "customer": "c"}),
            ),
        )],
    )
    .await?;
    let status = runner.wait_caught_up(WAIT).await?;
    let order = status.tenants[0]
        .sagas
        .iter()
        .find(|s| s.saga == "order")
        .context("the order saga")?;
    assert_eq!(order.counters.applied, 1, "{status:?}");

    // runnerctl, with the right credentials: it reads the registry the runner wrote.
    let out = runnerctl(nats)
        .args(good.ctl_flags())
        .args(["shards", "-o", "json"])
        .output()?;
    assert!(out.status.success(), "runnerctl shards: {}", text(&out));
    let shards: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(shards[0]["shard_id"], "shard-a", "{shards}");
    assert_hidden("runnerctl shards", &text(&out), secrets);

    for b in bad {
        // runnerctl: exit 3, the server's reason, and no secret.
        let out = runnerctl(nats)
            .args(b.creds.ctl_flags())
            .args(["shards"])
            .output()?;
        let printed = text(&out);
        assert_eq!(
            out.status.code(),
            Some(3),
            "runnerctl shards {}: {printed}",
            b.what
        );
        assert!(
            printed.contains("cannot connect to NATS")
                && printed.contains(b.says)
                && printed.contains(b.hint),
            "runnerctl shards {}: expected {:?} and {:?} in:\n{printed}",
            b.what,
            b.says,
            b.hint
        );
        assert_hidden(&format!("runnerctl ({})", b.what), &printed, secrets);

        // The runner: up, not ready, with the reason on /readyz and in its log.
        let why = unready_runner(nats, dir, &b.creds, b.what).await?;
        assert!(
            why.contains(b.says),
            "runner {}: expected {:?} in:\n{why}",
            b.what,
            b.says
        );
        assert_hidden(&format!("runner ({})", b.what), &why, secrets);
    }
    assert_hidden("the runner's log", &runner.log_text(), secrets);
    Ok(())
}

/// Starts a runner with `creds` that NATS refuses; returns its `/readyz` reasons and log
/// once it says it cannot connect (it keeps retrying; it is killed here).
async fn unready_runner(
    nats: &NatsServer,
    dir: &Path,
    creds: &Creds,
    what: &str,
) -> Result<String> {
    let data = dir.join(format!("vol-{}", what.replace(' ', "-")));
    let mut spec = RunnerSpec::new(nats, &data, &["t1"]);
    spec.shard = "shard-b".into();
    for (k, v) in creds.runner_env() {
        spec = spec.env(k, &v);
    }
    let log = data.with_extension("log");
    let mut child = Runner::spawn(&spec, &log)?;
    let pid = child.id();
    let http = e2e::http();
    let result = eventually(WAIT, "the runner to report the NATS failure", || async {
        let url = std::fs::read_to_string(data.join(LOCK_FILE))
            .ok()
            .and_then(|s| serde_json::from_str::<Holder>(&s).ok())
            .filter(|h| h.pid == pid)?
            .admin_url?;
        let r = http.get(format!("{url}/readyz")).send().await.ok()?;
        let code = r.status();
        let body = r.text().await.ok()?;
        body.contains("cannot connect to NATS")
            .then_some((code, body))
    })
    .await;
    let exited = child.try_wait()?;
    let _ = child.kill();
    let _ = child.wait();
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let (code, body) = match result {
        Ok(v) => v,
        Err(e) => bail!("{e} (exited: {exited:?}); log:\n{log_text}"),
    };
    ensure!(
        code == reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "/readyz answered {code}: {body}"
    );
    ensure!(
        log_text.contains("cannot connect to NATS"),
        "the log does not say why:\n{log_text}"
    );
    Ok(format!("{body}\n{log_text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn user_and_password() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let (pass, wrong) = ("pw-Zq81xK-secret", "pw-wrong-Y62m");
    let nats = server(
        tmp.path(),
        &format!(r#"authorization {{ users = [ {{ user: "svc", password: "{pass}" }} ] }}"#),
    )?;
    let good = Creds {
        user: Some(("svc".into(), pass.into())),
        ..Default::default()
    };
    let bad = [
        Bad {
            what: "no credentials",
            creds: Creds::default(),
            says: "authorization violation",
            hint: "NATS refused the credentials",
        },
        Bad {
            what: "wrong password",
            creds: Creds {
                user: Some(("svc".into(), wrong.into())),
                ..Default::default()
            },
            says: "authorization violation",
            hint: "NATS refused the credentials",
        },
    ];
    exercise(&nats, tmp.path(), &good, &bad, &[pass, wrong]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn token() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let (token, wrong) = ("tok-Jd93Lw-secret", "tok-wrong-Q0p7");
    let nats = server(
        tmp.path(),
        &format!(r#"authorization {{ token: "{token}" }}"#),
    )?;
    let good = Creds {
        token: Some(token.into()),
        ..Default::default()
    };
    let bad = [
        Bad {
            what: "no token",
            creds: Creds::default(),
            says: "authorization violation",
            hint: "NATS refused the credentials",
        },
        Bad {
            what: "wrong token",
            creds: Creds {
                token: Some(wrong.into()),
                ..Default::default()
            },
            says: "authorization violation",
            hint: "NATS refused the credentials",
        },
    ];
    exercise(&nats, tmp.path(), &good, &bad, &[token, wrong]).await?;

    // The same token from RUNNERCTL_NATS_TOKEN works too.
    let out = runnerctl(&nats)
        .env("RUNNERCTL_NATS_TOKEN", token)
        .args(["shards"])
        .output()?;
    assert!(out.status.success(), "{}", text(&out));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn nkey() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let user = nkeys::KeyPair::new_user();
    let seed = user.seed()?;
    let seed_file = tmp.path().join("user.nk");
    std::fs::write(&seed_file, format!("{seed}\n"))?;
    let stranger = nkeys::KeyPair::new_user().seed()?;
    let stranger_file = tmp.path().join("stranger.nk");
    std::fs::write(&stranger_file, &stranger)?;
    let nats = server(
        tmp.path(),
        &format!(
            r#"authorization {{ users = [ {{ nkey: "{}" }} ] }}"#,
            user.public_key()
        ),
    )?;
    let good = Creds {
        nkey: Some(seed_file),
        ..Default::default()
    };
    let bad = [
        Bad {
            what: "no nkey",
            creds: Creds::default(),
            says: "authorization violation",
            hint: "NATS refused the credentials",
        },
        Bad {
            what: "unknown nkey",
            creds: Creds {
                nkey: Some(stranger_file),
                ..Default::default()
            },
            says: "authorization violation",
            hint: "NATS refused the credentials",
        },
    ];
    exercise(&nats, tmp.path(), &good, &bad, &[&seed, &stranger]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_a_private_ca() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let (ca, cert, key) = certificates(tmp.path(), "ours")?;
    let (other_ca, _, _) = certificates(tmp.path(), "other")?;
    let nats = server(
        tmp.path(),
        &format!(
            r#"tls {{ cert_file: "{}", key_file: "{}" }}"#,
            cert.display(),
            key.display()
        ),
    )?;
    let good = Creds {
        tls_ca: Some(ca),
        ..Default::default()
    };
    let bad = [
        Bad {
            what: "no CA",
            creds: Creds::default(),
            says: "UnknownIssuer",
            hint: "the TLS handshake failed",
        },
        Bad {
            what: "another CA",
            creds: Creds {
                tls_ca: Some(other_ca),
                ..Default::default()
            },
            says: "UnknownIssuer",
            hint: "the TLS handshake failed",
        },
    ];
    exercise(&nats, tmp.path(), &good, &bad, &[]).await?;

    // A CA file that is not there is a usage error (exit 2), not an unreachable server.
    let out = runnerctl(&nats)
        .args(["--nats-tls-ca", "/nonexistent/ca.pem", "shards"])
        .output()?;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("--nats-tls-ca /nonexistent/ca.pem"),
        "{}",
        text(&out)
    );
    Ok(())
}

/// A JWT of `claims` (`nats` is its NATS part) about `sub`, signed by `signer`.
fn jwt(signer: &nkeys::KeyPair, sub: &str, nats: serde_json::Value) -> Result<String> {
    let b64 = data_encoding::BASE64URL_NOPAD;
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let claims = json!({
        "jti": data_encoding::BASE32_NOPAD.encode(format!("{sub}{iat}").as_bytes()),
        "iat": iat,
        "iss": signer.public_key(),
        "name": sub,
        "sub": sub,
        "nats": nats,
    });
    let signed = format!(
        "{}.{}",
        b64.encode(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#),
        b64.encode(claims.to_string().as_bytes())
    );
    let sig = signer.sign(signed.as_bytes())?;
    Ok(format!("{signed}.{}", b64.encode(&sig)))
}

/// A creds file of a new user of `account` (signed with its key).
fn creds_file(path: &Path, account: &nkeys::KeyPair) -> Result<String> {
    let user = nkeys::KeyPair::new_user();
    let user_jwt = jwt(
        account,
        &user.public_key(),
        json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1, "type": "user", "version": 2}),
    )?;
    let seed = user.seed()?;
    std::fs::write(
        path,
        format!(
            "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
             -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
        ),
    )?;
    Ok(seed)
}

/// Operator mode (decentralised JWT auth): an operator, an account with JetStream, users
/// with creds files (JWT + seed).
#[tokio::test(flavor = "multi_thread")]
async fn creds_file_in_operator_mode() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let operator = nkeys::KeyPair::new_operator();
    let account = nkeys::KeyPair::new_account();
    let operator_jwt = jwt(
        &operator,
        &operator.public_key(),
        json!({"type": "operator", "version": 2}),
    )?;
    let unlimited = json!({
        "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
        "wildcards": true, "conn": -1, "leaf": -1,
        "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1,
    });
    let account_jwt = jwt(
        &operator,
        &account.public_key(),
        json!({"limits": unlimited, "type": "account", "version": 2}),
    )?;
    // JetStream needs a system account.
    let system = nkeys::KeyPair::new_account();
    let system_jwt = jwt(
        &operator,
        &system.public_key(),
        json!({"type": "account", "version": 2}),
    )?;
    let conf = format!(
        "operator: \"{operator_jwt}\"\nsystem_account: {sys}\nresolver: MEMORY\n\
         resolver_preload: {{\n  {sys}: \"{system_jwt}\"\n  {acc}: \"{account_jwt}\"\n}}\n",
        sys = system.public_key(),
        acc = account.public_key(),
    );
    let nats = server(tmp.path(), &conf)?;
    let ours = tmp.path().join("svc.creds");
    let seed = creds_file(&ours, &account)?;
    // A user of an account this server does not know.
    let theirs = tmp.path().join("stranger.creds");
    let stranger = creds_file(&theirs, &nkeys::KeyPair::new_account())?;
    let good = Creds {
        creds: Some(ours),
        ..Default::default()
    };
    let bad = [
        Bad {
            what: "no creds",
            creds: Creds::default(),
            says: "authorization violation",
            hint: "NATS refused the credentials",
        },
        Bad {
            what: "unknown account",
            creds: Creds {
                creds: Some(theirs),
                ..Default::default()
            },
            says: "authorization violation",
            hint: "NATS refused the credentials",
        },
    ];
    exercise(&nats, tmp.path(), &good, &bad, &[&seed, &stranger]).await
}

/// `runnerctl config show` names the NATS password and token as set, never their value.
#[test]
fn config_show_hides_the_nats_password_and_token() -> Result<()> {
    let (pass, token) = ("pw-shown-Kx02", "tok-shown-Vb55");
    for format in ["table", "json"] {
        let out = std::process::Command::new(bin("runnerctl"))
            .env("RUNNERCTL_CONFIG", "/nonexistent/runnerctl.toml")
            .env("NO_COLOR", "1")
            .args(["--nats-user", "svc", "--nats-password", pass])
            .args(["--nats-token", token, "-o", format, "config", "show"])
            .output()?;
        let printed = text(&out);
        assert!(out.status.success(), "{printed}");
        assert!(
            printed.contains("(set, hidden)") && printed.contains("svc"),
            "{printed}"
        );
        assert_hidden("runnerctl config show", &printed, &[pass, token]);
    }
    Ok(())
}
