//! Secret custody: the run inputs reach the database only as ciphertext bound to their run,
//! and the canaries appear in no log line, no table and no database dump.

use std::collections::BTreeMap;

use antpath_redact::Secret;
use antpath_template::RunInputs;
use antpath_types::RunId;
use antpath_vault::{KeyRing, Sealed};
use axum::http::{Method, StatusCode};
use sqlx::Row as _;

use crate::support::{
    BEARER_CANARY, CANARY, ENCRYPTION_KEY, TestApp, VARIABLE_CANARY, submission,
    submission_with_key,
};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn ring(key: &str) -> KeyRing {
    let mut keys = BTreeMap::new();
    keys.insert("k1".to_owned(), Secret::new(key.to_owned()));
    KeyRing::new("k1", &keys).expect("ring")
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_sealed_inputs_hold_no_plaintext_and_open_only_with_the_right_key_and_run(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_run(&tenant).await;
    let row = sqlx::query(
        "select s.run_id, s.key_id, s.wrapped_key, s.wrap_nonce, s.ciphertext, s.nonce
         from run_secrets s join runs r on r.execution_secret_id = s.id where r.id = $1",
    )
    .bind(run.as_uuid())
    .fetch_one(&app.pool)
    .await
    .expect("sealed row");
    assert_eq!(row.get::<uuid::Uuid, _>("run_id"), run.as_uuid());
    let sealed = Sealed {
        key_id: row.get("key_id"),
        wrapped_key: row.get("wrapped_key"),
        wrap_nonce: row.get("wrap_nonce"),
        ciphertext: row.get("ciphertext"),
        nonce: row.get("nonce"),
    };
    for needle in [CANARY, BEARER_CANARY, VARIABLE_CANARY, "CANARY"] {
        assert!(!contains(&sealed.ciphertext, needle.as_bytes()));
        assert!(!contains(&sealed.wrapped_key, needle.as_bytes()));
    }
    let opened = ring(ENCRYPTION_KEY)
        .open(run, &sealed)
        .expect("opens for its run");
    let inputs = RunInputs::from_plaintext_json(opened.expose_secret()).expect("RunInputs");
    assert_eq!(inputs.secrets.anthropic.api_key.expose_secret(), CANARY);
    assert_eq!(
        inputs
            .secrets
            .bearer_token("docs")
            .map(|t| t.expose_secret().as_str()),
        Some(BEARER_CANARY)
    );
    assert_eq!(inputs.variables["topic"], VARIABLE_CANARY);
    assert_eq!(inputs.variables["depth"], 2.0);

    assert!(ring(ENCRYPTION_KEY).open(RunId::new(), &sealed).is_err());
    let other_key = "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICA=";
    assert!(ring(other_key).open(run, &sealed).is_err());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_canaries_never_reach_the_logs(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let logs = antpath_telemetry::testing::CapturedLogs::new();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    app.submit_ok(&tenant, submission_with_key("logs-1")).await;
    let again = app
        .call(
            Method::POST,
            "/v1/runs",
            &tenant.token,
            Some(submission_with_key("logs-1")),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let mut invalid = submission();
    invalid["apiKey"] = serde_json::json!(CANARY);
    invalid["variables"]["topic"] = serde_json::json!(7);
    let rejected = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(invalid))
        .await;
    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!rejected.body.to_string().contains(CANARY));
    let bad_token = app
        .call(Method::GET, "/v1/runs", &format!("ant_{CANARY}"), None)
        .await;
    assert_eq!(bad_token.status, StatusCode::UNAUTHORIZED);

    let text = logs.contents();
    assert!(
        text.contains("request finished"),
        "the subscriber captured the requests"
    );
    assert!(text.contains("run accepted"));
    for needle in [
        CANARY,
        BEARER_CANARY,
        VARIABLE_CANARY,
        &tenant.token,
        "CANARY",
    ] {
        assert!(!text.contains(needle), "`{needle}` leaked into the logs");
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn after_many_submissions_no_table_and_no_dump_contains_a_canary(pool: sqlx::PgPool) {
    let app = TestApp::with_env(
        pool,
        &[
            ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_WORKSPACE", "100"),
            ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_TOKEN", "100"),
            ("ANTPATH_LIMITS__SUBMIT_PER_MINUTE", "1000"),
        ],
    );
    let tenant = app.tenant("acme").await;
    for i in 0..40 {
        let body = if i % 2 == 0 {
            submission()
        } else {
            submission_with_key(&format!("dump-{i}"))
        };
        app.submit_ok(&tenant, body).await;
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'",
    )
    .fetch_all(&app.pool)
    .await
    .expect("tables");
    assert!(tables.len() >= 15, "{tables:?}");
    for table in &tables {
        // Table names come from the catalog, not from input.
        let sql =
            format!("select count(*) from public.\"{table}\" t where t::text ilike '%canary%'");
        let hits: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&app.pool)
            .await
            .expect("scan");
        assert_eq!(hits, 0, "a canary is stored in clear in `{table}`");
    }

    let options = app.pool.connect_options();
    let output = std::process::Command::new("pg_dump")
        .arg("--host")
        .arg(options.get_host())
        .arg("--port")
        .arg(options.get_port().to_string())
        .arg("--username")
        .arg(options.get_username())
        .arg("--dbname")
        .arg(options.get_database().expect("test database name"))
        .arg("--no-password")
        .output()
        .expect("pg_dump runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dump = String::from_utf8_lossy(&output.stdout);
    assert!(
        dump.contains("COPY public.run_secrets"),
        "the dump covers the data"
    );
    assert!(dump.contains("docs-researcher"), "the dump holds the runs");
    for needle in [CANARY, BEARER_CANARY, VARIABLE_CANARY, "CANARY", "canary"] {
        assert!(
            !dump.contains(needle),
            "`{needle}` found in the database dump"
        );
    }
}
