//! Running a real S3-compatible server, `s3s-fs`, for the length of one test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// Access key the test server accepts.
pub const ACCESS_KEY: &str = "antpath-test-access";
/// Secret key the test server accepts.
pub const SECRET_KEY: &str = "antpath-test-secret-key-0123456789";

/// Longest wait for the server to accept connections; it binds within milliseconds normally, so
/// this only guards against a wedged start on a loaded machine.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// Pause between connection attempts while waiting for start-up.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A running `s3s-fs` serving a fresh temp directory; killed when dropped.
pub struct S3sServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The directory the server stores buckets in.
    pub root: PathBuf,
    _child: Child,
    _dir: TempDir,
}

/// Where the `s3s-fs` binary is: `$ANTPATH_S3S_FS`, else the first `s3s-fs` on `PATH`.
fn locate_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ANTPATH_S3S_FS") {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("s3s-fs"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "the S3 tests need the `s3s-fs` binary, which is neither on PATH nor named by \
             $ANTPATH_S3S_FS. Install it with `scripts/install-s3s-fs` (it runs \
             `cargo install s3s-fs --version 0.14.1 --locked --features binary`), then re-run."
        )
    })
}

impl S3sServer {
    /// Starts the server on a free loopback port and waits until it accepts connections.
    pub async fn start() -> Self {
        let binary = locate_binary();
        let dir = tempfile::tempdir().expect("temp dir for s3s-fs");
        let root = dir.path().join("data");
        std::fs::create_dir(&root).expect("s3s-fs root");
        let log_path = dir.path().join("s3s-fs.log");
        let log = std::fs::File::create(&log_path).expect("s3s-fs log file");
        let addr = free_loopback_addr();

        let mut child = Command::new(&binary)
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(addr.port().to_string())
            .arg("--access-key")
            .arg(ACCESS_KEY)
            .arg("--secret-key")
            .arg(SECRET_KEY)
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {}: {err}", binary.display()));

        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some(status) = child.try_wait().expect("poll s3s-fs") {
                panic!(
                    "s3s-fs exited with {status} during start-up:\n{}",
                    read_log(&log_path)
                );
            }
            if TcpStream::connect(addr).await.is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "s3s-fs did not accept connections within {START_DEADLINE:?}:\n{}",
                read_log(&log_path)
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        Self {
            endpoint: format!("http://{addr}"),
            root,
            _child: child,
            _dir: dir,
        }
    }
}

/// A loopback address whose port was free a moment ago (the OS picks it).
fn free_loopback_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address")
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| format!("(log unreadable: {err})"))
}
