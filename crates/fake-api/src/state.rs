//! The fake's memory: runs and their scripts, idempotency keys, recorded requests, faults.

use std::collections::HashMap;

use antpath_types::{CleanupState, OutputId, RunId, RunStatus};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::FakeConfig;

/// One request as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The raw query, if any.
    pub query: Option<String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The JSON body of a submission, when the request was one.
    pub body: Option<Value>,
}

/// A failure to answer instead of the real response.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// The method to match.
    pub method: String,
    /// The path prefix to match.
    pub path_prefix: String,
    /// The status to answer with (the body is the API error shape).
    pub status: u16,
    /// A `Retry-After` value in seconds.
    pub retry_after: Option<u64>,
    /// How many matching requests fail.
    pub times: u32,
}

impl Fault {
    /// `times` failures of `method path_prefix…` with `status`.
    pub fn new(method: &str, path_prefix: &str, status: u16, times: u32) -> Self {
        Self {
            method: method.to_owned(),
            path_prefix: path_prefix.to_owned(),
            status,
            retry_after: None,
            times,
        }
    }

    /// Adds a `Retry-After` header.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

/// One captured file.
pub(crate) struct FakeOutput {
    pub(crate) id: OutputId,
    /// The provider's name, verbatim.
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) created_at: DateTime<Utc>,
}

/// One run and where it is in its script.
pub(crate) struct FakeRun {
    pub(crate) id: RunId,
    pub(crate) script: Vec<RunStatus>,
    pub(crate) step: usize,
    pub(crate) hold: bool,
    /// Reads that returned the run with a terminal status.
    pub(crate) ended_reads: u32,
    pub(crate) final_cleanup: CleanupState,
    pub(crate) cleanup_running_reads: u32,
    pub(crate) template_name: String,
    pub(crate) template_hash: String,
    pub(crate) request_hash: String,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) cancel_requested_at: Option<DateTime<Utc>>,
    pub(crate) pending_delete_at: Option<DateTime<Utc>>,
    pub(crate) events: Vec<Value>,
    pub(crate) outputs: Vec<FakeOutput>,
}

impl FakeRun {
    pub(crate) fn status(&self) -> RunStatus {
        self.script[self.step]
    }

    /// Moves one step along the script (a cancel ends it), recording an event per move;
    /// once ended, counts the read towards cleanup.
    pub(crate) fn advance(&mut self) {
        self.step_script();
        if self.status().is_terminal() {
            self.ended_reads = self.ended_reads.saturating_add(1);
        }
    }

    fn step_script(&mut self) {
        let status = self.status();
        if status.is_terminal() {
            return;
        }
        if self.cancel_requested_at.is_some() {
            self.script.truncate(self.step + 1);
            self.script.push(RunStatus::Cancelled);
        } else if self.hold && status == RunStatus::ProviderRunning {
            return;
        }
        if self.step + 1 < self.script.len() {
            self.step += 1;
            let seq = self.events.len() + 1;
            self.events.push(json!({
                "id": format!("evt_{:032x}", seq), "seq": seq,
                "type": format!("antpath.status_{}", self.status()),
                "attempt": 1, "provider_event_id": format!("sevt_{seq}"),
                "processed_at": Utc::now(), "received_at": Utc::now(),
                "summary": {"status": self.status().as_str()},
            }));
        }
    }

    fn cleanup_state(&self) -> CleanupState {
        if !self.status().is_terminal() {
            CleanupState::Pending
        } else if self.ended_reads <= self.cleanup_running_reads {
            CleanupState::Running
        } else {
            self.final_cleanup
        }
    }

    /// The `cleanup` object of the run JSON.
    fn cleanup_json(&self) -> Value {
        let state = self.cleanup_state();
        let (attempts, failed, abandoned) = match state {
            CleanupState::Pending => (0, false, false),
            CleanupState::Running | CleanupState::Succeeded | CleanupState::Retained => {
                (1, false, false)
            }
            CleanupState::Retrying => (2, true, false),
            CleanupState::Abandoned => (8, true, true),
        };
        let last_error = failed.then(|| {
            json!({"class": "transient_provider", "message": "The provider answered 503 to the session delete."})
        });
        let resources = if abandoned {
            json!([{"kind": "session", "id": "sesn_fake_1"}, {"kind": "vault", "id": "vlt_fake_1"}])
        } else {
            json!([])
        };
        json!({"state": state, "attempts": attempts, "last_error": last_error,
               "abandoned_resources": resources})
    }

    pub(crate) fn to_json(&self) -> Value {
        let status = self.status();
        let ended = status.is_terminal().then(Utc::now);
        let phase = match self.cleanup_state() {
            CleanupState::Pending => "observe",
            CleanupState::Running => "cleanup",
            _ => "done",
        };
        json!({
            "id": self.id, "object": "run", "status": status, "phase": phase,
            "cleanup": self.cleanup_json(), "cleanup_policy": "delete",
            "attempt": 1, "max_attempts": 2,
            "template_name": self.template_name, "template_hash": self.template_hash,
            "request_hash": self.request_hash, "idempotency_key": self.idempotency_key,
            "error_class": (status == RunStatus::Failed).then_some("provider_error"),
            "error_message": (status == RunStatus::Failed).then_some("The agent stopped with an error."),
            "usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_tokens": 0, "cache_creation_tokens": 0,
                      "cost_usd": null, "active_seconds": null},
            "limits": {"max_duration_seconds": 600, "max_spend_usd": null},
            "created_at": self.created_at, "updated_at": Utc::now(),
            "dispatched_at": null, "ended_at": ended,
            "cancel_requested_at": self.cancel_requested_at,
            "pending_delete_at": self.pending_delete_at,
        })
    }
}

/// Everything the fake remembers.
pub(crate) struct State {
    pub(crate) config: FakeConfig,
    pub(crate) base_url: String,
    pub(crate) runs: Vec<FakeRun>,
    pub(crate) idempotency: HashMap<String, (String, RunId)>,
    pub(crate) requests: Vec<Recorded>,
    pub(crate) faults: Vec<Fault>,
    pub(crate) request_counter: u64,
}

impl State {
    pub(crate) fn new(config: FakeConfig, base_url: String) -> Self {
        Self {
            config,
            base_url,
            runs: Vec::new(),
            idempotency: HashMap::new(),
            requests: Vec::new(),
            faults: Vec::new(),
            request_counter: 0,
        }
    }

    /// A new run at the start of its script.
    pub(crate) fn insert_run(
        &mut self,
        template_name: String,
        template_hash: String,
        request_hash: String,
        idempotency_key: Option<String>,
    ) -> RunId {
        use RunStatus::*;
        let id = RunId::new();
        let outputs = self
            .config
            .files
            .iter()
            .map(|(name, bytes)| FakeOutput {
                id: OutputId::new(),
                name: name.clone(),
                bytes: bytes.clone(),
                created_at: Utc::now(),
            })
            .collect();
        self.runs.push(FakeRun {
            id,
            script: vec![
                Queued,
                Provisioning,
                ProviderRunning,
                CapturingOutputs,
                self.config.final_status,
            ],
            step: 0,
            hold: self.config.hold_running,
            ended_reads: 0,
            final_cleanup: self.config.final_cleanup,
            cleanup_running_reads: self.config.cleanup_running_reads,
            template_name,
            template_hash,
            request_hash,
            idempotency_key,
            created_at: Utc::now(),
            cancel_requested_at: None,
            pending_delete_at: None,
            events: Vec::new(),
            outputs,
        });
        id
    }

    pub(crate) fn insert_finished_run(&mut self) {
        let id = self.insert_run("seeded".into(), "sha256:0".into(), "sha256:0".into(), None);
        let run = self.run_mut(id).expect("just inserted");
        run.step = run.script.len() - 1;
        run.ended_reads = u32::MAX;
    }

    pub(crate) fn run_mut(&mut self, id: RunId) -> Option<&mut FakeRun> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    /// The outputs listing of a run, as the API shapes it.
    pub(crate) fn outputs_json(&self, run: &FakeRun) -> Value {
        if !run.status().is_terminal() {
            return json!({"outputs": [], "capture_failures": []});
        }
        let outputs: Vec<Value> = run
            .outputs
            .iter()
            .map(|o| {
                let mut digest = hex::encode(Sha256::digest(&o.bytes));
                if self.config.corrupt_sha256 {
                    digest = hex::encode(Sha256::digest(b"something else"));
                }
                let filename = if self.config.raw_filenames {
                    o.name.clone()
                } else {
                    path_safe(&o.name)
                };
                json!({"id": o.id, "filename": filename, "display_name": escape_controls(&o.name),
                       "size_bytes": o.bytes.len(), "sha256": digest,
                       "content_type": "text/plain", "created_at": o.created_at})
            })
            .collect();
        let failures: Vec<Value> = self
            .config
            .capture_failures
            .iter()
            .map(|name| {
                json!({"provider_file_id": "file_1", "filename": name, "size_bytes": 9_999_999,
                       "reason": "workspace_quota_exceeded",
                       "message": "The workspace storage quota is used up.", "created_at": Utc::now()})
            })
            .collect();
        json!({"outputs": outputs, "capture_failures": failures})
    }
}

/// A rough stand-in for the server's filename normalisation: separators become `_`, control
/// characters go.
fn path_safe(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .map(|c| if matches!(c, '/' | '\\') { '_' } else { c })
        .collect()
}

/// The name verbatim, with control characters written as `\u{…}`.
fn escape_controls(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
