//! Makes the dashboard's screenshots (`docs/screenshots/*.png`): brings up a local stack,
//! submits a run that succeeds with outputs, one that keeps running and one that fails, signs
//! in and photographs the main pages in a 1280×900 window.
//!
//! Run it through `scripts/screenshots`, which builds the binaries it needs first. The one
//! argument is the folder to write into (default `docs/screenshots`).

use std::path::PathBuf;

use antpath_browser_tests::browser::Browser;
use antpath_browser_tests::stack::{Stack, workspace_root};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let out = std::env::args()
        .nth(1)
        .map_or_else(|| workspace_root().join("docs/screenshots"), PathBuf::from);
    std::fs::create_dir_all(&out).expect("create the screenshot folder");

    let stack = Stack::up();
    let token = stack.owner.token();
    let quickstart = stack.example("quickstart.json");
    let submitted = stack.cli(
        token,
        &["run", &quickstart, "--var", "topic=tide pools", "--json"],
    );
    assert_eq!(submitted.code, 0, "{submitted}");
    let succeeded = submitted.json()["id"]
        .as_str()
        .expect("a run id")
        .to_owned();
    let failed = stack.submit(
        token,
        "flaky-report",
        "scenario=terminated tools=1 size=900",
    );
    stack
        .wait_for_status(token, &succeeded, &["succeeded"])
        .await;
    stack.wait_for_status(token, &failed, &["failed"]).await;
    // Pictures of settled runs: cleanup finished, attempts closed.
    stack.wait_for_cleanup(token, &succeeded).await;
    stack.wait_for_cleanup(token, &failed).await;
    let running = stack.submit(token, "nightly-digest", "scenario=forever");
    stack
        .wait_for_status(token, &running, &["provider_running"])
        .await;

    let browser = Browser::open(&stack.base_url).await;
    browser.goto("/sign-in").await;
    browser.set_viewport(1280, 900).await;
    browser.screenshot(&out.join("sign-in.png")).await;
    browser
        .sign_in(&stack.owner.email, &stack.owner.password)
        .await;
    browser.find("table.runs").await;
    browser.screenshot(&out.join("runs.png")).await;
    browser.goto(&format!("/runs/{succeeded}")).await;
    browser.find("#outputs").await;
    // Taller, so the outputs and events below the timeline are in the picture too.
    browser.set_viewport(1280, 1600).await;
    browser.screenshot(&out.join("run-detail.png")).await;
    browser.set_viewport(1280, 900).await;
    browser.goto(&format!("/runs/{running}")).await;
    browser.find("#events-body tr").await;
    browser.screenshot(&out.join("run-live.png")).await;
    browser.goto("/tokens").await;
    browser.screenshot(&out.join("tokens.png")).await;
    browser.goto("/workspace").await;
    browser.screenshot(&out.join("workspace.png")).await;
    browser.close().await;
    eprintln!("screenshots written to {}", out.display());
}
