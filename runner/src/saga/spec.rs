//! The saga file: its TOML schema, and the checks that turn it into declarative sagas, with
//! every error pointing at a line and column.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use shared::ids::SagaName;
use toml::Spanned;

use super::declarative::{DeclarativeSaga, Emit, TimerDef, TransitionDef, Update};
use super::template::{JsonTemplate, TextTemplate};

/// A saga file that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagaFileError {
    pub path: PathBuf,
    /// 1-based line and column, when the error has a place in the file.
    pub location: Option<(usize, usize)>,
    pub message: String,
}

impl std::fmt::Display for SagaFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.location {
            Some((l, c)) => write!(
                f,
                "saga file {}:{l}:{c}: {}",
                self.path.display(),
                self.message
            ),
            None => write!(f, "saga file {}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for SagaFileError {}

impl SagaFileError {
    pub(super) fn unreadable(path: &Path, e: std::io::Error) -> Self {
        SagaFileError {
            path: path.to_path_buf(),
            location: None,
            message: format!("cannot read it: {e} (set RUNNER_SAGAS to the saga TOML file)"),
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: Option<Range<usize>>, message: impl Into<String>) -> SagaFileError {
        SagaFileError {
            path: self.path.to_path_buf(),
            location: span.map(|s| line_col(self.text, s.start)),
            message: message.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    saga: Vec<Spanned<SagaSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SagaSpec {
    name: Spanned<String>,
    initial: Option<Spanned<String>>,
    #[serde(default)]
    terminal: Vec<Spanned<String>>,
    history: Option<Spanned<i64>>,
    #[serde(default, rename = "transition")]
    transitions: Vec<Spanned<TransitionSpec>>,
    #[serde(default, rename = "timer")]
    timers: Vec<Spanned<TimerSpec>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionSpec {
    from: Spanned<OneOrMany>,
    on: Spanned<String>,
    to: Spanned<String>,
    set: Option<Spanned<toml::Table>>,
    add: Option<Spanned<toml::Table>>,
    #[serde(default)]
    emit: Vec<Spanned<EmitSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmitSpec {
    subject: Spanned<String>,
    payload: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimerSpec {
    name: Option<Spanned<String>>,
    state: Spanned<String>,
    after: Spanned<String>,
    fire: Spanned<String>,
}

fn state_name(cx: &Ctx, s: &Spanned<String>, what: &str) -> Result<String, SagaFileError> {
    let v = s.get_ref().trim();
    if v.is_empty() {
        return Err(cx.err(Some(s.span()), format!("{what} is empty")));
    }
    Ok(v.to_string())
}

/// Parses and checks a saga file.
pub(super) fn load(path: &Path, text: &str) -> Result<Vec<DeclarativeSaga>, SagaFileError> {
    let cx = Ctx { path, text };
    let file: FileSpec =
        toml::from_str(text).map_err(|e| cx.err(e.span(), e.message().trim().to_string()))?;
    if file.saga.is_empty() {
        return Err(cx.err(
            None,
            "it declares no saga; add a [[saga]] table (see docs/sagas.md)",
        ));
    }
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for saga in file.saga {
        let span = saga.span();
        let s = saga.into_inner();
        let name = SagaName::new(s.name.get_ref().clone())
            .map_err(|e| cx.err(Some(s.name.span()), e.to_string()))?;
        if let Some(prev) = seen.insert(name.clone(), s.name.span()) {
            let (l, _) = line_col(text, prev.start);
            return Err(cx.err(
                Some(s.name.span()),
                format!("saga '{name}' is declared twice (first on line {l})"),
            ));
        }
        out.push(load_saga(&cx, name, s, span)?);
    }
    Ok(out)
}

/// A transition's `set` and `add` tables.
fn load_updates(cx: &Ctx, t: &TransitionSpec) -> Result<Vec<Update>, SagaFileError> {
    let mut updates = Vec::new();
    for (table, add) in [(&t.set, false), (&t.add, true)] {
        if let Some(table) = table {
            for (field, v) in table.get_ref() {
                let tmpl = JsonTemplate::from_toml(v).map_err(|e| cx.err(Some(table.span()), e))?;
                updates.push(Update {
                    field: field.clone(),
                    value: tmpl,
                    add,
                });
            }
        }
    }
    Ok(updates)
}

/// A transition's `[[saga.transition.emit]]` entries: commands on the tenant's subjects.
fn load_emits(cx: &Ctx, emit: Vec<Spanned<EmitSpec>>) -> Result<Vec<Emit>, SagaFileError> {
    let mut emits = Vec::new();
    for e in emit {
        let e = e.into_inner();
        let subject = TextTemplate::parse(e.subject.get_ref())
            .map_err(|m| cx.err(Some(e.subject.span()), m))?;
        if !subject.starts_with_tenant_after(shared::names::COMMAND_ROOT) {
            return Err(cx.err(
                Some(e.subject.span()),
                format!(
                    "emit subject '{}' must start with 'cmd.{{{{tenant}}}}.' so commands land on the tenant's command subjects",
                    e.subject.get_ref()
                ),
            ));
        }
        let payload = match &e.payload {
            Some(p) => {
                JsonTemplate::from_toml(p.get_ref()).map_err(|m| cx.err(Some(p.span()), m))?
            }
            None => JsonTemplate::Text(TextTemplate::parse("{{event.data}}").expect("valid")),
        };
        emits.push(Emit { subject, payload });
    }
    Ok(emits)
}

/// What the transitions declared, for checking the timers against.
struct Known<'a> {
    initial: &'a str,
    terminal: &'a BTreeSet<String>,
    /// States some transition enters.
    entered: &'a BTreeSet<String>,
    /// (from state, event type) pairs some transition handles.
    handled: &'a HashMap<(String, String), usize>,
}

/// The saga's `[[saga.timer]]` entries.
fn load_timers(
    cx: &Ctx,
    specs: Vec<Spanned<TimerSpec>>,
    k: &Known<'_>,
) -> Result<Vec<TimerDef>, SagaFileError> {
    let mut timers = Vec::new();
    let mut timer_names = BTreeSet::new();
    for tm in specs {
        let tm = tm.into_inner();
        let state = state_name(cx, &tm.state, "timer state")?;
        if !k.entered.contains(&state) && state != k.initial {
            return Err(cx.err(
                Some(tm.state.span()),
                format!("timer state '{state}' is never entered by a transition"),
            ));
        }
        if k.terminal.contains(&state) {
            return Err(cx.err(
                Some(tm.state.span()),
                format!("'{state}' is a terminal state: a timer there could never change anything"),
            ));
        }
        let after: Duration =
            humantime::parse_duration(tm.after.get_ref().trim()).map_err(|e| {
                cx.err(
                    Some(tm.after.span()),
                    format!(
                        "after = \"{}\": {e} (examples: \"30s\", \"15m\", \"2h\")",
                        tm.after.get_ref()
                    ),
                )
            })?;
        if after.is_zero() {
            return Err(cx.err(Some(tm.after.span()), "after must be longer than 0"));
        }
        let fire = state_name(cx, &tm.fire, "fire (the event type)")?;
        if !k.handled.contains_key(&(state.clone(), fire.clone()))
            && !k.handled.contains_key(&("*".to_string(), fire.clone()))
        {
            return Err(cx.err(
                Some(tm.fire.span()),
                format!(
                    "timer fires '{fire}' but no transition from '{state}' (or \"*\") handles it"
                ),
            ));
        }
        let tname = match &tm.name {
            Some(n) => state_name(cx, n, "timer name")?,
            None => fire.clone(),
        };
        if !timer_names.insert(tname.clone()) {
            return Err(cx.err(
                tm.name.as_ref().map(|n| n.span()).or(Some(tm.fire.span())),
                format!("timer '{tname}' is declared twice; give each a distinct name"),
            ));
        }
        timers.push(TimerDef {
            name: tname,
            state,
            after,
            fire,
        });
    }
    Ok(timers)
}

fn load_saga(
    cx: &Ctx,
    name: SagaName,
    s: SagaSpec,
    span: Range<usize>,
) -> Result<DeclarativeSaga, SagaFileError> {
    let initial = match &s.initial {
        Some(i) => state_name(cx, i, "initial")?,
        None => "new".to_string(),
    };
    let mut terminal = BTreeSet::new();
    for t in &s.terminal {
        terminal.insert(state_name(cx, t, "terminal state")?);
    }
    let history = match &s.history {
        None => 0,
        Some(h) if (0..=1000).contains(h.get_ref()) => *h.get_ref() as usize,
        Some(h) => return Err(cx.err(Some(h.span()), "history must be between 0 and 1000")),
    };
    if s.transitions.is_empty() {
        return Err(cx.err(
            Some(span),
            format!("saga '{name}' has no [[saga.transition]]"),
        ));
    }
    let mut entered = BTreeSet::new();
    let mut keys: HashMap<(String, String), usize> = HashMap::new();
    let mut transitions = Vec::new();
    for t in s.transitions {
        let t_span = t.span();
        let t = t.into_inner();
        let froms = match t.from.get_ref() {
            OneOrMany::One(f) => vec![f.clone()],
            OneOrMany::Many(v) => v.clone(),
        };
        if froms.is_empty() || froms.iter().any(|f| f.trim().is_empty()) {
            return Err(cx.err(
                Some(t.from.span()),
                "from must name a state, a list of states, or \"*\"",
            ));
        }
        let on = state_name(cx, &t.on, "on (the event type)")?;
        let to = state_name(cx, &t.to, "to")?;
        for f in &froms {
            if terminal.contains(f.trim()) {
                return Err(cx.err(
                    Some(t.from.span()),
                    format!("'{f}' is a terminal state: nothing may leave it"),
                ));
            }
            let (l, _) = line_col(cx.text, t_span.start);
            if let Some(prev) = keys.insert((f.trim().to_string(), on.clone()), l) {
                return Err(cx.err(
                    Some(t.on.span()),
                    format!(
                        "a transition from '{}' on '{on}' is already declared on line {prev}",
                        f.trim()
                    ),
                ));
            }
        }
        entered.insert(to.clone());
        let updates = load_updates(cx, &t)?;
        let emits = load_emits(cx, t.emit)?;
        transitions.push(TransitionDef {
            from: froms.into_iter().map(|f| f.trim().to_string()).collect(),
            on,
            to,
            updates,
            emits,
        });
    }
    for t in &s.terminal {
        if !entered.contains(t.get_ref().trim()) {
            return Err(cx.err(
                Some(t.span()),
                format!(
                    "terminal state '{}' is never entered by a transition",
                    t.get_ref().trim()
                ),
            ));
        }
    }
    let timers = load_timers(
        cx,
        s.timers,
        &Known {
            initial: &initial,
            terminal: &terminal,
            entered: &entered,
            handled: &keys,
        },
    )?;
    Ok(DeclarativeSaga::new(
        name,
        initial,
        terminal,
        history,
        transitions,
        timers,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Vec<DeclarativeSaga>, SagaFileError> {
        load(Path::new("sagas.toml"), text)
    }

    #[test]
    fn the_shipped_example_loads() {
        let text = include_str!("../../../docs/examples/sagas.toml");
        let sagas = load_str(text).unwrap();
        assert!(sagas.iter().any(|s| s.name_str() == "order"));
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = load_str("[[saga]]\nname = \"order\"\nterminal = [\n").unwrap_err();
        assert!(e.location.is_some(), "{e}");
        assert!(e.to_string().starts_with("saga file sagas.toml:"), "{e}");
    }

    #[test]
    fn semantic_errors_point_at_the_culprit() {
        let base = "[[saga]]\nname = \"order\"\n[[saga.transition]]\nfrom = \"new\"\non = \"A\"\nto = \"b\"\n";
        let cases = [
            ("[[saga]]\nname = \"or der\"\n", (2, 8), "contains ' '"),
            (
                &format!("{base}[[saga.transition.emit]]\nsubject = \"evt.x\"\n") as &str,
                (8, 11),
                "must start with 'cmd.{{tenant}}.'",
            ),
            (
                &format!("{base}[[saga.timer]]\nstate = \"b\"\nafter = \"soon\"\nfire = \"A\"\n"),
                (9, 9),
                "after = \"soon\"",
            ),
            (
                &format!("{base}[[saga.timer]]\nstate = \"b\"\nafter = \"1s\"\nfire = \"Z\"\n"),
                (10, 8),
                "no transition from 'b'",
            ),
            (
                &format!("{base}[[saga.transition]]\nfrom = \"new\"\non = \"A\"\nto = \"c\"\n"),
                (9, 6),
                "already declared on line 3",
            ),
            (
                &format!("{base}bogus = 1\n"),
                (7, 1),
                "unknown field `bogus`",
            ),
            (
                &format!(
                    "{base}[[saga.transition.emit]]\nsubject = \"cmd.{{{{tenant}}}}.x\"\npayload = {{ a = \"{{{{evnt.id}}}}\" }}\n"
                ),
                (9, 11),
                "unknown placeholder",
            ),
        ];
        for (text, (line, col), needle) in cases {
            let e = load_str(text).unwrap_err();
            assert!(e.message.contains(needle), "{needle}: {e}");
            assert_eq!(e.location, Some((line, col)), "{needle}: {e}");
        }
    }

    #[test]
    fn empty_files_are_refused() {
        assert!(
            load_str("")
                .unwrap_err()
                .message
                .contains("declares no saga")
        );
    }
}
