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
}
