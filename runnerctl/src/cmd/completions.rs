//! `runnerctl completions <shell>`: completion scripts generated from the clap definition.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

pub fn run(shell: Shell) -> anyhow::Result<()> {
    crate::output::print(&script(shell));
    Ok(())
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "runnerctl", &mut buf);
    String::from_utf8(buf).expect("completion scripts are UTF-8")
}

/// Man pages generated from the CLI: `runnerctl.1` and one `runnerctl-<command>.1` per
/// subcommand, as (file name, roff text).
pub fn man_pages() -> Vec<(String, String)> {
    let cmd = Cli::command();
    let render = |c: clap::Command| {
        let mut buf = Vec::new();
        clap_mangen::Man::new(c)
            .render(&mut buf)
            .expect("rendering to memory");
        String::from_utf8(buf).expect("man pages are UTF-8")
    };
    let mut out = vec![("runnerctl.1".to_string(), render(cmd.clone()))];
    for sub in cmd.get_subcommands() {
        let name = format!("runnerctl-{}", sub.get_name());
        let page = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("runnerctl {}", sub.get_name()));
        out.push((format!("{name}.1"), render(page)));
    }
    out
}

/// Writes the man pages into `dir`.
pub fn write_man(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (file, text) in man_pages() {
        std::fs::write(dir.join(file), text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files in completions/ must match the CLI; `UPDATE_COMPLETIONS=1 cargo test -p
    /// runnerctl` rewrites them.
    #[test]
    fn completions_in_the_repo_match_the_cli() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../completions");
        for (shell, file) in [
            (Shell::Bash, "runnerctl.bash"),
            (Shell::Zsh, "_runnerctl"),
            (Shell::Fish, "runnerctl.fish"),
        ] {
            let want = script(shell);
            let path = dir.join(file);
            if std::env::var_os("UPDATE_COMPLETIONS").is_some() {
                std::fs::write(&path, &want).unwrap();
                continue;
            }
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                have == want,
                "{} is out of date with the CLI: run `UPDATE_COMPLETIONS=1 cargo test -p runnerctl` (or `just completions`)",
                path.display()
            );
        }
    }

    /// The man pages in docs/man/ must match the CLI; `UPDATE_COMPLETIONS=1` rewrites them.
    #[test]
    fn man_pages_in_the_repo_match_the_cli() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/man");
        if std::env::var_os("UPDATE_COMPLETIONS").is_some() {
            write_man(&dir).unwrap();
            return;
        }
        let pages = man_pages();
        assert!(pages.len() > 10);
        for (file, want) in pages {
            let path = dir.join(&file);
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                have == want,
                "{} is out of date with the CLI: run `UPDATE_COMPLETIONS=1 cargo test -p runnerctl` (or `just completions`)",
                path.display()
            );
        }
    }
}
