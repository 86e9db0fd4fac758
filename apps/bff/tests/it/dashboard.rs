//! The dashboard's pages, as a signed-in person sees them: the frame and security headers of
//! every page, assets, sign-in redirects and bad input. The run pages, tokens and the
//! workspace have their own modules.

mod members;
mod run_pages;
mod tokens;

use antpath_types::{Role, RunId};
use axum::http::StatusCode;

use crate::support::{Html, TestApp, submission};

/// The exact policy every dashboard response carries.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Runs `sql` with the run id as `$1` (moving a run along as a worker would).
pub async fn on_run(app: &TestApp, run: &str, sql: &'static str) {
    let id: RunId = run.parse().expect("run id");
    sqlx::query(sql)
        .bind(id.as_uuid())
        .execute(&app.pool)
        .await
        .expect("update run");
}

/// Asserts the security headers of a dashboard response.
pub fn assert_secure(page: &Html) {
    assert_eq!(page.header("content-security-policy"), CSP);
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(page.header("referrer-policy"), "same-origin");
}

/// Asserts the page has no inline script or style of any kind.
fn assert_no_inline_code(page: &Html) {
    let text = &page.text;
    assert!(!text.contains("<style"), "inline <style>");
    assert!(!text.contains(" style="), "inline style attribute");
    for (i, _) in text.match_indices(" on") {
        let name: String = text[i + 3..]
            .chars()
            .take_while(char::is_ascii_lowercase)
            .collect();
        assert!(
            name.is_empty() || !text[i + 3 + name.len()..].starts_with('='),
            "inline event handler on{name}"
        );
    }
    for (i, _) in text.match_indices("<script") {
        let tag = &text[i..i + text[i..].find('>').expect("tag end")];
        assert!(tag.contains(" src=\"/assets/"), "inline script: {tag}");
    }
}

/// The `href`/`src` of the first `attr="` value starting with `prefix`.
fn attr_value<'a>(text: &'a str, prefix: &str) -> &'a str {
    let start = text.find(prefix).expect("attribute");
    let rest = &text[start..];
    &rest[..rest.find('"').expect("closing quote")]
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn every_page_carries_the_security_headers_no_store_and_no_inline_code(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;
    let uris = [
        "/runs".to_owned(),
        format!("/runs/{run}"),
        format!("/runs/{run}/cancel"),
        format!("/runs/{run}/delete"),
        "/tokens".to_owned(),
        "/workspace".to_owned(),
        "/runs/run_00000000000000000000000000000000".to_owned(),
        "/runs?status=bogus".to_owned(),
    ];
    for uri in &uris {
        let page = browser.get(uri).await;
        assert!(
            [
                StatusCode::OK,
                StatusCode::NOT_FOUND,
                StatusCode::BAD_REQUEST
            ]
            .contains(&page.status),
            "{uri}: {}",
            page.status
        );
        assert_secure(&page);
        assert_eq!(page.header("cache-control"), "no-store", "{uri}");
        assert!(
            page.header("content-type").starts_with("text/html"),
            "{uri}"
        );
        assert!(page.text.starts_with("<!DOCTYPE html>"), "{uri}");
        assert_no_inline_code(&page);
    }
    let redirect = browser.post(&format!("/runs/{run}/cancel"), &[]).await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER);
    assert_secure(&redirect);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_stylesheet_and_scripts_are_served_by_the_bff_with_a_long_cache_and_their_hash(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;
    let page = browser.get(&format!("/runs/{run}")).await;
    let css = attr_value(&page.text, "/assets/app.css?v=");
    let js = attr_value(&page.text, "/assets/run.js?v=");
    for (url, content_type) in [(css, "text/css"), (js, "text/javascript")] {
        let asset = browser.get(url).await;
        assert_eq!(asset.status, StatusCode::OK, "{url}");
        assert!(asset.header("content-type").starts_with(content_type));
        assert_eq!(
            asset.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        let unhashed = browser.get(url.split('?').next().expect("path")).await;
        assert_eq!(unhashed.status, StatusCode::OK);
        assert_eq!(
            unhashed.header("cache-control"),
            "no-cache",
            "revalidated without the hash"
        );
        let hash = url.split("?v=").nth(1).expect("hash");
        assert_eq!(asset.header("etag"), format!("\"{hash}\""));
        assert_secure(&asset);
        assert!(!asset.text.is_empty());
    }
    assert!(!browser.get(js).await.text.contains("innerHTML"));
    let unknown = browser.get("/assets/evil.js").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.header("content-type").starts_with("text/html"));
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_visitor_who_is_not_signed_in_is_sent_to_sign_in(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;
    assert_eq!(browser.get("/").await.redirect(), "/runs");
    let stranger = crate::support::request(axum::http::Method::GET, "/runs", None, None);
    let reply = app.send(stranger).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let location = reply.headers["location"].to_str().expect("ascii");
    assert!(location.starts_with("/sign-in"), "{location}");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn bad_query_parameters_are_a_400_page_never_a_500(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;
    let long = format!("/runs?template={}", "t".repeat(201));
    for uri in [
        "/runs?status=bogus",
        "/runs?cursor=garbage",
        "/runs?cursor=12.run_nope",
        "/runs?limit=5",
        "/runs?status=%FF",
        long.as_str(),
    ] {
        let page = browser.get(uri).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{uri}: {}", page.text);
        assert!(page.text.contains("Bad Request"), "{uri}");
    }
    for uri in ["/runs/not-a-run", "/runs/run_0/cancel", "/tokens/x/revoke"] {
        let page = browser.get(uri).await;
        assert!(
            [StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&page.status),
            "{uri}: {}",
            page.status
        );
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_header_names_the_person_and_offers_a_switcher_only_with_several_workspaces(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let (user, email) = app.person(tenant.workspace, Role::Member).await;
    let browser = app.sign_in_as(user, tenant.workspace).await;
    let page = browser.get("/runs").await;
    assert!(page.text.contains(&email));
    assert!(page.text.contains(">member</span>"));
    assert!(page.text.contains("action=\"/sign-out\""));
    assert!(
        page.text
            .contains(&format!("name=\"csrf\" value=\"{}\"", browser.csrf()))
    );
    assert!(
        !page.text.contains("name=\"workspace\""),
        "no switcher with one workspace"
    );
    for (label, href) in [
        ("Runs", "/runs"),
        ("API tokens", "/tokens"),
        ("Workspace", "/workspace"),
    ] {
        assert!(page.text.contains(&format!("href=\"{href}\"")), "{label}");
        assert!(page.text.contains(label));
    }

    let other = app.tenant("zebra-works").await;
    antpath_db::users::add_membership(&app.pool, other.workspace, user, Role::Viewer)
        .await
        .expect("membership");
    let page = browser.get("/runs").await;
    assert!(page.text.contains("action=\"/workspace/switch\""));
    assert!(page.text.contains("name=\"workspace\""));
    assert!(
        page.text
            .contains(&format!("value=\"{}\" selected", tenant.workspace))
    );
    assert!(page.text.contains("zebra-works"));
}
