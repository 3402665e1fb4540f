//! The `runnerctl` binary as a user meets it: help, exit codes, errors.

use std::process::Command;

fn runnerctl() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_runnerctl"));
    c.env_remove("RUNNERCTL_TOKEN")
        .env_remove("RUNNERCTL_URL")
        .env("NO_COLOR", "1");
    c
}

#[test]
fn an_unreachable_runner_exits_3_with_a_hint() {
    let out = runnerctl()
        .args(["status", "--url", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach the runner at http://127.0.0.1:1"),
        "{err}"
    );
    assert!(err.contains("RUNNER_ADMIN_ADDR"), "{err}");
}

#[test]
fn a_malformed_url_is_a_usage_error() {
    let out = runnerctl()
        .args(["status", "--url", "127.0.0.1:7070"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected the runner's admin URL"));
    let out = runnerctl().args(["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "missing --url");
    let out = runnerctl()
        .args(["status", "--url", "http://x", "-o", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "unknown output format");
}

#[test]
fn help_lists_only_working_commands_with_examples() {
    let out = runnerctl().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for c in ["status", "dev", "completions"] {
        assert!(help.contains(c), "{help}");
    }
    assert!(help.contains("Exit codes"), "{help}");
}

#[test]
fn completions_come_from_the_binary_itself() {
    let out = runnerctl().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let file = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../completions/runnerctl.bash"
    ))
    .unwrap();
    assert_eq!(out.stdout, file);
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::io::Read;
    let mut child = runnerctl()
        .args(["completions", "zsh"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status}: {err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn json_is_refused_by_commands_that_make_screens_but_not_from_a_default() {
    let out = runnerctl()
        .env("RUNNERCTL_CONFIG", "/nonexistent/runnerctl.toml")
        .args(["tui", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--output json: tui is a screen"), "{err}");
    // A scripting default in the environment does not get in the way.
    let out = runnerctl()
        .env("RUNNERCTL_CONFIG", "/nonexistent/runnerctl.toml")
        .env("RUNNERCTL_OUTPUT", "json")
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("runnerctl"));
}

#[test]
fn empty_or_invalid_ids_are_usage_errors_before_anything_is_contacted() {
    for (args, needle) in [
        (vec!["place", "acme", ""], "shard id is empty"),
        (vec!["place", "", "shard-a"], "tenant id is empty"),
        (vec!["place", "ac me", "shard-a"], "ac me"),
        (vec!["unplace", ""], "tenant id is empty"),
    ] {
        let out = runnerctl()
            .env("RUNNERCTL_CONFIG", "/nonexistent/runnerctl.toml")
            // Unreachable on purpose: the ids must be refused before any connection.
            .env("NATS_URL", "nats://127.0.0.1:1")
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
