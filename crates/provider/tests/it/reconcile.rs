//! Reconciliation: resources tagged with a run id are found again by metadata across pages,
//! archived ones included, and nothing else is.

use antpath_provider::ListParams;
use antpath_provider::types::agent::CreateAgent;
use antpath_provider::types::environment::CreateEnvironment;
use antpath_provider::types::session::{CreateSession, SessionListParams};
use antpath_provider::types::vault::CreateVault;

use crate::lifecycle::run_metadata;
use crate::support::Harness;

#[tokio::test]
async fn leaked_resources_are_found_by_their_run_metadata_across_pages() {
    let h = Harness::start().await;
    let c = &h.client;
    let mut sessions = Vec::new();
    for n in 0..7 {
        let run = if n % 2 == 0 {
            "run_leaked"
        } else {
            "run_other"
        };
        let env = c
            .create_environment(&CreateEnvironment {
                name: format!("recon-{n}"),
                metadata: run_metadata(run),
                ..Default::default()
            })
            .await
            .expect("environment");
        let mut agent = CreateAgent::new("a", "claude-sonnet-4-6");
        agent.metadata = run_metadata(run);
        let agent = c.create_agent(&agent).await.expect("agent");
        c.create_vault(&CreateVault {
            display_name: format!("v{n}"),
            metadata: run_metadata(run),
        })
        .await
        .expect("vault");
        let mut session = CreateSession::new(&agent.id, &env.id);
        session.metadata = run_metadata(run);
        sessions.push(c.create_session(&session).await.expect("session"));
        if n == 0 {
            c.archive_agent(&agent.id)
                .await
                .expect("archived agents are still found");
        }
    }
    let wanted = [("antpath_run_id", "run_leaked")];
    assert_eq!(
        c.find_environments_by_metadata(&wanted)
            .await
            .expect("envs")
            .len(),
        4
    );
    assert_eq!(
        c.find_agents_by_metadata(&wanted)
            .await
            .expect("agents")
            .len(),
        4
    );
    assert_eq!(
        c.find_vaults_by_metadata(&wanted)
            .await
            .expect("vaults")
            .len(),
        4
    );
    let found = c
        .find_sessions_by_metadata(&SessionListParams::default(), &wanted)
        .await
        .expect("sessions");
    assert_eq!(found.len(), 4);
    assert!(
        found
            .iter()
            .all(|s| s.metadata["antpath_run_id"] == "run_leaked")
    );
    assert!(
        c.find_agents_by_metadata(&[("antpath_run_id", "nope")])
            .await
            .expect("none")
            .is_empty()
    );

    // Small pages exercise the cursor walk itself.
    let paged = c
        .list_all_environments(&ListParams::with_limit(2))
        .await
        .expect("paged");
    assert_eq!(paged.len(), 7);
    let page = c
        .list_environments(&ListParams::with_limit(2))
        .await
        .expect("page");
    assert_eq!(page.data.len(), 2);
    assert!(page.next_page.is_some());
    let params = SessionListParams {
        list: ListParams::with_limit(3),
        ..Default::default()
    };
    assert_eq!(
        c.list_all_sessions(&params).await.expect("sessions").len(),
        7
    );
    h.sim.shutdown().await;
}
