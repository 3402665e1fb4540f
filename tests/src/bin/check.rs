//! `check`: the model-based checker over many seeds (see `e2e::check`).
//!
//! Usage: check [--seeds N] [--from S] [--seed S] [--steps K] [--keep]
//! Runs seeds S..S+N (default 1..=20), each with K operations (default 40), and stops at
//! the first failure, printing its seed, schedule and the command that repeats it.

use std::time::Instant;

use e2e::check::{Config, run};

fn arg(args: &[String], name: &str) -> Option<u64> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let steps = arg(&args, "--steps").unwrap_or(40) as usize;
    let keep = args.iter().any(|a| a == "--keep");
    let seeds: Vec<u64> = match arg(&args, "--seed") {
        Some(s) => vec![s],
        None => {
            let from = arg(&args, "--from").unwrap_or(1);
            let n = arg(&args, "--seeds")
                .or_else(|| std::env::var("SEEDS").ok().and_then(|v| v.parse().ok()))
                .unwrap_or(20);
            (from..from + n).collect()
        }
    };
    let start = Instant::now();
    let mut totals = (0usize, 0usize, 0usize, 0usize);
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for seed in &seeds {
        match run(Config {
            seed: *seed,
            steps,
            keep,
        })
        .await
        {
            Ok(r) => {
                totals.0 += r.events;
                totals.1 += r.commands;
                totals.2 += r.instances;
                totals.3 += r.timers_fired;
                for (k, n) in r.kinds() {
                    *kinds.entry(k).or_default() += n;
                }
                println!(
                    "seed {seed}: ok in {:.0}s ({}): {} events, {} commands ({} republished by replays), {} dead letters, {} instances, {} markers, {} timers fired",
                    r.secs,
                    r.layout,
                    r.events,
                    r.commands,
                    r.republished_by_replays,
                    r.dead_letters,
                    r.instances,
                    r.markers,
                    r.timers_fired
                );
            }
            Err(e) => {
                eprintln!("FAILED {e:#}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    println!(
        "operations: {}",
        kinds
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "{} seeds passed in {:.0}s: {} events, {} commands, {} instances, {} timers fired compared with the model",
        seeds.len(),
        start.elapsed().as_secs_f64(),
        totals.0,
        totals.1,
        totals.2,
        totals.3
    );
    std::process::ExitCode::SUCCESS
}
