//! The provider-reported cost and active seconds of a run, in its API view and on the
//! dashboard: `null` and absent until reported, dollars and cents once they are.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::dashboard::on_run;
use crate::support::{TestApp, submission};

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_runs_cost_and_active_seconds_show_once_the_provider_reported_them(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;
    let uri = format!("/v1/runs/{run}");

    let before = app.call(Method::GET, &uri, &tenant.token, None).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    assert_eq!(before.body["usage"]["cost_usd"], json!(null));
    assert_eq!(before.body["usage"]["active_seconds"], json!(null));
    let browser = app.sign_in_as(tenant.user, tenant.workspace).await;
    let page = browser.get(&format!("/runs/{run}")).await;
    assert!(
        !page.text.contains("id=\"run-cost\""),
        "no cost shown before it is known"
    );

    on_run(
        &app,
        &run,
        "update runs set list_cost_micro_usd = 530000, active_seconds = 12.5,
             input_tokens = 7200, output_tokens = 2100 where id = $1",
    )
    .await;
    let after = app.call(Method::GET, &uri, &tenant.token, None).await;
    assert_eq!(after.body["usage"]["cost_usd"], json!(0.53));
    assert_eq!(after.body["usage"]["active_seconds"], json!(12.5));
    assert_eq!(after.body["usage"]["input_tokens"], json!(7200));
    let page = browser.get(&format!("/runs/{run}")).await;
    assert!(
        page.text.contains("id=\"run-cost\">$0.53<"),
        "the run page shows the cost"
    );
    assert!(page.text.contains("12.5 s"));
    let list = browser.get("/runs").await;
    assert!(list.text.contains("$0.53"), "the run list shows the cost");
}
