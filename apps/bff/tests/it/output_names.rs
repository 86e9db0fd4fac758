//! The outputs view shows the provider's names: unicode, nested and hostile names verbatim
//! (control characters escaped), two files of one name as two outputs, and a mounted input's
//! copy as skipped with `not_downloadable`.

use antpath_db::outputs::{self, CaptureFailure, NewOutput, Recorded};
use antpath_types::OutputId;
use axum::http::{Method, StatusCode};

use crate::support::TestApp;

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_outputs_view_shows_original_names_duplicates_and_skips(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_run(&tenant).await;
    let names = [
        "notes.txt",
        "notes.txt",
        "résumé – 東京.txt",
        "reports/2026/q1.md",
        "../../etc/passwd",
        "nul\u{0}byte.txt",
    ];
    for (i, name) in names.iter().enumerate() {
        let id = OutputId::new();
        let key = antpath_storage::output_key(tenant.workspace, run, id, name);
        let file_id = format!("file_{i}");
        let mut tx = app.pool.begin().await.expect("tx");
        let recorded = outputs::record_output(
            &mut tx,
            &NewOutput {
                id,
                run_id: run,
                workspace_id: tenant.workspace,
                user_id: tenant.user,
                provider_file_id: &file_id,
                filename: name,
                storage_key: key.as_str(),
                size_bytes: 3,
                sha256: &"b".repeat(64),
                content_type: Some("text/plain"),
            },
        )
        .await
        .expect("record");
        assert_eq!(recorded, Recorded::Stored);
        tx.commit().await.expect("commit");
    }
    outputs::record_failure(
        &app.pool,
        &CaptureFailure {
            run_id: run,
            workspace_id: tenant.workspace,
            provider_file_id: "file_copy",
            filename: "input.csv",
            size_bytes: Some(64),
            reason: "not_downloadable",
            message: None,
        },
    )
    .await
    .expect("a not_downloadable record is accepted");

    let reply = app
        .call(
            Method::GET,
            &format!("/v1/runs/{run}/outputs"),
            &tenant.token,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mut shown: Vec<String> = reply.body["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .map(|o| o["display_name"].as_str().expect("display_name").to_owned())
        .collect();
    shown.sort();
    assert_eq!(
        shown,
        [
            "../../etc/passwd",
            "notes.txt",
            "notes.txt",
            "nul\\u{0}byte.txt",
            "reports/2026/q1.md",
            "résumé – 東京.txt"
        ]
    );
    for output in reply.body["outputs"].as_array().expect("outputs") {
        assert!(output.get("storage_key").is_none());
    }
    let skipped = &reply.body["capture_failures"][0];
    assert_eq!(skipped["reason"], "not_downloadable");
    assert_eq!(skipped["display_name"], "input.csv");
}
