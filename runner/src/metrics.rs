//! Prometheus metrics (`GET /metrics`). The event counters here are also what
//! `/admin/status` reports, so the two never disagree.
//!
//! Two registries: the shard's own series, always exposed, and the per-tenant ones
//! (`tenant` × `saga` labels), exposed while the runner serves at most
//! `RUNNER_METRICS_MAX_TENANTS` tenants. Above that only the shard's series remain, among
//! them the same counts summed per saga (`runner_saga_events_total`) and the shard's lag, so
//! a large shard cannot flood Prometheus with series. Units are base units (seconds).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use shared::wire::Counters;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SagaLabels {
    pub tenant: String,
    pub saga: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub tenant: String,
    pub saga: String,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SagaOutcomeLabels {
    pub saga: String,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: &'static str,
}

/// Every state `runner_state` has a series for (1 for the current one, 0 for the others).
pub const STATES: [shared::wire::RunnerState; 5] = [
    shared::wire::RunnerState::Starting,
    shared::wire::RunnerState::Running,
    shared::wire::RunnerState::Draining,
    shared::wire::RunnerState::Drained,
    shared::wire::RunnerState::Stopping,
];

/// Per-tenant series are dropped from `/metrics` above this many tenants, unless
/// `RUNNER_METRICS_MAX_TENANTS` says otherwise.
pub const DEFAULT_MAX_TENANTS: usize = 500;

/// Outcomes counted per event in `runner_events_total`.
pub mod outcome {
    pub const APPLIED: &str = "applied";
    pub const DEDUPED: &str = "deduped";
    pub const SKIPPED: &str = "skipped";
    pub const IGNORED: &str = "ignored";
    pub const DEAD_LETTERED: &str = "dead_lettered";
    pub const ALL: [&str; 5] = [APPLIED, DEDUPED, SKIPPED, IGNORED, DEAD_LETTERED];
}

pub struct Metrics {
    /// The shard's own series.
    pub registry: Registry,
    /// The per-tenant series.
    pub tenant_registry: Registry,
    /// Above this many served tenants, `tenant_registry` is left out of `/metrics`.
    pub max_tenants: usize,
    pub events: Family<OutcomeLabels, Counter>,
    /// `events` summed over tenants.
    pub saga_events: Family<SagaOutcomeLabels, Counter>,
    /// Stream sequences not yet applied, per tenant and saga (refreshed at each scrape).
    pub lag: Family<SagaLabels, Gauge>,
    /// `lag` summed over the shard (refreshed at each scrape; kept when lag is unknown).
    pub shard_lag: Gauge,
    /// When the lag gauges were last measured.
    pub lag_refreshed: std::sync::Mutex<Option<std::time::Instant>>,
    pub state: Family<StateLabels, Gauge>,
    pub dead_letters: Family<ReasonLabels, Counter>,
    /// Durable commit of one batch (write-out and sync), as MDBX's commit call takes it.
    pub commit_seconds: Histogram,
    /// How late timers fired: the batch's wall clock against the timer's due time.
    pub timer_delay: Histogram,
    pub outbox_oldest_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub lease_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub lease_ttl: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub timers_fired: Family<SagaLabels, Counter>,
    pub checkpoint: Family<SagaLabels, Gauge>,
    pub invalid_subjects: Counter,
    pub batches: Counter,
    pub published: Family<KindLabels, Counter>,
    pub publish_errors: Counter,
    pub storage_errors: Counter,
    pub apply_latency: Histogram,
    pub batch_seconds: Histogram,
    pub reader_position: Gauge,
    /// When the main reader's last batch was committed (unix seconds).
    pub last_commit: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub outbox_depth: Gauge,
    pub timers_pending: Gauge,
    /// The volume's data file, the pages of it holding data (freed pages, reused before the
    /// file grows, not counted), its upper bound (`RUNNER_VOLUME_MAX_MB`) and the space left
    /// to unprivileged writers on the filesystem holding it; measured at each scrape.
    pub volume_file_bytes: Gauge,
    pub volume_used_bytes: Gauge,
    pub volume_max_bytes: Gauge,
    pub volume_disk_available_bytes: Gauge,
    pub nats_connected: Gauge,
    pub reader_recreates: Counter,
    /// Events delivered to this runner by its readers (its tenants' or not): its read share.
    pub events_read: Counter,
    /// Events applied, all tenants together (the per-tenant split is `runner_events_total`):
    /// the read share's other side.
    pub events_applied: Counter,
    /// Tenants with events in the stream that no placement names, and their events (placement
    /// mode; measured at each scrape).
    pub unplaced_tenants: Gauge,
    pub unplaced_events: Gauge,
    /// Stream sequences the main reader found removed (by the stream's limits) before it read
    /// them.
    pub stream_gap: Counter,
    /// Snapshots taken, by result (ok, failed).
    pub snapshots: Family<ResultLabels, Counter>,
    pub snapshot_copy_seconds: Histogram,
    pub snapshot_upload_seconds: Histogram,
    pub snapshot_last_timestamp: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub snapshot_bytes: Gauge,
    /// 1 while a restored volume's guard against publishing again is installed.
    pub restore_guard: Gauge,
    /// Commands and dead letters not published again after a restore (the lost volume had).
    pub restore_suppressed: Counter,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

impl Metrics {
    pub fn new() -> Metrics {
        Self::with_max_tenants(DEFAULT_MAX_TENANTS)
    }

    pub fn with_max_tenants(max_tenants: usize) -> Metrics {
        let mut registry = Registry::with_prefix("runner");
        let mut tenant_registry = Registry::with_prefix("runner");
        let m = Metrics {
            max_tenants,
            events: Family::default(),
            saga_events: Family::default(),
            lag: Family::default(),
            shard_lag: Gauge::default(),
            lag_refreshed: Default::default(),
            state: Family::default(),
            dead_letters: Family::default(),
            // 50 µs .. ~13 s, doubling.
            commit_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 19)),
            // 1 ms .. ~65 s, doubling.
            timer_delay: Histogram::new(exponential_buckets(0.001, 2.0, 17)),
            outbox_oldest_age: Gauge::default(),
            lease_age: Gauge::default(),
            lease_ttl: Gauge::default(),
            timers_fired: Family::default(),
            checkpoint: Family::default(),
            invalid_subjects: Counter::default(),
            batches: Counter::default(),
            published: Family::default(),
            publish_errors: Counter::default(),
            storage_errors: Counter::default(),
            // 50 µs .. ~26 s in steps of 25%, fine enough to read p50/p99 off the buckets.
            apply_latency: Histogram::new(exponential_buckets(0.000_05, 1.25, 60)),
            batch_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 18)),
            reader_position: Gauge::default(),
            last_commit: Gauge::default(),
            outbox_depth: Gauge::default(),
            timers_pending: Gauge::default(),
            volume_file_bytes: Gauge::default(),
            volume_used_bytes: Gauge::default(),
            volume_max_bytes: Gauge::default(),
            volume_disk_available_bytes: Gauge::default(),
            nats_connected: Gauge::default(),
            reader_recreates: Counter::default(),
            events_read: Counter::default(),
            events_applied: Counter::default(),
            unplaced_tenants: Gauge::default(),
            unplaced_events: Gauge::default(),
            stream_gap: Counter::default(),
            snapshots: Family::default(),
            // 10 ms .. ~20 min, doubling.
            snapshot_copy_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 18)),
            snapshot_upload_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 18)),
            snapshot_last_timestamp: Gauge::default(),
            snapshot_bytes: Gauge::default(),
            restore_guard: Gauge::default(),
            restore_suppressed: Counter::default(),
            registry: Registry::default(),
            tenant_registry: Registry::default(),
        };
        tenant_registry.register("events", "Events handled, by tenant, saga and outcome (applied, deduped, skipped, ignored, dead_lettered)", m.events.clone());
        tenant_registry.register(
            "timers_fired",
            "Timers fired, by tenant and saga",
            m.timers_fired.clone(),
        );
        tenant_registry.register(
            "checkpoint_sequence",
            "Last stream sequence applied, by tenant and saga",
            m.checkpoint.clone(),
        );
        tenant_registry.register(
            "lag_sequences",
            "Stream sequences after the last one applied, by tenant and saga (0 when caught up; measured at each scrape)",
            m.lag.clone(),
        );
        registry.register(
            "saga_events",
            "Events handled, by saga and outcome, all tenants together",
            m.saga_events.clone(),
        );
        registry.register(
            "shard_lag_sequences",
            "Stream sequences after the last one applied, summed over the shard's tenants and sagas (measured at each scrape)",
            m.shard_lag.clone(),
        );
        registry.register(
            "state",
            "The runner's state: 1 for the current one (starting, running, draining, drained, stopping)",
            m.state.clone(),
        );
        registry.register(
            "build",
            "The runner's version",
            prometheus_client::metrics::info::Info::new(vec![(
                "version",
                env!("CARGO_PKG_VERSION"),
            )]),
        );
        registry.register(
            "dead_letters",
            "Events and timers dead-lettered, by reason code",
            m.dead_letters.clone(),
        );
        registry.register(
            "commit_seconds",
            "Durable commit of one batch to the volume (write-out and sync)",
            m.commit_seconds.clone(),
        );
        registry.register(
            "timer_delay_seconds",
            "How late timers fired, against their due time",
            m.timer_delay.clone(),
        );
        registry.register(
            "outbox_oldest_age_seconds",
            "Age of the oldest message waiting in the outbox (0 when empty)",
            m.outbox_oldest_age.clone(),
        );
        registry.register(
            "lease_renewal_age_seconds",
            "Time since the shard's lease was last renewed",
            m.lease_age.clone(),
        );
        registry.register(
            "lease_ttl_seconds",
            "The shard's lease time: another runner may take the shard this long after the last renewal",
            m.lease_ttl.clone(),
        );
        registry.register(
            "snapshots",
            "Snapshots of the volume taken, by result (ok, failed)",
            m.snapshots.clone(),
        );
        registry.register(
            "snapshot_copy_seconds",
            "Time to copy the volume for a snapshot (one read transaction; applying goes on)",
            m.snapshot_copy_seconds.clone(),
        );
        registry.register(
            "snapshot_upload_seconds",
            "Time to store a snapshot's copy in the Object Store bucket",
            m.snapshot_upload_seconds.clone(),
        );
        registry.register(
            "snapshot_last_timestamp_seconds",
            "When the last snapshot stored by this runner was taken (unix time; 0: none yet)",
            m.snapshot_last_timestamp.clone(),
        );
        registry.register(
            "snapshot_bytes",
            "Size of the last snapshot stored by this runner",
            m.snapshot_bytes.clone(),
        );
        registry.register(
            "restore_guard",
            "1 while a restored volume skips commands and dead letters its lost predecessor published",
            m.restore_guard.clone(),
        );
        registry.register(
            "restore_suppressed",
            "Commands and dead letters not published again after a restore, because the lost volume had published them",
            m.restore_suppressed.clone(),
        );
        registry.register(
            "invalid_subjects",
            "Events whose subject names no valid tenant or saga",
            m.invalid_subjects.clone(),
        );
        registry.register(
            "batches",
            "Batches committed to the volume",
            m.batches.clone(),
        );
        registry.register(
            "outbox_published",
            "Outbox messages published and acknowledged, by kind (command, dead_letter)",
            m.published.clone(),
        );
        registry.register(
            "outbox_publish_errors",
            "Outbox publishes that failed and will be retried",
            m.publish_errors.clone(),
        );
        registry.register(
            "storage_errors",
            "Volume transactions that failed and were retried",
            m.storage_errors.clone(),
        );
        registry.register(
            "apply_latency_seconds",
            "Time from an event being stored in the stream to its batch being committed",
            m.apply_latency.clone(),
        );
        registry.register(
            "batch_seconds",
            "Time to apply and commit one batch",
            m.batch_seconds.clone(),
        );
        registry.register(
            "reader_position",
            "Stream sequence up to which every live tenant's events are handled",
            m.reader_position.clone(),
        );
        registry.register(
            "last_commit_timestamp_seconds",
            "When the main reader's last batch was committed (unix time)",
            m.last_commit.clone(),
        );
        registry.register(
            "outbox_depth",
            "Messages waiting in the outbox",
            m.outbox_depth.clone(),
        );
        registry.register(
            "timers_pending",
            "Timers waiting to fire",
            m.timers_pending.clone(),
        );
        registry.register(
            "volume_file_bytes",
            "Size of the volume's data file",
            m.volume_file_bytes.clone(),
        );
        registry.register(
            "volume_used_bytes",
            "Pages of the volume's data file holding data (freed pages, reused before the file grows, not counted)",
            m.volume_used_bytes.clone(),
        );
        registry.register(
            "volume_max_bytes",
            "Upper bound of the volume's data file (RUNNER_VOLUME_MAX_MB); commits fail beyond it",
            m.volume_max_bytes.clone(),
        );
        registry.register(
            "volume_disk_available_bytes",
            "Space left on the filesystem holding the volume",
            m.volume_disk_available_bytes.clone(),
        );
        registry.register(
            "nats_connected",
            "1 when connected to NATS",
            m.nats_connected.clone(),
        );
        registry.register(
            "reader_recreates",
            "Times a reader recreated its consumer (errors, gaps, reconnects)",
            m.reader_recreates.clone(),
        );
        registry.register(
            "events_read",
            "Events delivered to this runner by its readers, its own tenants' or not (its read share: beside the applied ones, what reading costs it)",
            m.events_read.clone(),
        );
        registry.register(
            "events_applied",
            "Events applied, all tenants together (per tenant: runner_events_total{outcome=\"applied\"})",
            m.events_applied.clone(),
        );
        registry.register(
            "unplaced_tenants",
            "Tenants with events in the event stream that no placement names (placement mode; their events wait in the stream)",
            m.unplaced_tenants.clone(),
        );
        registry.register(
            "unplaced_events",
            "Events in the event stream of tenants no placement names (placement mode)",
            m.unplaced_events.clone(),
        );
        registry.register(
            "stream_gap_sequences",
            "Stream sequences removed by the stream's limits before the main reader read them (their events were never applied)",
            m.stream_gap.clone(),
        );
        Metrics {
            registry,
            tenant_registry,
            ..m
        }
    }

    /// Sets `runner_state` to `state`.
    pub fn set_state(&self, state: shared::wire::RunnerState) {
        for s in STATES {
            self.state
                .get_or_create(&StateLabels { state: s.as_str() })
                .set(i64::from(s == state));
        }
    }

    /// Counters of one tenant+saga.
    pub fn counters(&self, tenant: &str, saga: &str) -> Counters {
        let get = |o: &'static str| {
            self.events
                .get(&OutcomeLabels {
                    tenant: tenant.to_string(),
                    saga: saga.to_string(),
                    outcome: o,
                })
                .map(|c| c.get())
                .unwrap_or(0)
        };
        Counters {
            applied: get(outcome::APPLIED),
            deduped: get(outcome::DEDUPED),
            skipped: get(outcome::SKIPPED),
            ignored: get(outcome::IGNORED),
            dead_lettered: get(outcome::DEAD_LETTERED),
            timers_fired: self
                .timers_fired
                .get(&SagaLabels {
                    tenant: tenant.to_string(),
                    saga: saga.to_string(),
                })
                .map(|c| c.get())
                .unwrap_or(0),
        }
    }

    /// The text exposition; the per-tenant series only while `tenants` is at most
    /// `max_tenants`.
    pub fn encode(&self, tenants: usize) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::new();
        encode_registry(&mut out, &self.registry).expect("writing to a String cannot fail");
        if tenants <= self.max_tenants {
            encode_registry(&mut out, &self.tenant_registry)
                .expect("writing to a String cannot fail");
        }
        encode_eof(&mut out).expect("writing to a String cannot fail");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
