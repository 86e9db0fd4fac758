//! Fixtures of the newer tests: workspaces with an owner and a token, runs placed in a chosen
//! state, and outputs stored for real in the local store and recorded as the worker records
//! them.

use antpath_db::outputs::{self, NewOutput, Recorded};
use antpath_db::runs::{NewRun, SealedSecret};
use antpath_db::tokens::{self, NewToken};
use antpath_db::workspaces::PlanCaps;
use antpath_db::{users, workspaces};
use antpath_storage::{ObjectKey, ObjectStore, output_key};
use antpath_types::{OutputId, RunId, SecretId, TokenId, UserId, WorkspaceId};
use sqlx::PgPool;

/// A workspace with its owner and one token.
#[derive(Debug, Clone, Copy)]
pub struct Tenant {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// Its owner.
    pub user: UserId,
    /// A token of the owner.
    pub token: TokenId,
    /// The token's stored hash.
    pub token_hash: [u8; 32],
}

/// A workspace with a storage cap of 1 MiB, an owner and a token.
pub async fn tenant(pool: &PgPool) -> Tenant {
    let workspace = WorkspaceId::new();
    let caps = PlanCaps {
        max_active_runs: 50,
        max_active_runs_per_token: 50,
        max_run_duration_seconds: 60,
        storage_cap_bytes: 1 << 20,
    };
    workspaces::insert(pool, workspace, "acme", caps)
        .await
        .expect("workspace");
    let user = UserId::new();
    users::insert(pool, user, &format!("{user}@example.com"), None)
        .await
        .expect("user");
    users::add_membership(pool, workspace, user, antpath_types::Role::Owner)
        .await
        .expect("membership");
    let token = TokenId::new();
    let mut token_hash = [0u8; 32];
    token_hash[..16].copy_from_slice(token.as_uuid().as_bytes());
    tokens::insert(
        pool,
        &NewToken {
            id: token,
            workspace_id: workspace,
            creator: user,
            name: "ci",
            token_hash: &token_hash,
            token_prefix: "ant_test",
            pepper_id: "legacy",
            scopes: &["runs:read".to_owned()],
        },
    )
    .await
    .expect("token");
    Tenant {
        workspace,
        user,
        token,
        token_hash,
    }
}

/// A queued run of the tenant's, holding a sealed secrets bundle.
pub async fn run(pool: &PgPool, tenant: &Tenant) -> RunId {
    let id = RunId::new();
    let new = NewRun {
        id,
        workspace_id: tenant.workspace,
        creator: tenant.user,
        api_token_id: Some(tenant.token),
        template_name: "t".into(),
        template_snapshot: serde_json::json!({}),
        template_hash: "sha256:0".into(),
        idempotency_key: None,
        request_hash: "h".into(),
        cleanup_policy: antpath_types::ClaudeSessionCleanup::Delete,
        max_duration_seconds: 60,
        max_spend_usd: None,
        max_attempts: 1,
    };
    let secret = SealedSecret {
        id: SecretId::new(),
        key_id: "k".into(),
        wrapped_key: vec![1],
        wrap_nonce: vec![0; 12],
        ciphertext: vec![2],
        nonce: vec![0; 12],
    };
    let mut tx = pool.begin().await.expect("begin");
    antpath_db::runs::insert_idempotent(&mut tx, &new, &secret)
        .await
        .expect("run");
    tx.commit().await.expect("commit");
    id
}

/// Puts the run in `status` and `phase`.
pub async fn place(pool: &PgPool, run: RunId, status: &str, phase: &str) {
    sqlx::query("update runs set status = $2, phase = $3 where id = $1")
        .bind(run.as_uuid())
        .bind(status)
        .bind(phase)
        .execute(pool)
        .await
        .expect("place the run");
}

/// Marks the run deleted by its user.
pub async fn request_run_delete(pool: &PgPool, run: RunId) {
    sqlx::query("update runs set pending_delete_at = now() where id = $1")
        .bind(run.as_uuid())
        .execute(pool)
        .await
        .expect("delete request");
}

/// Stores `bytes` as an output of the run and records it as capture does (row, counter and
/// ledger in one transaction). Returns its key.
pub async fn output(
    pool: &PgPool,
    store: &ObjectStore,
    tenant: &Tenant,
    run: RunId,
    bytes: &[u8],
) -> ObjectKey {
    let id = OutputId::new();
    let key = output_key(tenant.workspace, run, id, "out.txt");
    store
        .put_stream(&key, bytes, "text/plain", 1 << 20)
        .await
        .expect("put");
    let mut tx = pool.begin().await.expect("begin");
    let recorded = outputs::record_output(
        &mut tx,
        &NewOutput {
            id,
            run_id: run,
            workspace_id: tenant.workspace,
            user_id: tenant.user,
            provider_file_id: &format!("file_{}", id.as_uuid().simple()),
            filename: "out.txt",
            storage_key: key.as_str(),
            size_bytes: i64::try_from(bytes.len()).expect("size"),
            sha256: &"0".repeat(64),
            content_type: Some("text/plain"),
        },
    )
    .await
    .expect("record");
    assert_eq!(recorded, Recorded::Stored);
    tx.commit().await.expect("commit");
    key
}

/// The workspace's storage counter.
pub async fn used_bytes(pool: &PgPool, workspace: WorkspaceId) -> i64 {
    sqlx::query_scalar("select storage_used_bytes from workspaces where id = $1")
        .bind(workspace.as_uuid())
        .fetch_one(pool)
        .await
        .expect("used bytes")
}

/// Sets the workspace's storage counter, as a bug or a lost update would.
pub async fn set_used_bytes(pool: &PgPool, workspace: WorkspaceId, bytes: i64) {
    sqlx::query("update workspaces set storage_used_bytes = $2 where id = $1")
        .bind(workspace.as_uuid())
        .bind(bytes)
        .execute(pool)
        .await
        .expect("set used bytes");
}

/// A run's status.
pub async fn status(pool: &PgPool, run: RunId) -> String {
    sqlx::query_scalar("select status from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(pool)
        .await
        .expect("status")
}

/// Rows of `table` whose `column` is `id`.
pub async fn count(
    pool: &PgPool,
    table: &'static str,
    column: &'static str,
    id: uuid::Uuid,
) -> i64 {
    // Audited: both names are literals of the tests, never input.
    let sql = sqlx::AssertSqlSafe(format!("select count(*) from {table} where {column} = $1"));
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("count")
}
