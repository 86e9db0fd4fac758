//! `antpath-bff admin rotate-vault-key`: re-seals every live run's secrets bundle under the
//! active key, then reports which key ids bundles still reference. And `rotate-pepper`, which
//! reports which token peppers live tokens and sessions still use ([`pepper_report`]).
//!
//! Each batch is one transaction: lock up to `batch` bundles not under the active key with
//! `FOR UPDATE SKIP LOCKED`, open and re-seal each in memory (no network call while the
//! transaction is open), write the new seals, commit. A worker holding a run reads its bundle
//! with a plain `SELECT` at the start of a step: it never waits on the lock and sees either the
//! committed old seal or the committed new one, both of which its ring opens as long as the
//! old key and the new key are both configured (the runbook rolls every service with both keys
//! before this runs). A run whose bundle is destroyed meanwhile simply drops out of the batch.

use std::collections::BTreeMap;

use antpath_db::PgPool;
use antpath_db::key_rotation::{self, KeyUse};
use antpath_db::runs::SealedSecret;
use antpath_vault::KeyRing;

use crate::pepper::Peppers;
use anyhow::Context as _;

/// What one rotation did and what is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultRotation {
    /// The key id every bundle is now sealed under.
    pub active_key_id: String,
    /// Bundles re-sealed by this run of the command.
    pub resealed: u64,
    /// Bundles per key id still referenced after the command, the active one included.
    pub remaining: BTreeMap<String, i64>,
    /// Configured key ids other than the active one that no bundle references: safe to remove.
    pub retirable: Vec<String>,
}

impl VaultRotation {
    /// The report, one line per old key id, naming those that can be retired.
    pub fn report(&self) -> String {
        let mut lines = vec![format!(
            "re-sealed {} bundle(s) under the active key `{}`",
            self.resealed, self.active_key_id
        )];
        for (key_id, bundles) in &self.remaining {
            if *key_id != self.active_key_id {
                lines.push(format!(
                    "key `{key_id}` is still referenced by {bundles} bundle(s): run the command again"
                ));
            }
        }
        for key_id in &self.retirable {
            lines.push(format!(
                "key `{key_id}` is referenced by nothing and can be retired"
            ));
        }
        lines.join("\n")
    }
}

/// Re-seals every bundle not under the active key, `batch` rows per transaction.
pub async fn rotate_vault_key(
    pool: &PgPool,
    ring: &KeyRing,
    batch: i64,
) -> anyhow::Result<VaultRotation> {
    anyhow::ensure!(batch > 0, "the batch size must be greater than 0");
    let active = ring.active_key_id().to_owned();
    let mut resealed = 0_u64;
    loop {
        let mut tx = pool.begin().await.context("while starting a batch")?;
        let stale = key_rotation::lock_stale_batch(&mut tx, &active, batch)
            .await
            .context("while locking a batch of bundles")?;
        if stale.is_empty() {
            tx.rollback().await.context("while ending the last batch")?;
            break;
        }
        for bundle in &stale {
            let id = bundle.sealed.id;
            let sealed = ring
                .reseal(bundle.run_id, &bundle.sealed.clone().into_sealed())
                .with_context(|| format!("while re-sealing the bundle of run {}", bundle.run_id))?;
            key_rotation::reseal(&mut tx, &SealedSecret::new(id, sealed))
                .await
                .context("while writing a re-sealed bundle")?;
        }
        tx.commit().await.context("while committing a batch")?;
        resealed += stale.len() as u64;
        tracing::info!(resealed, "re-sealed a batch of secrets bundles");
    }
    let remaining: BTreeMap<String, i64> = key_rotation::bundles_by_key(pool)
        .await
        .context("while counting bundles per key")?
        .into_iter()
        .map(|KeyUse { key_id, bundles }| (key_id, bundles))
        .collect();
    let retirable = ring
        .key_ids()
        .filter(|id| *id != active && !remaining.contains_key(*id))
        .map(str::to_owned)
        .collect();
    Ok(VaultRotation {
        active_key_id: active,
        resealed,
        remaining,
        retirable,
    })
}

/// Which peppers live tokens and sessions still use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PepperRotation {
    /// The pepper new hashes are made with.
    pub active_pepper_id: String,
    /// Live tokens per pepper id.
    pub tokens: BTreeMap<String, i64>,
    /// Live sessions per pepper id.
    pub sessions: BTreeMap<String, i64>,
    /// Configured pepper ids other than the active one that no live token or session uses.
    pub retirable: Vec<String>,
}

impl PepperRotation {
    /// The report, one line per old pepper id, naming those that can be retired.
    pub fn report(&self) -> String {
        let mut lines = vec![format!(
            "new tokens and sessions use the active pepper `{}`",
            self.active_pepper_id
        )];
        let old: std::collections::BTreeSet<&String> = self
            .tokens
            .keys()
            .chain(self.sessions.keys())
            .filter(|id| **id != self.active_pepper_id)
            .collect();
        for id in old {
            lines.push(format!(
                "pepper `{id}` is still used by {} token(s) (re-hashed when next used, or revoke them) and {} session(s) (ended by their absolute expiry)",
                self.tokens.get(id).copied().unwrap_or(0),
                self.sessions.get(id).copied().unwrap_or(0),
            ));
        }
        for id in &self.retirable {
            lines.push(format!(
                "pepper `{id}` is used by nothing and can be retired"
            ));
        }
        lines.join("\n")
    }
}

/// Counts live tokens and sessions per pepper id.
pub async fn pepper_report(pool: &PgPool, peppers: &Peppers) -> anyhow::Result<PepperRotation> {
    let tokens: BTreeMap<String, i64> = antpath_db::tokens::live_by_pepper(pool)
        .await
        .context("while counting tokens per pepper")?
        .into_iter()
        .map(|row| (row.pepper_id, row.rows))
        .collect();
    let sessions: BTreeMap<String, i64> = antpath_db::web_sessions::live_by_pepper(pool)
        .await
        .context("while counting sessions per pepper")?
        .into_iter()
        .map(|row| (row.pepper_id, row.rows))
        .collect();
    let active = peppers.active_id().to_owned();
    let retirable = peppers
        .ids()
        .filter(|id| *id != active && !tokens.contains_key(*id) && !sessions.contains_key(*id))
        .map(str::to_owned)
        .collect();
    Ok(PepperRotation {
        active_pepper_id: active,
        tokens,
        sessions,
        retirable,
    })
}
