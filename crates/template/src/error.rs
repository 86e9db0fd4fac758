//! Located validation problems and the errors of this crate.
//!
//! Validation never stops at the first problem: every check pushes into an [`Issues`]
//! collector and the caller gets all of them at once as [`ValidationErrors`], each with a JSON
//! pointer and a sentence. Messages never quote the offending value, only its location and what
//! was expected, so a secret typed into the wrong place is not echoed back.

use std::collections::HashSet;
use std::fmt;

use antpath_types::ErrorDetail;

/// Every located problem found while validating one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ErrorDetail>);

impl ValidationErrors {
    /// The problems, in the order they were found.
    pub fn details(&self) -> &[ErrorDetail] {
        &self.0
    }

    /// Gives up the list, for an `ApiError`'s `details`.
    pub fn into_details(self) -> Vec<ErrorDetail> {
        self.0
    }

    /// True when some problem is located exactly at `path`.
    pub fn has_path(&self, path: &str) -> bool {
        self.0.iter().any(|d| d.path == path)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} problem(s) found", self.0.len())?;
        for detail in &self.0 {
            let path = if detail.path.is_empty() {
                "/"
            } else {
                &detail.path
            };
            write!(f, "; {path}: {}", detail.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl From<ValidationErrors> for Vec<ErrorDetail> {
    fn from(errors: ValidationErrors) -> Self {
        errors.0
    }
}

/// Why a template could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file name has no extension we know (`.json`, `.yaml`, `.yml`, `.toml`).
    #[error("cannot tell the template format from the file name; use .json, .yaml, .yml or .toml")]
    UnknownFormat,
    /// The file could not be read.
    #[error("could not read the template file")]
    Io(#[from] std::io::Error),
    /// The text is not well-formed in its format.
    #[error("the template is not valid {format}: {message}")]
    Syntax {
        /// The format the text was read as.
        format: crate::Format,
        /// The parser's description, with line and column where it gives them.
        message: String,
    },
    /// The document is well-formed but breaks the template rules.
    #[error("the template is invalid: {0}")]
    Invalid(#[from] ValidationErrors),
}

/// Collects problems while a document is walked.
///
/// Paths flagged as secret-bearing silence any later complaint about the same path: once a key
/// is rejected as a place a secret might hide, "unknown field" at that spot is only noise.
#[derive(Debug, Default)]
pub(crate) struct Issues {
    details: Vec<ErrorDetail>,
    silenced: HashSet<String>,
}

impl Issues {
    /// Records a problem at `path`.
    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        if !self.silenced.contains(&path) {
            self.details.push(ErrorDetail {
                path,
                message: message.into(),
            });
        }
    }

    /// Records a problem and silences every later one at the same path.
    pub(crate) fn push_and_silence(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        self.push(path.clone(), message);
        self.silenced.insert(path);
    }

    /// True when nothing has been recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.details.is_empty()
    }

    /// True when some problem is recorded exactly at `path`.
    pub(crate) fn has_path(&self, path: &str) -> bool {
        self.details.iter().any(|d| d.path == path)
    }

    /// How many problems have been recorded so far.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.details.len()
    }

    /// `Ok(value)` when nothing was recorded, every problem otherwise.
    pub(crate) fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.details.is_empty() {
            Ok(value)
        } else {
            Err(ValidationErrors(self.details))
        }
    }

    /// The problems as the public error type.
    pub(crate) fn into_errors(self) -> ValidationErrors {
        ValidationErrors(self.details)
    }
}

/// Appends one reference token to a JSON pointer, escaping `~` and `/` as RFC 6901 requires.
pub(crate) fn child(path: &str, token: &str) -> String {
    let escaped = token.replace('~', "~0").replace('/', "~1");
    format!("{path}/{escaped}")
}

/// Appends an array index to a JSON pointer.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}/{i}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_tokens_escape_tilde_and_slash() {
        assert_eq!(child("/labels", "a/b~c"), "/labels/a~1b~0c");
        assert_eq!(index("/tools", 3), "/tools/3");
    }

    #[test]
    fn a_silenced_path_takes_no_further_problems() {
        let mut issues = Issues::default();
        issues.push_and_silence("/a", "first");
        issues.push("/a", "second");
        issues.push("/b", "third");
        let errors = issues.into_errors();
        assert_eq!(errors.details().len(), 2);
        assert!(errors.has_path("/b"));
    }
}
