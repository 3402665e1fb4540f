//! The `runner` binary: parse and validate the configuration, set up logging, run.

use std::process::ExitCode;

use clap::Parser;
use runner::config::{Args, Config, LogFormat};
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
        LogFormat::Human => builder
            .with_ansi(std::env::var_os("NO_COLOR").is_none())
            .init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "panic");
    }));
}

fn main() -> ExitCode {
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
