//! Running the binary with a clean environment, and reading what it printed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use antpath_fake_api::{FakeApi, TEST_TOKEN};
use serde_json::Value;

/// What one invocation did.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code.
    pub code: i32,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
}

impl Outcome {
    /// stdout as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {self:?}"))
    }
}

/// A file of the repository's `examples/` folder.
pub fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
        .display()
        .to_string()
}

/// A command for the binary with none of our variables inherited from the caller.
pub fn command(args: &[&str], cwd: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_antpath"));
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("ANTPATH_API_TOKEN")
        .env_remove("ANTPATH_BASE_URL")
        .env_remove("ANTHROPIC_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs the binary offline.
pub async fn antpath(args: &[&str], cwd: &Path) -> Outcome {
    finish(command(args, cwd)).await
}

/// Runs the binary against `fake` with a valid token and Anthropic key in the environment.
pub async fn antpath_with(fake: &FakeApi, args: &[&str], cwd: &Path) -> Outcome {
    let mut command = command(args, cwd);
    command
        .env("ANTPATH_API_TOKEN", TEST_TOKEN)
        .env("ANTPATH_BASE_URL", &fake.base_url)
        .env("ANTHROPIC_API_KEY", "sk-ant-test-key");
    finish(command).await
}

async fn finish(mut command: tokio::process::Command) -> Outcome {
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the binary finished within a minute")
        .expect("the binary ran");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Waits until `condition` holds, failing the test after ten seconds.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
