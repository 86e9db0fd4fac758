//! Shared set-up: a client for a fake API, a valid request.

use std::path::PathBuf;
use std::time::Duration;

use antpath_fake_api::{FakeApi, TEST_TOKEN};
use antpath_sdk::{Client, RetryPolicy, RunRequest, Template, WaitOptions};
use antpath_template::load_template;

/// Fast retries, so retry tests take milliseconds.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(5),
    }
}

/// A client of `fake` with fast retries.
pub fn client(fake: &FakeApi) -> Client {
    Client::builder(TEST_TOKEN)
        .base_url(&fake.base_url)
        .retry_policy(fast_retries())
        .build()
        .expect("client")
}

/// Polling fast enough for tests, with a deadline so a broken fake fails instead of hanging.
pub fn fast_wait() -> WaitOptions {
    WaitOptions {
        initial_interval: Duration::from_millis(2),
        max_interval: Duration::from_millis(10),
        timeout: Some(Duration::from_secs(10)),
        cleanup_grace: Duration::from_secs(10),
    }
}

/// A file of the repository's `examples/` folder.
pub fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

/// The quickstart example template.
pub fn quickstart() -> Template {
    load_template(&example("quickstart.json")).expect("quickstart example loads")
}

/// A valid request for the quickstart template.
pub fn request() -> RunRequest {
    RunRequest::new(&quickstart())
        .variable("topic", "tide pools")
        .anthropic_api_key("sk-ant-test")
}
