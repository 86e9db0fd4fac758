-- The W3C trace context of the run's submission, so the worker's step spans join the trace the
-- client started (one trace from the API call through every provider call and storage write).
--
-- The value is a `traceparent` header: a version, a random trace id, the submission span's id
-- and a flags byte (`00-<32 hex>-<16 hex>-<2 hex>`). It holds nothing secret and nothing about
-- the request's content. Null when the bff exported no traces at submission; the worker then
-- roots each step span in a trace of its own.
alter table runs add column trace_parent text
    constraint runs_trace_parent_shape check (trace_parent ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
