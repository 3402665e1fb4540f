//! The `runner` binary: parse and validate the configuration, set up logging, run.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use runner::config::{Args, Config, LogFormat};
use runner::saga::SagaRegistry;
use tracing_subscriber::EnvFilter;

/// mimalloc rather than glibc's malloc: the relay, the NATS client and the engine allocate
/// and free small buffers on several threads, and glibc's arenas spent 16% of the machine's
/// CPU in the commands workload (`docs/performance.md`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_logging(format: LogFormat) {
    // MDBX's own notices and the NATS client's reconnect chatter are for debugging only.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,libmdbx=warn,async_nats=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        // Colour only for a person at a terminal: journald, log files and pipes get plain
        // text (no escape sequences), and NO_COLOR turns it off everywhere.
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "panic");
    }));
}

/// `runner check --sagas FILE`: validates a saga file without starting anything, so a bad
/// file is caught before it is deployed (at start-up it would be exit 2 and a restart loop).
#[derive(Debug, Parser)]
#[command(
    name = "runner check",
    about = "Validate a saga file offline: exit 0 if the runner would load it, 1 with the located error if not",
    after_help = "Example:\n  runner check --sagas docs/examples/sagas.toml"
)]
struct CheckArgs {
    /// The saga file (TOML) to validate.
    #[arg(long, env = "RUNNER_SAGAS")]
    sagas: PathBuf,
}

fn check(args: CheckArgs) -> ExitCode {
    match SagaRegistry::from_file(&args.sagas) {
        Ok(reg) => {
            let names: Vec<String> = reg.names().map(|n| n.to_string()).collect();
            println!(
                "{}: ok, {} saga{}: {}",
                args.sagas.display(),
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    // `runner check ...` is the one subcommand; everything else is the daemon's flags (kept
    // flat, so `runner --data-dir ...` and env-only containers work as before).
    if std::env::args_os().nth(1).is_some_and(|a| a == "check") {
        return check(CheckArgs::parse_from(std::env::args_os().skip(1)));
    }
    let args = Args::parse();
    init_logging(args.log_format);
    let cfg = match Config::from_args(args) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(runner::run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}
