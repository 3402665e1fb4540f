//! Output policy in one place: table or JSON, colour only for a terminal without `NO_COLOR`
//! or `TERM=dumb`, quiet exit on a closed pipe.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use comfy_table::{ContentArrangement, Table, presets};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// One JSON document, with stable field names, for scripts.
    Json,
}

/// The colour policy: colour is allowed unless `NO_COLOR` is set (to anything but the empty
/// string) or `TERM=dumb`. Whoever draws on a terminal asks this, the tables and the dashboard.
pub fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true)
}

/// True when stdout is a terminal that may show colour.
pub fn color() -> bool {
    std::io::stdout().is_terminal() && color_allowed()
}

/// A table in the house style: no borders, a header row, wrapping to the terminal width.
pub fn table<I: IntoIterator<Item = S>, S: Into<comfy_table::Cell>>(header: I) -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    if !color() {
        t.force_no_tty();
    }
    t
}

/// Writes to stdout; a closed pipe (`runnerctl ... | head`) ends the process quietly.
pub fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

pub fn println(s: &str) {
    print(&format!("{s}\n"));
}

/// A warning on stderr, so `--output json` on stdout stays a document.
pub fn warn(s: &str) {
    eprintln!("warning: {s}");
}

/// Prints `v` as pretty JSON.
pub fn json<T: serde::Serialize>(v: &T) {
    println(&serde_json::to_string_pretty(v).expect("serialisable"));
}

/// `12.3 MiB`
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `3m12s`: whole seconds, for ages and uptimes.
pub fn age(ms: u64) -> String {
    let d = std::time::Duration::from_secs(ms / 1000);
    humantime::format_duration(d).to_string().replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humane_numbers() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 + 1024 * 200), "3.2 MiB");
        assert_eq!(age(192_500), "3m12s");
        assert_eq!(age(500), "0s");
    }
}
