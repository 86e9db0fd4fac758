//! Property tests: no secret survives formatting, serialisation or scrubbing.

use antpath_redact::{REDACTED, Secret, scrub};
use proptest::prelude::*;
use serde::Serialize;

/// A nested structure of the kind a request or config might hold.
#[derive(Debug, Serialize)]
struct Outer {
    name: String,
    inner: Inner,
    list: Vec<Secret<String>>,
}

#[derive(Debug, Serialize)]
struct Inner {
    key: Secret<String>,
    maybe: Option<Secret<String>>,
}

/// Secrets long and distinctive enough that a chance collision with surrounding text is impossible.
fn secret_value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_\\-]{24,64}".prop_map(|s| format!("SECRETCANARY{s}"))
}

proptest! {
    #[test]
    fn a_secret_in_nested_structs_never_appears_in_debug_or_json(
        value in secret_value(),
        name in "[ -~]{0,40}",
    ) {
        let outer = Outer {
            name: name.clone(),
            inner: Inner { key: Secret::new(value.clone()), maybe: Some(Secret::new(value.clone())) },
            list: vec![Secret::new(value.clone())],
        };
        let debug = format!("{outer:?}");
        let pretty = format!("{outer:#?}");
        let json = serde_json::to_string(&outer).expect("serialises");
        for text in [&debug, &pretty, &json] {
            prop_assert!(!text.contains(&value));
            prop_assert!(text.contains(REDACTED));
        }
        prop_assert_eq!(format!("{}", Secret::new(value.clone())), REDACTED);
    }

    #[test]
    fn a_secret_deserialises_and_is_reachable_only_explicitly(value in secret_value()) {
        let json = serde_json::to_string(&value).expect("serialises");
        let secret: Secret<String> = serde_json::from_str(&json).expect("deserialises");
        prop_assert_eq!(secret.expose_secret(), &value);
    }

    #[test]
    fn scrub_removes_anthropic_keys_from_any_surrounding_text(
        before in "[ -~]{0,40}",
        body in "[A-Za-z0-9_\\-]{8,64}",
        after in "( [ -~]{0,40})?",
    ) {
        let key = format!("sk-ant-api03-{body}");
        let text = format!("{before}{key}{after}");
        prop_assert!(!scrub(&text).contains(&key));
        prop_assert!(!scrub(&text).contains(&body));
    }

    #[test]
    fn scrub_removes_antpath_tokens_and_bearer_values(
        before in "[ -~]{0,30}",
        body in "[A-Za-z0-9]{32,48}",
    ) {
        let token = format!("ant_{body}");
        for text in [
            format!("{before} {token} end"),
            format!("{before} Authorization: Bearer {body}"),
            format!("{before} \"x-api-key\": \"{body}\""),
        ] {
            let scrubbed = scrub(&text);
            prop_assert!(!scrubbed.contains(&body), "leaked in {scrubbed}");
        }
    }

    #[test]
    fn scrub_never_panics_and_keeps_text_without_credentials(text in "\\PC{0,200}") {
        let scrubbed = scrub(&text);
        let lower = text.to_ascii_lowercase();
        let risky = ["sk-ant-", "ant_", "bearer", "key", "authorization", "token", "password", "secret"];
        if !risky.iter().any(|r| lower.contains(r)) {
            prop_assert_eq!(scrubbed, text);
        }
    }
}
