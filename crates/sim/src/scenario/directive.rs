//! The `antpath-sim: scenario=NAME key=value …` directive that picks a session's script.

use std::time::Duration;

/// Marker that starts a directive line in a `user.message`.
pub const MARKER: &str = "antpath-sim:";
/// Files written by default (no `files=` key).
pub const DEFAULT_FILES: usize = 1;
/// Size of each file by default, in bytes.
pub const DEFAULT_SIZE: usize = 256;
/// Upper bound of `files=`, to keep a typo from exhausting memory.
pub const MAX_FILES: usize = 1000;
/// Upper bound of `size=` and `large=` (256 MiB; generated content is streamed, never held).
pub const MAX_SIZE: usize = 256 << 20;
/// Size of the `large` output kind when `large=` is absent (32 MiB).
pub const DEFAULT_LARGE: usize = 32 << 20;
/// Upper bound of `events=`.
pub const MAX_EVENTS: usize = 10_000;
/// `requests=` when absent, for `spend`.
pub const DEFAULT_REQUESTS: usize = 100;
/// Upper bound of `requests=`.
pub const MAX_REQUESTS: usize = 10_000;
/// `seconds=` when absent, for `late-files`, `slow`, `idle-early` and `rescheduling`.
pub const DEFAULT_SECONDS: f64 = 1.0;

/// The scripts the scripted agent can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Write `files` files of `size` bytes, then idle with `end_turn`.
    Happy,
    /// Ask for a tool confirmation: idle with `requires_action`.
    Approval,
    /// A retrying `session.error` and `session.status_rescheduled`, then happy.
    Transient,
    /// Retries exhausted: idle with `retries_exhausted`.
    Exhausted,
    /// A terminal `session.error`, then `session.status_terminated`.
    Terminated,
    /// Run until a `user.interrupt`, then idle with `end_turn`.
    Forever,
    /// Happy, but the files appear `seconds` after the idle event.
    LateFiles,
    /// Happy after `seconds` of running.
    Slow,
    /// Happy, but `session.status_idle` is in the history `seconds` before a retrieve shows
    /// the session idle (archive and delete meanwhile answer 409).
    IdleEarly,
    /// A `session.status_rescheduled` period of `seconds` (status `rescheduling`), then happy.
    Rescheduling,
    /// The model's answer is refused: idle with `refusal` and its `stop_details`.
    Refusal,
    /// A model request ends with `is_error: true` and a retrying `model_request_failed_error`,
    /// then the retry succeeds: happy.
    ModelError,
    /// An MCP server rejects its credential until retries run out: a
    /// `mcp_authentication_failed_error`, then idle with `retries_exhausted`.
    McpError,
    /// A vault credential's host is not allowed by the environment: a terminal
    /// `credential_host_unreachable_error`, then `session.status_terminated`.
    CredentialError,
    /// `requests` model requests in a row (each priced at the model's list price), then idle
    /// with `end_turn`; a session with a budget stops earlier with `budget_reached`.
    Spend,
}

/// A parsed directive.
#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    /// The script.
    pub scenario: Scenario,
    /// `files=`: output files to write.
    pub files: usize,
    /// `size=`: bytes per file.
    pub size: usize,
    /// `seconds=`: delay of `late-files` and `slow`.
    pub seconds: Duration,
    /// `name=`: every output file gets this name (percent-decoded, so `%00` is a NUL), as the
    /// provider allows any bytes and repeated names.
    pub name: Option<String>,
    /// `tools=`: in `terminated`, how many files the agent writes (tool uses) before failing.
    pub tools: usize,
    /// `events=`: extra `agent.thinking` events of a happy turn, emitted in bursts of
    /// [`EVENT_BURST`] with a pause between, so a poller sees pages that end mid-turn.
    pub events: usize,
    /// `requests=`: in `spend`, how many model requests the agent makes.
    pub requests: usize,
    /// `outputs=`: comma-separated kinds of extra files the happy path writes (see
    /// [`OutputKind`]), after the `files=` ones.
    pub outputs: Vec<OutputKind>,
    /// `large=`: bytes of the `large` kind.
    pub large: usize,
}

/// A kind of output that real sessions produce and naive clients get wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// `reports/2026/q1.md`: a file in a subdirectory of the outputs.
    Nested,
    /// `résumé – 東京.txt`: accents, a dash and CJK.
    Unicode,
    /// Two `notes.txt` with different bytes.
    Duplicates,
    /// `empty.txt` of zero bytes.
    Empty,
    /// `large.bin` of `large=` bytes, generated and streamed.
    Large,
    /// `input.csv`, the session's non-downloadable copy of a mounted input.
    Undownloadable,
    /// Names that try to climb out of a directory: `../../etc/passwd`, absolute paths,
    /// backslashes, NUL, `.`/`..`, a 300-byte name.
    Hostile,
}

impl OutputKind {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "nested" => Self::Nested,
            "unicode" => Self::Unicode,
            "duplicates" => Self::Duplicates,
            "empty" => Self::Empty,
            "large" => Self::Large,
            "undownloadable" | "not_downloadable" => Self::Undownloadable,
            "hostile" => Self::Hostile,
            _ => return None,
        })
    }
}

/// One file an [`OutputKind`] adds: its name, size and whether it can be downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// The name the provider lists.
    pub filename: String,
    /// Size in bytes.
    pub size: usize,
    /// `false` for the copy of a mounted input.
    pub downloadable: bool,
}

/// The hostile names of [`OutputKind::Hostile`], each written as a file of 32 bytes.
pub fn hostile_names() -> Vec<String> {
    vec![
        "../../etc/passwd".into(),
        "a/../../b".into(),
        "/etc/shadow".into(),
        "..\\..\\windows\\win.ini".into(),
        "nul\0byte.txt".into(),
        ".".into(),
        "..".into(),
        format!("{}.txt", "x".repeat(300)),
    ]
}

/// The files an output kind adds, in order.
pub fn planned_files(kind: OutputKind, large: usize) -> Vec<PlannedFile> {
    let file = |name: &str, size: usize| PlannedFile {
        filename: name.to_owned(),
        size,
        downloadable: true,
    };
    match kind {
        OutputKind::Nested => vec![file("reports/2026/q1.md", 256)],
        OutputKind::Unicode => vec![file("résumé – 東京.txt", 256)],
        OutputKind::Duplicates => vec![file("notes.txt", 100), file("notes.txt", 200)],
        OutputKind::Empty => vec![file("empty.txt", 0)],
        OutputKind::Large => vec![file("large.bin", large)],
        OutputKind::Undownloadable => vec![PlannedFile {
            downloadable: false,
            ..file("input.csv", 64)
        }],
        OutputKind::Hostile => hostile_names().iter().map(|n| file(n, 32)).collect(),
    }
}

/// Events emitted without a pause by `events=`.
pub const EVENT_BURST: usize = 50;

impl Default for Directive {
    fn default() -> Self {
        Self {
            scenario: Scenario::Happy,
            files: DEFAULT_FILES,
            size: DEFAULT_SIZE,
            seconds: Duration::from_secs_f64(DEFAULT_SECONDS),
            name: None,
            tools: 0,
            events: 0,
            requests: DEFAULT_REQUESTS,
            outputs: Vec::new(),
            large: DEFAULT_LARGE,
        }
    }
}

impl Directive {
    /// Reads the first directive line of `text`; no directive (or an unknown scenario name)
    /// gives the default happy script.
    pub fn parse(text: &str) -> Self {
        let mut directive = Self::default();
        let Some(line) = text
            .lines()
            .find_map(|l| l.split_once(MARKER).map(|(_, rest)| rest))
        else {
            return directive;
        };
        for token in line.split_whitespace() {
            let Some((key, value)) = token.split_once('=') else {
                continue;
            };
            match key {
                "scenario" => {
                    directive.scenario = match value {
                        "approval" => Scenario::Approval,
                        "transient" => Scenario::Transient,
                        "exhausted" => Scenario::Exhausted,
                        "terminated" => Scenario::Terminated,
                        "forever" => Scenario::Forever,
                        "late-files" | "late_files" => Scenario::LateFiles,
                        "slow" => Scenario::Slow,
                        "idle-early" | "idle_early" => Scenario::IdleEarly,
                        "rescheduling" => Scenario::Rescheduling,
                        "refusal" => Scenario::Refusal,
                        "model-error" | "model_error" => Scenario::ModelError,
                        "mcp-error" | "mcp_error" => Scenario::McpError,
                        "credential-error" | "credential_error" => Scenario::CredentialError,
                        "spend" => Scenario::Spend,
                        _ => Scenario::Happy,
                    }
                }
                "files" => {
                    if let Ok(n) = value.parse::<usize>() {
                        directive.files = n.min(MAX_FILES);
                    }
                }
                "size" => {
                    if let Ok(n) = value.parse::<usize>() {
                        directive.size = n.min(MAX_SIZE);
                    }
                }
                "name" => directive.name = Some(percent_decode(value)),
                "events" => {
                    if let Ok(n) = value.parse::<usize>() {
                        directive.events = n.min(MAX_EVENTS);
                    }
                }
                "outputs" => {
                    directive.outputs = value.split(',').filter_map(OutputKind::parse).collect();
                }
                "large" => {
                    if let Ok(n) = value.parse::<usize>() {
                        directive.large = n.min(MAX_SIZE);
                    }
                }
                "tools" => {
                    if let Ok(n) = value.parse::<usize>() {
                        directive.tools = n.min(MAX_FILES);
                    }
                }
                "requests" => {
                    if let Ok(n) = value.parse::<usize>() {
                        directive.requests = n.min(MAX_REQUESTS);
                    }
                }
                "seconds" => {
                    if let Ok(s) = value.parse::<f64>()
                        && s.is_finite()
                        && s >= 0.0
                    {
                        directive.seconds = Duration::from_secs_f64(s);
                    }
                }
                _ => {}
            }
        }
        directive
    }
}

/// `%XX` escapes decoded to the bytes they name (invalid UTF-8 replaced); anything else kept.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The deterministic content of output file `index` of `session_id`: the line
/// `antpath-sim <session_id> file <index>\n` repeated and cut to `size` bytes. Tests can
/// recompute it to check the sha256 of downloaded bytes.
pub fn file_content(session_id: &str, index: usize, size: usize) -> Vec<u8> {
    crate::content::generated_bytes(session_id, index, size)
}

/// The file name of output file `index`.
pub fn file_name(index: usize) -> String {
    format!("output-{index:03}.txt")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_directive_means_one_small_happy_file() {
        assert_eq!(Directive::parse("please summarise"), Directive::default());
    }

    #[test]
    fn a_directive_line_anywhere_sets_scenario_and_keys() {
        let d = Directive::parse(
            "hello\n  antpath-sim: scenario=late-files files=3 size=10 seconds=0.5\nbye",
        );
        assert_eq!(d.scenario, Scenario::LateFiles);
        assert_eq!((d.files, d.size), (3, 10));
        assert_eq!(d.seconds, Duration::from_millis(500));
    }

    #[test]
    fn outputs_name_kinds_and_unknown_kinds_are_ignored() {
        let d = Directive::parse("antpath-sim: files=0 outputs=nested,bogus,duplicates large=9");
        assert_eq!(d.files, 0);
        assert_eq!(d.outputs, vec![OutputKind::Nested, OutputKind::Duplicates]);
        assert_eq!(d.large, 9);
        assert_eq!(planned_files(OutputKind::Duplicates, 0).len(), 2);
        assert!(!planned_files(OutputKind::Undownloadable, 0)[0].downloadable);
    }

    #[test]
    fn content_is_deterministic_and_sized() {
        let a = file_content("sesn_x", 2, 100);
        assert_eq!(a.len(), 100);
        assert_eq!(a, file_content("sesn_x", 2, 100));
        assert_ne!(a, file_content("sesn_x", 3, 100));
    }
}
