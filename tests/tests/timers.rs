//! Timers at scale (issue 14): 100,000 timers falling due within about a second all fire
//! exactly once, each with its own command id and marker. `TIMERS_N` changes the count;
//! `just bench timers` measures the fire rate and delays on a release build.

use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_thousand_timers_due_together_fire_exactly_once() -> anyhow::Result<()> {
    let n: usize = e2e::env_or("TIMERS_N", 100_000);
    let r = e2e::timers::timer_burst(n, "10s", Duration::from_secs(600)).await?;
    eprintln!("{r:?}");
    assert_eq!(r.timers, n);
    Ok(())
}
