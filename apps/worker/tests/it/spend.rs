//! Spend limits and cost end to end: `maxSpendUsd` becomes the provider session's budget, a
//! `budget_reached` stop fails the run as the tenant's with a reason naming the limit, and the
//! provider's own figures (tokens, list cost, active seconds) reach the ledger and the run.

use std::collections::BTreeMap;

use antpath_types::{RunId, RunStatus};
use antpath_worker::FaultHook;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::Harness;

/// Runs `directive` to its end with `max_spend_usd` snapshotted on the run, keeping the
/// provider session (retain) so the test can read it afterwards.
async fn run_capped(
    h: &Harness,
    directive: &str,
    max_spend_usd: Option<f64>,
) -> (RunId, RunStatus) {
    let run = h
        .submit_with(
            h.workspace,
            h.template(),
            directive,
            "retain",
            BTreeMap::new(),
        )
        .await;
    // The limit as the bff snapshots it from the template's `limits.maxSpendUsd`; set before
    // any worker starts, so the queued run is read with it.
    sqlx::query("update runs set max_spend_usd = $2 where id = $1")
        .bind(run.as_uuid())
        .bind(max_spend_usd)
        .execute(&h.pool)
        .await
        .expect("limit");
    let worker = h.start("w1", FaultHook::none());
    let status = h.wait_terminal(run).await;
    worker.shutdown().await;
    (run, status)
}

/// The provider session of `run`, as the simulator serves it.
async fn provider_session(h: &Harness, run: RunId) -> Value {
    let id: String = sqlx::query_scalar("select provider_session_id from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(&h.pool)
        .await
        .expect("session id");
    let (status, body) =
        sim_call(h, reqwest::Method::GET, &format!("/v1/sessions/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn sim_call(
    h: &Harness,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = h
        .http
        .request(method, format!("{}{path}", h.sim.base_url()))
        .header("x-api-key", "sk-ant-test-budget")
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "managed-agents-2026-04-01");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("sim");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The run's record as the API view is built from it.
async fn record(h: &Harness, run: RunId) -> antpath_db::run_reads::RunRecord {
    antpath_db::run_reads::get(&h.pool, h.workspace, run)
        .await
        .expect("read")
        .expect("the run")
}

/// `(list cost micro-dollars, active seconds, input tokens)` of the run's session ledger row.
async fn session_ledger(h: &Harness, run: RunId) -> (Option<i64>, Option<f64>, i64) {
    sqlx::query_as(
        "select list_cost_micro_usd, active_seconds, input_tokens from usage_ledger
         where run_id = $1 and source_kind = 'session'",
    )
    .bind(run.as_uuid())
    .fetch_one(&h.pool)
    .await
    .expect("a session ledger row")
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_run_that_spends_past_its_limit_fails_with_the_limit_as_reason_and_a_cost_near_it(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    let (run, status) =
        run_capped(&h, "antpath-sim: scenario=spend requests=200", Some(0.05)).await;
    assert_eq!(status, RunStatus::Failed);

    let session = provider_session(&h, run).await;
    assert_eq!(
        session["budget"],
        json!({"type": "limit", "max_list_cost": {"amount": "5", "currency": "USD"}})
    );
    let record = record(&h, run).await;
    assert_eq!(record.error_class.as_deref(), Some("tenant_permanent"));
    assert_eq!(
        record.error_message.as_deref(),
        Some("The run reached its spend limit of $0.05; raise maxSpendUsd to let it do more.")
    );
    // A sonnet request of 1200 in / 350 out is 0.885 cents: the sixth crosses 5 cents, no
    // seventh is issued, and the provider reports 5.31 cents as 5.
    let cost = record.list_cost_micro_usd.expect("a cost");
    assert!((50_000..=60_000).contains(&cost), "cost {cost}");
    assert_eq!(record.input_tokens, 6 * 1200);
    assert!(record.active_seconds.is_some_and(|s| s > 0.0));
    let (ledger_cost, ledger_active, _) = session_ledger(&h, run).await;
    assert_eq!(ledger_cost, Some(cost));
    assert_eq!(ledger_active, record.active_seconds);

    // The API refuses lowering a budget to at or below what was spent, with its error shape.
    let path = format!("/v1/sessions/{}", session["id"].as_str().expect("id"));
    let lower =
        json!({"budget": {"type": "limit", "max_list_cost": {"amount": "4", "currency": "USD"}}});
    let (status, body) = sim_call(&h, reqwest::Method::POST, &path, Some(lower)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["details"]["error_code"], "budget_not_raised");
    assert!(body["request_id"].is_string());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_normal_run_reports_the_providers_tokens_cost_and_active_seconds(pool: PgPool) {
    let h = Harness::new(pool).await;
    let (run, status) = run_capped(&h, "antpath-sim: scenario=spend requests=3", None).await;
    assert_eq!(status, RunStatus::Succeeded);

    let session = provider_session(&h, run).await;
    assert!(session["budget"].is_null(), "no limit, no budget");
    let record = record(&h, run).await;
    let usage = &session["usage"];
    assert_eq!(
        record.input_tokens,
        usage["input_tokens"].as_i64().expect("input")
    );
    assert_eq!(
        record.output_tokens,
        usage["output_tokens"].as_i64().expect("output")
    );
    // 3 × 0.885 cents, reported as 3 cents.
    assert_eq!(usage["list_cost"]["amount"], "3");
    assert_eq!(record.list_cost_micro_usd, Some(30_000));
    let active = usage["active_seconds"].as_f64().expect("active seconds");
    assert_eq!(record.active_seconds, Some(active));
    // The session row adds nothing the model-request rows already counted.
    let (_, _, extra_input) = session_ledger(&h, run).await;
    assert_eq!(extra_input, 0);
    let ledger_input = h
        .scalar_i64(
            "select sum(input_tokens)::bigint from usage_ledger where run_id = $1",
            run,
        )
        .await;
    assert_eq!(ledger_input, record.input_tokens);

    // A budget cannot be added to a session created without one.
    let path = format!("/v1/sessions/{}", session["id"].as_str().expect("id"));
    let add =
        json!({"budget": {"type": "limit", "max_list_cost": {"amount": "100", "currency": "USD"}}});
    let (status, body) = sim_call(&h, reqwest::Method::POST, &path, Some(add)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["details"]["error_code"], "budget_create_only");
}

/// Submits `directive` capped at `max_spend_usd`, as if earlier attempts had already spent
/// `spent_micro_usd`, and runs it to its end.
async fn run_after_spending(
    h: &Harness,
    max_spend_usd: f64,
    spent_micro_usd: i64,
) -> (RunId, RunStatus) {
    let run = h
        .submit_with(
            h.workspace,
            h.template(),
            "antpath-sim: scenario=spend requests=200",
            "retain",
            BTreeMap::new(),
        )
        .await;
    sqlx::query("update runs set max_spend_usd = $2, list_cost_micro_usd = $3 where id = $1")
        .bind(run.as_uuid())
        .bind(max_spend_usd)
        .bind(spent_micro_usd)
        .execute(&h.pool)
        .await
        .expect("limit and earlier spend");
    let worker = h.start("w1", FaultHook::none());
    let status = h.wait_terminal(run).await;
    worker.shutdown().await;
    (run, status)
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_later_attempts_session_gets_only_what_is_left_of_the_limit(pool: PgPool) {
    let h = Harness::new(pool).await;
    let (run, status) = run_after_spending(&h, 0.05, 30_000).await;
    assert_eq!(status, RunStatus::Failed);
    let session = provider_session(&h, run).await;
    assert_eq!(
        session["budget"]["max_list_cost"],
        json!({"amount": "2", "currency": "USD"})
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_run_with_less_than_a_cent_left_fails_without_a_new_session(pool: PgPool) {
    let h = Harness::new(pool).await;
    let (run, status) = run_after_spending(&h, 0.05, 49_000).await;
    assert_eq!(status, RunStatus::Failed);
    let record = record(&h, run).await;
    assert_eq!(record.error_class.as_deref(), Some("tenant_permanent"));
    assert_eq!(
        record.error_message.as_deref(),
        Some("The run reached its spend limit of $0.05; raise maxSpendUsd to let it do more.")
    );
    let sessions = h
        .sim_resources()
        .await
        .into_iter()
        .filter(|r| r["kind"] == "session")
        .count();
    assert_eq!(
        sessions, 0,
        "no session is created with nothing left to spend"
    );
}
