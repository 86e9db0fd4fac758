//! Skills, referenced by agents; the client only reads them to check a reference.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Extra;

/// A skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skill {
    /// `skill_…` or an Anthropic skill name such as `xlsx`.
    pub id: String,
    /// The display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The id of the newest version.
    #[serde(default)]
    pub latest_version_id: Option<String>,
    /// `{type: custom | anthropic | …}`, kept as JSON.
    #[serde(default)]
    pub source: Value,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One version of a skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillVersion {
    /// The version id.
    pub id: String,
    /// The skill it belongs to.
    #[serde(default)]
    pub skill_id: Option<String>,
    /// The name from `SKILL.md`.
    #[serde(default)]
    pub name: Option<String>,
    /// The description from `SKILL.md`.
    #[serde(default)]
    pub description: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}
