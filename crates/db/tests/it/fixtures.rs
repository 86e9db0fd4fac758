//! Rows most tests need: a workspace with a user and a token, and queued runs in it.

use antpath_db::runs::{NewRun, SealedSecret, insert_idempotent};
use antpath_db::workspaces::PlanCaps;
use antpath_db::{tokens, users, workspaces};
use antpath_types::{RunId, SecretId, TokenId, UserId, WorkspaceId};
use sqlx::PgPool;

/// Ids of the seeded rows.
pub struct Tenant {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub token: TokenId,
}

pub const CAPS: PlanCaps = PlanCaps {
    max_active_runs: 5,
    max_active_runs_per_token: 3,
    max_run_duration_seconds: 3600,
    storage_cap_bytes: 1 << 30,
};

pub async fn tenant(pool: &PgPool) -> Tenant {
    let tenant = Tenant {
        workspace: WorkspaceId::new(),
        user: UserId::new(),
        token: TokenId::new(),
    };
    workspaces::insert(pool, tenant.workspace, "acme", CAPS)
        .await
        .expect("workspace");
    users::insert(
        pool,
        tenant.user,
        &format!("{}@example.com", tenant.user),
        None,
    )
    .await
    .expect("user");
    users::add_membership(
        pool,
        tenant.workspace,
        tenant.user,
        antpath_types::Role::Owner,
    )
    .await
    .expect("membership");
    let hash: Vec<u8> = tenant.token.as_uuid().as_bytes().repeat(2);
    tokens::insert(
        pool,
        &tokens::NewToken {
            id: tenant.token,
            workspace_id: tenant.workspace,
            creator: tenant.user,
            name: "ci",
            token_hash: &hash,
            token_prefix: "ant_test",
            pepper_id: "legacy",
            scopes: &["runs:read".to_owned(), "runs:write".to_owned()],
        },
    )
    .await
    .expect("token");
    tenant
}

pub fn new_run(tenant: &Tenant, idempotency_key: Option<&str>, request_hash: &str) -> NewRun {
    NewRun {
        id: RunId::new(),
        workspace_id: tenant.workspace,
        creator: tenant.user,
        api_token_id: Some(tenant.token),
        template_name: "quickstart".into(),
        template_snapshot: serde_json::json!({"name": "quickstart"}),
        template_hash: "sha256:00".into(),
        idempotency_key: idempotency_key.map(str::to_owned),
        request_hash: request_hash.into(),
        cleanup_policy: antpath_types::ClaudeSessionCleanup::Delete,
        max_duration_seconds: 600,
        max_spend_usd: None,
        max_attempts: 3,
    }
}

pub fn sealed() -> SealedSecret {
    SealedSecret {
        id: SecretId::new(),
        key_id: "k1".into(),
        wrapped_key: vec![1; 48],
        wrap_nonce: vec![2; 12],
        ciphertext: vec![3; 64],
        nonce: vec![4; 12],
    }
}

/// A queued run of `tenant` with its sealed inputs, committed.
pub async fn submit(pool: &PgPool, tenant: &Tenant) -> RunId {
    let run = new_run(tenant, None, "h");
    let mut tx = pool.begin().await.expect("begin");
    insert_idempotent(&mut tx, &run, &sealed())
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    run.id
}
