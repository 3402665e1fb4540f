//! `runnerctl`: the operator tool for saga runners.

mod cli;
mod client;
mod cmd;
mod complete;
mod config;
mod exit;
mod fleet;
mod moves;
mod nats;
mod output;
mod tui;
mod volume;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    // `COMPLETE=<shell> runnerctl ...`: answer the shell's completion request and exit.
    clap_complete::CompleteEnv::with_factory(cli::Cli::command).complete();
    let matches = cli::Cli::command().get_matches();
    let mut cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    // Listing and switching contexts must work when the current one is what is broken.
    let fixing_contexts = matches!(
        &cli.command,
        cli::Command::Config {
            what: cli::ConfigCmd::Contexts | cli::ConfigCmd::UseContext { .. }
        }
    );
    let loaded = match config::apply(&mut cli, &matches) {
        Ok(loaded) => loaded,
        Err(_) if fixing_contexts => config::Loaded::default(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(e.code());
        }
    };
    if let Err(e) = client::init_tls(cli.ca_cert.as_deref()) {
        eprintln!("error: {e}");
        return ExitCode::from(e.code());
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::Kind::Failure.code());
        }
    };
    match rt.block_on(cmd::run(cli, loaded)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            exit::code_of(&e)
        }
    }
}
