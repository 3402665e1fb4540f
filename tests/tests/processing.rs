//! The runner's core processing against a real nats-server: tenants, exactly-once apply,
//! dead letters, commands, timers, and the volume lock.

use std::time::Duration;

use e2e::*;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn two_tenants_are_processed_independently_and_others_are_left_alone() -> anyhow::Result<()> {
    let nats = NatsServer::start().map_err(anyhow::Error::msg)?;
    let tmp = tempfile::tempdir()?;
    let mut runner = Runner::start(RunnerSpec::new(
        &nats,
        &tmp.path().join("vol"),
        &["t1", "t2"],
    ))
    .await?;
    let js = jetstream(&nats).await?;
    let mut events = Vec::new();
    for t in ["t1", "t2", "t3"] {
        for i in 0..20 {
            events.push((
                format!("evt.{t}.order"),
                event(
                    &format!("{t}-p{i}"),
                    "OrderPlaced",
                    &format!("o{i}"),
                    json!({"amount": i, "customer": "c"}),
                ),
            ));
        }
        for i in 0..10 {
            events.push((
                format!("evt.{t}.order"),
                event(
                    &format!("{t}-c{i}"),
                    "PaymentCaptured",
                    &format!("o{i}"),
                    json!({}),
                ),
            ));
        }
        for i in 0..5 {
            events.push((
                format!("evt.{t}.account"),
                event(
                    &format!("{t}-d{i}"),
                    "Deposited",
                    "acc",
                    json!({"amount": 10}),
                ),
            ));
        }
    }
    publish_all(&js, &events).await?;
    let status = runner.wait_caught_up(WAIT).await?;
    assert_eq!(status.tenants.len(), 2);
    for t in &status.tenants {
        let order = t.sagas.iter().find(|s| s.saga == "order").unwrap();
        assert_eq!(order.counters.applied, 30, "{t:?}");
        let account = t.sagas.iter().find(|s| s.saga == "account").unwrap();
        assert_eq!(account.counters.applied, 5, "{t:?}");
    }
    assert_eq!(status.totals.dead_lettered, 0);

    let exit = runner.terminate(WAIT)?;
    assert!(exit.success(), "SIGTERM exit: {exit}");
    let vol = read_volume(&tmp.path().join("vol"))?;
    assert!(
        vol.instances.keys().all(|(t, _, _)| t != "t3"),
        "t3 is not served here"
    );
    for t in ["t1", "t2"] {
        let paid = vol
            .instances
            .iter()
            .filter(|((tt, s, _), r)| tt == t && s == "order" && r.state == "paid")
            .count();
        let waiting = vol
            .instances
            .iter()
            .filter(|((tt, s, _), r)| tt == t && s == "order" && r.state == "awaiting_payment")
            .count();
        assert_eq!((paid, waiting), (10, 10), "{t}");
        let acc = &vol.instances[&(t.to_string(), "account".to_string(), "acc".to_string())];
        let data: serde_json::Value = serde_json::from_str(&acc.data)?;
        assert_eq!(data["balance"], json!(50));
        assert_eq!(acc.version, 5);
    }
    assert_eq!(vol.outbox, 0, "every command was published");
    // 20 payment requests + 10 shipping requests + 5 ledger credits per tenant.
    let cmds = read_stream(&js, "RUNNER_COMMANDS").await?;
    for t in ["t1", "t2"] {
        let n = cmds
            .iter()
            .filter(|m| m.subject.starts_with(&format!("cmd.{t}.")))
            .count();
        assert_eq!(n, 35, "{t}");
    }
    assert!(cmds.iter().all(|m| !m.subject.starts_with("cmd.t3.")));
    Ok(())
}
