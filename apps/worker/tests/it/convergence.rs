//! Regression tests for runs that could not end or told less than the truth (issue 9): a
//! provider filename with a NUL wedged its run, a struggling cleanup hid the outcome and kept
//! the run counted as active, nothing found a leak without a journal row, no run ever got a
//! second provider attempt, and a throttled step counted 429s as failures.

use std::collections::BTreeMap;
use std::time::Duration;

use antpath_types::{RunId, RunStatus};
use serde_json::json;
use sqlx::PgPool;

use super::support::{CANARY, Harness, eventually};

async fn text(h: &Harness, sql: &'static str, run: RunId) -> String {
    sqlx::query_scalar(sql)
        .bind(run.as_uuid())
        .fetch_one(&h.pool)
        .await
        .expect("a value")
}

/// Makes every provider request with `method` under `path_prefix` fail with a 500.
async fn fail_every(h: &Harness, method: &str, path_prefix: &str) {
    h.set_faults(json!({"fail_next": [{
        "count": 100_000, "method": method, "path_prefix": path_prefix, "fault": "server_error"}]}))
        .await;
}

async fn active_runs(h: &Harness) -> i64 {
    let (workspace, _) = antpath_db::run_reads::count_active(
        &h.pool,
        h.workspace,
        antpath_types::TokenId::new(),
        100,
        100,
    )
    .await
    .expect("count");
    workspace
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_file_whose_name_holds_a_nul_is_captured_and_its_run_ends(pool: PgPool) {
    let h = Harness::new(pool).await;
    let worker = h.start("w1", Default::default());
    let run = h
        .submit("antpath-sim: scenario=happy files=2 size=64 name=rep%00ort.md")
        .await;
    assert_eq!(h.wait_terminal(run).await, RunStatus::Succeeded);
    worker.shutdown().await;
    let stored = h
        .scalar_i64("select count(*) from output_objects where run_id = $1 and filename = 'report.md' and display_name = 'rep\\u{0}ort.md'", run)
        .await;
    assert_eq!(
        stored, 2,
        "both files are stored under a safe name and shown verbatim"
    );
    let bytes = h
        .scalar_i64(
            "select coalesce(sum(size_bytes), 0)::bigint from output_objects where run_id = $1",
            run,
        )
        .await;
    let used = h
        .scalar_i64("select storage_used_bytes from workspaces w join runs r on r.workspace_id = w.id where r.id = $1", run)
        .await;
    assert_eq!(
        (bytes, used),
        (128, 128),
        "storage counts exactly the stored bytes"
    );
    assert_eq!(
        text(&h, "select cleanup_state from runs where id = $1", run).await,
        "succeeded"
    );
    assert!(h.live_resources().await.is_empty());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_failing_cleanup_keeps_the_outcome_reports_itself_and_stops_counting_as_active(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    fail_every(&h, "DELETE", "/v1/").await;
    let worker = h.start("w1", Default::default());
    let run = h
        .submit("antpath-sim: scenario=happy files=1 size=10")
        .await;
    eventually("cleanup retrying", Duration::from_secs(30), || async {
        text(&h, "select cleanup_state from runs where id = $1", run).await == "retrying"
    })
    .await;
    assert_eq!(
        h.status(run).await,
        RunStatus::Succeeded,
        "the outcome stands"
    );
    assert_eq!(
        text(
            &h,
            "select cleanup_error_class from runs where id = $1",
            run
        )
        .await,
        "transient_provider"
    );
    assert_eq!(
        active_runs(&h).await,
        0,
        "a run whose work is over is not active"
    );
    h.set_faults(json!({})).await;
    eventually("cleanup succeeded", Duration::from_secs(30), || async {
        text(&h, "select cleanup_state from runs where id = $1", run).await == "succeeded"
    })
    .await;
    worker.shutdown().await;
    assert_eq!(h.status(run).await, RunStatus::Succeeded);
    assert!(h.live_resources().await.is_empty());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_cleanup_past_its_give_up_window_is_abandoned_with_its_leftovers_listed(pool: PgPool) {
    let h = Harness::new(pool).await;
    fail_every(&h, "DELETE", "/v1/").await;
    let mut config = h.config("w1");
    config.limits.cleanup_give_up_after_seconds = 2;
    let worker = h.start_with(config, Default::default());
    let run = h
        .submit("antpath-sim: scenario=happy files=1 size=10")
        .await;
    assert_eq!(h.wait_terminal(run).await, RunStatus::Succeeded);
    worker.shutdown().await;
    assert_eq!(
        text(&h, "select cleanup_state from runs where id = $1", run).await,
        "abandoned"
    );
    let abandoned = h
        .scalar_i64(
            "select count(*) from provider_resources where run_id = $1 and state = 'abandoned'",
            run,
        )
        .await;
    assert!(
        abandoned >= 2,
        "the session and environment are listed, got {abandoned}"
    );
    let secrets = h
        .scalar_i64("select count(*) from run_secrets where run_id = $1", run)
        .await;
    assert_eq!(secrets, 0, "secrets never outlive an abandoned cleanup");
    assert_eq!(
        text(
            &h,
            "select string_agg(state, ',' order by attempt_number) from run_attempts where run_id = $1",
            run
        )
        .await,
        "succeeded",
        "an abandoned cleanup still ends the run's attempt with its outcome"
    );
    let audited = h
        .scalar_i64("select count(*) from audit_logs where target_id = (select 'run_' || replace(id::text, '-', '') from runs where id = $1) and action = 'run.cleanup_abandoned'", run)
        .await;
    assert_eq!(audited, 1);
}

/// Creates, outside the worker, an environment carrying `run`'s metadata that no journal row
/// knows: what a create whose response and journal row were both lost leaves behind.
async fn leak_an_environment(h: &Harness, run: RunId) {
    let leaked: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/environments", h.sim.base_url()))
        .header("x-api-key", CANARY)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "managed-agents-2026-04-01")
        .json(&json!({"name": format!("leak-{run}"), "metadata": {"antpath_run_id": run.to_string()}}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    assert!(leaked["id"].is_string(), "{leaked}");
}

async fn found_by_scan(h: &Harness, run: RunId) -> i64 {
    h.scalar_i64(
        "select count(*) from provider_resources where run_id = $1 and found_by_scan and state = 'deleted'",
        run,
    )
    .await
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_run_whose_create_failed_scans_for_leaks_and_removes_one_without_a_journal_row(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    let run = h
        .submit("antpath-sim: scenario=happy files=1 size=10")
        .await;
    leak_an_environment(&h, run).await;
    // The first environment create fails: its outcome is unknown, so the journal is in doubt.
    h.set_faults(json!({"fail_next": [{
        "count": 1, "method": "POST", "path_prefix": "/v1/environments", "fault": "server_error"}]}))
        .await;
    let worker = h.start("w1", Default::default());
    assert_eq!(h.wait_terminal(run).await, RunStatus::Succeeded);
    worker.shutdown().await;
    assert_eq!(
        found_by_scan(&h, run).await,
        1,
        "the leak is journaled and removed"
    );
    assert!(
        h.live_resources().await.is_empty(),
        "{:?}",
        h.live_resources().await
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_run_without_doubt_skips_the_scan_unless_the_operator_asks_for_it_always(pool: PgPool) {
    let h = Harness::new(pool).await;
    let trusted = h
        .submit("antpath-sim: scenario=happy files=1 size=10")
        .await;
    leak_an_environment(&h, trusted).await;
    let worker = h.start("w1", Default::default());
    assert_eq!(h.wait_terminal(trusted).await, RunStatus::Succeeded);
    worker.shutdown().await;
    assert_eq!(
        found_by_scan(&h, trusted).await,
        0,
        "every create answered and was journaled: no list of the provider"
    );

    let always = h
        .submit("antpath-sim: scenario=happy files=1 size=10")
        .await;
    leak_an_environment(&h, always).await;
    let mut config = h.config("w2");
    config.leak_scan = antpath_config::LeakScan::Always;
    let worker = h.start_with(config, Default::default());
    assert_eq!(h.wait_terminal(always).await, RunStatus::Succeeded);
    worker.shutdown().await;
    assert_eq!(found_by_scan(&h, always).await, 1);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_session_the_provider_terminated_gets_fresh_attempts_up_to_the_cap(pool: PgPool) {
    let h = Harness::new(pool).await;
    let worker = h.start("w1", Default::default());
    let run = h.submit("antpath-sim: scenario=terminated").await;
    assert_eq!(h.wait_terminal(run).await, RunStatus::Failed);
    worker.shutdown().await;
    let attempts = h
        .scalar_i64("select count(*) from run_attempts where run_id = $1", run)
        .await;
    let rescheduled = h
        .scalar_i64("select count(*) from run_attempts where run_id = $1 and state = 'rescheduled' and error_class = 'transient_provider'", run)
        .await;
    let sessions = h
        .scalar_i64("select count(distinct provider_id) from provider_resources where run_id = $1 and kind = 'session'", run)
        .await;
    let environments = h
        .scalar_i64(
            "select count(*) from provider_resources where run_id = $1 and kind = 'environment'",
            run,
        )
        .await;
    assert_eq!((attempts, rescheduled, sessions), (3, 2, 3));
    assert_eq!(environments, 1, "attempts reuse the environment");
    assert!(h.live_resources().await.is_empty());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_session_that_used_a_tool_is_not_retried_unless_the_template_opts_in(pool: PgPool) {
    let h = Harness::new(pool).await;
    let worker = h.start("w1", Default::default());
    let plain = h
        .submit("antpath-sim: scenario=terminated tools=1 size=10")
        .await;
    let mut opted = h.template();
    opted["retryAfterToolUse"] = json!(true);
    let opted_in = h
        .submit_with(
            h.workspace,
            opted,
            "antpath-sim: scenario=terminated tools=1 size=10",
            "delete",
            BTreeMap::new(),
        )
        .await;
    assert_eq!(h.wait_terminal(plain).await, RunStatus::Failed);
    assert_eq!(h.wait_terminal(opted_in).await, RunStatus::Failed);
    worker.shutdown().await;
    let count = "select count(*) from run_attempts where run_id = $1";
    assert_eq!(h.scalar_i64(count, plain).await, 1);
    assert_eq!(h.scalar_i64(count, opted_in).await, 3);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn provider_throttling_waits_without_counting_as_step_failures(pool: PgPool) {
    let h = Harness::new(pool).await;
    h.set_faults(json!({"retry_after_secs": 0, "fail_next": [
        {"count": 12, "method": "POST", "path_prefix": "/v1/environments", "fault": "rate_limited"}]}))
        .await;
    let mut config = h.config("w1");
    config.limits.max_step_retries = 1;
    let worker = h.start_with(config, Default::default());
    let run = h
        .submit("antpath-sim: scenario=happy files=1 size=10")
        .await;
    assert_eq!(h.wait_terminal(run).await, RunStatus::Succeeded);
    worker.shutdown().await;
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_step_that_keeps_failing_ends_its_run_with_a_clear_class(pool: PgPool) {
    let h = Harness::new(pool).await;
    fail_every(&h, "POST", "/v1/agents").await;
    let mut config = h.config("w1");
    config.limits.max_step_retries = 2;
    let worker = h.start_with(config, Default::default());
    let run = h.submit("antpath-sim: scenario=happy").await;
    assert_eq!(h.wait_terminal(run).await, RunStatus::Failed);
    worker.shutdown().await;
    assert_eq!(
        text(&h, "select error_class from runs where id = $1", run).await,
        "transient_provider"
    );
    assert_eq!(
        text(&h, "select cleanup_state from runs where id = $1", run).await,
        "succeeded"
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_cancel_stops_a_capture_that_keeps_failing(pool: PgPool) {
    let h = Harness::new(pool).await;
    fail_every(&h, "GET", "/v1/files").await;
    let mut config = h.config("w1");
    config.limits.max_step_retries = 1000;
    let worker = h.start_with(config, Default::default());
    let run = h
        .submit("antpath-sim: scenario=happy files=1 size=10")
        .await;
    eventually("capturing", Duration::from_secs(30), || async {
        h.status(run).await == RunStatus::CapturingOutputs
    })
    .await;
    sqlx::query("update runs set cancel_requested_at = now() where id = $1")
        .bind(run.as_uuid())
        .execute(&h.pool)
        .await
        .expect("cancel");
    assert_eq!(h.wait_terminal(run).await, RunStatus::Cancelled);
    worker.shutdown().await;
    assert!(h.live_resources().await.is_empty());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn progress_between_failures_starts_the_step_count_again(pool: PgPool) {
    let h = Harness::new(pool).await;
    h.set_faults(json!({"fail_next": [
        {"count": 1, "method": "POST", "path_prefix": "/v1/environments", "fault": "server_error"},
        {"count": 1, "method": "POST", "path_prefix": "/v1/agents", "fault": "server_error"}]}))
        .await;
    let mut config = h.config("w1");
    config.limits.max_step_retries = 1;
    let worker = h.start_with(config, Default::default());
    let run = h
        .submit("antpath-sim: scenario=happy files=1 size=10")
        .await;
    assert_eq!(
        h.wait_terminal(run).await,
        RunStatus::Succeeded,
        "two failures in one step, with a created environment between them, stay under a bound of one"
    );
    worker.shutdown().await;
}
