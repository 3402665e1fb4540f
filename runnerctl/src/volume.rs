//! Opening a shard's volume read-only, for `runnerctl inspect` and the offline dashboard,
//! and what a storage error means for the command line.

use std::path::Path;

use shared::edge_storage::{StorageError, Volume};

use crate::exit::{CliError, Kind};

/// Opens a volume read-only; a live one only with `allow_live` (and says so).
pub fn open(path: &Path, allow_live: bool) -> Result<Volume, CliError> {
    match Volume::open_read_only(path, allow_live) {
        Ok((v, holder)) => {
            if let Some(h) = holder {
                eprintln!(
                    "note: {} is in use by {h}; reading a consistent snapshot of it (--allow-live)",
                    path.display()
                );
            }
            Ok(v)
        }
        Err(e) => Err(storage_error(e)),
    }
}

impl From<StorageError> for CliError {
    fn from(e: StorageError) -> Self {
        storage_error(e)
    }
}

/// A storage error as the CLI reports it: its kind (a volume that cannot be read is exit 9)
/// and its message, with a hint for a volume a live runner holds.
pub fn storage_error(e: StorageError) -> CliError {
    let kind = match &e {
        StorageError::NotFound(_) => Kind::NotFound,
        StorageError::Held { .. } => Kind::Refused,
        StorageError::NotAVolume { .. }
        | StorageError::NewerFormat { .. }
        | StorageError::OlderFormat { .. }
        | StorageError::Corrupt(_)
        | StorageError::Mdbx { .. }
        | StorageError::Io { .. } => Kind::Unreadable,
        _ => Kind::Failure,
    };
    let mut msg = e.to_string();
    if let StorageError::Held { .. } = e {
        msg.push_str(" (--allow-live reads a consistent snapshot of a live volume)");
    }
    CliError::new(kind, msg)
}
