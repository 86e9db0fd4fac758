//! Shared fixtures: settings for a test app, tenants with tokens, valid submissions, and
//! request helpers over `tower::ServiceExt::oneshot`.

use std::path::PathBuf;

use antpath_bff::AppState;
use antpath_bff::admin::{self, NewApiToken, NewUser};
use antpath_config::Settings;
use antpath_redact::Secret;
use antpath_types::{RunId, TokenId, UserId, WorkspaceId};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt as _;

/// A recognisable Anthropic key: nothing antpath prints or stores in clear may contain it.
pub const CANARY: &str = "sk-ant-api03-CANARY-5e1f0c7b9d2a4e6f8a0b1c3d5e7f9a2b";
/// A recognisable MCP bearer token.
pub const BEARER_CANARY: &str = "mcp-bearer-CANARY-3c9e11d4";
/// A recognisable variable value: it is prompt content, so it is sealed too.
pub const VARIABLE_CANARY: &str = "topic-CANARY-8b2f";
/// The token pepper of test apps.
pub const PEPPER: &str = "test-pepper-0123456789abcdef0123456789abcdef";
/// The storage signing key of test apps.
pub const SIGNING_KEY: &str = "test-signing-key-0123456789abcdef0123456789";
/// Base64 of 32 bytes: the active encryption key of test apps.
pub const ENCRYPTION_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

/// Settings for a test app storing outputs under `dir`, with `extra` environment on top.
pub fn settings(dir: &std::path::Path, extra: &[(&str, &str)]) -> Settings {
    let mut env = vec![
        (
            "ANTPATH_DATABASE__URL".to_owned(),
            "postgres://unused@127.0.0.1/unused".to_owned(),
        ),
        ("ANTPATH_BFF__TOKEN_PEPPER".into(), PEPPER.into()),
        ("ANTPATH_ENCRYPTION__ACTIVE_KEY_ID".into(), "k1".into()),
        ("ANTPATH_ENCRYPTION__KEYS__K1".into(), ENCRYPTION_KEY.into()),
        (
            "ANTPATH_STORAGE__LOCAL_DIR".into(),
            dir.display().to_string(),
        ),
        ("ANTPATH_STORAGE__SIGNING_KEY".into(), SIGNING_KEY.into()),
        ("ANTPATH_BFF__MAX_BODY_BYTES".into(), "65536".into()),
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let settings = Settings::load_from(None, env).expect("settings load");
    settings
        .validate(antpath_config::Role::Bff)
        .expect("valid bff settings");
    settings
}

/// An app over a test database.
pub struct TestApp {
    /// The state handlers see.
    pub state: AppState,
    /// The router.
    pub router: Router,
    /// The test database.
    pub pool: PgPool,
    /// The settings it was built from.
    pub settings: Settings,
    /// The local store's root (deleted on drop).
    pub _dir: tempfile::TempDir,
}

/// A workspace with a user and a token.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// Its owner.
    pub user: UserId,
    /// The token's id.
    pub token_id: TokenId,
    /// The token itself.
    pub token: String,
}

impl TestApp {
    /// An app with default limits.
    pub fn new(pool: PgPool) -> Self {
        Self::with_env(pool, &[])
    }

    /// An app with extra settings.
    pub fn with_env(pool: PgPool, extra: &[(&str, &str)]) -> Self {
        antpath_telemetry::testing::init_quiet();
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = settings(dir.path(), extra);
        let state =
            AppState::from_settings(&settings, pool.clone(), "http://127.0.0.1:9").expect("state");
        let router = antpath_bff::router(state.clone());
        Self {
            state,
            router,
            pool,
            settings,
            _dir: dir,
        }
    }

    /// A new workspace with an owner and a token holding every scope.
    pub async fn tenant(&self, name: &str) -> Tenant {
        self.tenant_with(name, &["runs:read", "runs:write", "tokens:manage"])
            .await
    }

    /// A new workspace with an owner and a token holding `scopes`.
    pub async fn tenant_with(&self, name: &str, scopes: &[&str]) -> Tenant {
        let workspace = admin::create_workspace(&self.pool, &self.settings.limits, name)
            .await
            .expect("workspace");
        let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
        let user = admin::create_user(
            &self.pool,
            NewUser {
                email: &email,
                membership: Some((workspace, antpath_types::Role::Owner)),
                password: None,
            },
        )
        .await
        .expect("user");
        let (token_id, token) = self.token(workspace, user, scopes).await;
        Tenant {
            workspace,
            user,
            token_id,
            token,
        }
    }

    /// Another token in an existing workspace.
    pub async fn token(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        scopes: &[&str],
    ) -> (TokenId, String) {
        let (id, value) = admin::create_token(
            &self.pool,
            &self.state.peppers,
            NewApiToken {
                workspace,
                user,
                name: "test",
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            },
        )
        .await
        .expect("token");
        (id, value.into_exposed())
    }

    /// Sends a request through the router.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `method uri` with the token and an optional JSON body.
    pub async fn call(&self, method: Method, uri: &str, token: &str, body: Option<Value>) -> Reply {
        self.send(request(method, uri, Some(token), body)).await
    }

    /// Submits `body` and expects 201; returns the run id.
    pub async fn submit_ok(&self, tenant: &Tenant, body: Value) -> String {
        let reply = self
            .call(Method::POST, "/v1/runs", &tenant.token, Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["id"].as_str().expect("id").to_owned()
    }

    /// Submits the quickstart [`submission`] and expects 201; returns the run's typed id.
    pub async fn submit_run(&self, tenant: &Tenant) -> RunId {
        self.submit_ok(tenant, submission())
            .await
            .parse()
            .expect("run id")
    }

    /// Serves this app's settings and pool over real HTTP on a fresh local port.
    pub async fn serve(&self) -> antpath_bff::Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        antpath_bff::start(&self.settings, self.pool.clone(), listener)
            .await
            .expect("start")
    }
}

/// A response, with the body read as JSON (or a JSON string of the raw text).
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Value,
}

impl Reply {
    /// Asserts the error shape with `status` and `error_type`; returns the error object.
    pub fn assert_error(&self, status: StatusCode, error_type: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        let error = &self.body["error"];
        assert_eq!(error["type"], error_type, "{}", self.body);
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            self.body
        );
        let request_id = error["request_id"].as_str().expect("request id in body");
        let header = self
            .headers
            .get("x-request-id")
            .expect("x-request-id header");
        assert_eq!(header.to_str().expect("ascii"), request_id);
        error
    }

    /// The paths of the error's details.
    pub fn detail_paths(&self) -> Vec<String> {
        self.body["error"]["details"]
            .as_array()
            .map(|d| {
                d.iter()
                    .map(|d| d["path"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Builds a request.
pub fn request(
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("request")
}

/// The quickstart template vector.
pub fn quickstart() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vectors/templates/quickstart.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("vector")).expect("json")
}

/// A valid submission carrying the canaries, without an idempotency key.
pub fn submission() -> Value {
    json!({
        "template": quickstart(),
        "variables": {"topic": VARIABLE_CANARY},
        "secrets": {
            "anthropic": {"apiKey": CANARY},
            "mcpServers": {"docs": {"bearerToken": BEARER_CANARY}}
        },
        "cleanup": {"claudeSession": "delete"},
        "limits": {"maxDurationSeconds": 300}
    })
}

/// [`submission`] with an idempotency key in the body.
pub fn submission_with_key(key: &str) -> Value {
    let mut body = submission();
    body["idempotencyKey"] = json!(key);
    body
}

/// The password of users made by [`TestApp::person`].
pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// A user who signs in with [`PASSWORD`], a member of `workspace` with `role`.
    pub async fn person(
        &self,
        workspace: WorkspaceId,
        role: antpath_types::Role,
    ) -> (UserId, String) {
        let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
        let user = admin::create_user(
            &self.pool,
            NewUser {
                email: &email,
                membership: Some((workspace, role)),
                password: Some(Secret::new(PASSWORD.to_owned())),
            },
        )
        .await
        .expect("user");
        (user, email)
    }

    /// Opens the sign-in page: the form's CSRF value and the cookie that must come back with it.
    pub async fn sign_in_form(&self) -> (String, String) {
        let page = self
            .send(request(Method::GET, "/sign-in", None, None))
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.body.as_str().expect("html").to_owned();
        let csrf = hidden_field(&html, "csrf");
        let cookie = page.cookie("antpath_sign_in").expect("sign-in cookie");
        (csrf, format!("antpath_sign_in={cookie}"))
    }

    /// Posts the sign-in form with `email` and `password`.
    pub async fn post_sign_in(&self, email: &str, password: &str) -> Reply {
        let (csrf, cookie) = self.sign_in_form().await;
        let body = serde_urlencoded::to_string([
            ("email", email),
            ("password", password),
            ("csrf", &csrf),
            ("next", "/runs"),
        ])
        .expect("form");
        self.send(form_request("/sign-in", &cookie, body)).await
    }

    /// Signs in and returns the `Cookie` header value of the session.
    pub async fn sign_in(&self, email: &str) -> String {
        let reply = self.post_sign_in(email, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let value = reply.cookie("antpath_session").expect("session cookie");
        format!("antpath_session={value}")
    }

    /// `method uri` with a session cookie (and the CSRF header when given).
    pub async fn call_as(
        &self,
        method: Method,
        uri: &str,
        cookie: &str,
        csrf: Option<&str>,
    ) -> Reply {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header("cookie", cookie);
        if let Some(csrf) = csrf {
            builder = builder.header("x-csrf-token", csrf);
        }
        self.send(builder.body(Body::empty()).expect("request"))
            .await
    }
}

/// A urlencoded POST with a cookie.
pub fn form_request(uri: &str, cookie: &str, body: String) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(Body::from(body))
        .expect("request")
}

/// The value of the hidden input `name` in a page.
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_owned()
}

impl Reply {
    /// The value a `Set-Cookie` header of the reply gives cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookie(name)
            .and_then(|line| line.split(';').next().map(str::to_owned))
            .and_then(|pair| pair.split_once('=').map(|(_, v)| v.to_owned()))
    }

    /// The whole `Set-Cookie` line of cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|line| line.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }
}

/// A person's browser on the dashboard: their session cookie, and the CSRF token their forms
/// carry.
pub struct Browser {
    router: Router,
    cookie: String,
    csrf: String,
}

impl TestApp {
    /// Signs `user` in through the sign-in form (as [`TestApp::sign_in`] does) and makes
    /// `workspace` the session's current workspace with the switcher's form. A user made
    /// without a password (a tenant's owner) is given [`PASSWORD`] first.
    ///
    /// The one place that knows how a dashboard session is made.
    pub async fn sign_in_as(&self, user: UserId, workspace: WorkspaceId) -> Browser {
        let (email, has_password): (String, bool) =
            sqlx::query_as("select email, password_hash is not null from app_users where id = $1")
                .bind(user.as_uuid())
                .fetch_one(&self.pool)
                .await
                .expect("user");
        if !has_password {
            let hash = antpath_bff::password::hash(Secret::new(PASSWORD.to_owned()))
                .await
                .expect("hash");
            sqlx::query("update app_users set password_hash = $2 where id = $1")
                .bind(user.as_uuid())
                .bind(hash)
                .execute(&self.pool)
                .await
                .expect("password");
        }
        let mut browser = Browser {
            router: self.router.clone(),
            cookie: self.sign_in(&email).await,
            csrf: String::new(),
        };
        let page = browser.get("/runs").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        browser.csrf = hidden_field(&page.text, "csrf");
        let switched = browser
            .post(
                "/workspace/switch",
                &[("workspace", &workspace.to_string())],
            )
            .await;
        assert_eq!(switched.status, StatusCode::SEE_OTHER, "{}", switched.text);
        browser
    }
}

/// A dashboard response with its body as text.
#[derive(Debug)]
pub struct Html {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The body.
    pub text: String,
}

impl Html {
    /// A header's value, or "" when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a 303 and returns where it points.
    pub fn redirect(&self) -> &str {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.text);
        self.header("location")
    }
}

/// Percent-encodes a form value.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Browser {
    /// The CSRF token of this session.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    async fn send(&self, request: Request<Body>) -> Html {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Html {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// `GET uri` with the session cookie.
    pub async fn get(&self, uri: &str) -> Html {
        self.send(
            Request::get(uri)
                .header("cookie", &self.cookie)
                .body(Body::empty())
                .expect("request"),
        )
        .await
    }

    /// Posts an urlencoded form of `fields` plus this session's CSRF field.
    pub async fn post(&self, uri: &str, fields: &[(&str, &str)]) -> Html {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(uri, &all).await
    }

    /// Posts exactly `fields` (no CSRF field is added).
    pub async fn post_raw(&self, uri: &str, fields: &[(&str, &str)]) -> Html {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect();
        self.send(
            Request::post(uri)
                .header("cookie", &self.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body.join("&")))
                .expect("request"),
        )
        .await
    }
}
