// The running stack the stack tests talk to (scripts/test-typescript starts one with
// `antpath dev up` and passes its exports), and helpers shared by those tests.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { AntpathClient, defineTemplate } from "../../dist/index.js";
import { sdkDir } from "../support.mjs";

function env(name) {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: start a stack with \`eval "$(antpath dev up)"\` (scripts/test-typescript does)`);
  return value;
}

export const stack = {
  baseUrl: env("ANTPATH_BASE_URL"),
  token: env("ANTPATH_API_TOKEN"),
  /** Where the stack keeps its logs, when known. */
  devDir: process.env.ANTPATH_DEV_DIR,
};

/** The Anthropic key the tests submit; the simulator accepts any `sk-ant-` key. */
export const API_KEY_CANARY = "sk-ant-api03-TSSTACK-CANARY-8d1e4a";
/** The MCP bearer token the tests submit. */
export const BEARER_CANARY = "bearer-TSSTACK-CANARY-2f7b90";

export function client() {
  return new AntpathClient({ apiToken: stack.token, baseUrl: stack.baseUrl });
}

export const secrets = { anthropic: { apiKey: API_KEY_CANARY } };

/** A small template whose prompt carries a simulator directive (`antpath-sim: …`). */
export function simTemplate(name, directive) {
  return defineTemplate({
    name,
    agent: { model: "claude-sonnet-4-5" },
    prompt: `Do the thing.\n\n${directive}`,
    limits: { maxDurationSeconds: 600 },
  });
}

/** A unique suffix for idempotency keys and names. */
export function unique() {
  return `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The lowercase hex SHA-256 of a file. */
export function sha256File(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Runs a compiled example (`.examples-build`) with `env`; resolves with its exit code and output. */
export function runExample(name, args, extraEnv) {
  const script = join(sdkDir, ".examples-build", "examples", "typescript", `${name}.js`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      {
        env: {
          ...process.env,
          ANTPATH_BASE_URL: stack.baseUrl,
          ANTPATH_API_TOKEN: stack.token,
          ANTHROPIC_API_KEY: API_KEY_CANARY,
          ...extraEnv,
        },
        timeout: 120_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The JSON summary an example prints last. */
export function summary(stdout) {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}
