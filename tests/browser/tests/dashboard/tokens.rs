//! API tokens made and revoked on the tokens page, used from the CLI.

use antpath_browser_tests::browser::PAGE_TIMEOUT;
use antpath_browser_tests::eventually;
use antpath_browser_tests::stack::Stack;

use crate::signed_in;

#[tokio::test]
async fn a_token_created_on_the_tokens_page_works_from_the_cli_until_it_is_revoked_there() {
    let stack = Stack::up();
    let id = stack.submit(stack.owner.token(), "listed", "scenario=happy");
    let browser = signed_in(&stack, &stack.owner).await;

    browser.goto("/tokens").await;
    browser
        .type_into("form[action='/tokens'] input[name=name]", "from-the-page")
        .await;
    browser
        .click("form[action='/tokens'] input[name=scope_runs_write]")
        .await;
    browser
        .click_through("form[action='/tokens'] button[type=submit]")
        .await;
    let shown = browser.find("#new-token").await;
    let token = shown
        .prop("value")
        .await
        .expect("the new token's field")
        .expect("a value");
    assert!(
        token.starts_with("ant_"),
        "the page shows the new token once: {token}"
    );
    let page = browser.page_text().await;
    assert!(
        page.contains("runs:read")
            && page.contains("runs:write")
            && !page.contains("tokens:manage"),
        "the page shows the scopes that were ticked: {page}"
    );
    browser.click("button[data-copy='new-token']").await;
    let copied = "return !document.querySelector(\"[data-copied-for='new-token']\").hidden \
        || document.activeElement.id === 'new-token';";
    eventually(
        "the copy button to copy the token or select it for copying",
        PAGE_TIMEOUT,
        || async { (browser.try_js(copied).await? == true).then_some(()) },
    )
    .await;

    let listed = stack.cli(&token, &["runs", "list", "--json"]);
    assert_eq!(listed.code, 0, "the new token works from the CLI: {listed}");
    assert!(
        listed.stdout.contains(&id),
        "and sees the workspace's runs: {listed}"
    );

    browser.goto("/tokens").await;
    let row = "//table[contains(@class,'tokens')]//tr[td[1][normalize-space()='from-the-page']]";
    browser
        .click_through_xpath(&format!("{row}//form[contains(@action,'/revoke')]//button"))
        .await;
    assert_eq!(browser.path().await, "/tokens");
    let rows = browser.texts("table.tokens tbody tr").await;
    let revoked = rows
        .iter()
        .find(|r| r.starts_with("from-the-page"))
        .expect("the token is still listed");
    assert!(revoked.contains("revoked"), "and shown revoked: {revoked}");

    let refused = stack.cli(&token, &["runs", "list", "--json"]);
    assert_ne!(refused.code, 0, "the revoked token is refused: {refused}");
    assert!(
        refused.stderr.to_lowercase().contains("auth"),
        "with an authentication error: {refused}"
    );
    assert!(
        !refused.stderr.contains(&token),
        "without echoing the token: {refused}"
    );
    browser.close().await;
}
