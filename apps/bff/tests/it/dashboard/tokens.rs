//! The API tokens page: the list with creators, a new token shown once (never cached), revoking,
//! and what a viewer may not do.

use antpath_types::Role;
use axum::http::{Method, StatusCode};

use crate::support::{Browser, TestApp};

/// The token value on a "token created" page.
fn shown_token(text: &str) -> String {
    let start = text.find("value=\"ant_").expect("a token on the page") + 7;
    text[start..start + text[start..].find('"').expect("end")].to_owned()
}

async fn create(browser: &Browser, name: &str, scopes: &[&str]) -> crate::support::Html {
    let mut fields = vec![("name", name)];
    fields.extend(scopes.iter().map(|s| (*s, "on")));
    browser.post("/tokens", &fields).await
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_new_token_is_shown_once_uncached_and_works_with_only_its_scopes(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let (member, email) = app.person(tenant.workspace, Role::Member).await;
    let browser = app.sign_in_as(member, tenant.workspace).await;

    let list = browser.get("/tokens").await;
    assert!(list.text.contains("action=\"/tokens\""));
    assert!(list.text.contains("name=\"scope_runs_write\""));

    let created = create(&browser, "ci-deploy", &["scope_runs_read"]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.header("cache-control"), "no-store");
    super::assert_secure(&created);
    assert!(created.text.contains("This is the only time it is shown"));
    assert!(created.text.contains("data-copy=\"new-token\""));
    assert!(created.text.contains("/assets/token.js?v="));
    let token = shown_token(&created.text);
    assert!(antpath_bff::auth::is_well_formed(&token), "{token}");

    let reads = app.call(Method::GET, "/v1/runs", &token, None).await;
    assert_eq!(reads.status, StatusCode::OK);
    let writes = app
        .call(
            Method::POST,
            "/v1/runs",
            &token,
            Some(crate::support::submission()),
        )
        .await;
    assert_eq!(
        writes.status,
        StatusCode::FORBIDDEN,
        "only runs:read was ticked"
    );
    let whoami = app.call(Method::GET, "/v1/whoami", &token, None).await;
    assert_eq!(whoami.body["user"]["id"], member.to_string());

    let list = browser.get("/tokens").await;
    assert!(
        !list.text.contains(&token),
        "the value is never shown again"
    );
    assert!(list.text.contains("ci-deploy"));
    assert!(list.text.contains(&email), "created by");
    assert!(list.text.contains(&token[..8]), "the display prefix");
    let row = &list.text[list.text.find("ci-deploy").expect("row")..];
    let row = &row[..row.find("</tr>").expect("row end")];
    assert!(row.contains("<code class=\"scope\">runs:read</code>"));
    assert!(!row.contains("runs:write"));
    assert!(row.contains("never") || row.contains("UTC"), "last used");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn revoking_a_token_from_the_page_stops_it_and_another_workspaces_token_is_404(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let other = app.tenant("evil").await;
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;
    let list = browser.get("/tokens").await;
    assert!(
        list.text
            .contains(&format!("action=\"/tokens/{}/revoke\"", tenant.token_id))
    );

    let revoked = browser
        .post(&format!("/tokens/{}/revoke", tenant.token_id), &[])
        .await;
    assert_eq!(revoked.redirect(), "/tokens");
    let refused = app.call(Method::GET, "/v1/runs", &tenant.token, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let list = browser.get("/tokens").await;
    assert!(list.text.contains("badge r-revoked"));
    assert!(
        !list
            .text
            .contains(&format!("/tokens/{}/revoke", tenant.token_id))
    );

    let foreign = browser
        .post(&format!("/tokens/{}/revoke", other.token_id), &[])
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let still = app.call(Method::GET, "/v1/runs", &other.token, None).await;
    assert_eq!(still.status, StatusCode::OK);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_viewer_sees_the_tokens_but_may_neither_create_nor_revoke_them(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let (viewer, _) = app.person(tenant.workspace, Role::Viewer).await;
    let browser = app.sign_in_as(viewer, tenant.workspace).await;
    let list = browser.get("/tokens").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text.contains("test"), "the tenant's token is listed");
    assert!(!list.text.contains("action=\"/tokens\""));
    assert!(!list.text.contains("/revoke"));
    let created = create(&browser, "sneaky", &["scope_runs_read"]).await;
    assert_eq!(created.status, StatusCode::FORBIDDEN);
    assert!(!created.text.contains("ant_"));
    let revoked = browser
        .post(&format!("/tokens/{}/revoke", tenant.token_id), &[])
        .await;
    assert_eq!(revoked.status, StatusCode::FORBIDDEN);
    let still = app.call(Method::GET, "/v1/runs", &tenant.token, None).await;
    assert_eq!(still.status, StatusCode::OK);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_token_without_a_name_or_scopes_is_refused_with_a_page_saying_why(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;
    let nameless = create(&browser, "   ", &["scope_runs_read"]).await;
    assert_eq!(nameless.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        nameless
            .text
            .contains("The name must be 1 to 100 characters")
    );
    let scopeless = create(&browser, "ok", &[]).await;
    assert_eq!(scopeless.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(scopeless.text.contains("At least one scope is required."));
    let count: i64 = sqlx::query_scalar("select count(*) from api_tokens")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 1, "only the tenant's own token");
}
