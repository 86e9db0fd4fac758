//! `/v1/agents`: create, get, list, archive (agents cannot be deleted).

use reqwest::Method;
use tracing::instrument;

use crate::error::ProviderError;
use crate::pagination::{ListParams, Page, collect_all};
use crate::transport::{Call, ProviderClient};
use crate::types::agent::{Agent, CreateAgent};

impl ProviderClient {
    /// `POST /v1/agents`. Not retried.
    #[instrument(skip_all)]
    pub async fn create_agent(&self, params: &CreateAgent) -> Result<Agent, ProviderError> {
        let call = Call::new(Method::POST, "/v1/agents", &["v1", "agents"]).json(params)?;
        self.json(call).await
    }

    /// `GET /v1/agents/{id}`, the latest version.
    #[instrument(skip_all, fields(agent.id = %id))]
    pub async fn get_agent(&self, id: &str) -> Result<Agent, ProviderError> {
        self.json(Call::new(
            Method::GET,
            "/v1/agents/{id}",
            &["v1", "agents", id],
        ))
        .await
    }

    /// `GET /v1/agents`, one page.
    #[instrument(skip_all)]
    pub async fn list_agents(&self, params: &ListParams) -> Result<Page<Agent>, ProviderError> {
        let call = Call::new(Method::GET, "/v1/agents", &["v1", "agents"]).query(params.to_query());
        self.json(call).await
    }

    /// Every agent, following `next_page`.
    pub async fn list_all_agents(&self, params: &ListParams) -> Result<Vec<Agent>, ProviderError> {
        collect_all(params.page.clone(), |page| {
            let params = params.at_page(page);
            async move { self.list_agents(&params).await }
        })
        .await
    }

    /// `POST /v1/agents/{id}/archive`. Idempotent, so retried.
    #[instrument(skip_all, fields(agent.id = %id))]
    pub async fn archive_agent(&self, id: &str) -> Result<Agent, ProviderError> {
        let call = Call::new(
            Method::POST,
            "/v1/agents/{id}/archive",
            &["v1", "agents", id, "archive"],
        )
        .idempotent();
        self.json(call).await
    }
}
