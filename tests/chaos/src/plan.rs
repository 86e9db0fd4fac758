//! What the suite submits: a mix of simulator scenarios, each with the outcome it must end
//! with however much chaos it meets, and what the "user" does to it mid-run.

use serde_json::{Value, json};

use crate::model::Outcome;

/// The Anthropic key every run carries. The simulator accepts any `sk-ant-` key; this one is
/// distinctive so that finding it anywhere (a log line, a database dump) is a leak.
pub const CANARY_KEY: &str = "sk-ant-api03-CHAOSCANARY-9d2e7b41c6a85f30";

/// The MCP bearer token the MCP runs carry: the same rule applies.
pub const CANARY_BEARER: &str = "chaos-mcp-bearer-CANARY-3f61a0c2e9";

/// Text every run's prompt carries (the simulator's directive), so a dump of the database
/// that holds the runs can be told from one that does not.
pub const DIRECTIVE_MARKER: &str = "antpath-sim: scenario=";

/// The longest a planned run may take; a run that needs longer is stuck, and the cap keeps a
/// broken cancel from running for ever.
const MAX_DURATION_SECONDS: u64 = 300;

/// What a run does on the provider and what happens to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// Writes two files and succeeds.
    Happy,
    /// Like `Happy`, with `cleanup.claudeSession = retain`: its provider resources stay.
    Retained,
    /// A retrying provider error, then success.
    Transient,
    /// Provider retries exhausted: fails.
    Exhausted,
    /// The session terminates: fails.
    Terminated,
    /// Stops for a tool confirmation nobody gives: fails.
    Approval,
    /// An MCP server with a static bearer token (a vault and a credential); succeeds.
    Mcp,
    /// Files listed late after the idle; succeeds with them.
    LateFiles,
    /// Runs until interrupted; the user cancels it mid-run.
    CancelledForever,
    /// A slow run the user cancels while it works.
    CancelledSlow,
    /// Runs past its duration cap: timed out.
    TimedOut,
    /// Succeeds, then the user deletes it: its outputs are purged.
    Deleted,
}

impl Scenario {
    /// The mix, in submission order; the plan cycles through it.
    pub const MIX: [Scenario; 12] = [
        Scenario::Happy,
        Scenario::CancelledForever,
        Scenario::Transient,
        Scenario::Retained,
        Scenario::Exhausted,
        Scenario::Mcp,
        Scenario::Terminated,
        Scenario::CancelledSlow,
        Scenario::LateFiles,
        Scenario::Approval,
        Scenario::TimedOut,
        Scenario::Deleted,
    ];

    /// A short name for the figures.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Happy => "happy",
            Scenario::Retained => "retained",
            Scenario::Transient => "transient",
            Scenario::Exhausted => "exhausted",
            Scenario::Terminated => "terminated",
            Scenario::Approval => "approval",
            Scenario::Mcp => "mcp",
            Scenario::LateFiles => "late-files",
            Scenario::CancelledForever => "cancelled-forever",
            Scenario::CancelledSlow => "cancelled-slow",
            Scenario::TimedOut => "timed-out",
            Scenario::Deleted => "deleted",
        }
    }

    /// The outcome the run must end with.
    pub fn expected(self) -> Outcome {
        match self {
            Scenario::Happy
            | Scenario::Retained
            | Scenario::Transient
            | Scenario::Mcp
            | Scenario::LateFiles => Outcome::Succeeded,
            Scenario::Exhausted | Scenario::Terminated | Scenario::Approval => Outcome::Failed,
            Scenario::CancelledForever | Scenario::CancelledSlow => Outcome::Cancelled,
            Scenario::TimedOut => Outcome::TimedOut,
            Scenario::Deleted => Outcome::Deleted,
        }
    }

    /// Output files a succeeded run must have stored (`None`: not checked).
    pub fn expected_files(self) -> Option<usize> {
        match self {
            Scenario::Happy | Scenario::Retained | Scenario::Transient => Some(2),
            Scenario::Mcp | Scenario::LateFiles => Some(1),
            Scenario::Exhausted | Scenario::Terminated | Scenario::Approval => Some(0),
            Scenario::Deleted => Some(0),
            Scenario::CancelledForever | Scenario::CancelledSlow | Scenario::TimedOut => None,
        }
    }

    /// Whether the user cancels it once it runs.
    pub fn cancelled_by_user(self) -> bool {
        matches!(self, Scenario::CancelledForever | Scenario::CancelledSlow)
    }

    /// Whether the user deletes it once it ended.
    pub fn deleted_by_user(self) -> bool {
        self == Scenario::Deleted
    }

    /// Whether its provider resources are retained.
    pub fn retained(self) -> bool {
        self == Scenario::Retained
    }

    fn directive(self) -> &'static str {
        match self {
            Scenario::Happy | Scenario::Retained | Scenario::Deleted => {
                "scenario=happy files=2 size=700"
            }
            Scenario::Transient => "scenario=transient files=2 size=300",
            Scenario::Exhausted => "scenario=exhausted",
            Scenario::Terminated => "scenario=terminated",
            Scenario::Approval => "scenario=approval",
            Scenario::Mcp => "scenario=happy files=1 size=1024",
            Scenario::LateFiles => "scenario=late-files files=1 size=900 seconds=0.5",
            Scenario::CancelledForever | Scenario::TimedOut => "scenario=forever",
            Scenario::CancelledSlow => "scenario=slow seconds=60",
        }
    }

    fn duration_cap(self) -> u64 {
        if self == Scenario::TimedOut {
            3
        } else {
            MAX_DURATION_SECONDS
        }
    }
}

/// One run of the plan.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// Position in the plan.
    pub index: usize,
    /// What it does.
    pub scenario: Scenario,
    /// Which tenant (index into the workspaces) submits it.
    pub tenant: usize,
    /// Its idempotency key: a retried submit finds the same run.
    pub idempotency_key: String,
}

impl PlannedRun {
    /// The `POST /v1/runs` body.
    pub fn body(&self) -> Value {
        let scenario = self.scenario;
        let mut agent = json!({
            "model": "claude-sonnet-4-5",
            "tools": [{"type": "agent_toolset_20260401", "defaultConfig": {"permissionPolicy": "always_allow"}}],
        });
        let mut secrets = json!({"anthropic": {"apiKey": CANARY_KEY}});
        if scenario == Scenario::Mcp {
            agent["tools"] = json!([{"type": "mcp_toolset", "mcpServerName": "docs", "defaultConfig": {"permissionPolicy": "always_allow"}}]);
            agent["mcpServers"] = json!([{"name": "docs", "url": "https://mcp.example.com/mcp", "auth": "static_bearer"}]);
            secrets["mcpServers"] = json!({"docs": {"bearerToken": CANARY_BEARER}});
        }
        json!({
            "template": {
                "name": format!("chaos-{}", scenario.name()),
                "agent": agent,
                "prompt": format!("Chaos run {}.\n\nantpath-sim: {}", self.index, scenario.directive()),
                "limits": {"maxDurationSeconds": scenario.duration_cap()},
            },
            "secrets": secrets,
            "cleanup": {"claudeSession": if scenario.retained() { "retain" } else { "delete" }},
            "idempotencyKey": self.idempotency_key,
        })
    }
}

/// `runs` runs over `tenants` workspaces, cycling through [`Scenario::MIX`]; each round of
/// the mix shifts the tenants by one, so every tenant meets every scenario.
pub fn plan(runs: usize, tenants: usize, salt: &str) -> Vec<PlannedRun> {
    let mix = Scenario::MIX.len();
    (0..runs)
        .map(|index| PlannedRun {
            index,
            scenario: Scenario::MIX[index % mix],
            tenant: (index + index / mix) % tenants.max(1),
            idempotency_key: format!("chaos-{salt}-{index}"),
        })
        .collect()
}
