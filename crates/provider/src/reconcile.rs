//! Finding provider resources by their metadata, to clean up what a crashed worker leaked.
//!
//! No list endpoint filters by metadata, so these helpers page through every resource (archived
//! ones included) and keep those whose metadata contains every requested pair.

use tracing::instrument;

use crate::error::ProviderError;
use crate::pagination::ListParams;
use crate::transport::ProviderClient;
use crate::types::HasMetadata;
use crate::types::agent::Agent;
use crate::types::environment::Environment;
use crate::types::session::{Session, SessionListParams};
use crate::types::vault::Vault;

/// The page size used when scanning; the maximum most lists accept.
const SCAN_PAGE_LIMIT: u32 = 100;

/// True when `resource` carries every `(key, value)` pair.
pub fn metadata_matches<R: HasMetadata>(resource: &R, wanted: &[(&str, &str)]) -> bool {
    wanted
        .iter()
        .all(|(key, value)| resource.metadata().get(*key).is_some_and(|v| v == value))
}

fn scan_params() -> ListParams {
    ListParams::with_limit(SCAN_PAGE_LIMIT).including_archived(true)
}

fn keep<R: HasMetadata>(items: Vec<R>, wanted: &[(&str, &str)]) -> Vec<R> {
    items
        .into_iter()
        .filter(|r| metadata_matches(r, wanted))
        .collect()
}

impl ProviderClient {
    /// Every environment (archived included) whose metadata has all `wanted` pairs.
    #[instrument(skip_all)]
    pub async fn find_environments_by_metadata(
        &self,
        wanted: &[(&str, &str)],
    ) -> Result<Vec<Environment>, ProviderError> {
        Ok(keep(
            self.list_all_environments(&scan_params()).await?,
            wanted,
        ))
    }

    /// Every agent (archived included) whose metadata has all `wanted` pairs.
    #[instrument(skip_all)]
    pub async fn find_agents_by_metadata(
        &self,
        wanted: &[(&str, &str)],
    ) -> Result<Vec<Agent>, ProviderError> {
        Ok(keep(self.list_all_agents(&scan_params()).await?, wanted))
    }

    /// Every vault (archived included) whose metadata has all `wanted` pairs.
    #[instrument(skip_all)]
    pub async fn find_vaults_by_metadata(
        &self,
        wanted: &[(&str, &str)],
    ) -> Result<Vec<Vault>, ProviderError> {
        Ok(keep(self.list_all_vaults(&scan_params()).await?, wanted))
    }

    /// Every session (archived included) whose metadata has all `wanted` pairs. Pass narrower
    /// filters (`agent_id`, `created_at_gte`) in `params` to scan less; its paging fields are
    /// overridden.
    #[instrument(skip_all)]
    pub async fn find_sessions_by_metadata(
        &self,
        params: &SessionListParams,
        wanted: &[(&str, &str)],
    ) -> Result<Vec<Session>, ProviderError> {
        let params = SessionListParams {
            list: scan_params(),
            ..params.clone()
        };
        Ok(keep(self.list_all_sessions(&params).await?, wanted))
    }
}
