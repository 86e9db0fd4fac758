/**
 * The quickstart in TypeScript: the template of `examples/quickstart.json` defined in code,
 * submitted, followed to its end, and its outputs downloaded (each checked against its
 * SHA-256).
 *
 *   ANTPATH_API_TOKEN=ant_… ANTHROPIC_API_KEY=sk-ant-… node quickstart.js "tide pools"
 *
 * `ANTPATH_BASE_URL` points it at a self-hosted or local stack (`eval "$(antpath dev up)"`),
 * `ANTPATH_OUTPUT_DIR` chooses where the files go (default `antpath-outputs/<run id>`). The last
 * line it prints is a JSON summary.
 */

import { join } from "node:path";

import { AntpathClient, defineTemplate, string } from "antpath";

const template = defineTemplate({
  name: "quickstart",
  description:
    "Writes two short Markdown files about a topic. The last line of the prompt (`antpath-sim: ...`) only steers the local provider simulator, telling it which scripted scenario to play and how many files of what size to produce; the real provider reads it as ordinary text and it can be removed.",
  agent: {
    model: "claude-sonnet-4-5",
    system: "You are a careful technical writer.",
    tools: [{ type: "agent_toolset_20260401", defaultConfig: { permissionPolicy: "always_allow" } }],
  },
  variables: {
    topic: string({ description: "What the files are about.", minLength: 1, maxLength: 200 }),
  },
  prompt:
    "Write two short Markdown files about {{topic}} into /mnt/session/outputs/: overview.md (what it is, in five sentences) and questions.md (five open questions about it).\n\nantpath-sim: scenario=happy files=2 size=2048",
  limits: { maxDurationSeconds: 600 },
});

const apiToken = required("ANTPATH_API_TOKEN");
const apiKey = required("ANTHROPIC_API_KEY");
const topic = process.argv[2] ?? "tide pools";
const client = new AntpathClient({ apiToken, ...(process.env.ANTPATH_BASE_URL ? { baseUrl: process.env.ANTPATH_BASE_URL } : {}) });
console.log(`template hash ${template.hash}`);

const run = await client.runs.submit({
  template,
  variables: { topic },
  secrets: { anthropic: { apiKey } },
});
console.log(`submitted ${run.id}`);

let last = run;
for await (const step of client.runs.follow(run.id!)) {
  if (step.type === "status") {
    console.log(`status ${step.run.status}`);
    last = step.run;
  } else if (step.type === "cleanup") {
    console.log(`cleanup ${step.run.cleanup?.state}`);
    last = step.run;
  } else {
    console.log(`event #${step.event.seq} ${step.event.type}`);
  }
}

const directory = process.env.ANTPATH_OUTPUT_DIR ?? join("antpath-outputs", last.id!);
const files = await client.runs.downloadAll(last.id!, directory);
for (const file of files) console.log(`${file.path} (${file.sizeBytes} bytes, sha256 ${file.sha256})`);
console.log(`run ${last.id} ended ${last.status} (cleanup ${last.cleanup?.state})`);
console.log(JSON.stringify({ run: last.id, status: last.status, templateHash: template.hash, files }));

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`set ${name}`);
    process.exit(2);
  }
  return value;
}
