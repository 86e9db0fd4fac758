//! Regression: two outputs sharing a filename were written to one path (the second
//! overwriting the first) and the CLI still exited 0.

use antpath_fake_api::{FakeApi, FakeConfig};

use crate::support::{antpath_with, example};

fn twins() -> FakeConfig {
    FakeConfig {
        files: vec![
            ("report.md".into(), b"first".to_vec()),
            ("report.md".into(), b"second".to_vec()),
        ],
        ..FakeConfig::default()
    }
}

#[tokio::test]
async fn follow_downloads_outputs_sharing_a_filename_to_separate_files() {
    let fake = FakeApi::start_with(twins()).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = example("quickstart.json");
    let args = [
        "run",
        &path,
        "--var",
        "topic=kelp",
        "--follow",
        "--json",
        "--output-dir",
        "out",
    ];
    let out = antpath_with(&fake, &args, dir.path()).await;
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.json();
    let paths: Vec<&str> = report["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .map(|o| o["path"].as_str().expect("downloaded"))
        .collect();
    assert_eq!(paths, ["out/report.md", "out/report (2).md"]);
    let out_dir = dir.path().join("out");
    assert_eq!(
        std::fs::read(out_dir.join("report.md")).expect("first"),
        b"first"
    );
    assert_eq!(
        std::fs::read(out_dir.join("report (2).md")).expect("second"),
        b"second"
    );
}

#[tokio::test]
async fn runs_download_keeps_both_files_and_the_human_summary_says_where() {
    let fake = FakeApi::start_with(twins()).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = example("quickstart.json");
    let followed = antpath_with(
        &fake,
        &[
            "run",
            &path,
            "--var",
            "topic=kelp",
            "--follow",
            "--output-dir",
            "a",
        ],
        dir.path(),
    )
    .await;
    assert_eq!(followed.code, 0, "{followed:?}");
    assert!(
        followed
            .stdout
            .contains("report.md  6 B  saved as report (2).md"),
        "{}",
        followed.stdout
    );
    let id = followed
        .stdout
        .split_whitespace()
        .next()
        .expect("run id")
        .to_owned();
    let downloaded = antpath_with(
        &fake,
        &[
            "runs",
            "download",
            &id,
            "--file",
            "report.md",
            "--output-dir",
            "b",
        ],
        dir.path(),
    )
    .await;
    assert_eq!(downloaded.code, 0, "{downloaded:?}");
    let b = dir.path().join("b");
    assert_eq!(std::fs::read(b.join("report.md")).expect("first"), b"first");
    assert_eq!(
        std::fs::read(b.join("report (2).md")).expect("second"),
        b"second"
    );
}

#[tokio::test]
async fn unsafe_output_names_are_written_inside_the_output_folder() {
    let fake = FakeApi::start_with(FakeConfig {
        files: vec![
            ("../../outside.txt".into(), b"up".to_vec()),
            ("sub\\..\\..\\x.txt".into(), b"back".to_vec()),
        ],
        raw_filenames: true,
        ..FakeConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let path = example("quickstart.json");
    let args = [
        "run",
        &path,
        "--var",
        "topic=kelp",
        "--follow",
        "--json",
        "--output-dir",
        "deep/out",
    ];
    let out = antpath_with(&fake, &args, dir.path()).await;
    assert_eq!(out.code, 0, "{out:?}");
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("deep/out"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".._.._outside.txt", "sub_.._.._x.txt"]);
    let top: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
    assert_eq!(top.len(), 1, "only deep/ was created: {top:?}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("deep"))
            .expect("list")
            .count(),
        1
    );
}
