//! Identifiers and timestamps in the provider's formats.
//!
//! Ids are a resource prefix (`sesn_`, `file_`, …) followed by `011C` and 20 random base62
//! characters, which is what the provider's ids look like; timestamps are RFC 3339 UTC with `Z`.

use chrono::{SecondsFormat, Utc};

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Random characters after the fixed `011C` part of an id.
const RANDOM_CHARS: usize = 20;

/// A fresh id such as `sesn_011CZkZAtmR3yMPDzynEDxu7`.
pub fn new_id(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1 + 4 + RANDOM_CHARS);
    out.push_str(prefix);
    out.push('_');
    out.push_str("011C");
    push_random(&mut out, RANDOM_CHARS);
    out
}

/// A fresh request id such as `req_011CRv1W3XQ8XpFikNYG7RnE`.
pub fn request_id() -> String {
    new_id("req")
}

fn push_random(out: &mut String, n: usize) {
    let mut left = n;
    while left > 0 {
        let mut value = uuid::Uuid::new_v4().as_u128();
        // A v4 uuid carries 122 random bits: enough for 20 base62 digits (~119 bits).
        for _ in 0..left.min(RANDOM_CHARS) {
            out.push(BASE62[(value % 62) as usize] as char);
            value /= 62;
            left -= 1;
        }
    }
}

/// The current time as RFC 3339 with microseconds and a `Z` suffix.
pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
