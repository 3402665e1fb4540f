//! A saga declared in the saga file: a state machine whose transitions set data, emit
//! commands and arm timers.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::{Map, Number, Value};
use shared::ids::SagaName;

use super::template::{JsonTemplate, Scope, TextTemplate};
use super::{Command, Decision, EventView, InstanceView, Saga, TimerArm, Transition};

pub(super) struct Update {
    pub field: String,
    pub value: JsonTemplate,
    /// Add the (numeric) value to the field instead of replacing it.
    pub add: bool,
}

pub(super) struct Emit {
    pub subject: TextTemplate,
    pub payload: JsonTemplate,
}

pub(super) struct TransitionDef {
    pub from: Vec<String>,
    pub on: String,
    pub to: String,
    pub updates: Vec<Update>,
    pub emits: Vec<Emit>,
}

pub(super) struct TimerDef {
    pub name: String,
    /// Armed on entering this state, cancelled on leaving it.
    pub state: String,
    pub after: Duration,
    pub fire: String,
}

pub struct DeclarativeSaga {
    name: SagaName,
    initial: String,
    terminal: BTreeSet<String>,
    history: usize,
    transitions: Vec<TransitionDef>,
    /// (state or "*", event type) -> index in `transitions`
    index: HashMap<(String, String), usize>,
    timers: Vec<TimerDef>,
}

impl std::fmt::Debug for DeclarativeSaga {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeclarativeSaga")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl DeclarativeSaga {
    pub(super) fn new(
        name: SagaName,
        initial: String,
        terminal: BTreeSet<String>,
        history: usize,
        transitions: Vec<TransitionDef>,
        timers: Vec<TimerDef>,
    ) -> Self {
        let mut index = HashMap::new();
        for (i, t) in transitions.iter().enumerate() {
            for f in &t.from {
                index.insert((f.clone(), t.on.clone()), i);
            }
        }
        DeclarativeSaga {
            name,
            initial,
            terminal,
            history,
            transitions,
            index,
            timers,
        }
    }

    #[cfg(test)]
    pub(super) fn name_str(&self) -> &str {
        self.name.as_str()
    }

    fn find(&self, state: &str, event_type: &str) -> Option<&TransitionDef> {
        let exact = self.index.get(&(state.to_string(), event_type.to_string()));
        let any = || {
            if self.terminal.contains(state) {
                None
            } else {
                self.index.get(&("*".to_string(), event_type.to_string()))
            }
        };
        exact.or_else(any).map(|i| &self.transitions[*i])
    }
}

fn add_numbers(field: &str, cur: Option<&Value>, inc: &Value) -> Result<Value, String> {
    let inc = match inc {
        Value::Number(n) => n,
        other => return Err(format!("add to '{field}': {other} is not a number")),
    };
    let cur = match cur {
        None | Some(Value::Null) => return Ok(Value::Number(inc.clone())),
        Some(Value::Number(n)) => n,
        Some(other) => {
            return Err(format!(
                "add to '{field}': the instance holds {other}, not a number"
            ));
        }
    };
    if let (Some(a), Some(b)) = (cur.as_i64(), inc.as_i64())
        && let Some(s) = a.checked_add(b)
    {
        return Ok(Value::Number(s.into()));
    }
    let s = cur.as_f64().unwrap_or(0.0) + inc.as_f64().unwrap_or(0.0);
    Number::from_f64(s)
        .map(Value::Number)
        .ok_or_else(|| format!("add to '{field}': the sum is not a finite number"))
}

impl Saga for DeclarativeSaga {
    fn name(&self) -> &SagaName {
        &self.name
    }

    fn initial_state(&self) -> &str {
        &self.initial
    }

    fn history_limit(&self) -> usize {
        self.history
    }

    fn handle(
        &self,
        event: &EventView<'_>,
        instance: &InstanceView<'_>,
    ) -> Result<Decision, String> {
        let Some(t) = self.find(instance.state, event.event_type) else {
            return Ok(Decision::Ignore);
        };
        let before = Scope {
            tenant: event.tenant,
            saga: event.saga,
            event_id: event.id,
            event_type: event.event_type,
            key: event.key,
            seq: event.seq,
            time_ms: event.time_ms,
            event_data: event.data(),
            state: &t.to,
            version: instance.version + 1,
            instance_data: instance.data,
        };
        let mut data: Option<Map<String, Value>> = None;
        for u in &t.updates {
            let v = u.value.render(&before)?;
            let d = data.get_or_insert_with(|| instance.data.clone());
            let v = if u.add {
                add_numbers(&u.field, d.get(&u.field), &v)?
            } else {
                v
            };
            d.insert(u.field.clone(), v);
        }
        let after = Scope {
            instance_data: data.as_ref().unwrap_or(instance.data),
            ..before
        };
        let mut commands = Vec::with_capacity(t.emits.len());
        for e in &t.emits {
            let subject = e.subject.render_text(&after)?;
            let payload =
                serde_json::to_vec(&e.payload.render(&after)?).map_err(|e| e.to_string())?;
            commands.push(Command { subject, payload });
        }
        let (mut arm, mut cancel) = (Vec::new(), Vec::new());
        if t.to != instance.state {
            for tm in &self.timers {
                if tm.state == instance.state && instance.timers.iter().any(|r| r.name == tm.name) {
                    cancel.push(tm.name.clone());
                }
                if tm.state == t.to {
                    arm.push(TimerArm {
                        name: tm.name.clone(),
                        due_ms: event.time_ms.saturating_add(
                            u64::try_from(tm.after.as_millis()).unwrap_or(u64::MAX),
                        ),
                        fire: tm.fire.clone(),
                    });
                }
            }
        }
        Ok(Decision::Apply(Transition {
            to: t.to.clone(),
            data,
            commands,
            arm,
            cancel,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::SagaRegistry;
    use super::*;
    use serde_json::json;
    use shared::edge_storage::TimerRef;

    fn registry() -> SagaRegistry {
        SagaRegistry::from_toml(
            std::path::Path::new("docs/examples/sagas.toml"),
            include_str!("../../../docs/examples/sagas.toml"),
        )
        .unwrap()
    }

    fn decide(
        saga: &str,
        ty: &str,
        state: Option<&str>,
        data: &str,
        inst: &Map<String, Value>,
        timers: &[TimerRef],
    ) -> Result<Decision, String> {
        let reg = registry();
        let s = reg.get(saga).unwrap();
        let raw = serde_json::value::RawValue::from_string(data.to_string()).unwrap();
        let ev = EventView::new("t1", saga, "e-1", ty, "o-1", 7, 1_000, Some(&raw));
        let view = InstanceView {
            exists: state.is_some(),
            state: state.unwrap_or(s.initial_state()),
            version: 0,
            data: inst,
            timers,
        };
        s.handle(&ev, &view)
    }

    #[test]
    fn order_placed_starts_an_instance_emits_and_arms_the_payment_timer() {
        let d = decide(
            "order",
            "OrderPlaced",
            None,
            r#"{"amount": 25, "customer": "c-1"}"#,
            &Map::new(),
            &[],
        )
        .unwrap();
        let Decision::Apply(t) = d else {
            panic!("{d:?}")
        };
        assert_eq!(t.to, "awaiting_payment");
        assert_eq!(t.commands.len(), 1);
        assert_eq!(t.commands[0].subject, "cmd.t1.payments.request");
        let payload: Value = serde_json::from_slice(&t.commands[0].payload).unwrap();
        assert_eq!(payload["order_id"], json!("o-1"));
        assert_eq!(payload["amount"], json!(25));
        assert_eq!(t.arm.len(), 1);
        assert_eq!(t.arm[0].fire, "PaymentTimedOut");
        assert!(t.arm[0].due_ms > 1_000);
        assert_eq!(t.data.unwrap()["amount"], json!(25));
    }

    #[test]
    fn leaving_the_timed_state_cancels_the_timer() {
        let timers = [TimerRef {
            name: "payment_timeout".into(),
            due_ms: 5,
        }];
        let d = decide(
            "order",
            "PaymentCaptured",
            Some("awaiting_payment"),
            "{}",
            &Map::new(),
            &timers,
        )
        .unwrap();
        let Decision::Apply(t) = d else {
            panic!("{d:?}")
        };
        assert_eq!(t.to, "paid");
        assert_eq!(t.cancel, ["payment_timeout"]);
    }

    #[test]
    fn unhandled_types_and_terminal_states_are_ignored() {
        assert_eq!(
            decide("order", "PaymentCaptured", None, "{}", &Map::new(), &[]).unwrap(),
            Decision::Ignore
        );
        assert_eq!(
            decide(
                "order",
                "OrderCancelled",
                Some("shipped"),
                "{}",
                &Map::new(),
                &[]
            )
            .unwrap(),
            Decision::Ignore
        );
    }

    #[test]
    fn add_accumulates_numbers_and_rejects_non_numbers() {
        let mut inst = Map::new();
        inst.insert("balance".into(), json!(10));
        let d = decide(
            "account",
            "Deposited",
            Some("open"),
            r#"{"amount": 5}"#,
            &inst,
            &[],
        )
        .unwrap();
        let Decision::Apply(t) = d else {
            panic!("{d:?}")
        };
        assert_eq!(t.data.unwrap()["balance"], json!(15));
        let e = decide(
            "account",
            "Deposited",
            Some("open"),
            r#"{"amount": "lots"}"#,
            &inst,
            &[],
        )
        .unwrap_err();
        assert!(e.contains("is not a number"), "{e}");
        let e = decide("account", "Deposited", Some("open"), r#"{}"#, &inst, &[]).unwrap_err();
        assert_eq!(e, "the event has no event.data.amount");
    }
}
