//! The test harness: a tenant, the simulator in-process, a local object store in a temp dir,
//! a key ring, and helpers to submit runs and start workers.

use std::collections::BTreeMap;
use std::time::Duration;

use antpath_config::{LeakScan, Limits};
use antpath_db::runs::{NewRun, SealedSecret};
use antpath_db::workspaces::PlanCaps;
use antpath_db::{users, workspaces};
use antpath_provider::RetryPolicy;
use antpath_redact::Secret;
use antpath_sim::{SimConfig, SimHandle};
use antpath_storage::{LocalStore, LocalStoreConfig, ObjectStore};
use antpath_template::submission::{RunInputs, SecretBundle};
use antpath_types::{RunId, RunStatus, SecretId, UserId, WorkspaceId};
use antpath_vault::KeyRing;
use antpath_worker::{Deps, FaultHook, Tuning, WorkerConfig, WorkerHandle};
use serde_json::{Value, json};
use sqlx::PgPool;

/// The Anthropic key every test run carries; it must never appear in a log or a table.
pub const CANARY: &str = "sk-ant-canary-7f3a9c1e5b";

/// Everything one test needs.
pub struct Harness {
    pub pool: PgPool,
    pub sim: SimHandle,
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub keys: KeyRing,
    pub store: ObjectStore,
    pub _dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

/// Waits for `check` to hold, polling, failing after `deadline`.
pub async fn eventually<F, Fut>(what: &str, deadline: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + deadline;
    while tokio::time::Instant::now() < until {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

impl Harness {
    pub async fn new(pool: PgPool) -> Self {
        Self::with_cap(pool, 1 << 30).await
    }

    pub async fn with_cap(pool: PgPool, storage_cap_bytes: i64) -> Self {
        antpath_telemetry::testing::init_quiet();
        let sim = antpath_sim::spawn(SimConfig::default()).await.expect("sim");
        let workspace = WorkspaceId::new();
        let user = UserId::new();
        let caps = PlanCaps {
            max_active_runs: 50,
            max_active_runs_per_token: 50,
            max_run_duration_seconds: 3600,
            storage_cap_bytes,
        };
        workspaces::insert(&pool, workspace, "acme", caps)
            .await
            .expect("workspace");
        users::insert(&pool, user, &format!("{user}@example.com"), None)
            .await
            .expect("user");
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes, base64
        let keys = KeyRing::new(
            "k1",
            &BTreeMap::from([("k1".to_owned(), Secret::new(key.to_owned()))]),
        )
        .expect("keys");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ObjectStore::Local(
            LocalStore::new(LocalStoreConfig {
                root: dir.path().to_owned(),
                public_base_url: "http://localhost:8080".into(),
                signing_key: Secret::new("x".repeat(32)),
            })
            .expect("store"),
        );
        Self {
            pool,
            sim,
            workspace,
            user,
            keys,
            store,
            _dir: dir,
            http: reqwest::Client::new(),
        }
    }

    /// A second workspace in the same database (for fairness tests).
    pub async fn another_workspace(&self, max_active_runs: i32) -> WorkspaceId {
        let id = WorkspaceId::new();
        let caps = PlanCaps {
            max_active_runs,
            max_active_runs_per_token: max_active_runs,
            max_run_duration_seconds: 3600,
            storage_cap_bytes: 1 << 30,
        };
        workspaces::insert(&self.pool, id, "other", caps)
            .await
            .expect("workspace");
        id
    }

    pub fn config(&self, owner: &str) -> WorkerConfig {
        let limits = Limits {
            poll_base_ms: 40,
            poll_max_ms: 200,
            lease_seconds: 30,
            lease_renew_seconds: 10,
            cleanup_backoff_base_seconds: 1,
            cleanup_backoff_max_seconds: 2,
            provider_reads_per_second: 10_000,
            provider_creates_per_minute: 100_000,
            ..Limits::default()
        };
        WorkerConfig {
            owner: owner.to_owned(),
            concurrency: 8,
            limits,
            provider_base_url: self.sim.base_url(),
            provider_timeout: Duration::from_secs(10),
            provider_retry: RetryPolicy::fast(3),
            leak_scan: LeakScan::WhenInDoubt,
            tuning: Tuning {
                claim_poll: Duration::from_millis(100),
                capture_settle: Duration::from_millis(1500),
                capture_relist: Duration::from_millis(100),
                capture_deadline: Duration::from_secs(5),
                interrupt_deadline: Duration::from_secs(5),
                shutdown_grace: Duration::from_secs(5),
                ..Tuning::default()
            },
        }
    }

    pub fn start(&self, owner: &str, faults: FaultHook) -> WorkerHandle {
        self.start_with(self.config(owner), faults)
    }

    pub fn start_with(&self, config: WorkerConfig, faults: FaultHook) -> WorkerHandle {
        let deps = Deps::new(
            self.pool.clone(),
            self.keys.clone(),
            self.store.clone(),
            config,
            faults,
        )
        .expect("deps");
        antpath_worker::start(deps, None).expect("worker")
    }

    /// A template whose prompt takes the simulator directive from a variable (so the worker
    /// must render variables from the sealed inputs).
    pub fn template(&self) -> Value {
        json!({
            "name": "quickstart",
            "agent": {"model": "claude-sonnet-4-5", "tools": [{"type": "agent_toolset_20260401"}]},
            "variables": {"directive": {"type": "string", "required": true}},
            "prompt": "Write the files.\n{{directive}}\n",
        })
    }

    pub async fn submit(&self, directive: &str) -> RunId {
        self.submit_with(
            self.workspace,
            self.template(),
            directive,
            "delete",
            BTreeMap::new(),
        )
        .await
    }

    pub async fn submit_with(
        &self,
        workspace: WorkspaceId,
        template: Value,
        directive: &str,
        cleanup_policy: &str,
        bearer: BTreeMap<String, String>,
    ) -> RunId {
        let mut secrets = json!({"anthropic": {"apiKey": CANARY}});
        if !bearer.is_empty() {
            let servers: serde_json::Map<String, Value> = bearer
                .into_iter()
                .map(|(name, token)| (name, json!({"bearerToken": token})))
                .collect();
            secrets["mcpServers"] = Value::Object(servers);
        }
        self.submit_sealed(workspace, template, directive, cleanup_policy, secrets)
            .await
    }

    /// A run of the default template in the harness's workspace, with `api_key` as its
    /// provider key.
    pub async fn submit_keyed(&self, api_key: &str, directive: &str) -> RunId {
        let secrets = json!({"anthropic": {"apiKey": api_key}});
        self.submit_sealed(
            self.workspace,
            self.template(),
            directive,
            "delete",
            secrets,
        )
        .await
    }

    async fn submit_sealed(
        &self,
        workspace: WorkspaceId,
        template: Value,
        directive: &str,
        cleanup_policy: &str,
        secrets: Value,
    ) -> RunId {
        let run = RunId::new();
        let secrets: SecretBundle = serde_json::from_value(secrets).expect("bundle");
        let inputs = RunInputs {
            secrets,
            variables: BTreeMap::from([("directive".to_owned(), json!(directive))]),
        };
        let sealed = self
            .keys
            .seal(run, &inputs.to_plaintext_json())
            .expect("seal");
        let new = NewRun {
            id: run,
            workspace_id: workspace,
            creator: self.user,
            api_token_id: None,
            template_name: "quickstart".into(),
            template_snapshot: template,
            template_hash: "sha256:00".into(),
            idempotency_key: None,
            request_hash: "h".into(),
            cleanup_policy: cleanup_policy.parse().expect("a cleanup policy"),
            max_duration_seconds: 600,
            max_spend_usd: None,
            max_attempts: 3,
        };
        let secret = SealedSecret::new(SecretId::new(), sealed);
        let mut tx = self.pool.begin().await.expect("begin");
        antpath_db::runs::insert_idempotent(&mut tx, &new, &secret)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        run
    }

    pub async fn status(&self, run: RunId) -> RunStatus {
        sqlx::query_scalar::<_, String>("select status from runs where id = $1")
            .bind(run.as_uuid())
            .fetch_one(&self.pool)
            .await
            .expect("status")
            .parse()
            .expect("known status")
    }

    pub async fn wait_terminal(&self, run: RunId) -> RunStatus {
        eventually(
            "a terminal status and a finished run",
            Duration::from_secs(30),
            || async {
                self.status(run).await.is_terminal()
                    && self
                        .scalar_i64(
                            "select count(*) from runs where id = $1 and phase = 'done'",
                            run,
                        )
                        .await
                        == 1
            },
        )
        .await;
        self.status(run).await
    }

    /// Replaces the simulator's fault configuration (see `docs/provider.md`).
    pub async fn set_faults(&self, faults: Value) {
        let url = format!("{}/__sim/faults", self.sim.base_url());
        let response = self.http.post(url).json(&faults).send().await.expect("sim");
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// Every resource the simulator ever created.
    pub async fn sim_resources(&self) -> Vec<Value> {
        let url = format!("{}/__sim/resources", self.sim.base_url());
        let body: Value = self
            .http
            .get(url)
            .send()
            .await
            .expect("sim")
            .json()
            .await
            .expect("json");
        body["resources"].as_array().cloned().unwrap_or_default()
    }

    /// Live (not deleted, not archived) resources, files excluded, of the given runs.
    pub async fn live_resources(&self) -> Vec<Value> {
        self.sim_resources()
            .await
            .into_iter()
            .filter(|r| r["state"] == "live" && r["kind"] != "file")
            .collect()
    }

    /// Provider create calls by path.
    pub async fn create_counts(&self) -> BTreeMap<String, usize> {
        let url = format!("{}/__sim/calls", self.sim.base_url());
        let body: Value = self
            .http
            .get(url)
            .send()
            .await
            .expect("sim")
            .json()
            .await
            .expect("json");
        let mut counts = BTreeMap::new();
        for call in body["calls"].as_array().cloned().unwrap_or_default() {
            let path = call["path"].as_str().unwrap_or_default().to_owned();
            if call["method"] == "POST"
                && !path.contains("/archive")
                && call["status"].as_u64().is_some_and(|s| s < 300)
            {
                let kind = if path.ends_with("/credentials") {
                    "credentials".to_owned()
                } else if path.ends_with("/events") {
                    "events".to_owned()
                } else {
                    path.trim_start_matches("/v1/").to_owned()
                };
                *counts.entry(kind).or_default() += 1;
            }
        }
        counts
    }

    /// Makes every lease expire now (what a crashed holder leaves behind, fast-forwarded).
    pub async fn expire_leases(&self) {
        sqlx::query("update runs set lease_expires_at = now() - interval '1 second' where lease_token is not null")
            .execute(&self.pool)
            .await
            .expect("expire");
    }

    pub async fn scalar_i64(&self, sql: &'static str, run: RunId) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(run.as_uuid())
            .fetch_one(&self.pool)
            .await
            .expect("scalar")
    }
}
