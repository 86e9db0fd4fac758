//! Object keys: their shape, filename sanitising and refusal of path traversal.

use antpath_storage::{
    KeyPrefix, MAX_FILENAME_BYTES, ObjectKey, StorageError, content_disposition, output_key,
    run_prefix, sanitize_filename, workspace_prefix,
};
use antpath_types::{OutputId, RunId, WorkspaceId};

#[test]
fn an_output_key_is_scoped_by_workspace_run_and_output() {
    let (ws, run, out) = (WorkspaceId::new(), RunId::new(), OutputId::new());
    let key = output_key(ws, run, out, "report.md");
    assert_eq!(key.as_str(), format!("{ws}/{run}/{out}/report.md"));
    assert_eq!(key.file_name(), "report.md");
    assert!(run_prefix(ws, run).contains(&key));
    assert!(workspace_prefix(ws).contains(&key));
    assert!(!workspace_prefix(WorkspaceId::new()).contains(&key));
    assert_eq!(ObjectKey::parse(key.as_str()).expect("own keys parse"), key);
}

#[test]
fn separators_and_traversal_in_filenames_are_neutralised() {
    assert_eq!(sanitize_filename("../../etc/passwd"), ".._.._etc_passwd");
    assert_eq!(sanitize_filename("dir\\file.txt"), "dir_file.txt");
    assert_eq!(sanitize_filename(".."), "file");
    assert_eq!(sanitize_filename("."), "file");
    assert_eq!(sanitize_filename(""), "file");
    assert_eq!(sanitize_filename("  \t "), "file");
    assert_eq!(sanitize_filename("/"), "_");
}

#[test]
fn control_and_invisible_characters_are_dropped_from_filenames() {
    assert_eq!(sanitize_filename("a\u{0}b\nc\r\u{7f}.txt"), "abc.txt");
    assert_eq!(
        sanitize_filename("invoice\u{202E}fdp.exe"),
        "invoicefdp.exe"
    );
    assert_eq!(sanitize_filename("  spaced name.md  "), "spaced name.md");
    assert_eq!(sanitize_filename("résumé.pdf"), "résumé.pdf");
}

#[test]
fn a_filename_cannot_impersonate_a_temp_file() {
    let name = sanitize_filename(".antpath-tmp-0123");
    assert_eq!(name, "_.antpath-tmp-0123");
    assert!(ObjectKey::parse("ws_a/.antpath-tmp-0123").is_err());
}

#[test]
fn an_overlong_filename_is_shortened_but_keeps_its_extension() {
    let name = sanitize_filename(&format!("{}.csv", "x".repeat(500)));
    assert_eq!(name.len(), MAX_FILENAME_BYTES);
    assert!(name.ends_with(".csv"));
}

#[test]
fn sanitising_twice_changes_nothing() {
    for raw in ["../a/b", " x ", "..", "\u{202E}", &"é".repeat(300)] {
        let once = sanitize_filename(raw);
        assert_eq!(sanitize_filename(&once), once, "{raw:?}");
    }
}

#[test]
fn keys_that_could_escape_the_store_are_refused() {
    for bad in [
        "", "/abs", "a//b", "a/", "../x", "a/../b", "a/./b", "a\\b", "a/b\u{0}", "a/\nb",
    ] {
        let err = ObjectKey::parse(bad).expect_err(bad);
        assert!(matches!(err, StorageError::InvalidKey(_)), "{bad:?}");
    }
    assert!(ObjectKey::parse(&"a".repeat(1025)).is_err());
    assert!(ObjectKey::parse(&format!("a/{}", "b".repeat(256))).is_err());
    assert!(ObjectKey::parse("ws_1/run_2/out_3/résumé (1).pdf").is_ok());
}

#[test]
fn a_prefix_gains_a_trailing_slash_and_refuses_traversal() {
    assert_eq!(KeyPrefix::parse("ws_a").expect("valid").as_str(), "ws_a/");
    assert_eq!(
        KeyPrefix::parse("ws_a/run_b/").expect("valid").as_str(),
        "ws_a/run_b/"
    );
    assert!(KeyPrefix::parse("").is_err());
    assert!(KeyPrefix::parse("/").is_err());
    assert!(KeyPrefix::parse("ws_a/..").is_err());
}

#[test]
fn a_content_disposition_cannot_break_out_of_its_header() {
    let value = content_disposition("evil\r\nSet-Cookie: x=1\".txt");
    assert!(!value.contains(['\r', '\n']));
    assert!(
        value.starts_with("attachment; filename=\"evilSet-Cookie: x=1_.txt\";"),
        "{value}"
    );
}

#[test]
fn every_hostile_output_name_gives_one_segment_under_the_run_prefix() {
    let (ws, run) = (WorkspaceId::new(), RunId::new());
    let long = format!("{}.txt", "x".repeat(300));
    let names = [
        "../../etc/passwd",
        "a/../../b",
        "/etc/shadow",
        "C:\\Windows\\win.ini",
        "..\\..\\up",
        "nul\u{0}byte.txt",
        ".",
        "..",
        "",
        "/",
        "reports/2026/q1.md",
        "résumé – 東京.txt",
        "\u{202E}txt.exe",
        long.as_str(),
    ];
    for name in names {
        let key = output_key(ws, run, OutputId::new(), name);
        let parsed = ObjectKey::parse(key.as_str()).unwrap_or_else(|e| panic!("{name:?}: {e}"));
        assert!(run_prefix(ws, run).contains(&parsed), "{name:?} → {key}");
        let segments: Vec<&str> = key.as_str().split('/').collect();
        assert_eq!(segments.len(), 4, "{name:?} → {key}");
        assert!(!matches!(segments[3], "." | ".." | ""), "{name:?} → {key}");
        assert!(segments[3].len() <= MAX_FILENAME_BYTES, "{name:?}");
    }
}
