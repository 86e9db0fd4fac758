//! Every scripted scenario of the simulator, observed through the client the way the worker
//! will: events after a cursor, the turn outcome, the session status and the files.

use std::time::{Duration, Instant};

use antpath_provider::mapping::{TurnOutcome, turn_outcome};
use antpath_provider::types::agent::CreateAgent;
use antpath_provider::types::environment::CreateEnvironment;
use antpath_provider::types::event::{EventKind, SendEvent, StopReason};
use antpath_provider::types::session::{CreateSession, SessionStatus};
use antpath_types::ErrorClass;

use crate::support::{Harness, settled, wait_until};

/// Creates an environment, agent and session and sends `directive`; returns the session id.
async fn start(h: &Harness, directive: &str) -> String {
    let name = format!("env-{}", rand_suffix());
    let env = h
        .client
        .create_environment(&CreateEnvironment {
            name,
            ..Default::default()
        })
        .await
        .expect("environment");
    let agent = h
        .client
        .create_agent(&CreateAgent::new("a", "claude-sonnet-4-6"))
        .await
        .expect("agent");
    let session = h
        .client
        .create_session(&CreateSession::new(&agent.id, &env.id))
        .await
        .expect("session");
    h.client
        .send_user_message(&session.id, &format!("antpath-sim: {directive}"))
        .await
        .expect("send");
    session.id
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn is_idle(e: &antpath_provider::types::event::SessionEvent) -> bool {
    matches!(e.kind, EventKind::StatusIdle(_))
}

#[tokio::test]
async fn the_happy_scenario_ends_its_turn_and_writes_the_requested_files() {
    let h = Harness::start().await;
    let id = start(&h, "scenario=happy files=4 size=10").await;
    let events = h.wait_for_event(&id, is_idle).await;
    assert_eq!(turn_outcome(&events), TurnOutcome::Succeeded);
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::AgentMessage(_)))
    );
    let files = h.client.list_session_files(&id).await.expect("files");
    assert_eq!(files.iter().filter(|f| f.is_downloadable()).count(), 4);
    assert!(files.iter().all(|f| f.size_bytes == 10));
    h.sim.shutdown().await;
}

#[tokio::test]
async fn the_approval_scenario_waits_for_a_confirmation_and_then_finishes() {
    let h = Harness::start().await;
    let id = start(&h, "scenario=approval").await;
    let events = h.wait_for_event(&id, is_idle).await;
    let TurnOutcome::RequiresAction(ids) = turn_outcome(&events) else {
        panic!("expected requires_action, saw {events:#?}");
    };
    assert!(!ids.is_empty());
    let asked = events.iter().any(|e| match &e.kind {
        EventKind::AgentToolUse(t) | EventKind::AgentMcpToolUse(t) => {
            t.evaluated_permission.as_deref() == Some("ask") && ids.contains(&e.id)
        }
        _ => false,
    });
    assert!(asked, "the pending tool use is in the history");
    let confirmations: Vec<_> = ids
        .iter()
        .map(|id| SendEvent::UserToolConfirmation {
            tool_use_id: id.clone(),
            result: "allow".into(),
            deny_message: None,
        })
        .collect();
    h.client
        .send_events(&id, &confirmations)
        .await
        .expect("confirm");
    let events = h
        .wait_for_event(&id, |e| {
            matches!(&e.kind, EventKind::StatusIdle(i) if matches!(i.stop_reason, StopReason::EndTurn(_)))
        })
        .await;
    assert_eq!(turn_outcome(&events), TurnOutcome::Succeeded);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn the_transient_scenario_reschedules_and_still_succeeds() {
    let h = Harness::start().await;
    let id = start(&h, "scenario=transient").await;
    let events = h.wait_for_event(&id, is_idle).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::StatusRescheduled(_)))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::SessionError(_)))
    );
    assert_eq!(turn_outcome(&events), TurnOutcome::Succeeded);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn the_exhausted_scenario_fails_the_turn_with_retries_exhausted() {
    let h = Harness::start().await;
    let id = start(&h, "scenario=exhausted").await;
    let events = h.wait_for_event(&id, is_idle).await;
    assert!(events.iter().any(|e| matches!(&e.kind,
        EventKind::StatusIdle(i) if matches!(i.stop_reason, StopReason::RetriesExhausted(_)))));
    assert!(matches!(turn_outcome(&events), TurnOutcome::Failed { .. }));
    let session = h.wait_for_session(&id, settled).await;
    assert_eq!(session.status, SessionStatus::Idle);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn the_terminated_scenario_ends_the_session_for_good() {
    let h = Harness::start().await;
    let id = start(&h, "scenario=terminated").await;
    let events = h
        .wait_for_event(&id, |e| matches!(e.kind, EventKind::StatusTerminated(_)))
        .await;
    let TurnOutcome::Failed { class, .. } = turn_outcome(&events) else {
        panic!("a terminated session is a failed turn");
    };
    assert_ne!(class, ErrorClass::AntpathBug);
    let session = h
        .wait_for_session(&id, |s| s.status == SessionStatus::Terminated)
        .await;
    assert_eq!(
        antpath_provider::mapping::run_status_for(&session.status),
        None
    );
    h.sim.shutdown().await;
}

#[tokio::test]
async fn the_forever_scenario_runs_until_interrupted_then_idles_with_end_turn() {
    let h = Harness::start().await;
    let id = start(&h, "scenario=forever").await;
    h.wait_for_session(&id, |s| s.status == SessionStatus::Running)
        .await;
    let busy = h
        .client
        .delete_session(&id)
        .await
        .expect_err("a running session cannot be deleted");
    assert!(busy.is_conflict(), "{busy}");
    h.client.interrupt_session(&id).await.expect("interrupt");
    let events = h.wait_for_event(&id, is_idle).await;
    assert_eq!(turn_outcome(&events), TurnOutcome::Succeeded);
    h.wait_for_session(&id, settled).await;
    h.client
        .delete_session(&id)
        .await
        .expect("an idle session can be deleted");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn the_late_files_scenario_lists_its_files_only_after_a_delay() {
    let h = Harness::start().await;
    let id = start(&h, "scenario=late-files files=2 seconds=0.5").await;
    h.wait_for_event(&id, is_idle).await;
    let early = h.client.list_session_files(&id).await.expect("files");
    let files = wait_until(|| async {
        let files = h.client.list_session_files(&id).await.expect("files");
        (files.iter().filter(|f| f.is_downloadable()).count() == 2).then_some(files)
    })
    .await;
    assert!(
        early.len() < files.len(),
        "files were not all there at idle"
    );
    h.sim.shutdown().await;
}

#[tokio::test]
async fn the_slow_scenario_stays_running_for_the_requested_time() {
    let h = Harness::start().await;
    let started = Instant::now();
    let id = start(&h, "scenario=slow seconds=0.5").await;
    h.wait_for_session(&id, |s| s.status == SessionStatus::Running)
        .await;
    let events = h.wait_for_event(&id, is_idle).await;
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert_eq!(turn_outcome(&events), TurnOutcome::Succeeded);
    h.sim.shutdown().await;
}
