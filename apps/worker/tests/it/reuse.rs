//! Agent and environment reuse (`limits.agent_cache_idle_seconds`): repeated templates share
//! the cached agent and environment of their key (the agent pinned at its version), keys never
//! share, the session and vault stay per run, a crash between the cache intent and its record
//! adopts, concurrent starts share one entry, and the sweeper retires idle entries.

use std::collections::BTreeMap;
use std::time::Duration;

use antpath_sweeper::SweepConfig;
use antpath_sweeper::agent_cache::{CacheSweep, retire_idle};
use antpath_types::{RunId, RunStatus};
use antpath_worker::{FaultHook, WorkerConfig};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{CANARY, Harness, eventually};

const HAPPY: &str = "antpath-sim: scenario=happy files=1 size=64";

fn reusing(h: &Harness, owner: &str) -> WorkerConfig {
    let mut config = h.config(owner);
    config.limits.agent_cache_idle_seconds = 3600;
    config
}

/// A template with one bearer-authenticated MCP server, so each run also has a vault.
fn with_vault(h: &Harness) -> (Value, BTreeMap<String, String>) {
    let mut template = h.template();
    template["agent"]["mcpServers"] =
        json!([{"name": "docs", "url": "https://mcp.example.com/sse", "auth": "static_bearer"}]);
    template["agent"]["tools"] = json!([{"type": "agent_toolset_20260401"}, {"type": "mcp_toolset", "mcpServerName": "docs"}]);
    (
        template,
        BTreeMap::from([("docs".to_owned(), "bearer-token".to_owned())]),
    )
}

fn cached(resource: &Value) -> bool {
    resource["metadata"]["antpath_cache_id"].is_string()
}

async fn session_record(h: &Harness, run: RunId) -> Value {
    let session: String = sqlx::query_scalar("select provider_session_id from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(&h.pool)
        .await
        .expect("session");
    h.sim_resources()
        .await
        .into_iter()
        .find(|r| r["id"] == session.as_str())
        .expect("the session on the provider")
}

async fn cache_sweep(h: &Harness, idle: Duration) -> antpath_sweeper::Report {
    let cache = CacheSweep {
        keys: h.keys.clone(),
        provider: antpath_provider::Transport::new(
            antpath_provider::TransportConfig::default().with_base_url(h.sim.base_url()),
        )
        .expect("transport"),
        idle,
    };
    let mut report = antpath_sweeper::Report::default();
    retire_idle(&h.pool, &cache, &SweepConfig::with_batch(50), &mut report)
        .await
        .expect("cache pass");
    report
}

/// Makes the agent's latest version 2 on the provider, as a tenant editing it would.
async fn bump_agent(h: &Harness, agent: &str) {
    let response = h
        .http
        .post(format!("{}/v1/agents/{agent}", h.sim.base_url()))
        .header("x-api-key", CANARY)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "managed-agents-2026-04-01")
        .json(&json!({"system": "edited after the first run"}))
        .send()
        .await
        .expect("update");
    assert!(response.status().is_success(), "{}", response.status());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_repeated_template_reuses_the_agent_and_environment_pinned_and_cleans_its_own_session_and_vault(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    let worker = h.start_with(reusing(&h, "w1"), FaultHook::none());
    let (template, bearer) = with_vault(&h);
    let first = h
        .submit_with(
            h.workspace,
            template.clone(),
            HAPPY,
            "delete",
            bearer.clone(),
        )
        .await;
    assert_eq!(h.wait_terminal(first).await, RunStatus::Succeeded);
    let agent = session_record(&h, first).await["agent_id"]
        .as_str()
        .expect("agent id")
        .to_owned();
    bump_agent(&h, &agent).await;
    let second = h
        .submit_with(h.workspace, template, HAPPY, "delete", bearer)
        .await;
    assert_eq!(h.wait_terminal(second).await, RunStatus::Succeeded);
    worker.shutdown().await;

    let counts = h.create_counts().await;
    assert_eq!(counts.get("environments"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("agents"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("sessions"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("vaults"), Some(&2), "{counts:?}");
    let pinned = session_record(&h, second).await;
    assert_eq!(pinned["agent_id"], agent.as_str());
    assert_eq!(
        pinned["agent_version"], 1,
        "the cached version, not the edit"
    );
    // Each run's session, vault and credential are gone; only the cache's two stay live.
    let live = h.live_resources().await;
    assert_eq!(live.len(), 2, "{live:?}");
    assert!(live.iter().all(cached), "{live:?}");
    for run in [first, second] {
        let cleanup = h
            .scalar_i64(
                "select count(*) from runs where id = $1 and cleanup_state = 'succeeded'",
                run,
            )
            .await;
        assert_eq!(cleanup, 1);
        let secrets = h
            .scalar_i64("select count(*) from run_secrets where run_id = $1", run)
            .await;
        assert_eq!(secrets, 0);
        let outputs = h
            .scalar_i64("select count(*) from output_objects where run_id = $1", run)
            .await;
        assert_eq!(outputs, 1);
    }
    let journaled = h
        .scalar_i64(
            "select count(*) from provider_resources where run_id = $1 and kind in ('agent', 'environment')",
            second,
        )
        .await;
    assert_eq!(journaled, 0, "cached resources are not the run's to clean");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn runs_of_different_keys_never_share_a_cached_agent_or_environment(pool: PgPool) {
    let h = Harness::new(pool).await;
    let worker = h.start_with(reusing(&h, "w1"), FaultHook::none());
    let mut runs = Vec::new();
    for key in [
        "sk-ant-tenant-one",
        "sk-ant-tenant-two",
        "sk-ant-tenant-one",
    ] {
        runs.push(h.submit_keyed(key, HAPPY).await);
    }
    for run in &runs {
        assert_eq!(h.wait_terminal(*run).await, RunStatus::Succeeded);
    }
    worker.shutdown().await;
    let counts = h.create_counts().await;
    assert_eq!(counts.get("environments"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("agents"), Some(&2), "{counts:?}");
    let (one, two, again) = (
        session_record(&h, runs[0]).await["agent_id"].clone(),
        session_record(&h, runs[1]).await["agent_id"].clone(),
        session_record(&h, runs[2]).await["agent_id"].clone(),
    );
    assert_eq!(one, again, "one key's runs share its agent");
    assert_ne!(one, two, "another key's run has its own");
    let keys: i64 = sqlx::query_scalar(
        "select count(distinct key_hash) from provider_cache where state = 'live'",
    )
    .fetch_one(&h.pool)
    .await
    .expect("keys");
    assert_eq!(keys, 2);
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from provider_cache where key_hash like '%tenant%' or provider_metadata::text like '%tenant%'",
    )
    .fetch_one(&h.pool)
    .await
    .expect("stored");
    assert_eq!(stored, 0, "the key is stored only as a hash and sealed");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn an_idle_entry_is_retired_by_the_sweeper_only_once_no_unfinished_run_uses_it(pool: PgPool) {
    let h = Harness::new(pool).await;
    let worker = h.start_with(reusing(&h, "w1"), FaultHook::none());
    let run = h.submit(HAPPY).await;
    assert_eq!(h.wait_terminal(run).await, RunStatus::Succeeded);
    worker.shutdown().await;

    // Fresh entries are left alone.
    assert_eq!(
        cache_sweep(&h, Duration::from_secs(3600))
            .await
            .cache_retired,
        0
    );
    // Idle, but a run on them is unfinished (as if it were still observing): left alone.
    sqlx::query("update runs set phase = 'observe' where id = $1")
        .bind(run.as_uuid())
        .execute(&h.pool)
        .await
        .expect("unfinish");
    assert_eq!(cache_sweep(&h, Duration::ZERO).await.cache_retired, 0);
    sqlx::query("update runs set phase = 'done' where id = $1")
        .bind(run.as_uuid())
        .execute(&h.pool)
        .await
        .expect("finish");
    let report = cache_sweep(&h, Duration::ZERO).await;
    assert_eq!((report.cache_retired, report.cache_errors), (2, 0));

    let live = h.live_resources().await;
    assert!(live.is_empty(), "{live:?}");
    let states: Vec<(String, String, bool)> =
        sqlx::query_as("select kind, state, key_id is null from provider_cache order by kind")
            .fetch_all(&h.pool)
            .await
            .expect("states");
    assert_eq!(
        states,
        vec![
            ("agent".to_owned(), "archived".to_owned(), true),
            ("environment".to_owned(), "deleted".to_owned(), true),
        ]
    );

    // The next run makes a fresh entry rather than using a retired one.
    let worker = h.start_with(reusing(&h, "w2"), FaultHook::none());
    let next = h.submit(HAPPY).await;
    assert_eq!(h.wait_terminal(next).await, RunStatus::Succeeded);
    worker.shutdown().await;
    let counts = h.create_counts().await;
    assert_eq!(counts.get("agents"), Some(&2), "{counts:?}");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_crash_between_a_cached_create_and_its_record_adopts_instead_of_duplicating(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    // One key per crash point: the second key's environment is created again (the first's
    // entry belongs to the first key), so the crash at its agent is reached.
    for (point, key) in [
        ("created:cache:environment", "sk-ant-crash-one"),
        ("created:cache:agent", "sk-ant-crash-two"),
    ] {
        let hook = FaultHook::crash_once_at(point);
        let first = h.start_with(reusing(&h, "w1"), hook.clone());
        let run = h.submit_keyed(key, HAPPY).await;
        eventually(
            &format!("the crash at {point}"),
            Duration::from_secs(20),
            || async { hook.crashed() },
        )
        .await;
        first.shutdown().await;
        h.expire_leases().await;
        let second = h.start_with(reusing(&h, "w2"), FaultHook::none());
        assert_eq!(h.wait_terminal(run).await, RunStatus::Succeeded, "{point}");
        second.shutdown().await;
    }
    let counts = h.create_counts().await;
    assert_eq!(counts.get("environments"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("agents"), Some(&2), "{counts:?}");
    let live: i64 = sqlx::query_scalar("select count(*) from provider_cache where state = 'live'")
        .fetch_one(&h.pool)
        .await
        .expect("live");
    assert_eq!(live, 4);
    let resources = h.live_resources().await;
    assert_eq!(resources.len(), 4, "{resources:?}");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn runs_of_one_template_starting_at_once_share_one_entry(pool: PgPool) {
    let h = Harness::new(pool).await;
    let workers: Vec<_> = (0..3)
        .map(|i| h.start_with(reusing(&h, &format!("w{i}")), FaultHook::none()))
        .collect();
    let mut runs = Vec::new();
    for _ in 0..8 {
        runs.push(h.submit(HAPPY).await);
    }
    for run in &runs {
        assert_eq!(h.wait_terminal(*run).await, RunStatus::Succeeded);
    }
    for worker in workers {
        worker.shutdown().await;
    }
    let counts = h.create_counts().await;
    assert_eq!(counts.get("environments"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("agents"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("sessions"), Some(&8), "{counts:?}");
    let live = h.live_resources().await;
    assert_eq!(live.len(), 2, "{live:?}");
    let uses: i64 = sqlx::query_scalar("select count(*) from run_cache_uses")
        .fetch_one(&h.pool)
        .await
        .expect("uses");
    assert_eq!(uses, 16);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn an_intent_whose_creator_never_came_back_is_found_by_metadata_and_retired(pool: PgPool) {
    let h = Harness::new(pool).await;
    let hook = FaultHook::crash_once_at("created:cache:environment");
    let worker = h.start_with(reusing(&h, "w1"), hook.clone());
    let run = h.submit(HAPPY).await;
    eventually(
        "the crash after the create",
        Duration::from_secs(20),
        || async { hook.crashed() },
    )
    .await;
    worker.shutdown().await;
    // Nobody takes the run up again (no worker runs), and the intent is old: only the sweeper
    // can find what the provider holds. (An intent has no recorded use, so the unfinished run
    // does not hold it.)
    let _ = run;
    sqlx::query("update provider_cache set updated_at = now() - interval '10 minutes'")
        .execute(&h.pool)
        .await
        .expect("age");
    let live = h.live_resources().await;
    assert_eq!(live.iter().filter(|r| cached(r)).count(), 1, "{live:?}");

    let report = cache_sweep(&h, Duration::from_secs(3600)).await;
    assert_eq!((report.cache_retired, report.cache_errors), (1, 0));
    let live = h.live_resources().await;
    assert!(!live.iter().any(cached), "{live:?}");
    let state: String = sqlx::query_scalar("select state from provider_cache")
        .fetch_one(&h.pool)
        .await
        .expect("state");
    assert_eq!(state, "deleted");
}
