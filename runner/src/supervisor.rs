//! The runner's tasks, by name, under one cancellation tree.
//!
//! The root token is cancelled only when the runner gives up everything at once; each task
//! runs with a child token of its own, so shutdown can stop them one at a time, in the
//! order `app::stop` spells out (readers before the engine, the engine before the relay's
//! final flush, the lease last), logging how long each took. A stop requested by a signal
//! or by a task (a lost lease, a recreated stream) is a separate child token that only
//! says *that* the runner should stop; it cancels no task by itself.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Owns the cancellation tree.
pub struct Supervisor {
    root: CancellationToken,
    requested: CancellationToken,
    started: Instant,
}

/// A running task: its name, its token, and its result.
pub struct Task<T> {
    name: &'static str,
    stop: CancellationToken,
    handle: JoinHandle<T>,
}

impl Supervisor {
    pub fn new() -> Supervisor {
        let root = CancellationToken::new();
        let requested = root.child_token();
        Supervisor {
            root,
            requested,
            started: Instant::now(),
        }
    }

    /// Fires once a stop was requested (a signal, or [`Supervisor::request_stop`]); start-up
    /// steps that wait (connecting, the lease) give up on it.
    pub fn requested(&self) -> &CancellationToken {
        &self.requested
    }

    pub fn request_stop(&self) {
        self.requested.cancel();
    }

    /// Requests a stop on SIGTERM or SIGINT.
    pub fn stop_on_signals(&self) {
        let requested = self.requested.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
            let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
            tokio::select! {
                _ = term.recv() => info!("SIGTERM: stopping"),
                _ = int.recv() => info!("SIGINT: stopping"),
            }
            requested.cancel();
        });
    }

    /// Starts `f` as the task `name`, with a child token of the root that stops it.
    pub fn spawn<T, F, Fut>(&self, name: &'static str, f: F) -> Task<T>
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let stop = self.root.child_token();
        let handle = tokio::spawn(f(stop.clone()));
        Task { name, stop, handle }
    }

    /// Time since the supervisor started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Supervisor {
    /// Whatever is still running when the runner returns is told to stop.
    fn drop(&mut self) {
        self.root.cancel();
    }
}

impl<T> Task<T> {
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Tells the task to stop and waits for it; `None` if it panicked.
    pub async fn stop(self) -> Option<T> {
        let at = Instant::now();
        self.stop.cancel();
        let out = self.handle.await;
        let ms = at.elapsed().as_millis() as u64;
        match out {
            Ok(v) => {
                info!(task = self.name, elapsed_ms = ms, "stopped");
                Some(v)
            }
            Err(e) => {
                warn!(task = self.name, error = %e, "task ended abnormally");
                None
            }
        }
    }

    /// Like [`Task::stop`], but waits at most `within`; the task is aborted after that.
    pub async fn stop_within(mut self, within: Duration) -> Option<T> {
        self.stop.cancel();
        match tokio::time::timeout(within, &mut self.handle).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(_)) => None,
            Err(_) => {
                warn!(
                    task = self.name,
                    within_ms = within.as_millis() as u64,
                    "did not stop in time; aborted"
                );
                self.handle.abort();
                None
            }
        }
    }

    /// Stops the task where it is, without waiting for it to wind down.
    pub fn abort(self) {
        self.handle.abort();
        info!(task = self.name, "aborted");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tasks stop one at a time, each only when told; the requested token cancels none of
    /// them; dropping the supervisor cancels the rest.
    #[tokio::test]
    async fn tasks_stop_in_the_order_they_are_told_and_the_rest_with_the_root() {
        let sup = Supervisor::new();
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mk = |name: &'static str| {
            let order = order.clone();
            sup.spawn(name, move |stop| async move {
                stop.cancelled().await;
                order.lock().unwrap().push(name);
                name
            })
        };
        let (a, b, c) = (mk("a"), mk("b"), mk("c"));
        sup.request_stop();
        tokio::task::yield_now().await;
        assert!(
            order.lock().unwrap().is_empty(),
            "a stop request stopped a task"
        );
        assert_eq!(b.stop().await, Some("b"));
        assert_eq!(a.stop_within(Duration::from_secs(5)).await, Some("a"));
        assert_eq!(*order.lock().unwrap(), vec!["b", "a"]);
        let c_stop = c.stop.clone();
        drop(sup);
        assert!(c_stop.is_cancelled());
        assert_eq!(c.handle.await.unwrap(), "c");
    }

    /// A task that ignores its token is aborted after the bound.
    #[tokio::test]
    async fn a_task_that_does_not_stop_is_aborted_after_the_bound() {
        let sup = Supervisor::new();
        let t = sup.spawn("stuck", |_stop| async {
            std::future::pending::<()>().await;
        });
        assert_eq!(t.stop_within(Duration::from_millis(20)).await, None);
    }
}
