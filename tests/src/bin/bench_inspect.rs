//! `just bench inspect`: `runnerctl inspect` on big volumes, beside a full scan of the same
//! volume in the same run.
//!
//! Volumes of 10k, 100k and 1M saga instances plus as many dedupe markers over 100 tenants
//! are written through `edge_storage`; then, per volume, the wall time of the real
//! `runnerctl inspect <vol> summary -o json` and `instances --limit 50` processes (best of
//! 3) and their peak RSS, and the time of a full scan counting every instance and marker.
//!
//! Prints a table and writes `target/bench/inspect.json`. Options (env): BENCH_INSPECT_SIZES
//! (default 10000,100000,1000000).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Result, ensure};
use e2e::*;
use serde_json::json;
use shared::edge_storage::{
    DedupeRecord, InstanceRecord, Outcome, StorageError, TableId, Volume, WriteOptions,
};

const TENANTS: usize = 100;

fn build(dir: &Path, n: usize) -> Result<()> {
    let v = Volume::open_for_write(dir, &WriteOptions::new("shard-a"))?;
    let per = n / TENANTS;
    let rec = |i: usize| InstanceRecord {
        state: if i.is_multiple_of(3) {
            "paid"
        } else {
            "awaiting_payment"
        }
        .into(),
        version: 2,
        created_at_ms: 1,
        updated_at_ms: 2,
        last_seq: i as u64,
        last_event_id: format!("e{i}"),
        data: format!(
            r#"{{"amount":{i},"customer":"c{}","note":"a saga instance of about a hundred bytes"}}"#,
            i % 97
        ),
        timers: vec![],
        history: vec![],
    };
    for t in 0..TENANTS {
        let tenant = format!("t{t:03}");
        v.write(|w| {
            for i in 0..per {
                w.put_instance(&tenant, "order", &format!("o{i:08}"), &rec(i), true)?;
                w.put_dedupe(
                    &tenant,
                    "order",
                    &format!("e{i:08}"),
                    &DedupeRecord {
                        seq: i as u64,
                        at_ms: 1,
                        outcome: Outcome::Applied,
                        digest: 0,
                    },
                )?;
            }
            Ok::<_, StorageError>(())
        })?;
    }
    Ok(())
}

/// One run of `runnerctl inspect <vol> args...`: (wall ms, peak RSS MB). Called in a
/// process of its own (`--measure`), so RUSAGE_CHILDREN is exactly that runnerctl.
fn measure_once(vol: &Path, args: &[String]) -> Result<(f64, f64)> {
    let t = Instant::now();
    let st = Command::new(bin("runnerctl"))
        .arg("inspect")
        .arg(vol)
        .args(args)
        .args(["-o", "json"])
        .stdout(std::process::Stdio::null())
        .status()?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    ensure!(st.success(), "inspect {args:?} failed");
    let rss = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map(|u| u.max_rss() as f64 / 1024.0)?;
    Ok((ms, rss))
}

/// Best wall time of 3 runs in ms, and the largest peak RSS of them in MB.
fn time_cmd(vol: &Path, args: &[&str]) -> Result<(f64, f64)> {
    let (mut best, mut rss) = (f64::MAX, 0f64);
    for _ in 0..3 {
        let out = Command::new(std::env::current_exe()?)
            .arg("--measure")
            .arg(vol)
            .args(args)
            .output()?;
        ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout)?;
        let mut it = text.split_whitespace().map(|v| v.parse::<f64>());
        let (Some(Ok(ms)), Some(Ok(r))) = (it.next(), it.next()) else {
            anyhow::bail!("bad measurement: {text}");
        };
        best = best.min(ms);
        rss = rss.max(r);
    }
    Ok((best, rss))
}

fn full_scan(vol: &Path) -> Result<(f64, u64)> {
    let (v, _) = Volume::open_read_only(vol, false)?;
    let t = Instant::now();
    let n = v.read(|r| {
        let mut n = 0u64;
        for table in [TableId::Sagas, TableId::Dedupe] {
            r.scan(table, &[], None, |_, _| {
                n += 1;
                Ok(true)
            })?;
        }
        Ok::<_, StorageError>(n)
    })?;
    Ok((t.elapsed().as_secs_f64() * 1000.0, n))
}

fn main() -> Result<()> {
    let sizes: Vec<usize> = std::env::var("BENCH_INSPECT_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    // `bench_inspect --build DIR N`: write one volume (in a process of its own, so this
    // one never maps the big files: a child's peak RSS would include the parent's pages).
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "--build" {
        return build(Path::new(&args[2]), args[3].parse()?);
    }
    if args.len() > 3 && args[1] == "--measure" {
        let (ms, rss) = measure_once(Path::new(&args[2]), &args[3..])?;
        println!("{ms} {rss}");
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let mut built = Vec::new();
    for &n in &sizes {
        let dir = tmp.path().join(format!("v{n}"));
        let t = Instant::now();
        let st = Command::new(std::env::current_exe()?)
            .arg("--build")
            .arg(&dir)
            .arg(n.to_string())
            .status()?;
        ensure!(st.success(), "building the {n} volume failed");
        built.push((n, dir, t.elapsed().as_secs_f64()));
    }
    let mut measured = Vec::new();
    for (n, dir, build_s) in &built {
        let (summary_ms, rss_summary) = time_cmd(dir, &["summary"])?;
        let (list_ms, rss_list) = time_cmd(
            dir,
            &[
                "instances",
                "--tenant",
                "t050",
                "--saga",
                "order",
                "--limit",
                "50",
            ],
        )?;
        measured.push((*n, *build_s, summary_ms, list_ms, rss_summary.max(rss_list)));
    }
    let mut rows = Vec::new();
    for ((n, build_s, summary_ms, list_ms, rss), (_, dir, _)) in measured.into_iter().zip(&built) {
        let (scan_ms, scanned) = full_scan(dir)?;
        ensure!(scanned == 2 * n as u64, "scanned {scanned}");
        let file = std::fs::metadata(dir.join("mdbx.dat"))?.len();
        rows.push((n, build_s, summary_ms, list_ms, rss, scan_ms, file));
    }
    println!(
        "runnerctl inspect on volumes of N instances + N dedupe markers over {TENANTS} tenants (process wall time, best of 3)\n"
    );
    println!(
        "{:>9} {:>10} {:>12} {:>14} {:>16} {:>14} {:>10}",
        "N", "file MB", "summary ms", "list 50 ms", "full scan ms", "scan/summary", "peak RSS MB"
    );
    let mut cases = serde_json::Map::new();
    for (n, build_s, summary_ms, list_ms, rss, scan_ms, file) in &rows {
        println!(
            "{:>9} {:>10.1} {:>12.1} {:>14.1} {:>16.1} {:>14.1} {:>10.1}",
            n,
            *file as f64 / 1048576.0,
            summary_ms,
            list_ms,
            scan_ms,
            scan_ms / summary_ms,
            rss
        );
        cases.insert(
            n.to_string(),
            json!({
                "instances": n, "dedupe": n, "tenants": TENANTS,
                "file_bytes": file, "build_s": (build_s * 10.0).round() / 10.0,
                "summary_ms": (summary_ms * 10.0).round() / 10.0,
                "instances_limit_50_ms": (list_ms * 10.0).round() / 10.0,
                "full_scan_ms": (scan_ms * 10.0).round() / 10.0,
                "inspect_peak_rss_mb": (rss * 10.0).round() / 10.0,
            }),
        );
    }
    println!(
        "\nfull scan = one read transaction iterating every instance and marker (no decoding), in the benchmark's process"
    );
    let out = json!({
        "benchmark": "inspect",
        "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
        "cases": cases,
    });
    e2e::bench::write_report("inspect.json", &out)?;
    Ok(())
}
