//! The whole stack for one chaos run: its own database (reached through the proxy), storage
//! folder and simulator, the bff, N worker replicas, and the sweeper as a one-shot command;
//! configured the way `antpath dev` configures them, with short leases and polls.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use rand::RngCore as _;

use crate::api::{SimControl, Tenant, wait_ready};
use crate::database::TestDatabase;
use crate::process::{Service, Spec, bin_dir};
use crate::proxy::PgProxy;

/// How long a service may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings every service shares, beyond the database URL and keys: short leases and polls so
/// a killed worker's runs move on within seconds (but renewed early enough to survive a busy
/// two-core machine), no provider throttling of our own (the simulator's faults are the only
/// pressure), high tenant caps, and small pools because the Postgres server is shared.
const SHARED_SETTINGS: [(&str, &str); 21] = [
    ("ANTPATH_DATABASE__MAX_CONNECTIONS", "4"),
    ("ANTPATH_DATABASE__STATEMENT_TIMEOUT_MS", "5000"),
    ("ANTPATH_PROVIDER__REQUEST_TIMEOUT_MS", "5000"),
    ("ANTPATH_LIMITS__LEASE_SECONDS", "5"),
    ("ANTPATH_LIMITS__LEASE_RENEW_SECONDS", "3"),
    ("ANTPATH_LIMITS__POLL_BASE_MS", "50"),
    ("ANTPATH_LIMITS__POLL_MAX_MS", "250"),
    ("ANTPATH_LIMITS__CLEANUP_BACKOFF_BASE_SECONDS", "1"),
    ("ANTPATH_LIMITS__CLEANUP_BACKOFF_MAX_SECONDS", "2"),
    ("ANTPATH_LIMITS__PROVIDER_CREATES_PER_MINUTE", "100000"),
    ("ANTPATH_LIMITS__PROVIDER_READS_PER_SECOND", "100000"),
    ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_WORKSPACE", "200"),
    ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_TOKEN", "200"),
    ("ANTPATH_LIMITS__SUBMIT_PER_MINUTE", "100000"),
    ("ANTPATH_LIMITS__MUTATE_PER_MINUTE", "100000"),
    ("ANTPATH_LIMITS__LINKS_PER_MINUTE", "100000"),
    ("ANTPATH_SWEEPER__BATCH_SIZE", "500"),
    ("ANTPATH_LOG_FORMAT", "json"),
    // Debug for our crates: the more they say, the more a leaked secret would show.
    (
        "RUST_LOG",
        "info,antpath_worker=debug,antpath_bff=debug,antpath_provider=debug,antpath_sweeper=debug,antpath_db=debug",
    ),
    ("ANTPATH_WORKER__CONCURRENCY", "16"),
    ("ANTPATH_WORKER__CLAIM_POLL_MS", "200"),
];

/// Pool size of a worker replica (the other services keep the shared setting).
const WORKER_POOL: &str = "6";

/// The stack.
#[derive(Debug)]
pub struct Stack {
    /// The suite's database (the harness's direct pool inside).
    pub db: TestDatabase,
    /// The proxy every service reaches the database through.
    pub proxy: PgProxy,
    /// The simulator's control routes.
    pub sim: SimControl,
    /// The simulator process.
    pub sim_process: Service,
    /// The bff process.
    pub bff: Service,
    /// The worker replicas.
    pub workers: Vec<Service>,
    /// The sweeper, run with `--once`.
    pub sweeper: Service,
    /// The bff's base URL.
    pub bff_url: String,
    /// One HTTP client for everything.
    pub http: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Stack {
    /// Creates the database, migrates it, starts the proxy, the simulator (seeded with
    /// `seed`), the bff and `workers` worker replicas, and waits until they are ready.
    pub async fn up(workers: usize, seed: u64) -> anyhow::Result<Self> {
        let bins = bin_dir()?;
        let dir = tempfile::tempdir().context("while creating the suite's folder")?;
        for sub in ["logs", "storage"] {
            std::fs::create_dir_all(dir.path().join(sub))?;
        }
        let db = TestDatabase::create().await?;
        let proxy = PgProxy::start(db.server_addr().await?).await?;
        let [sim_port, bff_port] = [free_port()?, free_port()?];
        let sim_url = format!("http://127.0.0.1:{sim_port}");
        let bff_url = format!("http://127.0.0.1:{bff_port}");
        let common = common_env(dir.path(), &sim_url, &bff_url, bff_port);
        let logs = dir.path().join("logs");
        let spec_for =
            |name: &str, binary: &str, args: &[&str], service_db: &str| -> anyhow::Result<Spec> {
                let mut env = common.clone();
                env.push(("DATABASE_URL".into(), db.url_via(proxy.addr(), service_db)?));
                Ok(Spec {
                    name: name.to_owned(),
                    binary: bins.join(binary),
                    args: args.iter().map(|a| (*a).to_owned()).collect(),
                    env,
                })
            };
        let mut bff = Service::new(spec_for("bff", "antpath-bff", &["serve"], "bff")?, &logs);
        bff.run_once(&["migrate"])
            .await
            .context("while migrating the chaos database")?;
        let mut sim_process = Service::new(
            Spec {
                name: "sim".into(),
                binary: bins.join("antpath-sim"),
                args: vec![
                    "--listen".into(),
                    format!("127.0.0.1:{sim_port}"),
                    "--step-ms".into(),
                    "5".into(),
                    "--seed".into(),
                    seed.to_string(),
                    // The suite runs its workers unthrottled (see the limits above), so the
                    // simulator's documented per-key limits stay off, as before they existed.
                    "--no-documented-limits".into(),
                ],
                env: vec![("RUST_LOG".into(), "info".into())],
            },
            &logs,
        );
        sim_process.start()?;
        bff.start()?;
        let mut replicas = Vec::new();
        for n in 1..=workers {
            let name = format!("worker-{n}");
            let mut spec = spec_for(&name, "antpath-worker", &[], &name)?;
            spec.env.push(("ANTPATH_WORKER__ID".into(), name.clone()));
            // Lease renewals share the pool with the steps: a worker gets a little more.
            spec.env.push((
                "ANTPATH_DATABASE__MAX_CONNECTIONS".into(),
                WORKER_POOL.into(),
            ));
            let mut worker = Service::new(spec, &logs);
            worker.start()?;
            replicas.push(worker);
        }
        let sweeper = Service::new(
            spec_for("sweeper", "antpath-sweeper", &[], "sweeper")?,
            &logs,
        );
        let http = reqwest::Client::new();
        wait_ready(&http, &format!("{sim_url}/__sim/resources"), READY_TIMEOUT).await?;
        wait_ready(&http, &format!("{bff_url}/readyz"), READY_TIMEOUT).await?;
        Ok(Self {
            sim: SimControl::new(http.clone(), &sim_url),
            db,
            proxy,
            sim_process,
            bff,
            workers: replicas,
            sweeper,
            bff_url,
            http,
            dir,
        })
    }

    /// The folder of the process logs.
    pub fn logs(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    /// The local object store's root.
    pub fn storage_root(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// Creates a workspace, an owner and a `runs:read,runs:write` token with the bff's admin
    /// commands; returns a client acting as that tenant.
    pub async fn tenant(&self, n: usize) -> anyhow::Result<Tenant> {
        let (workspace, token) = bootstrap_tenant(&self.bff, &format!("chaos-{n}")).await?;
        Ok(Tenant::new(
            self.http.clone(),
            &self.bff_url,
            &token,
            &workspace,
        ))
    }

    /// Runs one sweeper pass (`antpath-sweeper --once`).
    pub async fn sweep(&self) -> anyhow::Result<()> {
        self.sweeper.run_logged(&["--once"]).await
    }

    /// Stops every process (SIGTERM, then SIGKILL after a grace period).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        for worker in &mut self.workers {
            worker.stop().await?;
        }
        self.bff.stop().await?;
        self.sim_process.stop().await
    }

    /// Stops everything and drops the database. With `ANTPATH_CHAOS_KEEP` set, the folder
    /// (logs and storage) is kept and its path printed.
    pub async fn down(mut self) -> anyhow::Result<()> {
        self.stop().await?;
        let Self { db, proxy, dir, .. } = self;
        drop(proxy);
        if std::env::var_os("ANTPATH_CHAOS_KEEP").is_some() {
            eprintln!("chaos: logs and storage kept in {}", dir.keep().display());
        }
        db.drop_now().await
    }
}

/// The environment every service gets (the database URL is added per service).
fn common_env(dir: &Path, sim_url: &str, bff_url: &str, bff_port: u16) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = SHARED_SETTINGS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.extend([
        ("ANTPATH_BFF__TOKEN_PEPPER".into(), random_key()),
        ("ANTPATH_ENCRYPTION__ACTIVE_KEY_ID".into(), "chaos1".into()),
        ("ANTPATH_ENCRYPTION__KEYS__CHAOS1".into(), random_key()),
        ("ANTPATH_STORAGE__SIGNING_KEY".into(), random_key()),
        (
            "ANTPATH_STORAGE__LOCAL_DIR".into(),
            dir.join("storage").display().to_string(),
        ),
        ("ANTPATH_PROVIDER__BASE_URL".into(), sim_url.to_owned()),
        (
            "ANTPATH_BFF__LISTEN".into(),
            format!("127.0.0.1:{bff_port}"),
        ),
        ("ANTPATH_BFF__PUBLIC_BASE_URL".into(), bff_url.to_owned()),
        ("ANTPATH_WORKER__HEALTH_LISTEN".into(), "127.0.0.1:0".into()),
    ]);
    env
}

fn random_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Creates the workspace `name` with an owner and a `runs:read,runs:write` token through `bff`'s
/// admin commands; returns the workspace id and the token.
pub async fn bootstrap_tenant(bff: &Service, name: &str) -> anyhow::Result<(String, String)> {
    let first = |out: String, prefix: &str| {
        out.split_whitespace()
            .find(|word| word.starts_with(prefix))
            .map(str::to_owned)
            .with_context(|| format!("no {prefix}… in {out:?}"))
    };
    let workspace = first(
        bff.run_once(&["admin", "create-workspace", "--name", name])
            .await?,
        "ws_",
    )?;
    let email = format!("{name}-{}@example.test", uuid::Uuid::new_v4().simple());
    let user = first(
        bff.run_once(&[
            "admin",
            "create-user",
            "--email",
            &email,
            "--workspace",
            &workspace,
        ])
        .await?,
        "usr_",
    )?;
    let token = first(
        bff.run_once(&[
            "admin",
            "create-token",
            "--workspace",
            &workspace,
            "--user",
            &user,
            "--name",
            name,
            "--scopes",
            "runs:read,runs:write",
        ])
        .await?,
        "ant_",
    )?;
    Ok((workspace, token))
}
