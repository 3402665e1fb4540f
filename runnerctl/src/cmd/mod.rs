//! One module per subcommand.

mod completions;
mod dev;
mod status;

use crate::cli::{Cli, Command};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Status(a) => status::run(a, cli.output, cli.token).await,
        Command::Dev(a) => dev::run(a).await,
        Command::Completions { shell } => completions::run(shell),
    }
}
