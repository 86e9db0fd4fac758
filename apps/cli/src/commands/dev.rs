//! `antpath dev up|down|status`: the local stack for trying antpath on one machine.
//!
//! `up` starts the provider simulator, bff, worker and sweeper as background processes on
//! embedded defaults (the local Postgres, a storage directory, the simulator as the provider),
//! bootstraps a workspace, its owner (a dashboard user with a generated password) and a token
//! once, and prints `export …` lines (the API address and token, the dashboard address and the
//! owner's sign-in), so
//! `eval "$(antpath dev up)"` prepares a shell. Everything it keeps (generated keys, the token,
//! pids, ports, logs) lives in one state folder (`./.antpath`, or `ANTPATH_DEV_DIR`), which the
//! next `up` reuses. The service binaries are looked up next to this executable (or in
//! `ANTPATH_DEV_BIN_DIR`).

use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rand::RngCore;

use crate::cli::DevCommand;
use crate::failure::{Failure, OK};

/// The services, in start order.
const SERVICES: [&str; 4] = ["sim", "bff", "worker", "sweeper"];
/// How long a service may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The database `up` creates on the local server when `DATABASE_URL` is unset.
const LOCAL_DATABASE: &str = "antpath_local";

/// Runs a `dev` subcommand.
pub async fn execute(command: &DevCommand) -> Result<u8, Failure> {
    let stack = Stack::locate()?;
    match command {
        DevCommand::Up => stack.up().await,
        DevCommand::Down => stack.down(),
        DevCommand::Status => stack.status(),
    }
}

/// Where the stack's binaries and state are.
struct Stack {
    bin_dir: PathBuf,
    state: PathBuf,
}

impl Stack {
    fn locate() -> Result<Self, Failure> {
        let bin_dir = match std::env::var_os("ANTPATH_DEV_BIN_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(Path::to_path_buf))
                .ok_or_else(|| Failure::Internal("cannot find this executable's folder".into()))?,
        };
        let state = std::env::var_os("ANTPATH_DEV_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".antpath"));
        for dir in ["logs", "run", "storage"] {
            fs::create_dir_all(state.join(dir))
                .map_err(|e| io_failure("create the state folder", &e))?;
        }
        Ok(Self { bin_dir, state })
    }

    fn binary(&self, name: &str) -> Result<PathBuf, Failure> {
        let path = self.bin_dir.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(Failure::usage(format!(
                "{name} was not found in {}: build the stack with `cargo build --workspace --bins` \
                 or set ANTPATH_DEV_BIN_DIR",
                self.bin_dir.display()
            )))
        }
    }

    async fn up(&self) -> Result<u8, Failure> {
        let database_url = ensure_database()?;
        let keys = self.keys()?;
        let ports = self.ports()?;
        let sim_url = format!("http://127.0.0.1:{}", ports[0]);
        let bff_url = format!("http://127.0.0.1:{}", ports[1]);
        let worker_health = format!("http://127.0.0.1:{}", ports[2]);
        let storage = self.state.join("storage");
        let mut env: Vec<(String, String)> = keys;
        env.extend([
            ("DATABASE_URL".into(), database_url),
            ("ANTPATH_PROVIDER__BASE_URL".into(), sim_url.clone()),
            (
                "ANTPATH_BFF__LISTEN".into(),
                format!("127.0.0.1:{}", ports[1]),
            ),
            ("ANTPATH_BFF__PUBLIC_BASE_URL".into(), bff_url.clone()),
            ("ANTPATH_WORKER__ID".into(), "local-worker-1".into()),
            (
                "ANTPATH_WORKER__HEALTH_LISTEN".into(),
                format!("127.0.0.1:{}", ports[2]),
            ),
            (
                "ANTPATH_STORAGE__LOCAL_DIR".into(),
                storage.display().to_string(),
            ),
            // Snappy polling suits a laptop demo; production keeps the conservative defaults.
            ("ANTPATH_LIMITS__POLL_BASE_MS".into(), "200".into()),
            ("ANTPATH_LIMITS__POLL_MAX_MS".into(), "1000".into()),
            ("ANTPATH_SWEEPER__INTERVAL_SECONDS".into(), "10".into()),
        ]);

        let bff = self.binary("antpath-bff")?;
        let migrate = Command::new(&bff).arg("migrate").envs(env.clone()).output();
        match migrate {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                return Err(Failure::Internal(format!(
                    "migrating the database failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            Err(e) => return Err(io_failure("run antpath-bff migrate", &e)),
        }

        let commands: [(&str, PathBuf, Vec<String>); 4] = [
            (
                "sim",
                self.binary("antpath-sim")?,
                vec!["--listen".into(), format!("127.0.0.1:{}", ports[0])],
            ),
            ("bff", bff.clone(), vec!["serve".into()]),
            ("worker", self.binary("antpath-worker")?, Vec::new()),
            ("sweeper", self.binary("antpath-sweeper")?, Vec::new()),
        ];
        for (name, binary, args) in commands {
            if self.pid_alive(name) {
                continue;
            }
            self.spawn(name, &binary, &args, &env)?;
        }
        let client = reqwest::Client::new();
        wait_ready(
            &client,
            &format!("{sim_url}/__sim/resources"),
            "the simulator",
        )
        .await?;
        wait_ready(&client, &format!("{bff_url}/readyz"), "the bff").await?;
        wait_ready(&client, &format!("{worker_health}/readyz"), "the worker").await?;

        let local = self.bootstrap(&bff, &env)?;
        println!("export ANTPATH_BASE_URL={bff_url}");
        println!("export ANTPATH_API_TOKEN={}", local.token);
        println!("export ANTPATH_SIM_URL={sim_url}");
        println!("export ANTPATH_DASHBOARD_URL={bff_url}/");
        println!("export ANTPATH_DASHBOARD_EMAIL={}", local.email);
        println!("export ANTPATH_DASHBOARD_PASSWORD={}", local.password);
        eprintln!(
            "antpath dev: stack ready (logs in {})",
            self.state.join("logs").display()
        );
        eprintln!(
            "antpath dev: dashboard at {bff_url}/ — sign in as {} with password {}",
            local.email, local.password
        );
        Ok(OK)
    }

    fn down(&self) -> Result<u8, Failure> {
        for name in SERVICES.iter().rev() {
            if let Some(pid) = self.pid(name)
                && self.pid_alive(name)
            {
                signal(pid, "TERM");
                let deadline = Instant::now() + Duration::from_secs(10);
                while self.pid_alive(name) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(100));
                }
                if self.pid_alive(name) {
                    signal(pid, "KILL");
                }
                eprintln!("stopped {name}");
            }
            let _ = fs::remove_file(self.state.join("run").join(format!("{name}.pid")));
        }
        Ok(OK)
    }

    fn status(&self) -> Result<u8, Failure> {
        for name in SERVICES {
            match self.pid(name).filter(|_| self.pid_alive(name)) {
                Some(pid) => println!("{name}: running (pid {pid})"),
                None => println!("{name}: stopped"),
            }
        }
        Ok(OK)
    }

    /// Keys are generated once and kept: the database's tokens and sealed bundles stay valid.
    fn keys(&self) -> Result<Vec<(String, String)>, Failure> {
        let path = self.state.join("dev.env");
        if !path.exists() {
            let text = format!(
                "ANTPATH_BFF__TOKEN_PEPPER={}\nANTPATH_ENCRYPTION__ACTIVE_KEY_ID=local1\n\
                 ANTPATH_ENCRYPTION__KEYS__LOCAL1={}\nANTPATH_STORAGE__SIGNING_KEY={}\n",
                random_key(),
                random_key(),
                random_key()
            );
            write_private(&path, &text)?;
        }
        let text = fs::read_to_string(&path).map_err(|e| io_failure("read dev.env", &e))?;
        Ok(text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }

    /// Ports of a running stack are reused; a stopped stack gets fresh free ones.
    fn ports(&self) -> Result<[u16; 3], Failure> {
        let path = self.state.join("run").join("ports");
        if self.pid_alive("bff")
            && let Ok(text) = fs::read_to_string(&path)
        {
            let ports: Vec<u16> = text
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            if let [sim, bff, worker] = ports[..] {
                return Ok([sim, bff, worker]);
            }
        }
        let ports = [free_port()?, free_port()?, free_port()?];
        fs::write(&path, format!("{} {} {}", ports[0], ports[1], ports[2]))
            .map_err(|e| io_failure("record the ports", &e))?;
        Ok(ports)
    }

    fn spawn(
        &self,
        name: &str,
        binary: &Path,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<(), Failure> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.state.join("logs").join(format!("{name}.log")))
            .map_err(|e| io_failure("open a log file", &e))?;
        let err_log = log
            .try_clone()
            .map_err(|e| io_failure("open a log file", &e))?;
        let child = Command::new(binary)
            .args(args)
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            // Its own process group: a Ctrl-C in this shell must not stop the stack.
            .process_group(0)
            .spawn()
            .map_err(|e| io_failure(&format!("start {name}"), &e))?;
        fs::write(
            self.state.join("run").join(format!("{name}.pid")),
            child.id().to_string(),
        )
        .map_err(|e| io_failure("record a pid", &e))
    }

    /// Creates the local workspace, its owner (who signs in to the dashboard with a generated
    /// password) and an API token, once per state folder; later calls read them back.
    fn bootstrap(&self, bff: &Path, env: &[(String, String)]) -> Result<Bootstrap, Failure> {
        let token_path = self.state.join("token");
        let person_path = self.state.join("dashboard-user");
        if let (Ok(token), Ok(person)) = (
            fs::read_to_string(&token_path),
            fs::read_to_string(&person_path),
        ) && let Some((email, password)) = person.trim().split_once('\n')
        {
            return Ok(Bootstrap {
                token: token.trim().to_owned(),
                email: email.to_owned(),
                password: password.to_owned(),
            });
        }
        let admin = |args: &[&str], stdin: Option<&str>, prefix: &str| -> Result<String, Failure> {
            let mut child = Command::new(bff)
                .arg("admin")
                .args(args)
                .envs(env.iter().cloned())
                .stdin(if stdin.is_some() {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| io_failure("run antpath-bff admin", &e))?;
            if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
                use std::io::Write as _;
                pipe.write_all(text.as_bytes())
                    .map_err(|e| io_failure("write to antpath-bff admin", &e))?;
            }
            let out = child
                .wait_with_output()
                .map_err(|e| io_failure("run antpath-bff admin", &e))?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            stdout
                .split(|c: char| c.is_whitespace() || c == '"' || c == ',')
                .find(|word| word.starts_with(prefix))
                .map(str::to_owned)
                .ok_or_else(|| {
                    Failure::Internal(format!(
                        "bootstrap step `{}` failed: {}",
                        args.first().copied().unwrap_or("admin"),
                        String::from_utf8_lossy(&out.stderr).trim()
                    ))
                })
        };
        let workspace = admin(&["create-workspace", "--name", "local"], None, "ws_")?;
        // A fresh state folder may meet a database that already has a local user (the folder
        // was deleted, or another stack shares the database): each bootstrap gets its own.
        let email = format!("dev-{:08x}@localhost", rand::thread_rng().next_u32());
        let password = random_password();
        let user = admin(
            &[
                "create-user",
                "--email",
                &email,
                "--workspace",
                &workspace,
                "--role",
                "owner",
                "--password-stdin",
            ],
            Some(&password),
            "usr_",
        )?;
        let token = admin(
            &[
                "create-token",
                "--workspace",
                &workspace,
                "--user",
                &user,
                "--name",
                "local",
                "--scopes",
                "runs:read,runs:write,tokens:manage",
            ],
            None,
            "ant_",
        )?;
        write_private(&person_path, &format!("{email}\n{password}"))?;
        write_private(&token_path, &token)?;
        Ok(Bootstrap {
            token,
            email,
            password,
        })
    }

    fn pid(&self, name: &str) -> Option<u32> {
        fs::read_to_string(self.state.join("run").join(format!("{name}.pid")))
            .ok()
            .and_then(|text| text.trim().parse().ok())
    }

    fn pid_alive(&self, name: &str) -> bool {
        self.pid(name)
            .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid))
    }
}

/// `DATABASE_URL` if set; otherwise the local server's `antpath_local` database, created (and
/// the server started) when missing.
fn ensure_database() -> Result<String, Failure> {
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.is_empty()
    {
        return Ok(url);
    }
    let ready = || {
        Command::new("pg_isready")
            .args(["-h", "127.0.0.1", "-q"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ready() {
        let version = fs::read_dir("/etc/postgresql")
            .ok()
            .and_then(|dirs| dirs.filter_map(|d| d.ok()).map(|d| d.file_name()).max())
            .ok_or_else(|| Failure::usage("no PostgreSQL found: start one or set DATABASE_URL"))?;
        let _ = Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect"])
            .arg(version)
            .args(["main", "start"])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while !ready() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let psql = |sql: &str| {
        Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-qtAc",
                sql,
            ])
            .output()
    };
    let exists = psql(&format!(
        "select 1 from pg_database where datname = '{LOCAL_DATABASE}'"
    ))
    .map_err(|e| io_failure("run psql", &e))?;
    if !String::from_utf8_lossy(&exists.stdout).contains('1') {
        let created = psql(&format!("create database {LOCAL_DATABASE}"))
            .map_err(|e| io_failure("run psql", &e))?;
        if !created.status.success() {
            return Err(Failure::usage(format!(
                "could not create the local database: {}; set DATABASE_URL instead",
                String::from_utf8_lossy(&created.stderr).trim()
            )));
        }
    }
    Ok(format!(
        "postgres://postgres@127.0.0.1:5432/{LOCAL_DATABASE}"
    ))
}

async fn wait_ready(client: &reqwest::Client, url: &str, what: &str) -> Result<(), Failure> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(response) = client.get(url).timeout(Duration::from_secs(2)).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Failure::Internal(format!(
                "{what} did not become ready at {url}; see the logs under .antpath/logs"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The local user and token `up` prints.
struct Bootstrap {
    token: String,
    email: String,
    password: String,
}

/// A password for the local dashboard user: 20 characters from an alphabet without look-alikes
/// (about 115 bits).
fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| char::from(ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()]))
        .collect()
}

fn random_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn free_port() -> Result<u16, Failure> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| io_failure("find a free port", &e))
}

fn write_private(path: &Path, text: &str) -> Result<(), Failure> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_failure("write the state folder", &e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| io_failure("write the state folder", &e))
}

fn is_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

fn io_failure(action: &str, error: &std::io::Error) -> Failure {
    Failure::Internal(format!("could not {action}: {error}"))
}
