//! Clients of the stack from the outside: the bff's run API (as a tenant would call it, retrying
//! through outages) and the simulator's `/__sim` control and inspection routes.

use std::time::Duration;

use anyhow::Context as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// How long one API call keeps retrying through errors (a database outage answers 5xx).
const CALL_DEADLINE: Duration = Duration::from_secs(60);
/// Pause between two tries of a failed call.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// A tenant's client of the bff.
#[derive(Debug, Clone)]
pub struct Tenant {
    http: reqwest::Client,
    base: String,
    token: String,
    /// The workspace's wire id (`ws_…`).
    pub workspace: String,
}

/// What one call answered, once it answered something final.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The JSON body (`Null` when not JSON).
    pub body: Value,
}

impl Tenant {
    /// A client of the bff at `base` acting with `token` in `workspace`.
    pub fn new(http: reqwest::Client, base: &str, token: &str, workspace: &str) -> Self {
        Self {
            http,
            base: base.to_owned(),
            token: token.to_owned(),
            workspace: workspace.to_owned(),
        }
    }

    /// One call, retried on transport errors, 5xx and 429 until [`CALL_DEADLINE`]; any other
    /// answer is returned as it is.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let deadline = tokio::time::Instant::now() + CALL_DEADLINE;
        loop {
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .timeout(Duration::from_secs(10));
            if let Some(body) = body {
                request = request.json(body);
            }
            let last = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
                    let body = response.json::<Value>().await.unwrap_or(Value::Null);
                    if !retry {
                        return Ok(Answer { status, body });
                    }
                    format!("{status}: {body}")
                }
                Err(err) => err.to_string(),
            };
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{method} {path} kept failing for {CALL_DEADLINE:?}; last: {last}"
            );
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    /// Submits a run (the body carries an idempotency key, so a retry after a lost answer
    /// finds the same run); returns its id.
    pub async fn submit(&self, body: &Value) -> anyhow::Result<String> {
        let answer = self.call(Method::POST, "/v1/runs", Some(body)).await?;
        anyhow::ensure!(
            matches!(answer.status, StatusCode::CREATED | StatusCode::OK),
            "submit answered {}: {}",
            answer.status,
            answer.body
        );
        answer.body["id"]
            .as_str()
            .map(str::to_owned)
            .context("a submitted run has an id")
    }

    /// The run as the API shows it.
    pub async fn run(&self, id: &str) -> anyhow::Result<Value> {
        let answer = self
            .call(Method::GET, &format!("/v1/runs/{id}"), None)
            .await?;
        anyhow::ensure!(
            answer.status == StatusCode::OK,
            "get run answered {}",
            answer.status
        );
        Ok(answer.body)
    }

    /// Asks for a cancel; any 2xx is fine (a run that already ended answers 200).
    pub async fn cancel(&self, id: &str) -> anyhow::Result<()> {
        let answer = self
            .call(
                Method::POST,
                &format!("/v1/runs/{id}/cancel"),
                Some(&json!({})),
            )
            .await?;
        anyhow::ensure!(
            answer.status.is_success(),
            "cancel answered {}: {}",
            answer.status,
            answer.body
        );
        Ok(())
    }

    /// Asks for a soft delete.
    pub async fn delete(&self, id: &str) -> anyhow::Result<()> {
        let answer = self
            .call(Method::DELETE, &format!("/v1/runs/{id}"), None)
            .await?;
        anyhow::ensure!(
            answer.status.is_success(),
            "delete answered {}: {}",
            answer.status,
            answer.body
        );
        Ok(())
    }
}

/// The simulator's control and inspection routes (never faulted).
#[derive(Debug, Clone)]
pub struct SimControl {
    http: reqwest::Client,
    base: String,
}

impl SimControl {
    /// A client of the simulator at `base`.
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        Self {
            http,
            base: base.to_owned(),
        }
    }

    /// The simulator's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Replaces the whole fault configuration.
    pub async fn set_faults(&self, faults: &Value) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}/__sim/faults", self.base))
            .json(faults)
            .send()
            .await
            .context("while setting the simulator's faults")?;
        anyhow::ensure!(
            response.status().is_success(),
            "faults refused: {}",
            response.status()
        );
        Ok(())
    }

    /// Every record the simulator ever held, deleted ones included.
    pub async fn resources(&self) -> anyhow::Result<Vec<Value>> {
        self.list("resources").await
    }

    /// Every request the simulator received.
    pub async fn calls(&self) -> anyhow::Result<Vec<Value>> {
        self.list("calls").await
    }

    async fn list(&self, what: &str) -> anyhow::Result<Vec<Value>> {
        let body: Value = self
            .http
            .get(format!("{}/__sim/{what}", self.base))
            .send()
            .await
            .with_context(|| format!("while reading the simulator's {what}"))?
            .json()
            .await?;
        Ok(body[what].as_array().cloned().unwrap_or_default())
    }
}

/// Waits until `url` answers 2xx, or fails after `deadline`.
pub async fn wait_ready(
    http: &reqwest::Client,
    url: &str,
    deadline: Duration,
) -> anyhow::Result<()> {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if let Ok(response) = http.get(url).timeout(Duration::from_secs(2)).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < until,
            "{url} was not ready within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
