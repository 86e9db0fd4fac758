//! Shared helpers: a started simulator with a client, typed request helpers and waits with
//! deadlines (never fixed sleeps).

use std::future::Future;
use std::time::{Duration, Instant};

use antpath_sim::{SimConfig, SimHandle};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The key every test uses.
pub const KEY: &str = "sk-ant-test-key-0123456789";
/// The beta header value.
pub const BETA: &str = "managed-agents-2026-04-01";
/// How long any wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A running simulator and a client for it.
pub struct Api {
    pub sim: SimHandle,
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    /// Starts a simulator with the default configuration.
    pub async fn start() -> Self {
        Self::with(SimConfig::default()).await
    }

    /// Starts a simulator with `config`.
    pub async fn with(config: SimConfig) -> Self {
        let sim = antpath_sim::spawn(config).await.expect("spawn simulator");
        let base = sim.base_url();
        Self {
            sim,
            http: reqwest::Client::new(),
            base,
        }
    }

    /// A request with the key, version and beta headers set.
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", KEY)
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", BETA)
    }

    /// Sends a request and returns status and JSON body (Null when not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.req(method, path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// POSTs and expects 200; returns the body.
    pub async fn ok(&self, path: &str, body: Value) -> Value {
        let (status, out) = self.post(path, body).await;
        assert_eq!(status, StatusCode::OK, "POST {path}: {out}");
        out
    }

    /// Creates an environment, an agent and a session; returns the session.
    pub async fn session(&self, metadata: Value) -> Value {
        let env = self
            .ok("/v1/environments", json!({ "name": unique("env") }))
            .await;
        let agent = self
            .ok(
                "/v1/agents",
                json!({ "name": "a", "model": "claude-opus-4-6" }),
            )
            .await;
        self.ok(
            "/v1/sessions",
            json!({ "agent": agent["id"], "environment_id": env["id"], "metadata": metadata }),
        )
        .await
    }

    /// Sends one `user.message`.
    pub async fn say(&self, sid: &str, text: &str) -> Value {
        let events = json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": text }] }] });
        self.ok(&format!("/v1/sessions/{sid}/events"), events).await
    }

    /// Waits until the session is neither running nor rescheduling; returns it.
    pub async fn settled(&self, sid: &str) -> Value {
        eventually(|| async {
            let (_, s) = self.get(&format!("/v1/sessions/{sid}")).await;
            (!matches!(s["status"].as_str(), Some("running" | "rescheduling"))).then_some(s)
        })
        .await
    }

    /// Every page of a list, walked with `next_page`.
    pub async fn walk(&self, path: &str, limit: usize) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut url = format!("{path}{sep}limit={limit}");
            if let Some(p) = &page {
                url.push_str(&format!("&page={p}"));
            }
            let (status, body) = self.get(&url).await;
            assert_eq!(status, StatusCode::OK, "GET {url}: {body}");
            let data = body["data"].as_array().expect("data").clone();
            assert!(data.len() <= limit, "page larger than limit");
            out.extend(data);
            match body["next_page"].as_str() {
                Some(next) => page = Some(next.to_owned()),
                None => return out,
            }
        }
    }

    /// Event types of a session, in order.
    pub async fn event_types(&self, sid: &str) -> Vec<String> {
        self.walk(&format!("/v1/sessions/{sid}/events"), 1000)
            .await
            .iter()
            .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// Polls `check` every 10 ms until it yields a value; panics after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "condition not met within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A unique name, so tests sharing a simulator never collide.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid_like())
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Lower-case hex sha256.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Asserts the provider error envelope with `kind`.
pub fn assert_error(body: &Value, kind: &str) {
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], kind, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(
        body["request_id"]
            .as_str()
            .is_some_and(|r| r.starts_with("req_")),
        "{body}"
    );
}
