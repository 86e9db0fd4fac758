//! The dashboard's errors, answered as HTML pages in the site's layout.
//!
//! A failure of the shared logic ([`ApiError`]) keeps what the API decided — its status,
//! `Retry-After`, the rejection reason the metrics count, and the one log line of an internal
//! error — and only its body is replaced by a page saying the same thing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout;
use crate::error::ApiError;

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// A query parameter or form field is unusable: 400.
    BadRequest(String),
    /// The signed-in person's role does not allow this: 403.
    Forbidden(String),
    /// Nothing of that kind and id in the current workspace (or at all): 404.
    NotFound(&'static str),
    /// What the shared logic or the database said.
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

impl From<sqlx::Error> for PageError {
    fn from(err: sqlx::Error) -> Self {
        Self::Api(err.into())
    }
}

impl From<antpath_db::DbError> for PageError {
    fn from(err: antpath_db::DbError) -> Self {
        Self::Api(err.into())
    }
}

impl PageError {
    /// The 403 of an action the person's role does not allow.
    pub fn not_allowed(what: &str) -> Self {
        Self::Forbidden(format!(
            "Your role in this workspace does not allow you to {what}."
        ))
    }
}

fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 422 => "That request could not be understood",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Conflict",
        429 => "Too many requests",
        503 => "Temporarily unavailable",
        _ => "Something went wrong",
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (api, details) = match self {
            Self::BadRequest(message) => (ApiError::BadRequest(message), Vec::new()),
            Self::Forbidden(message) => (ApiError::Forbidden(message), Vec::new()),
            Self::NotFound(what) => (ApiError::NotFound(what), Vec::new()),
            Self::Api(err) => {
                let details = match &err {
                    ApiError::Invalid { details, .. } => {
                        details.iter().map(|d| d.message.clone()).collect()
                    }
                    ApiError::BadRequestAt { detail, .. } => vec![detail.message.clone()],
                    _ => Vec::new(),
                };
                (err, details)
            }
        };
        let message = api.message();
        // The API's answer carries the status, Retry-After and the metrics' rejection reason,
        // and logs an internal error once; only its JSON body is replaced.
        let (mut parts, _json) = api.into_response().into_parts();
        let status = parts.status;
        let page = layout::bare(
            title(status),
            html! {
                section.error-page {
                    h1 { (title(status)) }
                    p.lead { (message) }
                    @if !details.is_empty() {
                        ul { @for detail in &details { li { (detail) } } }
                    }
                    @if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
                        p { "Wait a few seconds, then try again." }
                    }
                    p { a href="/runs" { "Back to runs" } }
                }
            },
        );
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        parts.headers.remove(header::CONTENT_LENGTH);
        Response::from_parts(parts, page.into_string().into())
    }
}
