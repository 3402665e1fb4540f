//! The config file with named contexts, merged under flags and environment variables.
//!
//! File: `$RUNNERCTL_CONFIG`, else `$XDG_CONFIG_HOME/runnerctl/config.toml`, else
//! `~/.config/runnerctl/config.toml` (a missing file is fine). Context: `--context` /
//! `RUNNERCTL_CONTEXT`, else the file's `current_context`. Precedence for each setting:
//! flag > environment variable > context > built-in default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::{Deserialize, Serialize};

use crate::cli::Cli;
use crate::exit::CliError;
use crate::output::Format;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub current_context: Option<String>,
    #[serde(default)]
    pub contexts: BTreeMap<String, Context>,
}

/// One context: every field optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    pub nats_url: Option<String>,
    pub nats_creds: Option<PathBuf>,
    pub nats_user: Option<String>,
    pub nats_password: Option<String>,
    pub nats_token: Option<String>,
    pub nats_nkey: Option<PathBuf>,
    pub nats_tls_ca: Option<PathBuf>,
    pub placement_bucket: Option<String>,
    pub registry_bucket: Option<String>,
    pub handoff_bucket: Option<String>,
    pub snapshot_bucket: Option<String>,
    /// The runners' admin token.
    pub token: Option<String>,
    /// `table` or `json`.
    pub output: Option<String>,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Flag,
    Env,
    Context,
    Default,
    Unset,
}

/// The merged settings' sources, and which file and context were used.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub path: Option<PathBuf>,
    pub context: Option<String>,
    pub sources: BTreeMap<&'static str, Source>,
}

pub fn path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RUNNERCTL_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("runnerctl").join("config.toml"))
}

fn read(path: &Path) -> Result<Option<File>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CliError::usage(format!(
                "cannot read the config file {}: {e}",
                path.display()
            )));
        }
    };
    toml::from_str(&text).map(Some).map_err(|e| {
        CliError::usage(format!(
            "config file {}: {e}(see docs/configuration.md#runnerctl-config-file)",
            path.display()
        ))
    })
}

fn source(m: &ArgMatches, id: &str) -> Source {
    match m.value_source(id) {
        Some(ValueSource::CommandLine) => Source::Flag,
        Some(ValueSource::EnvVariable) => Source::Env,
        Some(ValueSource::DefaultValue) => Source::Default,
        _ => Source::Unset,
    }
}

/// Fills in, from the selected context, every setting that neither a flag nor an
/// environment variable set; records where each came from.
pub fn apply(cli: &mut Cli, m: &ArgMatches) -> Result<Loaded, CliError> {
    let path = path();
    let file = match &path {
        Some(p) => read(p)?,
        None => None,
    };
    let wanted = cli
        .context
        .clone()
        .or_else(|| file.as_ref().and_then(|f| f.current_context.clone()));
    let ctx = match (&wanted, &file) {
        (None, _) => Context::default(),
        (Some(name), Some(f)) => f.contexts.get(name).cloned().ok_or_else(|| {
            CliError::usage(format!(
                "no context '{name}' in {} (it has: {})",
                path.as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                f.contexts.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?,
        (Some(name), None) => {
            return Err(CliError::usage(format!(
                "context '{name}' was asked for, but there is no config file at {} (RUNNERCTL_CONFIG names another)",
                path.as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "~/.config/runnerctl/config.toml".into())
            )));
        }
    };
    let mut sources = BTreeMap::new();
    macro_rules! merge {
        ($name:literal, $field:expr, $ctx:expr) => {{
            let s = source(m, $name);
            let s = match (s, $ctx) {
                (Source::Flag | Source::Env, _) => s,
                (_, Some(v)) => {
                    $field = v.into();
                    Source::Context
                }
                (s, None) => s,
            };
            sources.insert($name, s);
        }};
    }
    merge!("nats_url", cli.nats.nats_url, ctx.nats_url.clone());
    merge!(
        "nats_creds",
        cli.nats.nats_creds,
        ctx.nats_creds.clone().map(Some)
    );
    merge!(
        "nats_user",
        cli.nats.nats_user,
        ctx.nats_user.clone().map(Some)
    );
    merge!(
        "nats_password",
        cli.nats.nats_password,
        ctx.nats_password.clone().map(Some)
    );
    merge!(
        "nats_token",
        cli.nats.nats_token,
        ctx.nats_token.clone().map(Some)
    );
    merge!(
        "nats_nkey",
        cli.nats.nats_nkey,
        ctx.nats_nkey.clone().map(Some)
    );
    merge!(
        "nats_tls_ca",
        cli.nats.nats_tls_ca,
        ctx.nats_tls_ca.clone().map(Some)
    );
    merge!(
        "placement_bucket",
        cli.nats.placement_bucket,
        ctx.placement_bucket.clone()
    );
    merge!(
        "registry_bucket",
        cli.nats.registry_bucket,
        ctx.registry_bucket.clone()
    );
    merge!(
        "handoff_bucket",
        cli.nats.handoff_bucket,
        ctx.handoff_bucket.clone()
    );
    merge!(
        "snapshot_bucket",
        cli.nats.snapshot_bucket,
        ctx.snapshot_bucket.clone()
    );
    merge!("token", cli.token, ctx.token.clone().map(Some));
    let output = match ctx.output.as_deref() {
        None => None,
        Some("table") => Some(Format::Table),
        Some("json") => Some(Format::Json),
        Some(other) => {
            return Err(CliError::usage(format!(
                "context '{}': output '{other}' is not table or json",
                wanted.clone().unwrap_or_default()
            )));
        }
    };
    merge!("output", cli.output, output);
    Ok(Loaded {
        path,
        context: wanted,
        sources,
    })
}

/// `runnerctl config show`: every setting with its value (secrets hidden) and source.
pub fn show(cli: &Cli, loaded: &Loaded) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Row {
        setting: &'static str,
        value: Option<String>,
        source: Source,
    }
    let secret = |v: &Option<String>| v.as_ref().map(|_| "(set, hidden)".to_string());
    let path = |v: &Option<PathBuf>| v.as_ref().map(|p| p.display().to_string());
    let n = &cli.nats;
    let values: Vec<(&'static str, Option<String>)> = vec![
        ("output", Some(format!("{:?}", cli.output).to_lowercase())),
        ("token", secret(&cli.token)),
        ("nats_url", Some(n.nats_url.clone())),
        ("nats_creds", path(&n.nats_creds)),
        ("nats_user", n.nats_user.clone()),
        ("nats_password", secret(&n.nats_password)),
        ("nats_token", secret(&n.nats_token)),
        ("nats_nkey", path(&n.nats_nkey)),
        ("nats_tls_ca", path(&n.nats_tls_ca)),
        ("placement_bucket", Some(n.placement_bucket.clone())),
        ("registry_bucket", Some(n.registry_bucket.clone())),
        ("handoff_bucket", Some(n.handoff_bucket.clone())),
        ("snapshot_bucket", Some(n.snapshot_bucket.clone())),
    ];
    let rows: Vec<Row> = values
        .into_iter()
        .map(|(setting, value)| Row {
            setting,
            source: loaded
                .sources
                .get(setting)
                .cloned()
                .unwrap_or(Source::Unset),
            value,
        })
        .collect();
    match cli.output {
        Format::Json => crate::output::json(&serde_json::json!({
            "config_file": loaded.path,
            "config_file_exists": loaded.path.as_ref().is_some_and(|p| p.exists()),
            "context": loaded.context,
            "settings": rows,
        })),
        Format::Table => {
            let file = match &loaded.path {
                Some(p) if p.exists() => p.display().to_string(),
                Some(p) => format!("{} (not present)", p.display()),
                None => "(none: no HOME)".into(),
            };
            let mut t = crate::output::table(["SETTING", "VALUE", "SOURCE"]);
            for r in &rows {
                t.add_row(vec![
                    r.setting.to_string(),
                    r.value.clone().unwrap_or_else(|| "-".into()),
                    match &r.source {
                        Source::Context => {
                            format!("context {}", loaded.context.clone().unwrap_or_default())
                        }
                        s => format!("{s:?}").to_lowercase(),
                    },
                ]);
            }
            crate::output::println(&format!(
                "config file {file}\ncontext {}\n\n{t}",
                loaded.context.as_deref().unwrap_or("(none)")
            ));
        }
    }
    Ok(())
}

fn need_file() -> Result<(PathBuf, File), CliError> {
    let p = path().ok_or_else(|| {
        CliError::usage("no config file: HOME is not set (set RUNNERCTL_CONFIG to one)")
    })?;
    match read(&p)? {
        Some(f) => Ok((p, f)),
        None => Err(CliError::not_found(format!(
            "there is no config file at {} (docs/configuration.md#runnerctl-config-file shows one)",
            p.display()
        ))),
    }
}

/// `runnerctl config contexts`: the file's contexts, the current one marked.
pub fn contexts(format: Format) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Row<'a> {
        name: &'a str,
        current: bool,
        nats_url: Option<&'a str>,
    }
    let (p, f) = need_file()?;
    let current = std::env::var("RUNNERCTL_CONTEXT")
        .ok()
        .or(f.current_context.clone());
    let rows: Vec<Row> = f
        .contexts
        .iter()
        .map(|(name, c)| Row {
            name,
            current: current.as_deref() == Some(name.as_str()),
            nats_url: c.nats_url.as_deref(),
        })
        .collect();
    match format {
        Format::Json => crate::output::json(&rows),
        Format::Table => {
            let mut t = crate::output::table(["CURRENT", "NAME", "NATS URL"]);
            for r in &rows {
                t.add_row(vec![
                    if r.current { "*" } else { "" }.to_string(),
                    r.name.to_string(),
                    r.nats_url.unwrap_or("(default)").to_string(),
                ]);
            }
            crate::output::println(&format!("config file {}\n\n{t}", p.display()));
        }
    }
    Ok(())
}

/// `runnerctl config use-context NAME`: sets the file's `current_context`, keeping its
/// comments and layout, written to a temporary file and renamed over it.
pub fn use_context(name: &str, format: Format) -> anyhow::Result<()> {
    let (p, f) = need_file()?;
    if !f.contexts.contains_key(name) {
        return Err(CliError::not_found(format!(
            "no context '{name}' in {} (it has: {})",
            p.display(),
            f.contexts.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
        .into());
    }
    let text = std::fs::read_to_string(&p)
        .map_err(|e| CliError::failure(format!("cannot read {}: {e}", p.display())))?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| CliError::usage(format!("config file {}: {e}", p.display())))?;
    let before = doc
        .get("current_context")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    doc["current_context"] = toml_edit::value(name);
    let dir = p.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| CliError::failure(format!("cannot write beside {}: {e}", p.display())))?;
    std::io::Write::write_all(&mut tmp, doc.to_string().as_bytes())
        .map_err(|e| CliError::failure(format!("cannot write {}: {e}", p.display())))?;
    if let Ok(meta) = std::fs::metadata(&p) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(&p)
        .map_err(|e| CliError::failure(format!("cannot replace {}: {e}", p.display())))?;
    match format {
        Format::Json => crate::output::json(&serde_json::json!({
            "config_file": p, "current_context": name, "previous": before,
        })),
        Format::Table => crate::output::println(&format!(
            "current context: {name} (was {}) in {}{}",
            before.as_deref().unwrap_or("none"),
            p.display(),
            if std::env::var_os("RUNNERCTL_CONTEXT").is_some() {
                "; note: RUNNERCTL_CONTEXT is set and wins over it"
            } else {
                ""
            }
        )),
    }
    Ok(())
}
