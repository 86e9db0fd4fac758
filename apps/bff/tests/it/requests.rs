//! Hostile and malformed requests all get a clean 4xx in the one error shape.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::support::{TestApp, submission};

fn raw(token: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/v1/runs")
        .header("authorization", format!("Bearer {token}"));
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(body.into()).expect("request")
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn malformed_json_wrong_types_and_missing_content_type_get_400_or_415(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    for body in [
        "{",
        "{\"template\": }",
        "[1, 2",
        "\u{0}",
        "{\"a\": \"\u{0}\"",
        "nul\0l",
    ] {
        let reply = app
            .send(raw(
                &tenant.token,
                Some("application/json"),
                body.to_owned(),
            ))
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let invalid_utf8 = app
        .send(raw(
            &tenant.token,
            Some("application/json"),
            vec![b'{', 0xff, 0xfe, b'}'],
        ))
        .await;
    invalid_utf8.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
    ] {
        let reply = app
            .send(raw(&tenant.token, content_type, submission().to_string()))
            .await;
        reply.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    let with_charset = app
        .send(raw(
            &tenant.token,
            Some("application/json; charset=utf-8"),
            submission().to_string(),
        ))
        .await;
    assert_eq!(
        with_charset.status,
        StatusCode::CREATED,
        "{}",
        with_charset.body
    );
    for body in [json!([]), json!("run"), json!(null), json!(42)] {
        let reply = app
            .call(Method::POST, "/v1/runs", &tenant.token, Some(body))
            .await;
        reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_body_over_the_limit_gets_413_whether_declared_or_streamed(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let mut huge = submission();
    huge["variables"]["topic"] = json!("x".repeat(100_000));
    let reply = app
        .send(raw(
            &tenant.token,
            Some("application/json"),
            huge.to_string(),
        ))
        .await;
    reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..100).map(|_| Ok(vec![b' '; 1024])).collect();
    let stream = Body::from_stream(futures_util::stream::iter(chunks));
    let reply = app
        .send(raw(&tenant.token, Some("application/json"), stream))
        .await;
    reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn unicode_and_escaped_null_bytes_are_validated_not_crashed_on(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let mut unicode = submission();
    unicode["variables"]["topic"] = json!("tide pools 🌊 — ünïcödé, 中文, עברית");
    let reply = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(unicode))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);

    // An escaped NUL is valid JSON but no Postgres text or jsonb value can hold it: each is a
    // 400 naming where it is (see `input.rs` for every place).
    let mut nul_name = submission();
    nul_name["template"]["name"] = json!("bad\u{0}name");
    let mut nul_key = submission();
    nul_key["variables"]["to\u{0}pic"] = json!("x");
    let mut nul_value = submission();
    nul_value["variables"]["topic"] = json!("tide\u{0}pools");
    for (body, path) in [
        (nul_name, "/template/name"),
        (nul_key, "/variables"),
        (nul_value, "/variables/topic"),
    ] {
        let reply = app
            .call(Method::POST, "/v1/runs", &tenant.token, Some(body))
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(reply.detail_paths(), [path], "{}", reply.body);
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn unknown_routes_wrong_methods_and_bad_ids_use_the_error_shape(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let reply = app
        .call(Method::GET, "/v1/nothing-here", &tenant.token, None)
        .await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
    let reply = app.call(Method::PUT, "/v1/runs", &tenant.token, None).await;
    reply.assert_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    for bad in [
        "/v1/runs/run_nope",
        "/v1/runs/ws_0190c6f0000070008000000000000000",
        "/v1/runs/%00",
    ] {
        let reply = app.call(Method::GET, bad, &tenant.token, None).await;
        reply.assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    let reply = app
        .call(Method::GET, "/v1/runs?limit=0", &tenant.token, None)
        .await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let reply = app
        .call(Method::GET, "/v1/runs?limit=abc", &tenant.token, None)
        .await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let reply = app
        .call(Method::GET, "/v1/runs?status=running", &tenant.token, None)
        .await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let reply = app
        .call(Method::GET, "/v1/runs?cursor=zzz", &tenant.token, None)
        .await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_sane_incoming_request_id_is_kept_and_an_unsafe_one_replaced(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let mut request = Request::builder()
        .uri("/healthz")
        .header("x-request-id", "client-abc.123");
    let reply = app
        .send(request.body(Body::empty()).expect("request"))
        .await;
    assert_eq!(reply.headers["x-request-id"], "client-abc.123");
    request = Request::builder()
        .uri("/healthz")
        .header("x-request-id", "bad id\twith spaces");
    let reply = app
        .send(request.body(Body::empty()).expect("request"))
        .await;
    assert!(
        reply.headers["x-request-id"]
            .to_str()
            .expect("ascii")
            .starts_with("req_")
    );
}
