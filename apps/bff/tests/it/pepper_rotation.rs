//! Rotating the token pepper: tokens and sessions made under the old pepper keep working,
//! tokens move to the new pepper when used, and `rotate-pepper` says when the old one can go.

use antpath_bff::AppState;
use antpath_bff::rotation::pepper_report;
use antpath_types::Role;
use axum::http::{Method, StatusCode};
use sqlx::PgPool;

use crate::support::{TestApp, form_request};

/// The new pepper, next to the legacy `ANTPATH_BFF__TOKEN_PEPPER` of test apps.
const NEW_PEPPER: &str = "rotated-pepper-fedcba9876543210fedcba9876543210";

/// The rolled configuration: the legacy pepper kept, `p2` added and active.
fn rolled(pool: &PgPool) -> TestApp {
    TestApp::with_env(
        pool.clone(),
        &[
            ("ANTPATH_BFF__TOKEN_PEPPERS__P2", NEW_PEPPER),
            ("ANTPATH_BFF__ACTIVE_PEPPER_ID", "p2"),
        ],
    )
}

/// The configuration once the legacy pepper is removed: `p2` alone.
fn retired(pool: &PgPool) -> TestApp {
    let mut app = rolled(pool);
    app.settings.bff.token_pepper = None;
    app.settings
        .validate(antpath_config::Role::Bff)
        .expect("p2 alone is a valid configuration");
    app.state =
        AppState::from_settings(&app.settings, pool.clone(), "http://127.0.0.1:9").expect("state");
    app.router = antpath_bff::router(app.state.clone());
    app
}

async fn pepper_of_token(pool: &PgPool, token: antpath_types::TokenId) -> (String, Vec<u8>) {
    sqlx::query_as("select pepper_id, token_hash from api_tokens where id = $1")
        .bind(token.as_uuid())
        .fetch_one(pool)
        .await
        .expect("token row")
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_token_under_the_old_pepper_works_is_rehashed_on_use_and_then_the_old_pepper_retires(
    pool: PgPool,
) {
    let old = TestApp::new(pool.clone());
    let tenant = old.tenant("acme").await;
    let (before, old_hash) = pepper_of_token(&pool, tenant.token_id).await;
    assert_eq!(before, "legacy");

    let new = rolled(&pool);
    let report = pepper_report(&pool, &new.state.peppers)
        .await
        .expect("report");
    assert_eq!(report.active_pepper_id, "p2");
    assert_eq!(report.tokens.get("legacy"), Some(&1));
    assert!(report.retirable.is_empty(), "{report:?}");
    assert!(
        report
            .report()
            .contains("pepper `legacy` is still used by 1 token(s)"),
        "{}",
        report.report()
    );

    // Used once through the rolled app: accepted, and re-hashed under p2.
    let reply = new.call(Method::GET, "/v1/runs", &tenant.token, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let (after, new_hash) = pepper_of_token(&pool, tenant.token_id).await;
    assert_eq!(after, "p2");
    assert_ne!(new_hash, old_hash);
    // Used again: nothing left to move, still accepted.
    let again = new.call(Method::GET, "/v1/runs", &tenant.token, None).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(pepper_of_token(&pool, tenant.token_id).await.1, new_hash);

    // A token created by the rolled app is under p2 from the start.
    let (fresh_id, fresh) = new
        .token(tenant.workspace, tenant.user, &["runs:read"])
        .await;
    assert_eq!(pepper_of_token(&pool, fresh_id).await.0, "p2");

    let report = pepper_report(&pool, &new.state.peppers)
        .await
        .expect("report");
    assert_eq!(report.retirable, ["legacy"]);
    let text = report.report();
    assert!(
        text.contains("pepper `legacy` is used by nothing and can be retired"),
        "{text}"
    );
    assert!(!text.contains(&tenant.token) && !text.contains(NEW_PEPPER));

    // With the legacy pepper removed, both tokens work; an app that only knows the legacy
    // pepper no longer recognises the re-hashed one.
    let retired = retired(&pool);
    for token in [&tenant.token, &fresh] {
        let reply = retired.call(Method::GET, "/v1/runs", token, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let stale = old.call(Method::GET, "/v1/runs", &tenant.token, None).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_session_signed_in_under_the_old_pepper_keeps_working_after_rotation(pool: PgPool) {
    let old = TestApp::new(pool.clone());
    let tenant = old.tenant("acme").await;
    let (_, email) = old.person(tenant.workspace, Role::Member).await;
    let cookie = old.sign_in(&email).await;
    let session_id: uuid::Uuid = sqlx::query_scalar("select id from web_sessions")
        .fetch_one(&pool)
        .await
        .expect("session");
    // The session's CSRF token, derived under the pepper it was signed in under.
    let csrf = antpath_bff::session::csrf_token(&old.state, session_id);

    let new = rolled(&pool);
    let reads = new.call_as(Method::GET, "/v1/runs", &cookie, None).await;
    assert_eq!(reads.status, StatusCode::OK, "{}", reads.body);
    let report = pepper_report(&pool, &new.state.peppers)
        .await
        .expect("report");
    assert_eq!(report.sessions.get("legacy"), Some(&1));
    assert!(
        report.retirable.is_empty(),
        "the session still needs the legacy pepper"
    );

    // A session signed in after the rotation is under p2.
    let (_, second) = new.person(tenant.workspace, Role::Member).await;
    let new_cookie = new.sign_in(&second).await;
    let peppers: Vec<String> =
        sqlx::query_scalar("select pepper_id from web_sessions order by created_at")
            .fetch_all(&pool)
            .await
            .expect("sessions");
    assert_eq!(peppers, ["legacy", "p2"]);
    assert_eq!(
        new.call_as(Method::GET, "/v1/runs", &new_cookie, None)
            .await
            .status,
        StatusCode::OK
    );

    // The old session's forms still carry a valid CSRF token: signing out works, and then
    // nothing uses the legacy pepper any more.
    let forged = new
        .send(form_request("/sign-out", &cookie, "csrf=nope".into()))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let out = new
        .send(form_request("/sign-out", &cookie, format!("csrf={csrf}")))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    assert_eq!(
        new.call_as(Method::GET, "/v1/runs", &cookie, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // The tenant's own token is still under legacy until it is used.
    let report = pepper_report(&pool, &new.state.peppers)
        .await
        .expect("report");
    assert!(!report.sessions.contains_key("legacy"));
    assert_eq!(report.tokens.get("legacy"), Some(&1));
    assert!(report.retirable.is_empty());
}
