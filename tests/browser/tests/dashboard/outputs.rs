//! A run's outputs on its page: the download links, and the files a storage cap kept out.

use antpath_browser_tests::stack::Stack;
use reqwest::header;
use sha2::{Digest, Sha256};

use crate::signed_in;

#[tokio::test]
async fn a_downloaded_output_has_the_bytes_the_api_reports_and_a_capped_workspace_says_which_file_it_skipped()
 {
    let stack = Stack::up();
    let token = stack.owner.token();
    let id = stack.submit(token, "two-files", "scenario=happy files=2 size=3000");
    stack.wait_for_status(token, &id, &["succeeded"]).await;
    let listed = stack.cli(token, &["runs", "outputs", &id, "--json"]);
    assert_eq!(listed.code, 0, "{listed}");
    let api_outputs = listed.json()["outputs"]
        .as_array()
        .cloned()
        .expect("outputs");
    assert_eq!(api_outputs.len(), 2, "{listed}");

    let browser = signed_in(&stack, &stack.owner).await;
    browser.goto(&format!("/runs/{id}")).await;
    let session = browser.cookie("antpath_session").await;
    let http = reqwest::Client::new();
    for output in &api_outputs {
        let output_id = output["id"].as_str().expect("an output id");
        let link = format!("a[href='/runs/{id}/outputs/{output_id}/download']");
        assert_eq!(
            browser.text(&link).await,
            "Download",
            "the page offers a download of {output}"
        );
        let href = browser.attr(&link, "href").await.expect("a link target");
        // What a click fetches, with the browser's session: the bff answers 303 to a signed
        // link, which is followed.
        let response = http
            .get(stack.url(href.trim_start_matches(&stack.base_url)))
            .header(header::COOKIE, format!("antpath_session={session}"))
            .send()
            .await
            .expect("follow the download link");
        assert!(
            response.status().is_success(),
            "download: {}",
            response.status()
        );
        let bytes = response.bytes().await.expect("the file's bytes");
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            output["sha256"],
            "the downloaded bytes are the ones the API reports"
        );
    }
    let without_session = http
        .get(stack.url(&format!(
            "/runs/{id}/outputs/{}/download",
            api_outputs[0]["id"].as_str().expect("an output id")
        )))
        .send()
        .await
        .expect("a download without a session");
    assert!(
        without_session.url().path().starts_with("/sign-in"),
        "without a session the link leads to the sign-in page, not the file"
    );

    // A second workspace whose cap holds one 5 kB file of two; its owner is the same person.
    let capped = stack.workspace("capped", Some(6000));
    stack.admin(
        &[
            "add-member",
            "--workspace",
            &capped.workspace,
            "--email",
            &stack.owner.email,
            "--role",
            "owner",
        ],
        None,
        &[],
    );
    let big = stack.submit(
        capped.token(),
        "big-files",
        "scenario=happy files=2 size=5000",
    );
    stack
        .wait_for_status(capped.token(), &big, &["succeeded", "failed"])
        .await;

    browser.goto("/runs").await;
    let switcher = browser.find("#workspace-switch").await;
    switcher
        .select_by_value(&capped.workspace)
        .await
        .expect("choose the capped workspace");
    browser
        .click_through("form[action='/workspace/switch'] button[type=submit]")
        .await;
    browser.goto(&format!("/runs/{big}")).await;
    let captured = browser.texts("table.outputs td.filename").await;
    let skipped = browser.texts(".failures .failure-line").await;
    assert_eq!(
        captured.len(),
        1,
        "one file fits under the cap: {captured:?}"
    );
    assert_eq!(
        skipped.len(),
        1,
        "the other is listed as skipped: {skipped:?}"
    );
    let other = if captured[0] == "output-000.txt" {
        "output-001.txt"
    } else {
        "output-000.txt"
    };
    assert!(
        skipped[0].starts_with(&format!("{other} (5.0 kB) — skipped: ")),
        "the skipped file reads as name (size) — skipped: reason: {skipped:?}"
    );
    assert!(
        skipped[0].contains("storage cap"),
        "the reason names the storage cap: {skipped:?}"
    );

    browser.goto("/workspace").await;
    let page = browser.page_text().await;
    assert!(
        page.contains("5.0 kB of 6.0 kB"),
        "the storage bar shows the use: {page}"
    );
    browser.close().await;
}
