//! The workspace page: storage and active runs against their caps, and members — adding an
//! existing user, changing roles, removing — with the owner rules.

use antpath_types::{Role, UserId};
use axum::http::StatusCode;

use super::on_run;
use crate::support::{TestApp, submission};

async fn role_in(
    app: &TestApp,
    workspace: antpath_types::WorkspaceId,
    user: UserId,
) -> Option<String> {
    antpath_db::members::role_of(&app.pool, workspace, user)
        .await
        .expect("role")
        .map(|role| role.as_str().to_owned())
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_workspace_page_shows_storage_and_active_runs_against_their_caps(pool: sqlx::PgPool) {
    let app = TestApp::with_env(
        pool,
        &[("ANTPATH_LIMITS__WORKSPACE_STORAGE_CAP_BYTES", "10000000")],
    );
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;
    app.submit_ok(&tenant, submission()).await;
    on_run(
        &app,
        &run,
        "update runs set status = 'succeeded', phase = 'done' where id = $1",
    )
    .await;
    sqlx::query("update workspaces set storage_used_bytes = 1234567 where id = $1")
        .bind(tenant.workspace.as_uuid())
        .execute(&app.pool)
        .await
        .expect("usage");
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;
    let page = browser.get("/workspace").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text
            .contains("<progress value=\"1234567\" max=\"10000000\">")
    );
    assert!(
        page.text
            .contains("<strong>1.2 MB</strong> of 10.0 MB (12%)")
    );
    assert!(page.text.contains("<progress value=\"1\" max=\"5\">"));
    assert!(page.text.contains("<strong>1</strong> of 5 at once"));
    assert!(page.text.contains("acme"));
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn an_owner_adds_an_existing_user_changes_their_role_and_removes_them(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let elsewhere = app.tenant("elsewhere").await;
    let (newcomer, email) = app.person(elsewhere.workspace, Role::Member).await;
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;

    let added = browser
        .post(
            "/workspace/members",
            &[("email", &email.to_uppercase()), ("role", "viewer")],
        )
        .await;
    assert_eq!(added.redirect(), "/workspace");
    assert_eq!(
        role_in(&app, tenant.workspace, newcomer).await.as_deref(),
        Some("viewer")
    );
    let page = browser.get("/workspace").await;
    assert!(page.text.contains(&email));
    assert!(
        page.text
            .contains(&format!("/workspace/members/{newcomer}/role"))
    );

    let changed = browser
        .post(
            &format!("/workspace/members/{newcomer}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(changed.redirect(), "/workspace");
    assert_eq!(
        role_in(&app, tenant.workspace, newcomer).await.as_deref(),
        Some("admin")
    );

    let removed = browser
        .post(&format!("/workspace/members/{newcomer}/remove"), &[])
        .await;
    assert_eq!(removed.redirect(), "/workspace");
    assert_eq!(role_in(&app, tenant.workspace, newcomer).await, None);
    assert!(!browser.get("/workspace").await.text.contains(&email));
    let status: String = sqlx::query_scalar(
        "select status from workspace_memberships where workspace_id = $1 and app_user_id = $2",
    )
    .bind(tenant.workspace.as_uuid())
    .bind(newcomer.as_uuid())
    .fetch_one(&app.pool)
    .await
    .expect("row");
    assert_eq!(status, "removed", "the row stays, marked removed");
    assert_eq!(
        role_in(&app, elsewhere.workspace, newcomer)
            .await
            .as_deref(),
        Some("member")
    );

    let actions = antpath_db::audit::actions(&app.pool, tenant.workspace)
        .await
        .expect("audit");
    let names: Vec<&str> = actions.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(names, ["member.remove", "member.role", "member.add"]);

    let unknown = browser
        .post(
            "/workspace/members",
            &[("email", "nobody@example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text.contains("No antpath account uses that email"));
    let bad_role = browser
        .post(
            "/workspace/members",
            &[("email", &email), ("role", "emperor")],
        )
        .await;
    assert_eq!(bad_role.status, StatusCode::BAD_REQUEST);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_last_owner_can_be_neither_demoted_nor_removed(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let owner = tenant.user;
    let browser = app.sign_in_as(owner, tenant.workspace).await;

    let demoted = browser
        .post(
            &format!("/workspace/members/{owner}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(demoted.status, StatusCode::CONFLICT);
    assert!(
        demoted
            .text
            .contains("A workspace needs at least one owner")
    );
    let removed = browser
        .post(&format!("/workspace/members/{owner}/remove"), &[])
        .await;
    assert_eq!(removed.status, StatusCode::CONFLICT);
    assert_eq!(
        role_in(&app, tenant.workspace, owner).await.as_deref(),
        Some("owner")
    );

    let (second, _) = app.person(tenant.workspace, Role::Owner).await;
    let demoted = browser
        .post(
            &format!("/workspace/members/{owner}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(demoted.redirect(), "/workspace");
    assert_eq!(
        role_in(&app, tenant.workspace, owner).await.as_deref(),
        Some("admin")
    );
    let last = app.sign_in_as(second, tenant.workspace).await;
    let removed = last
        .post(&format!("/workspace/members/{second}/remove"), &[])
        .await;
    assert_eq!(removed.status, StatusCode::CONFLICT);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn two_owners_demoting_each_other_at_once_leave_one_owner(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let (second, _) = app.person(tenant.workspace, Role::Owner).await;
    let first = app.sign_in_as(tenant.user, tenant.workspace).await;
    let other = app.sign_in_as(second, tenant.workspace).await;
    let demote_second = format!("/workspace/members/{second}/role");
    let demote_first = format!("/workspace/members/{}/role", tenant.user);
    let (a, b) = tokio::join!(
        first.post(&demote_second, &[("role", "member")]),
        other.post(&demote_first, &[("role", "member")]),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    // The loser is refused either by the last-owner rule (both were owners when they asked)
    // or by its role (the winner's demotion landed before its request was read).
    assert!(
        statuses == [StatusCode::SEE_OTHER, StatusCode::FORBIDDEN]
            || statuses == [StatusCode::SEE_OTHER, StatusCode::CONFLICT],
        "{statuses:?}"
    );
    let owners: i64 = sqlx::query_scalar(
        "select count(*) from workspace_memberships
         where workspace_id = $1 and role = 'owner' and status = 'active'",
    )
    .bind(tenant.workspace.as_uuid())
    .fetch_one(&app.pool)
    .await
    .expect("owners");
    assert_eq!(owners, 1);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn an_admin_may_not_touch_owners_and_a_member_may_not_manage_anyone(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let (admin, _) = app.person(tenant.workspace, Role::Admin).await;
    let (member, member_email) = app.person(tenant.workspace, Role::Member).await;
    let owner = tenant.user;

    let as_admin = app.sign_in_as(admin, tenant.workspace).await;
    let page = as_admin.get("/workspace").await;
    assert!(
        page.text
            .contains(&format!("/workspace/members/{member}/role"))
    );
    assert!(
        !page
            .text
            .contains(&format!("/workspace/members/{owner}/role"))
    );
    assert!(
        !page.text.contains("<option value=\"owner\""),
        "an admin cannot grant owner"
    );
    for (uri, fields) in [
        (
            format!("/workspace/members/{member}/role"),
            vec![("role", "owner")],
        ),
        (
            format!("/workspace/members/{owner}/role"),
            vec![("role", "viewer")],
        ),
        (format!("/workspace/members/{owner}/remove"), vec![]),
    ] {
        let refused = as_admin.post(&uri, &fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{uri}");
    }
    let demoted = as_admin
        .post(
            &format!("/workspace/members/{member}/role"),
            &[("role", "viewer")],
        )
        .await;
    assert_eq!(demoted.redirect(), "/workspace");

    let as_member = app.sign_in_as(member, tenant.workspace).await;
    let page = as_member.get("/workspace").await;
    assert!(page.text.contains(&member_email));
    assert!(!page.text.contains("/workspace/members"));
    let refused = as_member
        .post(&format!("/workspace/members/{admin}/remove"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        role_in(&app, tenant.workspace, owner).await.as_deref(),
        Some("owner")
    );
    assert_eq!(
        role_in(&app, tenant.workspace, admin).await.as_deref(),
        Some("admin")
    );
}
