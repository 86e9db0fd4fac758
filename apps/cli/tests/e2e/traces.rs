//! One run's trace, end to end: the CLI sends a known `traceparent`, the bff and the worker
//! export their spans to our own OTLP receiver, and the spans of that one trace show the
//! submission, a step span per phase, the provider calls and a storage write, with the run,
//! attempt and workspace ids on the spans that name them.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::otlp::{Receiver, Span};
use crate::stack::Stack;

/// The client's trace: a fixed trace id, so the test knows which spans are this run's.
const TRACE_ID: &str = "5e1f0c3a9b7d42e68c1a0f2b3d4e5f60";
const TRACEPARENT: &str = "00-5e1f0c3a9b7d42e68c1a0f2b3d4e5f60-a1b2c3d4e5f60718-01";

#[tokio::test]
async fn one_trace_from_the_clients_traceparent_holds_the_submission_every_step_and_their_calls() {
    let receiver = Receiver::start().await;
    let stack = Stack::up_with_env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        // A short batch delay keeps the test quick; shutdown flushes the rest.
        ("OTEL_BSP_SCHEDULE_DELAY", "200"),
    ])
    .await;
    let template = stack.example("quickstart.json");
    let token = stack.token().to_owned();
    let submitted = stack.cli_with_env(
        &token,
        &[("TRACEPARENT", TRACEPARENT)],
        &[
            "run",
            &template,
            "--var",
            "topic=tide pools",
            "--json",
            "--no-download",
            "--follow",
        ],
    );
    assert_eq!(submitted.code, 0, "{submitted}");
    let summary = submitted.json();
    assert_eq!(summary["status"], "succeeded", "{submitted}");
    let run_id = summary["id"].as_str().expect("run id").to_owned();

    // Cleanup runs after the status is final; wait until the provider holds nothing, then stop
    // the services so their exporters flush.
    stack.assert_nothing_live_at_the_provider().await;
    stack.stop_services();
    let spans = spans_of_trace(&receiver, &run_id).await;

    let names: BTreeSet<(&str, &str)> = spans
        .iter()
        .map(|s| (s.service.as_str(), s.name.as_str()))
        .collect();
    let submission = find(&spans, "antpath-bff", "submit_run", &names);
    let request = spans
        .iter()
        .find(|s| s.span_id == submission.parent_span_id)
        .expect("the submission's parent span was exported");
    assert_eq!(request.name, "request");
    assert_eq!(request.service, "antpath-bff");
    assert_eq!(
        request.parent_span_id, "a1b2c3d4e5f60718",
        "the bff's request span is a child of the client's span"
    );
    assert_eq!(submission.attributes.get("run.id"), Some(&run_id));
    let workspace = submission
        .attributes
        .get("workspace.id")
        .cloned()
        .expect("workspace.id on the submission");

    let steps: Vec<&Span> = spans
        .iter()
        .filter(|s| s.service == "antpath-worker" && s.name == "step")
        .collect();
    let phases: BTreeSet<&str> = steps
        .iter()
        .filter_map(|s| s.attributes.get("run.phase").map(String::as_str))
        .collect();
    for phase in [
        "provision",
        "session",
        "dispatch",
        "observe",
        "capture",
        "cleanup",
    ] {
        assert!(
            phases.contains(phase),
            "no {phase} step span; saw {phases:?}"
        );
    }
    for step in &steps {
        assert_eq!(
            step.parent_span_id, submission.span_id,
            "step spans continue the submission"
        );
        assert_eq!(step.attributes.get("run.id"), Some(&run_id));
        assert_eq!(step.attributes.get("workspace.id"), Some(&workspace));
        assert!(step.attributes.contains_key("attempt"), "{step:?}");
    }

    let by_id: HashMap<&str, &Span> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let step_of = |span: &Span| -> Option<String> {
        let mut at = by_id.get(span.parent_span_id.as_str()).copied();
        while let Some(parent) = at {
            if parent.name == "step" {
                return parent.attributes.get("run.phase").cloned();
            }
            at = by_id.get(parent.parent_span_id.as_str()).copied();
        }
        None
    };
    let provider_calls: Vec<&Span> = spans.iter().filter(|s| s.name == "provider.call").collect();
    assert!(
        provider_calls.len() >= 5,
        "expected the provider calls of every phase; saw {names:?}"
    );
    for call in &provider_calls {
        assert!(
            step_of(call).is_some(),
            "provider call outside a step: {call:?}"
        );
        assert!(call.attributes.contains_key("provider.route"), "{call:?}");
        assert_eq!(call.attributes.get("run.id"), Some(&run_id), "{call:?}");
        assert_eq!(call.attributes.get("workspace.id"), Some(&workspace));
        assert!(call.attributes.contains_key("attempt"), "{call:?}");
    }
    let writes: Vec<&Span> = spans.iter().filter(|s| s.name == "storage.write").collect();
    assert!(
        writes
            .iter()
            .any(|w| step_of(w).as_deref() == Some("capture")),
        "no storage write under the capture step; saw {names:?}"
    );
    for write in &writes {
        assert_eq!(write.attributes.get("run.id"), Some(&run_id));
        assert_eq!(write.attributes.get("workspace.id"), Some(&workspace));
        assert!(write.attributes.contains_key("attempt"), "{write:?}");
        assert!(
            spans.iter().any(|s| s.parent_span_id == write.span_id
                && s.attributes.contains_key("storage.backend")),
            "the store's own span sits under the write: {write:?}"
        );
    }
}

/// The spans of our trace, once the run's worker spans have all arrived.
async fn spans_of_trace(receiver: &Receiver, run_id: &str) -> Vec<Span> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let spans: Vec<Span> = receiver
            .spans()
            .into_iter()
            .filter(|s| s.trace_id == TRACE_ID)
            .collect();
        let cleanup_seen = spans.iter().any(|s| {
            s.name == "step"
                && s.attributes.get("run.id").map(String::as_str) == Some(run_id)
                && s.attributes.get("run.phase").map(String::as_str) == Some("cleanup")
        });
        if cleanup_seen && spans.iter().any(|s| s.name == "submit_run") {
            return spans;
        }
        assert!(
            Instant::now() < deadline,
            "the trace never completed; received {} spans in all, {} in our trace: {:?}",
            receiver.spans().len(),
            spans.len(),
            spans
                .iter()
                .map(|s| (&s.service, &s.name))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn find<'a>(
    spans: &'a [Span],
    service: &str,
    name: &str,
    names: &BTreeSet<(&str, &str)>,
) -> &'a Span {
    spans
        .iter()
        .find(|s| s.service == service && s.name == name)
        .unwrap_or_else(|| panic!("no {service} `{name}` span in the trace; saw {names:?}"))
}
