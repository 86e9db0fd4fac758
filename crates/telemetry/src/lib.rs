//! Logging and tracing for every antpath binary.
//!
//! [`init`] installs one `tracing` subscriber:
//! - human-readable lines by default, JSON lines when `ANTPATH_LOG_FORMAT=json` (what the
//!   cluster's log collector wants);
//! - filtered by `RUST_LOG` (default `info`);
//! - plus an OpenTelemetry layer exporting spans over OTLP/HTTP when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set, so a run's trace follows it from the API through the
//!   worker to every provider call.
//!
//! The returned [`Telemetry`] guard flushes pending spans when dropped or shut down, so the last
//! spans before a SIGTERM are not lost.
//!
//! [`testing`] has the pieces tests use: a silent-unless-asked subscriber and a writer that
//! captures log output for canary checks.

pub mod propagation;
pub mod testing;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// What [`init`] needs, read from the environment by [`TelemetrySettings::from_env`].
#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    /// The `service.name` of spans and the name in log lines.
    pub service_name: &'static str,
    /// Log format.
    pub format: LogFormat,
    /// The `RUST_LOG`-style filter.
    pub filter: String,
    /// OTLP/HTTP endpoint; `None` disables trace export.
    pub otlp_endpoint: Option<String>,
}

impl TelemetrySettings {
    /// Reads `ANTPATH_LOG_FORMAT`, `RUST_LOG` and `OTEL_EXPORTER_OTLP_ENDPOINT`. Telemetry starts
    /// before the main configuration is loaded (so configuration errors are logged properly),
    /// which is why it reads these three variables itself.
    pub fn from_env(service_name: &'static str) -> Self {
        let format = match std::env::var("ANTPATH_LOG_FORMAT").as_deref() {
            Ok("json") => LogFormat::Json,
            _ => LogFormat::Pretty,
        };
        Self {
            service_name,
            format,
            filter: std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            otlp_endpoint: std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
                .ok()
                .filter(|v| !v.is_empty()),
        }
    }
}

/// Failure to set up telemetry.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built.
    #[error("could not build the OTLP exporter: {0}")]
    Exporter(String),
    /// A global subscriber was already installed.
    #[error("a tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Keeps the trace exporter alive; flushes on [`Telemetry::shutdown`] or drop.
#[must_use = "dropping the guard flushes and stops trace export"]
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes pending spans and stops the exporter.
    pub fn shutdown(mut self) {
        self.flush();
    }

    fn flush(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(error.message = %err, "trace exporter did not shut down cleanly");
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Installs the global subscriber described by `settings`.
pub fn init(settings: &TelemetrySettings) -> Result<Telemetry, TelemetryError> {
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt_layer = match settings.format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer().with_target(true).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };

    let provider = match &settings.otlp_endpoint {
        Some(_) => Some(otlp_provider(settings.service_name)?),
        None => None,
    };
    let otel_layer = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer().with_tracer(provider.tracer(settings.service_name))
    });

    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(Telemetry { provider })
}

/// Builds a tracer provider exporting over OTLP/HTTP. The exporter reads the endpoint and
/// headers from the standard `OTEL_EXPORTER_OTLP_*` variables.
fn otlp_provider(service_name: &'static str) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|err| TelemetryError::Exporter(err.to_string()))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name)
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}
