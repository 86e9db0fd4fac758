"""Conformance of antpath-sim with the official `anthropic` Python SDK (2.10.0).

Usage: sdk_conformance.py BASE_URL

Drives a full run through the SDK (environment, agent, vault + credential, session, message,
events, files, teardown) and checks every response twice: once through the SDK call itself,
and once by validating the raw JSON against the SDK's own pydantic model (full validation,
not the SDK's lenient construction), failing on any field the model does not declare
(`model_extra`) and on any missing required field. Exits non-zero with a message on the
first mismatch.
"""

from __future__ import annotations

import hashlib
import sys
import time
from typing import Any

import anthropic
from pydantic import BaseModel, TypeAdapter, ValidationError
from anthropic.types.beta import (
    BetaDeletedFile,
    BetaEnvironment,
    BetaEnvironmentDeleteResponse,
    BetaFileMetadata,
    BetaManagedAgentsAgent,
    BetaManagedAgentsDeletedSession,
    BetaManagedAgentsDeletedVault,
    BetaManagedAgentsSession,
    BetaManagedAgentsVault,
)
from anthropic.types.beta.sessions import BetaManagedAgentsSendSessionEvents, BetaManagedAgentsSessionEvent
from anthropic.types.beta.sessions import (
    BetaManagedAgentsDeleteSessionResource,
    BetaManagedAgentsFileResource,
    BetaManagedAgentsSessionResource,
)
from anthropic.types.beta.vaults import BetaManagedAgentsCredential, BetaManagedAgentsDeletedCredential

import observation_checks  # noqa: E402  (beside this script)

EXPECTED_SDK = "2.10.0"
KEY = "sk-ant-conformance-0000000000"
TOKEN = "conformance-bearer-token"
FILES, SIZE = 5, 777
DEADLINE_S = 20.0


class Mismatch(Exception):
    """A response that does not match the SDK."""


def no_extras(value: Any, where: str) -> None:
    """Fails on undeclared fields anywhere in a validated model tree."""
    if isinstance(value, BaseModel):
        extra = value.model_extra or {}
        if extra:
            raise Mismatch(f"{where}: fields not in {type(value).__name__}: {sorted(extra)}")
        for name in type(value).model_fields:
            no_extras(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            no_extras(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            no_extras(item, f"{where}[{key!r}]")


def strict(schema: Any, raw: Any, where: str) -> Any:
    """Validates raw JSON against an SDK model or union, then forbids extras."""
    try:
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            parsed = schema.model_validate(raw)
        else:
            parsed = TypeAdapter(schema).validate_python(raw)
    except ValidationError as err:
        raise Mismatch(f"{where}: does not validate as {getattr(schema, '__name__', schema)}: {err}") from err
    no_extras(parsed, where)
    return parsed


def call(resource: Any, schema: Any, where: str, *args: Any, **kwargs: Any) -> Any:
    """Calls `resource.<method>` (named by the last part of `where`) through
    `with_raw_response`, validating the raw body strictly and checking that the SDK's own
    parse succeeds."""
    raw = getattr(resource.with_raw_response, where.rsplit(".", 1)[-1])(*args, **kwargs)
    response = raw.http_response
    request_id = response.headers.get("request-id", "")
    if not request_id.startswith("req_"):
        raise Mismatch(f"{where}: missing request-id header")
    body = response.json()
    strict(schema, body, where)
    raw.parse()
    return body


def page(raw_page: dict, schema: Any, where: str) -> list:
    """Checks a page is exactly `{data, next_page}` and validates every item."""
    if set(raw_page) != {"data", "next_page"}:
        raise Mismatch(f"{where}: page keys {sorted(raw_page)} are not ['data', 'next_page']")
    if raw_page["next_page"] is not None and not raw_page["next_page"].startswith("page_"):
        raise Mismatch(f"{where}: cursor {raw_page['next_page']!r} lacks the page_ prefix")
    return [strict(schema, item, f"{where}.data[{i}]") for i, item in enumerate(raw_page["data"])]


def walk(resource: Any, schema: Any, where: str, limit: int, compare: bool = True, **kwargs: Any) -> list:
    """Pages a list by hand with `page=next_page`, and checks the SDK's auto-pagination sees
    the same ids."""
    items, cursor, pages = [], None, 0
    while True:
        args = dict(kwargs, limit=limit)
        if cursor:
            args["page"] = cursor
        raw = resource.with_raw_response.list(**args).http_response.json()
        got = page(raw, schema, f"{where} page {pages}")
        if len(got) > limit:
            raise Mismatch(f"{where}: {len(got)} items for limit={limit}")
        items.extend(raw["data"])
        pages += 1
        cursor = raw["next_page"]
        if not cursor:
            break
    if not compare:
        return items
    auto = [item.id for item in resource.list(limit=limit, **kwargs)]
    if auto != [item["id"] for item in items]:
        raise Mismatch(f"{where}: SDK auto-pagination saw {auto}, manual walk saw {[i['id'] for i in items]}")
    return items


def expected_content(session_id: str, index: int, size: int) -> bytes:
    line = f"antpath-sim {session_id} file {index}\n".encode()
    return (line * (size // len(line) + 1))[:size]


def budget_of(cents: str) -> dict:
    """A session budget as the SDK's `BetaManagedAgentsBudgetLimitParam`."""
    return {"type": "limit", "max_list_cost": {"amount": cents, "currency": "USD"}}


def expect_bad_request(code: str, fn: Any, *args: Any, **kwargs: Any) -> None:
    """Expects a 400 `invalid_request_error` whose `error.details.error_code` is `code`."""
    try:
        fn(*args, **kwargs)
    except anthropic.BadRequestError as err:
        body = err.body if isinstance(err.body, dict) else {}
        error = body.get("error", {})
        if body.get("type") != "error" or error.get("type") != "invalid_request_error":
            raise Mismatch(f"{code}: 400 body is not the error envelope: {err.body}") from err
        if (error.get("details") or {}).get("error_code") != code:
            raise Mismatch(f"{code}: 400 carries {error.get('details')}") from err
        return
    raise Mismatch(f"{code}: the request was accepted")


def budgets(beta: Any, agent_id: str, env_id: str) -> None:
    """A session with a budget through the SDK: strict models, list cost in `usage` and in
    `session.usage`, the `budget_reached` stop, and the budget updates the API rejects."""
    session = call(beta.sessions, BetaManagedAgentsSession, "sessions.create",
                   agent=agent_id, environment_id=env_id, budget=budget_of("3"))
    sid = session["id"]
    if session["budget"] != budget_of("3") or session["usage"].get("list_cost") != {"amount": "0", "currency": "USD"}:
        raise Mismatch(f"sessions.create budget/list_cost: {session['budget']} {session['usage']}")
    call(beta.sessions.events, BetaManagedAgentsSendSessionEvents, "events.send", sid,
         events=[{"type": "user.message", "content": [
             {"type": "text", "text": "Spend.\nantpath-sim: scenario=spend requests=50"}]}])
    deadline = time.monotonic() + DEADLINE_S
    while True:
        events = walk(beta.sessions.events, BetaManagedAgentsSessionEvent, "events.list (budget)", 20,
                      compare=False, session_id=sid)
        idle = [e for e in events if e["type"] == "session.status_idle"]
        if idle:
            break
        if time.monotonic() > deadline:
            raise Mismatch("the budgeted session never went idle")
        time.sleep(0.05)
    if idle[-1]["stop_reason"] != {"type": "budget_reached"}:
        raise Mismatch(f"budgeted turn ended with {idle[-1]['stop_reason']}")
    snapshots = [e for e in events if e["type"] == "session.usage"]
    if not snapshots or snapshots[-1].get("budget") != budget_of("3"):
        raise Mismatch(f"session.usage lacks the budget: {snapshots[-1:]}")
    settled = call(beta.sessions, BetaManagedAgentsSession, "sessions.retrieve", sid)
    spent = int(settled["usage"]["list_cost"]["amount"])
    if spent < 3 or settled["usage"].get("active_seconds") is None:
        raise Mismatch(f"budgeted session usage: {settled['usage']}")
    typed = beta.sessions.retrieve(sid)
    if typed.budget is None or typed.budget.max_list_cost.amount != "3" or typed.usage.list_cost is None:
        raise Mismatch(f"SDK model of the budgeted session: {typed.budget} {typed.usage}")
    expect_bad_request("budget_not_raised", beta.sessions.update, sid, budget=budget_of(str(spent - 1)))
    raised = call(beta.sessions, BetaManagedAgentsSession, "sessions.update", sid, budget=budget_of(str(spent + 10)))
    if raised["budget"] != budget_of(str(spent + 10)):
        raise Mismatch(f"sessions.update did not raise the budget: {raised['budget']}")
    removed = call(beta.sessions, BetaManagedAgentsSession, "sessions.update", sid, budget=None)
    if removed["budget"] is not None:
        raise Mismatch(f"sessions.update did not remove the budget: {removed['budget']}")
    expect_bad_request("budget_create_only", beta.sessions.update, sid, budget=budget_of("100"))
    call(beta.sessions, BetaManagedAgentsDeletedSession, "sessions.delete", sid)

    uncapped = call(beta.sessions, BetaManagedAgentsSession, "sessions.create", agent=agent_id, environment_id=env_id)
    if uncapped["budget"] is not None:
        raise Mismatch(f"an uncapped session has a budget: {uncapped['budget']}")
    expect_bad_request("budget_create_only", beta.sessions.update, uncapped["id"], budget=budget_of("100"))
    call(beta.sessions, BetaManagedAgentsDeletedSession, "sessions.delete", uncapped["id"])


def refused(what: str, error: type, fn: Any, *args: Any, **kwargs: Any) -> dict:
    """Calls `fn`, which must fail with `error` and the API's error envelope; returns the body."""
    try:
        fn(*args, **kwargs)
    except error as err:
        body = err.body if isinstance(err.body, dict) else {}
        if body.get("type") != "error" or not body.get("error", {}).get("type"):
            raise Mismatch(f"{what}: not the error envelope: {err.body}") from err
        if not (err.request_id or "").startswith("req_"):
            raise Mismatch(f"{what}: no request_id") from err
        return body
    raise Mismatch(f"{what}: was accepted")


def uploads_and_resources(beta: Any, env_id: str, agent_id: str) -> None:
    """`files.upload` (multipart), a session created with a file resource, the resources
    sub-resource, the mounted copies listed by `scope_id` as not downloadable, and downloads
    of them refused."""
    upload = call(beta.files, BetaFileMetadata, "files.upload",
                  file=("dir/input.csv", b"a,b\n1,2\n", "text/csv"), expires_in_seconds=3600)
    if upload["filename"] != "input.csv" or upload["downloadable"] is not False or upload["scope"] is not None:
        raise Mismatch(f"files.upload: {upload}")
    if upload["size_bytes"] != 8 or upload["mime_type"] != "text/csv" or not upload["expires_at"]:
        raise Mismatch(f"files.upload size/mime/expiry: {upload}")
    unnamed = call(beta.files, BetaFileMetadata, "files.upload", file=("", b"{}", "application/json"))
    if unnamed["filename"] != "unnamed.json":
        raise Mismatch(f"an upload without a filename is named {unnamed['filename']!r}")
    refused("files.upload expires_in_seconds=5", anthropic.BadRequestError, beta.files.upload,
            file=("x.txt", b"x", "text/plain"), expires_in_seconds=5)
    refused("files.download of an upload", anthropic.BadRequestError,
            lambda: beta.files.download(upload["id"]).read())

    session = call(beta.sessions, BetaManagedAgentsSession, "sessions.create", agent=agent_id,
                   environment_id=env_id, resources=[{"type": "file", "file_id": upload["id"]}])
    sid = session["id"]
    mounts = session["resources"]
    if len(mounts) != 1 or mounts[0]["type"] != "file" or not mounts[0]["mount_path"].startswith("/mnt/session/uploads/"):
        raise Mismatch(f"sessions.create resources: {mounts}")
    added = call(beta.sessions.resources, BetaManagedAgentsFileResource, "resources.add", sid,
                 type="file", file_id=upload["id"], mount_path="/mnt/session/uploads/second.csv")
    raw = beta.sessions.resources.with_raw_response.list(sid).http_response.json()
    listed = page(raw, BetaManagedAgentsSessionResource, "resources.list")
    if [r.id for r in listed] != [mounts[0]["id"], added["id"]]:
        raise Mismatch(f"resources.list: {raw}")
    call(beta.sessions.resources, BetaManagedAgentsSessionResource, "resources.retrieve", added["id"], session_id=sid)

    copies = walk(beta.files, BetaFileMetadata, "files.list(mounted)", 1, scope_id=sid)
    if sorted(c["id"] for c in copies) != sorted([mounts[0]["file_id"], added["file_id"]]):
        raise Mismatch(f"mounted copies listed by scope_id: {copies}")
    for copy in copies:
        if copy["downloadable"] is not False or copy["scope"] != {"id": sid, "type": "session"}:
            raise Mismatch(f"a mounted copy: {copy}")
        if copy["filename"] != "input.csv" or copy["size_bytes"] != 8:
            raise Mismatch(f"a mounted copy keeps the upload's name and size: {copy}")
    body = refused("files.download of a mounted copy", anthropic.BadRequestError,
                   lambda: beta.files.download(copies[0]["id"]).read())
    if body["error"]["type"] != "invalid_request_error":
        raise Mismatch(f"download refusal: {body}")

    call(beta.sessions.resources, BetaManagedAgentsDeleteSessionResource, "resources.delete",
         added["id"], session_id=sid)
    left = walk(beta.files, BetaFileMetadata, "files.list(after unmount)", 10, scope_id=sid)
    if [f["id"] for f in left] != [mounts[0]["file_id"]]:
        raise Mismatch(f"files after unmount: {left}")
    refused("resources.add of an unknown file", anthropic.NotFoundError, beta.sessions.resources.add,
            sid, type="file", file_id="file_missing")
    call(beta.sessions, BetaManagedAgentsDeletedSession, "sessions.delete", sid)
    for file_id in (upload["id"], unnamed["id"]):
        call(beta.files, BetaDeletedFile, "files.delete", file_id)


def main(base_url: str) -> None:
    if anthropic.__version__ != EXPECTED_SDK:
        raise Mismatch(f"anthropic {anthropic.__version__} installed, {EXPECTED_SDK} expected")
    client = anthropic.Anthropic(base_url=base_url, api_key=KEY, max_retries=0)
    beta = client.beta

    env = call(beta.environments, BetaEnvironment, "environments.create",
               name="conformance-env", config={"type": "cloud", "networking": {"type": "unrestricted"}},
               metadata={"suite": "conformance"})
    call(beta.environments, BetaEnvironment, "environments.retrieve", env["id"])
    walk(beta.environments, BetaEnvironment, "environments.list", 1)

    agent = call(beta.agents, BetaManagedAgentsAgent, "agents.create",
                 name="conformance-agent", model="claude-opus-4-6", system="Be brief.",
                 tools=[{"type": "agent_toolset_20260401", "configs": [{"name": "write", "enabled": True}]},
                        {"type": "mcp_toolset", "mcp_server_name": "docs",
                         "default_config": {"permission_policy": {"type": "always_allow"}}}],
                 mcp_servers=[{"type": "url", "name": "docs", "url": "https://mcp.example.com/mcp"}],
                 metadata={"suite": "conformance"})
    call(beta.agents, BetaManagedAgentsAgent, "agents.retrieve", agent["id"])
    walk(beta.agents, BetaManagedAgentsAgent, "agents.list", 1)

    vault = call(beta.vaults, BetaManagedAgentsVault, "vaults.create",
                 display_name="conformance-vault", metadata={"suite": "conformance"})
    credential = call(beta.vaults.credentials, BetaManagedAgentsCredential, "credentials.create",
                      vault["id"], auth={"type": "static_bearer", "mcp_server_url": "https://mcp.example.com/mcp",
                                         "token": TOKEN}, display_name="docs")
    if TOKEN in str(credential):
        raise Mismatch("credentials.create echoed the secret token")
    walk(beta.vaults, BetaManagedAgentsVault, "vaults.list", 1)
    walk(beta.vaults.credentials, BetaManagedAgentsCredential, "credentials.list", 1, vault_id=vault["id"])

    session = call(beta.sessions, BetaManagedAgentsSession, "sessions.create",
                   agent=agent["id"], environment_id=env["id"], vault_ids=[vault["id"]],
                   title="conformance", metadata={"suite": "conformance", "run": "1"})
    sid = session["id"]
    if session["metadata"] != {"suite": "conformance", "run": "1"} or session["vault_ids"] != [vault["id"]]:
        raise Mismatch(f"sessions.create did not echo metadata/vault_ids: {session}")
    raw_sessions = beta.sessions.with_raw_response.list(limit=1).http_response.json()
    if set(raw_sessions) != {"data", "next_page", "prev_page"}:
        raise Mismatch(f"sessions.list keys {sorted(raw_sessions)} are not data/next_page/prev_page")
    for item in raw_sessions["data"]:
        strict(BetaManagedAgentsSession, item, "sessions.list.data")

    sent = call(beta.sessions.events, BetaManagedAgentsSendSessionEvents, "events.send", sid,
                events=[{"type": "user.message", "content": [
                    {"type": "text", "text": f"Write the files.\nantpath-sim: scenario=happy files={FILES} size={SIZE}"}]}])
    for event in sent["data"]:
        strict(BetaManagedAgentsSessionEvent, event, "events.send.data")

    deadline = time.monotonic() + DEADLINE_S
    while True:
        events = walk(beta.sessions.events, BetaManagedAgentsSessionEvent, "events.list", 4, compare=False,
                      session_id=sid)
        idle = [e for e in events if e["type"] == "session.status_idle"]
        if idle:
            events = walk(beta.sessions.events, BetaManagedAgentsSessionEvent, "events.list", 4, session_id=sid)
            break
        if time.monotonic() > deadline:
            raise Mismatch("session never went idle")
        time.sleep(0.05)
    if idle[-1]["stop_reason"]["type"] != "end_turn":
        raise Mismatch(f"turn ended with {idle[-1]['stop_reason']}")
    types = [e["type"] for e in events]
    for needed in ("user.message", "session.status_running", "span.model_request_start", "agent.message",
                   "agent.tool_use", "agent.tool_result", "span.model_request_end", "session.usage"):
        if needed not in types:
            raise Mismatch(f"events lack {needed}: {types}")
    settled = call(beta.sessions, BetaManagedAgentsSession, "sessions.retrieve", sid)
    if settled["status"] != "idle" or not settled["usage"].get("output_tokens"):
        raise Mismatch(f"session after the turn: status={settled['status']} usage={settled['usage']}")

    files = walk(beta.files, BetaFileMetadata, "files.list", 2, scope_id=sid)
    if len(files) != FILES:
        raise Mismatch(f"{len(files)} files listed, {FILES} expected")
    for index, meta in enumerate(sorted(files, key=lambda f: f["filename"])):
        call(beta.files, BetaFileMetadata, "files.retrieve_metadata", meta["id"])
        content = beta.files.download(meta["id"]).read()
        if hashlib.sha256(content).digest() != hashlib.sha256(expected_content(sid, index, SIZE)).digest():
            raise Mismatch(f"content of {meta['filename']} differs from the deterministic bytes")
        if meta["scope"] != {"id": sid, "type": "session"} or meta["downloadable"] is not True:
            raise Mismatch(f"file metadata scope/downloadable: {meta}")

    uploads_and_resources(beta, env["id"], agent["id"])
    observation_checks.run(beta, agent["id"], env["id"], call, page, Mismatch)
    budgets(beta, agent["id"], env["id"])

    # Teardown in the documented order.
    call(beta.files, BetaDeletedFile, "files.delete", files[0]["id"])
    call(beta.sessions, BetaManagedAgentsDeletedSession, "sessions.delete", sid)
    try:
        beta.files.retrieve_metadata(files[1]["id"])
        raise Mismatch("a file of a deleted session is still readable")
    except anthropic.NotFoundError:
        pass
    call(beta.vaults.credentials, BetaManagedAgentsDeletedCredential, "credentials.delete",
         credential["id"], vault_id=vault["id"])
    call(beta.vaults, BetaManagedAgentsDeletedVault, "vaults.delete", vault["id"])
    call(beta.environments, BetaEnvironmentDeleteResponse, "environments.delete", env["id"])
    archived = call(beta.agents, BetaManagedAgentsAgent, "agents.archive", agent["id"])
    if not archived["archived_at"]:
        raise Mismatch("agents.archive did not set archived_at")

    # The SDK's error mapping: status, type and request_id of the envelope.
    try:
        beta.sessions.retrieve(sid)
        raise Mismatch("a deleted session is still readable")
    except anthropic.NotFoundError as err:
        body = err.body if isinstance(err.body, dict) else {}
        if body.get("type") != "error" or body.get("error", {}).get("type") != "not_found_error":
            raise Mismatch(f"404 body is not the error envelope: {err.body}")
        if not (err.request_id or "").startswith("req_"):
            raise Mismatch("404 lacks request_id")
    try:
        anthropic.Anthropic(base_url=base_url, api_key="wrong", max_retries=0).beta.agents.list()
        raise Mismatch("a bad key was accepted")
    except anthropic.AuthenticationError:
        pass
    print(f"sdk conformance: OK (anthropic {anthropic.__version__}, base {base_url})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: sdk_conformance.py BASE_URL")
    try:
        main(sys.argv[1])
    except Mismatch as err:
        print(f"sdk conformance: MISMATCH: {err}", file=sys.stderr)
        sys.exit(1)
    except anthropic.APIError as err:
        print(f"sdk conformance: unexpected API error: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(1)
