//! The HTML shell of pages shown outside the dashboard's layout (sign-in, errors of the
//! session extractor), and the headers every HTML response carries.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::error::ApiError;

/// The Content-Security-Policy of every page: only our own scripts, styles and connections,
/// no inline code, no framing, forms post only to us.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers every HTML response carries; pages are never cached, since they
/// show a signed-in person's data (and sometimes a token shown once).
pub fn with_page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A bare page: the document, the stylesheet and a centred card.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · antpath" }
                link rel="stylesheet" href=(crate::dashboard::assets::Asset::AppCss.url());
            }
            body.bare {
                main.card { (body) }
            }
        }
    }
}

/// An error page with a status, a heading and a sentence.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        h1 { (title) }
        p { (message) }
        p { a href="/runs" { "Back to runs" } }
    };
    with_page_headers((status, bare(title, body)).into_response())
}

/// The page of an [`ApiError`]: its status and sentence (a 503 or 429 with `Retry-After`).
pub fn api_error_page(err: ApiError) -> Response {
    let (status, message, retry_after) = err.for_page();
    let title = status.canonical_reason().unwrap_or("Error");
    let mut response = error_page(status, title, &message);
    if let Some(after) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after_value(after));
    }
    response
}

fn retry_after_value(after: Duration) -> HeaderValue {
    HeaderValue::from(after.as_secs().max(1))
}
