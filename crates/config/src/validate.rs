//! Per-role validation that reports every problem at once.

use std::fmt;

use antpath_redact::Secret;

use crate::{Settings, StorageBackend};

/// Which service is starting; each needs a different part of the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The HTTP API and dashboard.
    Bff,
    /// A lifecycle worker.
    Worker,
    /// The periodic sweeper.
    Sweeper,
    /// A one-off administrative command (migrate, bootstrap): needs only the database.
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bff => "bff",
            Self::Worker => "worker",
            Self::Sweeper => "sweeper",
            Self::Admin => "admin",
        })
    }
}

/// Every problem found in the configuration, one sentence each. Displays as one message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The problems, each naming its environment variable.
    pub problems: Vec<String>,
}

impl ConfigError {
    pub(crate) fn new(problems: Vec<String>) -> Self {
        Self { problems }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration ({} problem", self.problems.len())?;
        if self.problems.len() != 1 {
            f.write_str("s")?;
        }
        f.write_str("):")?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// The smallest length of a pepper or signing key, in bytes.
const MIN_KEY_BYTES: usize = 32;

impl Settings {
    /// Checks everything `role` needs. Returns every problem found, not just the first.
    pub fn validate(&self, role: Role) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        match &self.database.url {
            None => problems.push("ANTPATH_DATABASE__URL (or DATABASE_URL) is required".into()),
            Some(url) if !url.expose_secret().starts_with("postgres") => problems
                .push("ANTPATH_DATABASE__URL must be a postgres:// or postgresql:// URL".into()),
            Some(_) => {}
        }
        if role != Role::Admin {
            problems.extend(self.limits.problems());
        }
        match role {
            Role::Bff => {
                problems.extend(self.pepper_problems());
                self.check_encryption(&mut problems);
                self.check_storage(&mut problems);
                for (name, value) in [
                    (
                        "ANTPATH_BFF__HEADER_READ_TIMEOUT_MS",
                        self.bff.header_read_timeout_ms,
                    ),
                    (
                        "ANTPATH_BFF__BODY_READ_TIMEOUT_MS",
                        self.bff.body_read_timeout_ms,
                    ),
                    (
                        "ANTPATH_BFF__SESSION_IDLE_MINUTES",
                        self.bff.session_idle_minutes,
                    ),
                    (
                        "ANTPATH_BFF__SESSION_ABSOLUTE_HOURS",
                        self.bff.session_absolute_hours,
                    ),
                    (
                        "ANTPATH_BFF__STREAM_HEARTBEAT_MS",
                        self.bff.stream_heartbeat_ms,
                    ),
                ] {
                    if value == 0 {
                        problems.push(format!("{name} must be greater than 0"));
                    }
                }
                if let Some(url) = &self.bff.public_base_url
                    && !(url.starts_with("http://") || url.starts_with("https://"))
                {
                    problems.push(
                        "ANTPATH_BFF__PUBLIC_BASE_URL must start with http:// or https://".into(),
                    );
                }
            }
            Role::Worker => {
                if self.worker.id.as_deref().is_none_or(str::is_empty) {
                    problems.push("ANTPATH_WORKER__ID is required (the replica's identity, e.g. the pod name)".into());
                }
                if self.worker.concurrency == 0 {
                    problems.push("ANTPATH_WORKER__CONCURRENCY must be greater than 0".into());
                }
                if !self.provider.base_url.starts_with("http") {
                    problems.push("ANTPATH_PROVIDER__BASE_URL must be an http(s) URL".into());
                }
                self.check_encryption(&mut problems);
                self.check_storage(&mut problems);
            }
            Role::Sweeper => {
                if self.sweeper.batch_size <= 0 {
                    problems.push("ANTPATH_SWEEPER__BATCH_SIZE must be greater than 0".into());
                }
                if self.sweeper.statement_timeout_ms == 0 {
                    problems.push(
                        "ANTPATH_SWEEPER__STATEMENT_TIMEOUT_MS must be greater than 0".into(),
                    );
                }
                self.check_storage(&mut problems);
            }
            Role::Admin => {}
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::new(problems))
        }
    }

    /// The problems of the token peppers: at least one pepper, each at least 32 bytes, an
    /// active id that names one of them, and no `TOKEN_PEPPERS__LEGACY` next to the legacy
    /// `TOKEN_PEPPER`. `create-token` and `rotate-pepper` need exactly this part.
    pub fn pepper_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let bff = &self.bff;
        if bff.token_pepper.is_none() && bff.token_peppers.is_empty() {
            problems.push(format!(
                "ANTPATH_BFF__TOKEN_PEPPER (or ANTPATH_BFF__TOKEN_PEPPERS__<ID> with ANTPATH_BFF__ACTIVE_PEPPER_ID) is required (at least {MIN_KEY_BYTES} random bytes)"
            ));
            return problems;
        }
        if bff.token_pepper.is_some() {
            require_key(
                &mut problems,
                "ANTPATH_BFF__TOKEN_PEPPER",
                bff.token_pepper.as_ref(),
            );
        }
        if bff.token_pepper.is_some() && bff.token_peppers.contains_key(crate::LEGACY_PEPPER_ID) {
            problems.push(format!(
                "ANTPATH_BFF__TOKEN_PEPPERS__{} conflicts with ANTPATH_BFF__TOKEN_PEPPER, which is the pepper `{}`: set only one",
                crate::LEGACY_PEPPER_ID.to_uppercase(),
                crate::LEGACY_PEPPER_ID
            ));
        }
        for (id, pepper) in &bff.token_peppers {
            require_key(
                &mut problems,
                &format!("ANTPATH_BFF__TOKEN_PEPPERS__{}", id.to_uppercase()),
                Some(pepper),
            );
        }
        match bff.active_pepper() {
            None => problems.push(
                "ANTPATH_BFF__ACTIVE_PEPPER_ID is required when ANTPATH_BFF__TOKEN_PEPPERS__<ID> is set".into(),
            ),
            Some(active) if !bff.peppers().contains_key(&active) => problems.push(format!(
                "ANTPATH_BFF__ACTIVE_PEPPER_ID names `{active}`, which is not a configured pepper"
            )),
            Some(_) => {}
        }
        problems
    }

    /// The problems of the vault key ring: the active key id and its key are required, and
    /// every configured key (the old ones kept for opening too) must be base64 of 32 bytes.
    /// `rotate-vault-key` needs exactly this part of the settings.
    pub fn encryption_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        self.check_encryption(&mut problems);
        problems
    }

    fn check_encryption(&self, problems: &mut Vec<String>) {
        for (id, key) in &self.encryption.keys {
            if decoded_len(key) != Some(32) {
                problems.push(format!(
                    "ANTPATH_ENCRYPTION__KEYS__{} must be base64 of exactly 32 bytes",
                    id.to_uppercase()
                ));
            }
        }
        let Some(active) = self.encryption.active_key_id.as_deref() else {
            problems.push("ANTPATH_ENCRYPTION__ACTIVE_KEY_ID is required".into());
            return;
        };
        if !self.encryption.keys.contains_key(active) {
            problems.push(format!(
                "ANTPATH_ENCRYPTION__KEYS__{} is required (the active key; base64 of 32 bytes)",
                active.to_uppercase()
            ));
        }
    }

    fn check_storage(&self, problems: &mut Vec<String>) {
        match self.storage.backend {
            StorageBackend::Local => {
                if self.storage.local_dir.is_empty() {
                    problems.push("ANTPATH_STORAGE__LOCAL_DIR must not be empty".into());
                }
                require_key(
                    problems,
                    "ANTPATH_STORAGE__SIGNING_KEY",
                    self.storage.signing_key.as_ref(),
                );
            }
            StorageBackend::S3 => {
                let s3 = &self.storage.s3;
                if s3.bucket.as_deref().is_none_or(str::is_empty) {
                    problems
                        .push("ANTPATH_STORAGE__S3__BUCKET is required with the s3 backend".into());
                }
                if s3.region.as_deref().is_none_or(str::is_empty) {
                    problems
                        .push("ANTPATH_STORAGE__S3__REGION is required with the s3 backend".into());
                }
                if s3.access_key_id.is_none() != s3.secret_access_key.is_none() {
                    problems.push(
                        "ANTPATH_STORAGE__S3__ACCESS_KEY_ID and ANTPATH_STORAGE__S3__SECRET_ACCESS_KEY go together".into(),
                    );
                }
            }
        }
    }
}

fn require_key(problems: &mut Vec<String>, name: &str, value: Option<&Secret<String>>) {
    match value {
        None => problems.push(format!(
            "{name} is required (at least {MIN_KEY_BYTES} random bytes)"
        )),
        Some(value) if value.expose_secret().len() < MIN_KEY_BYTES => {
            problems.push(format!(
                "{name} must be at least {MIN_KEY_BYTES} bytes long"
            ));
        }
        Some(_) => {}
    }
}

/// Length of standard base64 once decoded, without pulling in a decoder: `None` if the text
/// is not well-formed padded base64.
fn decoded_len(value: &Secret<String>) -> Option<usize> {
    let text = value.expose_secret().trim();
    if text.is_empty() || !text.len().is_multiple_of(4) {
        return None;
    }
    let body = text.trim_end_matches('=');
    let padding = text.len() - body.len();
    if padding > 2
        || !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    {
        return None;
    }
    Some(text.len() / 4 * 3 - padding)
}
