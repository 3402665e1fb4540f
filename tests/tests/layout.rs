//! The scale-out layout's contract with the server: a tenant's partition group as the pair
//! computes it (`shared::names::partition_of`) is the one nats-server's `partition()`
//! subject transform gives it, for ids of every allowed shape.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{consumer, stream};
use e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_servers_partition_of_a_tenant_is_the_one_the_pair_computes() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let js = jetstream(&nats).await?;
    let mut rand = rng();
    let alphabet: Vec<char> = ('a'..='z')
        .chain('A'..='Z')
        .chain('0'..='9')
        .chain(['-', '_'])
        .collect();
    // Odd shapes on purpose: one character, the longest (64), dashes and underscores only.
    let mut tenants = vec![
        "a".to_string(),
        "-".to_string(),
        "_".to_string(),
        "x".repeat(64),
        "t-1_A".to_string(),
    ];
    for _ in 0..300 {
        let len = 1 + rand(64) as usize;
        tenants.push(
            (0..len)
                .map(|_| alphabet[rand(alphabet.len() as u64) as usize])
                .collect(),
        );
    }
    tenants.sort();
    tenants.dedup();
    for groups in [7u32, 64] {
        let name = format!("LAYOUT_{groups}");
        let (source, destination) = shared::names::partition_transform(groups);
        js.create_stream(stream::Config {
            name: name.clone(),
            subjects: vec![source.clone()],
            subject_transform: Some(stream::SubjectTransform {
                source,
                destination,
            }),
            ..Default::default()
        })
        .await?;
        for t in &tenants {
            js.publish(format!("evt.{t}.order"), "{}".into())
                .await?
                .await?;
        }
        let c = js
            .get_stream(&name)
            .await?
            .create_consumer(consumer::pull::Config {
                ack_policy: consumer::AckPolicy::None,
                ..Default::default()
            })
            .await?;
        let mut msgs = shared::pull::Pull::start(&js, &c, Default::default()).await?;
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        while seen.len() < tenants.len() {
            let m = tokio::time::timeout(Duration::from_secs(10), msgs.next()).await??;
            let parts: Vec<&str> = m.subject.split('.').collect();
            assert_eq!(parts.len(), 4, "{}", m.subject);
            seen.insert(parts[2].to_string(), parts[1].parse()?);
        }
        js.delete_stream(&name).await?;
        for t in &tenants {
            assert_eq!(
                seen[t],
                shared::names::partition_of(t, groups),
                "tenant {t} with {groups} groups"
            );
        }
    }
    Ok(())
}
