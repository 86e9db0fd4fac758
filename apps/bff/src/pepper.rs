//! The token peppers: the server secrets of every keyed hash (API tokens, session cookies,
//! CSRF tokens, sign-in bucket names), held by id so they can be rotated without downtime.
//!
//! New hashes use the active pepper. A presented token or cookie is hashed under every
//! configured pepper, active first, and looked up by all those hashes in one indexed query:
//! the number of hashes is the number of peppers, whatever is presented. The row records which
//! pepper made its hash, so the match is unambiguous.

use std::collections::BTreeMap;

use antpath_config::Settings;
use antpath_redact::Secret;
use anyhow::Context as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The configured peppers, the active one first.
#[derive(Clone)]
pub struct Peppers {
    ordered: Vec<(String, Secret<String>)>,
}

impl std::fmt::Debug for Peppers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peppers")
            .field("ids", &self.ids().collect::<Vec<_>>())
            .finish()
    }
}

impl Peppers {
    /// The ring of `peppers`, making new hashes under `active`.
    pub fn new(active: &str, peppers: &BTreeMap<String, Secret<String>>) -> anyhow::Result<Self> {
        let first = peppers
            .get(active)
            .with_context(|| format!("no pepper is configured under the active id `{active}`"))?;
        let mut ordered = vec![(active.to_owned(), first.clone())];
        ordered.extend(
            peppers
                .iter()
                .filter(|(id, _)| id.as_str() != active)
                .map(|(id, pepper)| (id.clone(), pepper.clone())),
        );
        Ok(Self { ordered })
    }

    /// The single legacy pepper (`ANTPATH_BFF__TOKEN_PEPPER`) alone.
    pub fn single(pepper: Secret<String>) -> Self {
        Self {
            ordered: vec![(antpath_config::LEGACY_PEPPER_ID.to_owned(), pepper)],
        }
    }

    /// The peppers of validated bff settings.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let active = settings
            .bff
            .active_pepper()
            .context("while reading the active token pepper id")?;
        Self::new(&active, &settings.bff.peppers())
    }

    /// The id new hashes are made with.
    pub fn active_id(&self) -> &str {
        &self.ordered[0].0
    }

    /// The pepper new hashes are made with.
    pub fn active(&self) -> &Secret<String> {
        &self.ordered[0].1
    }

    /// The pepper with id `id`, if it is configured.
    pub fn get(&self, id: &str) -> Option<&Secret<String>> {
        self.ordered
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, pepper)| pepper)
    }

    /// Every configured id, the active one first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.ordered.iter().map(|(id, _)| id.as_str())
    }

    /// Every configured pepper with its id, the active one first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Secret<String>)> {
        self.ordered
            .iter()
            .map(|(id, pepper)| (id.as_str(), pepper))
    }
}

/// HMAC-SHA256 of `label`, a NUL and `value` under `pepper`: the domain-separated keyed hash
/// of session cookies, CSRF tokens and sign-in bucket names.
pub fn labelled_hash(pepper: &Secret<String>, label: &str, value: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(pepper.expose_secret().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(label.as_bytes());
    mac.update(b"\0");
    mac.update(value);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(active: &str) -> Peppers {
        let peppers = BTreeMap::from([
            ("old".to_owned(), Secret::new("o".repeat(32))),
            ("new".to_owned(), Secret::new("n".repeat(32))),
        ]);
        Peppers::new(active, &peppers).expect("peppers")
    }

    #[test]
    fn the_active_pepper_comes_first_and_the_others_follow() {
        let peppers = ring("old");
        assert_eq!(peppers.active_id(), "old");
        assert_eq!(peppers.ids().collect::<Vec<_>>(), ["old", "new"]);
        assert_eq!(ring("new").ids().collect::<Vec<_>>(), ["new", "old"]);
        assert!(peppers.get("gone").is_none());
    }

    #[test]
    fn an_active_id_without_a_pepper_is_refused_and_debug_shows_no_pepper() {
        assert!(Peppers::new("gone", &BTreeMap::new()).is_err());
        let text = format!("{:?}", ring("new"));
        assert!(!text.contains(&"n".repeat(32)), "{text}");
    }
}
