//! Sessions: one run of an agent in an environment, and the query of the sessions list.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::usage::SessionUsage;
use super::usage::{BudgetLimit, SessionStats};
use super::{Extra, HasMetadata, Metadata, open_str_enum};
use crate::pagination::ListParams;

open_str_enum! {
    /// The provider's session status.
    pub enum SessionStatus {
        /// Waiting for input; also where a finished turn ends.
        "idle" => Idle,
        /// The agent is working.
        "running" => Running,
        /// A transient provider error; the provider retries by itself.
        "rescheduling" => Rescheduling,
        /// Ended for good (an unrecoverable error, or archived).
        "terminated" => Terminated,
    }
}

/// The body of `POST /v1/sessions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateSession {
    /// The agent id (latest version) or `{type:"agent", id, version}`.
    pub agent: Value,
    /// The environment id.
    pub environment_id: String,
    /// A title for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Tags such as `antpath_run_id`, used by reconciliation.
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    /// Vaults whose credentials the session may use; only settable at creation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vault_ids: Vec<String>,
    /// Mounted files and repositories, as JSON.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Value>,
    /// The hard spend ceiling; create-only (a session created without one can never get
    /// one). Omitted for an uncapped session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetLimit>,
}

impl CreateSession {
    /// A session of the latest version of `agent_id` in `environment_id`.
    pub fn new(agent_id: &str, environment_id: &str) -> Self {
        Self {
            agent: Value::String(agent_id.to_owned()),
            environment_id: environment_id.to_owned(),
            ..Self::default()
        }
    }
}

/// A session as the provider returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// `sesn_…`
    pub id: String,
    /// The current status.
    pub status: SessionStatus,
    /// The snapshot of the resolved agent, kept as JSON.
    #[serde(default)]
    pub agent: Value,
    /// The environment.
    #[serde(default)]
    pub environment_id: String,
    /// The title.
    #[serde(default)]
    pub title: Option<String>,
    /// Tags.
    #[serde(default)]
    pub metadata: Metadata,
    /// Vaults.
    #[serde(default)]
    pub vault_ids: Vec<String>,
    /// Mounted resources, as JSON.
    #[serde(default)]
    pub resources: Vec<Value>,
    /// The enforced spend ceiling; `None` when uncapped.
    #[serde(default)]
    pub budget: Option<BudgetLimit>,
    /// Cumulative usage: tokens, list cost, active seconds, server tool use.
    #[serde(default)]
    pub usage: Option<SessionUsage>,
    /// Timing statistics.
    #[serde(default)]
    pub stats: Option<SessionStats>,
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

impl HasMetadata for Session {
    fn id(&self) -> &str {
        &self.id
    }
    fn metadata(&self) -> &Metadata {
        &self.metadata
    }
}

/// The query of `GET /v1/sessions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionListParams {
    /// `limit`, `page`, `include_archived`.
    pub list: ListParams,
    /// Only sessions of this agent.
    pub agent_id: Option<String>,
    /// Only sessions in these statuses.
    pub statuses: Vec<SessionStatus>,
    /// `asc` or `desc` by creation (provider default `desc`).
    pub order: Option<String>,
    /// Only sessions created at or after this instant.
    pub created_at_gte: Option<DateTime<Utc>>,
}

impl SessionListParams {
    pub(crate) fn to_query(&self) -> Vec<(String, String)> {
        let mut query = self.list.to_query();
        if let Some(agent) = &self.agent_id {
            query.push(("agent_id".to_owned(), agent.clone()));
        }
        for status in &self.statuses {
            query.push(("statuses[]".to_owned(), status.as_str().to_owned()));
        }
        if let Some(order) = &self.order {
            query.push(("order".to_owned(), order.clone()));
        }
        if let Some(at) = self.created_at_gte {
            query.push((
                "created_at[gte]".to_owned(),
                at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ));
        }
        query
    }
}
