//! The README's and the runbooks' commands, run as written.
//!
//! A new user follows the README: `runnerctl dev` (here `--no-view --keep`, and
//! `--shards 3` for the runbooks, so "add a shard" has its `shard-c`), then, "in another terminal", the commands
//! the docs show. Each `## ` section of a document is followed on a fresh stack, as a user
//! who opens that section would. This test takes them from the files themselves: every line of the README's
//! and getting started's `sh` blocks that starts with `runnerctl` or `target/debug/runnerctl`
//! (or is the `curl` of the quick start), and every inline `` `runnerctl ...` `` of
//! docs/runbooks.md, in document order, and runs each with `sh -c`, with `runnerctl` on
//! PATH. The only substitutions are the ones `runnerctl dev` itself prints: its NATS URL
//! (`export NATS_URL=...` when port 4222 is taken) and admin ports other than 7070/7071.
//! `/var/lib/runner/shard-a`, the docs' stopped volume, is shard-a's volume (or shard-b's when
//! the section's `rebalance --apply` moved acme there) after the stack
//! has been stopped with `--keep`; those commands run last.
//!
//! Each command must exit 0 unless [`EXPECTED`] says otherwise, with the reason the docs
//! give; commands with placeholders (`T`, `S`, `<dir>`), daemons (`runner ...`) and
//! `systemctl` are not commands to run as written and are counted as skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::*;

/// Commands that, run as written at that point of the docs, end with another code.
const EXPECTED: &[(&str, i32, &str)] = &[
    (
        "runnerctl tui --readonly",
        2,
        "the dashboard needs a terminal (tests/tests/tui.rs drives it in tmux)",
    ),
    (
        "runnerctl replay --tenant acme --saga order --mode full_reset",
        7,
        "asks for confirmation; without a terminal it needs --yes (as the runbook says)",
    ),
    (
        "runnerctl move acme --abort",
        5,
        "the move had finished: there is nothing to abort (abort is for an unfinished move)",
    ),
    (
        "runnerctl move acme --to shard-b --from-snapshot",
        7,
        "acme's shard is running: a move from a snapshot is only for a shard that is gone (tests/tests/snapshots.rs loses one)",
    ),
    (
        "runnerctl migrate --partitions 64",
        5,
        "the dev stack is partitioned from the start: there is no single stream to move from (tests/tests/partitioned.rs runs the runbook on one)",
    ),
    (
        "runnerctl migrate --partitions 64 --seal",
        5,
        "as above: no single stream on the dev stack",
    ),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The document's `## ` sections: (heading, text).
fn sections(doc: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![(String::new(), String::new())];
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            out.push((h.to_string(), String::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push_str(line);
            last.1.push('\n');
        }
    }
    out
}

/// Lines of ```sh blocks that are commands for a running stack.
fn block_commands(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut cont = String::new();
    for line in doc.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_sh = !in_sh && t == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        // Join continued lines.
        if let Some(head) = t.strip_suffix('\\') {
            cont.push_str(head);
            cont.push(' ');
            continue;
        }
        let full = format!("{cont}{t}");
        cont.clear();
        let cmd = full.split("  #").next().unwrap_or("").trim().to_string();
        if cmd.starts_with("runnerctl ")
            || cmd.starts_with("target/debug/runnerctl ")
            || cmd.starts_with("curl ")
            || cmd.starts_with("runner ")
            || cmd.starts_with("./scripts/")
        {
            out.push(cmd);
        }
    }
    out
}

/// Inline `runnerctl ...` code spans, in order, with line breaks folded.
fn inline_commands(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find('`') {
        let after = &rest[i + 1..];
        let Some(j) = after.find('`') else { break };
        let span = after[..j].split_whitespace().collect::<Vec<_>>().join(" ");
        if span.starts_with("runnerctl ") {
            out.push(span);
        }
        rest = &after[j + 1..];
    }
    out
}

fn skipped(cmd: &str) -> Option<&'static str> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    if words
        .iter()
        .any(|w| *w == "T" || *w == "S" || w.starts_with('<'))
    {
        Some("placeholder")
    } else if cmd.starts_with("runner ") {
        Some("a daemon, started by the stack here")
    } else if cmd.starts_with("curl ") && !on_path("curl") {
        Some("curl is not installed here")
    } else if cmd.starts_with("./scripts/") {
        Some("the quick start itself (this test runs runnerctl dev)")
    } else {
        None
    }
}

fn on_path(prog: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
}

struct Stack {
    nats_url: String,
    admin_urls: Vec<String>,
    dir: PathBuf,
}

/// What a group of commands did: ran, skipped (with why), failures.
#[derive(Default)]
struct Report {
    ran: usize,
    skips: Vec<String>,
    failures: Vec<String>,
}

/// Runs one section's commands on a fresh `runnerctl dev` stack, as a user following that
/// section would: the live commands, then (after Ctrl-C with `--keep`) those on the
/// stopped volume.
async fn run_section(
    commands: &[(String, String)],
    shards: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut todo = Vec::new();
    for (doc, cmd) in commands {
        match skipped(cmd) {
            Some(why) => report.skips.push(format!("{doc}: `{cmd}` ({why})")),
            None => todo.push((doc.clone(), cmd.clone())),
        }
    }
    if todo.is_empty() {
        return Ok(());
    }
    let nats_bin =
        shared::devtools::nats_server::find_or_install_nats_server().map_err(anyhow::Error::msg)?;
    let log = tempfile::NamedTempFile::new()?;
    let errlog = tempfile::NamedTempFile::new()?;
    let dev = Command::new(bin("runnerctl"))
        .args([
            "dev",
            "--no-view",
            "--keep",
            "--shards",
            shards,
            "--rate",
            "20",
        ])
        .env("NATS_SERVER_BIN", &nats_bin)
        .env("RUNNERCTL_CONFIG", "/nonexistent/runnerctl.toml")
        .env_remove("NATS_URL")
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(log.reopen()?)
        .stderr(errlog.reopen()?)
        .spawn()?;
    // Stopped however the test ends.
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut dev = Reap(dev);
    let stack = eventually(
        Duration::from_secs(60),
        "runnerctl dev to be up",
        || async {
            let out = std::fs::read_to_string(log.path()).ok()?;
            if !out.contains("  stop ") {
                return None;
            }
            let nats_url = out
                .lines()
                .find_map(|l| l.trim().strip_prefix("nats "))?
                .trim()
                .to_string();
            let mut admin_urls = Vec::new();
            let mut dir = None;
            for l in out.lines().filter(|l| l.trim().starts_with("runner ")) {
                let url = l.split("admin ").nth(1)?.split(',').next()?.to_string();
                admin_urls.push(url);
                let logp = PathBuf::from(l.split("log ").nth(1)?.trim());
                dir = logp.parent().map(Path::to_path_buf);
            }
            Some(Stack {
                nats_url,
                admin_urls,
                dir: dir?,
            })
        },
    )
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}\nstdout:\n{}\nstderr:\n{}",
            std::fs::read_to_string(log.path()).unwrap_or_default(),
            std::fs::read_to_string(errlog.path()).unwrap_or_default()
        )
    })?;

    let bin_dir = bin("runnerctl").parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let work = tempfile::tempdir()?;
    let run = |cmd: &str| -> anyhow::Result<(i32, String)> {
        let mut c = cmd.replace("target/debug/runnerctl", "runnerctl");
        if c.contains("/var/lib/runner/shard-a") {
            // The docs' stopped volume of acme: shard-a's, unless a `rebalance --apply` of
            // the same section moved acme (it follows the measured load), as a user would
            // find with `runnerctl placements`.
            let holds_acme = |shard: &str| {
                e2e::read_volume(&stack.dir.join(shard))
                    .map(|v| v.instances.keys().any(|(t, _, _)| t == "acme"))
                    .unwrap_or(false)
            };
            let shard = if holds_acme("shard-a") || !holds_acme("shard-b") {
                "shard-a"
            } else {
                "shard-b"
            };
            c = c.replace(
                "/var/lib/runner/shard-a",
                &stack.dir.join(shard).display().to_string(),
            );
        }
        for (i, url) in stack.admin_urls.iter().enumerate() {
            c = c.replace(&format!("http://127.0.0.1:{}", 7070 + i), url);
        }
        let out = Command::new("sh")
            .args(["-c", &c])
            .env("PATH", &path)
            .env("NATS_URL", &stack.nats_url)
            .env("RUNNERCTL_CONFIG", "/nonexistent/runnerctl.toml")
            .env("NO_COLOR", "1")
            .env_remove("RUNNERCTL_CONTEXT")
            .env_remove("RUNNERCTL_TOKEN")
            .current_dir(work.path())
            .stdin(Stdio::null())
            .output()?;
        Ok((
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ))
    };
    let mut check = |doc: &str, cmd: &str, code: i32, out: &str| {
        report.ran += 1;
        let plain = cmd.replace("target/debug/runnerctl", "runnerctl");
        let want = EXPECTED
            .iter()
            .find(|(c, _, _)| *c == plain)
            .map(|(_, code, _)| *code)
            .unwrap_or(0);
        if code != want {
            report.failures.push(format!(
                "{doc}: `{cmd}` exited {code}, expected {want}:\n{out}"
            ));
        }
    };
    let (stopped, live): (Vec<_>, Vec<_>) = todo
        .into_iter()
        .partition(|(_, c)| c.contains("/var/lib/runner/"));
    for (doc, cmd) in &live {
        let (code, out) = run(cmd)?;
        check(doc, cmd, code, &out);
    }
    // Stop the stack (Ctrl-C), keeping its volumes: the docs' stopped volume.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(dev.0.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )?;
    let st = dev.0.wait()?;
    anyhow::ensure!(st.success(), "runnerctl dev stopped with {st}");
    for (doc, cmd) in &stopped {
        let (code, out) = run(cmd)?;
        check(doc, cmd, code, &out);
    }
    let _ = std::fs::remove_dir_all(&stack.dir);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_docs_commands_work_as_written() -> anyhow::Result<()> {
    let mut groups: Vec<Vec<(String, String)>> = Vec::new();
    for doc in ["README.md", "docs/getting-started.md", "docs/runbooks.md"] {
        let text = std::fs::read_to_string(root().join(doc))?;
        for (_, body) in sections(&text) {
            let mut cmds: Vec<(String, String)> = block_commands(&body)
                .into_iter()
                .map(|c| (doc.to_string(), c))
                .collect();
            if doc.ends_with("runbooks.md") {
                cmds.extend(
                    inline_commands(&body)
                        .into_iter()
                        .map(|c| (doc.to_string(), c)),
                );
            }
            if !cmds.is_empty() {
                groups.push(cmds);
            }
        }
    }
    let total: usize = groups.iter().map(Vec::len).sum();
    assert!(
        total >= 30,
        "too few commands found in the docs ({total}): did the extraction break?"
    );
    let mut report = Report::default();
    for g in &groups {
        // The README's stack is the default one; the runbooks' "add a shard" needs shard-c.
        let shards = if g[0].0.ends_with("runbooks.md") {
            "3"
        } else {
            "2"
        };
        run_section(g, shards, &mut report).await?;
    }
    println!(
        "ran {} commands from the docs in {} sections; skipped {}:",
        report.ran,
        groups.len(),
        report.skips.len()
    );
    for s in &report.skips {
        println!("  {s}");
    }
    assert!(
        report.failures.is_empty(),
        "{}",
        report.failures.join("\n\n")
    );
    assert!(report.ran >= 25, "only {} commands ran", report.ran);
    Ok(())
}
