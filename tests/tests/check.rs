//! The model-based checker in CI: a few seeds of the random schedule (about two minutes);
//! `just check SEEDS=N` runs more. See `e2e::check` and docs/reliability.md.

use e2e::check::{Config, run};

#[tokio::test(flavor = "multi_thread")]
async fn the_runners_agree_with_the_model_on_random_schedules() -> anyhow::Result<()> {
    let seeds: u64 = e2e::env_or("CHECK_SEEDS", 6);
    let from: u64 = e2e::env_or("CHECK_FROM", 1);
    for seed in from..from + seeds {
        let r = run(Config {
            seed,
            steps: 40,
            keep: false,
        })
        .await?;
        eprintln!(
            "seed {seed}: ok: {} events, {} commands, {} instances, {} timers fired; {:?}",
            r.events,
            r.commands,
            r.instances,
            r.timers_fired,
            r.kinds()
        );
        assert!(r.events > 0 && r.instances > 0);
    }
    Ok(())
}
