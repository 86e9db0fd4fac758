//! Envelope encryption of per-run secrets bundles.
//!
//! Each bundle (the user's Anthropic key, MCP bearer tokens and variable values, as JSON) is
//! sealed with AES-256-GCM under a fresh random 256-bit *data key*; the data key is sealed with
//! AES-256-GCM under a *key-encryption key* from configuration, named by a key id. Both seals use
//! the run id as associated data, so a sealed bundle moved to another run's row fails to open.
//!
//! Rotation: new bundles use the active key id; opening uses the key id stored with the bundle,
//! so old ids stay configured until no bundle references them — either because every bundle
//! sealed under them was destroyed with its run, or because `antpath-bff admin
//! rotate-vault-key` re-sealed them under the active key ([`KeyRing::reseal`]).
//!
//! The plaintext only ever exists as a [`Secret`], and only inside [`KeyRing::seal`] and the
//! caller of [`KeyRing::open`].

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use antpath_redact::Secret;
use antpath_types::RunId;
use base64::Engine as _;
use uuid::Uuid;

/// A sealed bundle, as stored in `run_secrets` (every field is ciphertext or public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The key id that wrapped the data key.
    pub key_id: String,
    /// The data key, sealed.
    pub wrapped_key: Vec<u8>,
    /// Nonce of the key wrap.
    pub wrap_nonce: Vec<u8>,
    /// The bundle, sealed.
    pub ciphertext: Vec<u8>,
    /// Nonce of the bundle seal.
    pub nonce: Vec<u8>,
}

/// Why a bundle could not be sealed or opened. Never carries key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// A configured key is not base64 of 32 bytes.
    #[error("encryption key `{0}` is not base64 of 32 bytes")]
    BadKey(String),
    /// The active key id has no key.
    #[error("no encryption key is configured under id `{0}`")]
    UnknownKey(String),
    /// Authentication failed: wrong key, wrong run, or tampered data.
    #[error("the sealed secrets could not be opened")]
    OpenFailed,
    /// Sealing failed (only on a broken random source).
    #[error("the secrets could not be sealed")]
    SealFailed,
}

/// The configured key-encryption keys.
#[derive(Clone)]
pub struct KeyRing {
    active: String,
    keys: BTreeMap<String, Key<Aes256Gcm>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeyRing {
    /// Builds the ring from key id → base64 key, sealing new bundles under `active`.
    pub fn new(active: &str, keys: &BTreeMap<String, Secret<String>>) -> Result<Self, VaultError> {
        let mut decoded = BTreeMap::new();
        for (id, value) in keys {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(value.expose_secret().trim())
                .map_err(|_| VaultError::BadKey(id.clone()))?;
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|_| VaultError::BadKey(id.clone()))?;
            decoded.insert(id.clone(), Key::<Aes256Gcm>::from(bytes));
        }
        if !decoded.contains_key(active) {
            return Err(VaultError::UnknownKey(active.to_owned()));
        }
        Ok(Self {
            active: active.to_owned(),
            keys: decoded,
        })
    }

    /// The id new bundles are sealed under.
    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    /// Every configured key id, the active one included.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Re-seals a bundle under the active key (a fresh data key too), for `run_id`. The
    /// plaintext exists only inside this call.
    pub fn reseal(&self, run_id: RunId, sealed: &Sealed) -> Result<Sealed, VaultError> {
        let plaintext = self.open(run_id, sealed)?;
        self.seal(run_id, &plaintext)
    }

    /// Seals `plaintext` for `run_id` under a fresh data key.
    pub fn seal(&self, run_id: RunId, plaintext: &Secret<String>) -> Result<Sealed, VaultError> {
        self.seal_bound(run_id.as_uuid(), plaintext)
    }

    /// Seals `plaintext` bound to the row `aad` (its id is the associated data, so a seal
    /// copied onto another row does not open) under a fresh data key.
    pub fn seal_bound(&self, aad: Uuid, plaintext: &Secret<String>) -> Result<Sealed, VaultError> {
        let data_key = Aes256Gcm::generate_key(OsRng);
        let nonce = Aes256Gcm::generate_nonce(OsRng);
        let ciphertext = Aes256Gcm::new(&data_key)
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.expose_secret().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| VaultError::SealFailed)?;
        let kek = self
            .keys
            .get(&self.active)
            .ok_or_else(|| VaultError::UnknownKey(self.active.clone()))?;
        let wrap_nonce = Aes256Gcm::generate_nonce(OsRng);
        let wrapped_key = Aes256Gcm::new(kek)
            .encrypt(
                &wrap_nonce,
                Payload {
                    msg: &data_key[..],
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| VaultError::SealFailed)?;
        Ok(Sealed {
            key_id: self.active.clone(),
            wrapped_key,
            wrap_nonce: wrap_nonce.to_vec(),
            ciphertext,
            nonce: nonce.to_vec(),
        })
    }

    /// Opens a bundle sealed for `run_id`.
    pub fn open(&self, run_id: RunId, sealed: &Sealed) -> Result<Secret<String>, VaultError> {
        self.open_bound(run_id.as_uuid(), sealed)
    }

    /// Opens a seal made by [`Self::seal_bound`] for the row `aad`.
    pub fn open_bound(&self, aad: Uuid, sealed: &Sealed) -> Result<Secret<String>, VaultError> {
        let kek = self
            .keys
            .get(&sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKey(sealed.key_id.clone()))?;
        let wrap_nonce = nonce_of(&sealed.wrap_nonce)?;
        let nonce = nonce_of(&sealed.nonce)?;
        let data_key = Aes256Gcm::new(kek)
            .decrypt(
                &wrap_nonce,
                Payload {
                    msg: &sealed.wrapped_key,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| VaultError::OpenFailed)?;
        let data_key: [u8; 32] = data_key.try_into().map_err(|_| VaultError::OpenFailed)?;
        let plaintext = Aes256Gcm::new(&Key::<Aes256Gcm>::from(data_key))
            .decrypt(
                &nonce,
                Payload {
                    msg: &sealed.ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| VaultError::OpenFailed)?;
        String::from_utf8(plaintext)
            .map(Secret::new)
            .map_err(|_| VaultError::OpenFailed)
    }
}

/// A stored nonce, which must be exactly 96 bits.
fn nonce_of(bytes: &[u8]) -> Result<Nonce<aes_gcm::aead::consts::U12>, VaultError> {
    let bytes: [u8; 12] = bytes.try_into().map_err(|_| VaultError::OpenFailed)?;
    Ok(Nonce::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "sk-ant-api03-VAULTCANARY-0123456789";

    fn ring(active: &str) -> KeyRing {
        let mut keys = BTreeMap::new();
        keys.insert("k1".to_owned(), Secret::new(base64_of([7u8; 32])));
        keys.insert("k2".to_owned(), Secret::new(base64_of([9u8; 32])));
        KeyRing::new(active, &keys).expect("valid ring")
    }

    fn base64_of(bytes: [u8; 32]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_sealed_bundle_holds_no_plaintext_and_opens_for_its_run() {
        let run = RunId::new();
        let sealed = ring("k1")
            .seal(run, &Secret::new(format!("{{\"apiKey\":\"{CANARY}\"}}")))
            .expect("seal");
        for field in [&sealed.ciphertext, &sealed.wrapped_key] {
            assert!(!contains(field, CANARY.as_bytes()));
            assert!(!contains(field, b"VAULTCANARY"));
        }
        let opened = ring("k1").open(run, &sealed).expect("open");
        assert!(opened.expose_secret().contains(CANARY));
    }

    #[test]
    fn a_bundle_does_not_open_for_another_run_or_with_another_key() {
        let run = RunId::new();
        let sealed = ring("k1")
            .seal(run, &Secret::new(CANARY.to_owned()))
            .expect("seal");
        assert_eq!(
            ring("k1").open(RunId::new(), &sealed),
            Err(VaultError::OpenFailed)
        );
        let relabelled = Sealed {
            key_id: "k2".into(),
            ..sealed.clone()
        };
        assert_eq!(
            ring("k1").open(run, &relabelled),
            Err(VaultError::OpenFailed)
        );
        let mut tampered = sealed;
        tampered.ciphertext[0] ^= 1;
        assert_eq!(ring("k1").open(run, &tampered), Err(VaultError::OpenFailed));
    }

    #[test]
    fn rotation_keeps_old_bundles_readable() {
        let run = RunId::new();
        let old = ring("k1")
            .seal(run, &Secret::new("old".into()))
            .expect("seal");
        let rotated = ring("k2");
        assert_eq!(
            rotated.open(run, &old).expect("open").expose_secret(),
            "old"
        );
        assert_eq!(
            rotated
                .seal(run, &Secret::new("new".into()))
                .expect("seal")
                .key_id,
            "k2"
        );
    }

    #[test]
    fn resealing_moves_a_bundle_to_the_active_key_and_the_old_key_can_go() {
        let run = RunId::new();
        let old = ring("k1")
            .seal(run, &Secret::new("bundle".into()))
            .expect("seal");
        let resealed = ring("k2").reseal(run, &old).expect("reseal");
        assert_eq!(resealed.key_id, "k2");
        let mut only_new = BTreeMap::new();
        only_new.insert("k2".to_owned(), Secret::new(base64_of([9u8; 32])));
        let retired = KeyRing::new("k2", &only_new).expect("ring");
        assert_eq!(
            retired.open(run, &resealed).expect("open").expose_secret(),
            "bundle"
        );
        assert_eq!(
            retired.open(run, &old),
            Err(VaultError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn errors_and_debug_never_show_key_material() {
        let text = format!("{:?}", ring("k1"));
        assert!(!text.contains(&base64_of([7u8; 32])));
        let mut keys = BTreeMap::new();
        keys.insert("bad".to_owned(), Secret::new("c2hvcnQ=".to_owned()));
        let err = KeyRing::new("bad", &keys).expect_err("short key");
        assert!(!err.to_string().contains("c2hvcnQ="));
    }
}
