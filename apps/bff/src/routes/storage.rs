//! `GET /v1/storage/{*key}`: serves the local store's signed download links, as the storage
//! crate's `local` module describes. No token: the signature is the permission. The query
//! string (which holds the signature) is never logged; the access log names only the route.

use std::time::SystemTime;

use antpath_storage::{ObjectStore, SignedLinkQuery, StorageError};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio_util::io::ReaderStream;

use crate::error::ApiError;
use crate::extract::query;
use crate::state::AppState;

/// Streams the object a valid, unexpired link names.
pub async fn download(
    State(state): State<AppState>,
    Path(key): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let ObjectStore::Local(store) = &state.store else {
        return Err(ApiError::NotFound("route"));
    };
    let link: SignedLinkQuery = query(&uri).map_err(|_| link_refused())?;
    let download = match store.open_signed(&key, &link, SystemTime::now()).await {
        Ok(download) => download,
        Err(
            StorageError::InvalidKey(_) | StorageError::LinkInvalid | StorageError::LinkExpired,
        ) => return Err(link_refused()),
        Err(StorageError::NotFound) => return Err(ApiError::NotFound("object")),
        Err(err) => {
            return Err(anyhow::Error::new(err)
                .context("while opening a signed download")
                .into());
        }
    };
    let info = &download.object.info;
    let content_type = info
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());
    let mut response = Body::from_stream(ReaderStream::new(download.object.body)).into_response();
    let headers = response.headers_mut();
    let mut set = |name, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, &content_type);
    set(header::CONTENT_LENGTH, &info.size_bytes.to_string());
    set(header::CONTENT_DISPOSITION, &download.content_disposition);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::CONTENT_SECURITY_POLICY, "sandbox");
    set(header::CACHE_CONTROL, "private, no-store");
    Ok(response)
}

/// Forged, altered, expired and malformed links all look the same: 403.
fn link_refused() -> ApiError {
    ApiError::Forbidden("This download link is invalid or has expired.".into())
}
