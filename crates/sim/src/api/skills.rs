//! `/v1/skills`: read-only look-ups of the four Anthropic skills (`pptx`, `xlsx`, `docx`,
//! `pdf`). No beta header is required, as in SDK 2.10.0.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::pagination::{ListQuery, PageSpec, paginate};
use crate::state::SharedSim;

/// Paging of the skills list (SDK 2.10.0): `limit` 1–1000, default 20.
const PAGE: PageSpec = PageSpec::simple(20, 1000);
/// The built-in skills and their display names.
const SKILLS: [(&str, &str); 4] = [
    ("pptx", "PowerPoint"),
    ("xlsx", "Excel"),
    ("docx", "Word"),
    ("pdf", "PDF"),
];
/// A fixed creation time, so responses are stable.
const CREATED: &str = "2025-10-02T00:00:00Z";

/// Whether `id` names one of the built-in skills.
pub fn is_builtin(id: &str) -> bool {
    SKILLS.iter().any(|(s, _)| *s == id)
}

fn skill(id: &str, name: &str) -> Value {
    json!({
        "id": id, "type": "skill", "display_name": name, "latest_version_id": "20251002",
        "source": { "type": "anthropic" }, "created_at": CREATED, "updated_at": CREATED,
    })
}

/// `GET /v1/skills`: `source` filter, `limit`, `page`.
pub async fn list(State(_sim): State<SharedSim>, query: ListQuery) -> ApiResult<Json<Value>> {
    let wanted = query.get("source");
    let items = SKILLS
        .iter()
        .enumerate()
        .filter(|_| wanted.is_none_or(|s| s == "anthropic"))
        .map(|(i, (id, name))| (i as u64 + 1, skill(id, name)))
        .collect();
    Ok(Json(paginate(items, &query, PAGE)?))
}

/// `GET /v1/skills/{id}`
pub async fn retrieve(
    State(_sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    SKILLS
        .iter()
        .find(|(s, _)| *s == id)
        .map(|(s, name)| Json(skill(s, name)))
        .ok_or_else(|| ApiError::no_such("skill", &id))
}
