//! `inspect instances`: a page of a saga's instances, in key order. `runnerctl get
//! instances` prints the runner's answer with [`show`], the same way.

use comfy_table::Cell;
use shared::edge_storage::Volume;
use shared::wire::InstancePage;

use super::common::{need_tenant, time};
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

pub fn run(vol: &Volume, f: &Filter<'_>, format: Format) -> Result<(), CliError> {
    let page = vol.read(|r| {
        need_tenant(r, f.tenant, Some(f.saga))?;
        Ok::<_, CliError>(r.instance_summaries(f.tenant, f.saga, f.after, f.state, f.limit)?)
    })?;
    show(&page, format);
    Ok(())
}

/// A page as a table (the next page's `--after` on stderr) or as JSON.
pub fn show(page: &InstancePage, format: Format) {
    match format {
        Format::Json => output::json(page),
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
}
