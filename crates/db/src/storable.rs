//! Provider text made safe to store.
//!
//! A provider may put any character in a name, an id or metadata; Postgres refuses one of them
//! (U+0000) in `text` and in `jsonb` strings. Everything a provider sends passes through here
//! on its way into a row, so no reply can make a write fail for ever.

use std::borrow::Cow;

use serde_json::Value;

/// `text` with each NUL written as the visible escape `\u{0}`; unchanged (and not copied)
/// when it has none.
pub fn text(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        text.replace('\0', "\\u{0}").into()
    } else {
        text.into()
    }
}

/// A provider's name shown to people: every control character (NUL among them) escaped as
/// `\u{…}`, everything else verbatim.
pub fn display_name(name: &str) -> String {
    let mut shown = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_control() {
            shown.extend(c.escape_unicode());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// A provider's name normalised for use as a file name: control characters dropped,
/// surrounding whitespace trimmed, `file` when nothing is left.
pub fn normalised_name(name: &str) -> String {
    let kept: String = name.chars().filter(|c| !c.is_control()).collect();
    let kept = kept.trim();
    if kept.is_empty() {
        "file".to_owned()
    } else {
        kept.to_owned()
    }
}

/// A JSON value whose strings and keys are all [`text`]-safe.
pub fn json(value: Value) -> Value {
    match value {
        Value::String(s) if s.contains('\0') => Value::String(text(&s).into_owned()),
        Value::Array(items) => Value::Array(items.into_iter().map(json).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (text(&k).into_owned(), json(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_becomes_a_visible_escape_and_other_text_is_untouched() {
        assert_eq!(text("a\0b"), "a\\u{0}b");
        assert!(matches!(text("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn display_names_escape_every_control_character_and_keep_the_rest() {
        assert_eq!(display_name("rep\0ort\n.md"), "rep\\u{0}ort\\u{a}.md");
        assert_eq!(display_name("résumé.md"), "résumé.md");
    }

    #[test]
    fn normalised_names_drop_control_characters() {
        assert_eq!(normalised_name("rep\0ort.md"), "report.md");
        assert_eq!(normalised_name("\0\u{1}"), "file");
    }

    #[test]
    fn nested_json_strings_and_keys_are_made_safe() {
        let safe = json(serde_json::json!({"to\0ol": ["x\0", {"k": "v\0"}]}));
        assert_eq!(
            safe,
            serde_json::json!({"to\\u{0}ol": ["x\\u{0}", {"k": "v\\u{0}"}]})
        );
    }
}
