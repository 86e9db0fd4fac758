//! Signing in, the runs list, and a running run's page following it live.

use std::time::Duration;

use antpath_browser_tests::browser::{Browser, PAGE_TIMEOUT};
use antpath_browser_tests::eventually;
use antpath_browser_tests::stack::Stack;
use serde_json::Value;

/// Installed in a run's page: records, in `sessionStorage` (which outlives a reload), the
/// status badge and the number of event rows every time the run's part of the page changes.
/// The observer lives only in the document it was installed in, so every entry after the
/// first is a change made in place by the page's own script: a reload would have taken the
/// observer with the old document. Each entry also carries the marker set on `window`.
const WATCH_THE_RUN: &str = r##"
    const marker = "watch-" + Math.random().toString(36).slice(2);
    window.antpathTestMarker = marker;
    const note = () => {
        const log = JSON.parse(sessionStorage.getItem("antpath-test-log") || "[]");
        log.push({
            marker: window.antpathTestMarker,
            status: document.querySelector("#run-status").textContent.trim(),
            rows: document.querySelectorAll("#events-body tr").length,
        });
        sessionStorage.setItem("antpath-test-log", JSON.stringify(log));
    };
    sessionStorage.setItem("antpath-test-log", "[]");
    note();
    new MutationObserver(note).observe(document.querySelector(".run"),
        { subtree: true, childList: true, characterData: true });
    return marker;
"##;

#[tokio::test]
async fn signing_in_lists_the_runs_made_through_the_api_and_a_running_runs_page_follows_it_live() {
    let stack = Stack::up();
    let token = stack.owner.token();
    let quickstart = stack.example("quickstart.json");
    let listed = stack.cli(
        token,
        &["run", &quickstart, "--var", "topic=tide pools", "--json"],
    );
    assert_eq!(listed.code, 0, "{listed}");
    let first = listed.json()["id"].as_str().expect("a run id").to_owned();
    stack.wait_for_status(token, &first, &["succeeded"]).await;

    let browser = Browser::open(&stack.base_url).await;
    browser.goto("/runs").await;
    assert!(
        browser.path().await.starts_with("/sign-in"),
        "a signed-out person is sent to the sign-in page, not shown runs"
    );
    browser
        .sign_in(&stack.owner.email, &stack.owner.password)
        .await;
    assert_eq!(
        browser.path().await,
        "/runs",
        "signing in lands on the runs page"
    );
    let header = browser.text("header").await;
    assert!(
        header.contains(&stack.owner.email),
        "the header names who is signed in: {header}"
    );
    let row = browser
        .text(&format!("table.runs tr[data-run-id='{first}']"))
        .await;
    assert!(
        row.contains("succeeded") && row.contains("quickstart"),
        "the API's run is listed with its status and template: {row}"
    );

    // A run that takes a few seconds: the page is open before it ends.
    let slow = stack.submit(token, "slow", "scenario=slow seconds=3 files=1 size=256");
    browser.goto(&format!("/runs/{slow}")).await;
    let marker = browser.js(WATCH_THE_RUN).await;
    let log = eventually(
        "the run page's badge and events to change in place",
        Duration::from_secs(30),
        || async {
            let log = browser
                .try_js("return JSON.parse(sessionStorage.getItem('antpath-test-log') || '[]');")
                .await?;
            let entries = log.as_array()?.clone();
            let first = entries.first()?.clone();
            let changed = |key: &str, moved: &dyn Fn(&Value, &Value) -> bool| {
                entries.iter().any(|e| moved(&e[key], &first[key]))
            };
            (changed("status", &|a, b| a != b) && changed("rows", &|a, b| a.as_u64() > b.as_u64()))
                .then_some(entries)
        },
    )
    .await;
    assert!(
        log.iter().all(|entry| entry["marker"] == marker),
        "every change was seen by the document the marker was set in: {log:?}"
    );

    // At the end the page reloads once, by design, to show the outputs as captured.
    eventually("the run page to say succeeded", PAGE_TIMEOUT, || async {
        (browser.text("#run-status").await == "succeeded").then_some(())
    })
    .await;
    let outputs = browser.text("#outputs").await;
    assert!(
        outputs.contains("output-000.txt"),
        "the output is listed: {outputs}"
    );
    browser.close().await;
}
