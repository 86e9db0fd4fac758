//! Canonical JSON, in the spirit of RFC 8785 (JSON Canonicalization Scheme).
//!
//! - Object members are sorted by their keys' UTF-16 code units, as RFC 8785 requires (this
//!   differs from byte order only for characters above U+FFFF against U+E000–U+FFFF).
//! - No whitespace between tokens.
//! - Strings escape only `"`, `\` and control characters below U+0020 (`\b \t \n \f \r` in
//!   short form, the rest as `\u00xx` in lowercase hex); everything else is literal UTF-8.
//! - Numbers are written as ECMAScript writes them: whole values below 10^21 without fraction
//!   or exponent (`1.0`, `1e2` and `100` all become `100`), others in the shortest form that
//!   reads back to the same `f64`, switching to exponent notation (`1e+21`, `1.5e-7`) where
//!   ECMAScript does; `-0` becomes `0`.
//!
//! One deliberate departure: integers that serde_json holds exactly as `i64`/`u64` are written
//! with all their digits even beyond 2^53, where RFC 8785 would round them through `f64`.
//! Rounding would make two different ids hash the same; no input of ours relies on it.

use serde_json::{Number, Value};

/// The canonical text of `value` (see the module doc). Used for template hashes and for the
/// bff's idempotency request hashes, so its output must never change for a given input.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&format_number(n)),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (key, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(member, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The canonical text of a JSON number.
pub fn format_number(n: &Number) -> String {
    if let Some(u) = n.as_u64() {
        u.to_string()
    } else if let Some(i) = n.as_i64() {
        i.to_string()
    } else {
        format_f64(n.as_f64().unwrap_or(0.0))
    }
}

/// Writes an `f64` as ECMAScript's `Number.prototype.toString` does (finite values only; JSON
/// has no others).
pub fn format_f64(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        // -0 prints as 0; non-finite values cannot come from JSON and are mapped to 0 rather
        // than producing text no JSON parser accepts.
        return "0".to_owned();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    // `{:e}` gives the shortest round-trip digits as `d.ddde±x`; ECMAScript's algorithm is
    // phrased in terms of those digits `s` (k of them) and the decimal point position `n`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i64;
    let n = exponent.parse::<i64>().unwrap_or(0) + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e_sign = if e < 0 { "-" } else { "+" };
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            format!("{first}e{e_sign}{}", e.abs())
        } else {
            format!("{first}.{rest}e{e_sign}{}", e.abs())
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_follow_the_ecmascript_rules() {
        let cases = [
            (1.0, "1"),
            (100.0, "100"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (123456.789, "123456.789"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-0.0, "0"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ];
        for (x, expected) in cases {
            assert_eq!(format_f64(x), expected, "{x:?}");
        }
    }

    #[test]
    fn keys_sort_by_utf16_code_units_not_by_bytes() {
        // U+E000 is one UTF-16 unit 0xE000; U+1F600 is the surrogate pair D83D DE00, which
        // sorts first in UTF-16 although its UTF-8 bytes sort last.
        let value = json!({"\u{E000}": 1, "\u{1F600}": 2, "a": 3});
        assert_eq!(
            canonical_json(&value),
            "{\"a\":3,\"\u{1F600}\":2,\"\u{E000}\":1}"
        );
    }

    #[test]
    fn strings_escape_only_what_json_requires() {
        let value = json!("q\"b\\\u{1}\n\u{7f}é\u{2028}/");
        assert_eq!(
            canonical_json(&value),
            "\"q\\\"b\\\\\\u0001\\n\u{7f}é\u{2028}/\""
        );
    }

    #[test]
    fn whole_floats_and_integers_are_written_alike() {
        let a: Value = serde_json::from_str("[1.0, 1e2, -0.0, 10]").expect("json");
        assert_eq!(canonical_json(&a), "[1,100,0,10]");
    }
}
