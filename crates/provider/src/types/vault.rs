//! Vaults and their credentials: how a session authenticates to the MCP servers the user's
//! template names, without the token ever appearing in the agent definition.

use antpath_redact::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Extra, HasMetadata, Metadata, open_union};

/// The body of `POST /v1/vaults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateVault {
    /// 1–255 characters.
    pub display_name: String,
    /// Tags.
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
}

/// A vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vault {
    /// `vlt_…`
    pub id: String,
    /// The display name.
    #[serde(default)]
    pub display_name: String,
    /// Tags.
    #[serde(default)]
    pub metadata: Metadata,
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

impl HasMetadata for Vault {
    fn id(&self) -> &str {
        &self.id
    }
    fn metadata(&self) -> &Metadata {
        &self.metadata
    }
}

/// The `auth` of a credential to create. Secrets are [`Secret`]s: they print as redacted and
/// reach the wire only through the request body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CredentialAuthParams {
    /// A fixed bearer token for one MCP server URL.
    StaticBearer {
        /// The MCP server the token is for; credentials match servers by this URL.
        mcp_server_url: String,
        /// The token.
        #[serde(serialize_with = "super::expose")]
        token: Secret<String>,
    },
}

/// The body of `POST /v1/vaults/{id}/credentials`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateCredential {
    /// How to authenticate.
    pub auth: CredentialAuthParams,
    /// Up to 255 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
}

/// The response form of a static bearer credential (the token is write-only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaticBearerAuth {
    /// The MCP server URL.
    pub mcp_server_url: String,
}

/// The response form of an MCP OAuth credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpOAuthAuth {
    /// The MCP server URL.
    pub mcp_server_url: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The response form of an environment-variable credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentVariableAuth {
    /// The variable name.
    pub secret_name: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

open_union! {
    /// A credential's `auth` as returned, secrets removed.
    pub enum CredentialAuth {
        /// `static_bearer`
        "static_bearer" => StaticBearer(StaticBearerAuth),
        /// `mcp_oauth`
        "mcp_oauth" => McpOAuth(McpOAuthAuth),
        /// `environment_variable`
        "environment_variable" => EnvironmentVariable(EnvironmentVariableAuth),
    }
}

/// A vault credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    /// `vcrd_…`
    pub id: String,
    /// The vault holding it.
    #[serde(default)]
    pub vault_id: String,
    /// The display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Tags.
    #[serde(default)]
    pub metadata: Metadata,
    /// The auth, secrets removed.
    pub auth: CredentialAuth,
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
