//! Typed template variables: their declarations ([`spec`]) and the checking of a submission's
//! values against them ([`values`]).
//!
//! A variable name matches `[A-Za-z_][A-Za-z0-9_]*`, the same rule the prompt placeholders use,
//! so every declared variable can be referenced and every reference can be declared.

pub mod spec;
pub mod values;

pub use spec::VariableSpec;
pub use values::{ResolvedVariables, resolve_variables};

/// True when `name` is a valid variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_valid_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::is_valid_variable_name;

    #[test]
    fn variable_names_follow_the_identifier_rule() {
        for ok in ["topic", "_x", "A1", "snake_case_9"] {
            assert!(is_valid_variable_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a b", "é", "a.b"] {
            assert!(!is_valid_variable_name(bad), "{bad}");
        }
    }
}
