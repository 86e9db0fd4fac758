//! What the worker's examples share: a scratch database made afresh with one workspace and
//! user, a fixed test keyring, the in-process simulator and a local object store in a temp
//! folder. Included by each example with `#[path = "support/mod.rs"] mod support;`.

#![allow(dead_code)]

use std::collections::BTreeMap;

use antpath_db::runs::{NewRun, SealedSecret};
use antpath_db::workspaces::PlanCaps;
use antpath_redact::Secret;
use antpath_storage::{LocalStore, LocalStoreConfig, ObjectStore};
use antpath_template::submission::{RunInputs, SecretBundle};
use antpath_types::{ClaudeSessionCleanup, RunId, SecretId, UserId, WorkspaceId};
use antpath_vault::KeyRing;
use serde_json::{Value, json};
use sqlx::PgPool;

/// A scratch database ready for runs, and the parts a worker needs beside it.
pub struct Scratch {
    /// The workspace the runs go to (caps high enough never to refuse one).
    pub workspace: WorkspaceId,
    /// The runs' creator.
    pub user: UserId,
    /// The keyring that seals the runs' inputs (a fixed, test-only key).
    pub keys: KeyRing,
    /// The simulator, in-process at zero latency.
    pub sim: antpath_sim::SimHandle,
    /// Where outputs go.
    pub store: ObjectStore,
    /// The store's folder, removed on drop.
    pub dir: tempfile::TempDir,
}

impl Scratch {
    /// Empties the database behind `pool` (nothing else may use it), migrates it and creates
    /// the workspace and user named after `label`.
    pub async fn new(pool: &PgPool, label: &str) -> Self {
        for sql in ["drop schema public cascade", "create schema public"] {
            sqlx::query(sql).execute(pool).await.expect("reset");
        }
        antpath_db::MIGRATOR.run(pool).await.expect("migrate");
        let (workspace, user) = (WorkspaceId::new(), UserId::new());
        let caps = PlanCaps {
            max_active_runs: 100,
            max_active_runs_per_token: 100,
            max_run_duration_seconds: 3600,
            storage_cap_bytes: 1 << 40,
        };
        antpath_db::workspaces::insert(pool, workspace, label, caps)
            .await
            .expect("workspace");
        antpath_db::users::insert(pool, user, &format!("{label}@example.com"), None)
            .await
            .expect("user");
        let sim = antpath_sim::spawn(antpath_sim::SimConfig::default())
            .await
            .expect("sim");
        let dir = tempfile::tempdir().expect("dir");
        let store = ObjectStore::Local(
            LocalStore::new(LocalStoreConfig {
                root: dir.path().into(),
                public_base_url: "http://localhost".into(),
                signing_key: Secret::new("s".repeat(32)),
            })
            .expect("store"),
        );
        Self {
            workspace,
            user,
            keys: test_keyring(),
            sim,
            store,
            dir,
        }
    }
}

/// A keyring with one fixed key, for scratch data only.
pub fn test_keyring() -> KeyRing {
    let key = Secret::new("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned());
    KeyRing::new("k", &BTreeMap::from([("k".to_owned(), key)])).expect("keys")
}

/// Seals `secrets` and the `directive` (the template's `d` variable) and inserts a queued run
/// of `template` in one transaction.
pub async fn insert_run(
    pool: &PgPool,
    keys: &KeyRing,
    (workspace, user): (WorkspaceId, UserId),
    template: Value,
    secrets: Value,
    directive: &str,
) -> RunId {
    let run = RunId::new();
    let secrets: SecretBundle = serde_json::from_value(secrets).expect("bundle");
    let inputs = RunInputs {
        secrets,
        variables: BTreeMap::from([("d".to_owned(), json!(directive))]),
    };
    let sealed = keys.seal(run, &inputs.to_plaintext_json()).expect("seal");
    let name = template["name"].as_str().unwrap_or("example").to_owned();
    let new = NewRun {
        id: run,
        workspace_id: workspace,
        creator: user,
        api_token_id: None,
        template_name: name,
        template_snapshot: template,
        template_hash: "sha256:0".into(),
        idempotency_key: None,
        request_hash: "h".into(),
        cleanup_policy: ClaudeSessionCleanup::Delete,
        max_duration_seconds: 3600,
        max_spend_usd: None,
        max_attempts: 1,
    };
    let secret = SealedSecret::new(SecretId::new(), sealed);
    let mut tx = pool.begin().await.expect("begin");
    antpath_db::runs::insert_idempotent(&mut tx, &new, &secret)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    run
}
