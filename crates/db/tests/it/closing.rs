//! Closing runs in one statement (`closing::close_many`): a held run gets its round recorded,
//! its resources moved, its secrets destroyed, its cleanup ended and its attempts closed; a run
//! whose lease was lost gets none of it.

use antpath_db::closing::{AttemptsEnd, Closing, RoundAction, close_many};
use antpath_db::lifecycle::{self, Fence};
use antpath_db::resources::{self, Intent};
use antpath_types::{CleanupState, ErrorClass, ResourceId, ResourceKind, ResourceState, RunId};
use sqlx::PgPool;

use crate::fixtures::{Tenant, submit, tenant};

async fn journal(pool: &PgPool, tenant: &Tenant, run: RunId, key: &str) -> ResourceId {
    let mut conn = pool.acquire().await.expect("acquire");
    let row = resources::journal(
        &mut conn,
        &Intent {
            id: ResourceId::new(),
            run_id: run,
            workspace_id: tenant.workspace,
            attempt_number: 1,
            kind: ResourceKind::Session,
            logical_key: key,
            provider_name: key,
            provider_metadata: serde_json::json!({}),
        },
    )
    .await
    .expect("journal");
    resources::record_provider_id(&mut *conn, row.id, &format!("sesn_{key}"))
        .await
        .expect("created");
    row.id
}

/// What a user of the API (and the sweeper) can see of a run after its closing.
#[derive(Debug, PartialEq)]
struct Seen {
    phase: String,
    cleanup_state: String,
    leased: bool,
    secrets: i64,
    attempts_open: i64,
    records: Vec<(String, String, i32)>,
}

async fn seen(pool: &PgPool, run: RunId) -> Seen {
    let (phase, cleanup_state, leased, linked): (String, String, bool, bool) = sqlx::query_as(
        "select phase, cleanup_state, lease_token is not null, execution_secret_id is not null
         from runs where id = $1",
    )
    .bind(run.as_uuid())
    .fetch_one(pool)
    .await
    .expect("run");
    let secrets: i64 = sqlx::query_scalar("select count(*) from run_secrets where run_id = $1")
        .bind(run.as_uuid())
        .fetch_one(pool)
        .await
        .expect("secrets");
    assert_eq!(linked, secrets > 0, "the run links exactly its own secrets");
    let attempts_open: i64 = sqlx::query_scalar(
        "select count(*) from run_attempts where run_id = $1 and state = 'started'",
    )
    .bind(run.as_uuid())
    .fetch_one(pool)
    .await
    .expect("attempts");
    let records = sqlx::query_as(
        "select action, status, attempt_number from cleanup_attempts where run_id = $1
         order by id",
    )
    .bind(run.as_uuid())
    .fetch_all(pool)
    .await
    .expect("records");
    Seen {
        phase,
        cleanup_state,
        leased,
        secrets,
        attempts_open,
        records,
    }
}

async fn state(pool: &PgPool, resource: ResourceId) -> String {
    sqlx::query_scalar("select state from provider_resources where id = $1")
        .bind(resource.as_uuid())
        .fetch_one(pool)
        .await
        .expect("state")
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_batch_closes_the_held_runs_whole_and_leaves_a_lost_one_untouched(pool: PgPool) {
    let tenant = tenant(&pool).await;
    let (first, second) = (submit(&pool, &tenant).await, submit(&pool, &tenant).await);
    let claimed = lifecycle::claim_due(&pool, "w", 2, 30.0)
        .await
        .expect("claim");
    let fence = |run: RunId| {
        let c = claimed.iter().find(|c| c.run_id == run).expect("claimed");
        Fence {
            run_id: run,
            token: c.token,
        }
    };
    let session = journal(&pool, &tenant, first, "session").await;
    let other = journal(&pool, &tenant, first, "other").await;
    let lost_session = journal(&pool, &tenant, second, "session").await;
    // The second run's lease went to another replica.
    sqlx::query("update runs set lease_token = gen_random_uuid() where id = $1")
        .bind(second.as_uuid())
        .execute(&pool)
        .await
        .expect("steal");
    let before_lost = seen(&pool, second).await;

    let closings = [
        Closing {
            fence: fence(first),
            round: 2,
            actions: vec![
                // Failed once, then deleted: the last new state wins.
                RoundAction {
                    resource: session,
                    action: "delete_session",
                    state: Some(ResourceState::CleanupFailed),
                    error: Some((ErrorClass::TransientProvider, "busy".into())),
                },
                RoundAction {
                    resource: session,
                    action: "delete_session",
                    state: Some(ResourceState::Deleted),
                    error: None,
                },
                RoundAction {
                    resource: other,
                    action: "retain",
                    state: None,
                    error: None,
                },
            ],
            state: CleanupState::Succeeded,
            attempts_end: AttemptsEnd::Succeeded,
        },
        Closing {
            fence: fence(second),
            round: 1,
            actions: vec![RoundAction {
                resource: lost_session,
                action: "delete_session",
                state: Some(ResourceState::Deleted),
                error: None,
            }],
            state: CleanupState::Succeeded,
            attempts_end: AttemptsEnd::Failed,
        },
    ];
    let closed = close_many(&pool, &closings).await.expect("close");

    assert_eq!(closed, vec![first]);
    let record = |action: &str, status: &str| (action.to_owned(), status.to_owned(), 2);
    assert_eq!(
        seen(&pool, first).await,
        Seen {
            phase: "done".into(),
            cleanup_state: "succeeded".into(),
            leased: false,
            secrets: 0,
            attempts_open: 0,
            records: vec![
                record("delete_session", "failed"),
                record("delete_session", "succeeded"),
                record("retain", "succeeded"),
                record("destroy_secrets", "succeeded"),
            ],
        }
    );
    assert_eq!(state(&pool, session).await, "deleted");
    assert_eq!(state(&pool, other).await, "created");
    assert_eq!(seen(&pool, second).await, before_lost);
    assert_eq!(before_lost.secrets, 1, "the lost run keeps its secrets");
    assert_eq!(state(&pool, lost_session).await, "created");
}

/// Deleting a run's secrets makes Postgres look for runs still linked to them (the foreign
/// key's `on delete set null`); that look must not read every run the table has ever kept.
#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn closing_a_run_reads_no_other_runs_to_destroy_its_secrets(pool: PgPool) {
    let tenant = tenant(&pool).await;
    let run = submit(&pool, &tenant).await;
    // Thousands of ended runs kept for their history.
    sqlx::raw_sql(
        "insert into runs (id, workspace_id, creator_app_user_id, api_token_id, template_name,
                           template_snapshot, template_hash, request_hash, cleanup_policy,
                           max_duration_seconds, max_spend_usd, max_attempts, status, phase,
                           cleanup_state, ended_at)
         select gen_random_uuid(), workspace_id, creator_app_user_id, api_token_id,
                template_name, template_snapshot, template_hash, request_hash, cleanup_policy,
                max_duration_seconds, max_spend_usd, max_attempts, 'succeeded', 'done',
                'succeeded', now()
         from runs, generate_series(1, 3000);
         analyze runs;",
    )
    .execute(&pool)
    .await
    .expect("ended runs");
    let claimed = lifecycle::claim_due(&pool, "w", 1, 30.0)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);

    // The statistics of this connection's scans, read before and after in one transaction.
    let mut tx = pool.begin().await.expect("begin");
    let read = "select seq_tup_read from pg_stat_xact_user_tables where relname = 'runs'";
    let before: i64 = sqlx::query_scalar(read)
        .fetch_one(&mut *tx)
        .await
        .expect("before");
    let closed = close_many(
        &mut *tx,
        &[Closing {
            fence: Fence {
                run_id: run,
                token: claimed[0].token,
            },
            round: 1,
            actions: Vec::new(),
            state: CleanupState::Succeeded,
            attempts_end: AttemptsEnd::Succeeded,
        }],
    )
    .await
    .expect("close");
    assert_eq!(closed, vec![run]);
    let after: i64 = sqlx::query_scalar(read)
        .fetch_one(&mut *tx)
        .await
        .expect("after");
    tx.commit().await.expect("commit");
    assert_eq!(
        after - before,
        0,
        "closing one run read other runs sequentially"
    );
    assert_eq!(seen(&pool, run).await.secrets, 0);
}
