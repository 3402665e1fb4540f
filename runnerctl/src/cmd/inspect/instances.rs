//! `inspect instances`: a page of a saga's instances, in key order.

use comfy_table::Cell;
use serde::Serialize;
use shared::edge_storage::Volume;

use super::common::{Page, need_tenant, time};
use crate::exit::CliError;
use crate::output::{self, Format};

/// Which instances: of a tenant+saga, in a state, after a key.
pub struct Filter<'a> {
    pub tenant: &'a str,
    pub saga: &'a str,
    pub state: Option<&'a str>,
    pub limit: usize,
    pub after: Option<&'a str>,
}

#[derive(Serialize)]
struct Row {
    key: String,
    state: String,
    version: u64,
    updated_at_ms: u64,
    last_seq: u64,
}

pub fn run(vol: &Volume, f: &Filter<'_>, format: Format) -> Result<(), CliError> {
    let page = vol.read(|r| {
        need_tenant(r, f.tenant, Some(f.saga))?;
        let p = r.instances_page(f.tenant, f.saga, f.after, f.state, f.limit)?;
        let items: Vec<Row> = p
            .items
            .into_iter()
            .map(|i| Row {
                key: i.key,
                state: i.record.state,
                version: i.record.version,
                updated_at_ms: i.record.updated_at_ms,
                last_seq: i.record.last_seq,
            })
            .collect();
        let next_after = p.next.and(items.last().map(|i| i.key.clone()));
        Ok::<_, CliError>(Page { items, next_after })
    })?;
    match format {
        Format::Json => output::json(&page),
        Format::Table => {
            let mut t = output::table(["KEY", "STATE", "VERSION", "UPDATED", "LAST SEQ"]);
            for i in &page.items {
                t.add_row(vec![
                    Cell::new(&i.key),
                    Cell::new(&i.state),
                    Cell::new(i.version),
                    Cell::new(time(i.updated_at_ms)),
                    Cell::new(i.last_seq),
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
