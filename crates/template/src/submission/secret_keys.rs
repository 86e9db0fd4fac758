//! Finding keys that look like they carry a secret, anywhere outside `secrets`.
//!
//! # The rule
//!
//! A key is *normalised* by lowercasing it and dropping `_`, `-`, `.` and spaces, so `api_key`,
//! `API-Key` and `apiKey` all become `apikey`. The key is secret-bearing when the normalised
//! form **ends with** one of [`SECRET_SUFFIXES`] or **equals** one of [`SECRET_NAMES`].
//!
//! Matching the end of the key catches compound names (`clientSecret`, `githubToken`,
//! `x-api-key`, `proxyAuthorization`, `extraHeaders`) while leaving alone names where the
//! word only starts or sits inside the key: `maxTokens` ends in `tokens`, `tokenizer` in
//! `izer`, `authorName` in `name`. The MCP server field `auth` is not on either list: it
//! holds an enum (`none`, `static_bearer`), never a credential. A bare `key` is not matched
//! either, because `idempotencyKey` and friends are legitimate; only the specific key kinds
//! (`apiKey`, `privateKey`, `accessKey`, …) are.

use serde_json::Value;

use crate::error::{Issues, child, index};

/// Endings of normalised keys that name a credential.
pub const SECRET_SUFFIXES: &[&str] = &[
    "apikey",
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "credential",
    "credentials",
    "privatekey",
    "secretkey",
    "accesskey",
    "signingkey",
    "encryptionkey",
    "authorization",
    "bearer",
    "cookie",
    "cookies",
    "headers",
];

/// Whole normalised keys that name a credential store without ending in a suffix above.
pub const SECRET_NAMES: &[&str] = &["secrets", "pwd", "apitokens", "accesstokens", "authtokens"];

/// True when `key` looks secret-bearing (see the module doc for the rule).
pub fn is_secret_key(key: &str) -> bool {
    let normalised: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_NAMES.contains(&normalised.as_str())
        || SECRET_SUFFIXES
            .iter()
            .any(|suffix| normalised.ends_with(suffix))
}

/// Records every secret-bearing key inside `value`, each at its JSON pointer under `path`.
///
/// Each offending path is silenced for later checks, so the same key is not also reported as
/// an unknown field.
pub(crate) fn reject_secret_keys(value: &Value, path: &str, issues: &mut Issues) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                let member_path = child(path, key);
                if is_secret_key(key) {
                    issues.push_and_silence(
                        member_path,
                        format!(
                            "`{key}` looks like it holds a credential; credentials go only in `secrets`."
                        ),
                    );
                } else {
                    reject_secret_keys(member, &member_path, issues);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                reject_secret_keys(item, &index(path, i), issues);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::is_secret_key;

    #[test]
    fn the_named_credential_keys_are_all_refused_in_any_spelling() {
        for key in [
            "apiKey",
            "api_key",
            "API-KEY",
            "x-api-key",
            "token",
            "accessToken",
            "refresh_token",
            "password",
            "passwd",
            "secret",
            "clientSecret",
            "client_secret",
            "authorization",
            "Authorization",
            "bearer",
            "bearerToken",
            "credentials",
            "privateKey",
            "private-key",
            "cookie",
            "Set-Cookie",
            "headers",
            "httpHeaders",
            "secrets",
            "pwd",
            "apiTokens",
        ] {
            assert!(is_secret_key(key), "{key} should be refused");
        }
    }

    #[test]
    fn ordinary_keys_that_merely_mention_a_word_are_allowed() {
        for key in [
            "auth",
            "maxTokens",
            "max_tokens",
            "tokens",
            "tokenizer",
            "author",
            "authorName",
            "idempotencyKey",
            "skillId",
            "claudeSession",
            "keyboard",
            "monkey",
            "passage",
            "secretary",
            "description",
            "mcpServers",
            "permissionPolicy",
            "allowedHosts",
        ] {
            assert!(!is_secret_key(key), "{key} should be allowed");
        }
    }
}
