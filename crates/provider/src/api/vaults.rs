//! `/v1/vaults` and their credentials: create, get, list, archive, delete.

use reqwest::Method;
use tracing::instrument;

use super::deleted;
use crate::error::ProviderError;
use crate::pagination::{ListParams, Page, collect_all};
use crate::transport::{Call, ProviderClient};
use crate::types::Deleted;
use crate::types::vault::{CreateCredential, CreateVault, Credential, Vault};

impl ProviderClient {
    /// `POST /v1/vaults`. Not retried.
    #[instrument(skip_all)]
    pub async fn create_vault(&self, params: &CreateVault) -> Result<Vault, ProviderError> {
        let call = Call::new(Method::POST, "/v1/vaults", &["v1", "vaults"]).json(params)?;
        self.json(call).await
    }

    /// `GET /v1/vaults/{id}`.
    #[instrument(skip_all, fields(vault.id = %id))]
    pub async fn get_vault(&self, id: &str) -> Result<Vault, ProviderError> {
        self.json(Call::new(
            Method::GET,
            "/v1/vaults/{id}",
            &["v1", "vaults", id],
        ))
        .await
    }

    /// `GET /v1/vaults`, one page (newest first).
    #[instrument(skip_all)]
    pub async fn list_vaults(&self, params: &ListParams) -> Result<Page<Vault>, ProviderError> {
        let call = Call::new(Method::GET, "/v1/vaults", &["v1", "vaults"]).query(params.to_query());
        self.json(call).await
    }

    /// Every vault, following `next_page`.
    pub async fn list_all_vaults(&self, params: &ListParams) -> Result<Vec<Vault>, ProviderError> {
        collect_all(params.page.clone(), |page| {
            let params = params.at_page(page);
            async move { self.list_vaults(&params).await }
        })
        .await
    }

    /// `POST /v1/vaults/{id}/archive`: purges the secrets of every credential. Retried.
    #[instrument(skip_all, fields(vault.id = %id))]
    pub async fn archive_vault(&self, id: &str) -> Result<Vault, ProviderError> {
        let call = Call::new(
            Method::POST,
            "/v1/vaults/{id}/archive",
            &["v1", "vaults", id, "archive"],
        )
        .idempotent();
        self.json(call).await
    }

    /// `DELETE /v1/vaults/{id}`.
    #[instrument(skip_all, fields(vault.id = %id))]
    pub async fn delete_vault(&self, id: &str) -> Result<Deleted, ProviderError> {
        let call = Call::new(Method::DELETE, "/v1/vaults/{id}", &["v1", "vaults", id]);
        deleted(self.json(call).await?, id)
    }

    /// `POST /v1/vaults/{id}/credentials`. Not retried. The token goes into the body only.
    #[instrument(skip_all, fields(vault.id = %vault_id))]
    pub async fn create_credential(
        &self,
        vault_id: &str,
        params: &CreateCredential,
    ) -> Result<Credential, ProviderError> {
        let call = Call::new(
            Method::POST,
            "/v1/vaults/{id}/credentials",
            &["v1", "vaults", vault_id, "credentials"],
        )
        .json(params)?;
        self.json(call).await
    }

    /// `GET /v1/vaults/{id}/credentials`, one page.
    #[instrument(skip_all, fields(vault.id = %vault_id))]
    pub async fn list_credentials(
        &self,
        vault_id: &str,
        params: &ListParams,
    ) -> Result<Page<Credential>, ProviderError> {
        let call = Call::new(
            Method::GET,
            "/v1/vaults/{id}/credentials",
            &["v1", "vaults", vault_id, "credentials"],
        )
        .query(params.to_query());
        self.json(call).await
    }

    /// `DELETE /v1/vaults/{id}/credentials/{credential_id}`.
    #[instrument(skip_all, fields(vault.id = %vault_id, credential.id = %credential_id))]
    pub async fn delete_credential(
        &self,
        vault_id: &str,
        credential_id: &str,
    ) -> Result<Deleted, ProviderError> {
        let call = Call::new(
            Method::DELETE,
            "/v1/vaults/{id}/credentials/{credential_id}",
            &["v1", "vaults", vault_id, "credentials", credential_id],
        );
        deleted(self.json(call).await?, credential_id)
    }
}
