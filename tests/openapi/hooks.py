"""schemathesis hooks for scripts/check-openapi.

Three things the generic checks cannot know about antpath:

* The check's own token must survive: `DELETE /v1/tokens/{id}` with an id learnt from
  `GET /v1/tokens` would revoke it and turn the rest of the run into 401s. Such a call is
  pointed at a spare token made for the purpose instead (still a real revoke, still 200). The
  same goes for the finished run scripts/check-openapi seeds (its output is what the download
  link requests name): a `DELETE /v1/runs/{id}` of it deletes a spare run instead.

* The provider simulator takes only API keys that start with `sk-ant-` (as the provider's own
  do). A submission whose `apiKey` is already schema-valid (a non-blank string) gets such a key
  instead, still schema-valid, so that its run can get as far as the provider lets it: to
  success, outputs and their download links.

* A run submission has rules between its fields that no JSON Schema can state (the
  `CROSS_FIELD_RULES` of crates/template/src/json_schema.rs, listed in the document's
  `RunSubmission` description). The generic `positive_data_acceptance` check therefore lets a
  schema-valid `POST /v1/runs` be answered 422 (schemathesis.toml), and
  `submission_refused_only_for_cross_field_rules` below takes over: such a 422 passes only when
  every problem it lists is one of those rules. A 422 naming any rule of one field means the
  document and the server disagree, and fails the run.
"""

from __future__ import annotations

import json
import os
import re

import schemathesis

PROTECTED_TOKEN_ID = os.environ["ANTPATH_CHECK_TOKEN_ID"]
SPARE_TOKEN_ID = os.environ["ANTPATH_CHECK_SPARE_TOKEN_ID"]
PROTECTED_RUN_ID = os.environ["ANTPATH_CHECK_RUN_ID"]
SPARE_RUN_ID = os.environ["ANTPATH_CHECK_SPARE_RUN_ID"]

# The messages of the cross-field rules, as crates/template and the bff word them. Keep them in
# step: a reworded message makes this check fail loudly rather than pass quietly.
CROSS_FIELD_MESSAGES = [re.compile(pattern) for pattern in (
    # the prompt against the variables
    r"^The placeholder `.*` refers to a variable the template does not declare\.$",
    r"^The `\{\{` at byte \d+ is never closed by `\}\}`",
    r"^The placeholder at byte \d+ does not contain a valid variable name",
    r"^With its variable values filled in, the prompt would be longer than",
    r"^The prompt uses this variable, so it needs a value\.$",
    # MCP servers and toolsets
    r"^The MCP server at index \d+ already has this name\.$",
    r"^No `mcp_toolset` in `agent\.tools` uses this server",
    r"^No entry of `agent\.mcpServers` has this name\.$",
    r"^Another `mcp_toolset` already uses this server\.$",
    r"^Only one `agent_toolset_20260401` is allowed\.$",
    r"^An earlier config already names this tool\.$",
    r"^The URL(.s)? ",
    # environment
    r"^Packages are listed, so limited networking must set `allowPackageManagers: true`\.$",
    # variable declarations and values
    r"^`minLength` must not be greater than `maxLength`\.$",
    r"^`minimum` must not be greater than `maximum`\.$",
    r"^The default ",
    r"^A variable with a default cannot be required",
    r"^The template declares no variable of this name\.$",
    r"^The value ",
    r"^This variable is required and has no default\.$",
    # secrets against the template
    r"^The template declares no MCP server of this name\.$",
    r"^This MCP server has `auth: none` in the template",
    r"^This MCP server uses `static_bearer` auth and needs a `bearerToken` here\.$",
    # credential-looking keys anywhere outside `secrets`
    r"^`.*` looks like it holds a credential; credentials go only in `secrets`\.$",
    # the workspace's plan, and the header against the body
    r"^This workspace allows runs of at most \d+ seconds\.$",
    r"^The `Idempotency-Key` header and the body's `idempotencyKey` differ\.$",
)]


SIMULATOR_API_KEY = "sk-ant-openapi-check"


@schemathesis.hook
def before_call(context, case, kwargs):
    for label, protected, spare in (
        ("DELETE /v1/tokens/{id}", PROTECTED_TOKEN_ID, SPARE_TOKEN_ID),
        ("DELETE /v1/runs/{id}", PROTECTED_RUN_ID, SPARE_RUN_ID),
    ):
        if case.operation.label == label and (case.path_parameters or {}).get("id") == protected:
            case.path_parameters["id"] = spare
    if case.operation.label == "POST /v1/runs" and isinstance(case.body, dict):
        anthropic = (case.body.get("secrets") or {}).get("anthropic") if isinstance(case.body.get("secrets"), dict) else None
        if isinstance(anthropic, dict) and _schema_valid_key(anthropic.get("apiKey")):
            anthropic["apiKey"] = SIMULATOR_API_KEY


def _schema_valid_key(value):
    """Whether `value` satisfies the document's rule for `apiKey`: a string without NUL that is
    not only whitespace."""
    return isinstance(value, str) and "\x00" not in value and value.strip() != ""


@schemathesis.check
def submission_refused_only_for_cross_field_rules(ctx, response, case):
    if case.operation.label != "POST /v1/runs" or response.status_code != 422:
        return None
    meta = case.meta
    # A case counts as schema-valid only when every part of it is (a coverage case may pair a
    # positive header with a negative body and still call itself positive).
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if any(not component.mode.is_positive for component in meta.components.values()):
        return None
    try:
        details = json.loads(response.content)["error"]["details"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError("a 422 without the error body's details")
    stray = [
        f"{d.get('path')}: {d.get('message')}"
        for d in details
        if not any(p.search(d.get("message", "")) for p in CROSS_FIELD_MESSAGES)
    ]
    if stray:
        raise AssertionError(
            "A schema-valid submission was refused for a rule the document does not state:\n  "
            + "\n  ".join(stray)
        )
    return None
