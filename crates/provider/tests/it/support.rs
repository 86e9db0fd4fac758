//! Shared set-up: a simulator per test, a client pointed at it, condition waits with deadlines
//! and the simulator's inspection routes.

use std::future::Future;
use std::time::{Duration, Instant};

use antpath_provider::types::event::{EventCursor, SessionEvent};
use antpath_provider::types::session::{Session, SessionStatus};
use antpath_provider::{ClientConfig, ProviderClient, RetryPolicy};
use antpath_redact::Secret;
use antpath_sim::{SimConfig, SimHandle};
use serde_json::Value;

/// The key every test client uses unless it needs another.
pub const TEST_KEY: &str = "sk-ant-test-key-0000";

/// How long a condition may take before a test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Pause between two checks of a condition.
const POLL: Duration = Duration::from_millis(10);

/// A running simulator and a client of it.
pub struct Harness {
    /// The simulator.
    pub sim: SimHandle,
    /// A client with fast retries.
    pub client: ProviderClient,
}

impl Harness {
    /// A simulator with default settings.
    pub async fn start() -> Self {
        Self::with(SimConfig::default(), RetryPolicy::fast(4)).await
    }

    /// A simulator and client with the given settings.
    pub async fn with(config: SimConfig, retry: RetryPolicy) -> Self {
        let sim = antpath_sim::spawn(config).await.expect("simulator starts");
        let client = client_for(&sim, TEST_KEY, retry);
        Self { sim, client }
    }

    /// `GET /__sim/{what}` as JSON.
    pub async fn inspect(&self, what: &str) -> Value {
        reqwest::get(format!("{}/__sim/{what}", self.sim.base_url()))
            .await
            .expect("inspection reachable")
            .json()
            .await
            .expect("inspection is JSON")
    }

    /// Replaces the simulator's faults (`POST /__sim/faults`).
    pub async fn set_faults(&self, faults: Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/__sim/faults", self.sim.base_url()))
            .json(&faults)
            .send()
            .await
            .expect("faults route reachable");
        assert!(
            response.status().is_success(),
            "faults accepted: {}",
            response.status()
        );
    }

    /// How many `/v1` requests the simulator logged with this method and exact path.
    pub async fn calls_to(&self, method: &str, path: &str) -> usize {
        let log = self.inspect("calls").await;
        entries(&log)
            .iter()
            .filter(|c| {
                c["method"]
                    .as_str()
                    .is_some_and(|m| m.eq_ignore_ascii_case(method))
                    && c["path"]
                        .as_str()
                        .is_some_and(|p| p.split('?').next() == Some(path))
            })
            .count()
    }

    /// Polls `get_session` until `done` holds.
    pub async fn wait_for_session(&self, id: &str, done: impl Fn(&Session) -> bool) -> Session {
        wait_until(|| async {
            let session = self.client.get_session(id).await.expect("get session");
            done(&session).then_some(session)
        })
        .await
    }

    /// Reads events with `list_events_after` until one satisfies `done`; returns them all.
    pub async fn wait_for_event(
        &self,
        session_id: &str,
        done: impl Fn(&SessionEvent) -> bool,
    ) -> Vec<SessionEvent> {
        let mut cursor = EventCursor::default();
        let mut seen = Vec::new();
        let deadline = Instant::now() + DEADLINE;
        loop {
            let (fresh, next) = self
                .client
                .list_events_after(session_id, &cursor)
                .await
                .expect("list events");
            cursor = next;
            let found = fresh.iter().any(&done);
            seen.extend(fresh);
            if found {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "event not seen in time; saw {seen:#?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

/// A client of `sim` with `key`.
pub fn client_for(sim: &SimHandle, key: &str, retry: RetryPolicy) -> ProviderClient {
    let config = ClientConfig::new(Secret::new(key.to_owned()))
        .with_base_url(sim.base_url())
        .with_retry(retry);
    ProviderClient::new(config).expect("client builds")
}

/// The entries of a simulator inspection answer: a bare array or `{data|calls: […]}`.
pub fn entries(value: &Value) -> Vec<Value> {
    value
        .as_array()
        .or_else(|| value["data"].as_array())
        .or_else(|| value["calls"].as_array())
        .cloned()
        .unwrap_or_default()
}

/// Runs `check` until it returns `Some`, failing after [`DEADLINE`].
pub async fn wait_until<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {DEADLINE:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// True for a session that is no longer running.
pub fn settled(session: &Session) -> bool {
    matches!(
        session.status,
        SessionStatus::Idle | SessionStatus::Terminated
    )
}
