//! Local file names for downloaded outputs: safe, and one per output.
//!
//! The API already sends a path-safe `filename`, but a download must not trust that: each name
//! is normalised again here (so nothing can be written outside the chosen folder), and outputs
//! that end up with the same name (the agent wrote two files of one name, or two names differ
//! only in case, which collide on macOS and Windows) get `name (2).ext`, `name (3).ext`, … so
//! that no download overwrites another.
//!
//! Which output keeps the plain name does not depend on the listing order: outputs are taken
//! oldest first (by `created_at`, then id), and a name as the agent wrote it wins over a
//! generated `(n)` name.

use std::collections::HashSet;

use antpath_types::filename::safe_file_name;

use crate::model::Output;

/// Longest local file name in bytes, before a ` (n)` suffix: with the suffix and the
/// `.antpath-partial` of an unfinished download it stays under the usual 255-byte limit.
const MAX_NAME_BYTES: usize = 200;

/// `name` as one safe file name in a folder: path separators become `_`, control and invisible
/// formatting characters are dropped, surrounding whitespace is trimmed, `.`, `..` and empty
/// names become `file`, and long names are cut (keeping a short extension).
pub fn local_file_name(name: &str) -> String {
    safe_file_name(name, MAX_NAME_BYTES)
}

/// One distinct, safe local file name per output, in the order of `outputs`.
pub fn local_file_names(outputs: &[Output]) -> Vec<String> {
    let mut order: Vec<usize> = (0..outputs.len()).collect();
    order.sort_by_key(|&i| (outputs[i].created_at, outputs[i].id));
    let mut names: Vec<Option<String>> = vec![None; outputs.len()];
    let mut taken = HashSet::new();
    // First every output that can keep its own name, so a generated name never takes it.
    for &i in &order {
        let name = local_file_name(&outputs[i].filename);
        if taken.insert(fold(&name)) {
            names[i] = Some(name);
        }
    }
    for &i in &order {
        if names[i].is_some() {
            continue;
        }
        let base = local_file_name(&outputs[i].filename);
        let name = (2..)
            .map(|n| numbered(&base, n))
            .find(|candidate| taken.insert(fold(candidate)))
            .expect("an unused number exists");
        names[i] = Some(name);
    }
    names.into_iter().flatten().collect()
}

/// `report.md` → `report (2).md`; a leading dot does not start an extension.
fn numbered(name: &str, n: u32) -> String {
    match name.rfind('.').filter(|&dot| dot > 0) {
        Some(dot) => format!("{} ({n}){}", &name[..dot], &name[dot..]),
        None => format!("{name} ({n})"),
    }
}

/// Names that collide on a case-insensitive file system compare equal.
fn fold(name: &str) -> String {
    name.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use antpath_types::OutputId;
    use chrono::{DateTime, TimeZone, Utc};

    fn output(filename: &str, second: u32) -> Output {
        let created_at: DateTime<Utc> = Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, second)
            .single()
            .expect("valid time");
        Output {
            id: OutputId::new(),
            filename: filename.to_owned(),
            display_name: filename.to_owned(),
            size_bytes: 1,
            sha256: String::new(),
            content_type: None,
            created_at,
        }
    }

    #[test]
    fn a_name_cannot_leave_the_folder_or_hide_control_characters() {
        assert_eq!(local_file_name("reports/a.md"), "reports_a.md");
        assert_eq!(local_file_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(local_file_name("C:\\x\\y.txt"), "C:_x_y.txt");
        assert_eq!(local_file_name("/"), "_");
        assert_eq!(local_file_name("a\u{0}b\nc\u{202E}d.txt"), "abcd.txt");
        for empty in ["", ".", "..", "  \t ", "\u{0}"] {
            assert_eq!(local_file_name(empty), "file", "{empty:?}");
        }
    }

    #[test]
    fn a_long_name_is_cut_but_keeps_its_extension() {
        let name = format!("{}.md", "é".repeat(300));
        let cut = local_file_name(&name);
        assert!(cut.len() <= MAX_NAME_BYTES, "{}", cut.len());
        assert!(cut.ends_with("é.md"), "{cut}");
    }

    #[test]
    fn outputs_of_one_name_get_numbered_names_oldest_first() {
        let outputs = [
            output("report.md", 3),
            output("report.md", 1),
            output("Report.MD", 2),
            output(".env", 4),
            output(".env", 5),
        ];
        assert_eq!(
            local_file_names(&outputs),
            [
                "report (3).md",
                "report.md",
                "Report (2).MD",
                ".env",
                ".env (2)"
            ]
        );
    }

    #[test]
    fn a_name_the_agent_chose_wins_over_a_generated_one() {
        let outputs = [
            output("a.txt", 1),
            output("a.txt", 2),
            output("a (2).txt", 3),
        ];
        assert_eq!(
            local_file_names(&outputs),
            ["a.txt", "a (3).txt", "a (2).txt"]
        );
    }

    #[test]
    fn names_that_normalise_alike_are_kept_apart() {
        let outputs = [output("x/y", 1), output("x_y", 2), output("x\\y", 3)];
        assert_eq!(local_file_names(&outputs), ["x_y", "x_y (2)", "x_y (3)"]);
    }
}
