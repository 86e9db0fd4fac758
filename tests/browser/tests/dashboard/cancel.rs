//! Cancelling a run from its page: only for roles that may change runs, only with the
//! session's CSRF token, and only after a confirmation step.

use antpath_browser_tests::browser::{Browser, PAGE_TIMEOUT};
use antpath_browser_tests::eventually;
use antpath_browser_tests::stack::Stack;

#[tokio::test]
async fn a_viewer_cannot_cancel_a_run_a_form_without_csrf_is_refused_and_an_owner_cancels_after_confirming()
 {
    let stack = Stack::up();
    let token = stack.owner.token();
    let id = stack.submit(token, "forever", "scenario=forever");
    stack
        .wait_for_status(token, &id, &["provider_running"])
        .await;
    let run_page = format!("/runs/{id}");
    let cancel_page = format!("/runs/{id}/cancel");

    let viewer = stack.person(&stack.owner.workspace, "viewer", false);
    let browser = Browser::open(&stack.base_url).await;
    browser.sign_in(&viewer.email, &viewer.password).await;
    browser.goto(&run_page).await;
    assert_eq!(browser.status().await, 200, "a viewer may look at the run");
    assert!(
        !browser.has(&format!("a[href='{cancel_page}']")).await,
        "a viewer sees no cancel button"
    );
    let csrf = browser.csrf().await;
    assert_eq!(
        browser.post_form(&cancel_page, &[("csrf", &csrf)]).await,
        403,
        "a viewer's forged cancel, with a valid CSRF token, is refused"
    );
    browser.goto(&cancel_page).await;
    assert_eq!(
        browser.status().await,
        403,
        "nor does a viewer get the confirmation"
    );
    browser.goto("/runs").await;
    browser.sign_out().await;

    browser
        .sign_in(&stack.owner.email, &stack.owner.password)
        .await;
    browser.goto(&run_page).await;
    assert_eq!(
        browser.post_form(&cancel_page, &[]).await,
        403,
        "a POST without the CSRF token is refused"
    );
    assert_eq!(
        browser
            .post_form(&cancel_page, &[("csrf", "0".repeat(64).as_str())])
            .await,
        403,
        "a POST with another CSRF token is refused"
    );
    assert_eq!(
        stack.run(token, &id)["status"],
        "provider_running",
        "no refused request cancelled the run"
    );

    browser
        .click_through(&format!("a[href='{cancel_page}']"))
        .await;
    assert_eq!(browser.path().await, cancel_page, "cancelling asks first");
    let question = browser.page_text().await;
    assert!(
        question.contains(&id),
        "the confirmation names the run: {question}"
    );
    assert_eq!(
        stack.run(token, &id)["status"],
        "provider_running",
        "asking changed nothing"
    );
    browser
        .click_through(&format!("form[action='{cancel_page}'] button[type=submit]"))
        .await;
    assert_eq!(
        browser.path().await,
        run_page,
        "confirming goes back to the run"
    );
    eventually("the run page to say cancelled", PAGE_TIMEOUT, || async {
        (browser.text("#run-status").await == "cancelled").then_some(())
    })
    .await;
    assert_eq!(stack.run(token, &id)["status"], "cancelled");
    assert!(
        !browser.has(&format!("a[href='{cancel_page}']")).await,
        "an ended run offers no cancel button"
    );
    browser.close().await;
}
