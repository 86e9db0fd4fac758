//! The settings of key rotation: several vault keys and several token peppers by id, each
//! checked, every problem reported at once.

use antpath_config::{LEGACY_PEPPER_ID, Role, Settings};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const PEPPER: &str = "pepper-0123456789abcdefghijklmnopqrstuv";

fn load(pairs: &[(&str, &str)]) -> Settings {
    let mut env = vec![
        ("ANTPATH_DATABASE__URL", "postgres://x@localhost/db"),
        ("ANTPATH_STORAGE__SIGNING_KEY", PEPPER),
        ("ANTPATH_ENCRYPTION__ACTIVE_KEY_ID", "k1"),
        ("ANTPATH_ENCRYPTION__KEYS__K1", KEY),
    ];
    env.extend_from_slice(pairs);
    let env = env
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect::<Vec<_>>();
    Settings::load_from(None, env).expect("loads")
}

#[test]
fn the_single_pepper_is_the_legacy_id_and_active() {
    let settings = load(&[("ANTPATH_BFF__TOKEN_PEPPER", PEPPER)]);
    settings.validate(Role::Bff).expect("valid");
    assert_eq!(
        settings.bff.active_pepper().as_deref(),
        Some(LEGACY_PEPPER_ID)
    );
    assert_eq!(
        settings.bff.peppers().keys().collect::<Vec<_>>(),
        [LEGACY_PEPPER_ID]
    );
}

#[test]
fn peppers_by_id_sit_next_to_the_legacy_one_with_an_active_id() {
    let settings = load(&[
        ("ANTPATH_BFF__TOKEN_PEPPER", PEPPER),
        ("ANTPATH_BFF__TOKEN_PEPPERS__P2", PEPPER),
        ("ANTPATH_BFF__ACTIVE_PEPPER_ID", "p2"),
    ]);
    settings.validate(Role::Bff).expect("valid");
    assert_eq!(settings.bff.active_pepper().as_deref(), Some("p2"));
    assert_eq!(
        settings.bff.peppers().keys().collect::<Vec<_>>(),
        ["legacy", "p2"]
    );
}

#[test]
fn every_pepper_and_key_problem_is_reported_in_one_message() {
    let settings = load(&[
        ("ANTPATH_BFF__TOKEN_PEPPER", PEPPER),
        ("ANTPATH_BFF__TOKEN_PEPPERS__P2", "short"),
        ("ANTPATH_BFF__TOKEN_PEPPERS__LEGACY", PEPPER),
        ("ANTPATH_ENCRYPTION__KEYS__OLD", "bm90IDMyIGJ5dGVz"),
    ]);
    let err = settings.validate(Role::Bff).expect_err("invalid");
    let text = err.to_string();
    for expected in [
        "ANTPATH_BFF__TOKEN_PEPPERS__P2 must be at least 32 bytes",
        "ANTPATH_BFF__TOKEN_PEPPERS__LEGACY conflicts with ANTPATH_BFF__TOKEN_PEPPER",
        "ANTPATH_BFF__ACTIVE_PEPPER_ID is required",
        "ANTPATH_ENCRYPTION__KEYS__OLD must be base64 of exactly 32 bytes",
    ] {
        assert!(text.contains(expected), "{expected} missing from: {text}");
    }
    assert_eq!(err.problems.len(), 4, "{text}");
    assert!(!text.contains(PEPPER));

    let unknown = load(&[
        ("ANTPATH_BFF__TOKEN_PEPPERS__P2", PEPPER),
        ("ANTPATH_BFF__ACTIVE_PEPPER_ID", "p3"),
    ]);
    let text = unknown
        .validate(Role::Bff)
        .expect_err("invalid")
        .to_string();
    assert!(
        text.contains("ANTPATH_BFF__ACTIVE_PEPPER_ID names `p3`, which is not a configured pepper"),
        "{text}"
    );
}
