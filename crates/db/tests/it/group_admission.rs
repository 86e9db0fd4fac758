//! Group admission (`admission::admit_many`): a group's decisions are those of its submissions
//! admitted one at a time, its refusals write nothing, and groups that name the same
//! workspaces in different orders never deadlock.

use antpath_db::admission::{Admission, Admitted, SubmitBucket, admit_many};
use antpath_db::rate_limits::BucketSpec;
use antpath_db::tokens;
use antpath_types::{TokenId, WorkspaceId};
use sqlx::PgPool;

use crate::fixtures::{CAPS, Tenant, new_run, sealed, submit, tenant};

/// An admission of `tenant`'s run under `token`, from a bucket that never runs dry.
fn admission(tenant: &Tenant, token: TokenId, key: Option<&str>, hash: &str) -> Admission {
    let mut run = new_run(tenant, key, hash);
    run.api_token_id = Some(token);
    Admission {
        run,
        secret: sealed(),
        bucket: SubmitBucket {
            key: format!("submit:{}", tenant.workspace),
            spec: BucketSpec::per_minute(10_000),
        },
        explicit_duration: None,
        trace_parent: None,
    }
}

async fn second_token(pool: &PgPool, tenant: &Tenant) -> TokenId {
    let id = TokenId::new();
    let hash: Vec<u8> = id.as_uuid().as_bytes().repeat(2);
    tokens::insert(
        pool,
        &tokens::NewToken {
            id,
            workspace_id: tenant.workspace,
            creator: tenant.user,
            name: "second",
            token_hash: &hash,
            token_prefix: "ant_tst2",
            pepper_id: "legacy",
            scopes: &["runs:write".to_owned()],
        },
    )
    .await
    .expect("token");
    id
}

async fn rows_of(pool: &PgPool, workspace: WorkspaceId) -> (i64, i64) {
    sqlx::query_as(
        "select (select count(*) from runs where workspace_id = $1),
                (select count(*) from run_secrets s join runs r on r.id = s.run_id
                 where r.workspace_id = $1)",
    )
    .bind(workspace.as_uuid())
    .fetch_one(pool)
    .await
    .expect("count")
}

fn outcomes(answers: Vec<Result<Admitted, antpath_db::DbError>>) -> Vec<String> {
    answers
        .into_iter()
        .map(|answer| match answer {
            Ok(Admitted::Created(_)) => "created".to_owned(),
            Ok(Admitted::Existing(_)) => "existing".to_owned(),
            Ok(other) => format!("{other:?}"),
            Err(err) => format!("error: {err}"),
        })
        .collect()
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_group_counts_its_own_earlier_admissions_against_both_caps(pool: PgPool) {
    // Caps: 5 active runs in the workspace, 3 per token. One run of the first token is
    // already active, and the group interleaves a second workspace.
    let a = tenant(&pool).await;
    let b = tenant(&pool).await;
    let a2 = second_token(&pool, &a).await;
    submit(&pool, &a).await;
    let group = vec![
        admission(&a, a.token, None, "h"),
        admission(&b, b.token, None, "h"),
        admission(&a, a.token, None, "h"),
        admission(&a, a.token, None, "h"),
        admission(&a, a2, None, "h"),
        admission(&a, a2, None, "h"),
        admission(&a, a2, None, "h"),
        admission(&b, b.token, None, "h"),
    ];
    let answers = admit_many(&pool, &group).await.expect("group");
    assert_eq!(
        outcomes(answers),
        [
            "created",
            "created",
            "created",
            // The token's third active run was its cap (3): one before, two in this group.
            &format!(
                "{:?}",
                Admitted::OverTokenCap(CAPS.max_active_runs_per_token)
            ),
            "created",
            "created",
            // 1 + 2 + 2 = 5, the workspace's cap, though this token has room.
            &format!("{:?}", Admitted::OverWorkspaceCap(CAPS.max_active_runs)),
            "created",
        ]
    );
    assert_eq!(rows_of(&pool, a.workspace).await, (5, 5));
    assert_eq!(rows_of(&pool, b.workspace).await, (2, 2));
    // Every admitted run has its first phase-history row, and only those.
    let history: Vec<(String, i64)> = sqlx::query_as(
        "select h.status, count(*) from run_phase_history h join runs r on r.id = h.run_id
         where r.workspace_id = $1 group by h.status",
    )
    .bind(a.workspace.as_uuid())
    .fetch_all(&pool)
    .await
    .expect("history");
    assert_eq!(history, [("queued".to_owned(), 5)]);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_group_answers_replays_conflicts_rate_limits_and_inactive_workspaces_writing_nothing(
    pool: PgPool,
) {
    let a = tenant(&pool).await;
    let closed = tenant(&pool).await;
    let earlier = admission(&a, a.token, Some("first"), "same");
    let other = admission(&a, a.token, Some("second"), "was-this");
    let created = admit_many(&pool, &[earlier.clone(), other])
        .await
        .expect("earlier runs");
    assert_eq!(outcomes(created), ["created", "created"]);
    sqlx::query("update workspaces set status = 'pending_delete' where id = $1")
        .bind(closed.workspace.as_uuid())
        .execute(&pool)
        .await
        .expect("close the workspace");
    // A bucket of one token a minute: the group's first row spends it, its second finds it dry.
    let one_a_minute = |t: &Tenant| {
        let mut a = admission(t, t.token, None, "h");
        a.bucket = SubmitBucket {
            key: "submit:slow".to_owned(),
            spec: BucketSpec::per_minute(1),
        };
        a
    };
    let mut too_long = admission(&a, a.token, None, "h");
    too_long.explicit_duration = Some(CAPS.max_run_duration_seconds + 1);

    let group = vec![
        admission(&a, a.token, Some("first"), "same"),
        admission(&a, a.token, Some("second"), "different"),
        one_a_minute(&a),
        one_a_minute(&a),
        admission(&closed, closed.token, None, "h"),
        too_long,
    ];
    let answers = admit_many(&pool, &group).await.expect("group");
    let told = outcomes(answers);
    assert_eq!(told[0], "existing");
    assert_eq!(
        told[1],
        "error: the idempotency key was already used for a different request"
    );
    assert_eq!(told[2], "created");
    assert!(told[3].starts_with("RateLimited("), "{told:?}");
    assert_eq!(told[4], format!("{:?}", Admitted::WorkspaceInactive));
    assert_eq!(
        told[5],
        format!(
            "{:?}",
            Admitted::DurationOverCap(CAPS.max_run_duration_seconds)
        )
    );
    assert_eq!(rows_of(&pool, a.workspace).await, (3, 3));
    assert_eq!(rows_of(&pool, closed.workspace).await, (0, 0));
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn groups_naming_the_same_workspaces_in_opposite_orders_never_deadlock(pool: PgPool) {
    let mut tenants = Vec::new();
    for _ in 0..4 {
        tenants.push(tenant(&pool).await);
    }
    let mut groups = Vec::new();
    for round in 0..12 {
        // Half the groups name the workspaces forwards, half backwards, each several times,
        // so a group that locked in its own order would wait on one holding the other end.
        let mut order: Vec<&Tenant> = tenants.iter().collect();
        if round % 2 == 1 {
            order.reverse();
        }
        let group: Vec<Admission> = order
            .iter()
            .map(|t| admission(t, t.token, None, "h"))
            .collect();
        groups.push(group);
    }
    let handles: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let pool = pool.clone();
            tokio::spawn(async move { admit_many(&pool, &group).await.map(outcomes) })
        })
        .collect();
    let mut created = 0;
    for handle in handles {
        let told = handle.await.expect("task").expect("no group fails");
        created += told.iter().filter(|outcome| *outcome == "created").count();
    }
    // Twelve admissions per workspace against a cap of five (three per token): exactly the
    // token's cap each.
    assert_eq!(created, 4 * CAPS.max_active_runs_per_token as usize);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_group_spends_its_bucket_in_arrival_order_as_far_as_the_tokens_go(pool: PgPool) {
    let a = tenant(&pool).await;
    // A bucket of three tokens: the first group of two takes two at once; the second group of
    // two finds one, which its first row gets.
    let three = |t: &Tenant| {
        let mut admission = admission(t, t.token, None, "h");
        admission.bucket = SubmitBucket {
            key: "submit:three".to_owned(),
            spec: BucketSpec::per_minute(3),
        };
        admission
    };
    let first = admit_many(&pool, &[three(&a), three(&a)])
        .await
        .expect("first");
    assert_eq!(outcomes(first), ["created", "created"]);
    let second = admit_many(&pool, &[three(&a), three(&a)])
        .await
        .expect("second");
    let told = outcomes(second);
    assert_eq!(told[0], "created");
    assert!(told[1].starts_with("RateLimited("), "{told:?}");
    // A new bucket of two and a group of four: the group is longer than the bucket holds.
    let b = tenant(&pool).await;
    let two = |t: &Tenant| {
        let mut admission = three(t);
        admission.bucket = SubmitBucket {
            key: "submit:two".to_owned(),
            spec: BucketSpec::per_minute(2),
        };
        admission
    };
    let told = outcomes(
        admit_many(&pool, &[two(&b), two(&b), two(&b)])
            .await
            .expect("third"),
    );
    assert_eq!(told[..2], ["created", "created"]);
    assert!(told[2].starts_with("RateLimited("), "{told:?}");
    assert_eq!(rows_of(&pool, b.workspace).await, (2, 2));
    assert_eq!(rows_of(&pool, a.workspace).await, (3, 3));
}
