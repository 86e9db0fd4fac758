//! One safe file name from whatever a provider called a file: the rule the object store keys
//! by and the SDK saves downloads under, so the two can never disagree.

/// The name used when nothing usable is left.
pub const FALLBACK_FILENAME: &str = "file";

/// Longest extension (dot included) kept when a name is shortened.
const MAX_KEPT_EXTENSION_BYTES: usize = 16;

/// `name` as one safe path segment of at most `max_bytes`: path separators become `_` (so
/// `reports/a.md` keeps its information as `reports_a.md`), control and invisible formatting
/// characters are dropped, surrounding whitespace is trimmed, `.`, `..` and empty names become
/// [`FALLBACK_FILENAME`], and long names are cut keeping a short extension.
pub fn safe_file_name(name: &str, max_bytes: usize) -> String {
    let cleaned: String = name
        .chars()
        .filter_map(|c| match c {
            '/' | '\\' => Some('_'),
            c if c.is_control() || is_invisible_format(c) => None,
            c => Some(c),
        })
        .collect();
    let name = match cleaned.trim() {
        "" | "." | ".." => FALLBACK_FILENAME.to_owned(),
        other => other.to_owned(),
    };
    truncate_keeping_extension(name, max_bytes)
}

/// `name` cut to `max_bytes` on a character boundary, keeping an extension of up to 16 bytes;
/// unchanged when it already fits.
pub fn truncate_keeping_extension(name: String, max_bytes: usize) -> String {
    if name.len() <= max_bytes {
        return name;
    }
    let extension = name
        .rfind('.')
        .filter(|&dot| dot > 0 && name.len() - dot <= MAX_KEPT_EXTENSION_BYTES)
        .map_or("", |dot| &name[dot..]);
    let stem = &name[..name.len() - extension.len()];
    let mut end = max_bytes - extension.len();
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{extension}", &stem[..end])
}

/// Zero-width and bidirectional-override characters, which can disguise an extension.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}
