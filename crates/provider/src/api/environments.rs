//! `/v1/environments`: create, get, list, archive, delete.

use reqwest::Method;
use tracing::instrument;

use super::deleted;
use crate::error::ProviderError;
use crate::pagination::{ListParams, Page, collect_all};
use crate::transport::{Call, ProviderClient};
use crate::types::Deleted;
use crate::types::environment::{CreateEnvironment, Environment};

impl ProviderClient {
    /// `POST /v1/environments`. Not retried.
    #[instrument(skip_all)]
    pub async fn create_environment(
        &self,
        params: &CreateEnvironment,
    ) -> Result<Environment, ProviderError> {
        let call =
            Call::new(Method::POST, "/v1/environments", &["v1", "environments"]).json(params)?;
        self.json(call).await
    }

    /// `GET /v1/environments/{id}`.
    #[instrument(skip_all, fields(environment.id = %id))]
    pub async fn get_environment(&self, id: &str) -> Result<Environment, ProviderError> {
        self.json(Call::new(
            Method::GET,
            "/v1/environments/{id}",
            &["v1", "environments", id],
        ))
        .await
    }

    /// `GET /v1/environments`, one page.
    #[instrument(skip_all)]
    pub async fn list_environments(
        &self,
        params: &ListParams,
    ) -> Result<Page<Environment>, ProviderError> {
        let call = Call::new(Method::GET, "/v1/environments", &["v1", "environments"])
            .query(params.to_query());
        self.json(call).await
    }

    /// Every environment, following `next_page`.
    pub async fn list_all_environments(
        &self,
        params: &ListParams,
    ) -> Result<Vec<Environment>, ProviderError> {
        collect_all(params.page.clone(), |page| {
            let params = params.at_page(page);
            async move { self.list_environments(&params).await }
        })
        .await
    }

    /// `POST /v1/environments/{id}/archive`. Idempotent, so retried.
    #[instrument(skip_all, fields(environment.id = %id))]
    pub async fn archive_environment(&self, id: &str) -> Result<Environment, ProviderError> {
        let call = Call::new(
            Method::POST,
            "/v1/environments/{id}/archive",
            &["v1", "environments", id, "archive"],
        )
        .idempotent();
        self.json(call).await
    }

    /// `DELETE /v1/environments/{id}`; fails while sessions still reference it.
    #[instrument(skip_all, fields(environment.id = %id))]
    pub async fn delete_environment(&self, id: &str) -> Result<Deleted, ProviderError> {
        let call = Call::new(
            Method::DELETE,
            "/v1/environments/{id}",
            &["v1", "environments", id],
        );
        deleted(self.json(call).await?, id)
    }
}
