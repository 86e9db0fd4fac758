//! The per-session task that plays scripts and emits events with the provider's shapes.
//!
//! A task drains the session's work queue one turn at a time and exits when it is empty.
//! Every wait is interruptible: a `user.interrupt` ends the turn with `session.usage` and
//! `session.status_idle{stop_reason:end_turn}` (the SDK has no interrupt stop reason).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Notify;

use super::directive::{Directive, EVENT_BURST, file_name, planned_files};
use crate::content::{Content, Generated};
use crate::ids;
use crate::pricing;
use crate::state::SharedSim;
use crate::store::{Ext, FileExt, Kind, SessionExt, Turn};

/// Token counts reported per simulated model request.
const INPUT_TOKENS: u64 = 1200;
const OUTPUT_TOKENS: u64 = 350;
/// Hides files of a `late-files` turn until the idle event sets their real time.
const HIDDEN_FOR: Duration = Duration::from_secs(365 * 24 * 3600);

/// Why a turn stopped early.
pub(super) enum Stop {
    /// A `user.interrupt` arrived.
    Interrupted,
    /// The session was deleted.
    Gone,
    /// The session's list cost reached its budget: no new model request is issued.
    BudgetReached,
}

/// The result of one script step.
pub(super) type Step<T = ()> = Result<T, Stop>;

/// How a turn ended.
pub(super) enum Outcome {
    /// The session went idle.
    Idle,
    /// The session terminated.
    Terminated,
}

/// What a script needs: the session, the interrupt signal and the pacing.
pub(super) struct Ctx {
    sim: SharedSim,
    sid: String,
    interrupt: Arc<Notify>,
    flag: Arc<AtomicBool>,
    delay: Duration,
    started: Instant,
}

/// Starts the scripted agent of session `sid`; the caller holds the store lock.
pub fn spawn(sim: &SharedSim, ext: &mut SessionExt, sid: &str) {
    let interrupt = Arc::new(Notify::new());
    let flag = Arc::new(AtomicBool::new(false));
    let ctx = Ctx {
        sim: sim.clone(),
        sid: sid.to_owned(),
        interrupt: interrupt.clone(),
        flag: flag.clone(),
        delay: sim.config.step_delay,
        started: Instant::now(),
    };
    let task = tokio::spawn(run(ctx));
    ext.turn = Some(Turn {
        interrupt,
        interrupted: flag,
        abort: Some(task.abort_handle()),
    });
}

async fn run(mut ctx: Ctx) {
    loop {
        let work = {
            let mut store = ctx.sim.store();
            let Ok((_, ext)) = store.session_mut(&ctx.sid) else {
                return;
            };
            match ext.pending.pop_front() {
                Some(work) => work,
                None => {
                    ext.turn = None;
                    return;
                }
            }
        };
        ctx.flag.store(false, Ordering::SeqCst);
        ctx.started = Instant::now();
        match super::scripts::turn(&ctx, work).await {
            Ok(Outcome::Idle) => {}
            Ok(Outcome::Terminated) => {
                let _ = ctx.with(|_, ext| {
                    ext.pending.clear();
                    ext.turn = None;
                });
                return;
            }
            Err(Stop::Interrupted) => {
                if ctx.idle(json!({ "type": "end_turn" })).is_err() {
                    return;
                }
            }
            Err(Stop::BudgetReached) => {
                if ctx.idle(json!({ "type": "budget_reached" })).is_err() {
                    return;
                }
            }
            Err(Stop::Gone) => return,
        }
    }
}

impl Ctx {
    pub(super) fn with<T>(&self, f: impl FnOnce(&mut Value, &mut SessionExt) -> T) -> Step<T> {
        let mut store = self.sim.store();
        match store.session_mut(&self.sid) {
            Ok((body, ext)) => Ok(f(body, ext)),
            Err(_) => Err(Stop::Gone),
        }
    }

    pub(super) fn emit(&self, event: Value) -> Step<Value> {
        self.with(|_, ext| ext.push(event, true))
    }

    /// Sets the session status and emits `event` in one step, so a poller never sees the
    /// event without the status (or the reverse).
    pub(super) fn emit_status(&self, status: &str, event: Value) -> Step<Value> {
        self.with(|body, ext| {
            body["status"] = json!(status);
            body["updated_at"] = json!(ids::now());
            ext.push(event, true)
        })
    }

    pub(super) async fn wait(&self, duration: Duration) -> Step {
        if self.flag.load(Ordering::SeqCst) {
            return Err(Stop::Interrupted);
        }
        tokio::select! {
            _ = tokio::time::sleep(duration) => {}
            _ = self.interrupt.notified() => {}
        }
        if self.flag.load(Ordering::SeqCst) {
            Err(Stop::Interrupted)
        } else {
            Ok(())
        }
    }

    pub(super) async fn pause(&self) -> Step {
        self.wait(self.delay).await
    }

    pub(super) async fn until_interrupted(&self) -> Step {
        while !self.flag.load(Ordering::SeqCst) {
            self.interrupt.notified().await;
        }
        Err(Stop::Interrupted)
    }

    /// Adds one model request's tokens to the session usage and reprices it.
    pub(super) fn add_usage(&self) -> Step {
        self.with(|body, _| {
            let usage = &mut body["usage"];
            for (field, n) in [
                ("input_tokens", INPUT_TOKENS),
                ("output_tokens", OUTPUT_TOKENS),
            ] {
                usage[field] = json!(usage[field].as_u64().unwrap_or(0) + n);
            }
            pricing::refresh_list_cost(body);
        })
    }

    /// One model request; refused (the turn stops with `budget_reached`) once the session's
    /// list cost has reached its budget, as the API checks between requests.
    pub(super) async fn model_request(&self, body: impl AsyncFnOnce(&Self) -> Step) -> Step {
        if self.with(|session, _| pricing::budget_reached(session))? {
            return Err(Stop::BudgetReached);
        }
        let start = self.emit(json!({ "type": "span.model_request_start" }))?;
        self.pause().await?;
        body(self).await?;
        self.add_usage()?;
        self.emit(json!({
            "type": "span.model_request_end",
            "model_request_start_id": start["id"],
            "is_error": false,
            "model_usage": {
                "input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS,
                "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0,
            },
        }))?;
        Ok(())
    }

    pub(super) fn message(&self, text: &str) -> Step<Value> {
        self.emit(json!({ "type": "agent.message", "content": [{ "type": "text", "text": text }] }))
    }

    /// Ends the turn: `session.usage`, then status idle with `stop_reason`.
    pub(super) fn idle(&self, stop_reason: Value) -> Step {
        self.idle_with(stop_reason, Value::Null, true)
    }

    /// Ends the turn with `stop_details` (when not null); `set_status: false` leaves the
    /// session `running` (the idle event is in the history before a retrieve shows it).
    pub(super) fn idle_with(
        &self,
        stop_reason: Value,
        stop_details: Value,
        set_status: bool,
    ) -> Step {
        let active = self.started.elapsed().as_secs_f64();
        self.with(|body, ext| {
            for usage in ["stats", "usage"] {
                let total = &mut body[usage]["active_seconds"];
                *total = json!(total.as_f64().unwrap_or(0.0) + active);
            }
            let created = body["created_at"]
                .as_str()
                .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok());
            if let Some(created) = created {
                let elapsed = chrono::Utc::now().signed_duration_since(created);
                body["stats"]["duration_seconds"] =
                    json!(elapsed.num_milliseconds() as f64 / 1000.0);
            }
            ext.push(
                json!({
                    "type": "session.usage", "usage": body["usage"].clone(),
                    "budget": body["budget"].clone(),
                }),
                true,
            );
            if set_status {
                body["status"] = json!("idle");
                body["updated_at"] = json!(ids::now());
            }
            let mut event = json!({ "type": "session.status_idle", "stop_reason": stop_reason });
            if !stop_details.is_null() {
                event["stop_details"] = stop_details;
            }
            ext.push(event, true);
        })
    }

    /// Shows the session idle on retrieve (after an [`Ctx::idle_with`] that did not).
    pub(super) fn show_idle(&self) -> Step {
        self.with(|body, _| {
            body["status"] = json!("idle");
            body["updated_at"] = json!(ids::now());
        })
    }

    /// Emits `n` `agent.thinking` events in bursts of [`EVENT_BURST`], pausing between bursts.
    pub(super) async fn think(&self, n: usize) -> Step {
        for i in 0..n {
            if i > 0 && i % EVENT_BURST == 0 {
                self.pause().await?;
            }
            self.emit(json!({ "type": "agent.thinking" }))?;
        }
        Ok(())
    }

    /// Writes one output file through a `write` tool call; returns its id.
    pub(super) async fn write_file(
        &self,
        size: usize,
        hidden: bool,
        name: Option<&str>,
    ) -> Step<String> {
        let index = self.next_index()?;
        let filename = name.map_or_else(|| file_name(index), str::to_owned);
        self.write_planned(index, &filename, size, hidden).await
    }

    fn next_index(&self) -> Step<usize> {
        self.with(|_, ext| {
            ext.files_made += 1;
            ext.files_made - 1
        })
    }

    /// Writes file `index` named `filename` through a `write` tool call; returns its id.
    async fn write_planned(
        &self,
        index: usize,
        filename: &str,
        size: usize,
        hidden: bool,
    ) -> Step<String> {
        let tool_use = self.emit(json!({
            "type": "agent.tool_use", "name": "write",
            "input": { "file_path": format!("/mnt/session/outputs/{filename}"), "content": format!("<{size} bytes>") },
            "evaluated_permission": "allow",
        }))?;
        self.pause().await?;
        let id = self.place_file(index, filename, size, true, hidden)?;
        self.emit(json!({
            "type": "agent.tool_result", "tool_use_id": tool_use["id"], "is_error": false,
            "content": [{ "type": "text", "text": format!("wrote {size} bytes to {filename}") }],
        }))?;
        Ok(id)
    }

    /// Lists a session-scoped file of generated content (streamed on download, never held).
    fn place_file(
        &self,
        index: usize,
        filename: &str,
        size: usize,
        downloadable: bool,
        hidden: bool,
    ) -> Step<String> {
        let content = Content::Generated(Generated {
            seed: self.sid.clone(),
            index,
            size,
        });
        let sha256 = content.sha256_hex();
        let id = ids::new_id("file");
        let body = json!({
            "id": id, "type": "file", "filename": filename, "mime_type": "text/plain",
            "size_bytes": size, "created_at": ids::now(), "downloadable": downloadable,
            "scope": { "id": self.sid, "type": "session" }, "expires_at": null,
        });
        let ext = FileExt {
            session_id: Some(self.sid.clone()),
            sha256,
            content,
            visible_at: hidden.then(|| Instant::now() + HIDDEN_FOR),
        };
        let mut store = self.sim.store();
        store
            .get(Kind::Session, &self.sid)
            .map_err(|_| Stop::Gone)?;
        store.insert(Kind::File, id.clone(), body, Ext::File(ext));
        Ok(id)
    }

    /// Writes the files of the directive's `outputs=` kinds; the copy of a mounted input is
    /// listed without a tool call, as the provider lists it.
    async fn write_kinds(&self, directive: &Directive, hidden: bool) -> Step<Vec<String>> {
        let mut made = Vec::new();
        for kind in &directive.outputs {
            for planned in planned_files(*kind, directive.large) {
                let index = self.next_index()?;
                let id = if planned.downloadable {
                    self.write_planned(index, &planned.filename, planned.size, hidden)
                        .await?
                } else {
                    self.place_file(index, &planned.filename, planned.size, false, hidden)?
                };
                made.push(id);
            }
        }
        Ok(made)
    }

    /// The happy path after `session.status_running`: a model request writing the files,
    /// then idle `end_turn`. Late files become visible `late` after the idle event.
    pub(super) async fn finish_happy(
        &self,
        directive: &Directive,
        late: Option<Duration>,
    ) -> Step<Outcome> {
        self.finish_happy_showing(directive, late, true).await
    }

    /// [`Ctx::finish_happy`]; `show_idle: false` leaves the session `running` after the idle
    /// event (the caller shows it idle later).
    pub(super) async fn finish_happy_showing(
        &self,
        directive: &Directive,
        late: Option<Duration>,
        show_idle: bool,
    ) -> Step<Outcome> {
        let mut made = Vec::new();
        self.think(directive.events).await?;
        self.model_request(async |ctx: &Self| {
            ctx.message(&format!("Writing {} file(s).", directive.files))?;
            for _ in 0..directive.files {
                made.push(
                    ctx.write_file(directive.size, late.is_some(), directive.name.as_deref())
                        .await?,
                );
            }
            made.extend(ctx.write_kinds(directive, late.is_some()).await?);
            Ok(())
        })
        .await?;
        self.message("Done.")?;
        self.idle_with(json!({ "type": "end_turn" }), Value::Null, show_idle)?;
        if let Some(late) = late {
            let visible = Instant::now() + late;
            let mut store = self.sim.store();
            for id in &made {
                if let Ok(record) = store.get_mut(Kind::File, id)
                    && let Ext::File(file) = &mut record.ext
                {
                    file.visible_at = Some(visible);
                }
            }
        }
        Ok(Outcome::Idle)
    }

    pub(super) fn error(&self, kind: &str, message: &str, retry: &str) -> Step<Value> {
        self.error_with(kind, message, retry, json!({}))
    }

    /// A `session.error` whose error object also carries `fields` (e.g. `mcp_server_name`).
    pub(super) fn error_with(
        &self,
        kind: &str,
        message: &str,
        retry: &str,
        fields: Value,
    ) -> Step<Value> {
        let mut error =
            json!({ "type": kind, "message": message, "retry_status": { "type": retry } });
        if let (Some(error), Some(fields)) = (error.as_object_mut(), fields.as_object()) {
            error.extend(fields.clone());
        }
        self.emit(json!({ "type": "session.error", "error": error }))
    }
}
