//! The committed OpenAPI document matches the code. Regenerate with
//! `ANTPATH_BLESS=1 cargo test -p antpath-bff openapi`.

use std::path::PathBuf;

#[test]
fn the_committed_openapi_document_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let fresh =
        serde_json::to_string_pretty(&antpath_bff::openapi::document()).expect("json") + "\n";
    if std::env::var_os("ANTPATH_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write docs/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/openapi.json is stale; run `ANTPATH_BLESS=1 cargo test -p antpath-bff openapi`"
    );
}

#[test]
fn every_operation_of_the_api_contract_is_documented_once() {
    let document = antpath_bff::openapi::document();
    let mut seen = std::collections::BTreeSet::new();
    for op in antpath_bff::openapi::OPERATIONS {
        assert!(
            seen.insert((op.method, op.path)),
            "{} {} twice",
            op.method,
            op.path
        );
        assert!(document["paths"][op.path][op.method].is_object());
    }
    for (method, path) in [
        ("post", "/v1/runs"),
        ("get", "/v1/runs"),
        ("get", "/v1/runs/{id}"),
        ("delete", "/v1/runs/{id}"),
        ("post", "/v1/runs/{id}/cancel"),
        ("get", "/v1/runs/{id}/events"),
        ("get", "/v1/runs/{id}/stream"),
        ("get", "/v1/runs/{id}/outputs"),
        ("post", "/v1/runs/{id}/outputs/{output_id}/link"),
        ("get", "/v1/whoami"),
        ("get", "/v1/workspace"),
        ("delete", "/v1/workspace"),
        ("get", "/v1/tokens"),
        ("post", "/v1/tokens"),
        ("delete", "/v1/tokens/{id}"),
    ] {
        assert!(
            seen.contains(&(method, path)),
            "{method} {path} is not documented"
        );
    }
}
