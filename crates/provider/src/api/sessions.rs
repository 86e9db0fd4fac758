//! `/v1/sessions`: create, get, list, archive, delete.

use reqwest::Method;
use tracing::instrument;

use super::deleted;
use crate::error::ProviderError;
use crate::pagination::{Page, collect_all};
use crate::transport::{Call, ProviderClient};
use crate::types::Deleted;
use crate::types::session::{CreateSession, Session, SessionListParams};

impl ProviderClient {
    /// `POST /v1/sessions` with metadata and vault ids. Not retried: on an ambiguous failure
    /// the caller finds the session by its metadata instead.
    #[instrument(skip_all, fields(environment.id = %params.environment_id))]
    pub async fn create_session(&self, params: &CreateSession) -> Result<Session, ProviderError> {
        let call = Call::new(Method::POST, "/v1/sessions", &["v1", "sessions"]).json(params)?;
        self.json(call).await
    }

    /// `GET /v1/sessions/{id}`: status, usage and stats.
    #[instrument(skip_all, fields(session.id = %id))]
    pub async fn get_session(&self, id: &str) -> Result<Session, ProviderError> {
        self.json(Call::new(
            Method::GET,
            "/v1/sessions/{id}",
            &["v1", "sessions", id],
        ))
        .await
    }

    /// `GET /v1/sessions`, one page.
    #[instrument(skip_all)]
    pub async fn list_sessions(
        &self,
        params: &SessionListParams,
    ) -> Result<Page<Session>, ProviderError> {
        let call =
            Call::new(Method::GET, "/v1/sessions", &["v1", "sessions"]).query(params.to_query());
        self.json(call).await
    }

    /// Every session matching the filters, following `next_page`.
    pub async fn list_all_sessions(
        &self,
        params: &SessionListParams,
    ) -> Result<Vec<Session>, ProviderError> {
        collect_all(params.list.page.clone(), |page| {
            let mut params = params.clone();
            params.list.page = page;
            async move { self.list_sessions(&params).await }
        })
        .await
    }

    /// `POST /v1/sessions/{id}/archive`; rejected while running. Retried.
    #[instrument(skip_all, fields(session.id = %id))]
    pub async fn archive_session(&self, id: &str) -> Result<Session, ProviderError> {
        let call = Call::new(
            Method::POST,
            "/v1/sessions/{id}/archive",
            &["v1", "sessions", id, "archive"],
        )
        .idempotent();
        self.json(call).await
    }

    /// `DELETE /v1/sessions/{id}`: removes its events, sandbox and output files. Rejected while
    /// running.
    #[instrument(skip_all, fields(session.id = %id))]
    pub async fn delete_session(&self, id: &str) -> Result<Deleted, ProviderError> {
        let call = Call::new(Method::DELETE, "/v1/sessions/{id}", &["v1", "sessions", id]);
        deleted(self.json(call).await?, id)
    }
}
