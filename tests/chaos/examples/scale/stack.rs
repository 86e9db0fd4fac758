//! The scale stack: the simulator with latency and its documented per-key limits, two bff
//! replicas behind nginx, N worker processes and the sweeper in loop mode, all real binaries
//! on one fresh database (reached directly, without the chaos proxy).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use antpath_chaos::api::wait_ready;
use antpath_chaos::database::TestDatabase;
use antpath_chaos::process::{Service, Spec, bin_dir};
use anyhow::Context as _;
use base64::Engine as _;
use rand::RngCore as _;

/// How long a SIGTERMed worker gets before SIGKILL: its own drain (`shutdown_grace`) plus
/// handing leases back, as `terminationGracePeriodSeconds` in `deploy/kubernetes/worker.yaml`
/// allows (30 s).
const WORKER_GRACE: Duration = Duration::from_secs(30);

/// How long a service may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Settings every service shares: production-like polls and leases (shortened so a SIGTERMed
/// worker's runs move on within seconds), the worker's shared provider throttle at the
/// documented limits (300 creates a minute, 20 reads a second per key), and tenant caps high
/// enough that the big workspace can queue its share (submissions are refused, not queued,
/// beyond `max_active_runs`).
const SHARED: [(&str, &str); 16] = [
    ("ANTPATH_DATABASE__STATEMENT_TIMEOUT_MS", "10000"),
    ("ANTPATH_PROVIDER__REQUEST_TIMEOUT_MS", "10000"),
    ("ANTPATH_LIMITS__LEASE_SECONDS", "15"),
    ("ANTPATH_LIMITS__LEASE_RENEW_SECONDS", "6"),
    ("ANTPATH_LIMITS__POLL_BASE_MS", "500"),
    ("ANTPATH_LIMITS__POLL_MAX_MS", "2000"),
    ("ANTPATH_LIMITS__PROVIDER_CREATES_PER_MINUTE", "300"),
    ("ANTPATH_LIMITS__PROVIDER_READS_PER_SECOND", "20"),
    ("ANTPATH_LIMITS__SUBMIT_PER_MINUTE", "1000000"),
    ("ANTPATH_LIMITS__MUTATE_PER_MINUTE", "1000000"),
    ("ANTPATH_LIMITS__CLEANUP_BACKOFF_BASE_SECONDS", "1"),
    ("ANTPATH_LIMITS__CLEANUP_BACKOFF_MAX_SECONDS", "5"),
    ("ANTPATH_SWEEPER__BATCH_SIZE", "500"),
    ("ANTPATH_LOG_FORMAT", "json"),
    ("RUST_LOG", "warn"),
    ("ANTPATH_WORKER__CLAIM_POLL_MS", "500"),
];

/// The knobs the stack needs.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Worker processes.
    pub workers: usize,
    /// Runs a worker works on at once.
    pub worker_concurrency: usize,
    /// Latency the simulator adds to every `/v1` call, at least.
    pub latency_ms: u64,
    /// Extra latency drawn per call from `0..=latency_jitter_ms`.
    pub latency_jitter_ms: u64,
    /// The nginx binary.
    pub nginx: PathBuf,
    /// The per-workspace active-run cap (and the per-token one).
    pub active_cap: usize,
}

/// The running stack.
#[derive(Debug)]
pub struct Stack {
    /// The database (the harness's pool inside).
    pub db: TestDatabase,
    /// The simulator.
    pub sim: Service,
    /// The simulator's base URL.
    pub sim_url: String,
    /// nginx in front of the bffs.
    pub nginx: Service,
    /// nginx's base URL: where every API call goes.
    pub api_url: String,
    /// The bff replicas, with their own base URLs.
    pub bffs: Vec<(Service, String)>,
    /// The worker processes.
    pub workers: Vec<Service>,
    /// The sweeper, looping.
    pub sweeper: Service,
    /// One HTTP client for readiness checks.
    pub http: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Stack {
    /// Creates and migrates the database, starts everything and waits until it is ready.
    pub async fn up(options: &StackOptions) -> anyhow::Result<Self> {
        let bins = bin_dir()?;
        let dir = tempfile::tempdir().context("while creating the scale folder")?;
        for sub in ["logs", "storage", "nginx"] {
            std::fs::create_dir_all(dir.path().join(sub))?;
        }
        let logs = dir.path().join("logs");
        let db = TestDatabase::create().await?;
        let [sim_port, nginx_port, bff1, bff2] =
            [free_port()?, free_port()?, free_port()?, free_port()?];
        let sim_url = format!("http://127.0.0.1:{sim_port}");
        let api_url = format!("http://127.0.0.1:{nginx_port}");
        let mut common: Vec<(String, String)> = SHARED
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let cap = options.active_cap.to_string();
        common.extend([
            (
                "ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_WORKSPACE".into(),
                cap.clone(),
            ),
            ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_TOKEN".into(), cap),
            (
                "ANTPATH_WORKER__CONCURRENCY".into(),
                options.worker_concurrency.to_string(),
            ),
            ("ANTPATH_BFF__TOKEN_PEPPER".into(), random_key()),
            ("ANTPATH_ENCRYPTION__ACTIVE_KEY_ID".into(), "scale1".into()),
            ("ANTPATH_ENCRYPTION__KEYS__SCALE1".into(), random_key()),
            ("ANTPATH_STORAGE__SIGNING_KEY".into(), random_key()),
            (
                "ANTPATH_STORAGE__LOCAL_DIR".into(),
                dir.path().join("storage").display().to_string(),
            ),
            ("ANTPATH_PROVIDER__BASE_URL".into(), sim_url.clone()),
            ("ANTPATH_BFF__PUBLIC_BASE_URL".into(), api_url.clone()),
            ("ANTPATH_WORKER__HEALTH_LISTEN".into(), "127.0.0.1:0".into()),
        ]);
        let spec = |name: &str, binary: &str, args: &[&str], pool: &str| Spec {
            name: name.to_owned(),
            binary: bins.join(binary),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: common
                .iter()
                .cloned()
                .chain([
                    (
                        "DATABASE_URL".to_owned(),
                        format!("{}?application_name=scale-{name}", db.direct_url()),
                    ),
                    (
                        "ANTPATH_DATABASE__MAX_CONNECTIONS".to_owned(),
                        pool.to_owned(),
                    ),
                ])
                .collect(),
        };
        let mut bffs = Vec::new();
        for (n, port) in [(1, bff1), (2, bff2)] {
            let mut s = spec(&format!("bff-{n}"), "antpath-bff", &["serve"], "10");
            s.env
                .push(("ANTPATH_BFF__LISTEN".into(), format!("127.0.0.1:{port}")));
            bffs.push((Service::new(s, &logs), format!("http://127.0.0.1:{port}")));
        }
        bffs[0]
            .0
            .run_once(&["migrate"])
            .await
            .context("while migrating the scale database")?;
        let latency = options.latency_ms.to_string();
        let jitter = options.latency_jitter_ms.to_string();
        let history = (options.active_cap * 30).max(20_000).to_string();
        let listen = format!("127.0.0.1:{sim_port}");
        let mut sim = Service::new(
            Spec {
                name: "sim".into(),
                binary: bins.join("antpath-sim"),
                // The documented per-key limits stay on (the default).
                args: [
                    "--listen",
                    &listen,
                    "--latency-ms",
                    &latency,
                    "--latency-jitter-ms",
                    &jitter,
                    "--step-ms",
                    "20",
                    // Every run's records and calls stay inspectable for the checks.
                    "--keep-history",
                    &history,
                ]
                .iter()
                .map(|a| (*a).to_owned())
                .collect(),
                env: vec![("RUST_LOG".into(), "warn".into())],
            },
            &logs,
        );
        sim.start()?;
        for (bff, _) in &mut bffs {
            bff.start()?;
        }
        let mut workers = Vec::new();
        for n in 1..=options.workers {
            let name = format!("worker-{n}");
            let mut s = spec(&name, "antpath-worker", &[], "6");
            s.env.push(("ANTPATH_WORKER__ID".into(), name.clone()));
            let mut worker = Service::new(s, &logs);
            worker.start()?;
            workers.push(worker);
        }
        let mut sweeper = Service::new(
            spec(
                "sweeper",
                "antpath-sweeper",
                &["--loop", "--interval-seconds", "5"],
                "2",
            ),
            &logs,
        );
        sweeper.start()?;
        let conf = write_nginx_conf(dir.path(), nginx_port, &[bff1, bff2])?;
        let nginx_dir = dir.path().join("nginx");
        let mut nginx = Service::new(
            Spec {
                name: "nginx".into(),
                binary: options.nginx.clone(),
                args: vec![
                    "-p".into(),
                    nginx_dir.display().to_string(),
                    "-e".into(),
                    nginx_dir.join("error.log").display().to_string(),
                    "-c".into(),
                    conf.display().to_string(),
                    "-g".into(),
                    "daemon off;".into(),
                ],
                env: Vec::new(),
            },
            &logs,
        );
        nginx.start()?;
        let http = reqwest::Client::new();
        wait_ready(&http, &format!("{sim_url}/__sim/resources"), READY_TIMEOUT).await?;
        for (_, url) in &bffs {
            wait_ready(&http, &format!("{url}/readyz"), READY_TIMEOUT).await?;
        }
        wait_ready(&http, &format!("{api_url}/readyz"), READY_TIMEOUT).await?;
        Ok(Self {
            db,
            sim,
            sim_url,
            nginx,
            api_url,
            bffs,
            workers,
            sweeper,
            http,
            dir,
        })
    }

    /// The local object store's root.
    pub fn storage_root(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// Rolling restart of bff replica `n` (0-based): SIGTERM, start again, wait until ready.
    pub async fn restart_bff(&mut self, n: usize) -> anyhow::Result<Duration> {
        let began = tokio::time::Instant::now();
        let (bff, url) = &mut self.bffs[n];
        bff.stop().await?;
        bff.start()?;
        wait_ready(&self.http, &format!("{url}/readyz"), READY_TIMEOUT).await?;
        Ok(began.elapsed())
    }

    /// SIGTERM worker `n` (0-based), wait for it to exit (SIGKILL after [`WORKER_GRACE`], as
    /// Kubernetes would after `terminationGracePeriodSeconds`), start it again. Returns how
    /// long the stop took and whether it had to be killed.
    pub async fn restart_worker(&mut self, n: usize) -> anyhow::Result<(Duration, bool)> {
        let began = tokio::time::Instant::now();
        let killed = self.workers[n].stop_within(WORKER_GRACE).await?;
        let stopped = began.elapsed();
        self.workers[n].start()?;
        Ok((stopped, killed))
    }

    /// Stops every service but the simulator (whose records the checks read) and the database.
    pub async fn stop_services(&mut self) -> anyhow::Result<()> {
        self.nginx.stop().await?;
        for (bff, _) in &mut self.bffs {
            bff.stop().await?;
        }
        for worker in &mut self.workers {
            worker.stop().await?;
        }
        self.sweeper.stop().await
    }

    /// Stops everything and drops the database (`ANTPATH_SCALE_KEEP` keeps the logs).
    pub async fn down(mut self) -> anyhow::Result<()> {
        self.stop_services().await?;
        self.sim.stop().await?;
        let Self { db, dir, .. } = self;
        if std::env::var_os("ANTPATH_SCALE_KEEP").is_some() {
            eprintln!("scale: logs kept in {}", dir.keep().display());
        }
        db.drop_now().await
    }
}

/// nginx's configuration: one worker process, the two bffs as an upstream with keep-alive,
/// a failed upstream retried on the other (connection errors and 502/503 before a response).
fn write_nginx_conf(dir: &Path, port: u16, bffs: &[u16]) -> anyhow::Result<PathBuf> {
    let prefix = dir.join("nginx");
    let tmp = |name: &str| prefix.join(name).display().to_string();
    let servers: String = bffs
        .iter()
        .map(|p| format!("    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n"))
        .collect();
    let conf = format!(
        "worker_processes 1;\n\
         pid {pid};\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
         access_log off;\n\
         client_body_temp_path {body};\n\
         proxy_temp_path {proxy};\n\
         fastcgi_temp_path {fastcgi};\n\
         uwsgi_temp_path {uwsgi};\n\
         scgi_temp_path {scgi};\n\
         client_body_buffer_size 1m;\n\
         client_max_body_size 8m;\n\
         upstream bff {{\n{servers}    keepalive 64;\n  }}\n\
         server {{\n\
           listen 127.0.0.1:{port};\n\
           location / {{\n\
             proxy_pass http://bff;\n\
             proxy_http_version 1.1;\n\
             proxy_set_header Connection \"\";\n\
             proxy_set_header Host $host;\n\
             proxy_next_upstream error timeout http_502 http_503;\n\
             proxy_connect_timeout 2s;\n\
             proxy_read_timeout 60s;\n\
             proxy_buffering off;\n\
           }}\n\
         }}\n\
         }}\n",
        pid = tmp("nginx.pid"),
        body = tmp("body"),
        proxy = tmp("proxy"),
        fastcgi = tmp("fastcgi"),
        uwsgi = tmp("uwsgi"),
        scgi = tmp("scgi"),
    );
    let path = prefix.join("nginx.conf");
    std::fs::write(&path, conf)?;
    Ok(path)
}

fn random_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
