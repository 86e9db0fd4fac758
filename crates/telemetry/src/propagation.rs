//! W3C trace context (`traceparent`) in and out of `tracing` spans.
//!
//! A client sends `traceparent` with each request; the bff continues that trace in its request
//! span ([`continue_trace`]) and stores the submission span's own context on the run
//! ([`current_traceparent`]); the worker continues the stored context in every step span, so
//! one trace holds the submission and all the run's steps. A `traceparent` carries two random
//! ids and a flag byte: nothing secret.
//!
//! Clients without a span of their own root a trace with [`new_traceparent`].

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The W3C header name.
pub const TRACEPARENT: &str = "traceparent";

/// Makes `span` a child of the remote span `traceparent` names. An absent, malformed or
/// invalid value leaves the span where it was (a new root). Call before the span is entered.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(value) = traceparent else { return };
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), value.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    if context.span().span_context().is_valid() {
        // Without the OpenTelemetry layer (no exporter configured) there is nothing to join.
        let _ = span.set_parent(context);
    }
}

/// The `traceparent` of `span`, when OpenTelemetry is exporting and the span has a context.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The `traceparent` of the current span; see [`traceparent_of`].
pub fn current_traceparent() -> Option<String> {
    traceparent_of(&tracing::Span::current())
}

/// A fresh, sampled `traceparent` rooting a new trace: random 16-byte trace id and 8-byte
/// parent id, as a client that keeps no spans of its own sends.
pub fn new_traceparent() -> String {
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let parent = &uuid::Uuid::new_v4().simple().to_string()[..16];
    format!("00-{trace}-{parent}-01")
}

/// The trace id (32 hex digits) of a well-formed `traceparent`.
pub fn trace_id_of(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let (_version, trace) = (parts.next()?, parts.next()?);
    (trace.len() == 32 && trace.bytes().all(|b| b.is_ascii_hexdigit())).then_some(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_traceparent_is_well_formed_and_unique() {
        let a = new_traceparent();
        let b = new_traceparent();
        assert_ne!(a, b);
        assert_eq!(a.len(), 55);
        assert!(trace_id_of(&a).is_some());
        let carrier = HashMap::from([(TRACEPARENT.to_owned(), a.clone())]);
        let context = TraceContextPropagator::new().extract(&carrier);
        assert!(context.span().span_context().is_valid());
        assert_eq!(
            context.span().span_context().trace_id().to_string(),
            trace_id_of(&a).unwrap()
        );
    }

    #[test]
    fn a_malformed_trace_id_is_not_read() {
        assert_eq!(trace_id_of("00-xyz-0000000000000001-01"), None);
        assert_eq!(trace_id_of("garbage"), None);
    }
}
