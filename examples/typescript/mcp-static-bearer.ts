/**
 * A run whose agent uses an MCP server that needs a static bearer token: the template of
 * `examples/mcp-static-bearer.json` defined in code. The token travels only in the run's
 * secrets, never in the template.
 *
 *   ANTPATH_API_TOKEN=ant_… ANTHROPIC_API_KEY=sk-ant-… DOCS_MCP_TOKEN=… \
 *     node mcp-static-bearer.js "How do retries work?"
 *
 * The idempotency key makes the submission safe to retry: running it again with the same
 * question returns the same run. The last line it prints is a JSON summary.
 */

import { join } from "node:path";

import { AntpathClient, boolean, defineTemplate, enumOf, number, requiredStaticBearer, string } from "antpath";

const template = defineTemplate({
  name: "mcp-static-bearer",
  description:
    "Answers a question with the tools of an MCP server that needs a bearer token. The token is not in this file: each run supplies it in secrets.mcpServers.docs.bearerToken (CLI: --mcp-bearer docs=TOKEN).",
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
  prompt:
    "Use the docs tools to answer: {{question}}. Consult {{depth}} sources, write in a {{tone}} tone (citations: {{cite}}), and save the answer as /mnt/session/outputs/answer.md.\n\nantpath-sim: scenario=happy files=1 size=1024",
  limits: { maxDurationSeconds: 900 },
});

const apiToken = required("ANTPATH_API_TOKEN");
const apiKey = required("ANTHROPIC_API_KEY");
const bearerToken = required("DOCS_MCP_TOKEN");
const question = process.argv[2] ?? "How do retries work?";
const client = new AntpathClient({ apiToken, ...(process.env.ANTPATH_BASE_URL ? { baseUrl: process.env.ANTPATH_BASE_URL } : {}) });

// `variables` is typed from the template: `question` is required, `tone` is "plain" | "formal".
const submitted = await client.runs.submitDetailed({
  template,
  variables: { question, depth: 3, tone: "formal" },
  secrets: { anthropic: { apiKey }, mcpServers: { docs: { bearerToken } } },
  idempotencyKey: `mcp-example-${template.hash.slice(7, 23)}-${Buffer.from(question).toString("base64url").slice(0, 40)}`,
});
console.log(`${submitted.created ? "submitted" : "already submitted"} ${submitted.run.id}`);

const run = await client.runs.wait(submitted.run.id!);
console.log(`run ${run.id} ended ${run.status}`);
const directory = process.env.ANTPATH_OUTPUT_DIR ?? join("antpath-outputs", run.id!);
const files = await client.runs.downloadAll(run.id!, directory);
for (const file of files) console.log(`${file.path} (${file.sizeBytes} bytes)`);
console.log(JSON.stringify({ run: run.id, status: run.status, created: submitted.created, templateHash: template.hash, files }));

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`set ${name}`);
    process.exit(2);
  }
  return value;
}
