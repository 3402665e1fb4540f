//! The shard lease, held through the shard registry: a runner creates its shard's key in the
//! registry bucket to take the shard, and updates it with compare-and-swap every third of
//! the lease time (its heartbeat: state, tenants, counters, admin URL). The bucket's
//! `max_age` is the lease time, so a dead runner's key expires and a replacement can create
//! it. Each successful update opens the [`Fence`] until shortly before the lease could
//! expire; a failed update with a changed revision means another runner took the shard: this
//! one stops at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::kv::{self, CreateErrorKind, UpdateErrorKind};
use bytes::Bytes;
use shared::placement::{Notice, NoticeKind, ShardRecord};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::fence::Fence;
use crate::state::SharedState;

/// What goes into each heartbeat; called at every renewal.
pub type RecordFn = Arc<dyn Fn() -> ShardRecord + Send + Sync>;

pub struct Lease {
    pub kv: kv::Store,
    pub shard: String,
    pub ttl: Duration,
    revision: u64,
    fence: Arc<Fence>,
}

/// Margin kept between the fence and the lease's expiry on the server.
fn margin(ttl: Duration) -> Duration {
    (ttl / 5).max(Duration::from_millis(500))
}

fn describe(rec: &ShardRecord) -> String {
    let age = shared::now_ms().saturating_sub(rec.heartbeat_at_ms);
    format!(
        "pid {} on host {} (admin {}, heartbeat {:.1}s ago)",
        rec.pid,
        rec.host,
        rec.admin_url,
        age as f64 / 1000.0
    )
}

impl Lease {
    /// Takes the shard's lease, waiting (and saying who holds it) while another live runner
    /// has it. `None` when cancelled first.
    pub async fn acquire(
        kv: kv::Store,
        ttl: Duration,
        record: &RecordFn,
        fence: Arc<Fence>,
        shared: &SharedState,
        cancel: &CancellationToken,
    ) -> Option<Lease> {
        let shard = record().shard_id;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let value = Bytes::from(serde_json::to_vec(&record()).expect("serialisable"));
            let sent = Instant::now();
            match kv.create(&shard, value).await {
                Ok(revision) => {
                    fence.extend(sent, ttl.saturating_sub(margin(ttl)));
                    shared.set_lease_problem(None);
                    info!(shard = %shard, lease_s = ttl.as_secs_f64(), "took the shard's lease");
                    return Some(Lease {
                        kv,
                        shard,
                        ttl,
                        revision,
                        fence,
                    });
                }
                Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
                    let entry = kv.entry(&shard).await.ok().flatten();
                    let current = entry.as_ref().and_then(|e| {
                        serde_json::from_slice::<ShardRecord>(&e.value)
                            .ok()
                            .map(|r| (r, e.revision))
                    });
                    // A previous process of this very volume, on this host, that is not
                    // running any more (this process holds the volume's flock, and the pid
                    // is gone): it is dead, whatever its lease says. Take the lease at
                    // once. A matching volume id alone proves nothing: a copy of the
                    // volume (restored, or copied to another host) has the same id while
                    // the original may still be serving.
                    let mine = record();
                    if let Some((held, rev)) = &current
                        && previous_process_is_gone(held, &mine)
                    {
                        let value = Bytes::from(serde_json::to_vec(&mine).expect("serialisable"));
                        let sent = Instant::now();
                        if let Ok(revision) = kv.update(&shard, value, *rev).await {
                            fence.extend(sent, ttl.saturating_sub(margin(ttl)));
                            shared.set_lease_problem(None);
                            info!(shard = %shard, previous_pid = held.pid, "took the shard's lease over from a previous process on this volume");
                            return Some(Lease {
                                kv,
                                shard,
                                ttl,
                                revision,
                                fence,
                            });
                        }
                        continue;
                    }
                    let holder = current
                        .map(|(r, _)| describe(&r))
                        .unwrap_or_else(|| "another runner".into());
                    let msg = format!(
                        "shard {shard} is held by {holder}; not serving. This runner takes over when that one stops or its lease expires (at most {:.0}s after its last heartbeat)",
                        ttl.as_secs_f64()
                    );
                    if attempt == 1 || attempt.is_multiple_of(20) {
                        warn!("{msg}");
                    }
                    shared.set_lease_problem(Some(msg));
                }
                Err(e) => {
                    if attempt == 1 || attempt.is_multiple_of(20) {
                        warn!(error = %e, "cannot take the shard's lease; retrying");
                    }
                    shared.set_lease_problem(Some(format!("cannot take the shard's lease: {e}")));
                }
            }
            let wait = (ttl / 10).clamp(Duration::from_millis(100), Duration::from_secs(1));
            tokio::select! {
                _ = cancel.cancelled() => return None,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Renews the lease every third of the lease time, and at once when `now` is notified,
    /// until `stop`. Returns when stopped, or when the lease was lost (another runner took
    /// the shard): then `lost` is cancelled.
    pub async fn keep(
        &mut self,
        record: RecordFn,
        now: &tokio::sync::Notify,
        stop: CancellationToken,
        lost: CancellationToken,
    ) {
        let every = self.ttl / 3;
        let mut failures = 0u32;
        loop {
            let wait = if failures == 0 {
                every
            } else {
                Duration::from_millis(500)
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
                _ = now.notified() => {}
            }
            let value = Bytes::from(serde_json::to_vec(&record()).expect("serialisable"));
            let sent = Instant::now();
            match self.kv.update(&self.shard, value, self.revision).await {
                Ok(rev) => {
                    self.revision = rev;
                    self.fence
                        .extend(sent, self.ttl.saturating_sub(margin(self.ttl)));
                    if failures > 0 {
                        info!("lease renewed again");
                    }
                    failures = 0;
                }
                Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => {
                    self.fence.close();
                    let entry = self.kv.entry(&self.shard).await.ok().flatten();
                    let current = entry.as_ref().and_then(|en| {
                        serde_json::from_slice::<ShardRecord>(&en.value)
                            .ok()
                            .map(|r| (r, en.revision))
                    });
                    // An update of ours that landed while its reply was lost (NATS restarted
                    // under it) leaves our own record at a newer revision: still ours.
                    if let Some((r, rev)) = &current
                        && same_holder(r, &record())
                    {
                        info!(
                            revision = rev,
                            "the lease record is still this runner's (an earlier renewal landed unacknowledged); renewing from it"
                        );
                        self.revision = *rev;
                        failures += 1;
                        continue;
                    }
                    let holder = current
                        .map(|(r, _)| describe(&r))
                        .unwrap_or_else(|| "nobody (it expired)".into());
                    error!(shard = %self.shard, holder = %holder, "lost the shard's lease (not renewed in time); stopping so that two runners never serve the shard");
                    lost.cancel();
                    return;
                }
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(10) {
                        warn!(error = %e, "cannot renew the shard's lease; retrying (batches are held once it could have expired)");
                    }
                }
            }
        }
    }

    /// Gives the lease up so a replacement can take the shard at once.
    pub async fn release(self) {
        self.fence.close();
        match tokio::time::timeout(
            Duration::from_secs(2),
            self.kv
                .delete_expect_revision(&self.shard, Some(self.revision)),
        )
        .await
        {
            Ok(Ok(())) => info!(shard = %self.shard, "gave up the shard's lease"),
            Ok(Err(e)) => warn!(error = %e, "could not give up the lease; it expires by itself"),
            Err(_) => warn!("could not give up the lease in time; it expires by itself"),
        }
    }
}

/// Whether `held` was written by an earlier process of this runner's volume on this host
/// that no longer runs.
fn previous_process_is_gone(held: &ShardRecord, mine: &ShardRecord) -> bool {
    !held.volume_id.is_empty()
        && held.volume_id == mine.volume_id
        && held.host == mine.host
        && held.pid != mine.pid
        && !pid_alive(held.pid)
}

fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // Signal 0 checks existence; EPERM means it exists but is someone else's.
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

/// Whether two registry records were written by the same runner process on the same
/// volume (its renewals differ only in heartbeat, state and counters).
fn same_holder(a: &ShardRecord, b: &ShardRecord) -> bool {
    a.pid == b.pid
        && a.host == b.host
        && a.started_at_ms == b.started_at_ms
        && a.volume_id == b.volume_id
        && a.shard_id == b.shard_id
}

/// Publishes a notice on `runner.notice.<shard>` (core NATS, best effort).
pub fn notice(
    client: &async_nats::Client,
    shard: &str,
    kind: NoticeKind,
    tenant: Option<&str>,
    detail: impl Into<String>,
) {
    let n = Notice {
        shard: shard.to_string(),
        at_ms: shared::now_ms(),
        kind,
        tenant: tenant.map(str::to_string),
        detail: detail.into(),
    };
    let client = client.clone();
    let subject = shared::placement::notice_subject(shard);
    let body = Bytes::from(serde_json::to_vec(&n).expect("serialisable"));
    tokio::spawn(async move {
        let _ = client.publish(subject, body).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_of_the_same_process_and_volume_is_still_ours() {
        let a = ShardRecord {
            shard_id: "shard-a".into(),
            admin_url: "http://127.0.0.1:7070".into(),
            version: "0.1.0".into(),
            state: shared::wire::RunnerState::Running,
            host: "vm".into(),
            pid: 42,
            started_at_ms: 1,
            heartbeat_at_ms: 10,
            lease_ms: 15_000,
            tenants: vec![],
            counters: Default::default(),
            events_read: 0,
            volume_id: "v1".into(),
        };
        let renewed = ShardRecord {
            heartbeat_at_ms: 20,
            state: shared::wire::RunnerState::Draining,
            ..a.clone()
        };
        assert!(same_holder(&a, &renewed));
        let restarted = ShardRecord {
            pid: 43,
            started_at_ms: 2,
            ..a.clone()
        };
        assert!(!same_holder(&a, &restarted), "another process");
        let other_volume = ShardRecord {
            volume_id: "v2".into(),
            ..a.clone()
        };
        assert!(!same_holder(&a, &other_volume));
    }

    /// Finding 8: a copy of a live volume (same volume id) started beside the original must
    /// not take the lease at once; a dead earlier process of the volume on this host may.
    #[test]
    fn only_a_dead_process_of_this_volume_on_this_host_is_taken_over_at_once() {
        let me = ShardRecord {
            shard_id: "shard-a".into(),
            admin_url: String::new(),
            version: String::new(),
            state: shared::wire::RunnerState::Starting,
            host: "h1".into(),
            pid: std::process::id(),
            started_at_ms: 2,
            heartbeat_at_ms: 2,
            lease_ms: 15_000,
            tenants: vec![],
            counters: Default::default(),
            events_read: 0,
            volume_id: "v1".into(),
        };
        let mut dead = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = dead.id();
        dead.wait().unwrap();
        let previous = ShardRecord {
            pid: dead_pid,
            started_at_ms: 1,
            ..me.clone()
        };
        assert!(previous_process_is_gone(&previous, &me));
        // The original, alive (this test's parent process stands in for it).
        let live = ShardRecord {
            pid: std::os::unix::process::parent_id(),
            ..previous.clone()
        };
        assert!(!previous_process_is_gone(&live, &me));
        // A copy on another host: the pid there means nothing here.
        let elsewhere = ShardRecord {
            host: "h2".into(),
            ..previous.clone()
        };
        assert!(!previous_process_is_gone(&elsewhere, &me));
        let other_volume = ShardRecord {
            volume_id: "v2".into(),
            ..previous
        };
        assert!(!previous_process_is_gone(&other_volume, &me));
    }
}
