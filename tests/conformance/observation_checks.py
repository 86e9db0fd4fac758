"""Issue 11, parts 3 and 4, through the official SDK: every sendable event type, the events list
with its `created_at[...]`/`types`/`order` filters, each stop reason the simulator scripts, the
rate-limit headers, and the API's error shapes for what it rejects. Called by
`sdk_conformance.py` with its strict helpers, so every body is validated against the SDK's own
models with undeclared fields forbidden.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import anthropic
from anthropic.types.beta import BetaManagedAgentsSession
from anthropic.types.beta.sessions import BetaManagedAgentsSendSessionEvents, BetaManagedAgentsSessionEvent

DEADLINE_S = 20.0


def _text(text: str) -> list:
    return [{"type": "text", "text": text}]


def _events(beta: Any, sid: str, page: Callable, **filters: Any) -> list:
    """Every event of a session with `filters`, pages of 50, each item strictly validated."""
    items, cursor = [], None
    while True:
        args = dict(filters, limit=50)
        if cursor:
            args["page"] = cursor
        raw = beta.sessions.events.with_raw_response.list(sid, **args).http_response.json()
        page(raw, BetaManagedAgentsSessionEvent, f"events.list{sorted(filters)}")
        items.extend(raw["data"])
        cursor = raw["next_page"]
        if not cursor:
            return items


def _until_idle(beta: Any, sid: str, page: Callable, mismatch: type, after: int = 0) -> list:
    """Waits until the session has more than `after` idle events or terminated; returns all."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        events = _events(beta, sid, page)
        ends = [e for e in events if e["type"] in ("session.status_idle", "session.status_terminated")]
        status = beta.sessions.retrieve(sid).status
        if len(ends) > after and status in ("idle", "terminated"):
            return events
        if time.monotonic() > deadline:
            raise mismatch(f"session {sid} never ended its turn")
        time.sleep(0.05)


def run(beta: Any, agent_id: str, env_id: str, call: Callable, page: Callable, mismatch: type) -> None:
    """The checks; `call`, `page` and `mismatch` are `sdk_conformance`'s helpers."""

    def session(title: str) -> str:
        return call(beta.sessions, BetaManagedAgentsSession, "sessions.create",
                    agent=agent_id, environment_id=env_id, title=title)["id"]

    def send(sid: str, *events: dict) -> dict:
        sent = call(beta.sessions.events, BetaManagedAgentsSendSessionEvents, "events.send", sid,
                    events=list(events))
        return sent

    def last_stop(events: list) -> dict:
        idle = [e for e in events if e["type"] == "session.status_idle"]
        if not idle:
            raise mismatch("no session.status_idle")
        return idle[-1]

    # Each stop reason, and the terminated end.
    for scenario, reason in (("happy", "end_turn"), ("approval", "requires_action"),
                             ("exhausted", "retries_exhausted"), ("mcp-error", "retries_exhausted"),
                             ("refusal", "refusal")):
        sid = session(f"stop-{scenario}")
        send(sid, {"type": "user.message", "content": _text(f"antpath-sim: scenario={scenario}")})
        idle = last_stop(_until_idle(beta, sid, page, mismatch))
        if idle["stop_reason"]["type"] != reason:
            raise mismatch(f"{scenario}: stop reason {idle['stop_reason']} is not {reason}")
        if reason == "refusal" and (idle.get("stop_details") or {}).get("type") != "refusal":
            raise mismatch(f"refusal without its stop_details: {idle}")
        beta.sessions.delete(sid)
    for scenario, error_type in (("credential-error", "credential_host_unreachable_error"),
                                 ("model-error", "model_request_failed_error")):
        sid = session(f"errors-{scenario}")
        send(sid, {"type": "user.message", "content": _text(f"antpath-sim: scenario={scenario}")})
        events = _until_idle(beta, sid, page, mismatch)
        errors = [e["error"]["type"] for e in events if e["type"] == "session.error"]
        if error_type not in errors:
            raise mismatch(f"{scenario}: session.error types {errors}")
        if scenario == "model-error" and not any(
                e["type"] == "span.model_request_end" and e.get("is_error") for e in events):
            raise mismatch("model-error: no span.model_request_end with is_error")
        beta.sessions.delete(sid)

    # Every sendable event type.
    sid = session("sendable")
    sent = send(sid, {"type": "user.message", "content": _text("antpath-sim: scenario=approval")},
                {"type": "system.message", "content": _text("Answer briefly.")})
    if [e["type"] for e in sent["data"]] != ["user.message", "system.message"]:
        raise mismatch(f"events.send echoed {sent['data']}")
    events = _until_idle(beta, sid, page, mismatch)
    asked = last_stop(events)["stop_reason"]["event_ids"][0]
    send(sid, {"type": "user.tool_confirmation", "tool_use_id": asked, "result": "allow"})
    events = _until_idle(beta, sid, page, mismatch, after=1)
    send(sid, {"type": "user.message", "content": _text("antpath-sim: scenario=approval")})
    events = _until_idle(beta, sid, page, mismatch, after=2)
    asked = last_stop(events)["stop_reason"]["event_ids"][0]
    send(sid, {"type": "user.tool_result", "tool_use_id": asked, "content": _text("done"), "is_error": False})
    events = _until_idle(beta, sid, page, mismatch, after=3)
    send(sid, {"type": "user.define_outcome", "description": "antpath-sim: scenario=happy",
               "rubric": {"type": "text", "content": "One file exists."}, "max_iterations": 2})
    events = _until_idle(beta, sid, page, mismatch, after=4)
    send(sid, {"type": "user.message", "content": _text("antpath-sim: scenario=forever")})
    # Interrupt once the turn runs (an interrupt before it starts has nothing to stop).
    deadline = time.monotonic() + DEADLINE_S
    while not any(e["type"] == "agent.message" and "until interrupted" in str(e.get("content"))
                  for e in _events(beta, sid, page, types=["agent.message"])):
        if time.monotonic() > deadline:
            raise mismatch("the forever turn never started")
        time.sleep(0.05)
    send(sid, {"type": "user.interrupt"})
    events = _until_idle(beta, sid, page, mismatch, after=5)
    try:
        send(sid, {"type": "user.custom_tool_result", "custom_tool_use_id": "sevt_none", "content": _text("x")})
        raise mismatch("a custom tool result for no pending tool use was accepted")
    except anthropic.BadRequestError as err:
        if "unsupported event type" in str(err):
            raise mismatch("user.custom_tool_result is not accepted as a type") from err
    seen = {e["type"] for e in events}
    for kind in ("user.message", "system.message", "user.tool_confirmation", "user.tool_result",
                 "user.define_outcome", "user.interrupt"):
        if kind not in seen:
            raise mismatch(f"{kind} is not in the history: {sorted(seen)}")

    # The list's filters: created_at bounds against processed_at, types and order.
    processed = [e for e in events if e.get("processed_at")]
    pivot = processed[len(processed) // 2]["processed_at"]
    gte = _events(beta, sid, page, created_at_gte=pivot)
    lt = _events(beta, sid, page, created_at_lt=pivot)
    gt = _events(beta, sid, page, created_at_gt=pivot)
    lte = _events(beta, sid, page, created_at_lte=pivot)
    if len(gte) + len(lt) != len(processed) or len(gt) + len(lte) != len(processed):
        raise mismatch(f"created_at bounds do not split the history: {len(gte)}+{len(lt)}, "
                       f"{len(gt)}+{len(lte)} of {len(processed)}")
    if any(e["processed_at"] < pivot for e in gte) or any(e["processed_at"] >= pivot for e in lt):
        raise mismatch("created_at bounds are not applied to processed_at")
    idles = _events(beta, sid, page, types=["session.status_idle"], order="desc")
    if not idles or any(e["type"] != "session.status_idle" for e in idles):
        raise mismatch("types filter not applied")
    if [e["id"] for e in idles] != [e["id"] for e in reversed([x for x in events if x["type"] == "session.status_idle"])]:
        raise mismatch("order=desc is not newest first")

    # The rate-limit headers, and what the API rejects with its error shapes.
    raw = beta.sessions.with_raw_response.retrieve(sid).http_response
    for header in ("anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining",
                   "anthropic-ratelimit-requests-reset"):
        if header not in raw.headers:
            raise mismatch(f"missing {header}")
    for where, attempt in (
        ("an unknown event type", lambda: send(sid, {"type": "user.nonsense"})),
        ("an agent event sent by a client", lambda: send(sid, {"type": "agent.message", "content": _text("x")})),
        ("a system.message on its own", lambda: send(sid, {"type": "system.message", "content": _text("x")})),
        ("an unknown skill", lambda: beta.agents.create(name="bad", model="claude-opus-4-6",
                                                        skills=[{"type": "anthropic", "skill_id": "nope"}])),
    ):
        try:
            attempt()
            raise mismatch(f"{where} was accepted")
        except anthropic.BadRequestError as err:
            body = err.body if isinstance(err.body, dict) else {}
            if body.get("type") != "error" or body.get("error", {}).get("type") != "invalid_request_error":
                raise mismatch(f"{where}: not the error envelope: {err.body}") from err
    beta.sessions.delete(sid)
