//! The short soak for CI: 3 shards, 50 tenants, steady events and a re-placement every
//! second for 20 s; nothing lost, nothing applied twice, no command twice. `just soak` runs
//! the long one and reports RSS over time.

use std::time::Duration;

use e2e::soak::{SoakConfig, run};

#[tokio::test(flavor = "multi_thread")]
async fn a_short_soak_with_placement_churn_loses_nothing() -> anyhow::Result<()> {
    let r = run(SoakConfig {
        duration: Duration::from_secs(20),
        rate: 300,
        tenants: 50,
        churn_every: Duration::from_secs(1),
    })
    .await?;
    eprintln!("{r:?}");
    assert!(r.events >= 5_000, "{r:?}");
    assert!(r.placements_changed >= 15, "{r:?}");
    assert_eq!(r.lost, 0, "events lost");
    assert_eq!(r.applied_twice, 0, "events applied on two shards");
    assert_eq!(r.duplicate_commands, 0, "commands published twice");
    assert_eq!(r.missing_commands, 0, "events sent without their command");
    assert_eq!(r.unexpected_commands, 0, "commands no event sent causes");
    Ok(())
}
