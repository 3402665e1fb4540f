//! `runnerctl dlq ls`: the dead letters a filter selects, in stream order (newest last), the
//! newest `--limit` of them; how many older ones matched too is said on stderr.

use std::collections::VecDeque;

use comfy_table::Cell;

use super::{Row, Selection, open, or_dash, scan};
use crate::cli::{DlqLsArgs, NatsArgs};
use crate::output::{self, Format};

/// Reasons longer than this are cut in the table (`dlq show` has them whole).
const REASON_WIDTH: usize = 60;

pub async fn run(
    a: DlqLsArgs,
    args: &NatsArgs,
    stream: &str,
    format: Format,
) -> anyhow::Result<()> {
    let sel = Selection::new(&a.filter)?;
    let (nats, dlq) = open(args, stream).await?;
    let mut rows = VecDeque::new();
    let mut matched = 0u64;
    scan(&nats, &dlq, &sel, |dl| {
        matched += 1;
        if a.limit > 0 && rows.len() == a.limit {
            rows.pop_front();
        }
        rows.push_back(Row::of(&dl));
    })
    .await?;
    let rows: Vec<Row> = rows.into();
    match format {
        Format::Json => output::json(&rows),
        Format::Table if rows.is_empty() => output::println(&format!(
            "no dead letters in {}{}",
            dlq.name,
            if sel.is_everything() { "" } else { " match" }
        )),
        Format::Table => output::println(&table(&rows).to_string()),
    }
    let older = matched - rows.len() as u64;
    if older > 0 {
        output::note(&format!(
            "{older} older dead letters match too; these are the newest {}: narrow the selection (--since, --until, --tenant, --saga, --reason) or raise --limit (0: all)",
            rows.len()
        ));
    }
    Ok(())
}

fn table(rows: &[Row]) -> comfy_table::Table {
    let mut t = output::table([
        "SEQ",
        "TIME",
        "TENANT",
        "SAGA",
        "CODE",
        "REASON",
        "ORIGINAL SUBJECT",
        "ORIG SEQ",
        "EVENT ID",
    ]);
    for r in rows {
        let reason = r
            .reason
            .as_deref()
            .map(|s| output::shorten(s, REASON_WIDTH));
        t.add_row(vec![
            Cell::new(r.seq),
            Cell::new(output::utc(r.at_ms)),
            Cell::new(or_dash(r.tenant.as_deref())),
            Cell::new(or_dash(r.saga.as_deref())),
            Cell::new(or_dash(r.code.as_deref())),
            Cell::new(or_dash(reason.as_deref())),
            Cell::new(or_dash(r.original_subject.as_deref())),
            Cell::new(
                r.original_seq
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
            ),
            Cell::new(or_dash(r.event_id.as_deref())),
        ]);
    }
    t
}
