//! The cluster-wide provider throttle: one durable token bucket per provider key, shared by
//! every replica through `rate_limit_buckets`, so N workers slow down together.
//!
//! The bucket is named `provider:<sha256 of the key>`; the key itself never leaves memory. A
//! 429 with a `retry-after` pauses the bucket for every replica until then.
//!
//! A call *reserves* its token: when the bucket is empty the caller is given its own slot in
//! the refill, up to [`MAX_SLEEP`] ahead, and sleeps until then; only beyond that does the
//! step give its lease back and come again later (with jitter). So a crowd of runs on one hot
//! key queues in order instead of all retrying on every refill tick.

use std::time::Duration;

use antpath_db::rate_limits::{self, BucketSpec, Reservation};
use antpath_provider::ProviderError;
use antpath_redact::Secret;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::{StepError, StepResult};

/// The longest a call sleeps for its reserved token while its step holds the lease.
pub const MAX_SLEEP: Duration = Duration::from_secs(2);

/// The bucket of one provider key.
#[derive(Debug, Clone)]
pub struct Throttle {
    key: String,
    reads: BucketSpec,
    creates: BucketSpec,
}

/// What a call costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A GET, list, archive or delete.
    Read,
    /// A create or an event send.
    Create,
}

impl Throttle {
    /// The throttle of `api_key`, sized by the limits.
    pub fn for_key(
        api_key: &Secret<String>,
        reads_per_second: u32,
        creates_per_minute: u32,
    ) -> Self {
        let digest = Sha256::digest(api_key.expose_secret().as_bytes());
        Self {
            key: format!("provider:{}", hex::encode(digest)),
            reads: BucketSpec::per_second(reads_per_second.max(1)),
            creates: BucketSpec::per_minute(creates_per_minute.max(1)),
        }
    }

    /// The bucket names (reads, creates); safe to log.
    pub fn bucket(&self, kind: CallKind) -> String {
        match kind {
            CallKind::Read => format!("{}:read", self.key),
            CallKind::Create => format!("{}:create", self.key),
        }
    }

    /// Reserves one token for a call of `kind` and sleeps until it is there, or fails with
    /// [`StepError::Throttled`] (a jittered wait) when the bucket owes more than [`MAX_SLEEP`].
    pub async fn take(&self, pool: &PgPool, kind: CallKind) -> StepResult<()> {
        let spec = self.spec(kind);
        match rate_limits::reserve(pool, &self.bucket(kind), spec, 1.0, MAX_SLEEP).await? {
            Reservation::Granted { wait } => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                Ok(())
            }
            Reservation::Limited { retry_after } => {
                // Spread the refused callers over the next stretch of the refill.
                let spread = 1.0 + rand::random::<f64>();
                Err(StepError::Throttled(retry_after.mul_f64(spread)))
            }
        }
    }

    /// After a provider error: a 429 pauses both buckets for every replica.
    pub async fn observe(&self, pool: &PgPool, err: &ProviderError) {
        if err.status() != Some(429) {
            return;
        }
        let wait = err.retry_after().unwrap_or(Duration::from_secs(1));
        let Ok(wait) = chrono::Duration::from_std(wait) else {
            return;
        };
        let until = chrono::Utc::now() + wait;
        for kind in [CallKind::Read, CallKind::Create] {
            if let Err(db) =
                rate_limits::pause_until(pool, &self.bucket(kind), self.spec(kind), until).await
            {
                tracing::warn!(error.message = %db, "could not pause the provider bucket");
            }
        }
    }

    fn spec(&self, kind: CallKind) -> BucketSpec {
        match kind {
            CallKind::Read => self.reads,
            CallKind::Create => self.creates,
        }
    }
}
