//! The command line: global flags and one subcommand per operator task.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

use crate::output::Format;

const ABOUT: &str = "Operate saga runners: see a runner's status and run a local stack.";

const AFTER: &str = "\
Examples:
  runnerctl dev                                   # local NATS + runner + sample events, live status
  runnerctl status --url http://127.0.0.1:7070    # one runner's status as a table
  runnerctl status --url http://127.0.0.1:7070 -o json | jq .totals

Exit codes: 0 ok, 1 failure, 2 usage, 3 runner or NATS unreachable, 4 runner answered an error.
See docs/cli.md.";

#[derive(Debug, Parser)]
#[command(name = "runnerctl", version, about = ABOUT, after_help = AFTER)]
pub struct Cli {
    /// Output format: table for people, json for scripts.
    #[arg(
        long,
        short = 'o',
        global = true,
        value_enum,
        default_value_t,
        env = "RUNNERCTL_OUTPUT"
    )]
    pub output: Format,
    /// Bearer token for runners started with RUNNER_ADMIN_TOKEN.
    #[arg(long, global = true, env = "RUNNERCTL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a runner's status: state, tenants, checkpoints and lag, counters, problems.
    #[command(after_help = "\
Examples:
  runnerctl status --url http://127.0.0.1:7070
  runnerctl status --url http://127.0.0.1:7070 --watch 2s
  runnerctl status --url http://10.0.0.5:7070 --token \"$TOKEN\" -o json")]
    Status(StatusArgs),
    /// Start a local stack (nats-server with JetStream, a runner on a temporary volume, a
    /// generator of sample events) and watch it; Ctrl-C stops and removes it.
    #[command(after_help = "\
Examples:
  runnerctl dev
  runnerctl dev --tenants acme,globex --rate 200
  runnerctl dev --keep          # keep the volume and NATS store after Ctrl-C")]
    Dev(DevArgs),
    /// Print a shell completion script (bash, zsh, fish). The generated files are also in
    /// completions/.
    #[command(after_help = "\
Examples:
  runnerctl completions bash > ~/.local/share/bash-completion/completions/runnerctl
  runnerctl completions fish > ~/.config/fish/completions/runnerctl.fish")]
    Completions {
        /// Shell to generate for.
        shell: Shell,
    },
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The runner's admin URL (its RUNNER_ADMIN_ADDR), e.g. http://127.0.0.1:7070.
    #[arg(long, env = "RUNNERCTL_URL")]
    pub url: String,
    /// Refresh every INTERVAL (e.g. 2s) until Ctrl-C.
    #[arg(long, value_name = "INTERVAL", value_parser = humantime::parse_duration)]
    pub watch: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Tenants the runner serves and the generator writes to.
    #[arg(long, value_delimiter = ',', default_value = "acme,globex,initech")]
    pub tenants: Vec<String>,
    /// Sample events per second, over all tenants.
    #[arg(long, default_value_t = 50)]
    pub rate: u32,
    /// Keep the runner's volume and the NATS store after stopping (their paths are printed).
    #[arg(long)]
    pub keep: bool,
    /// Print where everything is and progress lines instead of the live status view.
    #[arg(long)]
    pub no_view: bool,
    /// Admin address of the runner.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub admin_addr: std::net::SocketAddr,
    /// The runner binary (default: the one next to runnerctl, else on PATH).
    #[arg(long, env = "RUNNERCTL_RUNNER_BIN")]
    pub runner_bin: Option<PathBuf>,
    /// Saga file (default: the example sagas shipped with runnerctl).
    #[arg(long)]
    pub sagas: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_has_an_example_in_its_help() {
        let cmd = Cli::command();
        for sub in cmd.get_subcommands() {
            let help = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(
                help.contains("Examples:"),
                "`runnerctl {}` has no example",
                sub.get_name()
            );
        }
    }

    #[test]
    fn global_flags_work_before_and_after_the_subcommand() {
        let a = Cli::try_parse_from(["runnerctl", "-o", "json", "status", "--url", "http://x"])
            .unwrap();
        let b = Cli::try_parse_from([
            "runnerctl",
            "status",
            "--url",
            "http://x",
            "--output",
            "json",
        ])
        .unwrap();
        assert_eq!(a.output, Format::Json);
        assert_eq!(b.output, Format::Json);
    }
}
