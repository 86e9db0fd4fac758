//! Vault key rotation: re-sealing live runs' secrets bundles under the active key, in bounded
//! batches, and counting which key ids bundles still reference.
//!
//! A bundle lives only as long as its run (cleanup destroys it), so "live" is every row of
//! `run_secrets`. Re-sealing replaces a row's five sealed columns in one `UPDATE`: a worker
//! reading the bundle for a step sees either the old seal (which its ring still opens, since
//! the old key stays configured until this reports it unreferenced) or the new one, never a mix.

use antpath_types::{RunId, SecretId};
use sqlx::{PgConnection, PgExecutor};

use crate::runs::SealedSecret;

/// A bundle sealed under a key other than the active one, locked for re-sealing.
#[derive(Debug, Clone)]
pub struct StaleBundle {
    /// The run it belongs to (the associated data of both seals).
    pub run_id: RunId,
    /// The sealed row.
    pub sealed: SealedSecret,
}

/// Locks up to `limit` bundles whose key id is not `active_key_id`, skipping rows another
/// transaction holds (a concurrent rotation, or a cleanup destroying the bundle), so two
/// rotations never wait on each other and never re-seal the same row twice.
#[tracing::instrument(skip_all)]
pub async fn lock_stale_batch(
    tx: &mut PgConnection,
    active_key_id: &str,
    limit: i64,
) -> Result<Vec<StaleBundle>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select id as "id: SecretId", run_id as "run_id: RunId", key_id, wrapped_key,
                  wrap_nonce, ciphertext, nonce
           from run_secrets
           where key_id <> $1
           order by id
           limit $2
           for update skip locked"#,
        active_key_id,
        limit,
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| StaleBundle {
            run_id: row.run_id,
            sealed: SealedSecret {
                id: row.id,
                key_id: row.key_id,
                wrapped_key: row.wrapped_key,
                wrap_nonce: row.wrap_nonce,
                ciphertext: row.ciphertext,
                nonce: row.nonce,
            },
        })
        .collect())
}

/// Replaces a locked bundle's seal with `sealed` (same row id, new key id, data key and
/// ciphertext), all in one statement.
#[tracing::instrument(skip_all, fields(secret.id = %sealed.id))]
pub async fn reseal(tx: &mut PgConnection, sealed: &SealedSecret) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update run_secrets
         set key_id = $2, wrapped_key = $3, wrap_nonce = $4, ciphertext = $5, nonce = $6
         where id = $1",
        sealed.id as SecretId,
        sealed.key_id,
        sealed.wrapped_key,
        sealed.wrap_nonce,
        sealed.ciphertext,
        sealed.nonce,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// How many bundles reference one key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    /// The key id.
    pub key_id: String,
    /// Bundles sealed under it.
    pub bundles: i64,
}

/// Bundles per key id, for every key id some bundle references. The provider keys sealed on
/// live agent-cache entries count too: they are not re-sealed (an entry lives at most its idle
/// time past its last run), so an old key stays referenced until those entries are retired.
#[tracing::instrument(skip_all)]
pub async fn bundles_by_key(db: impl PgExecutor<'_>) -> Result<Vec<KeyUse>, sqlx::Error> {
    sqlx::query_as!(
        KeyUse,
        r#"select key_id as "key_id!", count(*) as "bundles!"
           from (select key_id from run_secrets
                 union all
                 select key_id from provider_cache where key_id is not null) sealed
           group by key_id order by key_id"#
    )
    .fetch_all(db)
    .await
}
