//! Telemetry helpers for tests.
//!
//! - [`init_quiet`]: a subscriber that prints nothing unless `ANTPATH_TEST_LOG` is set (then it
//!   writes through the test harness so output shows only for failing tests).
//! - [`CapturedLogs`]: a writer that keeps everything logged, so a test can search it for a
//!   canary secret.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs a quiet global subscriber once per test binary; later calls do nothing.
pub fn init_quiet() {
    let filter = std::env::var("ANTPATH_TEST_LOG").unwrap_or_else(|_| "off".into());
    let _already_installed = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("off")))
        .with_test_writer()
        .try_init();
}

/// A shared in-memory log sink.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl CapturedLogs {
    /// A new, empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far, as text.
    pub fn contents(&self) -> String {
        let buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&buffer).into_owned()
    }

    /// A subscriber that logs everything at `trace` level, in both formats' worth of detail
    /// (fields, spans), into this sink. Use with `tracing::subscriber::with_default` or
    /// `set_default` in a test.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(EnvFilter::new("trace"))
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(self.clone())
            .finish()
    }
}

/// One write handle of [`CapturedLogs`].
#[derive(Debug)]
pub struct CapturedWriter {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl io::Write for CapturedWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CapturedWriter {
            buffer: Arc::clone(&self.buffer),
        }
    }
}
