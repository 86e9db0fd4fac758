//! Workspace membership changes: the last owner stays, even when two owners demote each other
//! at the same moment, and the phase history the run page reads.

use std::time::Duration;

use antpath_db::members::{self, Change};
use antpath_db::users;
use antpath_types::UserId;
use sqlx::PgPool;

use antpath_db::run_history;
use antpath_db::runs::insert_idempotent;
use antpath_types::{CleanupState, Phase, RunStatus};

use crate::fixtures::{new_run, sealed, tenant};

async fn second_owner(pool: &PgPool, workspace: antpath_types::WorkspaceId) -> UserId {
    let user = UserId::new();
    users::insert(pool, user, &format!("{user}@example.com"), None)
        .await
        .expect("user");
    users::add_membership(pool, workspace, user, antpath_types::Role::Owner)
        .await
        .expect("membership");
    user
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_demotion_waiting_on_another_sees_it_and_refuses_to_leave_no_owner(pool: PgPool) {
    let tenant = tenant(&pool).await;
    let other = second_owner(&pool, tenant.workspace).await;

    // The first demotion holds the workspace lock, uncommitted.
    let mut first = pool.begin().await.expect("tx");
    let done = members::set_role(
        &mut first,
        tenant.workspace,
        other,
        antpath_types::Role::Member,
    )
    .await
    .expect("first");
    assert_eq!(done, Change::Done);

    // The second demotion, of the other owner, must wait for it.
    let waiting = tokio::spawn({
        let pool = pool.clone();
        let workspace = tenant.workspace;
        let user = tenant.user;
        async move {
            let mut tx = pool.begin().await.expect("tx");
            let change = members::set_role(&mut tx, workspace, user, antpath_types::Role::Member)
                .await
                .expect("second");
            tx.commit().await.expect("commit");
            change
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the second change waits on the lock"
    );
    first.commit().await.expect("commit");
    assert_eq!(waiting.await.expect("join"), Change::LastOwner);

    let owners: Vec<UserId> = members::list(&pool, tenant.workspace)
        .await
        .expect("members")
        .into_iter()
        .filter(|m| m.role == antpath_types::Role::Owner)
        .map(|m| m.user_id)
        .collect();
    assert_eq!(owners, [tenant.user]);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn removing_keeps_the_row_and_refuses_the_last_owner(pool: PgPool) {
    let tenant = tenant(&pool).await;
    let other = second_owner(&pool, tenant.workspace).await;
    let mut tx = pool.begin().await.expect("tx");
    assert_eq!(
        members::remove(&mut tx, tenant.workspace, other)
            .await
            .expect("remove"),
        Change::Done
    );
    assert_eq!(
        members::remove(&mut tx, tenant.workspace, other)
            .await
            .expect("again"),
        Change::NotMember
    );
    assert_eq!(
        members::remove(&mut tx, tenant.workspace, tenant.user)
            .await
            .expect("last"),
        Change::LastOwner
    );
    tx.commit().await.expect("commit");
    assert_eq!(
        members::role_of(&pool, tenant.workspace, other)
            .await
            .expect("role"),
        None
    );
    assert!(
        users::memberships(&pool, other)
            .await
            .expect("memberships")
            .is_empty()
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_phase_history_records_each_lifecycle_change_once_for_its_workspace_only(pool: PgPool) {
    let tenant = tenant(&pool).await;
    let run = new_run(&tenant, None, "hash-a");
    let mut tx = pool.begin().await.expect("tx");
    insert_idempotent(&mut tx, &run, &sealed())
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    for sql in [
        "update runs set phase = 'session', status = 'provisioning' where id = $1",
        // Neither phase, status nor cleanup state changes: no history row.
        "update runs set next_check_at = now() + interval '1 minute', status = status where id = $1",
        "update runs set phase = 'cleanup', status = 'succeeded', cleanup_state = 'running' where id = $1",
        "update runs set cleanup_state = 'succeeded', phase = 'done' where id = $1",
    ] {
        sqlx::query(sql)
            .bind(run.id.as_uuid())
            .execute(&pool)
            .await
            .expect("update");
    }
    let steps = run_history::phase_history(&pool, tenant.workspace, run.id)
        .await
        .expect("history");
    let seen: Vec<(Phase, RunStatus, CleanupState)> = steps
        .iter()
        .map(|s| (s.phase, s.status, s.cleanup_state))
        .collect();
    assert_eq!(
        seen,
        [
            (Phase::Provision, RunStatus::Queued, CleanupState::Pending),
            (
                Phase::Session,
                RunStatus::Provisioning,
                CleanupState::Pending
            ),
            (Phase::Cleanup, RunStatus::Succeeded, CleanupState::Running),
            (Phase::Done, RunStatus::Succeeded, CleanupState::Succeeded),
        ]
    );
    assert!(steps.windows(2).all(|w| w[0].entered_at <= w[1].entered_at));
    let foreign = antpath_types::WorkspaceId::new();
    assert!(
        run_history::phase_history(&pool, foreign, run.id)
            .await
            .expect("history")
            .is_empty()
    );
}
