//! `POST /v1/runs`: creation, idempotency, secret placement, caps, quotas and rate limits.

use std::sync::Arc;

use antpath_template::submission::secret_keys::SECRET_SUFFIXES;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use tokio::sync::Barrier;

use crate::support::{TestApp, submission, submission_with_key};

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_valid_submission_creates_a_queued_run_with_snapshotted_caps(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let reply = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(submission()))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let run = &reply.body;
    assert!(run["id"].as_str().is_some_and(|id| id.starts_with("run_")));
    assert_eq!(run["object"], "run");
    assert_eq!(run["status"], "queued");
    assert_eq!(run["cleanup_policy"], "delete");
    assert_eq!(run["template_name"], "docs-researcher");
    assert!(
        run["template_hash"]
            .as_str()
            .is_some_and(|h| h.starts_with("sha256:"))
    );
    assert_eq!(run["limits"]["max_duration_seconds"], 300);
    assert_eq!(run["limits"]["max_spend_usd"], 2.5);
    assert!(reply.headers.get("x-request-id").is_some());

    let (snapshot, attempts): (serde_json::Value, i32) =
        sqlx::query_as("select template_snapshot, max_attempts from runs")
            .fetch_one(&app.pool)
            .await
            .expect("row");
    assert_eq!(snapshot["name"], "docs-researcher");
    assert_eq!(attempts, 3);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_same_key_and_request_returns_the_existing_run_and_a_different_request_conflicts(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let first = app
        .call(
            Method::POST,
            "/v1/runs",
            &tenant.token,
            Some(submission_with_key("k-1")),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = app
        .call(
            Method::POST,
            "/v1/runs",
            &tenant.token,
            Some(submission_with_key("k-1")),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body["idempotency_key"], "k-1");

    let mut different = submission_with_key("k-1");
    different["variables"]["depth"] = json!(4);
    let conflict = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(different))
        .await;
    conflict.assert_error(StatusCode::CONFLICT, "conflict");

    // The header works too, and must agree with the body.
    let mut header = Request::builder()
        .method(Method::POST)
        .uri("/v1/runs")
        .header("authorization", format!("Bearer {}", tenant.token))
        .header("content-type", "application/json")
        .header("idempotency-key", "k-1")
        .body(Body::from(submission().to_string()))
        .expect("request");
    let via_header = app.send(header).await;
    assert_eq!(via_header.status, StatusCode::OK, "{}", via_header.body);
    assert_eq!(via_header.body["id"], first.body["id"]);
    header = Request::builder()
        .method(Method::POST)
        .uri("/v1/runs")
        .header("authorization", format!("Bearer {}", tenant.token))
        .header("content-type", "application/json")
        .header("idempotency-key", "k-2")
        .body(Body::from(submission_with_key("k-3").to_string()))
        .expect("request");
    let disagree = app.send(header).await;
    disagree.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let count: i64 = sqlx::query_scalar("select count(*) from runs")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 1);
    let secrets: i64 = sqlx::query_scalar("select count(*) from run_secrets")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(secrets, 1, "no orphaned sealed bundles");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn concurrent_duplicate_submissions_create_exactly_one_run(pool: sqlx::PgPool) {
    let app = Arc::new(TestApp::new(pool));
    let tenant = app.tenant("acme").await;
    let clients = 12;
    let barrier = Arc::new(Barrier::new(clients));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (app, barrier, token) = (Arc::clone(&app), Arc::clone(&barrier), tenant.token.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            app.call(
                Method::POST,
                "/v1/runs",
                &token,
                Some(submission_with_key("dup")),
            )
            .await
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut created = 0;
    for task in tasks {
        let reply = task.await.expect("task");
        assert!(
            reply.status == StatusCode::CREATED || reply.status == StatusCode::OK,
            "{}",
            reply.body
        );
        created += usize::from(reply.status == StatusCode::CREATED);
        ids.insert(reply.body["id"].as_str().expect("id").to_owned());
    }
    assert_eq!((created, ids.len()), (1, 1));
    let count: i64 = sqlx::query_scalar("select count(*) from runs")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 1);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn every_secret_bearing_key_outside_secrets_is_rejected_with_its_path(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    for suffix in SECRET_SUFFIXES {
        let key = format!("my_{suffix}");
        for (pointer, body) in [
            (format!("/{key}"), {
                let mut b = submission();
                b[&key] = json!("x");
                b
            }),
            (format!("/template/labels/{key}"), {
                let mut b = submission();
                b["template"]["labels"][&key] = json!("x");
                b
            }),
            (format!("/cleanup/{key}"), {
                let mut b = submission();
                b["cleanup"][&key] = json!("x");
                b
            }),
        ] {
            let reply = app
                .call(Method::POST, "/v1/runs", &tenant.token, Some(body))
                .await;
            reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
            assert!(
                reply.detail_paths().contains(&pointer),
                "{pointer}: {}",
                reply.body
            );
            assert!(!reply.body.to_string().contains(crate::support::CANARY));
        }
    }
    let count: i64 = sqlx::query_scalar("select count(*) from runs")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 0);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn validation_lists_every_problem_and_mcp_bearer_rules_apply(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let mut body = submission();
    body["secrets"]["mcpServers"] = json!({});
    body["variables"]["topic"] = json!(7);
    body["surprise"] = json!(true);
    let reply = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(body))
        .await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let paths = reply.detail_paths();
    for expected in ["/secrets/mcpServers/docs", "/variables/topic", "/surprise"] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} in {paths:?}"
        );
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_requested_duration_above_the_plan_cap_is_rejected_and_a_template_one_is_clamped(
    pool: sqlx::PgPool,
) {
    let app = TestApp::with_env(pool, &[("ANTPATH_LIMITS__MAX_RUN_DURATION_SECONDS", "450")]);
    let tenant = app.tenant("acme").await;
    let mut body = submission();
    body["limits"]["maxDurationSeconds"] = json!(451);
    let reply = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(body))
        .await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    assert_eq!(reply.detail_paths(), ["/limits/maxDurationSeconds"]);

    let mut body = submission();
    body.as_object_mut().expect("object").remove("limits");
    let reply = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    // The template asks for 600 seconds; the plan allows 450.
    assert_eq!(reply.body["limits"]["max_duration_seconds"], 450);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn active_run_quotas_per_workspace_and_per_token_answer_429_with_retry_after(
    pool: sqlx::PgPool,
) {
    let app = TestApp::with_env(
        pool,
        &[
            ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_WORKSPACE", "3"),
            ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_TOKEN", "2"),
        ],
    );
    let tenant = app.tenant("acme").await;
    app.submit_ok(&tenant, submission()).await;
    app.submit_ok(&tenant, submission()).await;
    let reply = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(submission()))
        .await;
    let error = reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(
        error["message"]
            .as_str()
            .expect("message")
            .contains("token")
    );
    assert!(reply.headers.get("retry-after").is_some());

    let (_, second) = app
        .token(tenant.workspace, tenant.user, &["runs:write"])
        .await;
    let reply = app
        .call(Method::POST, "/v1/runs", &second, Some(submission()))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let reply = app
        .call(Method::POST, "/v1/runs", &second, Some(submission()))
        .await;
    let error = reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(
        error["message"]
            .as_str()
            .expect("message")
            .contains("workspace")
    );
    assert!(reply.headers.get("retry-after").is_some());

    // A finished run frees its slot.
    sqlx::query("update runs set status = 'succeeded' where id = (select id from runs limit 1)")
        .execute(&app.pool)
        .await
        .expect("finish");
    let reply = app
        .call(Method::POST, "/v1/runs", &second, Some(submission()))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

/// Sends every submission at once (behind a barrier), each with its token, and returns the
/// replies in order.
async fn submit_at_once(
    app: &Arc<TestApp>,
    submissions: Vec<(String, serde_json::Value)>,
) -> Vec<crate::support::Reply> {
    let barrier = Arc::new(Barrier::new(submissions.len()));
    let mut tasks = Vec::new();
    for (token, body) in submissions {
        let (app, barrier) = (Arc::clone(app), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            app.call(Method::POST, "/v1/runs", &token, Some(body)).await
        }));
    }
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.expect("task"));
    }
    replies
}

/// How many replies were 201, and whether every other one was the named quota's 429.
fn created_and_refused(replies: &[crate::support::Reply], quota: &str) -> usize {
    let mut created = 0;
    for reply in replies {
        if reply.status == StatusCode::CREATED {
            created += 1;
            continue;
        }
        let error = reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        let message = error["message"].as_str().expect("message");
        assert!(message.contains(quota), "{message}");
        assert!(reply.headers.get("retry-after").is_some());
    }
    created
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn concurrent_submissions_over_three_tokens_never_overshoot_the_workspace_cap(
    pool: sqlx::PgPool,
) {
    let app = Arc::new(TestApp::with_env(
        pool,
        &[
            ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_WORKSPACE", "5"),
            ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_TOKEN", "100"),
        ],
    ));
    let tenant = app.tenant("acme").await;
    let mut tokens = vec![tenant.token.clone()];
    for _ in 0..2 {
        tokens.push(
            app.token(tenant.workspace, tenant.user, &["runs:write"])
                .await
                .1,
        );
    }
    let submissions = (0..30)
        .map(|i| (tokens[i % 3].clone(), submission()))
        .collect();
    let replies = submit_at_once(&app, submissions).await;
    assert_eq!(created_and_refused(&replies, "workspace"), 5);
    let count: i64 = sqlx::query_scalar("select count(*) from runs")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 5);
    let orphans: i64 = sqlx::query_scalar(
        "select count(*) from run_secrets s where not exists
           (select 1 from runs r where r.execution_secret_id = s.id)",
    )
    .fetch_one(&app.pool)
    .await
    .expect("orphans");
    assert_eq!(
        orphans, 0,
        "a refused submission left its sealed inputs behind"
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn concurrent_submissions_of_one_token_never_overshoot_the_token_cap(pool: sqlx::PgPool) {
    let app = Arc::new(TestApp::with_env(
        pool,
        &[
            ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_WORKSPACE", "100"),
            ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_TOKEN", "4"),
        ],
    ));
    let tenant = app.tenant("acme").await;
    let submissions = (0..20)
        .map(|_| (tenant.token.clone(), submission()))
        .collect();
    let replies = submit_at_once(&app, submissions).await;
    assert_eq!(created_and_refused(&replies, "token"), 4);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn at_the_cap_a_replay_still_returns_its_run_while_new_submissions_are_refused(
    pool: sqlx::PgPool,
) {
    let app = Arc::new(TestApp::with_env(
        pool,
        &[("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_WORKSPACE", "1")],
    ));
    let tenant = app.tenant("acme").await;
    let first = app.submit_ok(&tenant, submission_with_key("k")).await;
    let submissions = (0..16)
        .map(|i| {
            let body = if i % 2 == 0 {
                submission_with_key("k")
            } else {
                submission()
            };
            (tenant.token.clone(), body)
        })
        .collect();
    let replies = submit_at_once(&app, submissions).await;
    for (i, reply) in replies.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_eq!(reply.body["id"], first.as_str());
        } else {
            reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        }
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn submitting_faster_than_the_workspace_rate_answers_429_with_retry_after(
    pool: sqlx::PgPool,
) {
    let app = TestApp::with_env(pool, &[("ANTPATH_LIMITS__SUBMIT_PER_MINUTE", "2")]);
    let tenant = app.tenant("acme").await;
    app.submit_ok(&tenant, submission()).await;
    app.submit_ok(&tenant, submission()).await;
    let reply = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(submission()))
        .await;
    reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = reply.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    // Another workspace has its own bucket.
    let other = app.tenant("beta").await;
    app.submit_ok(&other, submission()).await;
}

/// Regression (issue 9): a deployment default of `retain` used to override a run that said
/// `delete`; the default applies only when neither the run nor its template says.
#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_deployment_cleanup_default_applies_only_when_the_run_does_not_say(pool: sqlx::PgPool) {
    let app = TestApp::with_env(
        pool,
        &[("ANTPATH_LIMITS__CLAUDE_SESSION_CLEANUP_DEFAULT", "retain")],
    );
    let tenant = app.tenant("acme").await;
    let said = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(submission()))
        .await;
    assert_eq!(said.status, StatusCode::CREATED, "{}", said.body);
    assert_eq!(said.body["cleanup_policy"], "delete", "the run said delete");
    let mut silent = submission();
    silent.as_object_mut().expect("object").remove("cleanup");
    silent["template"]
        .as_object_mut()
        .expect("template")
        .remove("cleanup");
    let unsaid = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(silent))
        .await;
    assert_eq!(unsaid.status, StatusCode::CREATED, "{}", unsaid.body);
    assert_eq!(
        unsaid.body["cleanup_policy"], "retain",
        "nobody said: the default"
    );
}

/// Regression: `retryAfterToolUse` is documented (docs/api.md) and read by the worker, but the
/// template validator refused it as an unknown field, so no run could opt in.
#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_template_may_opt_in_to_retries_after_tool_use(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let mut body = submission();
    body["template"]["retryAfterToolUse"] = json!(true);
    app.submit_ok(&tenant, body).await;
    // The only run of the test.
    let snapshot: serde_json::Value = sqlx::query_scalar("select template_snapshot from runs")
        .fetch_one(&app.pool)
        .await
        .expect("snapshot");
    assert_eq!(snapshot["retryAfterToolUse"], json!(true));
}

/// Submissions no longer notify from inside their transaction (a notifying transaction holds
/// a cluster-wide lock through its commit's flush, which made all submissions commit one at a
/// time); the bff wakes the workers once the run is committed, and a burst of submissions
/// folds into few wake-ups.
#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn an_admitted_run_wakes_the_workers_after_its_commit(pool: sqlx::PgPool) {
    let mut workers = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .expect("listener");
    workers
        .listen(antpath_db::runs::WAKE_CHANNEL)
        .await
        .expect("listen");
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    app.submit_ok(&tenant, submission()).await;
    let heard = tokio::time::timeout(std::time::Duration::from_secs(5), workers.recv())
        .await
        .expect("the workers were not woken")
        .expect("notification");
    assert_eq!(heard.channel(), antpath_db::runs::WAKE_CHANNEL);
}
