/**
 * Type-level checks of the public surface, compiled by `npm run typecheck` against the built
 * declarations: each `@ts-expect-error` fails the check if the line stops being an error.
 */

import { AntpathClient, defineTemplate, enumOf, number, requiredStaticBearer, string, type Run } from "antpath";

const client = new AntpathClient({ apiToken: "ant_x" });
const template = defineTemplate({
  name: "typed",
  agent: {
    model: "m",
    mcpServers: [{ name: "docs", url: "https://x.example", auth: requiredStaticBearer() }],
    tools: [{ type: "mcp_toolset", mcpServerName: "docs" }],
  },
  variables: {
    topic: string({ maxLength: 10 }),
    depth: number({ default: 2 }),
    tone: enumOf(["plain", "formal"], { required: false }),
  },
  prompt: "{{topic}} {{depth}} {{tone}}",
});
const secrets = { anthropic: { apiKey: "k" } };

export async function checks(): Promise<Run[]> {
  return [
    await client.runs.submit({ template, variables: { topic: "a", tone: "formal" }, secrets }),
    await client.runs.submit({ template, variables: { topic: "a" }, secrets, idempotencyKey: "k" }),
    // @ts-expect-error `topic` is required: it has no default.
    await client.runs.submit({ template, variables: { depth: 1 }, secrets }),
    // @ts-expect-error `tone` is one of "plain" | "formal".
    await client.runs.submit({ template, variables: { topic: "a", tone: "loud" }, secrets }),
    // @ts-expect-error `depth` is a number.
    await client.runs.submit({ template, variables: { topic: "a", depth: "2" }, secrets }),
    // @ts-expect-error the Anthropic key is required.
    await client.runs.submit({ template, variables: { topic: "a" }, secrets: {} }),
  ];
}

// @ts-expect-error an unknown permission policy is not a template.
defineTemplate({ name: "t", agent: { model: "m", tools: [{ type: "agent_toolset_20260401", defaultConfig: { permissionPolicy: "never" } }] }, prompt: "x" });
