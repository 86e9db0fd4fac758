//! The dashboard's stylesheet and scripts, compiled into the binary and served by the bff
//! itself (nothing is fetched from elsewhere; the CSP allows only `'self'`).
//!
//! Pages link each asset with its content hash in the query (`/assets/app.css?v=…`), so an
//! asset asked for under its current hash may be cached for a year: a new build changes the
//! hash and so the URL. Asked for without it (or with an old one), it must be revalidated. The
//! hash is also the `ETag`.

use std::sync::LazyLock;

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};

use super::error::PageError;

/// One served file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    /// The stylesheet of every page.
    AppCss,
    /// Live updates of the run page.
    RunJs,
    /// The copy button of the new-token page.
    TokenJs,
}

/// Hex characters of the content hash used in URLs and ETags.
const HASH_CHARS: usize = 16;

/// A year: assets are immutable under their hashed URL.
const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// Without the current hash in the URL: cached, but checked every time.
const CACHE_CONTROL_UNHASHED: &str = "no-cache";

struct Served {
    name: &'static str,
    body: &'static str,
    content_type: &'static str,
    hash: String,
}

fn served(name: &'static str, body: &'static str, content_type: &'static str) -> Served {
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    Served {
        name,
        body,
        content_type,
        hash: digest[..HASH_CHARS].to_owned(),
    }
}

static FILES: LazyLock<[Served; 3]> = LazyLock::new(|| {
    [
        served(
            "app.css",
            include_str!("assets/app.css"),
            "text/css; charset=utf-8",
        ),
        served(
            "run.js",
            include_str!("assets/run.js"),
            "text/javascript; charset=utf-8",
        ),
        served(
            "token.js",
            include_str!("assets/token.js"),
            "text/javascript; charset=utf-8",
        ),
    ]
});

impl Asset {
    fn served(self) -> &'static Served {
        let index = match self {
            Self::AppCss => 0,
            Self::RunJs => 1,
            Self::TokenJs => 2,
        };
        &FILES[index]
    }

    /// The URL pages link: the path with the content hash.
    pub fn url(self) -> String {
        let file = self.served();
        format!("/assets/{}?v={}", file.name, file.hash)
    }
}

/// `GET /assets/{file}`: the asset, or a 404 page. Answers 304 to a matching `If-None-Match`.
pub async fn serve(
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let file = FILES
        .iter()
        .find(|f| f.name == name)
        .ok_or(PageError::NotFound("file"))?;
    let etag = format!("\"{}\"", file.hash);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, file.content_type)], file.body).into_response()
    };
    let current = format!("v={}", file.hash);
    let hashed = query.is_some_and(|q| q.split('&').any(|pair| pair == current));
    let cache = if hashed {
        CACHE_CONTROL
    } else {
        CACHE_CONTROL_UNHASHED
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    Ok(response)
}
