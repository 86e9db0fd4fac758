//! The dashboard in headless Chromium, against the real bff, worker, sweeper and simulator that
//! `antpath dev up` starts on a fresh database: what a person signing in sees and does.
//!
//! Each test brings up its own stack and browser and tears both down. They need
//! `cargo build --workspace --bins` first, and Chromium and ChromeDriver (`scripts/setup`).

mod access;
mod cancel;
mod outputs;
mod runs;
mod tokens;

use antpath_browser_tests::browser::Browser;
use antpath_browser_tests::stack::{Person, Stack};

/// A browser signed in as `person` on `stack`, on the runs page.
async fn signed_in(stack: &Stack, person: &Person) -> Browser {
    let browser = Browser::open(&stack.base_url).await;
    browser.sign_in(&person.email, &person.password).await;
    assert_eq!(
        browser.path().await,
        "/runs",
        "signing in lands on the runs page"
    );
    browser
}
