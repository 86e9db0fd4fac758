//! Who the token is, and the management of API tokens (`tokens:manage`).

use antpath_types::TokenId;
use reqwest::Method;
use serde_json::json;

use crate::client::{Call, Client, Repeat};
use crate::error::Result;
use crate::model::{ApiToken, CreatedToken, TokenList, Whoami};

impl Client {
    /// The workspace, token and user the client acts as.
    pub async fn whoami(&self) -> Result<Whoami> {
        self.json(Call::get("/v1/whoami".into())).await
    }

    /// The workspace's API tokens (metadata only).
    pub async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        let list: TokenList = self.json(Call::get("/v1/tokens".into())).await?;
        Ok(list.data)
    }

    /// Creates a token with `scopes` (such as `runs:read`). The value is in the answer and
    /// nowhere else, ever. Sent once: a retry could create a second token.
    pub async fn create_token(&self, name: &str, scopes: &[&str]) -> Result<CreatedToken> {
        let mut call = Call::new(Method::POST, "/v1/tokens".into(), Repeat::Once);
        call.body = Some(json!({ "name": name, "scopes": scopes }));
        self.json(call).await
    }

    /// Revokes a token. Idempotent, and so retried.
    pub async fn revoke_token(&self, id: TokenId) -> Result<ApiToken> {
        let path = format!("/v1/tokens/{id}");
        self.json(Call::new(Method::DELETE, path, Repeat::Safe))
            .await
    }
}
