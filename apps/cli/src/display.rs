//! The live view of a followed run, on stderr.
//!
//! On a terminal: one status line with a spinner, redrawn in place, with event lines printed
//! above it. When stderr is piped: one plain line per status change and per event. With
//! `--json` and no terminal: nothing, so scripts get only the final JSON on stdout.
//!
//! After the outcome, the view shows the cleanup state; [`cleanup_warning`] is the one line
//! printed at the end when cleanup needs a look.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use antpath_sdk::{CleanupState, Run, RunEvent, RunId, RunStatus};
use serde_json::Value;

/// Braille spinner frames; one per redraw.
const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// Clears the current terminal line and returns to its start.
const CLEAR_LINE: &str = "\r\x1b[2K";

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Spinner,
    Plain,
    Silent,
}

/// The live view of one run.
pub struct Display {
    mode: Mode,
    run_id: RunId,
    status: Option<RunStatus>,
    /// Shown once the outcome is known.
    cleanup: Option<CleanupState>,
    events: u64,
    frame: usize,
    started: Instant,
}

impl Display {
    /// Chooses the mode from whether stderr is a terminal and whether `--json` was given.
    pub fn new(run_id: RunId, json: bool) -> Self {
        let mode = if std::io::stderr().is_terminal() {
            Mode::Spinner
        } else if json {
            Mode::Silent
        } else {
            Mode::Plain
        };
        Self {
            mode,
            run_id,
            status: None,
            cleanup: None,
            events: 0,
            frame: 0,
            started: Instant::now(),
        }
    }

    /// True when [`Display::tick`] should be called regularly.
    pub fn animates(&self) -> bool {
        self.mode == Mode::Spinner
    }

    /// A new status.
    pub fn status(&mut self, run: &Run) {
        self.status = Some(run.status);
        match self.mode {
            Mode::Spinner => self.redraw(),
            Mode::Plain => eprintln!("status  {}", run.status),
            Mode::Silent => {}
        }
        if run.status.is_terminal() {
            self.cleanup(run);
        }
    }

    /// A new cleanup state (shown once the outcome is known).
    pub fn cleanup(&mut self, run: &Run) {
        self.cleanup = Some(run.cleanup.state);
        match self.mode {
            Mode::Spinner => self.redraw(),
            Mode::Plain => eprintln!("cleanup {}", run.cleanup.state),
            Mode::Silent => {}
        }
    }

    /// A new event: its metadata, never content (the API has none to give).
    pub fn event(&mut self, event: &RunEvent) {
        self.events += 1;
        let line = event_line(event);
        match self.mode {
            Mode::Spinner => {
                eprintln!("{CLEAR_LINE}{line}");
                self.redraw();
            }
            Mode::Plain => eprintln!("{line}"),
            Mode::Silent => {}
        }
    }

    /// A message that must not be overdrawn (prompts, notices).
    pub fn note(&mut self, text: &str) {
        match self.mode {
            Mode::Spinner => eprintln!("{CLEAR_LINE}{text}"),
            Mode::Plain | Mode::Silent => eprintln!("{text}"),
        }
    }

    /// Advances the spinner.
    pub fn tick(&mut self) {
        self.frame = (self.frame + 1) % FRAMES.len();
        self.redraw();
    }

    /// Removes the status line before other output.
    pub fn clear(&mut self) {
        if self.mode == Mode::Spinner {
            eprint!("{CLEAR_LINE}");
            let _ = std::io::stderr().flush();
        }
    }

    fn redraw(&self) {
        if self.mode != Mode::Spinner {
            return;
        }
        let mut status = self
            .status
            .map_or("submitted", RunStatus::as_str)
            .to_owned();
        if let Some(cleanup) = self.cleanup {
            status.push_str(&format!(" · cleanup {cleanup}"));
        }
        eprint!(
            "{CLEAR_LINE}{} {} {status} · {}s · {} events",
            FRAMES[self.frame],
            self.run_id,
            self.started.elapsed().as_secs(),
            self.events
        );
        let _ = std::io::stderr().flush();
    }
}

/// `event   #3 session.status_idle attempt=1 stop_reason=end_turn`.
fn event_line(event: &RunEvent) -> String {
    let mut line = format!("event   #{} {}", event.seq, event.event_type);
    if let Some(attempt) = event.attempt {
        line.push_str(&format!(" attempt={attempt}"));
    }
    if let Value::Object(summary) = &event.summary {
        for (key, value) in summary {
            match value {
                Value::String(text) => line.push_str(&format!(" {key}={text}")),
                Value::Null => {}
                other => line.push_str(&format!(" {key}={other}")),
            }
        }
    }
    line
}

/// The one-line warning for a run whose cleanup is `retrying` or `abandoned`, or was still
/// going when following gave up: the state, the last error class and the abandoned
/// resources. `None` when cleanup is done (or kept the resources on request).
pub fn cleanup_warning(run: &Run) -> Option<String> {
    let cleanup = &run.cleanup;
    let state = match cleanup.state {
        CleanupState::Succeeded | CleanupState::Retained => return None,
        CleanupState::Pending | CleanupState::Running => {
            format!("still {} (stopped waiting for it)", cleanup.state)
        }
        CleanupState::Retrying | CleanupState::Abandoned => cleanup.state.to_string(),
    };
    let mut line = format!("warning: cleanup of {} is {state}", run.id);
    if let Some(error) = &cleanup.last_error {
        line.push_str(&format!("; last error: {}", error.class));
    }
    if !cleanup.abandoned_resources.is_empty() {
        let resources: Vec<String> = cleanup
            .abandoned_resources
            .iter()
            .map(|r| format!("{} {}", r.kind, r.id))
            .collect();
        line.push_str(&format!("; abandoned: {}", resources.join(", ")));
    }
    line.push_str(&format!("; see antpath runs get {}", run.id));
    Some(line)
}

/// A byte count for people: `512 B`, `2.0 KiB`, `3.4 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(2048), "2.0 KiB");
        assert_eq!(human_size(3 * 1024 * 1024 + 400_000), "3.4 MiB");
    }
}
