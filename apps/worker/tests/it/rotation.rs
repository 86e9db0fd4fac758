//! Rotating the vault key while runs are in flight: the operator adds a key, makes it active,
//! re-seals every live bundle with `rotate-vault-key`, and removes the old key; every run
//! completes and its secrets open throughout.

use std::collections::BTreeMap;
use std::time::Duration;

use antpath_bff::rotation::rotate_vault_key;
use antpath_redact::Secret;
use antpath_types::{RunId, RunStatus};
use antpath_vault::KeyRing;
use antpath_worker::FaultHook;
use sqlx::PgPool;

use crate::support::{CANARY, Harness, eventually};

const OLD_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // the harness's k1
const NEW_KEY: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="; // 32 bytes, base64

fn ring(active: &str, ids: &[&str]) -> KeyRing {
    let keys = ids
        .iter()
        .map(|id| {
            let value = if *id == "k1" { OLD_KEY } else { NEW_KEY };
            ((*id).to_owned(), Secret::new(value.to_owned()))
        })
        .collect::<BTreeMap<_, _>>();
    KeyRing::new(active, &keys).expect("ring")
}

async fn key_ids_in_use(h: &Harness) -> Vec<String> {
    sqlx::query_scalar("select distinct key_id from run_secrets order by key_id")
        .fetch_all(&h.pool)
        .await
        .expect("key ids")
}

async fn started(h: &Harness, runs: &[RunId]) -> usize {
    let mut count = 0;
    for run in runs {
        if !matches!(h.status(*run).await, RunStatus::Queued) {
            count += 1;
        }
    }
    count
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_key_rotated_in_the_middle_of_active_runs_leaves_every_run_completing(pool: PgPool) {
    let mut h = Harness::new(pool).await;
    // Six runs sealed under the old key k1, slow enough to be in flight during the rotation.
    let mut runs = Vec::new();
    for _ in 0..6 {
        runs.push(h.submit("antpath-sim: scenario=slow seconds=2").await);
    }
    // The rolled configuration: both keys, k2 active. The worker picks the runs up.
    let rolled = ring("k2", &["k1", "k2"]);
    h.keys = rolled.clone();
    let worker = h.start("w1", FaultHook::none());
    eventually(
        "every run to be started",
        Duration::from_secs(20),
        || async { started(&h, &runs).await == runs.len() },
    )
    .await;
    // A new submission during the roll is sealed under k2 already.
    runs.push(h.submit("antpath-sim: scenario=slow seconds=1").await);
    assert_eq!(key_ids_in_use(&h).await, ["k1", "k2"]);

    // Re-seal under k2 in batches of two, while the worker steps the runs.
    let rotation = rotate_vault_key(&h.pool, &rolled, 2)
        .await
        .expect("rotation");
    assert_eq!(rotation.active_key_id, "k2");
    assert!(
        rotation.resealed >= 1,
        "live bundles under k1 were re-sealed"
    );
    assert_eq!(rotation.retirable, ["k1"]);
    assert!(!rotation.remaining.contains_key("k1"));
    let report = rotation.report();
    assert!(
        report.contains("key `k1` is referenced by nothing and can be retired"),
        "{report}"
    );
    assert!(!report.contains(CANARY));
    assert_eq!(key_ids_in_use(&h).await, ["k2"]);

    // Retire k1: a worker with only k2 takes over the runs still in flight and finishes them.
    worker.shutdown().await;
    h.keys = ring("k2", &["k2"]);
    let worker = h.start("w2", FaultHook::none());
    for run in &runs {
        assert_eq!(h.wait_terminal(*run).await, RunStatus::Succeeded, "{run}");
    }
    worker.shutdown().await;

    // A second rotation finds nothing to do and says so.
    let again = rotate_vault_key(&h.pool, &ring("k2", &["k1", "k2"]), 2)
        .await
        .expect("rotation");
    assert_eq!(again.resealed, 0);
    assert_eq!(again.retirable, ["k1"]);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn every_resealed_bundle_opens_under_the_new_key_alone(pool: PgPool) {
    let mut h = Harness::new(pool).await;
    let mut runs = Vec::new();
    for _ in 0..5 {
        runs.push(h.submit("antpath-sim: scenario=happy").await);
    }
    let rolled = ring("k2", &["k1", "k2"]);
    let rotation = rotate_vault_key(&h.pool, &rolled, 2)
        .await
        .expect("rotation");
    assert_eq!(rotation.resealed, 5);
    assert_eq!(rotation.remaining, BTreeMap::from([("k2".to_owned(), 5)]));
    let only_new = ring("k2", &["k2"]);
    for run in &runs {
        let sealed = sqlx::query_as::<_, (String, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>)>(
            "select key_id, wrapped_key, wrap_nonce, ciphertext, nonce from run_secrets where run_id = $1",
        )
        .bind(run.as_uuid())
        .fetch_one(&h.pool)
        .await
        .expect("bundle");
        let sealed = antpath_vault::Sealed {
            key_id: sealed.0,
            wrapped_key: sealed.1,
            wrap_nonce: sealed.2,
            ciphertext: sealed.3,
            nonce: sealed.4,
        };
        let opened = only_new.open(*run, &sealed).expect("opens under k2");
        assert!(opened.expose_secret().contains(CANARY));
    }
    h.keys = only_new;
    let worker = h.start("w1", FaultHook::none());
    for run in &runs {
        assert_eq!(h.wait_terminal(*run).await, RunStatus::Succeeded, "{run}");
    }
    worker.shutdown().await;
}
