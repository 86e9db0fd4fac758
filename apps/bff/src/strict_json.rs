//! A JSON reader stricter than `serde_json::from_slice::<Value>`: it refuses a key that appears
//! twice in one object, and a NUL character (`\u0000`) in any string or key.
//!
//! serde_json's own `Value` keeps the last of two equal keys, so a body with two `secrets`
//! objects would be read as whichever came second — a reviewer and the server could disagree
//! on what was sent. A NUL is valid JSON but no Postgres `text` or `jsonb` value can hold one,
//! so it would otherwise fail deep inside a write as a 500.
//!
//! The reader is a serde visitor that builds the `Value` itself while keeping the JSON pointer
//! of where it is, so a refusal names the place ([`Refusal::path`]) and never the value.
//! serde_json still does the parsing, including its nesting limit.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a body was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// Not JSON at all; where the parser gave up, never what it saw.
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// JSON, but something this reader refuses.
    Refused(Refusal),
}

/// A located refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// A JSON pointer (RFC 6901): the duplicated key, the string holding a NUL, or the object
    /// with a NUL in one of its keys.
    pub path: String,
    /// What is wrong there.
    pub kind: RefusalKind,
}

/// What a [`Refusal`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The key at the path appears more than once in its object.
    DuplicateKey,
    /// The string at the path contains a NUL.
    NulInString,
    /// A key of the object at the path contains a NUL.
    NulInKey,
}

impl RefusalKind {
    /// A sentence for the whole error.
    pub fn summary(self) -> &'static str {
        match self {
            Self::DuplicateKey => "The request body repeats a key.",
            Self::NulInString | Self::NulInKey => "The request body contains a NUL character.",
        }
    }

    /// A sentence for the error detail.
    pub fn message(self) -> &'static str {
        match self {
            Self::DuplicateKey => {
                "This key appears more than once in its object; each key may appear only once."
            }
            Self::NulInString => {
                "This string contains a NUL character (\\u0000), which is not accepted."
            }
            Self::NulInKey => {
                "A key of this object contains a NUL character (\\u0000), which is not accepted."
            }
        }
    }
}

/// Reads `bytes` as one JSON value; see the module docs.
pub fn read(bytes: &[u8]) -> Result<Value, ReadError> {
    let mut reader = Reader::default();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = (&mut reader)
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (value, reader.refusal) {
        (_, Some(refusal)) => Err(ReadError::Refused(refusal)),
        (Ok(value), None) => Ok(value),
        (Err(err), None) => Err(ReadError::Syntax {
            line: err.line(),
            column: err.column(),
        }),
    }
}

/// One step of the current JSON pointer.
#[derive(Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// The visitor's state: where it is, and the first refusal.
#[derive(Debug, Default)]
struct Reader {
    path: Vec<Step>,
    refusal: Option<Refusal>,
}

impl Reader {
    /// The current path, with `last` appended when given.
    fn pointer(&self, last: Option<&str>) -> String {
        let mut pointer = String::new();
        let keys = self.path.iter().map(|step| match step {
            Step::Key(key) => escape(key),
            Step::Index(i) => i.to_string(),
        });
        for token in keys.chain(last.map(escape)) {
            pointer.push('/');
            pointer.push_str(&token);
        }
        pointer
    }

    /// Records a refusal at `path` and returns the error that stops the parse.
    fn refuse<E: de::Error>(&mut self, path: String, kind: RefusalKind) -> E {
        self.refusal = Some(Refusal { path, kind });
        // The text is never shown: `read` reports the recorded refusal instead.
        E::custom("refused")
    }
}

/// Escapes one reference token (`~` → `~0`, `/` → `~1`).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

impl<'de> DeserializeSeed<'de> for &mut Reader {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut Reader {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        // The parser yields only finite numbers; a non-finite one would become null, as in
        // serde_json's own `Value`.
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        if value.contains('\0') {
            let path = self.pointer(None);
            return Err(self.refuse(path, RefusalKind::NulInString));
        }
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        if value.contains('\0') {
            let path = self.pointer(None);
            return Err(self.refuse(path, RefusalKind::NulInString));
        }
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            self.path.push(Step::Index(items.len()));
            let item = seq.next_element_seed(&mut *self);
            self.path.pop();
            match item? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if key.contains('\0') {
                let path = self.pointer(None);
                return Err(self.refuse(path, RefusalKind::NulInKey));
            }
            if map.contains_key(&key) {
                let path = self.pointer(Some(&key));
                return Err(self.refuse(path, RefusalKind::DuplicateKey));
            }
            self.path.push(Step::Key(key.clone()));
            let value = access.next_value_seed(&mut *self);
            self.path.pop();
            map.insert(key, value?);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refusal(text: &str) -> Refusal {
        match read(text.as_bytes()) {
            Err(ReadError::Refused(refusal)) => refusal,
            other => panic!("{text} was not refused: {other:?}"),
        }
    }

    #[test]
    fn a_plain_document_reads_as_serde_json_reads_it() {
        let text = r#"{"a": [1, -2, 3.5, true, null, "x"], "b": {"c": {}}, "d": []}"#;
        let expected: Value = serde_json::from_str(text).expect("json");
        assert_eq!(read(text.as_bytes()), Ok(expected));
        assert_eq!(read(b" 42 "), Ok(json!(42)));
    }

    #[test]
    fn a_duplicate_key_is_located_at_any_depth() {
        assert_eq!(refusal(r#"{"a": 1, "a": 2}"#).path, "/a");
        let nested = refusal(r#"{"a": [{"b": 1}, {"b": {"c": 1, "c": 1}}]}"#);
        assert_eq!(nested.path, "/a/1/b/c");
        assert_eq!(nested.kind, RefusalKind::DuplicateKey);
        assert_eq!(refusal(r#"{"x/y~": 1, "x/y~": 2}"#).path, "/x~1y~0");
    }

    #[test]
    fn equal_keys_in_different_objects_are_fine() {
        assert!(read(br#"{"a": {"k": 1}, "b": {"k": 1}, "k": [{"k": 1}, {"k": 2}]}"#).is_ok());
    }

    #[test]
    fn an_escaped_nul_in_a_string_or_key_is_located() {
        let in_string = refusal(r#"{"a": ["ok", "x\u0000y"]}"#);
        assert_eq!(in_string.path, "/a/1");
        assert_eq!(in_string.kind, RefusalKind::NulInString);
        let in_key = refusal(r#"{"a": {"k\u0000": 1}}"#);
        assert_eq!(in_key.path, "/a");
        assert_eq!(in_key.kind, RefusalKind::NulInKey);
        assert_eq!(refusal(r#""\u0000""#).path, "");
    }

    #[test]
    fn syntax_errors_say_where_and_trailing_text_is_an_error() {
        assert_eq!(
            read(b"{\n  \"a\": }"),
            Err(ReadError::Syntax { line: 2, column: 8 })
        );
        assert!(matches!(read(b"{} {}"), Err(ReadError::Syntax { .. })));
        assert!(matches!(read(b""), Err(ReadError::Syntax { .. })));
    }

    #[test]
    fn nesting_past_the_parser_limit_is_a_syntax_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert!(matches!(
            read(deep.as_bytes()),
            Err(ReadError::Syntax { .. })
        ));
    }
}
