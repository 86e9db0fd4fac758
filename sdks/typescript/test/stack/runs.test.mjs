// The run routes against the stack: idempotent resubmission, a failed run, cancel, a wrong
// token, lists and events, following live and by polling.
import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";

import { AntpathApiError, AntpathClient, isFinished } from "../../dist/index.js";
import { client, secrets, simTemplate, stack, unique } from "./support.mjs";

test("a keyed resubmission returns the same run with HTTP 200; another request with the key is a conflict", async () => {
  const runs = client().runs;
  const template = simTemplate("ts-idempotent", "antpath-sim: scenario=happy files=1 size=64");
  const key = `ts-idem-${unique()}`;
  const first = await runs.submitDetailed({ template, secrets, idempotencyKey: key });
  const again = await runs.submitDetailed({ template, secrets, idempotencyKey: key });
  assert.equal(first.created, true);
  assert.equal(again.created, false);
  assert.equal(again.run.id, first.run.id);
  assert.equal(first.run.template_hash, template.hash);
  const other = simTemplate("ts-idempotent-other", "antpath-sim: scenario=happy");
  const conflict = await runs.submit({ template: other, secrets, idempotencyKey: key }).catch((e) => e);
  assert.ok(conflict instanceof AntpathApiError, String(conflict));
  assert.equal(conflict.status, 409);
  assert.equal(conflict.type, "conflict");
  assert.equal((await runs.wait(first.run.id)).status, "succeeded");
});

test("a run the provider terminates ends failed, with its error class", async () => {
  const runs = client().runs;
  const run = await runs.submit({ template: simTemplate("ts-terminated", "antpath-sim: scenario=terminated"), secrets });
  const done = await runs.wait(run.id, { timeoutMs: 60_000 });
  assert.equal(done.status, "failed");
  assert.ok(done.error_class, "the failure has a class");
  assert.ok(isFinished(done));
});

test("a running run is cancelled", async () => {
  const runs = client().runs;
  const run = await runs.submit({ template: simTemplate("ts-forever", "antpath-sim: scenario=forever"), secrets });
  for await (const step of runs.follow(run.id, { timeoutMs: 60_000 })) {
    if (step.type === "status" && step.run.status === "provider_running") break;
  }
  const cancelling = await runs.cancel(run.id);
  assert.ok(cancelling.cancel_requested_at, "the cancel is recorded");
  const done = await runs.wait(run.id, { timeoutMs: 60_000 });
  assert.equal(done.status, "cancelled");
  assert.equal((await runs.cancel(run.id)).status, "cancelled", "cancelling again changes nothing");
});

test("a wrong token is a 401 authentication_error with a request id, and the token is not in it", async () => {
  const wrong = `ant_${"0".repeat(8)}wrongCANARY${unique().replace(/\W/g, "")}`;
  const error = await new AntpathClient({ apiToken: wrong, baseUrl: stack.baseUrl })
    .whoami()
    .catch((e) => e);
  assert.ok(error instanceof AntpathApiError, String(error));
  assert.equal(error.status, 401);
  assert.equal(error.type, "authentication_error");
  assert.match(error.requestId ?? "", /^req_/);
  assert.ok(!inspect(error, { depth: 10 }).includes(wrong));
});

test("whoami names the token's workspace", async () => {
  const me = await client().whoami();
  assert.match(me.workspace.id, /^ws_/);
  assert.ok(me.token.scopes.includes("runs:write"));
});

test("follow by the live stream and by polling see the same run end, events once each in order", async () => {
  const runs = client().runs;
  const template = simTemplate("ts-follow", "antpath-sim: scenario=happy files=2 size=128");
  for (const live of [true, false]) {
    const run = await runs.submit({ template, secrets });
    const statuses = [];
    const seqs = [];
    let last;
    for await (const step of runs.follow(run.id, { live, initialIntervalMs: 100 })) {
      if (step.type === "event") seqs.push(step.event.seq);
      else last = step.run;
      if (step.type === "status") statuses.push(step.run.status);
    }
    assert.equal(statuses.at(-1), "succeeded", `live=${live}: ${statuses}`);
    assert.ok(isFinished(last), `live=${live}: finished`);
    assert.ok(seqs.length > 0, `live=${live}: events`);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `live=${live}: in order`);
    assert.equal(new Set(seqs).size, seqs.length, `live=${live}: each once`);
    const stored = await runs.events(run.id, { limit: 3 }).toArray();
    assert.deepEqual(stored.map((e) => e.seq), seqs, `live=${live}: every stored event`);
  }
});

test("list pages through the workspace's runs, and delete removes one", async () => {
  const runs = client().runs;
  const template = simTemplate("ts-list", "antpath-sim: scenario=happy files=1 size=16");
  const made = [];
  for (let i = 0; i < 3; i += 1) made.push((await runs.submit({ template, secrets })).id);
  for (const id of made) await runs.wait(id);
  const pages = [];
  for await (const page of runs.list({ limit: 2 }).pages()) pages.push(page);
  assert.ok(pages.length >= 2, "more than one page");
  const listed = pages.flatMap((p) => p.data.map((r) => r.id));
  for (const id of made) assert.ok(listed.includes(id), `${id} listed`);
  assert.equal(new Set(listed).size, listed.length, "no run twice");
  const deleted = await runs.delete(made[0]);
  assert.ok(deleted.pending_delete_at, "the delete is recorded");
  assert.ok((await runs.get(made[0])).pending_delete_at, "the deleted run shows its deletion");
  const succeeded = [];
  for await (const run of runs.list({ status: "succeeded", limit: 100 })) succeeded.push(run.id);
  assert.ok(succeeded.includes(made[1]) && succeeded.includes(made[2]), "a status filter finds the others");
});
