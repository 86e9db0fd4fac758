//! A small in-memory stand-in for the antpath API (the shapes of `docs/api.md`), so the SDK
//! and the CLI can be tested without the real bff, database and worker.
//!
//! Runs advance one status per `GET /v1/runs/{id}` through a short script ending in
//! [`FakeConfig::final_status`], gaining one event per step; outputs appear once the run has
//! ended. Cleanup is `pending` until then, `running` for
//! [`FakeConfig::cleanup_running_reads`] reads of the ended run, then
//! [`FakeConfig::final_cleanup`]. Every request is recorded ([`FakeApi::requests`]) and failures can be injected
//! ([`FakeApi::inject`]). Submissions are checked with the real `validate_submission`.

mod routes;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use antpath_types::{CleanupState, RunStatus};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use state::{Fault, Recorded};

/// The token the fake accepts unless configured otherwise.
pub const TEST_TOKEN: &str = "ant_test_token_0123456789";

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The one accepted API token.
    pub token: String,
    /// Where every run ends.
    pub final_status: RunStatus,
    /// The files every run produces, by the provider's name. Served as `display_name`
    /// (control characters escaped) and, made path-safe, as `filename`; names may repeat.
    pub files: Vec<(String, Vec<u8>)>,
    /// Serve the provider's names unchanged as `filename`, as a careless server would.
    pub raw_filenames: bool,
    /// Report a wrong `sha256` for every output.
    pub corrupt_sha256: bool,
    /// File names reported as capture failures.
    pub capture_failures: Vec<String>,
    /// Keep runs in `provider_running` until cancelled.
    pub hold_running: bool,
    /// Where every run's cleanup ends.
    pub final_cleanup: CleanupState,
    /// How many reads of an ended run still show cleanup `running` (counting the read that
    /// first showed the terminal status); `u32::MAX` keeps it running.
    pub cleanup_running_reads: u32,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            token: TEST_TOKEN.to_owned(),
            final_status: RunStatus::Succeeded,
            files: vec![
                ("report.md".to_owned(), b"# Tide pools\n".repeat(100)),
                ("notes/extra.txt".to_owned(), b"extra".to_vec()),
            ],
            corrupt_sha256: false,
            raw_filenames: false,
            capture_failures: Vec::new(),
            hold_running: false,
            final_cleanup: CleanupState::Succeeded,
            cleanup_running_reads: 1,
        }
    }
}

/// A running fake API; stops when dropped.
pub struct FakeApi {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    state: Arc<Mutex<state::State>>,
    _shutdown: oneshot::Sender<()>,
}

impl FakeApi {
    /// Starts a fake with the default configuration.
    pub async fn start() -> Self {
        Self::start_with(FakeConfig::default()).await
    }

    /// Starts a fake on a free local port; it is ready to serve when this returns.
    pub async fn start_with(config: FakeConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let address = listener.local_addr().expect("local address");
        let base_url = format!("http://{address}");
        let state = Arc::new(Mutex::new(state::State::new(config, base_url.clone())));
        let app = routes::router(state.clone());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            base_url,
            state,
            _shutdown: shutdown,
        }
    }

    fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// The requests to paths starting with `prefix` (method included, as in `POST /v1/runs`).
    pub fn requests_to(&self, method: &str, prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.starts_with(prefix))
            .collect()
    }

    /// Makes the next matching requests fail (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Creates `count` ended runs directly, oldest first, for list tests.
    pub fn seed_runs(&self, count: usize) {
        let mut state = self.lock();
        for _ in 0..count {
            state.insert_finished_run();
        }
    }

    /// The status every run currently has, newest first.
    pub fn statuses(&self) -> Vec<RunStatus> {
        self.lock().runs.iter().rev().map(|r| r.status()).collect()
    }
}
