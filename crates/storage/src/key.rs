//! Workspace-scoped object keys and filename sanitising.
//!
//! An output lives at `ws_…/run_…/out_…/<filename>`, so deleting a run or a workspace is one
//! prefix deletion and a key can never name another tenant's object. Keys double as relative
//! paths in the local store, so [`ObjectKey::parse`] refuses anything that could climb out of
//! the store's root: empty, `.` or `..` segments, absolute paths, backslashes, NUL and other
//! control characters.
//!
//! It also holds the percent-encoding for link URLs and the `Content-Disposition` value for
//! downloads, kept in-house because the rules needed are narrow: everything outside RFC 3986's
//! unreserved set is escaped, which is valid in a path segment, a query value and an RFC 8187
//! `filename*` parameter alike.

use std::fmt;
use std::fmt::Write as _;

use antpath_types::filename::{safe_file_name, truncate_keeping_extension};
use antpath_types::{OutputId, RunId, WorkspaceId};

use crate::StorageError;

/// Longest key S3 accepts, in bytes.
const MAX_KEY_BYTES: usize = 1024;

/// Longest file name most filesystems accept, in bytes; each key segment is a file name locally.
const MAX_SEGMENT_BYTES: usize = 255;

/// Longest sanitised filename, in bytes: well under the 255-byte file name limit, so the
/// typed-id prefix plus filename also stays far from S3's 1024-byte key limit.
pub const MAX_FILENAME_BYTES: usize = 200;

/// Leading text of the local store's in-flight temp files; no key segment may start with it, so
/// a half-written upload can never be read, signed or overwritten through a key.
pub(crate) const TEMP_PREFIX: &str = ".antpath-tmp-";

/// A validated object key: `/`-separated, relative, traversal-free segments.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Checks a key received from outside (a URL path, a database row).
    pub fn parse(key: &str) -> Result<Self, StorageError> {
        validate_path(key)?;
        Ok(Self(key.to_owned()))
    }

    /// The key as stored by the backend.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last segment: for an output key, the sanitised filename.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectKey({:?})", self.0)
    }
}

/// A validated key prefix that ends at a segment boundary (always with `/`), so `ws_a/` never
/// matches keys of a workspace whose id merely starts with `a`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// Checks a prefix; a trailing `/` is optional on input and always present afterwards.
    pub fn parse(prefix: &str) -> Result<Self, StorageError> {
        let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
        validate_path(trimmed)?;
        Ok(Self(format!("{trimmed}/")))
    }

    /// The prefix with its trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prefix without its trailing `/`, i.e. the directory in the local store.
    pub(crate) fn as_dir(&self) -> &str {
        &self.0[..self.0.len() - 1]
    }

    /// True when the key lies under this prefix.
    pub fn contains(&self, key: &ObjectKey) -> bool {
        key.as_str().starts_with(&self.0)
    }
}

impl fmt::Debug for KeyPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPrefix({:?})", self.0)
    }
}

/// The key of one captured output: `ws_…/run_…/out_…/<sanitised filename>`.
pub fn output_key(
    workspace: WorkspaceId,
    run: RunId,
    output: OutputId,
    filename: &str,
) -> ObjectKey {
    let name = sanitize_filename(filename);
    ObjectKey(format!("{workspace}/{run}/{output}/{name}"))
}

/// Everything stored for one run.
pub fn run_prefix(workspace: WorkspaceId, run: RunId) -> KeyPrefix {
    KeyPrefix(format!("{workspace}/{run}/"))
}

/// Everything stored for one workspace.
pub fn workspace_prefix(workspace: WorkspaceId) -> KeyPrefix {
    KeyPrefix(format!("{workspace}/"))
}

/// Turns a provider-supplied filename into one safe key segment.
///
/// Path separators become `_` (so `reports/a.md` keeps its information as `reports_a.md`),
/// control and invisible bidirectional-formatting characters are dropped, surrounding
/// whitespace is trimmed, `.`/`..`/empty become `file`, and the result is cut to
/// [`MAX_FILENAME_BYTES`] while keeping a short extension.
pub fn sanitize_filename(name: &str) -> String {
    let name = safe_file_name(name, MAX_FILENAME_BYTES);
    if name.starts_with(TEMP_PREFIX) {
        // Never mistaken for an in-flight upload's temp file.
        truncate_keeping_extension(format!("_{name}"), MAX_FILENAME_BYTES)
    } else {
        name
    }
}

fn validate_path(path: &str) -> Result<(), StorageError> {
    if path.is_empty() {
        return Err(StorageError::InvalidKey("empty"));
    }
    if path.len() > MAX_KEY_BYTES {
        return Err(StorageError::InvalidKey("longer than 1024 bytes"));
    }
    for segment in path.split('/') {
        match segment {
            "" => return Err(StorageError::InvalidKey("empty segment or leading slash")),
            "." | ".." => return Err(StorageError::InvalidKey("relative path segment")),
            s if s.len() > MAX_SEGMENT_BYTES => {
                return Err(StorageError::InvalidKey("segment longer than 255 bytes"));
            }
            s if s.starts_with(TEMP_PREFIX) => {
                return Err(StorageError::InvalidKey("reserved segment name"));
            }
            s if s.chars().any(|c| c == '\\' || c.is_control()) => {
                return Err(StorageError::InvalidKey("backslash or control character"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Escapes every byte outside `A-Z a-z 0-9 - . _ ~`; with `keep_slash`, `/` passes through so a
/// key keeps its path shape in a URL.
pub(crate) fn percent_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let unreserved = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~');
        if unreserved || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The `Content-Disposition` header value that makes a browser download the object as
/// `filename`.
///
/// The name is sanitised first; the quoted `filename` is an ASCII fallback (anything else, and
/// quotes, become `_`) and `filename*` carries the exact UTF-8 name for clients that read it.
pub fn content_disposition(filename: &str) -> String {
    let name = sanitize_filename(filename);
    let fallback: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '%') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        percent_encode(&name, false)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_name_is_cut_on_a_char_boundary_and_keeps_its_extension() {
        let name = format!("{}.tar.gz", "é".repeat(150));
        let cut = sanitize_filename(&name);
        assert!(cut.len() <= MAX_FILENAME_BYTES);
        assert!(cut.ends_with(".gz"));
        assert!(cut.starts_with('é'));
    }

    #[test]
    fn a_prefix_only_matches_whole_segments() {
        let prefix = KeyPrefix::parse("ws_a").expect("valid");
        assert!(prefix.contains(&ObjectKey::parse("ws_a/x").expect("valid")));
        assert!(!prefix.contains(&ObjectKey::parse("ws_ab/x").expect("valid")));
    }

    #[test]
    fn a_key_keeps_its_slashes_and_escapes_the_rest() {
        assert_eq!(percent_encode("ws_1/a b?.txt", true), "ws_1/a%20b%3F.txt");
        assert_eq!(percent_encode("a/b", false), "a%2Fb");
        assert_eq!(percent_encode("é", false), "%C3%A9");
    }

    #[test]
    fn a_disposition_has_an_ascii_fallback_and_the_exact_name() {
        assert_eq!(
            content_disposition("résumé \"final\".pdf"),
            "attachment; filename=\"r_sum_ _final_.pdf\"; \
             filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf"
        );
    }
}
