/**
 * The normal form of a template: what is hashed and what the server stores. It is the JSON the
 * Rust model serialises to after parsing (`Template::to_normalised_value`), field for field:
 *
 * - sections with a default are written out: `environment` (`packages: {}`, `unrestricted`
 *   networking), `limits` (`{}`), `cleanup` (`delete`), each MCP server's `auth` (`none`),
 *   both booleans of `limited` networking (`false`);
 * - each variable gets its effective `required`, and numbers `integer: false` when unset;
 * - empty lists and maps are dropped (`tools: []` equals no `tools`); an enum's `values` stays;
 * - defaults that belong to the provider (a toolset's `enabled`, a permission policy) are not
 *   filled in, so an explicit value and an absent one hash differently.
 *
 * The input must have passed the structure check of `shape.ts`.
 *
 * @module
 */

import type { JsonValue } from "./canonical.js";

type Json = { [key: string]: JsonValue | undefined };
type Doc = Record<string, any>;

/** The normal form of a structurally sound template document. */
export function normaliseTemplate(doc: Doc): Json {
  const agent = doc["agent"] as Doc;
  return {
    name: doc["name"],
    description: doc["description"],
    agent: {
      model: agent["model"],
      system: agent["system"],
      tools: list(agent["tools"], normaliseTool),
      mcpServers: list(agent["mcpServers"], (server: Doc) => ({
        name: server["name"],
        url: server["url"],
        auth: server["auth"] ?? "none",
      })),
      skills: list(agent["skills"], (skill: Doc) => ({
        type: skill["type"],
        skillId: skill["skillId"],
        version: skill["version"],
      })),
    },
    environment: normaliseEnvironment((doc["environment"] ?? {}) as Doc),
    variables: map(doc["variables"], normaliseVariable),
    prompt: doc["prompt"],
    limits: {
      maxDurationSeconds: doc["limits"]?.["maxDurationSeconds"],
      maxSpendUsd: doc["limits"]?.["maxSpendUsd"],
    },
    cleanup: { claudeSession: doc["cleanup"]?.["claudeSession"] ?? "delete" },
    // Like the Rust model: present in the normal form only when it is on.
    retryAfterToolUse: doc["retryAfterToolUse"] === true ? true : undefined,
    labels: map(doc["labels"], (value: string) => value),
  };
}

function normaliseTool(tool: Doc): Json {
  switch (tool["type"]) {
    case "agent_toolset_20260401":
      return {
        type: tool["type"],
        defaultConfig: toolDefaults(tool["defaultConfig"]),
        configs: list(tool["configs"], toolConfig),
      };
    case "mcp_toolset":
      return {
        type: tool["type"],
        mcpServerName: tool["mcpServerName"],
        defaultConfig: toolDefaults(tool["defaultConfig"]),
        configs: list(tool["configs"], toolConfig),
      };
    default:
      // `custom`: its input schema is free JSON and is kept as written.
      return {
        type: tool["type"],
        name: tool["name"],
        description: tool["description"],
        inputSchema: tool["inputSchema"],
      };
  }
}

function toolDefaults(defaults: Doc | undefined): Json | undefined {
  if (defaults === undefined) return undefined;
  return { enabled: defaults["enabled"], permissionPolicy: defaults["permissionPolicy"] };
}

function toolConfig(config: Doc): Json {
  return { name: config["name"], enabled: config["enabled"], permissionPolicy: config["permissionPolicy"] };
}

function normaliseEnvironment(environment: Doc): Json {
  const packages = (environment["packages"] ?? {}) as Doc;
  const networking = (environment["networking"] ?? { type: "unrestricted" }) as Doc;
  const managers = ["apt", "cargo", "gem", "go", "npm", "pip"] as const;
  return {
    packages: Object.fromEntries(managers.map((m) => [m, list(packages[m], (p: string) => p)])),
    networking:
      networking["type"] === "limited"
        ? {
            type: "limited",
            allowedHosts: list(networking["allowedHosts"], (h: string) => h),
            allowMcpServers: networking["allowMcpServers"] ?? false,
            allowPackageManagers: networking["allowPackageManagers"] ?? false,
          }
        : { type: "unrestricted" },
  };
}

function normaliseVariable(spec: Doc): Json {
  const required = spec["required"] ?? spec["default"] === undefined;
  const common = { type: spec["type"], description: spec["description"], required, default: spec["default"] };
  switch (spec["type"]) {
    case "string":
      return { ...common, minLength: spec["minLength"], maxLength: spec["maxLength"] };
    case "number":
      return { ...common, minimum: spec["minimum"], maximum: spec["maximum"], integer: spec["integer"] ?? false };
    case "enum":
      return { ...common, values: [...(spec["values"] as string[])] };
    default:
      return common;
  }
}

/** A list, each item mapped; `undefined` (left out) when absent or empty. */
function list<T>(items: readonly T[] | undefined, each: (item: T) => JsonValue): JsonValue[] | undefined {
  return items === undefined || items.length === 0 ? undefined : items.map(each);
}

/** A map, each value mapped; `undefined` (left out) when absent or empty. */
function map<T>(entries: Record<string, T> | undefined, each: (value: T) => JsonValue): Json | undefined {
  if (entries === undefined) return undefined;
  const keys = Object.keys(entries).filter((key) => entries[key] !== undefined);
  if (keys.length === 0) return undefined;
  return Object.fromEntries(keys.map((key) => [key, each(entries[key] as T)]));
}

/** `value` without the members (at any depth) whose value is `undefined`: plain JSON. */
export function withoutUndefined(value: JsonValue | undefined): JsonValue | undefined {
  if (Array.isArray(value)) return value.map((item) => withoutUndefined(item) ?? null);
  if (value !== null && typeof value === "object") {
    const out: { [key: string]: JsonValue } = {};
    for (const [key, member] of Object.entries(value)) {
      const kept = withoutUndefined(member);
      if (kept !== undefined) out[key] = kept;
    }
    return out;
  }
  return value;
}
