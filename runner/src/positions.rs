//! The position reporter: how far each served tenant is applied, written to the hand-over
//! bucket (`positions.<shard>`) four times a second when it moved. It is what a new owner
//! starts after if this runner crashes: events applied here after the last report are
//! applied there again (and deduplicated by their markers when the volume moves with them).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::kv;
use shared::placement::PositionsRecord;
use tokio_util::sync::CancellationToken;

use crate::state::SharedState;

/// What the reporter writes and where.
pub struct Reporter {
    pub shared: Arc<SharedState>,
    pub handoff: kv::Store,
    pub shard: String,
    pub volume_id: String,
    pub streams: Arc<crate::stream::Streams>,
}

impl Reporter {
    /// Reports until `stop`. Not before the placement manager has looked at the last report
    /// of this shard (`SharedState::placement_ready`): a lost volume's tenants are
    /// recognised by it.
    pub async fn run(self, stop: CancellationToken) {
        let key = shared::placement::positions_key(&self.shard);
        let mut last: Option<BTreeMap<String, u64>> = None;
        let mut every = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = every.tick() => {}
            }
            if !self.shared.placement_ready.load(Ordering::Acquire) {
                continue;
            }
            let tenants = self.positions();
            if last.as_ref() == Some(&tenants) {
                continue;
            }
            let rec = PositionsRecord {
                shard: self.shard.clone(),
                at_ms: shared::now_ms(),
                tenants: tenants.clone(),
                volume_id: Some(self.volume_id.clone()),
                stream_id: Some(self.streams.fleet_id()),
            };
            let body = bytes::Bytes::from(serde_json::to_vec(&rec).expect("serialisable"));
            if self.handoff.put(&key, body).await.is_ok() {
                last = Some(tenants);
            }
        }
    }

    /// Each served tenant's position: every event of it up to there is applied.
    fn positions(&self) -> BTreeMap<String, u64> {
        let view = self.shared.engine.lock().expect("lock").clone();
        view.tenants
            .keys()
            .filter_map(|t| view.position_of(t).map(|p| (t.clone(), p)))
            .collect()
    }
}
