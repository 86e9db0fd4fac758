//! Regression tests for places where the server refused what docs/openapi.json allows, or
//! accepted what it forbids, each found by `scripts/check-openapi` (schemathesis) and named in
//! its test's doc comment.

use antpath_storage::output_key;
use antpath_types::OutputId;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use tower::ServiceExt as _;

use crate::support::{TestApp, submission};
use crate::tenancy::seed_event_and_output;

/// Bug: a whole number written with a fraction (`300.0`) is an integer to JSON Schema, but a
/// field of whole numbers refused it with 422 ("Expected a whole number of 0 or more").
#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn whole_numbers_written_with_a_fraction_are_accepted_as_whole_numbers(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let mut body = submission();
    body["limits"]["maxDurationSeconds"] = json!(300.0);
    body["template"]["variables"]["topic"]["minLength"] = json!(3.0);
    body["template"]["variables"]["topic"]["maxLength"] = json!(200.0);
    let reply = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["limits"]["max_duration_seconds"], 300);

    // A fraction that is not whole is still refused, where it was written.
    let mut body = submission();
    body["limits"]["maxDurationSeconds"] = json!(300.5);
    let reply = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(body))
        .await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    assert_eq!(reply.detail_paths(), ["/limits/maxDurationSeconds"]);
}

/// Bug: list cursors and `Last-Event-ID` were read with Rust's integer parser, which takes a
/// sign and up to 19 digits, so `+5`, `-1` or a 19-digit number passed although the document
/// (stating what the server issues: at most 18 digits, no sign) forbids them.
#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn cursors_and_last_event_ids_are_exactly_the_documented_digits(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;
    let nineteen = "1".repeat(19);
    let eighteen = "9".repeat(18);
    for (cursor, status) in [
        ("%2B5", StatusCode::UNPROCESSABLE_ENTITY),
        ("-1", StatusCode::UNPROCESSABLE_ENTITY),
        (nineteen.as_str(), StatusCode::UNPROCESSABLE_ENTITY),
        ("0005", StatusCode::OK),
        (eighteen.as_str(), StatusCode::OK),
    ] {
        let uri = format!("/v1/runs/{run}/events?cursor={cursor}");
        let reply = app.call(Method::GET, &uri, &tenant.token, None).await;
        assert_eq!(reply.status, status, "{uri}: {}", reply.body);
    }
    for (micros, status) in [
        ("%2B1", StatusCode::UNPROCESSABLE_ENTITY),
        ("-1", StatusCode::UNPROCESSABLE_ENTITY),
        (nineteen.as_str(), StatusCode::UNPROCESSABLE_ENTITY),
        ("1", StatusCode::OK),
        (eighteen.as_str(), StatusCode::OK),
    ] {
        let uri = format!("/v1/runs?cursor={micros}.{run}");
        let reply = app.call(Method::GET, &uri, &tenant.token, None).await;
        assert_eq!(reply.status, status, "{uri}: {}", reply.body);
    }
    for (last_id, status) in [
        (nineteen.as_str(), StatusCode::BAD_REQUEST),
        (eighteen.as_str(), StatusCode::OK),
    ] {
        let request = Request::builder()
            .uri(format!("/v1/runs/{run}/stream"))
            .header("authorization", format!("Bearer {}", tenant.token))
            .header("last-event-id", last_id)
            .body(Body::empty())
            .expect("request");
        let response = app.router.clone().oneshot(request).await.expect("response");
        assert_eq!(response.status(), status, "Last-Event-ID {last_id}");
    }
}

/// Bug: a token's name was trimmed before its rules were checked, so a name of 101 characters
/// with a leading space, or one starting with a tab, passed although the document (which
/// counts and checks what is sent) forbids both.
#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_token_name_is_checked_as_sent_and_stored_trimmed(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let create = |name: String| {
        let body = json!({"name": name, "scopes": ["runs:read"]});
        app.call(Method::POST, "/v1/tokens", &tenant.token, Some(body))
    };
    for refused in [
        format!(" {}", "a".repeat(100)),
        "\tci".to_owned(),
        " ".to_owned(),
    ] {
        let reply = create(refused.clone()).await;
        reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
        assert_eq!(reply.detail_paths(), ["/name"], "{refused:?}");
    }
    let reply = create(format!(" {} ", "b".repeat(98))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["name"], "b".repeat(98));
}

/// Bug: a download answers with the object's own media type (`text/markdown`, …), but the
/// document promised `application/octet-stream` only, so a client generated from it expected
/// the wrong type.
#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_download_answers_with_a_media_type_the_document_lists(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_run(&tenant).await;
    let key = output_key(tenant.workspace, run, OutputId::new(), "report.md");
    app.state
        .store
        .put_stream(&key, &b"# Tide pools\n"[..], "text/markdown", 1024)
        .await
        .expect("put");
    let output = seed_event_and_output(&app, tenant.workspace, run, key.as_str()).await;
    let uri = format!("/v1/runs/{run}/outputs/{output}/link");
    let link = app.call(Method::POST, &uri, &tenant.token, None).await;
    assert_eq!(link.status, StatusCode::OK, "{}", link.body);
    let url = link.body["url"].as_str().expect("url");
    let path = &url[url.find("/v1/storage/").expect("a local-store link")..];
    let request = Request::builder()
        .uri(path)
        .body(Body::empty())
        .expect("request");
    let download = app.router.clone().oneshot(request).await.expect("response");
    assert_eq!(download.status(), StatusCode::OK);
    let served = download.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();

    let document = antpath_bff::openapi::document();
    let documented = document["paths"]["/v1/storage/{key}"]["get"]["responses"]["200"]["content"]
        .as_object()
        .expect("the download's media types");
    let listed = documented.keys().any(|range| match range.split_once('/') {
        Some(("*", "*")) => true,
        Some((kind, "*")) => served.starts_with(&format!("{kind}/")),
        _ => served.split(';').next() == Some(range.as_str()),
    });
    assert!(listed, "{served} is not among {:?}", documented.keys());
}
