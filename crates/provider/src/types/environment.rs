//! Environments: the sandbox template (networking, packages) a session's container is built
//! from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Extra, HasMetadata, Metadata};

/// The body of `POST /v1/environments`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateEnvironment {
    /// A name unique among the organization's active environments.
    pub name: String,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `{"type":"cloud", networking?, packages?}`; see [`cloud_config`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    /// Tags such as `antpath_run_id`, used by reconciliation.
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
}

/// A cloud configuration. `allowed_hosts: None` means unrestricted networking; otherwise
/// networking is limited to those hosts, MCP servers allowed.
pub fn cloud_config(allowed_hosts: Option<&[String]>) -> Value {
    match allowed_hosts {
        None => json!({"type": "cloud", "networking": {"type": "unrestricted"}}),
        Some(hosts) => json!({
            "type": "cloud",
            "networking": {
                "type": "limited",
                "allowed_hosts": hosts,
                "allow_mcp_servers": true,
                "allow_package_managers": false,
            },
        }),
    }
}

/// An environment as the provider returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// `env_…`
    pub id: String,
    /// The unique name.
    #[serde(default)]
    pub name: String,
    /// `null` when unset.
    #[serde(default)]
    pub description: Option<String>,
    /// The resolved configuration (cloud or self-hosted), kept as JSON.
    #[serde(default)]
    pub config: Value,
    /// Tags.
    #[serde(default)]
    pub metadata: Metadata,
    /// `organization`, `account` or null.
    #[serde(default)]
    pub scope: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Set once archived.
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl HasMetadata for Environment {
    fn id(&self) -> &str {
        &self.id
    }
    fn metadata(&self) -> &Metadata {
        &self.metadata
    }
}
