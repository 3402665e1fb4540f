//! Sagas: the `Saga` trait the engine drives, the registry of sagas a runner serves, and the
//! declarative sagas loaded from the TOML saga file (`RUNNER_SAGAS`).
//!
//! An embedder adds sagas in code by implementing [`Saga`] and registering it with
//! [`SagaRegistry::add`] before calling [`crate::run`].

mod declarative;
mod spec;
pub mod template;

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use shared::edge_storage::TimerRef;
use shared::ids::SagaName;

pub use spec::SagaFileError;

/// An event (or a fired timer) as a saga sees it.
pub struct EventView<'a> {
    pub tenant: &'a str,
    pub saga: &'a str,
    /// The dedupe key; `timer:<name>:<due ms>` for a timer.
    pub id: &'a str,
    pub event_type: &'a str,
    /// The instance key.
    pub key: &'a str,
    /// Stream sequence; 0 for a timer.
    pub seq: u64,
    /// When the event was stored in the stream (or the timer was due), ms since the epoch.
    pub time_ms: u64,
    data_raw: Option<&'a RawValue>,
    data: OnceCell<Value>,
}

impl<'a> EventView<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tenant: &'a str,
        saga: &'a str,
        id: &'a str,
        event_type: &'a str,
        key: &'a str,
        seq: u64,
        time_ms: u64,
        data_raw: Option<&'a RawValue>,
    ) -> Self {
        EventView {
            tenant,
            saga,
            id,
            event_type,
            key,
            seq,
            time_ms,
            data_raw,
            data: OnceCell::new(),
        }
    }

    /// The event's `data`, parsed on first use (`null` when absent).
    pub fn data(&self) -> &Value {
        self.data.get_or_init(|| {
            self.data_raw
                .and_then(|r| serde_json::from_str(r.get()).ok())
                .unwrap_or(Value::Null)
        })
    }
}

/// An instance as a saga sees it; for an instance that does not exist yet, `exists` is false
/// and `state` is the saga's initial state.
pub struct InstanceView<'a> {
    pub exists: bool,
    pub state: &'a str,
    pub version: u64,
    pub data: &'a Map<String, Value>,
    pub timers: &'a [TimerRef],
}

/// What a saga decides for an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The state does not handle this event type: counted as ignored, nothing changes.
    Ignore,
    Apply(Transition),
}

/// A state change with its effects, written in the same transaction as the event's
/// checkpoint and dedupe marker.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transition {
    pub to: String,
    /// New instance data; `None` keeps it.
    pub data: Option<Map<String, Value>>,
    /// Commands to publish (through the outbox) on `cmd.<tenant>.…` subjects.
    pub commands: Vec<Command>,
    /// Timers to arm (an armed timer with the same name is replaced).
    pub arm: Vec<TimerArm>,
    /// Names of armed timers to cancel.
    pub cancel: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub subject: String,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimerArm {
    pub name: String,
    pub due_ms: u64,
    /// Event type delivered to the instance when it fires.
    pub fire: String,
}

/// A saga. Implementations must be deterministic: the same event on the same instance gives
/// the same decision, so that a replay rebuilds the same state and re-emits the same
/// commands (whose ids are then deduplicated by JetStream).
///
/// ```
/// use std::sync::Arc;
/// use runner::saga::{Decision, EventView, InstanceView, Saga, SagaRegistry, Transition};
/// use shared::ids::SagaName;
///
/// struct Refunds {
///     name: SagaName,
/// }
///
/// impl Saga for Refunds {
///     fn name(&self) -> &SagaName {
///         &self.name
///     }
///     fn initial_state(&self) -> &str {
///         "new"
///     }
///     fn handle(&self, ev: &EventView<'_>, inst: &InstanceView<'_>) -> Result<Decision, String> {
///         match (inst.state, ev.event_type) {
///             ("new", "RefundRequested") => Ok(Decision::Apply(Transition {
///                 to: "requested".into(),
///                 ..Default::default()
///             })),
///             _ => Ok(Decision::Ignore),
///         }
///     }
/// }
///
/// let mut sagas = SagaRegistry::default();
/// sagas.add(Arc::new(Refunds { name: SagaName::new("refund").unwrap() })).unwrap();
/// assert!(sagas.get("refund").is_some());
/// ```
pub trait Saga: Send + Sync + 'static {
    fn name(&self) -> &SagaName;
    /// State of an instance before its first event.
    fn initial_state(&self) -> &str;
    /// How many recent transitions to keep in each instance's history (0: none). Each kept
    /// entry is read and rewritten with its instance on every event, so history costs
    /// throughput.
    fn history_limit(&self) -> usize {
        0
    }
    /// Decides what `event` does to `instance`. An `Err` dead-letters the event with the
    /// message as the reason.
    fn handle(
        &self,
        event: &EventView<'_>,
        instance: &InstanceView<'_>,
    ) -> Result<Decision, String>;
}

/// The sagas a runner serves, by name.
#[derive(Clone, Default)]
pub struct SagaRegistry {
    sagas: BTreeMap<SagaName, Arc<dyn Saga>>,
}

impl SagaRegistry {
    /// Loads the declarative sagas of a saga file.
    pub fn from_file(path: &Path) -> Result<SagaRegistry, SagaFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| SagaFileError::unreadable(path, e))?;
        Self::from_toml(path, &text)
    }

    /// Loads the declarative sagas of saga-file text (`path` only names it in errors).
    pub fn from_toml(path: &Path, text: &str) -> Result<SagaRegistry, SagaFileError> {
        let mut reg = SagaRegistry::default();
        for saga in spec::load(path, text)? {
            let name = saga.name().clone();
            reg.sagas.insert(name, Arc::new(saga));
        }
        Ok(reg)
    }

    /// Adds a saga implemented in code. Fails if the name is taken.
    pub fn add(&mut self, saga: Arc<dyn Saga>) -> Result<(), String> {
        let name = saga.name().clone();
        if self.sagas.contains_key(&name) {
            return Err(format!("a saga named '{name}' is already registered"));
        }
        self.sagas.insert(name, saga);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Saga>> {
        self.sagas.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &SagaName> {
        self.sagas.keys()
    }

    pub fn len(&self) -> usize {
        self.sagas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sagas.is_empty()
    }
}
