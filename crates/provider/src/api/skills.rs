//! `/v1/skills`: read a skill or one of its versions, to check an agent's reference. The SDK
//! sends no beta header on these routes.

use reqwest::Method;
use tracing::instrument;

use crate::error::ProviderError;
use crate::transport::{Call, ProviderClient};
use crate::types::skill::{Skill, SkillVersion};

impl ProviderClient {
    /// `GET /v1/skills/{id}`.
    #[instrument(skip_all, fields(skill.id = %id))]
    pub async fn get_skill(&self, id: &str) -> Result<Skill, ProviderError> {
        let call = Call::new(Method::GET, "/v1/skills/{id}", &["v1", "skills", id]).without_beta();
        self.json(call).await
    }

    /// `GET /v1/skills/{id}/versions/{version}`.
    #[instrument(skip_all, fields(skill.id = %id, skill.version = %version))]
    pub async fn get_skill_version(
        &self,
        id: &str,
        version: &str,
    ) -> Result<SkillVersion, ProviderError> {
        let call = Call::new(
            Method::GET,
            "/v1/skills/{id}/versions/{version}",
            &["v1", "skills", id, "versions", version],
        )
        .without_beta();
        self.json(call).await
    }
}
