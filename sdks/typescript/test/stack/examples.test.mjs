// The TypeScript examples end to end against the stack: a succeeded run, every output
// downloaded and its SHA-256 checked against the output record, the template hash the Rust
// side pins, and no secret in what they print.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { readJson, vectorsDir } from "../support.mjs";
import { API_KEY_CANARY, BEARER_CANARY, client, runExample, sha256File, stack, summary, unique } from "./support.mjs";

const pinned = readJson(join(vectorsDir, "normal-forms.json"));

async function assertOutputsVerified(result) {
  const outputs = (await client().runs.outputs(result.run)).outputs;
  assert.equal(result.files.length, outputs.length);
  assert.ok(outputs.length >= 1, "the run captured outputs");
  const bySha = new Set(outputs.map((o) => o.sha256));
  for (const file of result.files) {
    assert.equal(sha256File(file.path), file.sha256, file.path);
    assert.ok(bySha.has(file.sha256), `${file.path} matches an output record`);
  }
}

function assertNoSecrets(outcome) {
  for (const secret of [API_KEY_CANARY, BEARER_CANARY, stack.token]) {
    assert.ok(!outcome.stdout.includes(secret) && !outcome.stderr.includes(secret), "a secret was printed");
  }
}

test("the quickstart example runs to success and downloads verified outputs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "antpath-quickstart-"));
  const outcome = await runExample("quickstart", ["tide pools"], { ANTPATH_OUTPUT_DIR: dir });
  assert.equal(outcome.code, 0, outcome.stderr);
  const result = summary(outcome.stdout);
  assert.equal(result.status, "succeeded");
  assert.equal(result.templateHash, pinned["examples/quickstart.json"].hash);
  assert.match(outcome.stdout, /^status succeeded$/m);
  assert.match(outcome.stdout, /^event #\d+ session\.status_idle$/m);
  assert.equal(result.files.length, 2);
  await assertOutputsVerified(result);
  assertNoSecrets(outcome);
});

test("the MCP example runs to success and its resubmission returns the same run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "antpath-mcp-"));
  const question = `How do retries work? (${unique()})`;
  const env = { ANTPATH_OUTPUT_DIR: dir, DOCS_MCP_TOKEN: BEARER_CANARY };
  const first = await runExample("mcp-static-bearer", [question], env);
  assert.equal(first.code, 0, first.stderr);
  const result = summary(first.stdout);
  assert.equal(result.status, "succeeded");
  assert.equal(result.created, true);
  assert.equal(result.templateHash, pinned["examples/mcp-static-bearer.json"].hash);
  await assertOutputsVerified(result);
  const again = await runExample("mcp-static-bearer", [question], env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(summary(again.stdout).run, result.run);
  assert.equal(summary(again.stdout).created, false);
  assertNoSecrets(first);
  assertNoSecrets(again);
});
