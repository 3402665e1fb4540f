//! The key registry: what the footers and `?` show, in one place, for the fleet view and
//! the offline view.

/// A key (or keys) and what it does.
pub struct KeyHelp {
    pub keys: &'static str,
    pub what: &'static str,
    pub mutating: bool,
    /// Its short form in the footer; empty: only in `?`.
    pub footer: &'static str,
}

/// The fleet view's keys: its footer and its `?` help.
pub const KEYS: &[KeyHelp] = &[
    KeyHelp {
        keys: "Tab/S-Tab",
        what: "next/previous pane",
        mutating: false,
        footer: "Tab panes",
    },
    KeyHelp {
        keys: "↑↓ j/k",
        what: "move",
        mutating: false,
        footer: "",
    },
    KeyHelp {
        keys: "g/G",
        what: "first/last",
        mutating: false,
        footer: "",
    },
    KeyHelp {
        keys: "Enter",
        what: "drill in",
        mutating: false,
        footer: "",
    },
    KeyHelp {
        keys: "Esc",
        what: "back/close",
        mutating: false,
        footer: "",
    },
    KeyHelp {
        keys: "/",
        what: "filter",
        mutating: false,
        footer: "/ filter",
    },
    KeyHelp {
        keys: "+/-",
        what: "refresh rate",
        mutating: false,
        footer: "",
    },
    KeyHelp {
        keys: "d",
        what: "drain shard",
        mutating: true,
        footer: "d drain",
    },
    KeyHelp {
        keys: "r",
        what: "resume shard",
        mutating: true,
        footer: "r resume",
    },
    KeyHelp {
        keys: "p",
        what: "replay tenant",
        mutating: true,
        footer: "p replay",
    },
    KeyHelp {
        keys: "m",
        what: "move tenant",
        mutating: true,
        footer: "m move",
    },
    KeyHelp {
        keys: "?",
        what: "help",
        mutating: false,
        footer: "? help",
    },
    KeyHelp {
        keys: "q",
        what: "quit",
        mutating: false,
        footer: "q quit",
    },
];

/// The offline view's keys: its footer and its `?` help.
pub const OFFLINE_KEYS: &[KeyHelp] = &[
    KeyHelp {
        keys: "↑↓ j/k",
        what: "move",
        mutating: false,
        footer: "↑↓ move",
    },
    KeyHelp {
        keys: "g/G",
        what: "first/last row",
        mutating: false,
        footer: "",
    },
    KeyHelp {
        keys: "Enter",
        what: "drill in",
        mutating: false,
        footer: "Enter open",
    },
    KeyHelp {
        keys: "Esc",
        what: "back",
        mutating: false,
        footer: "Esc back",
    },
    KeyHelp {
        keys: "PgDn/] PgUp/[",
        what: "next/previous page",
        mutating: false,
        footer: "] [ page",
    },
    KeyHelp {
        keys: "o/t/c",
        what: "outbox / timers / checkpoints",
        mutating: false,
        footer: "o/t/c tables",
    },
    KeyHelp {
        keys: "R",
        what: "read again",
        mutating: false,
        footer: "",
    },
    KeyHelp {
        keys: "?",
        what: "help",
        mutating: false,
        footer: "? help",
    },
    KeyHelp {
        keys: "q",
        what: "quit",
        mutating: false,
        footer: "q quit",
    },
];
