//! Deleting a workspace end to end at the database and sweeper level: the request cancels the
//! active runs, the purge waits until every run is done, then the objects, runs and tokens go
//! while the audit trail and a tombstone stay. Another workspace is untouched throughout.

use antpath_db::workspace_deletion::{self, Requested, Requester};
use antpath_db::{audit, tokens, workspace_purge};
use antpath_types::RunId;
use sqlx::PgPool;

use crate::fixtures::{Tenant, count, output, place, run, tenant, used_bytes};

async fn cancel_requested(pool: &PgPool, run: RunId) -> bool {
    sqlx::query_scalar("select cancel_requested_at is not null from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(pool)
        .await
        .expect("run")
}

async fn deletion_state(pool: &PgPool, tenant: &Tenant) -> String {
    sqlx::query_scalar("select state from workspace_deletions where workspace_id = $1")
        .bind(tenant.workspace.as_uuid())
        .fetch_one(pool)
        .await
        .expect("deletion")
}

/// Leaves provider-side records on a run, so the purge has cascades to follow.
async fn journal(pool: &PgPool, tenant: &Tenant, run: RunId) {
    let resource = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into provider_resources
             (id, run_id, workspace_id, attempt_number, kind, logical_key, provider_name,
              provider_id, state)
         values ($1, $2, $3, 1, 'session', 'session', 'n', 'sesn_1', 'deleted')",
    )
    .bind(resource)
    .bind(run.as_uuid())
    .bind(tenant.workspace.as_uuid())
    .execute(pool)
    .await
    .expect("resource");
    sqlx::query(
        "insert into cleanup_attempts (id, run_id, resource_id, action, status, attempt_number)
         values ($1, $2, $3, 'delete_session', 'succeeded', 1)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(run.as_uuid())
    .bind(resource)
    .execute(pool)
    .await
    .expect("cleanup attempt");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_deleted_workspace_is_drained_then_purged_down_to_its_tombstone_and_audit_trail(
    pool: PgPool,
) {
    let dir = tempfile::tempdir().expect("dir");
    let store = crate::store(&dir);
    let leaving = tenant(&pool).await;
    let observing = run(&pool, &leaving).await;
    place(&pool, observing, "provider_running", "observe").await;
    let cleaning = run(&pool, &leaving).await;
    place(&pool, cleaning, "succeeded", "cleanup").await;
    let finished = run(&pool, &leaving).await;
    let finished_key = output(&pool, &store, &leaving, finished, b"final report").await;
    place(&pool, finished, "succeeded", "done").await;
    journal(&pool, &leaving, finished).await;
    let staying = tenant(&pool).await;
    let neighbour = run(&pool, &staying).await;
    let neighbour_key = output(&pool, &store, &staying, neighbour, b"keep me").await;

    let mut tx = pool.begin().await.expect("begin");
    let requested = workspace_deletion::request(&mut tx, leaving.workspace, Requester::Operator)
        .await
        .expect("request");
    tx.commit().await.expect("commit");
    assert_eq!(requested, Requested::Started { runs_cancelled: 1 });
    assert!(cancel_requested(&pool, observing).await);
    assert!(
        !cancel_requested(&pool, cleaning).await,
        "a run already winding down keeps going"
    );
    let status = antpath_db::workspaces::get(&pool, leaving.workspace)
        .await
        .expect("workspace")
        .expect("still there")
        .status;
    // Admission takes only an active workspace, so submissions are refused from here on.
    assert_eq!(status, "pending_delete");
    let mut tx = pool.begin().await.expect("begin");
    let again = workspace_deletion::request(&mut tx, leaving.workspace, Requester::Operator)
        .await
        .expect("request again");
    tx.commit().await.expect("commit");
    assert_eq!(again, Requested::AlreadyRequested);

    // Two runs are still being worked on: the purge waits, and says so.
    let report = antpath_sweeper::sweep_once(&pool, &store, 10)
        .await
        .expect("sweep");
    assert_eq!(report.workspaces_draining, 1, "{report}");
    assert_eq!(report.workspaces_deleted, 0, "{report}");
    assert_eq!(deletion_state(&pool, &leaving).await, "draining");
    assert!(store.head(&finished_key).await.expect("head").is_some());
    let progress = workspace_deletion::progress(&pool, leaving.workspace)
        .await
        .expect("progress");
    assert_eq!(progress.runs_remaining, 3);
    assert_eq!(progress.runs_cleaning_up, 2);
    assert_eq!(progress.objects_remaining, 1);
    assert_eq!(progress.bytes_remaining, 12);

    // The worker finishes the cancelled run; one is still cleaning up.
    place(&pool, observing, "cancelled", "done").await;
    let report = antpath_sweeper::sweep_once(&pool, &store, 10)
        .await
        .expect("sweep");
    assert_eq!(report.workspaces_draining, 1, "{report}");
    assert_eq!(deletion_state(&pool, &leaving).await, "draining");
    assert!(
        tokens::find_active_by_hashes(&pool, &[leaving.token_hash.to_vec()])
            .await
            .expect("lookup")
            .is_some(),
        "the tokens work while the deletion is under way"
    );

    place(&pool, cleaning, "succeeded", "done").await;
    let report = antpath_sweeper::sweep_once(&pool, &store, 2)
        .await
        .expect("sweep");
    assert_eq!(report.workspaces_deleted, 1, "{report}");
    assert_eq!(report.workspace_runs_purged, 3, "{report}");
    assert_eq!(report.workspace_objects_purged, 1, "{report}");
    assert_eq!(report.workspace_bytes_purged, 12, "{report}");

    assert_eq!(deletion_state(&pool, &leaving).await, "deleted");
    assert!(
        store.head(&finished_key).await.expect("head").is_none(),
        "objects gone"
    );
    let ws = leaving.workspace.as_uuid();
    for table in [
        "runs",
        "output_objects",
        "provider_resources",
        "usage_ledger",
    ] {
        assert_eq!(count(&pool, table, "workspace_id", ws).await, 0, "{table}");
    }
    for run in [observing, cleaning, finished] {
        for table in ["run_secrets", "cleanup_attempts", "run_attempts"] {
            assert_eq!(
                count(&pool, table, "run_id", run.as_uuid()).await,
                0,
                "{table}"
            );
        }
    }
    assert_eq!(used_bytes(&pool, leaving.workspace).await, 0);
    assert!(
        tokens::find_active_by_hashes(&pool, &[leaving.token_hash.to_vec()])
            .await
            .expect("lookup")
            .is_none(),
        "the tokens are revoked"
    );
    let status: String = sqlx::query_scalar("select status from workspaces where id = $1")
        .bind(ws)
        .fetch_one(&pool)
        .await
        .expect("tombstone");
    assert_eq!(status, "deleted");
    let actions: Vec<String> = audit::actions(&pool, leaving.workspace)
        .await
        .expect("audit")
        .into_iter()
        .map(|(action, _)| action)
        .collect();
    assert_eq!(
        actions,
        ["workspace.delete_completed", "workspace.delete_requested"]
    );

    assert!(store.head(&neighbour_key).await.expect("head").is_some());
    assert_eq!(used_bytes(&pool, staying.workspace).await, 7);
    assert_eq!(count(&pool, "runs", "id", neighbour.as_uuid()).await, 1);
    assert!(
        tokens::find_active_by_hashes(&pool, &[staying.token_hash.to_vec()])
            .await
            .expect("lookup")
            .is_some()
    );

    let report = antpath_sweeper::sweep_once(&pool, &store, 10)
        .await
        .expect("sweep");
    assert_eq!(report.workspaces_deleted, 0, "{report}");
    assert!(
        workspace_purge::unfinished(&pool, 10)
            .await
            .expect("unfinished")
            .is_empty()
    );
}
