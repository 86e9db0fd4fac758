//! Loading and validating settings from layered sources.

use antpath_config::{Role, Settings};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

#[test]
fn defaults_apply_when_nothing_is_set() {
    let settings = Settings::load_from(None, env(&[])).expect("loads");
    assert_eq!(settings.limits.max_active_runs_per_workspace, 5);
    assert_eq!(settings.limits.lease_seconds, 10);
    assert_eq!(settings.bff.listen, "0.0.0.0:8080");
}

#[test]
fn the_environment_overrides_the_file_which_overrides_defaults() {
    let dir = std::env::temp_dir().join(format!("antpath-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("antpath.toml");
    std::fs::write(&file, "[limits]\nlease_seconds = 90\nmax_attempts = 7\n").expect("write");
    let settings = Settings::load_from(
        Some(file.to_str().expect("utf-8 path")),
        env(&[("ANTPATH_LIMITS__LEASE_SECONDS", "120")]),
    )
    .expect("loads");
    assert_eq!(settings.limits.lease_seconds, 120);
    assert_eq!(settings.limits.max_attempts, 7);
    assert_eq!(settings.limits.max_run_duration_seconds, 3600);
}

#[test]
fn database_url_falls_back_to_the_conventional_variable() {
    let settings = Settings::load_from(None, env(&[("DATABASE_URL", "postgres://x@localhost/db")]))
        .expect("loads");
    assert_eq!(
        settings
            .database
            .url
            .as_ref()
            .map(|u| u.expose_secret().as_str()),
        Some("postgres://x@localhost/db")
    );
}

#[test]
fn a_bff_with_nothing_set_is_told_every_missing_setting_at_once() {
    let settings = Settings::load_from(None, env(&[])).expect("loads");
    let err = settings.validate(Role::Bff).expect_err("must fail");
    let text = err.to_string();
    for name in [
        "ANTPATH_DATABASE__URL",
        "ANTPATH_BFF__TOKEN_PEPPER",
        "ANTPATH_ENCRYPTION__ACTIVE_KEY_ID",
        "ANTPATH_STORAGE__SIGNING_KEY",
    ] {
        assert!(text.contains(name), "{name} missing from: {text}");
    }
    assert_eq!(err.problems.len(), 4, "{text}");
}

#[test]
fn a_worker_needs_an_identity_and_valid_limits() {
    let settings = Settings::load_from(
        None,
        env(&[
            ("DATABASE_URL", "postgres://x@localhost/db"),
            ("ANTPATH_LIMITS__LEASE_SECONDS", "10"),
            ("ANTPATH_LIMITS__LEASE_RENEW_SECONDS", "20"),
            ("ANTPATH_ENCRYPTION__ACTIVE_KEY_ID", "k1"),
            ("ANTPATH_ENCRYPTION__KEYS__K1", "too-short"),
        ]),
    )
    .expect("loads");
    let err = settings.validate(Role::Worker).expect_err("must fail");
    let text = err.to_string();
    assert!(text.contains("ANTPATH_WORKER__ID"), "{text}");
    assert!(text.contains("LEASE_RENEW_SECONDS"), "{text}");
    assert!(
        text.contains("ANTPATH_ENCRYPTION__KEYS__K1 must be base64"),
        "{text}"
    );
}

#[test]
fn a_complete_configuration_validates_and_never_prints_its_secrets() {
    let pepper = "pepper-canary-0123456789abcdefghijklmnop";
    let settings = Settings::load_from(
        None,
        env(&[
            ("DATABASE_URL", "postgres://user:dbpass-canary@localhost/db"),
            ("ANTPATH_BFF__TOKEN_PEPPER", pepper),
            ("ANTPATH_ENCRYPTION__ACTIVE_KEY_ID", "k1"),
            ("ANTPATH_ENCRYPTION__KEYS__K1", KEY),
            ("ANTPATH_STORAGE__SIGNING_KEY", pepper),
            ("ANTPATH_WORKER__ID", "worker-1"),
        ]),
    )
    .expect("loads");
    settings
        .validate(Role::Bff)
        .expect("bff config is complete");
    settings
        .validate(Role::Worker)
        .expect("worker config is complete");
    let debug = format!("{settings:?}");
    assert!(!debug.contains("pepper-canary"), "{debug}");
    assert!(!debug.contains("dbpass-canary"), "{debug}");
    assert!(!debug.contains(KEY), "{debug}");
}

#[test]
fn the_bff_read_timeouts_have_defaults_and_zero_is_refused() {
    let settings = Settings::load_from(None, env(&[])).expect("loads");
    assert_eq!(settings.bff.header_read_timeout_ms, 10_000);
    assert_eq!(settings.bff.body_read_timeout_ms, 30_000);
    let settings = Settings::load_from(
        None,
        env(&[
            ("ANTPATH_BFF__HEADER_READ_TIMEOUT_MS", "0"),
            ("ANTPATH_BFF__BODY_READ_TIMEOUT_MS", "0"),
        ]),
    )
    .expect("loads");
    let text = settings.validate(Role::Bff).expect_err("zero").to_string();
    assert!(
        text.contains("ANTPATH_BFF__HEADER_READ_TIMEOUT_MS"),
        "{text}"
    );
    assert!(text.contains("ANTPATH_BFF__BODY_READ_TIMEOUT_MS"), "{text}");
}
