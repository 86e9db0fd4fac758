//! No API key in any log line or error string: a canary key goes through successful and
//! failing calls while a test subscriber captures every trace line, then nothing may contain it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use antpath_provider::types::environment::CreateEnvironment;
use antpath_provider::types::vault::{CreateCredential, CreateVault, CredentialAuthParams};
use antpath_provider::{ClientConfig, ProviderClient, RetryPolicy};
use antpath_redact::Secret;
use antpath_sim::SimConfig;
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

use crate::support::client_for;

const CANARY: &str = "sk-ant-api03-CANARY-c4n4ry-DO-NOT-LOG";
const CANARY_TOKEN: &str = "mcp-CANARY-token-DO-NOT-LOG";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn the_api_key_never_reaches_logs_errors_or_debug_output() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    // Global, not scoped: callsites first hit by parallel tests without a subscriber would
    // otherwise stay disabled for this thread's scoped subscriber.
    tracing::subscriber::set_global_default(subscriber).expect("only this test sets a subscriber");

    // The simulator accepts only the canary, so other keys give a 401 to inspect as well.
    let sim = antpath_sim::spawn(SimConfig {
        api_keys: vec![CANARY.to_owned()],
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let client = client_for(&sim, CANARY, RetryPolicy::fast(3));
    let env = client
        .create_environment(&CreateEnvironment {
            name: "canary".into(),
            ..Default::default()
        })
        .await
        .expect("environment");
    let vault = client
        .create_vault(&CreateVault {
            display_name: "v".into(),
            ..Default::default()
        })
        .await
        .expect("vault");
    let params = CreateCredential {
        auth: CredentialAuthParams::StaticBearer {
            mcp_server_url: "https://mcp.example.com/mcp".into(),
            token: Secret::new(CANARY_TOKEN.to_owned()),
        },
        display_name: None,
        metadata: Default::default(),
    };
    client
        .create_credential(&vault.id, &params)
        .await
        .expect("credential");
    let not_found = client.get_session("sesn_missing").await.expect_err("404");
    let faults = reqwest::Client::new()
        .post(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({"retry_after_secs": 0, "fail_next": [{"count": 5, "method": "GET", "path_prefix": "/v1/environments", "fault": "server_error"}]}))
        .send()
        .await
        .expect("faults");
    assert!(faults.status().is_success());
    let transient = client.get_environment(&env.id).await.expect_err("500s");

    let wrong_key = format!("{CANARY}-wrong");
    let stranger = client_for(&sim, &wrong_key, RetryPolicy::fast(3));
    let unauthorised = stranger
        .list_agents(&Default::default())
        .await
        .expect_err("401");
    assert_eq!(unauthorised.status(), Some(401));
    assert_eq!(
        unauthorised.class(),
        antpath_types::ErrorClass::TenantPermanent
    );

    let config = ClientConfig::new(Secret::new(CANARY.to_owned())).with_base_url("not a url");
    let bad_config = ProviderClient::new(config.clone()).expect_err("invalid base url");
    sim.shutdown().await;

    let mut texts = vec![
        format!("{config:?}"),
        format!("{client:?}"),
        format!("{params:?}"),
        format!("{bad_config} {bad_config:?}"),
    ];
    for err in [&not_found, &transient, &unauthorised] {
        texts.push(err.to_string());
        texts.push(format!("{err:?}"));
    }
    let logs = String::from_utf8(captured.0.lock().expect("buffer").clone()).expect("utf-8 logs");
    assert!(
        logs.contains("provider.request_id"),
        "request ids are logged:\n{logs}"
    );
    texts.push(logs);
    for text in &texts {
        assert!(!text.contains("CANARY"), "a secret leaked into: {text}");
    }
}
