// Templates written with defineTemplate and the variable helpers: equal to the same template
// as a file, checked like the server checks them, and secret-free.
import assert from "node:assert/strict";
import { join } from "node:path";
import { inspect } from "node:util";
import { test } from "node:test";

import {
  AntpathTemplateError,
  boolean,
  defineTemplate,
  enumOf,
  number,
  requiredStaticBearer,
  string,
} from "../../dist/index.js";
import { readJson, vectorsDir } from "../support.mjs";

const pinned = readJson(join(vectorsDir, "normal-forms.json"));
const simDirective = "antpath-sim: scenario=happy";

test("the quickstart defined in code hashes like examples/quickstart.json", () => {
  const file = readJson(join(vectorsDir, "../../../examples/quickstart.json"));
  const template = defineTemplate({
    name: "quickstart",
    description: file.description,
    agent: {
      model: "claude-sonnet-4-5",
      system: "You are a careful technical writer.",
      tools: [{ type: "agent_toolset_20260401", defaultConfig: { permissionPolicy: "always_allow" } }],
    },
    variables: { topic: string({ description: "What the files are about.", minLength: 1, maxLength: 200 }) },
    prompt: file.prompt,
    limits: { maxDurationSeconds: 600 },
  });
  assert.equal(template.hash, pinned["examples/quickstart.json"].hash);
  assert.ok(file.prompt.includes(simDirective));
});

test("the MCP example defined with requiredStaticBearer hashes like its JSON file", () => {
  const file = readJson(join(vectorsDir, "../../../examples/mcp-static-bearer.json"));
  const template = defineTemplate({
    name: "mcp-static-bearer",
    description: file.description,
    agent: {
      model: "claude-sonnet-4-5",
      tools: [{ type: "mcp_toolset", mcpServerName: "docs", defaultConfig: { permissionPolicy: "always_allow" } }],
      mcpServers: [{ name: "docs", url: "https://mcp.example.com/mcp", auth: requiredStaticBearer() }],
    },
    variables: {
      question: string({ description: "What to look up.", maxLength: 500 }),
      depth: number({ description: "How many sources to consult.", integer: true, minimum: 1, maximum: 5, default: 2 }),
      tone: enumOf(["plain", "formal"], { default: "plain" }),
      cite: boolean({ default: true }),
    },
    prompt: file.prompt,
    limits: { maxDurationSeconds: 900 },
  });
  assert.equal(template.hash, pinned["examples/mcp-static-bearer.json"].hash);
  assert.equal(template.document.agent.mcpServers[0].auth, "static_bearer");
});

test("spelling out the defaults does not change the hash; a meaningful change does", () => {
  const base = { name: "hello", agent: { model: "claude-sonnet-4-5" }, prompt: "Say hello." };
  const spelt = defineTemplate({
    ...base,
    agent: { ...base.agent, tools: [], mcpServers: [] },
    environment: { packages: {}, networking: { type: "unrestricted" } },
    variables: {},
    limits: {},
    cleanup: { claudeSession: "delete" },
    labels: {},
  });
  assert.equal(spelt.hash, defineTemplate(base).hash);
  assert.notEqual(defineTemplate({ ...base, prompt: "Say hi." }).hash, spelt.hash);
  assert.deepEqual(defineTemplate({ ...base, variables: { n: number() }, prompt: "{{n}}" }).document.variables, {
    n: { type: "number", required: true, integer: false },
  });
});

test("every structural problem is reported at once with its JSON pointer", () => {
  const error = catchTemplateError(() =>
    defineTemplate({
      name: "bad",
      agent: { model: 3, tools: [{ type: "agent_toolset_20260401", typo: true }] },
      variables: { v: { type: "strng" } },
      prompt: "x",
      limits: { maxDurationSeconds: 1.5 },
    }),
  );
  const paths = error.problems.map((p) => p.path);
  assert.deepEqual(paths.sort(), ["/agent/model", "/agent/tools/0/typo", "/limits/maxDurationSeconds", "/variables/v/type"]);
});

test("the rules of the server are checked where the template is defined", () => {
  const error = catchTemplateError(() =>
    defineTemplate({
      name: "Bad Name",
      agent: { model: "m", mcpServers: [{ name: "docs", url: "https://x.example", auth: requiredStaticBearer() }] },
      variables: { tone: enumOf(["a", "a"], { default: "b" }), n: number({ required: true, default: 1 }) },
      prompt: "Uses {{missing}} and {{tone}} and {{n}}",
    }),
  );
  const paths = error.problems.map((p) => p.path);
  for (const path of ["/name", "/agent/mcpServers/0/name", "/variables/tone/values/1", "/variables/tone/default", "/variables/n/required", "/prompt"]) {
    assert.ok(paths.includes(path), `${path} in ${paths}`);
  }
  assert.ok(error.message.includes("`{{missing}}`"), error.message);
});

test("a key that looks like a credential is refused, and its value is never echoed", () => {
  const canary = "sk-ant-api03-TEMPLATE-CANARY";
  const error = catchTemplateError(() =>
    defineTemplate({ name: "leaky", agent: { model: "m" }, prompt: "x", labels: { apiKey: canary } }),
  );
  assert.deepEqual(error.problems.map((p) => p.path), ["/labels/apiKey"]);
  assert.ok(!error.message.includes(canary) && !inspect(error).includes(canary));
});

test("a defined template is frozen plain JSON and prints as its name and hash", () => {
  const template = defineTemplate({ name: "frozen", agent: { model: "m" }, prompt: "x" });
  assert.throws(() => {
    template.document.agent.model = "other";
  }, TypeError);
  assert.deepEqual(JSON.parse(JSON.stringify(template)), template.document);
  assert.equal(inspect(template), `Template { name: "frozen", hash: "${template.hash}" }`);
});

function catchTemplateError(fn) {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AntpathTemplateError, String(error));
    return error;
  }
  assert.fail("no AntpathTemplateError");
}
