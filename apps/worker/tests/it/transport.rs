//! One provider connection pool per worker process (issue 13, part 1): runs with different
//! keys share the pool's connections, and every request still carries its own run's key.

use std::collections::{BTreeMap, BTreeSet};

use antpath_types::{RunId, RunStatus};
use antpath_worker::FaultHook;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::support::Harness;

async fn sim_get(h: &Harness, path: &str) -> Value {
    reqwest::get(format!("{}{path}", h.sim.base_url()))
        .await
        .expect("sim")
        .json()
        .await
        .expect("json")
}

/// How the simulator names a key in its call log.
fn fingerprint(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..12]
        .to_owned()
}

async fn session_of(h: &Harness, run: RunId) -> String {
    sqlx::query_scalar(
        "select provider_id from provider_resources where run_id = $1 and kind = 'session'",
    )
    .bind(run.as_uuid())
    .fetch_one(&h.pool)
    .await
    .expect("session")
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn runs_with_different_keys_share_connections_and_each_call_carries_its_runs_key(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    let worker = h.start("w1", FaultHook::none());
    let before = sim_get(&h, "/__sim/counts").await["connections"]
        .as_u64()
        .expect("connections");
    let keys = ["sk-ant-tenant-a-3c9e1f", "sk-ant-tenant-b-8d2a7b"];
    let mut runs = Vec::new();
    for round in 0..3 {
        for key in keys {
            let run = h
                .submit_keyed(
                    key,
                    &format!("antpath-sim: scenario=happy files=1 round={round}"),
                )
                .await;
            assert_eq!(h.wait_terminal(run).await, RunStatus::Succeeded);
            runs.push((run, key));
        }
    }
    worker.shutdown().await;

    let counts = sim_get(&h, "/__sim/counts").await;
    let connections = counts["connections"].as_u64().expect("connections") - before;
    let requests = counts["total"].as_u64().expect("total");
    // A client per step opened a connection per step or more; one pool keeps a few open.
    assert!(
        connections < runs.len() as u64,
        "{} runs made {requests} requests over {connections} new connections",
        runs.len()
    );

    let calls = sim_get(&h, "/__sim/calls").await;
    let calls = calls["calls"].as_array().expect("calls");
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (run, key) in &runs {
        let session = session_of(&h, *run).await;
        for call in calls {
            let path = call["path"].as_str().unwrap_or_default();
            if path.contains(&session) {
                let used = call["api_key_fingerprint"].as_str().unwrap_or("none");
                seen.entry(session.clone())
                    .or_default()
                    .insert(used.to_owned());
                assert_eq!(
                    used,
                    fingerprint(key),
                    "{} {path} went out with another run's key",
                    call["method"]
                );
            }
        }
    }
    assert_eq!(seen.len(), runs.len(), "every run's session was called");
}
