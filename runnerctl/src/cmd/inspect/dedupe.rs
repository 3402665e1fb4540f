//! `inspect dedupe`: a page of a saga's dedupe markers (applied event ids), in id order.

use comfy_table::Cell;
use serde::Serialize;
use shared::edge_storage::{DedupeRecord, TableId, Volume, decode_value, keys};

use super::common::{Page, need_tenant, time};
use crate::exit::CliError;
use crate::output::{self, Format};

#[derive(Serialize)]
struct Row {
    event_id: String,
    seq: u64,
    at_ms: u64,
    outcome: &'static str,
}

pub fn run(
    vol: &Volume,
    tenant: &str,
    saga: &str,
    limit: usize,
    after: Option<&str>,
    format: Format,
) -> Result<(), CliError> {
    let page = vol.read(|r| {
        need_tenant(r, tenant, Some(saga))?;
        let prefix = keys::saga_prefix(tenant, saga)?;
        // Fired timers' markers sort first in a tenant+saga's range (their third key
        // component is empty); event ids start at 0x01 and up.
        let after_key = match after {
            Some(a) => keys::dedupe_key(tenant, saga, a)?,
            None => [prefix.as_slice(), &[0]].concat(),
        };
        let p = r.page(TableId::Dedupe, &prefix, Some(&after_key), limit, |k, v| {
            let (_, _, keys::Marked::Event(id)) = keys::decode_dedupe(k)? else {
                return Ok(None);
            };
            let d: DedupeRecord = decode_value(v)?;
            Ok(Some(Row {
                event_id: id.into(),
                seq: d.seq,
                at_ms: d.at_ms,
                outcome: d.outcome.as_str(),
            }))
        })?;
        let next_after = p.next.and(p.items.last().map(|i| i.event_id.clone()));
        Ok::<_, CliError>(Page {
            items: p.items,
            next_after,
        })
    })?;
    match format {
        Format::Json => output::json(&page),
        Format::Table => {
            let mut t = output::table(["EVENT ID", "SEQ", "OUTCOME", "AT"]);
            for i in &page.items {
                t.add_row(vec![
                    Cell::new(&i.event_id),
                    Cell::new(i.seq),
                    Cell::new(i.outcome),
                    Cell::new(time(i.at_ms)),
                ]);
            }
            output::println(&t.to_string());
            if let Some(n) = &page.next_after {
                eprintln!("more: --after {n}");
            }
        }
    }
    Ok(())
}
