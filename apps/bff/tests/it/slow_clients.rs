//! Regression: a client that sent half its headers, or fewer body bytes than it declared, held
//! a connection (and a task) for as long as it liked. Headers and bodies now have read
//! timeouts, set here to a fraction of a second.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::TestApp;

/// The configured timeouts of these tests.
const TIMEOUT_MS: u64 = 300;

/// Far longer than [`TIMEOUT_MS`]: reaching it means the server never gave up.
const PATIENCE: Duration = Duration::from_secs(5);

async fn serve(pool: sqlx::PgPool) -> (TestApp, antpath_bff::Server) {
    let timeout = TIMEOUT_MS.to_string();
    let app = TestApp::with_env(
        pool,
        &[
            ("ANTPATH_BFF__HEADER_READ_TIMEOUT_MS", timeout.as_str()),
            ("ANTPATH_BFF__BODY_READ_TIMEOUT_MS", timeout.as_str()),
        ],
    );
    let server = app.serve().await;
    (app, server)
}

/// Reads until the server closes the connection; fails if it does not within [`PATIENCE`].
async fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection")
        .expect("read");
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_client_that_stops_halfway_through_its_headers_is_disconnected(pool: sqlx::PgPool) {
    let (_app, server) = serve(pool).await;
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: antpath\r\nAccept: app")
        .await
        .expect("write");
    let (received, waited) = read_until_closed(&mut stream).await;
    assert!(
        received.is_empty() || received.starts_with("HTTP/1.1 408"),
        "{received}"
    );
    assert!(
        waited >= Duration::from_millis(TIMEOUT_MS / 2),
        "closed after {waited:?}, before the timeout"
    );
    server.shutdown().await.expect("clean shutdown");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_body_shorter_than_declared_gets_408_in_the_error_shape_and_a_closed_connection(
    pool: sqlx::PgPool,
) {
    let (app, server) = serve(pool).await;
    let tenant = app.tenant("acme").await;
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    let head = format!(
        "POST /v1/runs HTTP/1.1\r\nHost: antpath\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"template\": ",
        tenant.token
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let (received, _waited) = read_until_closed(&mut stream).await;
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    let body = &received[received.find("\r\n\r\n").expect("head ends") + 4..];
    let error: serde_json::Value = serde_json::from_str(body).expect("JSON error body");
    assert_eq!(error["error"]["type"], "invalid_request", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("0.3 s")),
        "{error}"
    );
    server.shutdown().await.expect("clean shutdown");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_prompt_client_is_unaffected_by_the_read_timeouts(pool: sqlx::PgPool) {
    let (_app, server) = serve(pool).await;
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: antpath\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let (received, _waited) = read_until_closed(&mut stream).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    server.shutdown().await.expect("clean shutdown");
}
