//! The `admin` and `migrate` commands, run as the real binary against the test database.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use axum::http::{Method, StatusCode};

use crate::support::{PEPPER, TestApp};

fn database_url(pool: &sqlx::PgPool) -> String {
    let options = pool.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().expect("database")
    )
}

fn bff(url: &str, pepper: Option<&str>, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_antpath-bff"));
    command
        .args(args)
        .env_clear()
        .env("ANTPATH_DATABASE__URL", url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(pepper) = pepper {
        command.env("ANTPATH_BFF__TOKEN_PEPPER", pepper);
    }
    let mut child = command.spawn().expect("spawn antpath-bff");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write stdin");
    drop(input);
    child.wait_with_output().expect("wait")
}

fn stdout_line(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .expect("utf8")
        .trim()
        .to_owned()
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_admin_commands_bootstrap_a_workspace_user_and_a_working_token(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone());
    let url = database_url(&pool);
    let migrate = bff(&url, None, &["migrate"], None);
    stdout_line(&migrate);

    let workspace = stdout_line(&bff(
        &url,
        None,
        &["admin", "create-workspace", "--name", "Acme"],
        None,
    ));
    assert!(workspace.starts_with("ws_"), "{workspace}");
    let user = stdout_line(&bff(
        &url,
        None,
        &[
            "admin",
            "create-user",
            "--email",
            "ops@example.com",
            "--workspace",
            &workspace,
            "--role",
            "owner",
            "--password-stdin",
        ],
        Some("correct horse battery staple\n"),
    ));
    assert!(user.starts_with("usr_"), "{user}");
    let hash: Option<String> = sqlx::query_scalar("select password_hash from app_users")
        .fetch_one(&pool)
        .await
        .expect("user row");
    assert!(
        hash.as_deref().is_some_and(|h| h.starts_with("$argon2id$")),
        "{hash:?}"
    );

    let args = [
        "admin",
        "create-token",
        "--workspace",
        &workspace,
        "--user",
        &user,
        "--name",
        "ci",
        "--scopes",
        "runs:read,runs:write",
    ];
    let refused = bff(&url, None, &args, None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("ANTPATH_BFF__TOKEN_PEPPER"));

    let token = stdout_line(&bff(&url, Some(PEPPER), &args, None));
    assert!(token.starts_with("ant_") && token.len() == 47, "{token}");
    let whoami = app.call(Method::GET, "/v1/whoami", &token, None).await;
    assert_eq!(whoami.status, StatusCode::OK, "{}", whoami.body);
    assert_eq!(whoami.body["workspace"]["id"], workspace);
    assert_eq!(whoami.body["workspace"]["name"], "Acme");
    assert_eq!(
        whoami.body["token"]["scopes"],
        serde_json::json!(["runs:read", "runs:write"])
    );

    let bad_scope = bff(
        &url,
        Some(PEPPER),
        &[
            "admin",
            "create-token",
            "--workspace",
            &workspace,
            "--user",
            &user,
            "--name",
            "x",
            "--scopes",
            "root",
        ],
        None,
    );
    assert!(!bad_scope.status.success());
}

#[test]
fn serve_refuses_to_start_and_lists_every_missing_setting() {
    let output = Command::new(env!("CARGO_BIN_EXE_antpath-bff"))
        .arg("serve")
        .env_clear()
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for setting in [
        "DATABASE__URL",
        "TOKEN_PEPPER",
        "ACTIVE_KEY_ID",
        "SIGNING_KEY",
    ] {
        assert!(stderr.contains(setting), "{setting} missing from: {stderr}");
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_user_made_without_a_workspace_signs_in_once_added_and_not_after_being_disabled(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool.clone());
    let url = database_url(&pool);
    let tenant = app.tenant("acme").await;
    let password = "a long and private phrase";
    let user = stdout_line(&bff(
        &url,
        None,
        &[
            "admin",
            "create-user",
            "--email",
            "Viewer@Example.com",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    ));
    assert!(user.starts_with("usr_"), "{user}");

    let no_workspace = app.post_sign_in("viewer@example.com", password).await;
    assert_eq!(no_workspace.status, StatusCode::SEE_OTHER);
    let cookie = format!(
        "antpath_session={}",
        no_workspace.cookie("antpath_session").expect("cookie")
    );
    let refused = app.call_as(Method::GET, "/v1/runs", &cookie, None).await;
    assert_eq!(
        refused.status,
        StatusCode::UNAUTHORIZED,
        "a member of nothing sees nothing"
    );

    let bad_role = bff(
        &url,
        None,
        &[
            "admin",
            "add-member",
            "--workspace",
            &tenant.workspace.to_string(),
            "--email",
            "viewer@example.com",
            "--role",
            "superuser",
        ],
        None,
    );
    assert!(!bad_role.status.success());
    let added = stdout_line(&bff(
        &url,
        None,
        &[
            "admin",
            "add-member",
            "--workspace",
            &tenant.workspace.to_string(),
            "--email",
            "viewer@example.com",
            "--role",
            "viewer",
        ],
        None,
    ));
    assert_eq!(added, user);
    let runs = app.call_as(Method::GET, "/v1/runs", &cookie, None).await;
    assert_eq!(runs.status, StatusCode::OK, "{}", runs.body);

    let disabled = stdout_line(&bff(
        &url,
        None,
        &["admin", "disable-user", "--email", "viewer@example.com"],
        None,
    ));
    assert_eq!(disabled, user);
    let after = app.call_as(Method::GET, "/v1/runs", &cookie, None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    let unknown = bff(
        &url,
        None,
        &["admin", "disable-user", "--email", "nobody@example.com"],
        None,
    );
    assert!(!unknown.status.success());
}
