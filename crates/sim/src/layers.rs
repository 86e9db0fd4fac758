//! The request layer in front of every route: request ids, the call log, fault injection,
//! rate limiting and the auth, version and beta-header checks.
//!
//! Faults and header checks apply only to `/v1/…`; `/__sim/…` is always reachable.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::FaultKind;
use crate::error::ApiError;
use crate::faults::Verdict;
use crate::ids;
use crate::inspect::CallRecord;
use crate::state::SharedSim;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The beta every Managed Agents route requires.
pub const MANAGED_AGENTS_BETA: &str = "managed-agents-2026-04-01";

/// `anthropic-version` values accepted: the documented one and the one SDK 2.10.0 sends.
const API_VERSIONS: [&str; 2] = ["2023-06-01", "2026-10-21"];

/// Path prefixes gated behind [`MANAGED_AGENTS_BETA`] (files and skills are not).
const BETA_GATED: [&str; 4] = [
    "/v1/agents",
    "/v1/environments",
    "/v1/sessions",
    "/v1/vaults",
];

/// Marks a response whose connection the server must close without answering.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// The request id of the request being handled (a fresh one outside a request).
pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| ids::request_id())
}

/// The API key of a request: `x-api-key`, else `Authorization: Bearer`.
pub fn api_key(headers: &HeaderMap) -> Option<String> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(key.trim().to_owned());
    }
    let auth = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Every `anthropic-beta` value of a request, comma lists split.
fn betas(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all("anthropic-beta")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// The outermost layer: request id, faults, checks, then the call log.
pub async fn request_layer(State(sim): State<SharedSim>, req: Request, next: Next) -> Response {
    let request_id = ids::request_id();
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let key = api_key(req.headers());
    let (mut response, fault) = REQUEST_ID
        .scope(
            request_id.clone(),
            handle(sim.clone(), req, next, key.clone()),
        )
        .await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("request-id", value);
    }
    let dropped = response.extensions().get::<DropConnection>().is_some();
    let record = CallRecord {
        seq: 0,
        method,
        path,
        query,
        status: (!dropped).then(|| response.status().as_u16()),
        request_id,
        api_key: key.as_ref().map(|_| antpath_redact_marker()),
        api_key_fingerprint: key
            .as_deref()
            .map(|k| ids::sha256_hex(k.as_bytes())[..12].to_owned()),
        fault,
        at: ids::now(),
    };
    sim.calls().push(record);
    response
}

/// The marker shown instead of an API key.
fn antpath_redact_marker() -> String {
    "[REDACTED]".to_owned()
}

async fn handle(
    sim: SharedSim,
    req: Request,
    next: Next,
    key: Option<String>,
) -> (Response, Option<String>) {
    let path = req.uri().path().to_owned();
    if !path.starts_with("/v1/") && path != "/v1" {
        return (next.run(req).await, None);
    }
    let latency = sim.faults().latency();
    if latency > Duration::ZERO {
        tokio::time::sleep(latency).await;
    }
    let verdict = sim
        .faults()
        .decide(req.method().as_str(), &path, key.as_deref());
    let retry_after = sim.faults().retry_after_secs();
    match verdict {
        Verdict::Pass => {}
        Verdict::Fault(FaultKind::LostResponse) => {
            // The provider acts in full; only its answer never arrives.
            drop(serve(&sim, req, next, key.as_deref(), &path).await);
            let kind = FaultKind::LostResponse;
            return (fault_response(kind, retry_after), Some(fault_name(kind)));
        }
        Verdict::Fault(kind) => return (fault_response(kind, retry_after), Some(fault_name(kind))),
        Verdict::Throttled { limit, reset_secs } => {
            let mut response = ApiError::rate_limited(reset_secs).into_response();
            add_rate_headers(response.headers_mut(), limit, 0, reset_secs);
            return (response, Some("rate_limit".to_owned()));
        }
    }
    (serve(&sim, req, next, key.as_deref(), &path).await, None)
}

/// Handles a `/v1` request that no fault stopped: header checks, the route, rate headers.
async fn serve(
    sim: &SharedSim,
    req: Request,
    next: Next,
    key: Option<&str>,
    path: &str,
) -> Response {
    if let Err(err) = check_headers(sim, req.headers(), path) {
        return err.into_response();
    }
    let method = req.method().to_string();
    let mut response = next.run(req).await;
    let counters = key.and_then(|k| sim.faults().rate_headers(k, &method, path));
    if let Some((limit, remaining, reset)) = counters {
        add_rate_headers(response.headers_mut(), limit, remaining, reset);
    }
    response
}

fn fault_name(kind: FaultKind) -> String {
    match kind {
        FaultKind::RateLimited => "rate_limited",
        FaultKind::ServerError => "server_error",
        FaultKind::Overloaded => "overloaded",
        FaultKind::Drop => "drop",
        FaultKind::LostResponse => "lost_response",
    }
    .to_owned()
}

fn fault_response(kind: FaultKind, retry_after: u64) -> Response {
    match kind {
        FaultKind::RateLimited => ApiError::rate_limited(retry_after).into_response(),
        FaultKind::ServerError => ApiError::internal().into_response(),
        FaultKind::Overloaded => ApiError::overloaded().into_response(),
        FaultKind::Drop | FaultKind::LostResponse => {
            let mut response = Response::default();
            response.extensions_mut().insert(DropConnection);
            response
        }
    }
}

fn add_rate_headers(headers: &mut HeaderMap, limit: u32, remaining: u32, reset_secs: u64) {
    let reset = chrono::Utc::now() + chrono::Duration::seconds(reset_secs as i64);
    let reset = reset.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    headers.insert(
        "anthropic-ratelimit-requests-limit",
        HeaderValue::from(limit),
    );
    headers.insert(
        "anthropic-ratelimit-requests-remaining",
        HeaderValue::from(remaining),
    );
    if let Ok(value) = HeaderValue::from_str(&reset) {
        headers.insert("anthropic-ratelimit-requests-reset", value);
    }
}

/// Auth, version and beta checks, in the order the provider reports them.
fn check_headers(sim: &SharedSim, headers: &HeaderMap, path: &str) -> Result<(), ApiError> {
    let Some(key) = api_key(headers) else {
        return Err(ApiError::auth("x-api-key header is required"));
    };
    if !sim.config.accepts_key(&key) {
        return Err(ApiError::auth("invalid x-api-key"));
    }
    match headers
        .get("anthropic-version")
        .and_then(|v| v.to_str().ok())
    {
        None => return Err(ApiError::invalid("anthropic-version header is required")),
        Some(v) if !API_VERSIONS.contains(&v.trim()) => {
            return Err(ApiError::invalid(format!(
                "anthropic-version: unknown version {v}"
            )));
        }
        Some(_) => {}
    }
    let gated = BETA_GATED.iter().any(|p| {
        path == *p
            || path
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('/'))
    });
    if gated && !betas(headers).any(|b| b == MANAGED_AGENTS_BETA) {
        return Err(ApiError::not_found(format!(
            "Not found: this endpoint requires the anthropic-beta header {MANAGED_AGENTS_BETA}"
        )));
    }
    Ok(())
}
