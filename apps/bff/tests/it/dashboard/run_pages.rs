//! The run list and the run page: badges, filters, pagination, the timeline and everything a
//! run produced, cancel and delete with their confirmation step, roles, tenancy and downloads.

use antpath_storage::output_key;
use antpath_types::{OutputId, Role, RunId};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;

use super::on_run;
use crate::support::{Browser, TestApp, submission};
use crate::tenancy::seed_event_and_output;

/// An app whose quotas let a test queue many runs.
fn roomy_app(pool: sqlx::PgPool) -> TestApp {
    TestApp::with_env(
        pool,
        &[
            ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_WORKSPACE", "50"),
            ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_TOKEN", "50"),
        ],
    )
}

/// The run ids linked from a run list page, in order.
fn listed_runs(text: &str) -> Vec<String> {
    text.match_indices("href=\"/runs/run_")
        .map(|(i, _)| text[i + 12..i + 12 + 36].to_owned())
        .collect()
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_run_list_shows_status_badges_and_filters_by_status_and_template(pool: sqlx::PgPool) {
    let app = roomy_app(pool);
    let tenant = app.tenant("acme").await;
    let queued = app.submit_ok(&tenant, submission()).await;
    let failed = app.submit_ok(&tenant, submission()).await;
    let other = app.submit_ok(&tenant, submission()).await;
    on_run(
        &app,
        &failed,
        "update runs set status = 'failed', phase = 'done' where id = $1",
    )
    .await;
    on_run(
        &app,
        &other,
        "update runs set template_name = 'nightly-report' where id = $1",
    )
    .await;
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;

    let all = browser.get("/runs").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(
        listed_runs(&all.text),
        [other.clone(), failed.clone(), queued.clone()]
    );
    assert!(all.text.contains("class=\"badge s-failed\">failed</span>"));
    assert!(all.text.contains("class=\"badge s-queued\">queued</span>"));
    assert!(all.text.contains("nightly-report"));

    let only_failed = browser.get("/runs?status=failed&template=").await;
    assert_eq!(listed_runs(&only_failed.text), [failed.as_str()]);
    assert!(
        only_failed
            .text
            .contains("<option value=\"failed\" selected>")
    );

    let nightly = browser.get("/runs?status=&template=nightly-report").await;
    assert_eq!(listed_runs(&nightly.text), [other.as_str()]);
    assert!(nightly.text.contains("value=\"nightly-report\""));

    let none = browser.get("/runs?status=succeeded").await;
    assert!(listed_runs(&none.text).is_empty());
    assert!(none.text.contains("No runs match these filters."));
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_run_list_pages_with_a_cursor_and_refreshes_only_while_a_run_is_active(
    pool: sqlx::PgPool,
) {
    let app = roomy_app(pool);
    let tenant = app.tenant("acme").await;
    let mut created = Vec::new();
    for _ in 0..27 {
        created.push(app.submit_ok(&tenant, submission()).await);
    }
    created.reverse();
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;

    let first = browser.get("/runs").await;
    assert_eq!(listed_runs(&first.text), created[..25]);
    assert!(
        first
            .text
            .contains("<meta http-equiv=\"refresh\" content=\"5\">")
    );
    assert!(!first.text.contains("← Newest"));
    let older = first
        .text
        .split("class=\"next\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an older-page link")
        .replace("&amp;", "&");
    let second = browser.get(&older).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(listed_runs(&second.text), created[25..]);
    assert!(second.text.contains("← Newest"));
    assert!(!second.text.contains("class=\"next\""));

    sqlx::query("update runs set status = 'succeeded', phase = 'done', ended_at = now()")
        .execute(&app.pool)
        .await
        .expect("finish");
    let settled = browser.get("/runs").await;
    assert!(!settled.text.contains("http-equiv=\"refresh\""));
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn another_workspaces_run_is_a_404_page_exactly_like_a_missing_one(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let owner = app.tenant("acme").await;
    let intruder = app.tenant("evil").await;
    let run = app.submit_ok(&owner, submission()).await;
    let run_id: RunId = run.parse().expect("id");
    let output = seed_event_and_output(&app, owner.workspace, run_id, "k/x").await;
    let browser = app.sign_in_as(intruder.user, intruder.workspace).await;
    let missing = RunId::new();

    for (theirs, absent) in [
        (format!("/runs/{run}"), format!("/runs/{missing}")),
        (
            format!("/runs/{run}/cancel"),
            format!("/runs/{missing}/cancel"),
        ),
        (
            format!("/runs/{run}/delete"),
            format!("/runs/{missing}/delete"),
        ),
        (
            format!("/runs/{run}/outputs/{output}/download"),
            format!("/runs/{missing}/outputs/{output}/download"),
        ),
    ] {
        let foreign = browser.get(&theirs).await;
        let nothing = browser.get(&absent).await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{theirs}");
        assert_eq!(nothing.status, StatusCode::NOT_FOUND, "{absent}");
        assert_eq!(foreign.text, nothing.text, "{theirs}");
        assert!(!foreign.text.contains(&run));
    }
    for action in ["cancel", "delete"] {
        let refused = browser.post(&format!("/runs/{run}/{action}"), &[]).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{action}");
    }
    let untouched: (
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sqlx::query_as("select cancel_requested_at, pending_delete_at from runs where id = $1")
        .bind(run_id.as_uuid())
        .fetch_one(&app.pool)
        .await
        .expect("run");
    assert_eq!(untouched, (None, None));
    assert!(!browser.get("/runs").await.text.contains(&run));
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn cancel_and_delete_ask_for_confirmation_then_record_the_request(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;
    let run_id: RunId = run.parse().expect("id");
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;

    let page = browser.get(&format!("/runs/{run}")).await;
    assert!(page.text.contains(&format!("href=\"/runs/{run}/cancel\"")));
    assert!(page.text.contains(&format!("href=\"/runs/{run}/delete\"")));

    let confirm = browser.get(&format!("/runs/{run}/cancel")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm
            .text
            .contains(&format!("Cancel run <span class=\"mono\">{run}</span>?"))
    );
    assert!(
        confirm
            .text
            .contains(&format!("method=\"post\" action=\"/runs/{run}/cancel\""))
    );
    assert!(confirm.text.contains("name=\"csrf\""));
    let asked: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select cancel_requested_at from runs where id = $1")
            .bind(run_id.as_uuid())
            .fetch_one(&app.pool)
            .await
            .expect("run");
    assert_eq!(asked, None, "showing the confirmation changes nothing");

    let done = browser.post(&format!("/runs/{run}/cancel"), &[]).await;
    assert_eq!(done.redirect(), format!("/runs/{run}"));
    let after = browser.get(&format!("/runs/{run}")).await;
    assert!(after.text.contains("Cancel requested"));
    assert!(
        !after.text.contains(&format!("href=\"/runs/{run}/cancel\"")),
        "no second cancel button"
    );

    let confirm = browser.get(&format!("/runs/{run}/delete")).await;
    assert!(
        confirm
            .text
            .contains(&format!("Delete run <span class=\"mono\">{run}</span>?"))
    );
    let deleted = browser.post(&format!("/runs/{run}/delete"), &[]).await;
    assert_eq!(deleted.redirect(), "/runs");

    let rows: Vec<(String, Option<uuid::Uuid>, Option<uuid::Uuid>)> = sqlx::query_as(
        "select action, actor_app_user_id, actor_token_id from audit_logs
         where target_id = $1 order by id",
    )
    .bind(&run)
    .fetch_all(&app.pool)
    .await
    .expect("audit");
    let user = Some(tenant.user.as_uuid());
    assert_eq!(
        rows,
        [
            ("run.cancel".to_owned(), user, None),
            ("run.delete".to_owned(), user, None)
        ]
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_viewer_sees_no_cancel_or_delete_button_and_is_refused_when_posting_anyway(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;
    let (viewer, _) = app.person(tenant.workspace, Role::Viewer).await;
    let browser = app.sign_in_as(viewer, tenant.workspace).await;

    let page = browser.get(&format!("/runs/{run}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains("/cancel\""));
    assert!(!page.text.contains("/delete\""));
    for action in ["cancel", "delete"] {
        let confirm = browser.get(&format!("/runs/{run}/{action}")).await;
        assert_eq!(confirm.status, StatusCode::FORBIDDEN, "{action}");
        let post = browser.post(&format!("/runs/{run}/{action}"), &[]).await;
        assert_eq!(post.status, StatusCode::FORBIDDEN, "{action}");
        assert!(
            post.text
                .contains("Your role in this workspace does not allow you to")
        );
        assert!(post.header("content-type").starts_with("text/html"));
    }
    let status: (
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sqlx::query_as("select cancel_requested_at, pending_delete_at from runs where id = $1")
        .bind(run.parse::<RunId>().expect("id").as_uuid())
        .fetch_one(&app.pool)
        .await
        .expect("run");
    assert_eq!(status, (None, None));
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_form_without_the_sessions_csrf_token_changes_nothing(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;
    let missing = browser.post_raw(&format!("/runs/{run}/cancel"), &[]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = browser
        .post_raw(&format!("/runs/{run}/cancel"), &[("csrf", "0123")])
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let asked: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select cancel_requested_at from runs where id = $1")
            .bind(run.parse::<RunId>().expect("id").as_uuid())
            .fetch_one(&app.pool)
            .await
            .expect("run");
    assert_eq!(asked, None);
}

/// Takes a run through the worker's phases as SQL, with a provider resource whose cleanup
/// failed twice.
async fn live_through(app: &TestApp, run: &str) {
    for step in [
        "update runs set status = 'provisioning', phase = 'session' where id = $1",
        "update runs set status = 'provider_running', phase = 'observe', dispatched_at = now(),
                input_tokens = 1234, output_tokens = 56 where id = $1",
        "update runs set status = 'succeeded', phase = 'cleanup', cleanup_state = 'retrying',
                cleanup_rounds = 2, cleanup_error_class = 'transient_provider',
                cleanup_error_message = 'provider said 503', ended_at = now() where id = $1",
    ] {
        on_run(app, run, step).await;
    }
    on_run(
        app,
        run,
        "insert into provider_resources (id, run_id, workspace_id, attempt_number, kind,
             logical_key, provider_name, provider_id, state)
         select gen_random_uuid(), id, workspace_id, 1, 'session', 'session', 'antpath-s',
                'sesn_0042', 'cleanup_failed' from runs where id = $1",
    )
    .await;
    on_run(
        app,
        run,
        "insert into cleanup_attempts (id, run_id, resource_id, action, status, attempt_number)
         select gen_random_uuid(), p.run_id, p.id, 'delete_session', 'failed', n
         from provider_resources p, generate_series(1, 2) n where p.run_id = $1",
    )
    .await;
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_run_page_shows_the_timeline_events_outputs_failures_and_unfinished_cleanup(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;
    let run_id: RunId = run.parse().expect("id");
    let output = seed_event_and_output(&app, tenant.workspace, run_id, "k/report").await;
    live_through(&app, &run).await;
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;

    let page = browser.get(&format!("/runs/{run}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = &page.text;
    let timeline = &text[text.find("id=\"timeline\"").expect("timeline")..];
    let timeline = &timeline[..timeline.find("</ol>").expect("end")];
    let phases: Vec<&str> = timeline
        .match_indices("phase <code>")
        .map(|(i, _)| &timeline[i + 12..i + 12 + timeline[i + 12..].find('<').expect("end")])
        .collect();
    assert_eq!(phases, ["provision", "session", "observe", "cleanup"]);
    assert!(timeline.contains("badge s-provider_running"));
    assert!(timeline.contains("cleanup retrying"));

    assert!(text.contains("id=\"cleanup-warning\""));
    assert!(text.contains("Cleanup has not finished."));
    assert!(text.contains("failed and is being retried"));
    assert!(text.contains("badge c-retrying"));
    assert!(text.contains("sesn_0042"));
    assert!(text.contains("badge r-cleanup_failed"));
    assert!(
        text.contains(
            "sesn_0042</td><td><span class=\"badge r-cleanup_failed\">cleanup failed</span></td>\
             <td class=\"num\">2</td>"
        ),
        "the resource, its state and its two failed cleanup tries"
    );
    assert!(text.contains("provider said 503"));

    assert!(text.contains("session.status_idle"));
    assert!(text.contains("1,234"));
    assert!(text.contains("report.md"));
    assert!(text.contains(&"a".repeat(64)));
    assert!(text.contains("5 B"));
    assert!(text.contains(&format!("href=\"/runs/{run}/outputs/{output}/download\"")));
    assert!(
        text.contains("big.bin (99 B) — skipped: the workspace&#39;s storage cap was reached")
            || text.contains("big.bin (99 B) — skipped: the workspace's storage cap was reached")
    );
    assert!(!text.contains("/v1/storage/"), "no signed link in the page");
    assert!(!text.contains("sig="), "no signature in the page");

    assert!(text.contains(&format!("data-stream=\"/v1/runs/{run}/stream\"")));
    assert!(text.contains("/assets/run.js?v="));
    on_run(
        &app,
        &run,
        "update runs set phase = 'done', cleanup_state = 'succeeded' where id = $1",
    )
    .await;
    let settled = browser.get(&format!("/runs/{run}")).await;
    assert!(!settled.text.contains("data-stream="));
    assert!(!settled.text.contains("/assets/run.js"));
    assert!(!settled.text.contains("Cleanup has not finished."));
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn provider_and_tenant_text_is_escaped_never_markup(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;
    let run_id: RunId = run.parse().expect("id");
    seed_event_and_output(&app, tenant.workspace, run_id, "k/x").await;
    on_run(
        &app,
        &run,
        "update runs set template_name = '<script>alert(1)</script>', error_class = 'antpath_bug',
                error_message = '<img src=x onerror=alert(2)>' where id = $1",
    )
    .await;
    on_run(
        &app,
        &run,
        "update output_objects set display_name = '\"><b>bold</b>' where run_id = $1",
    )
    .await;
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;
    for uri in [format!("/runs/{run}"), "/runs".to_owned()] {
        let page = browser.get(&uri).await;
        assert!(!page.text.contains("<script>alert"), "{uri}");
        assert!(!page.text.contains("<img src=x"), "{uri}");
        assert!(!page.text.contains("<b>bold"), "{uri}");
        assert!(
            page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{uri}"
        );
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn an_output_download_redirects_to_a_fresh_signed_link_whose_bytes_match(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_run(&tenant).await;
    let key = output_key(tenant.workspace, run, OutputId::new(), "report.md");
    let body = b"# Tide pools\nanemones\n".to_vec();
    app.state
        .store
        .put_stream(&key, &body[..], "text/markdown", 1024)
        .await
        .expect("put");
    let output = seed_event_and_output(&app, tenant.workspace, run, key.as_str()).await;
    let (viewer, _) = app.person(tenant.workspace, Role::Viewer).await;

    for browser in [
        app.sign_in_as(tenant.user, tenant.workspace).await,
        app.sign_in_as(viewer, tenant.workspace).await,
    ] {
        let download = browser
            .get(&format!("/runs/{run}/outputs/{output}/download"))
            .await;
        let location = download.redirect().to_owned();
        assert_eq!(download.header("cache-control"), "no-store");
        let path = location
            .strip_prefix("http://127.0.0.1:9")
            .expect("a link to the bff's local store");
        assert!(path.starts_with("/v1/storage/"), "{location}");
        let fetched = app
            .router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        assert_eq!(fetched.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(fetched.into_body(), usize::MAX)
            .await
            .expect("bytes");
        assert_eq!(bytes.as_ref(), &body[..]);
    }
    let links: i64 = sqlx::query_scalar(
        "select count(*) from audit_logs where action = 'output.link' and target_id = $1
           and actor_token_id is null",
    )
    .bind(output.to_string())
    .fetch_one(&app.pool)
    .await
    .expect("audit");
    assert_eq!(links, 2, "each click signs (and audits) one link");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_rate_limited_cancel_is_a_429_page_with_retry_after(pool: sqlx::PgPool) {
    let app = TestApp::with_env(pool, &[("ANTPATH_LIMITS__MUTATE_PER_MINUTE", "1")]);
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;
    let browser: Browser = app.sign_in_as(tenant.user, tenant.workspace).await;
    let first = browser.post(&format!("/runs/{run}/cancel"), &[]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let second = browser.post(&format!("/runs/{run}/cancel"), &[]).await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(second.header("content-type").starts_with("text/html"));
    assert!(!second.header("retry-after").is_empty());
    assert!(second.text.contains("Too Many Requests"));
    super::assert_secure(&second);
}
