//! `{{path}}` templates over an event and an instance, used for command subjects, payloads
//! and instance data updates in the saga file.
//!
//! A string that is exactly one placeholder (`"{{event.data.amount}}"`) becomes the JSON
//! value at that path, keeping its type. Any other string is text with placeholders replaced
//! by the values' text. Paths: `tenant`, `saga`, `event.{id,type,key,seq,time}`,
//! `event.data.<field>...`, `instance.{key,state,version}`, `instance.data.<field>...`.

use serde_json::{Map, Value};

/// A parsed template string.
#[derive(Debug, Clone, PartialEq)]
pub struct TextTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Path(Path),
}

/// A validated placeholder path.
#[derive(Debug, Clone, PartialEq)]
pub enum Path {
    Tenant,
    Saga,
    EventId,
    EventType,
    EventKey,
    EventSeq,
    EventTime,
    EventData(Vec<String>),
    InstanceKey,
    InstanceState,
    InstanceVersion,
    InstanceData(Vec<String>),
}

impl Path {
    fn parse(s: &str) -> Result<Path, String> {
        let segs: Vec<&str> = s.split('.').map(str::trim).collect();
        if segs.iter().any(|p| p.is_empty()) {
            return Err(format!("'{{{{{s}}}}}' has an empty path segment"));
        }
        let tail = |n: usize| segs[n..].iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Ok(match segs.as_slice() {
            ["tenant"] => Path::Tenant,
            ["saga"] => Path::Saga,
            ["event", "id"] => Path::EventId,
            ["event", "type"] => Path::EventType,
            ["event", "key"] => Path::EventKey,
            ["event", "seq"] => Path::EventSeq,
            ["event", "time"] => Path::EventTime,
            ["instance", "data"] => {
                return Err(format!(
                    "'{{{{{s}}}}}' names no field: write {s}.<field>, e.g. {s}.amount"
                ));
            }
            ["event", "data", ..] => Path::EventData(tail(2)),
            ["instance", "key"] => Path::InstanceKey,
            ["instance", "state"] => Path::InstanceState,
            ["instance", "version"] => Path::InstanceVersion,
            ["instance", "data", ..] => Path::InstanceData(tail(2)),
            _ => {
                return Err(format!(
                    "unknown placeholder '{{{{{s}}}}}' (known: tenant, saga, event.id, event.type, event.key, event.seq, event.time, event.data.*, instance.key, instance.state, instance.version, instance.data.*)"
                ));
            }
        })
    }

    fn describe(&self) -> String {
        match self {
            Path::EventData(p) => format!("event.data.{}", p.join(".")),
            Path::InstanceData(p) => format!("instance.data.{}", p.join(".")),
            other => format!("{other:?}"),
        }
    }
}

/// What templates are rendered against.
pub struct Scope<'a> {
    pub tenant: &'a str,
    pub saga: &'a str,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub key: &'a str,
    pub seq: u64,
    pub time_ms: u64,
    pub event_data: &'a Value,
    pub state: &'a str,
    pub version: u64,
    pub instance_data: &'a Map<String, Value>,
}

fn lookup<'v>(root: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(root, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

impl Scope<'_> {
    fn get(&self, p: &Path) -> Result<Value, String> {
        Ok(match p {
            Path::Tenant => self.tenant.into(),
            Path::Saga => self.saga.into(),
            Path::EventId => self.event_id.into(),
            Path::EventType => self.event_type.into(),
            Path::EventKey | Path::InstanceKey => self.key.into(),
            Path::EventSeq => self.seq.into(),
            Path::EventTime => self.time_ms.into(),
            Path::InstanceState => self.state.into(),
            Path::InstanceVersion => self.version.into(),
            Path::EventData(path) => lookup(self.event_data, path)
                .cloned()
                .ok_or_else(|| format!("the event has no {}", p.describe()))?,
            Path::InstanceData(path) => {
                let (first, rest) = path.split_first().expect("non-empty");
                self.instance_data
                    .get(first)
                    .and_then(|v| lookup(v, rest))
                    .cloned()
                    .ok_or_else(|| format!("the instance has no {}", p.describe()))?
            }
        })
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl TextTemplate {
    /// Parses `s`; fails on an unclosed `{{` or an unknown path.
    pub fn parse(s: &str) -> Result<TextTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Lit(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("'{s}' has a '{{{{' without a matching '}}}}'"))?;
            parts.push(Part::Path(Path::parse(after[..close].trim())?));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        Ok(TextTemplate { parts })
    }

    /// The template is a single placeholder: it renders to a JSON value of any type.
    pub fn single_path(&self) -> Option<&Path> {
        match self.parts.as_slice() {
            [Part::Path(p)] => Some(p),
            _ => None,
        }
    }

    /// The literal text before the first placeholder.
    pub fn literal_prefix(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.push_str(l),
                Part::Path(_) => break,
            }
        }
        out
    }

    pub fn starts_with_tenant_after(&self, lit: &str) -> bool {
        matches!(self.parts.as_slice(), [Part::Lit(l), Part::Path(Path::Tenant), Part::Lit(rest), ..] if l == lit && rest.starts_with('.'))
    }

    pub fn render_text(&self, scope: &Scope) -> Result<String, String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.push_str(l),
                Part::Path(path) => out.push_str(&as_text(&scope.get(path)?)),
            }
        }
        Ok(out)
    }

    pub fn render_value(&self, scope: &Scope) -> Result<Value, String> {
        match self.single_path() {
            Some(p) => scope.get(p),
            None => self.render_text(scope).map(Value::String),
        }
    }
}

/// A JSON value whose strings are templates.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTemplate {
    Literal(Value),
    Text(TextTemplate),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    /// Compiles a TOML value from the saga file.
    pub fn from_toml(v: &toml::Value) -> Result<JsonTemplate, String> {
        Ok(match v {
            toml::Value::String(s) => {
                let t = TextTemplate::parse(s)?;
                if t.parts.iter().all(|p| matches!(p, Part::Lit(_))) {
                    JsonTemplate::Literal(Value::String(s.clone()))
                } else {
                    JsonTemplate::Text(t)
                }
            }
            toml::Value::Integer(i) => JsonTemplate::Literal((*i).into()),
            toml::Value::Float(f) => JsonTemplate::Literal(
                serde_json::Number::from_f64(*f)
                    .map(Value::Number)
                    .ok_or_else(|| format!("{f} is not a JSON number"))?,
            ),
            toml::Value::Boolean(b) => JsonTemplate::Literal((*b).into()),
            toml::Value::Datetime(d) => JsonTemplate::Literal(d.to_string().into()),
            toml::Value::Array(a) => JsonTemplate::Array(
                a.iter()
                    .map(JsonTemplate::from_toml)
                    .collect::<Result<_, _>>()?,
            ),
            toml::Value::Table(t) => JsonTemplate::Object(
                t.iter()
                    .map(|(k, v)| Ok((k.clone(), JsonTemplate::from_toml(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }

    pub fn render(&self, scope: &Scope) -> Result<Value, String> {
        Ok(match self {
            JsonTemplate::Literal(v) => v.clone(),
            JsonTemplate::Text(t) => t.render_value(scope)?,
            JsonTemplate::Array(a) => Value::Array(
                a.iter()
                    .map(|t| t.render(scope))
                    .collect::<Result<_, _>>()?,
            ),
            JsonTemplate::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, t)| Ok((k.clone(), t.render(scope)?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope<'a>(data: &'a Value, inst: &'a Map<String, Value>) -> Scope<'a> {
        Scope {
            tenant: "t1",
            saga: "order",
            event_id: "e-1",
            event_type: "OrderPlaced",
            key: "o-9",
            seq: 42,
            time_ms: 1000,
            event_data: data,
            state: "awaiting_payment",
            version: 1,
            instance_data: inst,
        }
    }

    #[test]
    fn single_placeholders_keep_their_type() {
        let data = json!({"amount": 12.5, "items": [{"sku": "a"}]});
        let inst = Map::new();
        let s = scope(&data, &inst);
        assert_eq!(
            TextTemplate::parse("{{event.data.amount}}")
                .unwrap()
                .render_value(&s)
                .unwrap(),
            json!(12.5)
        );
        assert_eq!(
            TextTemplate::parse("{{ event.data.items.0.sku }}")
                .unwrap()
                .render_value(&s)
                .unwrap(),
            json!("a")
        );
        assert_eq!(
            TextTemplate::parse("{{event.seq}}")
                .unwrap()
                .render_value(&s)
                .unwrap(),
            json!(42)
        );
    }

    #[test]
    fn mixed_text_is_interpolated() {
        let data = json!({"amount": 3});
        let inst = Map::new();
        let t = TextTemplate::parse("cmd.{{tenant}}.pay.{{instance.state}}-{{event.data.amount}}")
            .unwrap();
        assert_eq!(
            t.render_text(&scope(&data, &inst)).unwrap(),
            "cmd.t1.pay.awaiting_payment-3"
        );
        assert!(t.starts_with_tenant_after("cmd."));
        assert!(
            !TextTemplate::parse("cmd.x.{{tenant}}")
                .unwrap()
                .starts_with_tenant_after("cmd.")
        );
    }

    #[test]
    fn missing_values_and_bad_templates_say_what() {
        let data = json!({});
        let inst = Map::new();
        let e = TextTemplate::parse("{{event.data.amount}}")
            .unwrap()
            .render_value(&scope(&data, &inst))
            .unwrap_err();
        assert_eq!(e, "the event has no event.data.amount");
        assert!(
            TextTemplate::parse("{{event.data")
                .unwrap_err()
                .contains("without a matching")
        );
        assert!(
            TextTemplate::parse("{{evnt.id}}")
                .unwrap_err()
                .contains("unknown placeholder '{{evnt.id}}'")
        );
        assert!(
            TextTemplate::parse("{{event..id}}")
                .unwrap_err()
                .contains("empty path segment")
        );
    }

    #[test]
    fn json_templates_render_nested_values() {
        let v: toml::Value = toml::from_str(r#"p = { id = "{{instance.key}}", n = 1, tags = ["x", "{{event.type}}"], note = "order {{instance.key}}" }"#).unwrap();
        let t = JsonTemplate::from_toml(&v["p"]).unwrap();
        let data = json!({});
        let inst = Map::new();
        assert_eq!(
            t.render(&scope(&data, &inst)).unwrap(),
            json!({"id": "o-9", "n": 1, "tags": ["x", "OrderPlaced"], "note": "order o-9"})
        );
    }
}
