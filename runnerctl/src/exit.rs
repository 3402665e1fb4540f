//! The CLI's errors and their exit codes, in one place (documented in docs/cli.md): every
//! failure is a [`CliError`] of some [`Kind`], and [`Kind::code`] is the one `match` that
//! turns a kind into the process's exit code.

use std::process::ExitCode;

/// What kind of failure ended the command; each has its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Something failed that has no more specific kind.
    Failure,
    /// Bad usage: unknown flag, missing argument, invalid value (also clap's code).
    Usage,
    /// Could not reach the runner or NATS (connection refused, timeout, DNS).
    Unreachable,
    /// The runner answered with an error (4xx/5xx other than 404 and 409), e.g. a missing
    /// or wrong token.
    Rejected,
    /// Something named does not exist: a bucket, a shard, a tenant's placement; a runner's
    /// 404.
    NotFound,
    /// A concurrent change won: compare-and-swap conflict, `--expect` did not match; a
    /// runner's 409.
    Conflict,
    /// Refused for safety (an unregistered or draining shard, state on another live shard);
    /// `--force` overrides.
    Refused,
    /// Waited as long as asked (`--timeout`) and the operation has not finished; it goes on.
    Timeout,
    /// The volume cannot be read: not a volume, corrupt or truncated, a newer format, no
    /// permission.
    Unreadable,
    /// `inspect diff` found differences (like diff(1)).
    Different,
}

impl Kind {
    /// The exit code of this kind of failure.
    pub fn code(self) -> u8 {
        match self {
            Kind::Failure | Kind::Different => 1,
            Kind::Usage => 2,
            Kind::Unreachable => 3,
            Kind::Rejected => 4,
            Kind::NotFound => 5,
            Kind::Conflict => 6,
            Kind::Refused => 7,
            Kind::Timeout => 8,
            Kind::Unreadable => 9,
        }
    }
}

/// An error with the kind (and so the exit code) it ends the process with.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    pub kind: Kind,
    pub message: String,
}

impl CliError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        CliError {
            kind,
            message: message.into(),
        }
    }

    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(Kind::Failure, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, message)
    }

    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(Kind::Refused, message)
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(Kind::Timeout, message)
    }

    /// The process's exit code for this error.
    pub fn code(&self) -> u8 {
        self.kind.code()
    }
}

/// The exit code for an error chain: that of the first [`CliError`] in it, else that of
/// [`Kind::Failure`].
pub fn code_of(e: &anyhow::Error) -> ExitCode {
    let kind = e
        .chain()
        .find_map(|c| c.downcast_ref::<CliError>())
        .map(|c| c.kind)
        .unwrap_or(Kind::Failure);
    ExitCode::from(kind.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes documented in docs/cli.md.
    #[test]
    fn kinds_have_their_documented_codes() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli.md"))
            .unwrap();
        for kind in [
            Kind::Failure,
            Kind::Usage,
            Kind::Unreachable,
            Kind::Rejected,
            Kind::NotFound,
            Kind::Conflict,
            Kind::Refused,
            Kind::Timeout,
            Kind::Unreadable,
            Kind::Different,
        ] {
            assert!(
                doc.contains(&format!("\n| {} | ", kind.code())),
                "{kind:?}: code {} is not in the table of docs/cli.md",
                kind.code()
            );
        }
        assert_eq!(Kind::Different.code(), 1);
        assert_eq!(Kind::Unreadable.code(), 9);
    }

    #[test]
    fn the_first_cli_error_of_a_chain_decides() {
        let e = anyhow::Error::new(CliError::new(Kind::Conflict, "x")).context("y");
        assert_eq!(code_of(&e), ExitCode::from(6));
        assert_eq!(code_of(&anyhow::anyhow!("z")), ExitCode::from(1));
    }
}
