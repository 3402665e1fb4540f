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

/// A note on stderr (something worth knowing that is not a problem), so `--output json` on
/// stdout stays a document.
pub fn note(s: &str) {
    eprintln!("note: {s}");
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

/// `2026-11-25T10:36:05Z`: RFC 3339, UTC, whole seconds.
pub fn utc(ms: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Text from outside (payloads, headers, reasons) made safe to print on a terminal: every
/// control character is shown escaped (`\u{1b}`), never sent, so what a producer wrote
/// cannot move the cursor or set colours. With `keep_newlines`, `\n` stays a line break.
pub fn escape_controls(s: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && !(keep_newlines && c == '\n') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Bytes as one line of terminal-safe text that says exactly what they are: valid UTF-8 kept
/// (control characters and line breaks escaped, `\` doubled), every other byte as `\xNN`.
pub fn escape_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || c == '\\' {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for x in chunk.invalid() {
            out.push_str(&format!("\\x{x:02x}"));
        }
    }
    out
}

/// `s` cut to `max` characters, with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((i, _)) if s[i..].chars().nth(1).is_some() => format!("{}…", &s[..i]),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_795_600_183_999), "2026-11-25T09:49:43Z");
    }

    #[test]
    fn outside_text_cannot_drive_the_terminal() {
        assert_eq!(
            escape_controls("a\u{1b}[31mb\nc", false),
            "a\\u{1b}[31mb\\nc"
        );
        assert_eq!(escape_controls("a\nb\tc", true), "a\nb\\tc");
        assert_eq!(escape_controls("zoë \u{9b}", false), "zoë \\u{9b}");
        assert_eq!(escape_bytes(b"{x\xff\xfe\n"), "{x\\xff\\xfe\\n");
        assert_eq!(escape_bytes("é".as_bytes()), "é");
        assert_eq!(escape_bytes(br"\xff"), r"\\xff");
    }

    #[test]
    fn shortened_text() {
        assert_eq!(shorten("abcdef", 10), "abcdef");
        assert_eq!(shorten("abcdef", 6), "abcdef");
        assert_eq!(shorten("abcdefg", 6), "abcde…");
        assert_eq!(shorten("äöüäöüä", 3), "äö…");
    }

    #[test]
    fn humane_numbers() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 + 1024 * 200), "3.2 MiB");
        assert_eq!(age(192_500), "3m12s");
        assert_eq!(age(500), "0s");
    }
}
