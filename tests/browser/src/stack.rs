//! A whole local stack for one test, brought up with `antpath dev up` on a fresh database, and
//! the commands a test uses on it: `antpath-bff admin …` for more workspaces and people, and
//! the `antpath` CLI for runs and tokens.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::eventually;

/// The Anthropic key every run uses; the simulator accepts any `sk-ant-` key.
pub const ANTHROPIC_KEY: &str = "sk-ant-api03-BROWSER-2f9d61c4";

/// The scopes of every token these tests make with `admin create-token`.
const ALL_SCOPES: &str = "runs:read,runs:write,tokens:manage";

/// Lines of each service's log a failed start shows.
const LOG_TAIL_LINES: usize = 10;

/// How long a run may take to reach a wanted status.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// A person who can sign in to the dashboard, in one workspace.
#[derive(Debug, Clone)]
pub struct Person {
    /// The workspace (`ws_…`).
    pub workspace: String,
    /// The sign-in email.
    pub email: String,
    /// The sign-in password.
    pub password: String,
    /// An API token of theirs with every scope, when one was made.
    pub token: Option<String>,
}

impl Person {
    /// Their API token; panics when none was made.
    pub fn token(&self) -> &str {
        self.token.as_deref().expect("this person has no API token")
    }
}

/// What a CLI invocation did.
pub struct Outcome {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Outcome {
    /// Standard output as JSON; panics with the whole outcome when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {self}"))
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

/// A running stack; `antpath dev down` and the database dropped on drop.
pub struct Stack {
    dir: tempfile::TempDir,
    server: String,
    database: String,
    /// The bff's address, `http://127.0.0.1:PORT` (the API and the dashboard).
    pub base_url: String,
    /// The local workspace's owner, as `dev up` printed them.
    pub owner: Person,
}

impl Stack {
    /// A stack on the defaults of `antpath dev up`.
    pub fn up() -> Self {
        Self::up_with(&[])
    }

    /// A stack whose services also get `env` (the services inherit the environment of
    /// `antpath dev up`, so `ANTPATH_…` settings it does not set itself reach them).
    pub fn up_with(env: &[(&str, &str)]) -> Self {
        for binary in [
            "antpath",
            "antpath-bff",
            "antpath-worker",
            "antpath-sweeper",
            "antpath-sim",
        ] {
            assert!(
                bin_dir().join(binary).is_file(),
                "{binary} is not in {}: run `cargo build --workspace --bins` before these tests",
                bin_dir().display()
            );
        }
        let server = std::env::var("ANTPATH_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let database = format!("antpath_browser_{}", uuid::Uuid::new_v4().simple());
        psql(&server, &format!("create database {database}"));
        // Built before `dev up` runs, so a failed start still stops what it started and drops
        // the database (the panic below unwinds through this value's drop).
        let mut stack = Self {
            dir: tempfile::tempdir().expect("a temp dir for the dev state"),
            server,
            database,
            base_url: String::new(),
            owner: Person {
                workspace: String::new(),
                email: String::new(),
                password: String::new(),
                token: None,
            },
        };

        let output = Command::new(bin_dir().join("antpath"))
            .args(["dev", "up"])
            .env("ANTPATH_DEV_DIR", stack.dir())
            .env("ANTPATH_DEV_BIN_DIR", bin_dir())
            .env(
                "DATABASE_URL",
                format!("{}/{}", stack.server, stack.database),
            )
            .envs(env.iter().copied())
            .output()
            .expect("run antpath dev up");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let export = |name: &str| {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(&format!("export {name}=")))
                .map(str::to_owned)
        };
        let (Some(base_url), Some(token), Some(email), Some(password)) = (
            export("ANTPATH_BASE_URL"),
            export("ANTPATH_API_TOKEN"),
            export("ANTPATH_DASHBOARD_EMAIL"),
            export("ANTPATH_DASHBOARD_PASSWORD"),
        ) else {
            panic!(
                "antpath dev up failed ({}): {}{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr),
                stack.log_tails()
            );
        };
        stack.base_url = base_url;
        stack.owner.email = email;
        stack.owner.password = password;
        stack.owner.token = Some(token);
        let me = stack.cli(stack.owner.token(), &["whoami", "--json"]).json();
        stack.owner.workspace = me["workspace"]["id"]
            .as_str()
            .expect("whoami names the workspace")
            .to_owned();
        stack
    }

    /// The last lines of every service's log, for a failure message.
    pub fn log_tails(&self) -> String {
        let mut text = String::new();
        for service in ["sim", "bff", "worker", "sweeper"] {
            let log = std::fs::read_to_string(self.dir().join(format!("logs/{service}.log")))
                .unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
            text.push_str(&format!("--- {service}.log (last lines)\n{tail}\n"));
        }
        text
    }

    /// The dev state folder (logs, keys, storage).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The path of `examples/NAME` in the repository.
    pub fn example(&self, name: &str) -> String {
        workspace_root()
            .join("examples")
            .join(name)
            .display()
            .to_string()
    }

    /// A page's absolute address: `path` under the bff.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Runs `antpath-bff admin ARGS` with the services' environment, `stdin` piped in; its
    /// trimmed standard output.
    pub fn admin(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> String {
        let keys = std::fs::read_to_string(self.dir().join("dev.env")).expect("dev.env");
        let mut child = Command::new(bin_dir().join("antpath-bff"))
            .arg("admin")
            .args(args)
            .envs(keys.lines().filter_map(|line| line.split_once('=')))
            .env("DATABASE_URL", format!("{}/{}", self.server, self.database))
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run antpath-bff admin");
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(stdin.unwrap_or_default().as_bytes())
            .expect("write to antpath-bff admin");
        drop(pipe);
        let out = child.wait_with_output().expect("antpath-bff admin");
        assert!(
            out.status.success(),
            "antpath-bff admin {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// A new workspace named `name` (with a storage cap of `cap_bytes` when given) and its
    /// owner, who has a password and a token.
    pub fn workspace(&self, name: &str, cap_bytes: Option<u64>) -> Person {
        let cap = cap_bytes.map(|c| c.to_string());
        let env: Vec<(&str, &str)> = cap
            .iter()
            .map(|c| ("ANTPATH_LIMITS__WORKSPACE_STORAGE_CAP_BYTES", c.as_str()))
            .collect();
        let workspace = self.admin(&["create-workspace", "--name", name], None, &env);
        self.person(&workspace, "owner", true)
    }

    /// A new user with a password, a member of `workspace` with `role`, with a token when
    /// `with_token`.
    pub fn person(&self, workspace: &str, role: &str, with_token: bool) -> Person {
        let email = format!(
            "{role}-{}@example.test",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
        let user = self.admin(
            &[
                "create-user",
                "--email",
                &email,
                "--workspace",
                workspace,
                "--role",
                role,
                "--password-stdin",
            ],
            Some(&password),
            &[],
        );
        let token = with_token.then(|| {
            self.admin(
                &[
                    "create-token",
                    "--workspace",
                    workspace,
                    "--user",
                    &user,
                    "--name",
                    "tests",
                    "--scopes",
                    ALL_SCOPES,
                ],
                None,
                &[],
            )
        });
        Person {
            workspace: workspace.to_owned(),
            email,
            password,
            token,
        }
    }

    /// Runs the `antpath` CLI with `token`.
    pub fn cli(&self, token: &str, args: &[&str]) -> Outcome {
        let output = Command::new(bin_dir().join("antpath"))
            .args(args)
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

    /// Submits a run whose prompt carries the simulator directive `directive` (for example
    /// `scenario=slow seconds=3`) as `token`'s workspace; its id.
    pub fn submit(&self, token: &str, name: &str, directive: &str) -> String {
        let path = self.dir().join(format!("{name}.json"));
        let template = serde_json::json!({
            "name": name,
            "agent": {"model": "claude-sonnet-4-5"},
            "prompt": format!("Do the thing.\n\nantpath-sim: {directive}"),
            "limits": {"maxDurationSeconds": 600}
        });
        std::fs::write(&path, template.to_string()).expect("write a template");
        let submitted = self.cli(
            token,
            &["run", path.to_str().expect("utf-8 path"), "--json"],
        );
        assert_eq!(submitted.code, 0, "submitting {name}: {submitted}");
        submitted.json()["id"]
            .as_str()
            .expect("a run id")
            .to_owned()
    }

    /// The run as `antpath runs get --json` shows it.
    pub fn run(&self, token: &str, id: &str) -> Value {
        let got = self.cli(token, &["runs", "get", id, "--json"]);
        assert_eq!(got.code, 0, "runs get {id}: {got}");
        got.json()
    }

    /// Waits until the run's status is one of `wanted`; the run then.
    pub async fn wait_for_status(&self, token: &str, id: &str, wanted: &[&str]) -> Value {
        eventually(
            &format!("run {id} to be {wanted:?}"),
            RUN_TIMEOUT,
            || async {
                let run = self.run(token, id);
                wanted
                    .contains(&run["status"].as_str().unwrap_or_default())
                    .then_some(run)
            },
        )
        .await
    }

    /// Waits until the run's cleanup succeeded (its provider resources are gone); the run then.
    pub async fn wait_for_cleanup(&self, token: &str, id: &str) -> Value {
        eventually(
            &format!("run {id}'s cleanup to succeed"),
            RUN_TIMEOUT,
            || async {
                let run = self.run(token, id);
                (run["cleanup"]["state"] == "succeeded").then_some(run)
            },
        )
        .await
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = Command::new(bin_dir().join("antpath"))
            .args(["dev", "down"])
            .env("ANTPATH_DEV_DIR", self.dir.path())
            .env("ANTPATH_DEV_BIN_DIR", bin_dir())
            .output();
        // Best effort: a database left behind only costs disk on a test machine.
        let _ = Command::new("psql")
            .arg(format!("{}/postgres", self.server))
            .arg("-qc")
            .arg(format!(
                "drop database if exists {} with (force)",
                self.database
            ))
            .output();
    }
}

fn psql(server: &str, sql: &str) {
    let out = Command::new("psql")
        .arg(format!("{server}/postgres"))
        .args(["-qc", sql])
        .output()
        .expect("run psql (is PostgreSQL installed? run scripts/setup)");
    assert!(
        out.status.success(),
        "psql `{sql}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The target directory's `debug/`: a test runs from `debug/deps/`, an example from
/// `debug/examples/`; the binaries sit in `debug/`.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("this executable's path");
    let dir = exe.parent().expect("this executable's folder");
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("deps" | "examples") => dir
            .parent()
            .expect("the target profile folder")
            .to_path_buf(),
        _ => dir.to_path_buf(),
    }
}

/// The repository's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
