//! Who may see what: another workspace's pages are not found, a disabled person's session
//! ends, and guessing passwords is throttled.

use antpath_browser_tests::stack::Stack;

use crate::signed_in;

#[tokio::test]
async fn another_workspaces_run_output_and_token_are_not_found_by_url() {
    let stack = Stack::up();
    let own = stack.submit(stack.owner.token(), "own", "scenario=happy");
    let other = stack.workspace("other", None);
    let theirs = stack.submit(other.token(), "theirs", "scenario=happy files=1");
    stack
        .wait_for_status(other.token(), &theirs, &["succeeded"])
        .await;
    let outputs = stack
        .cli(other.token(), &["runs", "outputs", &theirs, "--json"])
        .json();
    let output = outputs["outputs"][0]["id"]
        .as_str()
        .expect("their output")
        .to_owned();
    let tokens = stack
        .cli(other.token(), &["tokens", "list", "--json"])
        .json();
    let their_token = tokens["data"][0]["id"]
        .as_str()
        .expect("their token")
        .to_owned();

    let browser = signed_in(&stack, &stack.owner).await;
    browser.goto(&format!("/runs/{own}")).await;
    assert_eq!(browser.status().await, 200, "one's own run opens");
    let csrf = browser.csrf().await;

    for path in [
        format!("/runs/{theirs}"),
        format!("/runs/{theirs}/outputs/{output}/download"),
        format!("/runs/{theirs}/cancel"),
        format!("/runs/{theirs}/delete"),
    ] {
        browser.goto(&path).await;
        assert_eq!(browser.status().await, 404, "{path} is not found");
        assert_eq!(browser.path().await, path, "{path} leads nowhere else");
        let page = browser.page_text().await;
        assert!(
            !page.contains(&theirs) || path.ends_with("/download"),
            "{path} does not show the run: {page}"
        );
    }
    for path in [
        format!("/tokens/{their_token}/revoke"),
        format!("/runs/{theirs}/cancel"),
        format!("/runs/{theirs}/delete"),
    ] {
        assert_eq!(
            browser.post_form(&path, &[("csrf", &csrf)]).await,
            404,
            "POST {path} is not found"
        );
    }
    let still = stack.cli(other.token(), &["whoami", "--json"]);
    assert_eq!(still.code, 0, "their token was not revoked: {still}");
    assert_eq!(stack.run(other.token(), &theirs)["status"], "succeeded");
    browser.goto("/tokens").await;
    let listed = browser.page_text().await;
    assert!(
        !listed.contains(&other.email),
        "their tokens are not listed here: {listed}"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_disabled_persons_session_ends_and_ten_wrong_passwords_in_a_row_are_throttled() {
    // Two sign-ins a minute per email: the member's own two sign-ins fit, and the guessed
    // email's bucket, empty after its second try, refills only after 30 s, so the throttle
    // still holds when the right password comes, however slowly the browser steps run.
    let stack = Stack::up_with(&[("ANTPATH_LIMITS__SIGN_IN_PER_MINUTE", "2")]);
    let member = stack.person(&stack.owner.workspace, "member", false);
    let browser = signed_in(&stack, &member).await;
    stack.admin(&["disable-user", "--email", &member.email], None, &[]);
    browser.goto("/runs").await;
    assert!(
        browser.path().await.starts_with("/sign-in"),
        "the disabled person's next page is the sign-in page"
    );
    browser.sign_in(&member.email, &member.password).await;
    assert_eq!(browser.status().await, 401, "and they cannot sign in again");

    let guessed = stack.person(&stack.owner.workspace, "member", false);
    let mut statuses = Vec::new();
    for attempt in 1..=10 {
        browser
            .sign_in(&guessed.email, &format!("wrong-{attempt}"))
            .await;
        statuses.push(browser.status().await);
    }
    assert_eq!(
        statuses[0], 401,
        "a wrong password is told so: {statuses:?}"
    );
    assert_eq!(
        statuses[9], 429,
        "the tenth try in a row is throttled: {statuses:?}"
    );
    let page = browser.page_text().await;
    assert!(
        page.contains("Too many sign-in attempts"),
        "the page says so: {page}"
    );
    browser.sign_in(&guessed.email, &guessed.password).await;
    assert_eq!(
        browser.status().await,
        429,
        "while throttled even the right password waits"
    );
    assert!(browser.path().await.starts_with("/sign-in"));

    browser
        .sign_in(&stack.owner.email, &stack.owner.password)
        .await;
    assert_eq!(
        browser.path().await,
        "/runs",
        "other people still sign in from the same address: {}",
        browser.page_text().await
    );
    browser.close().await;
}
