//! The request id: taken from a sane incoming `x-request-id` or generated (`req_<32 hex>`),
//! kept in a task-local for the duration of the request so error bodies can carry it, and put
//! on every response and on the request's span.

use axum::http::HeaderMap;

/// The header that carries the id both ways.
pub const HEADER: &str = "x-request-id";

/// Longest incoming id we adopt; anything longer is replaced, so a client cannot bloat logs.
const MAX_INCOMING_LEN: usize = 128;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The incoming id if it is short and made of safe characters, else a fresh one.
pub fn from_headers(headers: &HeaderMap) -> String {
    headers
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_INCOMING_LEN
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map_or_else(generate, str::to_owned)
}

/// A fresh id.
pub fn generate() -> String {
    format!("req_{}", uuid::Uuid::new_v4().simple())
}

/// Runs `fut` with `id` as the current request id.
pub async fn scope<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The current request's id, or a fresh one outside a request.
pub fn current() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| generate())
}
