//! The `runner` binary's command line: every setting is a documented env var with a flag.

use clap::CommandFactory;

#[test]
fn help_documents_every_setting_with_its_env_var() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_runner"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    let cmd = runner::Args::command();
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        let env = arg
            .get_env()
            .unwrap_or_else(|| panic!("--{id} has no env var"))
            .to_string_lossy()
            .to_string();
        assert!(env.starts_with("RUNNER_"), "{env}");
        assert_eq!(
            env.trim_start_matches("RUNNER_")
                .to_lowercase()
                .replace('_', "-"),
            id.replace('_', "-"),
            "flag and env var are named alike"
        );
        assert!(help.contains(&env), "--help does not mention {env}");
        assert!(arg.get_help().is_some(), "--{id} has no help text");
    }
    assert!(help.contains("Exit codes"), "{help}");
}

#[test]
fn missing_required_settings_exit_2_and_name_them() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_runner"))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--data-dir") && err.contains("--sagas"),
        "{err}"
    );
}

#[test]
fn the_configuration_reference_lists_every_setting() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/configuration.md"
    ))
    .unwrap();
    for arg in runner::Args::command().get_arguments() {
        if let Some(env) = arg.get_env() {
            let env = env.to_string_lossy();
            assert!(
                doc.contains(&format!("`{env}`")),
                "docs/configuration.md does not document {env}"
            );
        }
    }
}
