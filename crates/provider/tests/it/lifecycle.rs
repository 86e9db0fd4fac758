//! A whole run's worth of calls against the simulator: provision, prompt, observe, download,
//! clean up, and every resource gone afterwards.

use antpath_provider::ListParams;
use antpath_provider::mapping::{TurnOutcome, turn_outcome};
use antpath_provider::types::Metadata;
use antpath_provider::types::agent::{CreateAgent, McpServer, agent_toolset, mcp_toolset};
use antpath_provider::types::environment::{CreateEnvironment, cloud_config};
use antpath_provider::types::event::{EventKind, EventListParams};
use antpath_provider::types::file::FileListParams;
use antpath_provider::types::session::{CreateSession, SessionStatus};
use antpath_provider::types::vault::{
    CreateCredential, CreateVault, CredentialAuth, CredentialAuthParams,
};
use antpath_redact::Secret;
use antpath_types::ErrorClass;

use crate::support::{Harness, settled};

pub fn run_metadata(run: &str) -> Metadata {
    Metadata::from([("antpath_run_id".to_owned(), run.to_owned())])
}

#[tokio::test]
async fn a_full_session_lifecycle_provisions_runs_downloads_and_cleans_up() {
    let h = Harness::start().await;
    let c = &h.client;
    let metadata = run_metadata("run_lifecycle");

    let env = c
        .create_environment(&CreateEnvironment {
            name: "antpath-run_lifecycle".into(),
            config: Some(cloud_config(Some(&["mcp.example.com".to_owned()]))),
            metadata: metadata.clone(),
            ..Default::default()
        })
        .await
        .expect("environment");
    assert_eq!(
        c.get_environment(&env.id).await.expect("get env").name,
        env.name
    );

    let mut agent = CreateAgent::new("antpath run", "claude-sonnet-4-6");
    agent.tools = vec![agent_toolset(), mcp_toolset("tracker")];
    agent.mcp_servers = vec![McpServer::url("tracker", "https://mcp.example.com/mcp")];
    agent.metadata = metadata.clone();
    let agent = c.create_agent(&agent).await.expect("agent");
    assert_eq!(
        c.get_agent(&agent.id).await.expect("get agent").id,
        agent.id
    );

    let vault = c
        .create_vault(&CreateVault {
            display_name: "run vault".into(),
            metadata: metadata.clone(),
        })
        .await
        .expect("vault");
    assert_eq!(
        c.get_vault(&vault.id).await.expect("get vault").id,
        vault.id
    );
    let credential = c
        .create_credential(
            &vault.id,
            &CreateCredential {
                auth: CredentialAuthParams::StaticBearer {
                    mcp_server_url: "https://mcp.example.com/mcp".into(),
                    token: Secret::new("mcp-token-value".into()),
                },
                display_name: Some("tracker".into()),
                metadata: Metadata::new(),
            },
        )
        .await
        .expect("credential");
    assert!(matches!(credential.auth, CredentialAuth::StaticBearer(_)));
    let credentials = c
        .list_credentials(&vault.id, &ListParams::default())
        .await
        .expect("creds");
    assert_eq!(credentials.data.len(), 1);
    assert!(
        !serde_json::to_string(&credentials.data)
            .expect("json")
            .contains("mcp-token-value")
    );

    let mut create = CreateSession::new(&agent.id, &env.id);
    create.metadata = metadata.clone();
    create.vault_ids = vec![vault.id.clone()];
    create.title = Some("lifecycle".into());
    let session = c.create_session(&create).await.expect("session");
    assert_eq!(session.status, SessionStatus::Idle);
    assert_eq!(session.vault_ids, std::slice::from_ref(&vault.id));
    assert_eq!(session.metadata, metadata);

    let sent = c
        .send_user_message(
            &session.id,
            "Go.\nantpath-sim: scenario=happy files=3 size=5000",
        )
        .await
        .expect("send");
    assert!(matches!(
        sent.data.first().map(|e| &e.kind),
        Some(EventKind::UserMessage(_))
    ));

    let events = h
        .wait_for_event(&session.id, |e| matches!(e.kind, EventKind::StatusIdle(_)))
        .await;
    assert_eq!(turn_outcome(&events), TurnOutcome::Succeeded);
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::StatusRunning(_)))
    );
    h.wait_for_session(&session.id, settled).await;

    let page = c
        .list_events(
            &session.id,
            &EventListParams {
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .expect("event page");
    assert_eq!(page.data.len(), 2);
    assert!(
        page.next_page.is_some(),
        "more than two events were persisted"
    );

    let files = c.list_session_files(&session.id).await.expect("files");
    let outputs: Vec<_> = files.iter().filter(|f| f.is_downloadable()).collect();
    assert_eq!(outputs.len(), 3);
    let first_page = c
        .list_files(&FileListParams {
            limit: Some(2),
            ..FileListParams::for_session(&session.id)
        })
        .await
        .expect("file page");
    assert_eq!(first_page.data.len(), 2);
    assert!(first_page.next_page.is_some());
    for file in &outputs {
        let download = c.download_file(&file.id).await.expect("download");
        let bytes = download.bytes().await.expect("body");
        assert_eq!(bytes.len() as u64, file.size_bytes);
        assert_eq!(bytes.len(), 5000);
        assert!(bytes.starts_with(format!("antpath-sim {} file", session.id).as_bytes()));
    }
    let deleted = c.delete_file(&outputs[0].id).await.expect("delete file");
    assert_eq!(deleted.id, outputs[0].id);

    c.delete_session(&session.id).await.expect("delete session");
    let gone = c.get_session(&session.id).await.expect_err("session gone");
    assert!(gone.is_not_found());
    assert_eq!(gone.class(), ErrorClass::ProviderPermanent);
    c.delete_credential(&vault.id, &credential.id)
        .await
        .expect("delete credential");
    c.delete_vault(&vault.id).await.expect("delete vault");
    c.delete_environment(&env.id)
        .await
        .expect("delete environment");
    let archived = c.archive_agent(&agent.id).await.expect("archive agent");
    assert!(archived.archived_at.is_some());
    assert!(
        c.get_environment(&env.id)
            .await
            .expect_err("env gone")
            .is_not_found()
    );
    h.sim.shutdown().await;
}

#[tokio::test]
async fn sessions_environments_and_vaults_can_be_archived_and_listed() {
    let h = Harness::start().await;
    let c = &h.client;
    let env = c
        .create_environment(&CreateEnvironment {
            name: "archive-me".into(),
            ..Default::default()
        })
        .await
        .expect("environment");
    let agent = c
        .create_agent(&CreateAgent::new("a", "claude-sonnet-4-6"))
        .await
        .expect("agent");
    let session = c
        .create_session(&CreateSession::new(&agent.id, &env.id))
        .await
        .expect("session");
    let vault = c
        .create_vault(&CreateVault {
            display_name: "v".into(),
            ..Default::default()
        })
        .await
        .expect("vault");

    let archived = c
        .archive_session(&session.id)
        .await
        .expect("archive session");
    assert!(archived.archived_at.is_some());
    assert!(
        c.archive_vault(&vault.id)
            .await
            .expect("archive vault")
            .archived_at
            .is_some()
    );
    assert!(
        c.archive_environment(&env.id)
            .await
            .expect("archive env")
            .archived_at
            .is_some()
    );

    let all = ListParams::default().including_archived(true);
    assert!(
        c.list_all_environments(&all)
            .await
            .expect("envs")
            .iter()
            .any(|e| e.id == env.id)
    );
    assert!(
        c.list_all_agents(&all)
            .await
            .expect("agents")
            .iter()
            .any(|a| a.id == agent.id)
    );
    assert!(
        c.list_all_vaults(&all)
            .await
            .expect("vaults")
            .iter()
            .any(|v| v.id == vault.id)
    );
    let active = c
        .list_all_environments(&ListParams::default())
        .await
        .expect("envs");
    assert!(
        active.iter().all(|e| e.id != env.id),
        "archived environments are hidden by default"
    );
    h.sim.shutdown().await;
}

#[tokio::test]
async fn a_skill_can_be_read_and_a_missing_one_is_a_permanent_error() {
    let h = Harness::start().await;
    let xlsx = h.client.get_skill("xlsx").await.expect("anthropic skill");
    assert_eq!(xlsx.id, "xlsx");
    assert!(xlsx.latest_version_id.is_some());
    let missing = h
        .client
        .get_skill("skill_does_not_exist")
        .await
        .expect_err("missing skill");
    assert!(missing.is_not_found());
    assert_eq!(missing.class(), ErrorClass::ProviderPermanent);
    h.sim.shutdown().await;
}
