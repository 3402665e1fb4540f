//! One module per subcommand.

mod check;
mod completions;
pub(crate) mod cordon;
mod dev;
mod dlq;
mod drain;
mod get;
mod history;
mod inspect;
mod migrate;
mod moves;
mod place;
mod placements;
mod rebalance;
mod release;
mod replay;
mod setup;
mod shards;
pub(crate) mod snapshots;
mod status;
mod target;
mod watch;

use crate::cli::{Cli, Command};
use crate::config::{Loaded, Source};

/// Commands that make a screen, a stack or files, not a document: `--output json` on their
/// command line is refused (from env or a context it is ignored, so a scripting default does
/// not stop an operator from opening the dashboard).
fn screen_only(cmd: &Command) -> Option<&'static str> {
    match cmd {
        Command::Tui(_) => {
            Some("tui is a screen; for JSON use shards, placements, status or inspect")
        }
        Command::Dev(_) => {
            Some("dev runs a stack; for JSON ask it with shards, placements or status")
        }
        Command::Completions { .. } => Some("completions prints a shell script"),
        Command::Man { .. } => Some("man writes man pages"),
        _ => None,
    }
}

pub async fn run(cli: Cli, loaded: Loaded) -> anyhow::Result<()> {
    if cli.output == crate::output::Format::Json
        && loaded.sources.get("output") == Some(&Source::Flag)
        && let Some(why) = screen_only(&cli.command)
    {
        return Err(crate::exit::CliError::usage(format!("--output json: {why}")).into());
    }
    match cli.command {
        Command::Status(a) => status::run(a, &cli.nats, cli.output, cli.token).await,
        Command::Place(a) => place::place(a, &cli.nats, cli.token, cli.output).await,
        Command::Unplace(a) => place::unplace(a, &cli.nats, cli.output).await,
        Command::Release(a) => release::run(a, &cli.nats, cli.output).await,
        Command::Placements => placements::run(&cli.nats, cli.output).await,
        Command::Watch => watch::run(&cli.nats, cli.output).await,
        Command::History { tenant } => history::run(&tenant, &cli.nats, cli.output).await,
        Command::Shards => shards::run(&cli.nats, cli.output).await,
        Command::Check(a) => check::run(a, &cli.nats, cli.token, cli.output).await,
        Command::Get(c) => get::run(c, &cli.nats, cli.token, cli.output).await,
        Command::Cordon(a) => cordon::cordon(a, &cli.nats, cli.output).await,
        Command::Snapshot(a) => snapshots::take(a, &cli.nats, cli.token, cli.output).await,
        Command::Snapshots(a) => snapshots::list(a, &cli.nats, cli.output).await,
        Command::Restore(a) => snapshots::restore(a, &cli.nats, cli.output).await,
        Command::Uncordon(a) => cordon::uncordon(a, &cli.nats, cli.output).await,
        Command::Drain(a) => drain::drain(a, &cli.nats, cli.token, cli.output).await,
        Command::Resume(a) => drain::resume(a, &cli.nats, cli.token, cli.output).await,
        Command::Replay(a) => replay::run(a, &cli.nats, cli.token, cli.output).await,
        Command::Dlq(a) => dlq::run(a, &cli.nats, cli.output).await,
        Command::Inspect(a) => inspect::run(a, cli.output),
        Command::Tui(a) => crate::tui::run(a, &cli.nats, cli.token).await,
        Command::Move(a) => moves::run(a, &cli.nats, cli.token, cli.output).await,
        Command::Rebalance(a) => rebalance::run(a, &cli.nats, cli.token, cli.output).await,
        Command::Migrate(a) => migrate::run(a, &cli.nats, cli.token, cli.output).await,
        Command::Setup(a) => setup::run(a, &cli.nats, cli.output).await,
        Command::Dev(a) => dev::run(a).await,
        Command::Config {
            what: crate::cli::ConfigCmd::Show,
        } => crate::config::show(&cli, &loaded),
        Command::Config {
            what: crate::cli::ConfigCmd::Contexts,
        } => crate::config::contexts(cli.output),
        Command::Config {
            what: crate::cli::ConfigCmd::UseContext { name },
        } => crate::config::use_context(&name, cli.output),
        Command::Completions { shell } => completions::run(shell),
        Command::Man { out_dir } => {
            completions::write_man(&out_dir)?;
            eprintln!("wrote the man pages into {}", out_dir.display());
            Ok(())
        }
    }
}
