//! Passwords: argon2id hashes, verified off the async threads, with the same cost for an email
//! that has no account.
//!
//! The parameters ([`params`]) make one verification take about 50 ms in a release build on
//! one core (measured by `cargo run --release -p antpath-bff --example password_cost`), which
//! slows a guesser without slowing a person. Verification reads the parameters from the stored
//! PHC string, so raising them later leaves existing hashes valid.

use std::sync::OnceLock;

use antpath_redact::Secret;
use anyhow::Context as _;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory per hash in KiB (32 MiB).
const MEMORY_KIB: u32 = 32 * 1024;
/// Passes over the memory.
const ITERATIONS: u32 = 3;
/// Lanes; one, so a verification occupies one blocking thread only.
const LANES: u32 = 1;

/// The argon2id parameters of new hashes.
pub fn params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, LANES, None).expect("the constant parameters are valid")
}

fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

/// Hashes a password with argon2id on the blocking pool.
pub async fn hash(password: Secret<String>) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_now(password.expose_secret()))
        .await
        .context("while hashing the password")?
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| anyhow::anyhow!("the password could not be hashed"))
}

/// Whether `presented` matches `stored`. With no stored hash (an unknown email, or a user
/// without a password) a dummy hash of the same cost is verified instead and the answer is
/// `false`, so the time taken does not tell whether the account exists.
pub async fn verify(stored: Option<String>, presented: Secret<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let real = stored.is_some();
        let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let matches = PasswordHash::new(&phc).is_ok_and(|parsed| {
            hasher()
                .verify_password(presented.expose_secret().as_bytes(), &parsed)
                .is_ok()
        });
        real && matches
    })
    .await
    .context("while verifying the password")
}

/// A hash of a random password, made once per process with the current parameters.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut random = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut random);
        hash_now(&hex::encode(random)).expect("hashing a random password succeeds")
    })
}

/// Builds the dummy hash ahead of the first sign-in, so that sign-in is not the slow one.
pub fn warm_up() {
    let _hash = dummy_hash();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_right_password_verifies_and_a_wrong_or_missing_one_does_not() {
        let stored = hash(Secret::new("correct horse".into())).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=32768,t=3,p=1$"),
            "{stored}"
        );
        let check = |stored: Option<String>, presented: &str| {
            verify(stored, Secret::new(presented.to_owned()))
        };
        assert!(check(Some(stored.clone()), "correct horse").await.unwrap());
        assert!(!check(Some(stored), "correct horsf").await.unwrap());
        assert!(!check(None, "anything").await.unwrap());
        assert!(!check(Some("not a phc string".into()), "x").await.unwrap());
    }
}
