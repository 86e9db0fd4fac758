//! Regression: two outputs with one filename were downloaded to one path, the second
//! overwriting the first.

use antpath_fake_api::{FakeApi, FakeConfig};

use crate::support::{client, fast_wait, request};

fn files(names: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    names
        .iter()
        .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
        .collect()
}

#[tokio::test]
async fn outputs_sharing_a_filename_are_downloaded_to_separate_files() {
    let fake = FakeApi::start_with(FakeConfig {
        files: files(&[("report.md", b"first"), ("report.md", b"second")]),
        ..FakeConfig::default()
    })
    .await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    client.wait_with(run.id, fast_wait()).await.expect("ended");
    let dir = tempfile::tempdir().expect("temp dir");
    let downloaded = client
        .download_all(run.id, dir.path())
        .await
        .expect("downloaded");
    assert_eq!(downloaded.len(), 2);
    assert_ne!(downloaded[0].path, downloaded[1].path);
    assert_eq!(
        std::fs::read(dir.path().join("report.md")).expect("first"),
        b"first"
    );
    assert_eq!(
        std::fs::read(dir.path().join("report (2).md")).expect("second"),
        b"second"
    );
}

#[tokio::test]
async fn unsafe_names_from_the_server_stay_inside_the_download_folder() {
    let fake = FakeApi::start_with(FakeConfig {
        files: files(&[
            ("../escape.txt", b"up"),
            ("/etc/abs.txt", b"root"),
            ("a\u{0}b\nc.txt", b"control"),
            ("..", b"dots"),
        ]),
        raw_filenames: true,
        ..FakeConfig::default()
    })
    .await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    client.wait_with(run.id, fast_wait()).await.expect("ended");
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("out");
    let downloaded = client.download_all(run.id, &dir).await.expect("downloaded");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".._escape.txt", "_etc_abs.txt", "abc.txt", "file"]);
    assert!(
        downloaded
            .iter()
            .all(|f| f.path.parent() == Some(dir.as_path()))
    );
    assert_eq!(
        std::fs::read_dir(root.path()).expect("list").count(),
        1,
        "only the download folder was written"
    );
}

#[tokio::test]
async fn the_display_name_keeps_the_agents_name_with_controls_escaped() {
    let fake = FakeApi::start_with(FakeConfig {
        files: files(&[("notes/a\u{0}.md", b"x")]),
        ..FakeConfig::default()
    })
    .await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    client.wait_with(run.id, fast_wait()).await.expect("ended");
    let outputs = client.outputs(run.id).await.expect("outputs");
    assert_eq!(outputs.outputs[0].display_name, "notes/a\\u{0}.md");
    assert_eq!(outputs.outputs[0].filename, "notes_a.md");
}
