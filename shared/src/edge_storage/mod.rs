//! `edge_storage`: the runner's MDBX volume, the one definition of its layout.
//!
//! A volume is a directory holding MDBX's `mdbx.dat` and `mdbx.lck` and the runner's
//! `runner.lock`. Its named tables are `sagas`, `dedupe`, `checkpoints`, `outbox`,
//! `schedules`, `cursors`, `stats` and `meta`; `docs/storage.md` describes each. The runner
//! writes through [`Volume::write`]; `runnerctl` reads through [`Volume::open_read_only`],
//! which cannot write by construction (MDBX opened with `MDBX_RDONLY`).

pub mod export;
pub mod keys;
mod lock;
mod migrate;
pub mod query;
pub mod records;
pub mod snapshot;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use foldhash::{HashMap, HashMapExt};
use libmdbx::{
    Database, DatabaseOptions, Mode, NoWriteMap, ReadWriteOptions, SyncMode, Table, TableFlags,
    Transaction, WriteFlags,
};

pub use keys::TableCode;
pub use libmdbx::{RO, RW, TransactionKind};
pub use lock::{Holder, LOCK_FILE};
pub use migrate::Migrated;
pub use query::{Counts, InstanceRow, Paged, StatsMap, TenantSummary, TimerRow};
pub use records::*;
use records::{decode, encode};

/// Version of the layout this code reads and writes. Format 1 volumes are migrated in place
/// when a runner opens them (`migrate.rs`); tools refuse them until then.
pub const FORMAT_VERSION: u32 = 2;

/// Where the runner writes a snapshot's copy before it uploads it, inside the volume
/// directory (same file system; deleted after the upload and at the runner's start).
pub const SNAPSHOT_TMP: &str = "snapshot.tmp";

/// MDBX's data file inside a volume directory.
pub const DATA_FILE: &str = "mdbx.dat";

/// Names of the tables, as other tools see them.
pub mod table {
    pub const SAGAS: &str = "sagas";
    pub const DEDUPE: &str = "dedupe";
    pub const CHECKPOINTS: &str = "checkpoints";
    pub const OUTBOX: &str = "outbox";
    pub const SCHEDULES: &str = "schedules";
    pub const CURSORS: &str = "cursors";
    pub const STATS: &str = "stats";
    pub const META: &str = "meta";
}

/// Keys of the `meta` table.
pub mod meta {
    /// u32 big-endian: the layout version.
    pub const FORMAT_VERSION: &str = "format_version";
    /// UTF-8: the shard this volume belongs to.
    pub const SHARD_ID: &str = "shard_id";
    /// u64 big-endian, ms since the epoch.
    pub const CREATED_AT: &str = "created_at_ms";
    /// u64 big-endian, ms since the epoch: time of the last committed write.
    pub const LAST_WRITE: &str = "last_write_ms";
    /// UTF-8: the event stream whose sequences the checkpoints and cursors refer to.
    pub const STREAM: &str = "stream";
    /// u64 big-endian: every event up to this stream sequence has been handled for every
    /// tenant whose cursor is `Live`.
    pub const READER_POSITION: &str = "reader_position";
    /// u64 big-endian: the next outbox sequence.
    pub const OUTBOX_NEXT: &str = "outbox_next";
    /// UTF-8: a unique id made when the volume was created, so records elsewhere (the shard
    /// lease) can say which volume they were made with.
    pub const VOLUME_ID: &str = "volume_id";
    /// UTF-8: the identity of the event stream the sequences refer to
    /// (`<name>@<created ns>`, see `names::msg_id::stream_identity`): a stream deleted and
    /// created again under the same name has another one.
    pub const STREAM_ID: &str = "stream_id";
    /// Present only while a migration from an older format is under way: how far it got.
    pub const MIGRATION: &str = "migration";
    /// UTF-8: the event layout the positions refer to (`shared::layout::Layout::describe`:
    /// `single` or `partitioned/<G>`); absent in volumes from before layouts (single).
    pub const LAYOUT: &str = "layout";
    /// UTF-8, `<stream identity>@<last sequence>`: the sealed single stream this volume read
    /// to its end before it moved to a partitioned layout (docs/consumption.md).
    pub const MOVED_FROM: &str = "moved_from";

    /// The reader position of a group's stream: [`READER_POSITION`] in the single layout,
    /// `reader_position/<g>` in a partitioned one.
    pub fn reader_position(layout: &crate::layout::Layout, g: crate::layout::Group) -> String {
        if layout.is_partitioned() {
            format!("{READER_POSITION}/{g}")
        } else {
            READER_POSITION.to_string()
        }
    }

    /// The identity of a group's stream: [`STREAM_ID`] in the single layout,
    /// `stream_id/<g>` in a partitioned one.
    pub fn stream_id(layout: &crate::layout::Layout, g: crate::layout::Group) -> String {
        if layout.is_partitioned() {
            format!("{STREAM_ID}/{g}")
        } else {
            STREAM_ID.to_string()
        }
    }

    /// `import:<tenant>`, present while an import of the tenant's state is under way (it is
    /// written in chunks): a tenant with it is not served until the import finishes or its
    /// partial state is deleted.
    pub fn import_marker(tenant: &str) -> String {
        format!("import:{tenant}")
    }

    /// Prefix of [`replay_floor`] keys.
    pub const REPLAY_FLOOR_PREFIX: &str = "replay_floor:";

    /// `replay_floor:<tenant>`, u64 big-endian: the tenant's position when a replay started
    /// re-reading it from earlier. Its cursor then says where the re-read stands; the
    /// tenant's position (reported, released) stays at least this, since everything up to
    /// here was applied before the replay.
    pub fn replay_floor(tenant: &str) -> String {
        format!("{REPLAY_FLOOR_PREFIX}{tenant}")
    }

    /// Prefix of [`fired_through`] keys.
    pub const FIRED_THROUGH_PREFIX: &str = "fired_through:";

    /// `fired_through:<tenant>`, u64 big-endian: the latest due time of a timer of the
    /// tenant fired in this volume since it was last released here. A restart does not
    /// lower the tenant's timer watermark below it, and a release reports at least it as
    /// `timers_through_ms`.
    pub fn fired_through(tenant: &str) -> String {
        format!("{FIRED_THROUGH_PREFIX}{tenant}")
    }
}

/// Everything that can go wrong with a volume, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{}: {what}: {source}", path.display())]
    Io {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("no volume at {}: the path does not exist; check the path (a volume is the runner's RUNNER_DATA_DIR)", .0.display())]
    NotFound(PathBuf),
    #[error("{} is not a runner volume: {reason}", path.display())]
    NotAVolume { path: PathBuf, reason: String },
    #[error("volume {} is held by {}; stop that runner first, or use another data dir", path.display(), holder.as_ref().map(|h| h.to_string()).unwrap_or_else(|| "a live process (it has not written its details yet)".into()))]
    Held {
        path: PathBuf,
        holder: Option<Holder>,
    },
    #[error("volume {} has format version {found}, newer than the {supported} this build understands; use a newer runner/runnerctl", path.display())]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("volume {} has format version {found}, older than the {supported} this build reads; start a runner of this version on it once (it migrates the volume in place when it opens it, see docs/storage.md), or read it with the runnerctl of the runner that wrote it", path.display())]
    OlderFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("volume {} belongs to shard '{volume}', not '{configured}'; a volume serves one shard for life: use the shard's own volume or a new data dir", path.display())]
    ShardMismatch {
        path: PathBuf,
        volume: String,
        configured: String,
    },
    #[error("volume {} is full (MDBX map size or disk space exhausted): free disk space or raise the size limit, then the runner resumes", path.display())]
    Full { path: PathBuf },
    #[error("volume {}: {what}: {source}", path.display())]
    Mdbx {
        path: PathBuf,
        what: &'static str,
        source: libmdbx::Error,
    },
    #[error("volume data is corrupt: {0}")]
    Corrupt(String),
    #[error("invalid key: {0}")]
    InvalidKey(String),
}

impl StorageError {
    pub(crate) fn io(path: &Path, what: &'static str, source: std::io::Error) -> Self {
        StorageError::Io {
            path: path.to_path_buf(),
            what,
            source,
        }
    }

    /// True for errors that may pass once an operator frees space or fixes permissions, as
    /// opposed to bugs or corruption.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StorageError::Full { .. } | StorageError::Io { .. } | StorageError::Mdbx { .. }
        )
    }
}

/// Options of a volume opened for writing.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// The shard this runner serves; a new volume records it, an old one must match it.
    pub shard_id: String,
    /// The event stream positions refer to; recorded in a new volume.
    pub admin_url: Option<String>,
    /// Upper bound of the data file, in bytes.
    pub max_size_bytes: u64,
}

impl WriteOptions {
    pub fn new(shard_id: impl Into<String>) -> Self {
        Self {
            shard_id: shard_id.into(),
            admin_url: None,
            max_size_bytes: 256 << 30,
        }
    }
}

/// An open volume.
pub struct Volume {
    db: Database<NoWriteMap>,
    dir: PathBuf,
    /// How long the last write's commit took (ns): the durable part of a batch, for the
    /// runner's commit-latency histogram.
    last_commit_ns: std::sync::atomic::AtomicU64,
    read_only: bool,
    migrated: Option<Migrated>,
    _lock: Option<lock::ExclusiveLock>,
}

impl std::fmt::Debug for Volume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Volume")
            .field("dir", &self.dir)
            .field("read_only", &self.read_only)
            .finish()
    }
}

/// Entries an existing data dir may hold besides a volume's files.
const TOLERATED: [&str; 2] = ["lost+found", SNAPSHOT_TMP];

fn map_mdbx(dir: &Path, what: &'static str, e: libmdbx::Error) -> StorageError {
    match e {
        libmdbx::Error::MapFull | libmdbx::Error::UnableExtendMapsize => StorageError::Full {
            path: dir.to_path_buf(),
        },
        libmdbx::Error::Other(28) => StorageError::Full {
            path: dir.to_path_buf(),
        },
        libmdbx::Error::Invalid | libmdbx::Error::VersionMismatch => StorageError::NotAVolume {
            path: dir.to_path_buf(),
            reason: format!("{DATA_FILE} is not an MDBX file this build can read ({e})"),
        },
        libmdbx::Error::Corrupted | libmdbx::Error::PageNotFound => StorageError::Corrupt(format!(
            "{}: {what}: {e}; restore the volume from a backup or rebuild it with a replay",
            dir.display()
        )),
        source => StorageError::Mdbx {
            path: dir.to_path_buf(),
            what,
            source,
        },
    }
}

impl Volume {
    /// Opens (creating if needed) the volume in `dir` for writing, as the runner does.
    ///
    /// Refused when another live process holds it, when `dir` holds something else, when
    /// the volume is newer than this build or belongs to another shard.
    pub fn open_for_write(dir: &Path, opts: &WriteOptions) -> Result<Volume, StorageError> {
        let mut vol = Self::open_for_write_unmigrated(dir, opts)?;
        vol.migrated = migrate::run(&vol)?;
        Ok(vol)
    }

    fn open_for_write_unmigrated(dir: &Path, opts: &WriteOptions) -> Result<Volume, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::io(dir, "cannot create the data dir", e))?;
        let has_data = dir.join(DATA_FILE).exists();
        if !has_data {
            let entries = std::fs::read_dir(dir)
                .map_err(|e| StorageError::io(dir, "cannot list the data dir", e))?;
            for entry in entries {
                let entry =
                    entry.map_err(|e| StorageError::io(dir, "cannot list the data dir", e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name != LOCK_FILE && name != "mdbx.lck" && !TOLERATED.contains(&name.as_str()) {
                    return Err(StorageError::NotAVolume {
                        path: dir.to_path_buf(),
                        reason: format!(
                            "the directory is not empty (it holds '{name}') and has no {DATA_FILE}; point the data dir at a new or empty directory"
                        ),
                    });
                }
            }
        }
        let holder = Holder {
            pid: std::process::id(),
            shard_id: opts.shard_id.clone(),
            host: crate::hostname(),
            started_at_ms: crate::now_ms(),
            admin_url: opts.admin_url.clone(),
        };
        let lock = lock::acquire(dir, &holder)?;
        let db = Database::<NoWriteMap>::open_with_options(
            dir,
            DatabaseOptions {
                max_tables: Some(16),
                mode: Mode::ReadWrite(ReadWriteOptions {
                    sync_mode: SyncMode::Durable,
                    min_size: None,
                    max_size: Some(opts.max_size_bytes.min(isize::MAX as u64) as isize),
                    growth_step: Some(16 << 20),
                    shrink_threshold: Some(256 << 20),
                }),
                ..Default::default()
            },
        )
        .map_err(|e| map_mdbx(dir, "cannot open the volume for writing", e))?;
        let vol = Volume {
            db,
            dir: dir.to_path_buf(),
            last_commit_ns: Default::default(),
            read_only: false,
            migrated: None,
            _lock: Some(lock),
        };
        vol.init(&opts.shard_id)?;
        Ok(vol)
    }

    fn init(&self, shard_id: &str) -> Result<(), StorageError> {
        let txn = self
            .db
            .begin_rw_txn()
            .map_err(|e| map_mdbx(&self.dir, "cannot begin a write", e))?;
        for name in TableId::ALL.map(TableId::name) {
            txn.create_table(Some(name), TableFlags::empty())
                .map_err(|e| map_mdbx(&self.dir, "cannot create tables", e))?;
        }
        let meta = txn
            .open_table(Some(table::META))
            .map_err(|e| map_mdbx(&self.dir, "cannot open meta", e))?;
        let get = |k: &str| -> Result<Option<Vec<u8>>, StorageError> {
            txn.get::<Vec<u8>>(&meta, k)
                .map_err(|e| map_mdbx(&self.dir, "cannot read meta", e))
        };
        let put = |k: &str, v: &[u8]| -> Result<(), StorageError> {
            txn.put(&meta, k, v, WriteFlags::UPSERT)
                .map_err(|e| map_mdbx(&self.dir, "cannot write meta", e))
        };
        if get(meta::VOLUME_ID)?.is_none() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            put(
                meta::VOLUME_ID,
                format!("{nanos:x}-{:x}", std::process::id()).as_bytes(),
            )?;
        }
        match get(meta::FORMAT_VERSION)? {
            None => {
                put(meta::FORMAT_VERSION, &FORMAT_VERSION.to_be_bytes())?;
                put(meta::SHARD_ID, shard_id.as_bytes())?;
                put(meta::CREATED_AT, &crate::now_ms().to_be_bytes())?;
            }
            Some(v) => {
                let found = decode_u32(&v)?;
                if found > FORMAT_VERSION {
                    return Err(StorageError::NewerFormat {
                        path: self.dir.clone(),
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
                let vol_shard = get(meta::SHARD_ID)?
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                if vol_shard != shard_id {
                    return Err(StorageError::ShardMismatch {
                        path: self.dir.clone(),
                        volume: vol_shard,
                        configured: shard_id.to_string(),
                    });
                }
            }
        }
        txn.commit()
            .map_err(|e| map_mdbx(&self.dir, "cannot commit", e))?;
        Ok(())
    }

    /// Opens the volume in `dir` read-only. A volume held by a live runner is refused unless
    /// `allow_live`; then its holder is returned and reads see consistent snapshots.
    pub fn open_read_only(
        dir: &Path,
        allow_live: bool,
    ) -> Result<(Volume, Option<Holder>), StorageError> {
        let meta = std::fs::metadata(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StorageError::NotFound(dir.to_path_buf()),
            _ => StorageError::io(dir, "cannot read", e),
        })?;
        if !meta.is_dir() {
            return Err(StorageError::NotAVolume {
                path: dir.to_path_buf(),
                reason:
                    "it is a file; a volume is a directory (the runner's data dir) holding mdbx.dat"
                        .into(),
            });
        }
        let data = dir.join(DATA_FILE);
        if !data.exists() {
            return Err(StorageError::NotAVolume {
                path: dir.to_path_buf(),
                reason: format!("it has no {DATA_FILE}"),
            });
        }
        std::fs::File::open(&data).map_err(|e| StorageError::io(&data, "cannot read", e))?;
        let holder = lock::probe(dir)?;
        if holder.is_some() && !allow_live {
            return Err(StorageError::Held {
                path: dir.to_path_buf(),
                holder,
            });
        }
        let db = Database::<NoWriteMap>::open_with_options(
            dir,
            DatabaseOptions {
                max_tables: Some(16),
                mode: Mode::ReadOnly,
                // Tools read a few pages of a possibly huge file: without this, MDBX asks the
                // kernel to read ahead the whole map and a 1M-entry volume's `summary` peaks
                // at ~90 MB of resident pages instead of a few.
                no_rdahead: true,
                ..Default::default()
            },
        )
        .map_err(|e| map_mdbx(dir, "cannot open the volume read-only", e))?;
        let vol = Volume {
            db,
            dir: dir.to_path_buf(),
            last_commit_ns: Default::default(),
            read_only: true,
            migrated: None,
            _lock: None,
        };
        let version = vol.read(|r| r.format_version())?;
        if version > FORMAT_VERSION {
            return Err(StorageError::NewerFormat {
                path: dir.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version < FORMAT_VERSION {
            return Err(StorageError::OlderFormat {
                path: dir.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        Ok((vol, holder))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// What the migration from an older format did when this volume was opened, if it ran.
    pub fn migrated(&self) -> Option<&Migrated> {
        self.migrated.as_ref()
    }

    /// Size of the data file and of the pages in use, in bytes.
    pub fn space(&self) -> Result<VolumeSpace, StorageError> {
        let info = self
            .db
            .info()
            .map_err(|e| map_mdbx(&self.dir, "cannot read volume info", e))?;
        let stat = self
            .db
            .stat()
            .map_err(|e| map_mdbx(&self.dir, "cannot read volume info", e))?;
        let page = stat.page_size() as u64;
        // Pages freed by earlier transactions are reused before the file grows: they are
        // room, not use (after tenants move away, say).
        let free =
            self.db
                .freelist()
                .map_err(|e| map_mdbx(&self.dir, "cannot read volume info", e))? as u64;
        let allocated = info.last_pgno() as u64 + 1;
        Ok(VolumeSpace {
            file_bytes: info.geometry().current_size(),
            used_bytes: allocated.saturating_sub(free) * page,
            max_bytes: info.geometry().max_size(),
            page_size: page,
        })
    }

    /// Runs `f` in one read transaction (a consistent snapshot). Keep it short: a long
    /// reader pins old pages and the file grows.
    pub fn read<R, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&Reader<'_, RO>) -> Result<R, E>,
    ) -> Result<R, E> {
        let txn = self
            .db
            .begin_ro_txn()
            .map_err(|e| map_mdbx(&self.dir, "cannot begin a read", e))?;
        let r = Reader::new(&txn, &self.dir)?;
        f(&r)
    }

    /// Runs `f` in one write transaction and commits it if `f` succeeds; nothing of it is
    /// kept if `f` fails or the process dies before the commit returns.
    pub fn write<R, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&mut Writer<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        if self.read_only {
            return Err(StorageError::Mdbx {
                path: self.dir.clone(),
                what: "volume was opened read-only",
                source: libmdbx::Error::Access,
            }
            .into());
        }
        let txn = self
            .db
            .begin_rw_txn()
            .map_err(|e| map_mdbx(&self.dir, "cannot begin a write", e))?;
        let mut w = Writer {
            r: Reader::new(&txn, &self.dir)?,
            deltas: HashMap::new(),
            outbox_next: None,
            guarded: None,
        };
        let out = f(&mut w)?;
        w.finish()?;
        drop(w);
        let started = std::time::Instant::now();
        txn.commit()
            .map_err(|e| map_mdbx(&self.dir, "cannot commit", e))?;
        self.last_commit_ns.store(
            started.elapsed().as_nanos() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(out)
    }

    /// How long the last successful [`Volume::write`]'s commit took (write-out and sync).
    pub fn last_commit(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(
            self.last_commit_ns
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }
}

/// File and page use of a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeSpace {
    pub file_bytes: u64,
    /// Pages holding data: those allocated in the file less those freed and waiting to be
    /// reused.
    pub used_bytes: u64,
    pub max_bytes: u64,
    pub page_size: u64,
}

fn decode_u32(b: &[u8]) -> Result<u32, StorageError> {
    b.try_into()
        .map(u32::from_be_bytes)
        .map_err(|_| StorageError::Corrupt("meta value is not a u32".into()))
}

fn decode_u64(b: &[u8]) -> Result<u64, StorageError> {
    b.try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| StorageError::Corrupt("meta value is not a u64".into()))
}

/// Which table a scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableId {
    Sagas,
    Dedupe,
    Checkpoints,
    Outbox,
    Schedules,
    Cursors,
    Stats,
    Meta,
}

impl TableId {
    /// Every table, in the order `inspect summary` lists them.
    pub const ALL: [TableId; 8] = [
        TableId::Sagas,
        TableId::Dedupe,
        TableId::Checkpoints,
        TableId::Outbox,
        TableId::Schedules,
        TableId::Cursors,
        TableId::Stats,
        TableId::Meta,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TableId::Sagas => table::SAGAS,
            TableId::Dedupe => table::DEDUPE,
            TableId::Checkpoints => table::CHECKPOINTS,
            TableId::Outbox => table::OUTBOX,
            TableId::Schedules => table::SCHEDULES,
            TableId::Cursors => table::CURSORS,
            TableId::Stats => table::STATS,
            TableId::Meta => table::META,
        }
    }
}

struct Tables<'t> {
    sagas: Table<'t>,
    dedupe: Table<'t>,
    checkpoints: Table<'t>,
    outbox: Table<'t>,
    schedules: Table<'t>,
    cursors: Table<'t>,
    stats: Table<'t>,
    meta: Table<'t>,
}

/// Typed reads, in a read or a write transaction.
pub struct Reader<'t, K: TransactionKind> {
    txn: &'t Transaction<'t, K, NoWriteMap>,
    t: Tables<'t>,
    dir: &'t Path,
}

impl<'t, K: TransactionKind> Reader<'t, K> {
    fn new(txn: &'t Transaction<'t, K, NoWriteMap>, dir: &'t Path) -> Result<Self, StorageError> {
        let open = |name: &'static str| {
            txn.open_table(Some(name)).map_err(|e| match e {
                libmdbx::Error::NotFound => StorageError::NotAVolume {
                    path: dir.to_path_buf(),
                    reason: format!("the MDBX file has no '{name}' table"),
                },
                e => map_mdbx(dir, "cannot open a table", e),
            })
        };
        Ok(Reader {
            t: Tables {
                sagas: open(table::SAGAS)?,
                dedupe: open(table::DEDUPE)?,
                checkpoints: open(table::CHECKPOINTS)?,
                outbox: open(table::OUTBOX)?,
                schedules: open(table::SCHEDULES)?,
                cursors: open(table::CURSORS)?,
                stats: open(table::STATS)?,
                meta: open(table::META)?,
            },
            txn,
            dir,
        })
    }

    fn table(&self, id: TableId) -> &Table<'t> {
        match id {
            TableId::Sagas => &self.t.sagas,
            TableId::Dedupe => &self.t.dedupe,
            TableId::Checkpoints => &self.t.checkpoints,
            TableId::Outbox => &self.t.outbox,
            TableId::Schedules => &self.t.schedules,
            TableId::Cursors => &self.t.cursors,
            TableId::Stats => &self.t.stats,
            TableId::Meta => &self.t.meta,
        }
    }

    fn err(&self, what: &'static str) -> impl Fn(libmdbx::Error) -> StorageError + '_ {
        move |e| map_mdbx(self.dir, what, e)
    }

    /// The raw value of `key` in `table`.
    pub fn get_raw(
        &self,
        table: TableId,
        key: &[u8],
    ) -> Result<Option<Cow<'t, [u8]>>, StorageError> {
        self.txn
            .get::<Cow<'t, [u8]>>(self.table(table), key)
            .map_err(self.err("cannot read"))
    }

    fn get<T: serde::de::DeserializeOwned>(
        &self,
        table: TableId,
        key: &[u8],
    ) -> Result<Option<T>, StorageError> {
        match self.get_raw(table, key)? {
            None => Ok(None),
            Some(b) => decode(table.name(), &b).map(Some),
        }
    }

    /// Number of entries in a table, from MDBX's table statistics (no scan).
    pub fn entries(&self, table: TableId) -> Result<u64, StorageError> {
        Ok(self
            .txn
            .table_stat(self.table(table))
            .map_err(self.err("cannot read table statistics"))?
            .entries() as u64)
    }

    pub fn meta_raw(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .get_raw(TableId::Meta, name.as_bytes())?
            .map(|c| c.into_owned()))
    }

    pub fn meta_u64(&self, name: &str) -> Result<Option<u64>, StorageError> {
        self.meta_raw(name)?.map(|b| decode_u64(&b)).transpose()
    }

    /// Every tenant's [`meta::replay_floor`].
    pub fn replay_floors(&self) -> Result<Vec<(String, u64)>, StorageError> {
        self.meta_u64_per_tenant(meta::REPLAY_FLOOR_PREFIX)
    }

    /// Every tenant's [`meta::fired_through`].
    pub fn fired_throughs(&self) -> Result<Vec<(String, u64)>, StorageError> {
        self.meta_u64_per_tenant(meta::FIRED_THROUGH_PREFIX)
    }

    /// The u64 meta values named `<prefix><tenant>`, by tenant.
    fn meta_u64_per_tenant(&self, prefix: &str) -> Result<Vec<(String, u64)>, StorageError> {
        let mut out = Vec::new();
        self.scan(TableId::Meta, prefix.as_bytes(), None, |k, v| {
            let t = String::from_utf8_lossy(&k[prefix.len()..]);
            out.push((t.into_owned(), decode_u64(v)?));
            Ok(true)
        })?;
        Ok(out)
    }

    pub fn meta_str(&self, name: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .meta_raw(name)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    pub fn format_version(&self) -> Result<u32, StorageError> {
        match self.meta_raw(meta::FORMAT_VERSION)? {
            Some(b) => decode_u32(&b),
            None => Err(StorageError::NotAVolume {
                path: self.dir.to_path_buf(),
                reason: "its meta table has no format_version".into(),
            }),
        }
    }

    pub fn checkpoint(&self, tenant: &str, saga: &str) -> Result<Option<Checkpoint>, StorageError> {
        self.get(TableId::Checkpoints, &keys::checkpoint_key(tenant, saga)?)
    }

    pub fn dedupe(
        &self,
        tenant: &str,
        saga: &str,
        event_id: &str,
    ) -> Result<Option<DedupeRecord>, StorageError> {
        self.get(TableId::Dedupe, &keys::dedupe_key(tenant, saga, event_id)?)
    }

    /// The marker of a fired timer, if it fired.
    pub fn timer_marker(
        &self,
        tenant: &str,
        saga: &str,
        key: &str,
        timer: &str,
        due_ms: u64,
    ) -> Result<Option<DedupeRecord>, StorageError> {
        self.get(
            TableId::Dedupe,
            &keys::timer_marker_key(tenant, saga, key, timer, due_ms)?,
        )
    }

    pub fn instance(
        &self,
        tenant: &str,
        saga: &str,
        key: &str,
    ) -> Result<Option<InstanceRecord>, StorageError> {
        self.get(TableId::Sagas, &keys::instance_key(tenant, saga, key)?)
    }

    pub fn cursor(&self, tenant: &str) -> Result<Option<TenantCursor>, StorageError> {
        self.get(TableId::Cursors, &keys::cursor_key(tenant)?)
    }

    /// Markers of fired timers of a tenant+saga (they sort before its event markers, so
    /// this scans only them).
    pub fn timer_markers(&self, tenant: &str, saga: &str) -> Result<u64, StorageError> {
        let prefix = [keys::saga_prefix(tenant, saga)?.as_slice(), &[0]].concat();
        let mut n = 0;
        self.scan(TableId::Dedupe, &prefix, None, |_, _| {
            n += 1;
            Ok(true)
        })?;
        Ok(n)
    }

    /// Entries of `table` per tenant+saga, from the `stats` table (no scan of `table`).
    pub fn count(&self, tenant: &str, saga: &str, table: TableCode) -> Result<u64, StorageError> {
        match self.get_raw(TableId::Stats, &keys::stats_key(tenant, saga, table)?)? {
            None => Ok(0),
            Some(b) => decode_u64(&b),
        }
    }

    /// Calls `f` with each entry of `table` whose key starts with `prefix`, in key order,
    /// starting after `after` when given, until `f` returns `false`.
    pub fn scan(
        &self,
        table: TableId,
        prefix: &[u8],
        after: Option<&[u8]>,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<bool, StorageError>,
    ) -> Result<(), StorageError> {
        let mut cur = self
            .txn
            .cursor(self.table(table))
            .map_err(self.err("cannot open a cursor"))?;
        let start: &[u8] = match after {
            Some(a) if a >= prefix => a,
            _ => prefix,
        };
        let mut item = cur
            .set_range::<Cow<'_, [u8]>, Cow<'_, [u8]>>(start)
            .map_err(self.err("cannot seek"))?;
        if let (Some(a), Some((k, _))) = (after, &item)
            && k.as_ref() == a
        {
            item = cur.next().map_err(self.err("cannot read next"))?;
        }
        while let Some((k, v)) = item {
            if !k.starts_with(prefix) {
                break;
            }
            if !f(&k, &v)? {
                break;
            }
            item = cur.next().map_err(self.err("cannot read next"))?;
        }
        Ok(())
    }

    /// The first entry of `table` whose key starts with `prefix`.
    pub fn first(&self, table: TableId, prefix: &[u8]) -> Result<Option<RawEntry>, StorageError> {
        let mut out = None;
        self.scan(table, prefix, None, |k, v| {
            out = Some((k.to_vec(), v.to_vec()));
            Ok(false)
        })?;
        Ok(out)
    }

    /// Up to `limit` outbox entries in the order they were written, starting after `after`.
    pub fn outbox_batch(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, OutboxEntry)>, StorageError> {
        let mut out = Vec::new();
        self.scan(TableId::Outbox, &[], after, |k, v| {
            out.push((k.to_vec(), decode(table::OUTBOX, v)?));
            Ok(out.len() < limit)
        })?;
        Ok(out)
    }

    /// Every cursor record, by tenant.
    pub fn cursors(&self) -> Result<Vec<(String, TenantCursor)>, StorageError> {
        let mut out = Vec::new();
        self.scan(TableId::Cursors, &[], None, |k, v| {
            let mut r = keys::KeyReader::new(k);
            let t = r.str()?.to_string();
            out.push((t, decode(table::CURSORS, v)?));
            Ok(true)
        })?;
        Ok(out)
    }

    /// Every checkpoint of `tenant`, by saga.
    pub fn checkpoints_of(&self, tenant: &str) -> Result<Vec<(String, Checkpoint)>, StorageError> {
        let mut out = Vec::new();
        self.scan(
            TableId::Checkpoints,
            &keys::tenant_prefix(tenant)?,
            None,
            |k, v| {
                let (_, s) = keys::decode_two(k)?;
                out.push((s.to_string(), decode(table::CHECKPOINTS, v)?));
                Ok(true)
            },
        )?;
        Ok(out)
    }

    /// The earliest pending timer of a tenant+saga.
    pub fn next_timer(
        &self,
        tenant: &str,
        saga: &str,
    ) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
        self.first(TableId::Schedules, &keys::saga_prefix(tenant, saga)?)?
            .map(|(k, _)| keys::decode_schedule(&k).map(|d| (d.due_ms, k.clone())))
            .transpose()
    }

    /// Timers of a tenant+saga due at or before `now_ms`, earliest first, at most `limit`.
    pub fn due_timers(
        &self,
        tenant: &str,
        saga: &str,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<(DueTimer, ScheduleRecord)>, StorageError> {
        let mut out = Vec::new();
        self.scan(
            TableId::Schedules,
            &keys::saga_prefix(tenant, saga)?,
            None,
            |k, v| {
                let d = keys::decode_schedule(k)?;
                if d.due_ms > now_ms {
                    return Ok(false);
                }
                out.push((
                    DueTimer {
                        due_ms: d.due_ms,
                        key: d.key.to_string(),
                        timer: d.timer.to_string(),
                    },
                    decode(table::SCHEDULES, v)?,
                ));
                Ok(out.len() < limit)
            },
        )?;
        Ok(out)
    }
}

/// A raw key and value.
pub type RawEntry = (Vec<u8>, Vec<u8>);

/// A pending timer found by [`Reader::due_timers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTimer {
    pub due_ms: u64,
    pub key: String,
    pub timer: String,
}

/// Typed writes; reads see the writes made so far in the same transaction.
pub struct Writer<'t> {
    r: Reader<'t, RW>,
    /// tenant -> saga -> per-table count changes (nested so `&str` lookups allocate nothing).
    deltas: HashMap<String, HashMap<String, [i64; 5]>>,
    outbox_next: Option<u64>,
    /// Whether a restore's guard is installed (read once per transaction, when the first
    /// outbox entry is pushed).
    guarded: Option<bool>,
}

impl<'t> std::ops::Deref for Writer<'t> {
    type Target = Reader<'t, RW>;
    fn deref(&self) -> &Reader<'t, RW> {
        &self.r
    }
}

impl<'t> Writer<'t> {
    fn put_raw(&self, table: TableId, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        self.r
            .txn
            .put(self.r.table(table), key, value, WriteFlags::UPSERT)
            .map_err(self.r.err("cannot write"))
    }

    fn del_raw(&self, table: TableId, key: &[u8]) -> Result<bool, StorageError> {
        self.r
            .txn
            .del(self.r.table(table), key, None)
            .map_err(self.r.err("cannot delete"))
    }

    fn count_delta(&mut self, tenant: &str, saga: &str, table: TableCode, d: i64) {
        if tenant.is_empty() {
            return;
        }
        if !self.deltas.contains_key(tenant) {
            self.deltas.insert(tenant.to_string(), HashMap::new());
        }
        let per = self.deltas.get_mut(tenant).expect("inserted");
        if !per.contains_key(saga) {
            per.insert(saga.to_string(), [0; 5]);
        }
        per.get_mut(saga).expect("inserted")[table as usize - 1] += d;
    }

    pub fn delete_meta(&self, name: &str) -> Result<bool, StorageError> {
        self.del_raw(TableId::Meta, name.as_bytes())
    }

    pub fn set_meta_raw(&self, name: &str, value: &[u8]) -> Result<(), StorageError> {
        self.put_raw(TableId::Meta, name.as_bytes(), value)
    }

    pub fn set_meta_u64(&self, name: &str, value: u64) -> Result<(), StorageError> {
        self.set_meta_raw(name, &value.to_be_bytes())
    }

    pub fn set_meta_str(&self, name: &str, value: &str) -> Result<(), StorageError> {
        self.set_meta_raw(name, value.as_bytes())
    }

    /// Writes an instance; `is_new` says whether it existed before (for the counts).
    pub fn put_instance(
        &mut self,
        tenant: &str,
        saga: &str,
        key: &str,
        rec: &InstanceRecord,
        is_new: bool,
    ) -> Result<(), StorageError> {
        self.put_raw(
            TableId::Sagas,
            &keys::instance_key(tenant, saga, key)?,
            &encode(rec)?,
        )?;
        if is_new {
            self.count_delta(tenant, saga, TableCode::Sagas, 1);
        }
        Ok(())
    }

    pub fn delete_instance(
        &mut self,
        tenant: &str,
        saga: &str,
        key: &str,
    ) -> Result<bool, StorageError> {
        let gone = self.del_raw(TableId::Sagas, &keys::instance_key(tenant, saga, key)?)?;
        if gone {
            self.count_delta(tenant, saga, TableCode::Sagas, -1);
        }
        Ok(gone)
    }

    /// Writes a dedupe marker (an existing marker for the same id is replaced).
    pub fn put_dedupe(
        &mut self,
        tenant: &str,
        saga: &str,
        event_id: &str,
        rec: &DedupeRecord,
    ) -> Result<(), StorageError> {
        let key = keys::dedupe_key(tenant, saga, event_id)?;
        let value = encode(rec)?;
        match self
            .r
            .txn
            .put(&self.r.t.dedupe, &key, &value, WriteFlags::NO_OVERWRITE)
        {
            Ok(()) => {
                self.count_delta(tenant, saga, TableCode::Dedupe, 1);
                Ok(())
            }
            Err(libmdbx::Error::KeyExist) => self.put_raw(TableId::Dedupe, &key, &value),
            Err(e) => Err(map_mdbx(self.r.dir, "cannot write", e)),
        }
    }

    /// Writes a dedupe marker unless one exists for the id; says whether it wrote it. One
    /// B-tree descent for the check and the write.
    pub fn insert_dedupe(
        &mut self,
        tenant: &str,
        saga: &str,
        event_id: &str,
        rec: &DedupeRecord,
    ) -> Result<bool, StorageError> {
        let key = keys::dedupe_key(tenant, saga, event_id)?;
        match self.r.txn.put(
            &self.r.t.dedupe,
            &key,
            encode(rec)?,
            WriteFlags::NO_OVERWRITE,
        ) {
            Ok(()) => {
                self.count_delta(tenant, saga, TableCode::Dedupe, 1);
                Ok(true)
            }
            Err(libmdbx::Error::KeyExist) => Ok(false),
            Err(e) => Err(map_mdbx(self.r.dir, "cannot write", e)),
        }
    }

    /// Records that a timer fired (its marker; see [`keys::timer_marker_key`]).
    pub fn put_timer_marker(
        &mut self,
        tenant: &str,
        saga: &str,
        key: &str,
        timer: &str,
        due_ms: u64,
        rec: &DedupeRecord,
    ) -> Result<(), StorageError> {
        let k = keys::timer_marker_key(tenant, saga, key, timer, due_ms)?;
        match self
            .r
            .txn
            .put(&self.r.t.dedupe, &k, encode(rec)?, WriteFlags::NO_OVERWRITE)
        {
            Ok(()) => {
                self.count_delta(tenant, saga, TableCode::Dedupe, 1);
                Ok(())
            }
            Err(libmdbx::Error::KeyExist) => self.put_raw(TableId::Dedupe, &k, &encode(rec)?),
            Err(e) => Err(map_mdbx(self.r.dir, "cannot write", e)),
        }
    }

    pub fn delete_dedupe(
        &mut self,
        tenant: &str,
        saga: &str,
        event_id: &str,
    ) -> Result<bool, StorageError> {
        let gone = self.del_raw(TableId::Dedupe, &keys::dedupe_key(tenant, saga, event_id)?)?;
        if gone {
            self.count_delta(tenant, saga, TableCode::Dedupe, -1);
        }
        Ok(gone)
    }

    pub fn set_checkpoint(
        &mut self,
        tenant: &str,
        saga: &str,
        cp: &Checkpoint,
    ) -> Result<(), StorageError> {
        let key = keys::checkpoint_key(tenant, saga)?;
        let value = encode(cp)?;
        match self.r.txn.put(
            &self.r.t.checkpoints,
            &key,
            &value,
            WriteFlags::NO_OVERWRITE,
        ) {
            Ok(()) => {
                self.count_delta(tenant, saga, TableCode::Checkpoints, 1);
                Ok(())
            }
            Err(libmdbx::Error::KeyExist) => self.put_raw(TableId::Checkpoints, &key, &value),
            Err(e) => Err(map_mdbx(self.r.dir, "cannot write", e)),
        }
    }

    pub fn delete_checkpoint(&mut self, tenant: &str, saga: &str) -> Result<bool, StorageError> {
        let gone = self.del_raw(TableId::Checkpoints, &keys::checkpoint_key(tenant, saga)?)?;
        if gone {
            self.count_delta(tenant, saga, TableCode::Checkpoints, -1);
        }
        Ok(gone)
    }

    /// Appends an outbox entry; `false` (nothing written) when a restore's guard says the
    /// lost volume already published a message with its id (docs/storage.md#snapshots).
    pub fn push_outbox(&mut self, entry: &OutboxEntry) -> Result<bool, StorageError> {
        if self.take_published(&entry.msg_id)? {
            return Ok(false);
        }
        let seq = match self.outbox_next {
            Some(n) => n,
            None => self.r.meta_u64(meta::OUTBOX_NEXT)?.unwrap_or(1),
        };
        self.outbox_next = Some(seq + 1);
        let key = keys::outbox_key(seq);
        self.put_raw(TableId::Outbox, &key, &encode(entry)?)?;
        self.count_delta(&entry.tenant, &entry.saga, TableCode::Outbox, 1);
        Ok(true)
    }

    /// Deletes an outbox entry (of `tenant`/`saga`) after its publish was acknowledged.
    /// Deleting an entry that is already gone does nothing.
    pub fn delete_outbox(
        &mut self,
        key: &[u8],
        tenant: &str,
        saga: &str,
    ) -> Result<bool, StorageError> {
        let gone = self.del_raw(TableId::Outbox, key)?;
        if gone {
            self.count_delta(tenant, saga, TableCode::Outbox, -1);
        }
        Ok(gone)
    }

    pub fn put_schedule(
        &mut self,
        tenant: &str,
        saga: &str,
        due_ms: u64,
        key: &str,
        timer: &str,
        rec: &ScheduleRecord,
    ) -> Result<(), StorageError> {
        let k = keys::schedule_key(tenant, saga, due_ms, key, timer)?;
        let value = encode(rec)?;
        match self
            .r
            .txn
            .put(&self.r.t.schedules, &k, &value, WriteFlags::NO_OVERWRITE)
        {
            Ok(()) => {
                self.count_delta(tenant, saga, TableCode::Schedules, 1);
                Ok(())
            }
            Err(libmdbx::Error::KeyExist) => self.put_raw(TableId::Schedules, &k, &value),
            Err(e) => Err(map_mdbx(self.r.dir, "cannot write", e)),
        }
    }

    pub fn delete_schedule(
        &mut self,
        tenant: &str,
        saga: &str,
        due_ms: u64,
        key: &str,
        timer: &str,
    ) -> Result<bool, StorageError> {
        let gone = self.del_raw(
            TableId::Schedules,
            &keys::schedule_key(tenant, saga, due_ms, key, timer)?,
        )?;
        if gone {
            self.count_delta(tenant, saga, TableCode::Schedules, -1);
        }
        Ok(gone)
    }

    /// Deletes every entry of `table` that belongs to `tenant`/`saga` and returns how many
    /// there were. Tenant-first tables are cleared by a range delete; the outbox (keyed by a
    /// global sequence) is scanned for the pair's entries.
    pub fn clear_saga(
        &mut self,
        tenant: &str,
        saga: &str,
        table: TableCode,
    ) -> Result<u64, StorageError> {
        let id = match table {
            TableCode::Sagas | TableCode::Dedupe | TableCode::Schedules => table.table(),
            TableCode::Checkpoints => return Ok(self.delete_checkpoint(tenant, saga)? as u64),
            TableCode::Outbox => {
                let mut keys = Vec::new();
                self.r.scan(TableId::Outbox, &[], None, |k, v| {
                    let e: OutboxEntry = decode(table::OUTBOX, v)?;
                    if e.tenant == tenant && e.saga == saga {
                        keys.push(k.to_vec());
                    }
                    Ok(true)
                })?;
                let mut n = 0;
                for k in keys {
                    n += self.delete_outbox(&k, tenant, saga)? as u64;
                }
                return Ok(n);
            }
        };
        let prefix = keys::saga_prefix(tenant, saga)?;
        let mut cur = self
            .r
            .txn
            .cursor(self.r.table(id))
            .map_err(self.r.err("cannot open a cursor"))?;
        let mut n = 0u64;
        let mut item = cur
            .set_range::<Cow<'_, [u8]>, ()>(&prefix)
            .map_err(self.r.err("cannot seek"))?;
        while let Some((k, ())) = item {
            if !k.starts_with(&prefix) {
                break;
            }
            cur.del(WriteFlags::empty())
                .map_err(self.r.err("cannot delete"))?;
            n += 1;
            // After a delete the cursor stands on the next entry.
            item = cur
                .get_current::<Cow<'_, [u8]>, ()>()
                .map_err(self.r.err("cannot read next"))?;
        }
        self.count_delta(tenant, saga, table, -(n as i64));
        Ok(n)
    }

    /// Deletes everything the volume holds for `tenant` (every saga's entries in every
    /// table, and its cursor); returns the entries deleted per table.
    pub fn clear_tenant(&mut self, tenant: &str) -> Result<Counts, StorageError> {
        let mut sagas = Vec::new();
        self.r.scan(
            TableId::Stats,
            &keys::tenant_prefix(tenant)?,
            None,
            |k, _| {
                let (_, s, _) = keys::decode_stats(k)?;
                if sagas.last().is_none_or(|l: &String| l != s) {
                    sagas.push(s.to_string());
                }
                Ok(true)
            },
        )?;
        let mut n = Counts::default();
        for s in &sagas {
            for t in TableCode::ALL {
                *n.get_mut(t) += self.clear_saga(tenant, s, t)?;
            }
        }
        self.del_raw(TableId::Cursors, &keys::cursor_key(tenant)?)?;
        self.del_raw(TableId::Meta, meta::import_marker(tenant).as_bytes())?;
        self.del_raw(TableId::Meta, meta::replay_floor(tenant).as_bytes())?;
        self.del_raw(TableId::Meta, meta::fired_through(tenant).as_bytes())?;
        Ok(n)
    }

    pub fn set_cursor(&mut self, tenant: &str, cursor: &TenantCursor) -> Result<(), StorageError> {
        self.put_raw(
            TableId::Cursors,
            &keys::cursor_key(tenant)?,
            &encode(cursor)?,
        )
    }

    fn finish(&mut self) -> Result<(), StorageError> {
        let deltas = std::mem::take(&mut self.deltas);
        let flat = deltas.iter().flat_map(|(t, per)| {
            per.iter().flat_map(move |(s, ds)| {
                TableCode::ALL
                    .into_iter()
                    .zip(ds.iter())
                    .map(move |(code, d)| (t, s, code, *d))
            })
        });
        for (t, s, code, d) in flat {
            if d == 0 {
                continue;
            }
            let key = keys::stats_key(t, s, code)?;
            let cur = match self.r.get_raw(TableId::Stats, &key)? {
                Some(b) => decode_u64(&b)?,
                None => 0,
            };
            let new = (cur as i64).saturating_add(d).max(0) as u64;
            if new == 0 {
                self.del_raw(TableId::Stats, &key)?;
            } else {
                self.put_raw(TableId::Stats, &key, &new.to_be_bytes())?;
            }
        }
        if let Some(n) = self.outbox_next {
            self.set_meta_u64(meta::OUTBOX_NEXT, n)?;
        }
        self.set_meta_u64(meta::LAST_WRITE, crate::now_ms())
    }
}

#[cfg(test)]
mod tests;
