//! One service process of the stack: started from a real binary with a fixed environment,
//! its stdout and stderr appended to one log file across restarts, killed with SIGKILL or
//! stopped with SIGTERM.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::{Child, Command};

/// How long a SIGTERMed process gets before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The service binaries the suite starts.
pub const BINARIES: [&str; 4] = [
    "antpath-sim",
    "antpath-bff",
    "antpath-worker",
    "antpath-sweeper",
];

/// Where the service binaries are: `ANTPATH_CHAOS_BIN_DIR`, else the target directory this
/// test binary was built into (`target/debug/deps/..`). Fails naming the build command when
/// one is missing.
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("ANTPATH_CHAOS_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_exe()
            .context("while locating the test binary")?
            .parent()
            .and_then(Path::parent)
            .context("the test binary has no target directory")?
            .to_path_buf(),
    };
    for binary in BINARIES {
        anyhow::ensure!(
            dir.join(binary).is_file(),
            "{binary} is not built in {}: run `cargo build --workspace --bins` (or scripts/chaos) first",
            dir.display()
        );
    }
    Ok(dir)
}

/// How to start one service.
#[derive(Debug, Clone)]
pub struct Spec {
    /// A short name: the log file is `<name>.log`.
    pub name: String,
    /// The binary.
    pub binary: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its whole environment (nothing is inherited but `PATH` and `HOME`).
    pub env: Vec<(String, String)>,
}

/// A service that can be started, killed and restarted.
#[derive(Debug)]
pub struct Service {
    spec: Spec,
    log: PathBuf,
    child: Option<Child>,
    /// How many times it was started.
    pub starts: u32,
    /// How many times it was killed with SIGKILL.
    pub kills: u32,
}

impl Service {
    /// A stopped service logging into `logs/<name>.log`.
    pub fn new(spec: Spec, logs: &Path) -> Self {
        let log = logs.join(format!("{}.log", spec.name));
        Self {
            spec,
            log,
            child: None,
            starts: 0,
            kills: 0,
        }
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Starts the process (a no-op if it is running).
    pub fn start(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            return Ok(());
        }
        self.child = Some(run(&self.spec, &self.log)?);
        self.starts += 1;
        Ok(())
    }

    /// Whether the process is alive.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// SIGKILLs the process and reaps it.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.start_kill().context("while sending SIGKILL")?;
            child.wait().await.context("while reaping")?;
            self.kills += 1;
        }
        Ok(())
    }

    /// SIGTERMs the process, waits for it to exit, and SIGKILLs it after a grace period.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        self.stop_within(STOP_GRACE).await.map(|_| ())
    }

    /// SIGTERMs the process and waits up to `grace` for it to exit, then SIGKILLs it. Returns
    /// whether it had to be killed.
    pub async fn stop_within(&mut self, grace: Duration) -> anyhow::Result<bool> {
        let Some(mut child) = self.child.take() else {
            return Ok(false);
        };
        if let Some(pid) = child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            child.start_kill().context("while sending SIGKILL")?;
            child.wait().await.context("while reaping")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Runs the binary once with `args` instead of its usual ones (an admin command) and the
    /// same environment, to completion; returns its stdout, which is not logged (it may hold a
    /// token). Its stderr is appended to the log.
    pub async fn run_once(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.output(args).await?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Like [`Service::run_once`] for a command whose stdout is its log (the sweeper's
    /// `--once`): stdout is appended to the log too.
    pub async fn run_logged(&self, args: &[&str]) -> anyhow::Result<()> {
        let out = self.output(args).await?;
        self.append(&out)
    }

    async fn output(&self, args: &[&str]) -> anyhow::Result<Vec<u8>> {
        let spec = Spec {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            ..self.spec.clone()
        };
        let out = command(&spec, &self.log)?
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .await
            .with_context(|| format!("while running {} {args:?}", self.spec.name))?;
        self.append(&out.stderr)?;
        anyhow::ensure!(
            out.status.success(),
            "{} {args:?} failed ({}): {}",
            self.spec.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(out.stdout)
    }

    fn append(&self, bytes: &[u8]) -> anyhow::Result<()> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        log.write_all(bytes)?;
        Ok(())
    }
}

fn command(spec: &Spec, log: &Path) -> anyhow::Result<Command> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("while opening {}", log.display()))?;
    let mut command = Command::new(&spec.binary);
    command
        .args(&spec.args)
        .env_clear()
        .envs(
            // Agent reuse is off by default; setting it for the suite runs the stack with it.
            ["PATH", "HOME", "ANTPATH_LIMITS__AGENT_CACHE_IDLE_SECONDS"]
                .into_iter()
                .filter_map(|name| std::env::var_os(name).map(|value| (name.to_owned(), value))),
        )
        .envs(spec.env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .kill_on_drop(true);
    Ok(command)
}

fn run(spec: &Spec, log: &Path) -> anyhow::Result<Child> {
    command(spec, log)?
        .spawn()
        .with_context(|| format!("while starting {}", spec.name))
}

/// Every log file under `logs`, with its text.
pub fn read_logs(logs: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(logs)? {
        let path = entry?.path();
        let bytes = std::fs::read(&path)?;
        out.push((
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    out.sort();
    Ok(out)
}
