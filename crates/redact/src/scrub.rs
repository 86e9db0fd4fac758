//! Scrubbing credentials out of free text.
//!
//! Provider error messages, HTTP error bodies and panic payloads are free text that may echo a
//! key back at us. Before any such text is logged or stored it goes through [`scrub`], which
//! replaces every credential-shaped run with [`REDACTED`](crate::REDACTED).
//!
//! What counts as credential-shaped:
//! - Anthropic keys: `sk-ant-` and everything after it up to a delimiter;
//! - antpath API tokens: `ant_` at a word start followed by at least [`MIN_TOKEN_BODY`]
//!   token characters;
//! - the value after `bearer`, and after the header or field names `x-api-key`, `api-key`,
//!   `api_key`, `apikey`, `authorization`, `token`, `password` and `secret` when followed by `:` or
//!   `=` (quotes around names and values are handled).

use crate::REDACTED;

/// The shortest body after `ant_` that is treated as a token. Shorter runs (`ant_foo`) are
/// ordinary identifiers; our tokens carry 43 base62 characters.
pub const MIN_TOKEN_BODY: usize = 16;

/// Field or header names whose value is always a credential.
const SECRET_FIELD_NAMES: &[&str] = &[
    "x-api-key",
    "api-key",
    "api_key",
    "apikey",
    "authorization",
    "access_token",
    "accesstoken",
    "token",
    "password",
    "secret",
];

/// Returns `text` with every credential-shaped run replaced by the redaction marker.
pub fn scrub(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if let Some(end) = match_secret_at(bytes, i) {
            out.push_str(&text[i..end.prefix_end]);
            out.push_str(REDACTED);
            i = end.value_end;
            continue;
        }
        // Copy one whole UTF-8 character.
        let ch_len = utf8_len(bytes[i]);
        out.push_str(&text[i..i + ch_len]);
        i += ch_len;
    }
    out
}

/// Where a matched secret's visible prefix ends and where its hidden value ends.
struct Match {
    prefix_end: usize,
    value_end: usize,
}

fn match_secret_at(bytes: &[u8], i: usize) -> Option<Match> {
    let at_word_start = i == 0 || !is_word_byte(bytes[i - 1]);
    if starts_with_ci(bytes, i, b"sk-ant-") {
        let prefix_end = i + b"sk-ant-".len();
        return Some(Match {
            prefix_end,
            value_end: skip_token(bytes, prefix_end),
        });
    }
    if at_word_start && starts_with_ci(bytes, i, b"ant_") {
        let body_start = i + 4;
        let body_end = skip_token(bytes, body_start);
        if body_end - body_start >= MIN_TOKEN_BODY {
            return Some(Match {
                prefix_end: body_start,
                value_end: body_end,
            });
        }
    }
    if at_word_start && starts_with_ci(bytes, i, b"bearer") {
        let after = i + b"bearer".len();
        let value_start = skip_while(bytes, after, |b| b == b' ' || b == b'\t');
        if value_start > after && value_start < bytes.len() && is_token_byte(bytes[value_start]) {
            return Some(Match {
                prefix_end: value_start,
                value_end: skip_value(bytes, value_start),
            });
        }
    }
    if at_word_start {
        for name in SECRET_FIELD_NAMES {
            if starts_with_ci(bytes, i, name.as_bytes()) {
                let after_name = i + name.len();
                if after_name < bytes.len() && is_word_byte(bytes[after_name]) {
                    continue;
                }
                if let Some(value_start) = find_assignment_value(bytes, after_name) {
                    let value_end = skip_value(bytes, value_start);
                    if value_end > value_start {
                        return Some(Match {
                            prefix_end: value_start,
                            value_end,
                        });
                    }
                }
            }
        }
    }
    None
}

/// After a field name: an optional closing quote, spaces, `:` or `=`, spaces, an optional
/// opening quote. Returns where the value starts.
fn find_assignment_value(bytes: &[u8], mut j: usize) -> Option<usize> {
    if j < bytes.len() && (bytes[j] == b'"' || bytes[j] == b'\'') {
        j += 1;
    }
    j = skip_while(bytes, j, |b| b == b' ' || b == b'\t');
    if j >= bytes.len() || (bytes[j] != b':' && bytes[j] != b'=') {
        return None;
    }
    j = skip_while(bytes, j + 1, |b| b == b' ' || b == b'\t');
    if j < bytes.len() && (bytes[j] == b'"' || bytes[j] == b'\'') {
        j += 1;
    }
    // "Authorization: Bearer xyz": let the bearer rule see the whole value.
    if starts_with_ci(bytes, j, b"bearer ") {
        j = skip_while(bytes, j + b"bearer".len(), |b| b == b' ');
    }
    Some(j)
}

/// A value ends at whitespace, a quote, a comma, or a closing bracket.
fn skip_value(bytes: &[u8], start: usize) -> usize {
    skip_while(bytes, start, |b| {
        !(b.is_ascii_whitespace()
            || matches!(b, b'"' | b'\'' | b',' | b'}' | b']' | b')' | b';' | b'&'))
    })
}

fn skip_token(bytes: &[u8], start: usize) -> usize {
    skip_while(bytes, start, is_token_byte)
}

fn skip_while(bytes: &[u8], mut j: usize, keep: impl Fn(u8) -> bool) -> usize {
    while j < bytes.len() && keep(bytes[j]) {
        j += 1;
    }
    j
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn starts_with_ci(bytes: &[u8], i: usize, needle: &[u8]) -> bool {
    bytes.len() >= i + needle.len() && bytes[i..i + needle.len()].eq_ignore_ascii_case(needle)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anthropic_key_in_a_provider_message_is_removed() {
        let text = "invalid x key sk-ant-api03-AbC_def-123 provided";
        assert_eq!(scrub(text), "invalid x key sk-ant-[redacted] provided");
    }

    #[test]
    fn an_antpath_token_is_removed_but_short_identifiers_stay() {
        let token = "ant_0123456789abcdefABCDEF0123456789abcdefABC";
        assert_eq!(
            scrub(&format!("token {token} revoked")),
            "token ant_[redacted] revoked"
        );
        assert_eq!(scrub("ant_run is fine"), "ant_run is fine");
        assert_eq!(scrub("antpath_run_id"), "antpath_run_id");
    }

    #[test]
    fn bearer_and_header_values_are_removed() {
        assert_eq!(
            scrub("Authorization: Bearer abc.def"),
            "Authorization: Bearer [redacted]"
        );
        assert_eq!(scrub("x-api-key=abc123&y=1"), "x-api-key=[redacted]&y=1");
        assert_eq!(
            scrub(r#"{"api_key": "zzz", "n": 1}"#),
            r#"{"api_key": "[redacted]", "n": 1}"#
        );
        assert_eq!(scrub("password = hunter2"), "password = [redacted]");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let text = "session sesn_01 failed: model overloaded (529), retry in 3s — ünïcode ok";
        assert_eq!(scrub(text), text);
        assert_eq!(scrub("the token count was 5"), "the token count was 5");
    }
}
