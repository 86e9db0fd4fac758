//! Files: the outputs a session wrote to `/mnt/session/outputs/`, listed by session scope.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Extra;

/// What a file is scoped to (a session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileScope {
    /// `sesn_…`
    pub id: String,
    /// `session`
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// A file's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileMetadata {
    /// `file_…`
    pub id: String,
    /// The original name (for outputs, the path under the outputs directory or its basename).
    #[serde(default)]
    pub filename: String,
    /// The content type.
    #[serde(default)]
    pub mime_type: String,
    /// Size in bytes.
    #[serde(default)]
    pub size_bytes: u64,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// `true` for generated outputs, `false` for uploads and mounted copies.
    #[serde(default)]
    pub downloadable: Option<bool>,
    /// The owning session, if any.
    #[serde(default)]
    pub scope: Option<FileScope>,
    /// When the file expires, if it does.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl FileMetadata {
    /// True for a session output that can be downloaded.
    pub fn is_downloadable(&self) -> bool {
        self.downloadable == Some(true)
    }
}

/// The query of `GET /v1/files`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileListParams {
    /// Only files of this scope (a session id).
    pub scope_id: Option<String>,
    /// Items per page (1–1000).
    pub limit: Option<u32>,
    /// The cursor from `next_page`.
    pub page: Option<String>,
}

impl FileListParams {
    /// The files of one session.
    pub fn for_session(session_id: &str) -> Self {
        Self {
            scope_id: Some(session_id.to_owned()),
            ..Self::default()
        }
    }

    pub(crate) fn to_query(&self) -> Vec<(String, String)> {
        let mut query = Vec::new();
        if let Some(scope) = &self.scope_id {
            query.push(("scope_id".to_owned(), scope.clone()));
        }
        if let Some(limit) = self.limit {
            query.push(("limit".to_owned(), limit.to_string()));
        }
        if let Some(page) = &self.page {
            query.push(("page".to_owned(), page.clone()));
        }
        query
    }
}
