//! What the worker's examples share: a scratch database made afresh with one workspace and
//! user, a fixed test keyring, the in-process simulator and a local object store in a temp
//! folder. Included by each example with `#[path = "support/mod.rs"] mod support;`.

#![allow(dead_code)]

use std::collections::BTreeMap;

use antpath_db::workspaces::PlanCaps;
use antpath_redact::Secret;
use antpath_storage::{LocalStore, LocalStoreConfig, ObjectStore};
use antpath_types::{UserId, WorkspaceId};
use antpath_vault::KeyRing;
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
