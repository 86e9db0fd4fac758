//! The dashboard seen through a real browser: headless Chromium driven over WebDriver
//! (`chromedriver`), against a whole local stack brought up with `antpath dev up` (simulator,
//! bff, worker, sweeper) on a fresh database.
//!
//! - [`stack`]: the stack, its bootstrap commands (`antpath-bff admin …`) and the CLI.
//! - [`browser`]: chromedriver, a browser session and the few page helpers the tests share.
//! - [`eventually`]: the one polling helper.
//!
//! The binaries are not built here: `cargo build --workspace --bins` must have run (as
//! `scripts/test` does), and Chromium and ChromeDriver must be installed (`scripts/setup`).

pub mod browser;
pub mod stack;

use std::future::Future;
use std::time::{Duration, Instant};

/// How often [`eventually`] looks again.
const POLL: Duration = Duration::from_millis(100);

/// Polls `check` until it gives a value, and panics naming `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}
