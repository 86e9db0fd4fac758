//! The [`Client`], its builder, and the one request path every call goes through.
//!
//! The client holds the API token as a [`Secret`]; it is put into the `Authorization` header
//! of each attempt and nowhere else (no `Debug`, no error, no signed download URL). Cloning a
//! client is cheap and shares the connection pool.
//!
//! Every request carries a W3C `traceparent` so the server's spans join the caller's trace: the
//! one given to [`ClientBuilder::traceparent`] (the CLI roots one trace per command), or else a
//! fresh one per request.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use antpath_redact::Secret;
use antpath_types::ApiErrorBody;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, Response};
use serde::de::DeserializeOwned;

use crate::error::{ApiFailure, Error, Result};
use crate::retry::{RetryPolicy, is_retryable_status, parse_retry_after};

/// Where the hosted antpath lives; self-hosted deployments set their own.
pub const DEFAULT_BASE_URL: &str = "https://antpath.ai";

/// The default time allowed for one HTTP attempt, body included (downloads use their own).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A client of the antpath API. The workspace is the one the token belongs to.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    token: Secret<String>,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Duration,
    traceparent: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("token", &self.inner.token)
            .field("retry", &self.inner.retry)
            .finish()
    }
}

/// Configures a [`Client`]; start from [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    token: Secret<String>,
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    user_agent: String,
    traceparent: Option<String>,
}

impl ClientBuilder {
    /// The API's base URL, such as `http://127.0.0.1:8080` for a local stack.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The time allowed for one attempt of one request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time allowed to open a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How safe requests are retried (see [`crate::retry`]).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Appends a product token to the `User-Agent` (the CLI names itself here).
    pub fn user_agent_suffix(mut self, suffix: &str) -> Self {
        self.user_agent = format!("{} {suffix}", self.user_agent);
        self
    }

    /// The W3C `traceparent` every request of this client carries, so all of them belong to
    /// the caller's trace (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`). Without
    /// one, each request roots a trace of its own.
    pub fn traceparent(mut self, traceparent: impl Into<String>) -> Self {
        self.traceparent = Some(traceparent.into());
        self
    }

    /// Builds the client, checking the token and base URL.
    pub fn build(self) -> Result<Client> {
        if self.token.expose_secret().trim().is_empty() {
            return Err(Error::Config("the API token is empty".into()));
        }
        let base_url = self.base_url.trim().trim_end_matches('/').to_owned();
        if reqwest::Url::parse(&base_url).is_err()
            || !(base_url.starts_with("http://") || base_url.starts_with("https://"))
        {
            return Err(Error::Config(format!(
                "the base URL `{base_url}` is not an http(s) URL"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent)
            .build()
            .map_err(|e| Error::Config(format!("the HTTP client could not start: {e}")))?;
        if let Some(traceparent) = &self.traceparent
            && !is_traceparent(traceparent)
        {
            return Err(Error::Config(format!(
                "`{traceparent}` is not a W3C traceparent"
            )));
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                token: self.token,
                retry: self.retry,
                timeout: self.timeout,
                traceparent: self.traceparent,
            }),
        })
    }
}

/// Whether a request may be sent again when its outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Safe to repeat: reads, idempotent writes, keyed submissions.
    Safe,
    /// Sent once.
    Once,
}

/// One API request, rebuilt for every attempt.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'a str, String)>,
    pub(crate) body: Option<serde_json::Value>,
    pub(crate) repeat: Repeat,
}

impl<'a> Call<'a> {
    pub(crate) fn get(path: String) -> Self {
        Self {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
            repeat: Repeat::Safe,
        }
    }

    pub(crate) fn new(method: Method, path: String, repeat: Repeat) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
            repeat,
        }
    }
}

impl Client {
    /// A client for the hosted antpath with default settings.
    pub fn new(token: impl Into<String>) -> Result<Self> {
        Self::builder(token).build()
    }

    /// A builder starting from the defaults: [`DEFAULT_BASE_URL`], [`DEFAULT_TIMEOUT`],
    /// [`RetryPolicy::default`].
    pub fn builder(token: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            token: Secret::new(token.into()),
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            user_agent: format!("antpath-sdk-rust/{}", env!("CARGO_PKG_VERSION")),
            traceparent: None,
        }
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Sends `call` and decodes a successful JSON body.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T> {
        let response = self.send(call).await?;
        decode(response).await
    }

    /// Sends `call`, retrying as its [`Repeat`] allows, and returns the first successful
    /// response or the final error.
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Response> {
        let mut retry = 0;
        loop {
            let mut request = self
                .request(call.method.clone(), &call.path)
                .timeout(self.inner.timeout);
            if !call.query.is_empty() {
                request = request.query(&call.query);
            }
            if let Some(body) = &call.body {
                request = request.json(body);
            }
            let error = match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => error_from_response(response).await,
                Err(error) => self.transport_error(&error),
            };
            let retry_after = error.api().and_then(|f| f.retry_after);
            if call.repeat == Repeat::Once
                || !is_retryable(&error)
                || retry >= self.inner.retry.max_retries
            {
                return Err(error);
            }
            retry += 1;
            tokio::time::sleep(self.inner.retry.delay(retry, retry_after)).await;
        }
    }

    /// A request to `path` of the API carrying the token and a `traceparent`, with no
    /// time-out of its own.
    pub(crate) fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let traceparent = self
            .inner
            .traceparent
            .clone()
            .unwrap_or_else(new_traceparent);
        self.inner
            .http
            .request(method, format!("{}{path}", self.inner.base_url))
            .bearer_auth(self.inner.token.expose_secret())
            .header(TRACEPARENT, traceparent)
    }

    pub(crate) fn transport_error(&self, error: &reqwest::Error) -> Error {
        if error.is_timeout() {
            Error::Timeout(self.inner.timeout)
        } else {
            Error::Connection {
                base_url: self.inner.base_url.clone(),
                reason: describe_transport(error),
            }
        }
    }
}

/// The W3C trace-context header.
const TRACEPARENT: &str = "traceparent";

/// A fresh sampled `traceparent` rooting a new trace (random trace and parent ids).
pub fn new_traceparent() -> String {
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!("00-{trace}-{}-01", &parent[..16])
}

/// Whether `value` has the shape of a version-00 `traceparent` with non-zero ids.
fn is_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && s.bytes().any(|b| b != b'0')
    };
    parts.len() == 4
        && parts[0] == "00"
        && hex(parts[1], 32)
        && hex(parts[2], 16)
        && parts[3].len() == 2
        && parts[3].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod trace_tests {
    use super::*;

    #[test]
    fn a_generated_traceparent_has_the_w3c_shape_and_is_new_each_time() {
        let a = new_traceparent();
        assert!(is_traceparent(&a), "{a}");
        assert_ne!(a, new_traceparent());
    }

    #[test]
    fn a_malformed_traceparent_is_refused_at_build() {
        for bad in [
            "",
            "00-abc-def-01",
            "00-00000000000000000000000000000000-0000000000000001-01",
        ] {
            let built = Client::builder("tok").traceparent(bad).build();
            assert!(matches!(built, Err(Error::Config(_))), "{bad}");
        }
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(Client::builder("tok").traceparent(good).build().is_ok());
    }
}

/// Whether a safe request that failed with `error` is worth another attempt: connection
/// failures, time-outs, and the statuses of [`is_retryable_status`].
pub(crate) fn is_retryable(error: &Error) -> bool {
    match error {
        Error::Connection { .. } | Error::Timeout(_) => true,
        other => other.status().is_some_and(is_retryable_status),
    }
}

/// The innermost cause of a transport error: reqwest's own text is generic
/// ("error sending request"), the useful part (connection refused, DNS) is in its sources.
fn describe_transport(error: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Decodes a successful JSON body into `T`.
pub(crate) async fn decode<T: DeserializeOwned>(response: Response) -> Result<T> {
    let request_id = request_id(response.headers());
    let bytes = response.bytes().await.map_err(|e| Error::Decode {
        reason: format!("the body was cut short: {}", describe_transport(&e)),
        request_id: request_id.clone(),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
        reason: e.to_string(),
        request_id,
    })
}

/// Turns a non-success response into an error, keeping everything the body says.
pub(crate) async fn error_from_response(response: Response) -> Error {
    let status = response.status().as_u16();
    let header_id = request_id(response.headers());
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let body = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<ApiErrorBody>(&body) {
        Ok(ApiErrorBody { error }) => Error::Api(Box::new(ApiFailure {
            status,
            error_type: error.error_type,
            message: error.message,
            details: error.details.unwrap_or_default(),
            request_id: Some(error.request_id)
                .filter(|id| !id.is_empty())
                .or(header_id),
            retry_after,
        })),
        Err(_) => Error::UnexpectedResponse {
            status,
            request_id: header_id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_appears_in_debug_output() {
        let client = Client::builder("ant_very_secret_value")
            .base_url("http://127.0.0.1:9/")
            .build()
            .expect("client");
        let debug = format!("{client:?}");
        assert!(!debug.contains("ant_very_secret_value"), "{debug}");
        assert!(debug.contains("[redacted]"));
        assert_eq!(client.base_url(), "http://127.0.0.1:9");
    }

    #[test]
    fn an_empty_token_or_a_bad_base_url_is_refused() {
        assert!(matches!(Client::new(" "), Err(Error::Config(_))));
        let error = Client::builder("ant_x").base_url("ftp://x").build();
        assert!(matches!(error, Err(Error::Config(_))));
    }
}
