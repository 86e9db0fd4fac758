//! Over real HTTP with a pre-bound listener: the signed-link download round trip with the
//! local store, the operational endpoints, and graceful shutdown.

use std::time::{Duration, SystemTime};

use antpath_storage::output_key;
use antpath_types::OutputId;
use serde_json::Value;

use crate::support::{TestApp, submission};
use crate::tenancy::seed_event_and_output;

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_signed_link_downloads_the_output_and_a_tampered_or_expired_one_is_refused(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let server = app.serve().await;
    let client = reqwest::Client::new();
    let base = server.base_url();

    let run = app.submit_run(&tenant).await;
    let key = output_key(tenant.workspace, run, OutputId::new(), "report.md");
    let body = b"# Tide pools\n".to_vec();
    app.state
        .store
        .put_stream(&key, &body[..], "text/markdown", 1024)
        .await
        .expect("put");
    let output = seed_event_and_output(&app, tenant.workspace, run, key.as_str()).await;

    let link: Value = client
        .post(format!("{base}/v1/runs/{run}/outputs/{output}/link"))
        .bearer_auth(&tenant.token)
        .send()
        .await
        .expect("link")
        .json()
        .await
        .expect("json");
    let url = link["url"].as_str().expect("url").to_owned();
    assert!(url.starts_with(&format!("{base}/v1/storage/")), "{url}");
    assert!(link["expires_at"].is_string());

    let download = client.get(&url).send().await.expect("download");
    assert_eq!(download.status(), 200);
    let headers = download.headers().clone();
    assert_eq!(headers["content-type"], "text/markdown");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "sandbox");
    assert!(
        headers["content-disposition"]
            .to_str()
            .expect("ascii")
            .contains("report.md")
    );
    assert_eq!(download.bytes().await.expect("bytes").as_ref(), &body[..]);

    let tampered = url.replace("sig=", "sig=00");
    let refused = client.get(&tampered).send().await.expect("tampered");
    assert_eq!(refused.status(), 403);
    let error: Value = refused.json().await.expect("error shape");
    assert_eq!(error["error"]["type"], "permission_denied");

    let stale = app
        .state
        .store
        .signed_get_url_at(
            &key,
            Duration::from_secs(60),
            "report.md",
            SystemTime::now() - Duration::from_secs(3600),
        )
        .await
        .expect("sign");
    let path = &stale[stale.find("/v1/storage/").expect("path")..];
    let expired = client
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("expired");
    assert_eq!(expired.status(), 403);

    let actions = antpath_db::audit::actions(&app.pool, tenant.workspace)
        .await
        .expect("audit");
    assert!(
        actions
            .iter()
            .any(|(a, t)| a == "output.link" && t.as_deref() == Some(output.to_string().as_str()))
    );
    let audit_text: String =
        sqlx::query_scalar("select string_agg(a::text, ' ') from audit_logs a")
            .fetch_one(&app.pool)
            .await
            .expect("audit text");
    assert!(
        !audit_text.contains("sig="),
        "no signed URL in the audit log"
    );
    server.shutdown().await.expect("clean shutdown");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn health_readiness_metrics_and_openapi_are_served_and_shutdown_is_graceful(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let server = app.serve().await;
    let base = server.base_url();
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("healthz")
            .status(),
        200
    );
    assert_eq!(
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .expect("readyz")
            .status(),
        200
    );
    let created = client
        .post(format!("{base}/v1/runs"))
        .bearer_auth(&tenant.token)
        .json(&submission())
        .send()
        .await
        .expect("submit");
    assert_eq!(created.status(), 201);
    assert!(created.headers().contains_key("x-request-id"));
    let rejected = client
        .post(format!("{base}/v1/runs"))
        .bearer_auth(&tenant.token)
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .expect("bad");
    assert_eq!(rejected.status(), 400);
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(
            "antpath_bff_requests_total{route=\"/v1/runs\",method=\"POST\",status=\"201\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("antpath_bff_request_duration_seconds_bucket{route=\"/healthz\""));
    assert!(metrics.contains("antpath_bff_runs_submitted_total 1"));
    assert!(metrics.contains("antpath_bff_rejections_total{reason=\"malformed\"} 1"));
    let openapi: Value = client
        .get(format!("{base}/v1/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    assert_eq!(openapi["openapi"], "3.1.0");
    server.shutdown().await.expect("clean shutdown");
    assert!(
        client.get(format!("{base}/healthz")).send().await.is_err(),
        "no longer listening"
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn readiness_fails_with_503_when_the_database_is_unreachable(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let dead = antpath_db::connect(&antpath_db::PoolSettings {
        url: "postgres://postgres@127.0.0.1:1/none".into(),
        max_connections: 1,
        statement_timeout: Duration::from_secs(1),
        acquire_timeout: Duration::from_millis(500),
    })
    .expect("lazy pool");
    let state = antpath_bff::AppState::from_settings(&app.settings, dead, "http://127.0.0.1:9")
        .expect("state");
    let router = antpath_bff::router(state);
    let response = tower::ServiceExt::oneshot(
        router,
        crate::support::request(axum::http::Method::GET, "/readyz", None, None),
    )
    .await
    .expect("response");
    assert_eq!(response.status(), 503);
}
