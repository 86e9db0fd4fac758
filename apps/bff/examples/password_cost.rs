//! How long one sign-in's password verification takes with the bff's argon2id parameters, next
//! to the argon2 crate's defaults as a baseline, on this machine:
//!
//! ```text
//! cargo run --release -p antpath-bff --example password_cost
//! ```
//!
//! The figure to aim for is about 50 ms: slow for a guesser, unnoticeable for a person.

use std::time::Instant;

use antpath_redact::Secret;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Verifications timed per parameter set.
const ROUNDS: u32 = 20;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let ours = runtime.block_on(antpath_bff::password::hash(Secret::new(
        "a password".into(),
    )))?;
    report(
        "antpath (bff sign-in)",
        &ours,
        &Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            antpath_bff::password::params(),
        ),
    );

    let default = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default());
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let baseline = default
        .hash_password(b"a password", &salt)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_string();
    report("baseline (argon2 crate defaults)", &baseline, &default);
    Ok(())
}

fn report(label: &str, phc: &str, hasher: &Argon2<'_>) {
    let parsed = PasswordHash::new(phc).expect("a valid PHC string");
    let started = Instant::now();
    for _ in 0..ROUNDS {
        assert!(hasher.verify_password(b"a password", &parsed).is_ok());
    }
    let per = started.elapsed().as_secs_f64() * 1000.0 / f64::from(ROUNDS);
    let params = phc.split('$').nth(3).unwrap_or("?");
    println!("{label:<34} {params:<18} {per:>6.1} ms per verification");
}
