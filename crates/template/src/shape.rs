//! A small structural checker for JSON values, so that every type error, missing field and
//! unknown field of a document is reported at once with its location.
//!
//! serde stops at the first problem and does not say where it was. Documents are therefore
//! walked against a [`Shape`] first; only a document that passes is handed to serde, which
//! then cannot fail. The shapes in [`crate::schema`] mirror the serde model; the round-trip
//! tests keep the two in step.
//!
//! Unknown fields are removed from the walked value as they are reported. They are the most
//! common mistake (a typo), and removing them lets the semantic checks still run and report
//! their own problems in the same response. Any other structural problem stops the semantic
//! checks of that part, because guessing at a broken value would produce misleading errors.

use serde_json::Value;

use crate::error::{Issues, child, index};
use crate::variables::values::json_type_name;

/// The expected structure of a JSON value.
#[derive(Debug)]
pub(crate) enum Shape {
    /// Anything, including null.
    Any,
    /// Any JSON object.
    AnyObject,
    /// A string.
    String,
    /// `true` or `false`.
    Bool,
    /// A whole number from 0 to 2^64 − 1.
    Unsigned,
    /// Any number.
    Number,
    /// A string from a fixed list.
    OneOf(&'static [&'static str]),
    /// An array whose items all have one shape.
    Array(&'static Shape),
    /// An object with arbitrary keys whose values all have one shape.
    Map(&'static Shape),
    /// An object with known fields only.
    Object(&'static [Field]),
    /// An object whose `tag` field selects the rest of its fields.
    Tagged {
        /// The selecting field, `type` everywhere in our documents.
        tag: &'static str,
        /// The variants by tag value.
        variants: &'static [Variant],
    },
}

/// A named field of an object shape.
#[derive(Debug)]
pub(crate) struct Field {
    /// The wire name.
    pub(crate) name: &'static str,
    /// Its shape.
    pub(crate) shape: &'static Shape,
    /// Whether it must be present.
    pub(crate) required: bool,
}

/// One variant of a tagged shape.
#[derive(Debug)]
pub(crate) struct Variant {
    /// The tag value.
    pub(crate) name: &'static str,
    /// The fields besides the tag.
    pub(crate) fields: &'static [Field],
}

/// A required field.
pub(crate) const fn req(name: &'static str, shape: &'static Shape) -> Field {
    Field {
        name,
        shape,
        required: true,
    }
}

/// An optional field.
pub(crate) const fn opt(name: &'static str, shape: &'static Shape) -> Field {
    Field {
        name,
        shape,
        required: false,
    }
}

/// Checks `value` against `shape`, recording problems under `path`.
///
/// Returns false when a problem other than an unknown field was found, meaning the value
/// cannot be deserialised.
pub(crate) fn walk(value: &mut Value, shape: &Shape, path: &str, issues: &mut Issues) -> bool {
    match (shape, &mut *value) {
        (Shape::Any, _)
        | (Shape::AnyObject, Value::Object(_))
        | (Shape::String, Value::String(_))
        | (Shape::Bool, Value::Bool(_))
        | (Shape::Number, Value::Number(_)) => true,
        (Shape::Unsigned, Value::Number(n)) => {
            if n.is_u64() {
                return true;
            }
            // `300.0` is the whole number 300 to JSON (and to JSON Schema): written back as an
            // integer, it deserialises, and it hashes as `300` does.
            match n.as_f64().and_then(whole_u64) {
                Some(whole) => {
                    *value = Value::from(whole);
                    true
                }
                None => {
                    issues.push(path, "Expected a whole number of 0 or more.");
                    false
                }
            }
        }
        (Shape::OneOf(choices), Value::String(s)) => {
            let ok = choices.contains(&s.as_str());
            if !ok {
                issues.push(path, format!("Must be one of: {}.", quoted_list(choices)));
            }
            ok
        }
        (Shape::Array(item), Value::Array(items)) => {
            let mut ok = true;
            for (i, element) in items.iter_mut().enumerate() {
                ok &= walk(element, item, &index(path, i), issues);
            }
            ok
        }
        (Shape::Map(item), Value::Object(map)) => {
            let mut ok = true;
            for (key, element) in map.iter_mut() {
                ok &= walk(element, item, &child(path, key), issues);
            }
            ok
        }
        (Shape::Object(fields), Value::Object(_)) => walk_fields(value, fields, None, path, issues),
        (Shape::Tagged { tag, variants }, Value::Object(map)) => {
            let tag_path = child(path, tag);
            let variant = match map.get(*tag) {
                None => {
                    issues.push(tag_path, "This field is required.");
                    return false;
                }
                Some(Value::String(name)) => variants.iter().find(|v| v.name == name.as_str()),
                Some(other) => {
                    let found = json_type_name(other);
                    issues.push(tag_path, format!("Expected a string, found {found}."));
                    return false;
                }
            };
            let Some(variant) = variant else {
                let names: Vec<&str> = variants.iter().map(|v| v.name).collect();
                issues.push(
                    tag_path,
                    format!("Must be one of: {}.", quoted_list(&names)),
                );
                return false;
            };
            walk_fields(value, variant.fields, Some(tag), path, issues)
        }
        (shape, other) => {
            let found = json_type_name(other);
            issues.push(
                path,
                format!("Expected {}, found {found}.", expected(shape)),
            );
            false
        }
    }
}

/// Checks the fields of an object, removing (and reporting) unknown ones.
fn walk_fields(
    value: &mut Value,
    fields: &[Field],
    tag: Option<&str>,
    path: &str,
    issues: &mut Issues,
) -> bool {
    let Value::Object(map) = value else {
        return false;
    };
    let mut ok = true;
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| Some(k.as_str()) != tag && !fields.iter().any(|f| f.name == k.as_str()))
        .cloned()
        .collect();
    for key in unknown {
        let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
        let message = if names.is_empty() {
            format!("Unknown field `{key}`; no other fields are allowed here.")
        } else {
            format!(
                "Unknown field `{key}`; expected one of: {}.",
                quoted_list(&names)
            )
        };
        issues.push(child(path, &key), message);
        map.shift_remove(&key);
    }
    for field in fields {
        let field_path = child(path, field.name);
        match map.get_mut(field.name) {
            Some(member) => ok &= walk(member, field.shape, &field_path, issues),
            None if field.required => {
                issues.push(field_path, "This field is required.");
                ok = false;
            }
            None => {}
        }
    }
    ok
}

/// `x` as a `u64` when it is a whole number in range.
fn whole_u64(x: f64) -> Option<u64> {
    /// 2^64, the first whole number out of range (exactly representable as an `f64`).
    const TWO_TO_THE_64: f64 = 18_446_744_073_709_551_616.0;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "x is whole and within 0..2^64, so the cast is exact"
    )]
    (x.fract() == 0.0 && (0.0..TWO_TO_THE_64).contains(&x)).then_some(x as u64)
}

fn expected(shape: &Shape) -> &'static str {
    match shape {
        Shape::Any => "any value",
        Shape::String | Shape::OneOf(_) => "a string",
        Shape::Bool => "a boolean",
        Shape::Unsigned => "a whole number of 0 or more",
        Shape::Number => "a number",
        Shape::Array(_) => "an array",
        Shape::AnyObject | Shape::Map(_) | Shape::Object(_) | Shape::Tagged { .. } => "an object",
    }
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    static POINT: Shape = Shape::Object(&[req("x", &Shape::Number), opt("label", &Shape::String)]);
    static POINTS: Shape = Shape::Array(&POINT);

    #[test]
    fn every_problem_of_an_array_is_reported_with_its_index() {
        let mut value = json!([{"x": 1}, {"label": 2}, {"x": "a", "extra": true}]);
        let mut issues = Issues::default();
        assert!(!walk(&mut value, &POINTS, "/points", &mut issues));
        let paths: Vec<String> = issues.into_errors().0.into_iter().map(|d| d.path).collect();
        assert_eq!(
            paths,
            [
                "/points/1/x",
                "/points/1/label",
                "/points/2/extra",
                "/points/2/x"
            ]
        );
    }

    #[test]
    fn a_whole_number_written_with_a_fraction_is_written_back_as_an_integer() {
        static COUNTS: Shape = Shape::Array(&Shape::Unsigned);
        let mut value = json!([3.0, 0.0, 7]);
        let mut issues = Issues::default();
        assert!(walk(&mut value, &COUNTS, "", &mut issues));
        assert_eq!(value.to_string(), "[3,0,7]");
        for bad in [json!(3.5), json!(-1.0), json!(-2), json!(1e20)] {
            let mut value = json!([bad]);
            let mut issues = Issues::default();
            assert!(!walk(&mut value, &COUNTS, "", &mut issues), "{value}");
        }
    }

    #[test]
    fn unknown_fields_alone_are_removed_and_do_not_block_deserialisation() {
        let mut value = json!([{"x": 1, "typo": 2}]);
        let mut issues = Issues::default();
        assert!(walk(&mut value, &POINTS, "", &mut issues));
        assert_eq!(issues.len(), 1);
        assert_eq!(value, json!([{"x": 1}]));
    }
}
