//! Everything the checks look at, gathered once after the stack went quiet: the database's
//! runs, provider journal, outputs and workspace counters; the simulator's records and call
//! log; the files under the storage root.

use std::path::Path;

use serde_json::Value;
use sqlx::{PgPool, Row as _};

use crate::model::{self, RunRow};

/// One `provider_resources` row.
#[derive(Debug, Clone)]
pub struct JournalRow {
    /// The run's wire id.
    pub run: String,
    /// The provider attempt.
    pub attempt: i32,
    /// `environment`, `agent`, `vault`, `credential`, `session` or `file`.
    pub kind: String,
    /// The resource's key within the attempt.
    pub logical_key: String,
    /// The provider's id, once known.
    pub provider_id: Option<String>,
    /// The journal state.
    pub state: String,
}

/// One `output_objects` row.
#[derive(Debug, Clone)]
pub struct OutputRow {
    /// The run's wire id.
    pub run: String,
    /// The workspace's wire id.
    pub workspace: String,
    /// The provider file it was copied from.
    pub provider_file_id: String,
    /// Its key in the object store (a relative path under the local root).
    pub storage_key: String,
    /// Bytes stored.
    pub size_bytes: i64,
    /// Hex sha256 of the stored bytes.
    pub sha256: String,
}

/// One workspace's storage counter.
#[derive(Debug, Clone)]
pub struct WorkspaceRow {
    /// The wire id.
    pub id: String,
    /// `workspaces.storage_used_bytes`.
    pub storage_used_bytes: i64,
}

/// All the facts.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Every run.
    pub runs: Vec<RunRow>,
    /// The provider journal.
    pub journal: Vec<JournalRow>,
    /// Stored outputs.
    pub outputs: Vec<OutputRow>,
    /// Workspace counters.
    pub workspaces: Vec<WorkspaceRow>,
    /// `cleanup_attempts` rows that failed (provider deletes that did not work at first).
    pub failed_cleanup_actions: i64,
    /// Runs that needed more than one provider attempt.
    pub runs_with_retried_attempts: i64,
    /// Journal rows the cleanup's leak scan added (provider resources found by metadata that
    /// had no row of their own).
    pub found_by_scan: i64,
    /// Provider ids of the live agent-cache entries: resources owned by the cache, not by a
    /// run (the sweeper retires them once idle).
    pub cache_live: Vec<String>,
    /// The simulator's records, deleted ones included.
    pub sim_resources: Vec<Value>,
    /// The simulator's call log.
    pub sim_calls: Vec<Value>,
    /// Every file under the storage root, as a `/`-separated relative path.
    pub stored_files: Vec<String>,
}

impl Facts {
    /// Reads the database and the storage root; the simulator's parts are filled by the caller.
    pub async fn gather(pool: &PgPool, storage_root: &Path) -> anyhow::Result<Self> {
        let runs = model::runs(pool).await?;
        let journal = sqlx::query(
            "select 'run_' || replace(run_id::text, '-', '') as run, attempt_number, kind::text as kind,
                    logical_key, provider_id, state::text as state
             from provider_resources order by created_at",
        )
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| {
            Ok(JournalRow {
                run: row.try_get("run")?,
                attempt: row.try_get("attempt_number")?,
                kind: row.try_get("kind")?,
                logical_key: row.try_get("logical_key")?,
                provider_id: row.try_get("provider_id")?,
                state: row.try_get("state")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let outputs = sqlx::query(
            "select 'run_' || replace(run_id::text, '-', '') as run,
                    'ws_' || replace(workspace_id::text, '-', '') as workspace,
                    provider_file_id, storage_key, size_bytes, sha256
             from output_objects",
        )
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| {
            Ok(OutputRow {
                run: row.try_get("run")?,
                workspace: row.try_get("workspace")?,
                provider_file_id: row.try_get("provider_file_id")?,
                storage_key: row.try_get("storage_key")?,
                size_bytes: row.try_get("size_bytes")?,
                sha256: row.try_get("sha256")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let workspaces = sqlx::query(
            "select 'ws_' || replace(id::text, '-', '') as id, storage_used_bytes from workspaces",
        )
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| {
            Ok(WorkspaceRow {
                id: row.try_get("id")?,
                storage_used_bytes: row.try_get("storage_used_bytes")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let failed_cleanup_actions: i64 =
            sqlx::query_scalar("select count(*) from cleanup_attempts where status = 'failed'")
                .fetch_one(pool)
                .await?;
        let runs_with_retried_attempts: i64 = sqlx::query_scalar(
            "select count(*) from (select run_id from run_attempts group by run_id having count(*) > 1) as r",
        )
        .fetch_one(pool)
        .await?;
        let found_by_scan: i64 =
            sqlx::query_scalar("select count(*) from provider_resources where found_by_scan")
                .fetch_one(pool)
                .await?;
        let cache_live: Vec<String> = sqlx::query_scalar(
            "select provider_id from provider_cache where state = 'live' and provider_id is not null",
        )
        .fetch_all(pool)
        .await?;
        Ok(Self {
            cache_live,
            found_by_scan,
            runs,
            journal,
            outputs,
            workspaces,
            failed_cleanup_actions,
            runs_with_retried_attempts,
            stored_files: files_under(storage_root)?,
            ..Self::default()
        })
    }
}

/// Every regular file under `root`, relative, with `/` separators.
pub fn files_under(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                dirs.push(path);
            } else if let Ok(relative) = path.strip_prefix(root) {
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    out.sort();
    Ok(out)
}
