//! The volume's liveness lock: `runner.lock` in the data dir, held with `flock(LOCK_EX)` by
//! the runner that writes the volume, and holding its pid, shard and host as JSON.
//!
//! MDBX's own `mdbx.lck` stays on disk after exit and after a crash, so its presence says
//! nothing; an flock dies with its process, so a held lock means a live holder.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StorageError;

/// File name of the lock, inside the data dir.
pub const LOCK_FILE: &str = "runner.lock";

/// Who holds a volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub shard_id: String,
    pub host: String,
    pub started_at_ms: u64,
    #[serde(default)]
    pub admin_url: Option<String>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "runner pid {} (shard {}) on host {}",
            self.pid, self.shard_id, self.host
        )?;
        if let Some(url) = &self.admin_url {
            write!(f, ", admin {url}")?;
        }
        Ok(())
    }
}

/// The exclusive lock, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct ExclusiveLock {
    _file: File,
}

fn lock_path(dir: &Path) -> PathBuf {
    dir.join(LOCK_FILE)
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut s = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut s).ok()?;
    serde_json::from_str(&s).ok()
}

/// Takes the exclusive lock of the volume in `dir` and records `holder` in it.
pub fn acquire(dir: &Path, holder: &Holder) -> Result<ExclusiveLock, StorageError> {
    let path = lock_path(dir);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StorageError::io(&path, "cannot open the lock file", e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(StorageError::Held {
                path: dir.to_path_buf(),
                holder: read_holder(&mut file),
            });
        }
        Err(TryLockError::Error(e)) => {
            return Err(StorageError::io(&path, "cannot lock the lock file", e));
        }
    }
    let json = serde_json::to_vec(holder).expect("holder serialises");
    file.set_len(0)
        .and_then(|_| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(&json))
        .and_then(|_| file.sync_all())
        .map_err(|e| StorageError::io(&path, "cannot write the lock file", e))?;
    Ok(ExclusiveLock { _file: file })
}

/// Says whether a live runner holds the volume in `dir`, without taking or changing
/// anything: a shared lock is tried and released at once, and the file is only read.
pub fn probe(dir: &Path) -> Result<Option<Holder>, StorageError> {
    let path = lock_path(dir);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io(&path, "cannot open the lock file", e)),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(None),
        Err(TryLockError::WouldBlock) => Ok(Some(read_holder(&mut file).unwrap_or(Holder {
            pid: 0,
            shard_id: "?".into(),
            host: "?".into(),
            started_at_ms: 0,
            admin_url: None,
        }))),
        Err(TryLockError::Error(e)) => Err(StorageError::io(&path, "cannot lock the lock file", e)),
    }
}
