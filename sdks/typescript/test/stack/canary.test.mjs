// A secret never appears in what the SDK prints or throws: a child process makes every kind
// of failure with canary secrets and prints each error in full (console.error, util.inspect
// with causes); none of its output, nor the stack's logs, may hold a canary.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { sdkDir } from "../support.mjs";
import { stack, unique } from "./support.mjs";

const suffix = unique().replace(/\W/g, "");
const CANARIES = {
  apiKey: `sk-ant-api03-CHILD-CANARY-${suffix}`,
  bearer: `bearer-CHILD-CANARY-${suffix}`,
  wrongToken: `ant_CHILD-CANARY-wrong-${suffix}`,
};

const child = `
import { inspect } from "node:util";
import { AntpathClient, defineTemplate, requiredStaticBearer } from ${JSON.stringify(join(sdkDir, "dist", "index.js"))};
const [baseUrl, token, apiKey, bearer, wrongToken] = process.argv.slice(1);
const show = (label, error) => { console.error(label, error); console.log(label, inspect(error, { depth: 10, showHidden: true })); console.log(String(error), JSON.stringify(error)); };
const client = new AntpathClient({ apiToken: token, baseUrl });
const template = defineTemplate({
  name: "ts-canary",
  agent: { model: "m", mcpServers: [{ name: "docs", url: "https://mcp.example.com/mcp", auth: requiredStaticBearer() }],
           tools: [{ type: "mcp_toolset", mcpServerName: "docs" }] },
  prompt: "x\\n\\nantpath-sim: scenario=happy",
});
const secrets = { anthropic: { apiKey }, mcpServers: { docs: { bearerToken: bearer } } };
await client.runs.submit({ template: { name: "BAD", agent: {}, prompt: 1 }, secrets }).catch((e) => show("invalid", e));
await client.runs.submit({ template, secrets: { anthropic: { apiKey } } }).catch((e) => show("missing-bearer", e));
const key = "canary-" + Date.now();
const run = await client.runs.submit({ template, secrets, idempotencyKey: key });
await client.runs.submit({ template, secrets, idempotencyKey: key, limits: { maxDurationSeconds: 5 } }).catch((e) => show("conflict", e));
await new AntpathClient({ apiToken: wrongToken, baseUrl }).whoami().catch((e) => show("wrong-token", e));
await new AntpathClient({ apiToken: wrongToken, baseUrl: "http://127.0.0.1:9", retry: { maxRetries: 0 } }).whoami().catch((e) => show("unreachable", e));
console.log("client", client, inspect(client, { showHidden: true, depth: 10 }), JSON.stringify(client), String(client));
console.log("done", (await client.runs.wait(run.id)).status);
`;

test("no canary secret appears in the SDK's errors, printouts or the stack's logs", async () => {
  const { code, stdout, stderr } = await new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", child, stack.baseUrl, stack.token, CANARIES.apiKey, CANARIES.bearer, CANARIES.wrongToken],
      { timeout: 120_000 },
      (error, out, err) => resolve({ code: error ? (error.code ?? 1) : 0, stdout: out, stderr: err }),
    );
  });
  assert.equal(code, 0, stderr);
  const output = stdout + stderr;
  // Each failure really happened and was printed.
  for (const expected of ["invalid_request", "authentication_error", "conflict", "could not reach", "/secrets/mcpServers/docs", "done succeeded"]) {
    assert.ok(output.includes(expected), `${expected} missing from:\n${output}`);
  }
  for (const [name, canary] of Object.entries({ ...CANARIES, token: stack.token })) {
    assert.ok(!output.includes(canary), `the ${name} appeared in the output`);
  }
  if (stack.devDir) {
    const logs = join(stack.devDir, "logs");
    for (const file of readdirSync(logs)) {
      const text = readFileSync(join(logs, file), "utf8");
      for (const [name, canary] of Object.entries(CANARIES)) assert.ok(!text.includes(canary), `the ${name} is in ${file}`);
    }
  }
});
