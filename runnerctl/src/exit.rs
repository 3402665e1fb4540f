//! Exit codes, in one place (documented in docs/cli.md), and the errors that map to them.

use std::process::ExitCode;

/// Success.
pub const OK: u8 = 0;
/// Something failed that has no more specific code.
pub const FAILURE: u8 = 1;
/// Bad usage: unknown flag, missing argument, invalid value (also clap's code).
pub const USAGE: u8 = 2;
/// Could not reach the runner or NATS (connection refused, timeout, DNS).
pub const UNREACHABLE: u8 = 3;
/// The runner answered with an error (4xx/5xx), e.g. a missing or wrong token.
pub const REJECTED: u8 = 4;
/// Something named does not exist: a bucket, a shard, a tenant's placement.
pub const NOT_FOUND: u8 = 5;
/// A concurrent change won: compare-and-swap conflict, or `--expect` did not match.
pub const CONFLICT: u8 = 6;
/// Refused for safety (an unregistered or draining shard, state on another live shard);
/// `--force` overrides.
pub const REFUSED: u8 = 7;

/// Waited as long as asked (`--timeout`) and the operation has not finished; it goes on.
pub const TIMEOUT: u8 = 8;

/// The volume cannot be read: not a volume, corrupt or truncated, a newer format, no
/// permission.
pub const UNREADABLE: u8 = 9;
/// `inspect diff` found differences (like diff(1)).
pub const DIFFERENT: u8 = 1;

/// An error with the exit code it ends the process with.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }
}

/// The exit code for an error chain: the first [`CliError`] in it, else [`FAILURE`].
pub fn code_of(e: &anyhow::Error) -> ExitCode {
    let code = e
        .chain()
        .find_map(|c| c.downcast_ref::<CliError>())
        .map(|c| c.code)
        .unwrap_or(FAILURE);
    ExitCode::from(code)
}
