//! The real `antpath-sweeper` binary in one-shot mode: one pass, one summary line.

use std::process::Command;

use sqlx::PgPool;

use crate::fixtures::{set_used_bytes, tenant, used_bytes};

fn database_url(pool: &PgPool) -> String {
    let options = pool.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().expect("database")
    )
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_one_shot_sweeper_runs_one_pass_and_prints_every_counter_on_one_line(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let drifted = tenant(&pool).await;
    set_used_bytes(&pool, drifted.workspace, 9).await;

    let output = Command::new(env!("CARGO_BIN_EXE_antpath-sweeper"))
        .arg("--once")
        .env_clear()
        .env("ANTPATH_DATABASE__URL", database_url(&pool))
        .env("ANTPATH_STORAGE__LOCAL_DIR", dir.path())
        .env("ANTPATH_STORAGE__SIGNING_KEY", "k".repeat(32))
        .env("RUST_LOG", "error")
        .output()
        .expect("run antpath-sweeper");

    let stdout = String::from_utf8(output.stdout).expect("utf8");
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("sweep: "))
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let counters = antpath_sweeper::Report::default().counters();
    for (name, _) in counters {
        assert!(
            lines[0].contains(&format!(" {name}=")),
            "{name} missing: {stdout}"
        );
    }
    assert!(
        lines[0].contains(" storage_drift_workspaces=1 "),
        "{stdout}"
    );
    assert!(lines[0].contains(" storage_drift_bytes=9 "), "{stdout}");
    assert_eq!(used_bytes(&pool, drifted.workspace).await, 0);
}
