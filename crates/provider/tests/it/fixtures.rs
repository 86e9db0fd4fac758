//! The documented example responses under `tests/fixtures/provider/` deserialise into the
//! client's types, unknown fields and unknown union variants included.

use std::path::PathBuf;

use antpath_provider::types::agent::Agent;
use antpath_provider::types::environment::Environment;
use antpath_provider::types::event::{
    ContentBlock, EventKind, RetryStatus, SentEvents, SessionEvent, StopReason,
};
use antpath_provider::types::file::FileMetadata;
use antpath_provider::types::session::{Session, SessionStatus};
use antpath_provider::types::skill::{Skill, SkillVersion};
use antpath_provider::types::vault::{Credential, CredentialAuth, Vault};
use antpath_provider::types::{Deleted, HasMetadata};
use antpath_provider::{Page, ProviderError};
use antpath_types::ErrorClass;
use serde::de::DeserializeOwned;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/provider")
        .join(format!("{name}.json"))
}

fn raw(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn load<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_slice(&raw(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

#[test]
fn an_agent_keeps_its_known_fields_unknown_fields_and_unknown_tools() {
    let agent: Agent = load("agent");
    assert_eq!(agent.id, "agent_01FixtureAgentAlpha");
    assert_eq!(agent.model_id(), Some("claude-sonnet-4-6"));
    assert_eq!(agent.version, 1);
    assert_eq!(agent.tools.len(), 3);
    assert_eq!(agent.mcp_servers[0].url, "https://mcp.tracker.example/mcp");
    assert_eq!(agent.skills[0].version.as_deref(), Some("1759178010641129"));
    assert!(agent.extra.contains_key("a_field_added_later"));
    assert_eq!(
        agent.metadata().get("antpath_run_id").map(String::as_str),
        Some("run_7")
    );
}

#[test]
fn environments_vaults_and_credentials_deserialise() {
    let env: Environment = load("environment");
    assert_eq!(env.name, "antpath-run_7");
    assert_eq!(env.description, None);
    assert_eq!(env.config["networking"]["type"], "limited");
    let page: Page<Environment> = load("environments_page");
    assert_eq!(page.data.len(), 2);
    assert_eq!(page.next_page.as_deref(), Some("page_Zml4dHVyZS0y"));
    assert!(page.data[1].archived_at.is_some());
    let vault: Vault = load("vault");
    assert_eq!(vault.display_name, "antpath run 7");
    let credential: Credential = load("credential");
    assert!(matches!(
        &credential.auth,
        CredentialAuth::StaticBearer(auth) if auth.mcp_server_url == "https://mcp.tracker.example/mcp"
    ));
    let unknown: Credential = load("credential_unknown_auth");
    assert!(
        matches!(&unknown.auth, CredentialAuth::Other(raw) if raw["audience"] == "https://mcp.example")
    );
    assert_eq!(unknown.auth.type_name(), "workload_identity");
}

#[test]
fn a_session_in_every_status_deserialises_and_an_unknown_status_is_kept() {
    for (name, status) in [
        ("session_idle", SessionStatus::Idle),
        ("session_running", SessionStatus::Running),
        ("session_rescheduling", SessionStatus::Rescheduling),
        ("session_terminated", SessionStatus::Terminated),
        (
            "session_unknown_status",
            SessionStatus::Other("hibernating".into()),
        ),
    ] {
        let session: Session = load(name);
        assert_eq!(session.status, status, "{name}");
        assert_eq!(session.vault_ids, ["vlt_01FixtureVault"]);
        assert_eq!(
            session.usage.as_ref().and_then(|u| u.input_tokens),
            Some(120)
        );
        assert!(session.extra.contains_key("outcome_evaluations"));
    }
    let page: Page<Session> = load("sessions_page");
    assert_eq!(page.data.len(), 2);
    assert_eq!(page.next_page, None);
    assert_eq!(page.prev_page.as_deref(), Some("page_cHJldg=="));
}

#[test]
fn every_modelled_event_type_and_an_unknown_one_deserialise() {
    let page: Page<SessionEvent> = load("events_page");
    let kinds: Vec<&str> = page.data.iter().map(SessionEvent::event_type).collect();
    assert_eq!(kinds.len(), 26);
    let find = |id: &str| {
        page.data
            .iter()
            .find(|e| e.id == id)
            .expect("event present")
    };
    assert!(
        matches!(&find("sevt_01").kind, EventKind::UserMessage(m) if m.text().contains("scenario=happy"))
    );
    assert!(matches!(&find("sevt_05").kind, EventKind::AgentMessage(m)
        if matches!(m.content[1], ContentBlock::Other(_)) && m.text() == "Writing the report."));
    assert!(
        matches!(&find("sevt_06").kind, EventKind::AgentToolUse(t) if t.evaluated_permission.as_deref() == Some("allow"))
    );
    assert!(
        matches!(&find("sevt_08").kind, EventKind::AgentMcpToolUse(t) if t.mcp_server_name.as_deref() == Some("tracker"))
    );
    assert!(matches!(&find("sevt_09").kind, EventKind::StatusIdle(i)
        if matches!(&i.stop_reason, StopReason::RequiresAction(a) if a.event_ids == ["sevt_08"])));
    assert!(matches!(
        &find("sevt_10").kind,
        EventKind::UserToolConfirmation(_)
    ));
    assert!(matches!(
        &find("sevt_11").kind,
        EventKind::AgentMcpToolResult(_)
    ));
    assert!(matches!(
        &find("sevt_12").kind,
        EventKind::AgentCustomToolUse(_)
    ));
    assert!(matches!(&find("sevt_13").kind, EventKind::SessionError(e)
        if matches!(e.error.retry_status, RetryStatus::Retrying(_))));
    assert!(matches!(
        &find("sevt_14").kind,
        EventKind::StatusRescheduled(_)
    ));
    assert!(
        matches!(&find("sevt_15").kind, EventKind::ModelRequestEnd(m) if m.model_usage.output_tokens == 45)
    );
    assert!(matches!(&find("sevt_16").kind, EventKind::SessionUsage(_)));
    assert!(
        matches!(&find("sevt_17").kind, EventKind::StatusIdle(i) if matches!(i.stop_reason, StopReason::EndTurn(_)))
    );
    assert!(matches!(&find("").kind, EventKind::UserInterrupt(_)));
    assert!(matches!(&find("sevt_19").kind, EventKind::SessionError(e)
        if e.error.error_type == "a_new_error_kind" && matches!(e.error.retry_status, RetryStatus::Other(_))));
    for (id, check) in [
        ("sevt_20", "retries_exhausted"),
        ("sevt_21", "refusal"),
        ("sevt_22", "budget_reached"),
        ("sevt_23", "sleeping"),
    ] {
        let EventKind::StatusIdle(idle) = &find(id).kind else {
            panic!("{id} is an idle event")
        };
        assert_eq!(idle.stop_reason.type_name(), check);
    }
    assert!(
        matches!(&find("sevt_23").kind, EventKind::StatusIdle(i) if matches!(i.stop_reason, StopReason::Other(_)))
    );
    assert!(
        matches!(&find("sevt_24").kind, EventKind::Other(raw) if raw["workflow_run_id"] == "wfr_1")
    );
    assert_eq!(find("sevt_24").event_type(), "workflow_run.created");
    assert!(matches!(
        &find("sevt_25").kind,
        EventKind::StatusTerminated(_)
    ));
    assert!(matches!(
        &find("sevt_26").kind,
        EventKind::SessionDeleted(_)
    ));
}

#[test]
fn an_event_round_trips_through_serialisation() {
    let page: Page<SessionEvent> = load("events_page");
    for event in &page.data {
        let json = serde_json::to_value(event).expect("serialises");
        let again: SessionEvent = serde_json::from_value(json).expect("deserialises");
        assert_eq!(&again, event);
    }
}

#[test]
fn files_skills_sends_and_deletes_deserialise() {
    let file: FileMetadata = load("file_metadata");
    assert!(file.is_downloadable());
    assert_eq!(
        file.scope.as_ref().map(|s| s.id.as_str()),
        Some("sesn_01FixtureSession")
    );
    let page: Page<FileMetadata> = load("files_page");
    assert_eq!(page.data.iter().filter(|f| f.is_downloadable()).count(), 1);
    let sent: SentEvents = load("send_events_response");
    assert_eq!(sent.data[0].processed_at, None);
    let deleted: Deleted = load("deleted_session");
    assert_eq!(deleted.kind.as_deref(), Some("session_deleted"));
    let deleted: Deleted = load("deleted_environment");
    assert_eq!(deleted.id, "env_01FixtureEnvAlpha");
    let skill: Skill = load("skill");
    assert_eq!(skill.source["type"], "custom");
    let version: SkillVersion = load("skill_version");
    assert_eq!(version.skill_id.as_deref(), Some("skill_01Fixture"));
}

#[test]
fn error_envelopes_are_classified() {
    use ErrorClass::*;
    for (name, status, class, code) in [
        ("error_authentication", 401, TenantPermanent, None),
        ("error_not_found", 404, ProviderPermanent, None),
        (
            "error_invalid_metadata",
            400,
            ProviderPermanent,
            Some("invalid_metadata"),
        ),
        ("error_invalid_model", 400, TenantPermanent, None),
        ("error_rate_limit", 429, TransientProvider, None),
        (
            "error_spend_limit",
            429,
            TenantPermanent,
            Some("enforced_spend_limit_reached"),
        ),
        ("error_overloaded", 529, TransientProvider, None),
        ("error_conflict", 409, ProviderPermanent, None),
    ] {
        let err = ProviderError::from_response(status, None, None, &raw(name));
        assert_eq!(err.class(), class, "{name}");
        assert_eq!(err.error_code(), code, "{name}");
        assert_eq!(err.request_id(), Some("req_01FixtureErr"), "{name}");
        assert!(err.provider_error_type().is_some(), "{name}");
    }
    let conflict = ProviderError::from_response(409, None, None, &raw("error_conflict"));
    assert!(conflict.is_conflict());
}
