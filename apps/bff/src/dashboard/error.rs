//! The dashboard's errors, answered as HTML pages ([`crate::pages`]' error page, the one the
//! sign-in pages use too).
//!
//! A failure of the shared logic ([`ApiError`]) keeps what the API decided: its status, its
//! sentence, `Retry-After`, and the one log line of an internal error. A validation failure
//! also says what was wrong.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::pages;

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

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest(message) => pages::api_error_page(ApiError::BadRequest(message)),
            Self::Forbidden(message) => pages::api_error_page(ApiError::Forbidden(message)),
            Self::NotFound(what) => pages::api_error_page(ApiError::NotFound(what)),
            // The details say what is wrong (the summary only that something is).
            Self::Api(ApiError::Invalid { details, .. }) if !details.is_empty() => {
                let said: Vec<String> = details.into_iter().map(|d| d.message).collect();
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                pages::error_page(
                    status,
                    status.canonical_reason().unwrap_or("Invalid"),
                    &said.join(" "),
                )
            }
            Self::Api(err) => pages::api_error_page(err),
        }
    }
}
