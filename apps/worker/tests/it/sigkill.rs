//! The real `antpath-worker` binary killed with SIGKILL mid-run: a second process takes the run
//! over once the lease expires and finishes it, with no provider resource created twice.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use antpath_types::RunStatus;
use sqlx::PgPool;

use crate::support::{Harness, eventually};

/// Short leases, so the survivor reclaims the killed worker's run within seconds.
const LEASE_SECONDS: &str = "3";

fn spawn_worker(h: &Harness, database_url: &str, id: &str, storage: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_antpath-worker"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("ANTPATH_WORKER__ID", id)
        .env("ANTPATH_WORKER__HEALTH_LISTEN", "127.0.0.1:0")
        .env("ANTPATH_PROVIDER__BASE_URL", h.sim.base_url())
        .env("ANTPATH_ENCRYPTION__ACTIVE_KEY_ID", "k1")
        .env(
            "ANTPATH_ENCRYPTION__KEYS__K1",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        .env("ANTPATH_STORAGE__LOCAL_DIR", storage)
        .env("ANTPATH_STORAGE__SIGNING_KEY", "x".repeat(32))
        .env("ANTPATH_LIMITS__LEASE_SECONDS", LEASE_SECONDS)
        .env("ANTPATH_LIMITS__LEASE_RENEW_SECONDS", "1")
        .env("ANTPATH_LIMITS__POLL_BASE_MS", "50")
        .env("ANTPATH_LIMITS__POLL_MAX_MS", "200")
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start antpath-worker")
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_worker_process_killed_mid_run_is_replaced_without_duplicate_resources(pool: PgPool) {
    let h = Harness::new(pool).await;
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&h.pool)
        .await
        .expect("database name");
    let server = std::env::var("DATABASE_URL").expect("DATABASE_URL names the test server");
    let database_url = format!(
        "{}/{database}",
        server
            .rsplit_once('/')
            .map_or(server.as_str(), |(base, _)| base)
    );
    let storage = tempfile::tempdir().expect("storage dir");

    let mut doomed = spawn_worker(&h, &database_url, "doomed", storage.path());
    let run = h
        .submit("antpath-sim: scenario=slow seconds=3 files=1 size=64")
        .await;
    eventually(
        "the first worker to dispatch the run",
        Duration::from_secs(30),
        || async {
            matches!(
                h.status(run).await,
                RunStatus::Dispatched | RunStatus::ProviderRunning
            )
        },
    )
    .await;
    doomed.kill().expect("SIGKILL");
    doomed.wait().expect("reaped");

    let mut survivor = spawn_worker(&h, &database_url, "survivor", storage.path());
    let status = h.wait_terminal(run).await;
    let _ = survivor.kill();
    let _ = survivor.wait();
    assert_eq!(status, RunStatus::Succeeded);

    let counts = h.create_counts().await;
    for kind in ["environments", "agents", "sessions"] {
        assert_eq!(
            counts.get(kind).copied().unwrap_or(0),
            1,
            "{kind}: {counts:?}"
        );
    }
    assert!(
        h.live_resources().await.is_empty(),
        "nothing left live at the provider"
    );
}
