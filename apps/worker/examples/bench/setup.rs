//! What every bench mode shares: a fresh schema, one workspace and user, submissions, the
//! worker's configuration and the figures' summary (min / median / max over repetitions).

use std::collections::BTreeMap;
use std::time::Duration;

use antpath_config::{LeakScan, Limits};
use antpath_db::runs::{NewRun, SealedSecret};
use antpath_db::workspaces::PlanCaps;
use antpath_provider::RetryPolicy;
use antpath_redact::Secret;
use antpath_template::submission::{RunInputs, SecretBundle};
use antpath_types::{RunId, SecretId, UserId, WorkspaceId};
use antpath_vault::KeyRing;
use antpath_worker::{Tuning, WorkerConfig};
use serde_json::json;
use sqlx::PgPool;

/// The scratch database and the one tenant every run belongs to.
pub struct Bench {
    pub pool: PgPool,
    pub url: String,
    pub ws: WorkspaceId,
    pub user: UserId,
    pub keys: KeyRing,
}

impl Bench {
    /// Recreates the schema of the database at `url` and adds the tenant.
    pub async fn fresh(pool: PgPool, url: String) -> Self {
        for sql in [
            "drop schema public cascade",
            "create schema public",
            "drop table if exists _sqlx_migrations",
        ] {
            sqlx::query(sql).execute(&pool).await.expect("reset schema");
        }
        antpath_db::MIGRATOR.run(&pool).await.expect("migrate");
        let ws = WorkspaceId::new();
        let user = UserId::new();
        antpath_db::workspaces::insert(
            &pool,
            ws,
            "bench",
            PlanCaps {
                max_active_runs: 1_000_000,
                max_active_runs_per_token: 1_000_000,
                max_run_duration_seconds: 3600,
                storage_cap_bytes: 1 << 40,
            },
        )
        .await
        .expect("ws");
        antpath_db::users::insert(&pool, user, "bench@example.com", None)
            .await
            .expect("user");
        let keys = KeyRing::new(
            "k",
            &BTreeMap::from([(
                "k".to_owned(),
                Secret::new("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned()),
            )]),
        )
        .expect("keys");
        Self {
            pool,
            url,
            ws,
            user,
            keys,
        }
    }

    fn new_run(&self, directive: &str) -> (NewRun, SealedSecret) {
        let run = RunId::new();
        let secrets: SecretBundle =
            serde_json::from_value(json!({"anthropic": {"apiKey": "sk-ant-bench"}}))
                .expect("bundle");
        let inputs = RunInputs {
            secrets,
            variables: BTreeMap::from([("d".to_owned(), json!(directive))]),
        };
        let sealed = self
            .keys
            .seal(run, &inputs.to_plaintext_json())
            .expect("seal");
        let new = NewRun {
            id: run,
            workspace_id: self.ws,
            creator: self.user,
            api_token_id: None,
            template_name: "b".into(),
            template_snapshot: json!({"name": "b", "agent": {"model": "m"}, "variables": {"d": {"type": "string"}}, "prompt": "{{d}}"}),
            template_hash: "sha256:0".into(),
            idempotency_key: None,
            request_hash: "h".into(),
            cleanup_policy: antpath_types::ClaudeSessionCleanup::Delete,
            max_duration_seconds: 3600,
            max_spend_usd: None,
            max_attempts: 1,
        };
        (new, SealedSecret::new(SecretId::new(), sealed))
    }

    /// Submits one run as the bff does when nothing else is waiting to be admitted: a group
    /// of one (`admission::admit`, autocommitted), then the wake-up of the workers after its
    /// commit. Returns once the run is committed; the wake-up is sent in the background, as
    /// the bff's is.
    pub async fn submit(&self, directive: &str) -> RunId {
        let (run, secret) = self.new_run(directive);
        self.admit(run, secret).await
    }

    /// As [`Bench::submit`], for a run a stream watches from before its submission (the run
    /// feed notifies only about watched runs), as a dashboard open on it would.
    pub async fn submit_watched(&self, directive: &str) -> RunId {
        let (run, secret) = self.new_run(directive);
        sqlx::query("insert into run_watches (run_id, topic, replica) values ($1, $2, $2)")
            .bind(run.id.as_uuid())
            .bind(uuid::Uuid::new_v4())
            .execute(&self.pool)
            .await
            .expect("watch");
        self.admit(run, secret).await
    }

    async fn admit(&self, run: NewRun, secret: SealedSecret) -> RunId {
        let id = run.id;
        let admission = antpath_db::admission::Admission {
            run,
            secret,
            bucket: antpath_db::admission::SubmitBucket {
                key: "submit:bench".to_owned(),
                spec: antpath_db::rate_limits::BucketSpec::per_minute(1_000_000),
            },
            explicit_duration: None,
            trace_parent: None,
        };
        let admitted = antpath_db::admission::admit(&self.pool, &admission)
            .await
            .expect("admit");
        assert!(
            matches!(admitted, antpath_db::admission::Admitted::Created(_)),
            "not admitted: {admitted:?}"
        );
        let pool = self.pool.clone();
        tokio::spawn(async move { antpath_db::runs::wake_workers(&pool).await });
        id
    }

    /// Submits `n` runs in one transaction (a quick way to fill a queue).
    pub async fn submit_many(&self, n: usize, directive: &str) -> Vec<RunId> {
        let mut tx = self.pool.begin().await.expect("begin");
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let (new, secret) = self.new_run(directive);
            antpath_db::runs::insert_idempotent(&mut tx, &new, &secret)
                .await
                .expect("insert");
            ids.push(new.id);
        }
        tx.commit().await.expect("commit");
        ids
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    pub async fn clear(&self) {
        sqlx::query("delete from runs")
            .execute(&self.pool)
            .await
            .expect("clear");
        // The claim's plan depends on the statistics of a table that was just emptied.
        sqlx::raw_sql("vacuum analyze runs")
            .execute(&self.pool)
            .await
            .expect("vacuum");
    }

    pub async fn xacts(&self) -> i64 {
        sqlx::query_scalar(
            "select xact_commit from pg_stat_database where datname = current_database()",
        )
        .fetch_one(&self.pool)
        .await
        .expect("xacts")
    }
}

/// The worker's configuration for the bench: no throttling of our own, fast capture.
pub fn config(sim: &str, owner: &str, concurrency: usize, claim_poll: Duration) -> WorkerConfig {
    WorkerConfig {
        owner: owner.into(),
        concurrency,
        limits: Limits {
            poll_base_ms: 200,
            poll_max_ms: 2000,
            provider_reads_per_second: 1_000_000,
            provider_creates_per_minute: 100_000_000,
            max_active_runs_per_workspace: 1_000_000,
            ..Limits::default()
        },
        provider_base_url: sim.into(),
        provider_timeout: Duration::from_secs(30),
        provider_retry: RetryPolicy::fast(3),
        leak_scan: LeakScan::WhenInDoubt,
        tuning: Tuning {
            claim_poll,
            capture_settle: Duration::from_millis(200),
            capture_relist: Duration::from_millis(50),
            ..Tuning::default()
        },
    }
}

/// The machine's 1-minute load average, as `/proc/loadavg` has it.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// The `q` quantile (0–1) of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Sorts `values` in place.
pub fn sort(values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
}

/// `name min/median/max=a/b/c` over the repetitions.
pub fn summary(name: &str, values: &[f64]) -> String {
    let mut v = values.to_vec();
    sort(&mut v);
    format!(
        "{name} min/median/max={:.2}/{:.2}/{:.2}",
        v.first().copied().unwrap_or(f64::NAN),
        quantile(&v, 0.5),
        v.last().copied().unwrap_or(f64::NAN)
    )
}
