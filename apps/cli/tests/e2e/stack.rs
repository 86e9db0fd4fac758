//! A whole local stack for one test, brought up with `antpath dev up`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The Anthropic key every test run uses; the simulator accepts any `sk-ant-` key.
pub const ANTHROPIC_KEY: &str = "sk-ant-api03-E2ECANARY-5b8d1c0f";

/// What a CLI invocation did.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn json(&self) -> Value {
        super::last_json(&self.stdout)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A running stack; `antpath dev down` on drop.
pub struct Stack {
    dir: tempfile::TempDir,
    database: String,
    base_url: String,
    token: String,
    sim_url: String,
}

impl Stack {
    pub async fn up() -> Self {
        Self::up_with_env(&[]).await
    }

    /// A stack whose services also get `env` (such as an OTLP endpoint).
    pub async fn up_with_env(env: &[(&str, &str)]) -> Self {
        for service in [
            "antpath-bff",
            "antpath-worker",
            "antpath-sweeper",
            "antpath-sim",
        ] {
            assert!(
                bin_dir().join(service).is_file(),
                "{service} is not built: run `cargo build --workspace --bins` before these tests"
            );
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let database = format!("antpath_e2e_{}", uuid::Uuid::new_v4().simple());
        let server = std::env::var("ANTPATH_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let created = Command::new("psql")
            .arg(format!("{server}/postgres"))
            .args(["-qc", &format!("create database {database}")])
            .output()
            .expect("psql");
        assert!(
            created.status.success(),
            "create database: {}",
            String::from_utf8_lossy(&created.stderr)
        );

        let output = Command::new(antpath())
            .args(["dev", "up"])
            .env("ANTPATH_DEV_DIR", dir.path())
            .env("ANTPATH_DEV_BIN_DIR", bin_dir())
            .env("DATABASE_URL", format!("{server}/{database}"))
            .envs(env.iter().copied())
            .output()
            .expect("antpath dev up");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "dev up failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let export = |name: &str| {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("no {name} in: {stdout}"))
                .to_owned()
        };
        Self {
            base_url: export("ANTPATH_BASE_URL"),
            token: export("ANTPATH_API_TOKEN"),
            sim_url: export("ANTPATH_SIM_URL"),
            dir,
            database,
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn example(&self, name: &str) -> String {
        workspace_root()
            .join("examples")
            .join(name)
            .display()
            .to_string()
    }

    /// A small template whose prompt carries a simulator directive.
    pub fn write_template(&self, name: &str, directive: &str) -> String {
        let path = self.dir().join(format!("{name}.json"));
        let template = serde_json::json!({
            "name": name,
            "agent": {"model": "claude-sonnet-4-5"},
            "prompt": format!("Do the thing.\n\n{directive}"),
            "limits": {"maxDurationSeconds": 600}
        });
        std::fs::write(&path, template.to_string()).expect("write template");
        path.display().to_string()
    }

    pub fn cli(&self, args: &[&str]) -> Outcome {
        self.cli_with_token(&self.token, args)
    }

    pub fn cli_with_token(&self, token: &str, args: &[&str]) -> Outcome {
        self.cli_with_env(token, &[], args)
    }

    /// The CLI with extra environment (such as a `TRACEPARENT`).
    pub fn cli_with_env(&self, token: &str, env: &[(&str, &str)], args: &[&str]) -> Outcome {
        let output = Command::new(antpath())
            .args(args)
            .envs(env.iter().copied())
            .env("ANTPATH_BASE_URL", &self.base_url)
            .env("ANTPATH_API_TOKEN", token)
            .env("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
            .env_remove("ANTPATH_DEV_DIR")
            .output()
            .expect("run antpath");
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The simulator's resources of one kind.
    pub async fn sim_resources(&self, kind: &str) -> Vec<Value> {
        let body: Value = reqwest::get(format!("{}/__sim/resources", self.sim_url))
            .await
            .expect("sim")
            .json()
            .await
            .expect("json");
        body["resources"]
            .as_array()
            .map(|all| all.iter().filter(|r| r["kind"] == kind).cloned().collect())
            .unwrap_or_default()
    }

    /// After cleanup, no session, agent, environment, vault or credential is still live.
    pub async fn assert_nothing_live_at_the_provider(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut live = Vec::new();
            for kind in [
                "session",
                "environment",
                "vault",
                "credential",
                "file",
                "agent",
            ] {
                live.extend(
                    self.sim_resources(kind)
                        .await
                        .into_iter()
                        .filter(|r| r["state"] == "live"),
                );
            }
            if live.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "provider resources left live: {live:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn wait_for_status(&self, id: &str, wanted: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.cli(&["runs", "get", id, "--json"]).json();
            let status = got["status"].as_str().unwrap_or_default().to_owned();
            if wanted.contains(&status.as_str()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "run {id} stayed {status}, wanted {wanted:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every log line the services wrote.
    pub fn all_logs(&self) -> String {
        let mut text = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir().join("logs")) {
            for entry in entries.flatten() {
                text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        text
    }
}

impl Stack {
    /// `antpath dev down`: SIGTERM to every service, which flushes their trace exporters.
    pub fn stop_services(&self) {
        let _ = Command::new(antpath())
            .args(["dev", "down"])
            .env("ANTPATH_DEV_DIR", self.dir.path())
            .env("ANTPATH_DEV_BIN_DIR", bin_dir())
            .output();
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = Command::new(antpath())
            .args(["dev", "down"])
            .env("ANTPATH_DEV_DIR", self.dir.path())
            .env("ANTPATH_DEV_BIN_DIR", bin_dir())
            .output();
        // Best effort: a database left behind only costs disk on a test machine.
        let server = std::env::var("ANTPATH_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let _ = Command::new("psql")
            .arg(format!("{server}/postgres"))
            .arg("-qc")
            .arg(format!(
                "drop database if exists {} with (force)",
                self.database
            ))
            .output();
    }
}

fn antpath() -> &'static str {
    env!("CARGO_BIN_EXE_antpath")
}

/// The service binaries sit next to the CLI in the target directory.
fn bin_dir() -> PathBuf {
    Path::new(antpath())
        .parent()
        .expect("target dir")
        .to_path_buf()
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
