// The request path against a scripted local HTTP server: which calls are retried, Retry-After,
// the error classes, and that the token never leaks into an error or a printout.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { inspect } from "node:util";
import { after, before, test } from "node:test";

import {
  AntpathApiError,
  AntpathClient,
  AntpathConfigError,
  AntpathConnectionError,
  AntpathUnexpectedResponseError,
  defineTemplate,
} from "../../dist/index.js";

const TOKEN = "ant_unit-CANARY-token-3c9e";
const API_KEY = "sk-ant-api03-unit-CANARY-key";
let server;
let baseUrl;
/** Answers to give, in order, per path; each `[status, body, headers]`. */
let script = new Map();
/** Every request seen: method, path, headers, body. */
let seen = [];

before(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      seen.push({ method: request.method, path: request.url, headers: request.headers, body });
      const queue = script.get(request.url.split("?")[0]) ?? [];
      const [status, payload, headers] = queue.shift() ?? [404, notFound(), {}];
      response.writeHead(status, { "content-type": "application/json", "x-request-id": `req_${seen.length}`, ...headers });
      response.end(typeof payload === "string" ? payload : JSON.stringify(payload));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${server.address().port}`;
});

after(() => server.close());

function reset(entries) {
  script = new Map(Object.entries(entries));
  seen = [];
}

function errorBody(type, message, requestId = "req_body") {
  return { error: { type, message, request_id: requestId } };
}

function notFound() {
  return errorBody("not_found", "No such thing.");
}

const run = { id: "run_1", object: "run", status: "queued", cleanup: { state: "pending" } };
const fast = { initialBackoffMs: 1, maxBackoffMs: 2 };
const template = defineTemplate({ name: "t", agent: { model: "m" }, prompt: "x" });

function client(retry = fast) {
  return new AntpathClient({ apiToken: TOKEN, baseUrl: `${baseUrl}/`, retry });
}

test("a keyed submission is retried on 503 and 429, honouring Retry-After", async () => {
  reset({
    "/v1/runs": [
      [503, errorBody("service_unavailable", "Down."), { "retry-after": "0" }],
      [429, errorBody("rate_limited", "Slow down."), { "retry-after": "1" }],
      [201, run],
    ],
  });
  const started = performance.now();
  const submitted = await client().runs.submitDetailed({
    template,
    secrets: { anthropic: { apiKey: API_KEY } },
    idempotencyKey: "k-1",
  });
  assert.equal(submitted.run.id, "run_1");
  assert.equal(submitted.created, true);
  assert.equal(seen.length, 3);
  assert.ok(performance.now() - started >= 950, "waited the second Retry-After");
  const body = JSON.parse(seen[0].body);
  assert.equal(body.idempotencyKey, "k-1");
  assert.deepEqual(body.template, template.document);
  assert.equal(seen[0].headers.authorization, `Bearer ${TOKEN}`);
  assert.match(seen[0].headers.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.notEqual(seen[0].headers.traceparent, seen[1].headers.traceparent);
});

test("a submission without an idempotency key is sent exactly once", async () => {
  reset({ "/v1/runs": [[503, errorBody("service_unavailable", "Down.")], [201, run]] });
  await assert.rejects(
    client().runs.submit({ template, secrets: { anthropic: { apiKey: API_KEY } } }),
    (error) => error instanceof AntpathApiError && error.status === 503,
  );
  assert.equal(seen.length, 1);
});

test("reads are retried on 5xx but not on 501 or 4xx", async () => {
  reset({ "/v1/runs/run_1": [[500, errorBody("internal_error", "Oops.")], [502, "<html>bad gateway</html>"], [200, run]] });
  assert.equal((await client().runs.get("run_1")).id, "run_1");
  assert.equal(seen.length, 3);
  reset({ "/v1/runs/run_1": [[501, errorBody("internal_error", "Not here.")], [200, run]] });
  await assert.rejects(client().runs.get("run_1"), AntpathApiError);
  assert.equal(seen.length, 1);
  reset({ "/v1/runs/run_1": [[409, errorBody("conflict", "No.")], [200, run]] });
  await assert.rejects(client().runs.get("run_1"), (e) => e.type === "conflict");
  assert.equal(seen.length, 1);
});

test("an API error carries the body's type, message, details and request id", async () => {
  const body = {
    error: {
      type: "invalid_request",
      message: "The submission is invalid.",
      details: [{ path: "/variables/topic", message: "This variable is required and has no default." }],
      request_id: "req_abc",
    },
  };
  reset({ "/v1/runs": [[422, body]] });
  const error = await client()
    .runs.submit({ template, secrets: { anthropic: { apiKey: API_KEY } } })
    .catch((e) => e);
  assert.ok(error instanceof AntpathApiError);
  assert.equal(error.status, 422);
  assert.equal(error.type, "invalid_request");
  assert.equal(error.requestId, "req_abc");
  assert.deepEqual(error.body, body);
  assert.equal(
    error.message,
    "The submission is invalid. (invalid_request, HTTP 422); /variables/topic: This variable is required and has no default. [request id req_abc]",
  );
});

test("a secret the server echoed would be scrubbed from the error", async () => {
  reset({ "/v1/runs": [[422, errorBody("invalid_request", `bad key ${API_KEY} with ${TOKEN}`)]] });
  const error = await client()
    .runs.submit({ template, secrets: { anthropic: { apiKey: API_KEY } } })
    .catch((e) => e);
  for (const text of [error.message, String(error), inspect(error), JSON.stringify(error.body)]) {
    assert.ok(!text.includes(API_KEY) && !text.includes(TOKEN), text);
  }
  assert.ok(error.message.includes("[redacted]"));
});

test("an error status without antpath's body is an unexpected response", async () => {
  reset({ "/v1/whoami": [[418, "teapot"]] });
  const error = await client().whoami().catch((e) => e);
  assert.ok(error instanceof AntpathUnexpectedResponseError);
  assert.equal(error.status, 418);
  assert.equal(error.requestId, "req_1");
});

test("an unreachable API is a connection error naming the base URL, after the retries", async () => {
  const closed = createServer();
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));
  const c = new AntpathClient({ apiToken: TOKEN, baseUrl: `http://127.0.0.1:${port}`, retry: { ...fast, maxRetries: 1 } });
  const error = await c.whoami().catch((e) => e);
  assert.ok(error instanceof AntpathConnectionError, String(error));
  assert.ok(error.message.includes(`127.0.0.1:${port}`) && !inspect(error).includes(TOKEN));
});

test("list iterates every page and stops at the page without a cursor", async () => {
  reset({
    "/v1/runs": [
      [200, { data: [{ id: "run_a" }, { id: "run_b" }], next_cursor: "c1" }],
      [200, { data: [{ id: "run_c" }], next_cursor: null }],
    ],
  });
  const ids = [];
  for await (const r of client().runs.list({ status: "succeeded", limit: 2 })) ids.push(r.id);
  assert.deepEqual(ids, ["run_a", "run_b", "run_c"]);
  assert.equal(seen[0].path, "/v1/runs?status=succeeded&limit=2");
  assert.equal(seen[1].path, "/v1/runs?status=succeeded&limit=2&cursor=c1");
});

test("the client never shows its token", () => {
  const c = client();
  for (const text of [inspect(c), inspect(c, { showHidden: true, depth: 9 }), JSON.stringify(c), String(c), inspect(c.runs, { showHidden: true })]) {
    assert.ok(!text.includes(TOKEN), text);
  }
  assert.ok(inspect(c).includes("[redacted]"));
});

test("an empty token or a base URL that is not http(s) is refused", () => {
  assert.throws(() => new AntpathClient({ apiToken: " " }), AntpathConfigError);
  assert.throws(() => new AntpathClient({ apiToken: TOKEN, baseUrl: "ftp://x" }), AntpathConfigError);
  assert.equal(new AntpathClient({ apiToken: TOKEN }).baseUrl, "https://antpath.ai");
});

test("a download is fetched without the token, and a corrupt one throws and leaves no file", async () => {
  const { mkdtempSync, existsSync, readFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { AntpathChecksumError } = await import("../../dist/index.js");
  const { createHash } = await import("node:crypto");
  const dir = mkdtempSync(join(tmpdir(), "antpath-unit-download-"));
  const content = "the real bytes";
  const good = { id: "out_1", filename: "a.txt", sha256: createHash("sha256").update(content).digest("hex") };
  const link = [200, { url: `${baseUrl}/blob?sig=x`, expires_at: "2099-01-01T00:00:00Z" }];
  reset({ "/v1/runs/run_1/outputs/out_1/link": [link, link], "/blob": [[200, content], [200, "tampered bytes"]] });
  const file = await client().runs.download("run_1", good, join(dir, "sub", "a.txt"));
  assert.equal(readFileSync(file.path, "utf8"), content);
  assert.equal(file.sizeBytes, content.length);
  assert.equal(seen[1].headers.authorization, undefined, "the signed link never sees the token");
  const error = await client()
    .runs.download("run_1", good, join(dir, "b.txt"))
    .catch((e) => e);
  assert.ok(error instanceof AntpathChecksumError, String(error));
  assert.equal(error.expected, good.sha256);
  assert.ok(!existsSync(join(dir, "b.txt")) && !existsSync(join(dir, "b.txt.antpath-partial")));
});
