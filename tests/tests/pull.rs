//! `shared::pull::Pull` against a real nats-server: every message once and in order however
//! the reader and the server's answers interleave, requests that expire are asked again, and
//! a consumer lost (deleted, or its server gone) ends the pull instead of stalling it.
//!
//! async-nats' own `messages()` stalled here: its request was counted after the messages it
//! brought, so it stopped asking until two heartbeats were missed (decision 51).

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use e2e::*;
use shared::pull::{Pull, PullError, PullOptions};

const WAIT: Duration = Duration::from_secs(30);

async fn setup(
    nats: &NatsServer,
    n: usize,
) -> anyhow::Result<(jetstream::Context, consumer::PullConsumer)> {
    let js = jetstream(nats).await?;
    js.create_stream(stream::Config {
        name: "PULL".into(),
        subjects: vec!["pull.>".into()],
        ..Default::default()
    })
    .await?;
    publish_n(&js, 0, n).await?;
    let c = js
        .get_stream("PULL")
        .await?
        .create_consumer(consumer::pull::Config {
            name: Some("reader".into()),
            ack_policy: consumer::AckPolicy::None,
            memory_storage: true,
            ..Default::default()
        })
        .await?;
    Ok((js, c))
}

async fn publish_n(js: &jetstream::Context, from: usize, n: usize) -> anyhow::Result<()> {
    let mut acks = Vec::new();
    for i in from..from + n {
        // Odd subjects on purpose: the reader must not care.
        acks.push(
            js.publish(format!("pull.t-{}_x.ev", i % 7), i.to_string().into())
                .await?,
        );
        if acks.len() == 1000 {
            for a in acks.drain(..) {
                a.await?;
            }
        }
    }
    for a in acks {
        a.await?;
    }
    Ok(())
}

fn body(m: &jetstream::Message) -> usize {
    std::str::from_utf8(&m.payload).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_message_comes_once_in_order_with_requests_of_one_and_of_seven() -> anyhow::Result<()>
{
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let (js, _) = setup(&nats, 3000).await?;
    let s = js.get_stream("PULL").await?;
    // Each case reads from the start, and adds one message at its end.
    for (total, (batch, chunk)) in (3000usize..).zip([(1usize, 1usize), (7, 5), (7, 100)]) {
        let c = s
            .create_consumer(consumer::pull::Config {
                ack_policy: consumer::AckPolicy::None,
                memory_storage: true,
                ..Default::default()
            })
            .await?;
        // A heartbeat of 250 ms: a request counted late stalls this read for 500 ms and
        // then fails it (`MissedHeartbeat`), which this test reports.
        let mut pull = Pull::start(
            &js,
            &c,
            PullOptions {
                max_bytes: 0,
                batch,
                expires: Duration::from_secs(5),
                heartbeat: Duration::from_millis(250),
            },
        )
        .await?;
        let mut next = 0usize;
        let mut chunks = 0;
        while next < total {
            let got = pull
                .next_chunk(chunk)
                .await
                .map_err(|e| anyhow::anyhow!("batch {batch}: after {next} messages: {e}"))?;
            assert!(!got.is_empty() && got.len() <= chunk, "{}", got.len());
            for m in &got {
                assert_eq!(body(m), next, "batch {batch}");
                assert_eq!(m.info().unwrap().stream_sequence, next as u64 + 1);
                next += 1;
            }
            chunks += 1;
            // Now and then a slow reader: the server's answers pile up meanwhile.
            if chunks % 97 == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        // Read to the end and idle, the pull still answers: the next message published.
        publish_n(&js, total, 1).await?;
        let m = tokio::time::timeout(WAIT, pull.next()).await??;
        assert_eq!(body(&m), total, "batch {batch}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_that_expire_unanswered_are_asked_again() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let (js, c) = setup(&nats, 0).await?;
    let mut pull = Pull::start(
        &js,
        &c,
        PullOptions {
            max_bytes: 0,
            batch: 10,
            expires: Duration::from_millis(300),
            heartbeat: Duration::from_millis(100),
        },
    )
    .await?;
    // Several requests expire (408, nothing delivered) while the reader waits.
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while seen.len() < 1000 {
            for m in pull.next_chunk(64).await? {
                seen.push(body(&m));
            }
        }
        Ok::<_, PullError>(seen)
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !reader.is_finished(),
        "the reader ended with nothing to read"
    );
    publish_n(&js, 0, 1000).await?;
    let seen = tokio::time::timeout(WAIT, reader).await???;
    assert_eq!(seen, (0..1000).collect::<Vec<_>>());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_consumer_ends_the_pull() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let (js, c) = setup(&nats, 5).await?;
    let mut pull = Pull::start(&js, &c, PullOptions::default()).await?;
    let mut got = 0;
    while got < 5 {
        got += pull.next_chunk(100).await?.len();
    }
    assert_eq!(got, 5);
    let waiting = tokio::spawn(async move { pull.next().await.map(|m| body(&m)) });
    js.get_stream("PULL")
        .await?
        .delete_consumer("reader")
        .await?;
    let r = tokio::time::timeout(WAIT, waiting).await??;
    assert!(matches!(r, Err(PullError::ConsumerDeleted)), "{r:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_gone_silent_ends_the_pull_after_two_heartbeats() -> anyhow::Result<()> {
    let mut nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let (js, c) = setup(&nats, 1).await?;
    let mut pull = Pull::start(
        &js,
        &c,
        PullOptions {
            max_bytes: 0,
            batch: 100,
            expires: Duration::from_secs(30),
            heartbeat: Duration::from_millis(200),
        },
    )
    .await?;
    assert_eq!(body(&pull.next().await?), 0);
    // Idle but healthy: heartbeats keep it going past several heartbeat periods.
    let idle = tokio::time::timeout(Duration::from_millis(1200), pull.next()).await;
    assert!(idle.is_err(), "an idle pull ended: {idle:?}");
    nats.kill();
    let r = tokio::time::timeout(WAIT, pull.next()).await?;
    assert!(
        matches!(r, Err(PullError::MissedHeartbeat(_) | PullError::Closed)),
        "{r:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_not_there_yet_is_asked_again_and_one_never_made_ends_the_pull()
-> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let (js, _) = setup(&nats, 3).await?;
    let opts = PullOptions {
        max_bytes: 0,
        batch: 10,
        expires: Duration::from_secs(5),
        heartbeat: Duration::from_millis(500),
    };
    // Nobody answers the first requests (as while a cluster elects the consumer's leader).
    let mut late = Pull::start_named(&js, "PULL", "late", opts).await?;
    let reading = tokio::spawn(async move { late.next_chunk(10).await.map(|v| v.len()) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !reading.is_finished(),
        "gave up on a consumer about to exist"
    );
    js.get_stream("PULL")
        .await?
        .create_consumer(consumer::pull::Config {
            name: Some("late".into()),
            ack_policy: consumer::AckPolicy::None,
            memory_storage: true,
            ..Default::default()
        })
        .await?;
    let got = tokio::time::timeout(WAIT, reading).await??;
    assert!(matches!(got, Ok(1..=3)), "{got:?}");
    // One that never exists: the pull ends, saying why.
    let mut never = Pull::start_named(&js, "PULL", "never", opts).await?;
    let r = tokio::time::timeout(WAIT, never.next()).await?;
    assert!(matches!(r, Err(PullError::NoResponders)), "{r:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_ended_by_their_bytes_are_followed_by_the_next() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let (js, c) = setup(&nats, 0).await?;
    // 6,000 messages of 1 KiB: more than one request's bytes (asked: 1 byte, raised to
    // twice the server's largest message, 2 MiB), so requests end with "409 Message Size
    // Exceeds MaxBytes" and the count they did not deliver.
    let pad = "x".repeat(1024);
    for from in (0..6000usize).step_by(1000) {
        // Acks awaited a thousand at a time (the client holds at most so many).
        let mut acks = Vec::new();
        for i in from..from + 1000 {
            acks.push(js.publish("pull.big", format!("{i} {pad}").into()).await?);
        }
        for a in acks {
            a.await?;
        }
    }
    let mut pull = Pull::start(
        &js,
        &c,
        PullOptions {
            batch: 10_000,
            max_bytes: 1,
            expires: Duration::from_secs(5),
            heartbeat: Duration::from_millis(250),
        },
    )
    .await?;
    let mut next = 0usize;
    while next < 6000 {
        for m in pull.next_chunk(1000).await? {
            let body = std::str::from_utf8(&m.payload)?;
            assert_eq!(body.split(' ').next(), Some(next.to_string().as_str()));
            next += 1;
        }
    }
    Ok(())
}
