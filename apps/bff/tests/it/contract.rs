//! Regression tests for places where the server refused what docs/openapi.json allows, or
//! accepted what it forbids, each found by `scripts/check-openapi` (schemathesis) and named in
//! its test's doc comment.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestApp, submission};

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
