//! Outputs as the provider lists them (`outputs=` kinds, streamed large files), uploads and
//! session file resources.

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Digest;

use crate::support::{Api, assert_error, sha256};

async fn files_of(api: &Api, sid: &str) -> Vec<Value> {
    api.walk(&format!("/v1/files?scope_id={sid}"), 100).await
}

async fn run(api: &Api, directive: &str) -> String {
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    api.say(&sid, directive).await;
    api.settled(&sid).await;
    sid
}

/// Uploads `data` as `filename` with `mime`, returning status and body.
async fn upload(api: &Api, filename: &str, mime: &str, data: &[u8]) -> (StatusCode, Value) {
    let boundary = "sim-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: {mime}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = api
        .req(Method::POST, "/v1/files")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn output_kinds_list_nested_unicode_duplicate_empty_and_undownloadable_files() {
    let api = Api::start().await;
    let sid = run(
        &api,
        "antpath-sim: files=0 outputs=nested,unicode,duplicates,empty,undownloadable",
    )
    .await;
    let files = files_of(&api, &sid).await;
    let names: Vec<&str> = files
        .iter()
        .map(|f| f["filename"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "reports/2026/q1.md",
            "résumé – 東京.txt",
            "notes.txt",
            "notes.txt",
            "empty.txt",
            "input.csv"
        ]
    );
    for (index, file) in files.iter().enumerate() {
        let id = file["id"].as_str().expect("id");
        let (status, body) = {
            let resp = api
                .req(Method::GET, &format!("/v1/files/{id}/content"))
                .send()
                .await
                .expect("send");
            (resp.status(), resp.bytes().await.expect("body"))
        };
        if file["downloadable"] == true {
            assert_eq!(status, StatusCode::OK);
            let size = file["size_bytes"].as_u64().expect("size") as usize;
            assert_eq!(body.as_ref(), antpath_sim::file_content(&sid, index, size));
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST);
            let body: Value = serde_json::from_slice(&body).expect("json");
            assert_error(&body, "invalid_request_error");
            assert_eq!(
                body["error"]["details"]["error_code"],
                "file_not_downloadable"
            );
        }
    }
}

#[tokio::test]
async fn a_large_output_streams_with_its_length_and_hash() {
    const SIZE: usize = 20 << 20;
    let api = Api::start().await;
    let sid = run(
        &api,
        &format!("antpath-sim: files=0 outputs=large large={SIZE}"),
    )
    .await;
    let files = files_of(&api, &sid).await;
    assert_eq!(files.len(), 1);
    let id = files[0]["id"].as_str().expect("id");
    let resp = api
        .req(Method::GET, &format!("/v1/files/{id}/content"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.content_length(), Some(SIZE as u64));
    let mut stream = resp.bytes_stream();
    let (mut hash, mut seen, mut chunks) = (sha2::Sha256::new(), 0usize, 0usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        seen += chunk.len();
        chunks += 1;
        hash.update(&chunk);
    }
    assert_eq!(seen, SIZE);
    assert!(chunks > 1, "streamed, not one body");
    let expected = sha256(&antpath_sim::generated_bytes(&sid, 0, SIZE));
    assert_eq!(hex::encode(hash.finalize()), expected);
    let (_, inspected) = api.get("/__sim/resources?kind=file").await;
    let listed = inspected["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .expect("listed");
    assert_eq!(listed["sha256"], expected);
}

#[tokio::test]
async fn an_upload_keeps_its_last_path_component_and_is_not_downloadable() {
    let api = Api::start().await;
    let (status, file) = upload(&api, "a/b/report.csv", "text/csv", b"x,y\n").await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!(file["filename"], "report.csv");
    assert_eq!(
        (file["size_bytes"].as_u64(), &file["scope"]),
        (Some(4), &Value::Null)
    );
    assert_eq!(file["downloadable"], false);
    let (status, unnamed) = upload(&api, "", "application/json", b"{}").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unnamed["filename"], "unnamed.json");
    let (status, body) = api.post("/v1/files", json!({ "file": "x" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "invalid_request_error");
}

#[tokio::test]
async fn a_mounted_upload_is_listed_in_the_session_as_a_copy_and_unmounting_removes_it() {
    let api = Api::start().await;
    let (_, file) = upload(&api, "input.txt", "text/plain", b"hello").await;
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id");
    let resource = api
        .ok(
            &format!("/v1/sessions/{sid}/resources"),
            json!({ "type": "file", "file_id": file["id"] }),
        )
        .await;
    assert_eq!(
        resource["mount_path"],
        format!("/mnt/session/uploads/{}", file["id"].as_str().expect("id"))
    );
    let listed = files_of(&api, sid).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], resource["file_id"]);
    assert_eq!(listed[0]["filename"], "input.txt");
    assert_eq!(listed[0]["downloadable"], false);
    let (_, session) = api.get(&format!("/v1/sessions/{sid}")).await;
    assert_eq!(session["resources"][0]["id"], resource["id"]);
    let rid = resource["id"].as_str().expect("rid");
    let (status, body) = api
        .post(
            &format!("/v1/sessions/{sid}/resources/{rid}"),
            json!({ "authorization_token": "t" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, deleted) = api
        .delete(&format!("/v1/sessions/{sid}/resources/{rid}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["type"], "session_resource_deleted");
    assert!(files_of(&api, sid).await.is_empty());
    let (status, _) = api
        .get(&format!("/v1/sessions/{sid}/resources/{rid}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
