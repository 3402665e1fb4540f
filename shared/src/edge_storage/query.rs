//! Queries over a volume, for whoever reports on it: `runnerctl inspect`, the offline
//! dashboard, and the runner's `/admin/status` and tenant endpoints. Counts come from the
//! `stats` table (tenants x sagas x 5 entries, never a scan of the data); listings are pages
//! in key order that continue after the last key of the previous page.

use std::collections::BTreeMap;

use serde::Serialize;

use super::keys::{self, TableCode};
use super::{
    Checkpoint, InstanceRecord, OutboxEntry, Reader, ScheduleRecord, StorageError, TableId,
    TenantCursor, TransactionKind, decode_u64, decode_value,
};

/// Entries of a tenant+saga (or a sum of them), per table.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub instances: u64,
    pub dedupe: u64,
    pub checkpoints: u64,
    pub outbox: u64,
    pub timers: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.instances += o.instances;
        self.dedupe += o.dedupe;
        self.checkpoints += o.checkpoints;
        self.outbox += o.outbox;
        self.timers += o.timers;
    }

    /// The count of one table.
    pub fn get(&self, table: TableCode) -> u64 {
        match table {
            TableCode::Sagas => self.instances,
            TableCode::Dedupe => self.dedupe,
            TableCode::Checkpoints => self.checkpoints,
            TableCode::Outbox => self.outbox,
            TableCode::Schedules => self.timers,
        }
    }

    pub fn get_mut(&mut self, table: TableCode) -> &mut u64 {
        match table {
            TableCode::Sagas => &mut self.instances,
            TableCode::Dedupe => &mut self.dedupe,
            TableCode::Checkpoints => &mut self.checkpoints,
            TableCode::Outbox => &mut self.outbox,
            TableCode::Schedules => &mut self.timers,
        }
    }

    pub fn total(&self) -> u64 {
        self.instances + self.dedupe + self.checkpoints + self.outbox + self.timers
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
}

/// tenant -> saga -> counts.
pub type StatsMap = BTreeMap<String, BTreeMap<String, Counts>>;

/// What a volume holds for one tenant: its sagas' counts summed, and its cursor.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TenantSummary {
    pub tenant: String,
    /// Sagas with entries.
    pub sagas: usize,
    #[serde(flatten)]
    pub counts: Counts,
    pub cursor: Option<TenantCursor>,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// The raw key of the last item, when there is more after it: pass it as `after` for the
    /// next page.
    pub next: Option<Vec<u8>>,
}

/// An instance in a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRow {
    pub key: String,
    pub record: InstanceRecord,
}

/// A pending timer in a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct TimerRow {
    pub tenant: String,
    pub saga: String,
    pub key: String,
    pub timer: String,
    pub due_ms: u64,
    pub record: ScheduleRecord,
}

impl<K: TransactionKind> Reader<'_, K> {
    /// Counts per tenant and saga (of one tenant when given); pairs whose every count went
    /// back to 0 are left out.
    pub fn stats(&self, tenant: Option<&str>) -> Result<StatsMap, StorageError> {
        let mut out = StatsMap::new();
        let prefix = match tenant {
            Some(t) => keys::tenant_prefix(t)?,
            None => Vec::new(),
        };
        self.scan(TableId::Stats, &prefix, None, |k, v| {
            let (t, s, table) = keys::decode_stats(k)?;
            let c = out
                .entry(t.to_string())
                .or_default()
                .entry(s.to_string())
                .or_default();
            *c.get_mut(table) = decode_u64(v)?;
            Ok(true)
        })?;
        for per in out.values_mut() {
            per.retain(|_, c| !c.is_empty());
        }
        out.retain(|_, per| !per.is_empty());
        Ok(out)
    }

    /// Counts of one tenant+saga (five point lookups).
    pub fn counts(&self, tenant: &str, saga: &str) -> Result<Counts, StorageError> {
        let mut c = Counts::default();
        for table in TableCode::ALL {
            *c.get_mut(table) = self.count(tenant, saga, table)?;
        }
        Ok(c)
    }

    /// Counts of one tenant, over all its sagas.
    pub fn tenant_counts(&self, tenant: &str) -> Result<Counts, StorageError> {
        let mut c = Counts::default();
        for per in self.stats(Some(tenant))?.values() {
            for s in per.values() {
                c.add(s);
            }
        }
        Ok(c)
    }

    /// Every tenant with entries or a cursor, in tenant order.
    pub fn tenant_summaries(&self) -> Result<Vec<TenantSummary>, StorageError> {
        let stats = self.stats(None)?;
        let cursors: BTreeMap<String, TenantCursor> = self.cursors()?.into_iter().collect();
        let mut names: Vec<&String> = stats.keys().chain(cursors.keys()).collect();
        names.sort();
        names.dedup();
        Ok(names
            .into_iter()
            .map(|t| {
                let mut counts = Counts::default();
                let per = stats.get(t);
                for c in per.into_iter().flat_map(|p| p.values()) {
                    counts.add(c);
                }
                TenantSummary {
                    tenant: t.clone(),
                    sagas: per.map(|p| p.len()).unwrap_or(0),
                    counts,
                    cursor: cursors.get(t).copied(),
                }
            })
            .collect())
    }

    /// Up to `limit` rows of `table` under `prefix`, after the raw key `after`. `row` turns
    /// an entry into a row, or `None` to leave it out (a filter).
    pub fn page<T>(
        &self,
        table: TableId,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
        mut row: impl FnMut(&[u8], &[u8]) -> Result<Option<T>, StorageError>,
    ) -> Result<Paged<T>, StorageError> {
        let mut items = Vec::new();
        let mut last: Option<Vec<u8>> = None;
        let mut more = false;
        self.scan(table, prefix, after, |k, v| {
            let Some(item) = row(k, v)? else {
                return Ok(true);
            };
            if items.len() == limit {
                more = true;
                return Ok(false);
            }
            items.push(item);
            last = Some(k.to_vec());
            Ok(true)
        })?;
        Ok(Paged {
            items,
            next: if more { last } else { None },
        })
    }

    /// Instances of a tenant+saga in key order, after the instance key `after`, only those
    /// in `state` when given.
    pub fn instances_page(
        &self,
        tenant: &str,
        saga: &str,
        after: Option<&str>,
        state: Option<&str>,
        limit: usize,
    ) -> Result<Paged<InstanceRow>, StorageError> {
        let after = after
            .map(|a| keys::instance_key(tenant, saga, a))
            .transpose()?;
        self.page(
            TableId::Sagas,
            &keys::saga_prefix(tenant, saga)?,
            after.as_deref(),
            limit,
            |k, v| {
                let record: InstanceRecord = decode_value(v)?;
                if state.is_some_and(|s| s != record.state) {
                    return Ok(None);
                }
                let (_, _, key) = keys::decode_three(k)?;
                Ok(Some(InstanceRow {
                    key: key.to_string(),
                    record,
                }))
            },
        )
    }

    /// [`Reader::instances_page`] as a listing shows it: key, state, version, times.
    pub fn instance_summaries(
        &self,
        tenant: &str,
        saga: &str,
        after: Option<&str>,
        state: Option<&str>,
        limit: usize,
    ) -> Result<crate::wire::InstancePage, StorageError> {
        let p = self.instances_page(tenant, saga, after, state, limit)?;
        let items: Vec<crate::wire::InstanceSummary> = p
            .items
            .into_iter()
            .map(|i| crate::wire::InstanceSummary {
                key: i.key,
                state: i.record.state,
                version: i.record.version,
                updated_at_ms: i.record.updated_at_ms,
                last_seq: i.record.last_seq,
            })
            .collect();
        let next_after = p.next.and(items.last().map(|i| i.key.clone()));
        Ok(crate::wire::InstancePage { items, next_after })
    }

    /// Why the volume cannot answer about `tenant` (and `saga`): it holds nothing for it.
    /// `None` when it holds something.
    pub fn holds_nothing_for(
        &self,
        tenant: &str,
        saga: Option<&str>,
    ) -> Result<Option<String>, StorageError> {
        let st = self.stats(Some(tenant))?;
        if !st.contains_key(tenant) && self.cursor(tenant)?.is_none() {
            return Ok(Some(format!("holds nothing for tenant '{tenant}'")));
        }
        if let Some(s) = saga
            && !st.get(tenant).is_some_and(|p| p.contains_key(s))
        {
            let have: Vec<&String> = st
                .get(tenant)
                .map(|p| p.keys().collect())
                .unwrap_or_default();
            return Ok(Some(format!(
                "holds nothing for saga '{s}' of tenant '{tenant}' (it has: {have:?})"
            )));
        }
        Ok(None)
    }

    /// Outbox entries in the order they were written (by outbox sequence), after `after`.
    pub fn outbox_page(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Paged<(u64, OutboxEntry)>, StorageError> {
        self.page(TableId::Outbox, &[], after, limit, |k, v| {
            Ok(Some((keys::decode_outbox(k)?, decode_value(v)?)))
        })
    }

    /// Pending timers (of one tenant when given) in key order, after `after`.
    pub fn timers_page(
        &self,
        tenant: Option<&str>,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Paged<TimerRow>, StorageError> {
        let prefix = tenant.map(keys::tenant_prefix).transpose()?;
        self.page(
            TableId::Schedules,
            prefix.as_deref().unwrap_or(&[]),
            after,
            limit,
            |k, v| {
                let d = keys::decode_schedule(k)?;
                Ok(Some(TimerRow {
                    tenant: d.tenant.to_string(),
                    saga: d.saga.to_string(),
                    key: d.key.to_string(),
                    timer: d.timer.to_string(),
                    due_ms: d.due_ms,
                    record: decode_value(v)?,
                }))
            },
        )
    }

    /// Checkpoints (tenant, saga, checkpoint) in key order, after `after`.
    pub fn checkpoints_page(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Paged<(String, String, Checkpoint)>, StorageError> {
        self.page(TableId::Checkpoints, &[], after, limit, |k, v| {
            let (t, s) = keys::decode_two(k)?;
            Ok(Some((t.to_string(), s.to_string(), decode_value(v)?)))
        })
    }
}
