//! Dashboard sign-in: the session cookie, what ends a session, CSRF, throttling, the audit
//! trail, and what a token may do once its creator's membership changes.

use antpath_db::audit;
use antpath_types::Role;
use axum::http::{Method, StatusCode};
use sqlx::PgPool;

use crate::support::{PASSWORD, TestApp, form_request};

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn signing_in_sets_an_http_only_lax_cookie_that_reads_the_workspace(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let tenant = app.tenant("acme").await;
    let (user, email) = app.person(tenant.workspace, Role::Viewer).await;

    let reply = app.post_sign_in(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.headers["location"], "/runs");
    let line = reply.set_cookie("antpath_session").expect("cookie");
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Lax"),
        "{line}"
    );
    assert!(
        !line.contains("Secure"),
        "plain http gets no Secure flag: {line}"
    );
    let cookie = format!(
        "antpath_session={}",
        reply.cookie("antpath_session").unwrap()
    );

    let runs = app.call_as(Method::GET, "/v1/runs", &cookie, None).await;
    assert_eq!(runs.status, StatusCode::OK, "{}", runs.body);
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("select session_hash from web_sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    let value = reply.cookie("antpath_session").unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], value.as_bytes(), "only a keyed hash is stored");
    assert_eq!(
        audit::account_events(&pool, user).await.unwrap(),
        ["session.sign_in"]
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn an_https_deployment_marks_the_cookie_secure(pool: PgPool) {
    let app = TestApp::with_env(
        pool,
        &[(
            "ANTPATH_BFF__PUBLIC_BASE_URL",
            "https://antpath.example.com",
        )],
    );
    let tenant = app.tenant("acme").await;
    let (_, email) = app.person(tenant.workspace, Role::Member).await;
    let reply = app.post_sign_in(&email, PASSWORD).await;
    let line = reply.set_cookie("antpath_session").expect("cookie");
    assert!(line.contains("; Secure"), "{line}");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer_and_are_audited(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let tenant = app.tenant("acme").await;
    let (user, email) = app.person(tenant.workspace, Role::Member).await;

    let wrong = app.post_sign_in(&email, "not the password").await;
    let unknown = app.post_sign_in("nobody@example.com", PASSWORD).await;
    for reply in [&wrong, &unknown] {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.cookie("antpath_session").is_none());
        let html = reply.body.as_str().unwrap();
        assert!(html.contains("Email or password is wrong."), "{html}");
    }
    assert_eq!(
        audit::account_events(&pool, user).await.unwrap(),
        ["session.sign_in_failed"]
    );
    let reasons: Vec<serde_json::Value> = sqlx::query_scalar(
        "select metadata from audit_logs where action = 'session.sign_in_failed' order by id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(reasons[0]["reason"], "wrong_password");
    assert_eq!(reasons[1]["reason"], "unknown_email");
    let dump: Vec<String> = sqlx::query_scalar("select row_to_json(a)::text from audit_logs a")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        dump.iter()
            .all(|row| !row.contains(&email) && !row.contains("nobody@")),
        "no email in the audit trail: {dump:?}"
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_sign_in_post_without_the_forms_csrf_cookie_is_refused(pool: PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let (_, email) = app.person(tenant.workspace, Role::Member).await;
    let (csrf, _cookie) = app.sign_in_form().await;
    let body = serde_urlencoded::to_string([
        ("email", email.as_str()),
        ("password", PASSWORD),
        ("csrf", &csrf),
    ])
    .unwrap();
    let reply = app
        .send(form_request("/sign-in", "antpath_sign_in=forged", body))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.cookie("antpath_session").is_none());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn ten_wrong_passwords_in_a_row_are_throttled_and_then_even_the_right_one_waits(
    pool: PgPool,
) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let (_, email) = app.person(tenant.workspace, Role::Member).await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(app.post_sign_in(&email, "guess").await.status);
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[5..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let right = app.post_sign_in(&email, PASSWORD).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(right.headers.contains_key("retry-after"));
    assert!(right.cookie("antpath_session").is_none());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn one_address_trying_many_emails_is_throttled_too(pool: PgPool) {
    let app = TestApp::with_env(
        pool,
        &[("ANTPATH_LIMITS__SIGN_IN_PER_MINUTE_PER_ADDRESS", "3")],
    );
    let mut statuses = Vec::new();
    for i in 0..5 {
        statuses.push(
            app.post_sign_in(&format!("user{i}@example.com"), "guess")
                .await
                .status,
        );
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_disabled_users_session_and_tokens_stop_working_on_the_next_request(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let tenant = app.tenant("acme").await;
    let (user, email) = app.person(tenant.workspace, Role::Member).await;
    let cookie = app.sign_in(&email).await;
    let (_, token) = app.token(tenant.workspace, user, &["runs:read"]).await;
    assert_eq!(
        app.call_as(Method::GET, "/v1/runs", &cookie, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.call(Method::GET, "/v1/runs", &token, None).await.status,
        StatusCode::OK
    );

    antpath_bff::admin::disable_user(&pool, &email)
        .await
        .unwrap();

    let by_cookie = app.call_as(Method::GET, "/v1/runs", &cookie, None).await;
    by_cookie.assert_error(StatusCode::UNAUTHORIZED, "authentication_error");
    let by_token = app.call(Method::GET, "/v1/runs", &token, None).await;
    by_token.assert_error(StatusCode::UNAUTHORIZED, "authentication_error");
    let again = app.post_sign_in(&email, PASSWORD).await;
    assert_eq!(
        again.status,
        StatusCode::UNAUTHORIZED,
        "a disabled user cannot sign in"
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_session_ends_when_idle_too_long_or_when_its_version_is_stale(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let tenant = app.tenant("acme").await;
    let (user, email) = app.person(tenant.workspace, Role::Member).await;

    let idle = app.sign_in(&email).await;
    sqlx::query("update web_sessions set last_seen_at = now() - interval '3 hours'")
        .execute(&pool)
        .await
        .unwrap();
    let reply = app.call_as(Method::GET, "/v1/runs", &idle, None).await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "idle past 120 minutes"
    );

    let stale = app.sign_in(&email).await;
    sqlx::query("update app_users set token_version = token_version + 1 where id = $1")
        .bind(user.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    let reply = app.call_as(Method::GET, "/v1/runs", &stale, None).await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "token_version bumped"
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn signing_out_needs_the_csrf_token_and_ends_the_session(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let tenant = app.tenant("acme").await;
    let (user, email) = app.person(tenant.workspace, Role::Member).await;
    let cookie = app.sign_in(&email).await;
    let csrf = csrf_of(&app).await;

    let forged = app
        .send(form_request("/sign-out", &cookie, "csrf=nope".into()))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.call_as(Method::GET, "/v1/runs", &cookie, None)
            .await
            .status,
        StatusCode::OK
    );

    let out = app
        .send(form_request("/sign-out", &cookie, format!("csrf={csrf}")))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.headers["location"], "/sign-in");
    assert_eq!(
        app.call_as(Method::GET, "/v1/runs", &cookie, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        audit::account_events(&pool, user).await.unwrap(),
        ["session.sign_out", "session.sign_in"]
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_json_change_made_with_a_cookie_needs_the_csrf_header(pool: PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let (_, email) = app.person(tenant.workspace, Role::Member).await;
    let cookie = app.sign_in(&email).await;
    let csrf = csrf_of(&app).await;
    let uri = format!("/v1/tokens/{}", tenant.token_id);

    let refused = app.call_as(Method::DELETE, &uri, &cookie, None).await;
    refused.assert_error(StatusCode::FORBIDDEN, "permission_denied");
    let wrong = app
        .call_as(Method::DELETE, &uri, &cookie, Some("0000"))
        .await;
    wrong.assert_error(StatusCode::FORBIDDEN, "permission_denied");
    let done = app
        .call_as(Method::DELETE, &uri, &cookie, Some(&csrf))
        .await;
    assert!(done.status.is_success(), "{} {}", done.status, done.body);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_token_follows_its_creators_membership_and_role(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let tenant = app.tenant("acme").await;
    let (user, email) = app.person(tenant.workspace, Role::Member).await;
    let (_, token) = app
        .token(tenant.workspace, user, &["runs:read", "runs:write"])
        .await;
    let run = app.submit_ok(&tenant, crate::support::submission()).await;
    let cancel = format!("/v1/runs/{run}/cancel");

    antpath_bff::admin::add_member(&pool, tenant.workspace, &email, Role::Viewer)
        .await
        .unwrap();
    let demoted = app.call(Method::POST, &cancel, &token, None).await;
    demoted.assert_error(StatusCode::FORBIDDEN, "permission_denied");
    let reads = app.call(Method::GET, "/v1/runs", &token, None).await;
    assert_eq!(reads.status, StatusCode::OK, "a viewer's token still reads");

    sqlx::query("update workspace_memberships set status = 'removed' where app_user_id = $1")
        .bind(user.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    let gone = app.call(Method::GET, "/v1/runs", &token, None).await;
    gone.assert_error(StatusCode::UNAUTHORIZED, "authentication_error");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_session_switches_only_to_workspaces_its_user_belongs_to(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let first = app.tenant("first").await;
    let second = app.tenant("second").await;
    let stranger = app.tenant("stranger").await;
    let (_, email) = app.person(first.workspace, Role::Member).await;
    antpath_bff::admin::add_member(&pool, second.workspace, &email, Role::Viewer)
        .await
        .unwrap();
    let run_in_second = app.submit_ok(&second, crate::support::submission()).await;
    let cookie = app.sign_in(&email).await;
    let csrf = csrf_of(&app).await;
    let run_uri = format!("/v1/runs/{run_in_second}");
    assert_eq!(
        app.call_as(Method::GET, &run_uri, &cookie, None)
            .await
            .status,
        StatusCode::NOT_FOUND,
        "the session starts in its first workspace"
    );

    let switch = |workspace: String| {
        form_request(
            "/workspace/switch",
            &cookie,
            format!("csrf={csrf}&workspace={workspace}"),
        )
    };
    let refused = app.send(switch(stranger.workspace.to_string())).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let moved = app.send(switch(second.workspace.to_string())).await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.call_as(Method::GET, &run_uri, &cookie, None)
            .await
            .status,
        StatusCode::OK
    );
}

/// The CSRF token of the newest session.
async fn csrf_of(app: &TestApp) -> String {
    let session_id: uuid::Uuid =
        sqlx::query_scalar("select id from web_sessions order by created_at desc limit 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    antpath_bff::session::csrf_token(&app.state, session_id)
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn no_password_session_value_or_email_reaches_the_logs_and_no_password_the_database(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone());
    let tenant = app.tenant("acme").await;
    let (_, email) = app.person(tenant.workspace, Role::Member).await;
    let logs = antpath_telemetry::testing::CapturedLogs::new();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    let wrong = app.post_sign_in(&email, "wrong-CANARY-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let right = app.post_sign_in(&email, PASSWORD).await;
    let session = right.cookie("antpath_session").expect("cookie");
    let cookie = format!("antpath_session={session}");
    assert_eq!(
        app.call_as(Method::GET, "/v1/runs", &cookie, None)
            .await
            .status,
        StatusCode::OK
    );

    let text = logs.contents();
    assert!(
        text.contains("signed in"),
        "the subscriber captured the sign-in"
    );
    for needle in [PASSWORD, "wrong-CANARY-password", &session, &email] {
        assert!(!text.contains(needle), "`{needle}` leaked into the logs");
    }
    let rows: Vec<String> = sqlx::query_scalar(
        "select row_to_json(t)::text from (
             select * from app_users) t
         union all select row_to_json(s)::text from web_sessions s
         union all select row_to_json(a)::text from audit_logs a
         union all select row_to_json(b)::text from rate_limit_buckets b",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for row in &rows {
        for needle in [PASSWORD, "wrong-CANARY-password", session.as_str()] {
            assert!(!row.contains(needle), "`{needle}` stored in {row}");
        }
        if !row.contains("argon2id") {
            assert!(
                !row.contains(&email),
                "the email stored outside app_users: {row}"
            );
        }
    }
}
