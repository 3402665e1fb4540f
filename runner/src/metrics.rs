//! Prometheus metrics (`GET /metrics`). The event counters here are also what
//! `/admin/status` reports, so the two never disagree.

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
    pub registry: Registry,
    pub events: Family<OutcomeLabels, Counter>,
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
    pub last_commit_ms: Gauge,
    pub outbox_depth: Gauge,
    pub timers_pending: Gauge,
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
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("runner");
        let m = Metrics {
            events: Family::default(),
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
            last_commit_ms: Gauge::default(),
            outbox_depth: Gauge::default(),
            timers_pending: Gauge::default(),
            nats_connected: Gauge::default(),
            reader_recreates: Counter::default(),
            events_read: Counter::default(),
            events_applied: Counter::default(),
            unplaced_tenants: Gauge::default(),
            unplaced_events: Gauge::default(),
            stream_gap: Counter::default(),
            registry: Registry::default(),
        };
        registry.register("events", "Events handled, by tenant, saga and outcome (applied, deduped, skipped, ignored, dead_lettered)", m.events.clone());
        registry.register(
            "timers_fired",
            "Timers fired, by tenant and saga",
            m.timers_fired.clone(),
        );
        registry.register(
            "checkpoint_sequence",
            "Last stream sequence applied, by tenant and saga",
            m.checkpoint.clone(),
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
            "last_commit_unix_ms",
            "When the main reader's last batch was committed (ms since the epoch)",
            m.last_commit_ms.clone(),
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
        Metrics { registry, ..m }
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

    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
