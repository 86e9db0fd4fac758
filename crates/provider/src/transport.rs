//! The HTTP side of the client: building requests with their headers, sending them with the
//! retry policy, logging every response's `request-id` and turning error statuses into
//! [`ProviderError`]s.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Method, Response, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{Span, field::Empty};

use antpath_redact::Secret;

use crate::config::{ClientConfig, TransportConfig};
use crate::error::ProviderError;
use crate::rate_limit::{RateLimitInfo, parse_retry_after};
use crate::retry::{Idempotency, RetryPolicy};

/// Told of every HTTP exchange: the route template (`/v1/sessions/{id}`) and the response
/// status, or `None` when no response came. The worker counts provider calls with it.
pub type CallObserver = Arc<dyn Fn(&'static str, Option<u16>) + Send + Sync>;

/// Whose calls a client makes, put on every `provider.call` span so each span of a trace names
/// its run on its own (ids only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIds {
    /// The run, as text.
    pub run_id: String,
    /// The run's provider attempt number.
    pub attempt: i64,
    /// The run's workspace, as text.
    pub workspace_id: String,
}

/// One connection pool and the settings every tenant shares. Build one per process and hand
/// out a [`ProviderClient`] per key with [`Transport::client`]: the key travels on each
/// request, never in the pool's default headers. Cheap to clone.
#[derive(Clone)]
pub struct Transport {
    shared: Arc<Shared>,
}

struct Shared {
    http: reqwest::Client,
    base: Url,
    beta: HeaderValue,
    retry: RetryPolicy,
    request_timeout: Duration,
    observer: OnceLock<CallObserver>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.shared.base.as_str())
            .field("retry", &self.shared.retry)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Builds the pool. Fails only on an unusable base URL or header value.
    pub fn new(config: TransportConfig) -> Result<Self, ProviderError> {
        let mut base = Url::parse(config.base_url.trim_end_matches('/'))
            .map_err(|e| ProviderError::Config(format!("base_url: {e}")))?;
        if base.cannot_be_a_base() {
            return Err(ProviderError::Config("base_url cannot be a base".into()));
        }
        base.set_query(None);
        let mut headers = HeaderMap::new();
        headers.insert(
            "anthropic-version",
            header_value("api_version", &config.api_version)?,
        );
        headers.insert(USER_AGENT, header_value("user_agent", &config.user_agent)?);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .build()
            .map_err(|e| ProviderError::from_reqwest(&e))?;
        Ok(Self {
            shared: Arc::new(Shared {
                http,
                beta: header_value("beta", &config.beta)?,
                base,
                retry: config.retry,
                request_timeout: config.request_timeout,
                observer: OnceLock::new(),
            }),
        })
    }

    /// Has `observer` told of every HTTP exchange of every client of this transport. Only the
    /// first observer set is kept.
    pub fn set_call_observer(&self, observer: CallObserver) {
        let _ = self.shared.observer.set(observer);
    }

    /// A client for one tenant's key (and, for keys that span workspaces, its
    /// `anthropic-workspace-id`), sharing this transport's connections.
    pub fn client(
        &self,
        api_key: &Secret<String>,
        workspace_id: Option<&str>,
    ) -> Result<ProviderClient, ProviderError> {
        let mut key = header_value("api key", api_key.expose_secret())?;
        key.set_sensitive(true);
        let workspace = workspace_id
            .map(|id| header_value("workspace_id", id))
            .transpose()?;
        Ok(ProviderClient {
            shared: Arc::clone(&self.shared),
            tenant: Arc::new(Tenant {
                api_key: key,
                workspace,
                last_rate_limit: Mutex::new(None),
                caller: OnceLock::new(),
            }),
        })
    }
}

/// A client of the Managed Agents API for one key. Cheap to clone: clones share one
/// connection pool and one rate-limit record.
#[derive(Clone)]
pub struct ProviderClient {
    shared: Arc<Shared>,
    tenant: Arc<Tenant>,
}

/// What belongs to one key's client.
struct Tenant {
    /// `x-api-key`, marked sensitive so no header dump shows it.
    api_key: HeaderValue,
    workspace: Option<HeaderValue>,
    last_rate_limit: Mutex<Option<RateLimitInfo>>,
    caller: OnceLock<CallerIds>,
}

impl std::fmt::Debug for ProviderClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderClient")
            .field("base", &self.shared.base.as_str())
            .field("retry", &self.shared.retry)
            .finish_non_exhaustive()
    }
}

/// A header value from configuration, or a configuration error naming the setting (never its
/// value).
fn header_value(name: &str, value: &str) -> Result<HeaderValue, ProviderError> {
    HeaderValue::from_str(value)
        .map_err(|_| ProviderError::Config(format!("{name} is not a valid header value")))
}

/// Which beta header a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Beta {
    /// Agents, environments, sessions, events, vaults: `anthropic-beta` is sent.
    ManagedAgents,
    /// Files and skills: the SDK sends no beta header.
    None,
}

/// One request, described before it is sent so that it can be repeated.
pub(crate) struct Call {
    pub method: Method,
    /// The route template for logs, e.g. `/v1/sessions/{id}`.
    pub route: &'static str,
    /// Path segments after the base, e.g. `["v1", "sessions", id]`; each is percent-encoded.
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Option<Bytes>,
    pub beta: Beta,
    pub idempotency: Idempotency,
    pub accept: Option<&'static str>,
}

impl Call {
    /// A call with no query or body.
    pub fn new(method: Method, route: &'static str, segments: &[&str]) -> Self {
        let idempotency = if method == Method::GET || method == Method::DELETE {
            Idempotency::Idempotent
        } else {
            Idempotency::NotIdempotent
        };
        Self {
            method,
            route,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            body: None,
            beta: Beta::ManagedAgents,
            idempotency,
            accept: None,
        }
    }

    /// Attaches a JSON body.
    pub fn json(mut self, body: &impl Serialize) -> Result<Self, ProviderError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ProviderError::Config(format!("request body: {e}")))?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// Marks a POST as safe to repeat (archive).
    pub fn idempotent(mut self) -> Self {
        self.idempotency = Idempotency::Idempotent;
        self
    }

    /// Sends no beta header.
    pub fn without_beta(mut self) -> Self {
        self.beta = Beta::None;
        self
    }

    /// Appends query pairs.
    pub fn query(mut self, pairs: Vec<(String, String)>) -> Self {
        self.query.extend(pairs);
        self
    }
}

impl ProviderClient {
    /// Has `observer` told of every HTTP exchange of this client's transport. Only the first
    /// observer set is kept.
    pub fn set_call_observer(&self, observer: CallObserver) {
        let _ = self.shared.observer.set(observer);
    }

    /// Names the caller on every `provider.call` span of this client (and its clones). Only
    /// the first value set is kept.
    pub fn set_caller(&self, caller: CallerIds) {
        let _ = self.tenant.caller.set(caller);
    }

    /// Builds a standalone client with a transport of its own. A process serving many keys
    /// builds one [`Transport`] and calls [`Transport::client`] instead.
    pub fn new(config: ClientConfig) -> Result<Self, ProviderError> {
        Transport::new(config.transport)?.client(&config.api_key, config.workspace_id.as_deref())
    }

    /// The rate-limit signals of the most recent response (success or error) that carried any.
    pub fn last_rate_limit(&self) -> Option<RateLimitInfo> {
        self.tenant
            .last_rate_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.shared.retry
    }

    /// Sends a call and decodes its JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, ProviderError> {
        let (request_id, body) = self
            .execute(call, true, |response| async move {
                let request_id = request_id_of(response.headers());
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| ProviderError::from_reqwest(&e))?;
                Ok((request_id, body))
            })
            .await?;
        // A 204 or an empty body decodes as JSON null, which fits unit-like answers.
        let body = if body.is_empty() {
            Bytes::from_static(b"null")
        } else {
            body
        };
        serde_json::from_slice(&body).map_err(|e| ProviderError::Decode {
            request_id,
            message: antpath_redact::scrub(&e.to_string()),
        })
    }

    /// Sends a call and hands back the successful response unread, for streamed bodies.
    pub(crate) async fn stream(&self, call: Call) -> Result<Response, ProviderError> {
        self.execute(call, false, |response| async move { Ok(response) })
            .await
    }

    /// The retry loop around one call.
    #[tracing::instrument(
        name = "provider.call",
        skip_all,
        fields(
            http.method = %call.method,
            provider.route = call.route,
            http.status = Empty,
            provider.request_id = Empty,
            provider.attempts = Empty,
            run.id = Empty,
            attempt = Empty,
            workspace.id = Empty,
        )
    )]
    async fn execute<T, F, Fut>(
        &self,
        call: Call,
        timed: bool,
        finish: F,
    ) -> Result<T, ProviderError>
    where
        F: Fn(Response) -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        if let Some(caller) = self.tenant.caller.get() {
            let span = Span::current();
            span.record("run.id", caller.run_id.as_str());
            span.record("attempt", caller.attempt);
            span.record("workspace.id", caller.workspace_id.as_str());
        }
        let url = self.url(&call);
        let policy = self.shared.retry;
        let mut attempt = 1;
        loop {
            Span::current().record("provider.attempts", attempt);
            let (result, should_retry) = match self.attempt(&call, &url, timed).await {
                Ok(response) => (finish(response).await, None),
                Err((error, should_retry)) => (Err(error), should_retry),
            };
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            match policy.next_delay(call.idempotency, attempt, &error, should_retry) {
                Some(delay) => {
                    tracing::debug!(
                        error.message = %error,
                        retry.delay_ms = delay.as_millis() as u64,
                        "retrying provider call"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => {
                    tracing::warn!(
                        error.message = %error,
                        error.class = %error.class(),
                        provider.request_id = error.request_id().unwrap_or(""),
                        "provider call failed"
                    );
                    return Err(error);
                }
            }
        }
    }

    /// One HTTP exchange. An error status becomes an error with the `x-should-retry` hint.
    async fn attempt(
        &self,
        call: &Call,
        url: &Url,
        timed: bool,
    ) -> Result<Response, (ProviderError, Option<bool>)> {
        let mut request = self
            .shared
            .http
            .request(call.method.clone(), url.clone())
            .header("x-api-key", self.tenant.api_key.clone());
        if let Some(workspace) = &self.tenant.workspace {
            request = request.header("anthropic-workspace-id", workspace.clone());
        }
        if call.beta == Beta::ManagedAgents {
            request = request.header("anthropic-beta", self.shared.beta.clone());
        }
        if let Some(accept) = call.accept {
            request = request.header(ACCEPT, accept);
        }
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if timed {
            request = request.timeout(self.shared.request_timeout);
        }
        let sent = request.send().await;
        if let Some(observer) = self.shared.observer.get() {
            observer(call.route, sent.as_ref().ok().map(|r| r.status().as_u16()));
        }
        let response = sent.map_err(|e| (ProviderError::from_reqwest(&e), None))?;
        let status = response.status();
        let headers = response.headers();
        let request_id = request_id_of(headers);
        let span = Span::current();
        span.record("http.status", status.as_u16());
        if let Some(id) = &request_id {
            span.record("provider.request_id", id.as_str());
        }
        tracing::debug!(
            http.status = status.as_u16(),
            provider.request_id = request_id.as_deref().unwrap_or(""),
            "provider response"
        );
        let limits = RateLimitInfo::from_headers(headers);
        if limits.is_present() {
            *self
                .tenant
                .last_rate_limit
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(limits);
        }
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = parse_retry_after(headers);
        let should_retry = headers
            .get("x-should-retry")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| match v {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            });
        // The body of an error is small; a failure to read it leaves an empty message.
        let body = response.bytes().await.unwrap_or_default();
        let error = ProviderError::from_response(status.as_u16(), request_id, retry_after, &body);
        Err((error, should_retry))
    }

    fn url(&self, call: &Call) -> Url {
        let mut url = self.shared.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty();
            segments.extend(call.segments.iter());
        }
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(call.query.iter());
        }
        url
    }
}

/// The `request-id` response header.
fn request_id_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
