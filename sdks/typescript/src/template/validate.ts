/**
 * The template rules checked locally, so that a mistake is reported where the template is
 * defined rather than at submission: names, variable declarations, prompt placeholders, MCP
 * servers and their toolsets, limits. They mirror `crates/template/src/validate.rs` and
 * `variables/spec.rs`; the server checks every rule again (and a few more, such as MCP server
 * URLs and the provider's size limits), so a rule missing here is still enforced there.
 *
 * @module
 */

import { child, type Problem } from "./shape.js";

type Doc = Record<string, any>;

const TEMPLATE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const MCP_SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The spend limit's range in US dollars, the server's. */
const MIN_SPEND_USD = 0.01;
const MAX_SPEND_USD = 1_000_000;

/** Every rule `doc` (structurally sound) breaks. */
export function ruleProblems(doc: Doc): Problem[] {
  const problems: Problem[] = [];
  const push = (path: string, message: string) => problems.push({ path, message });
  if (!TEMPLATE_NAME.test(doc["name"])) {
    push("/name", "The name must be 1 to 64 characters of lowercase letters, digits, `.`, `_` or `-`, starting with a letter or digit.");
  }
  checkAgent(doc["agent"] as Doc, push);
  const variables = (doc["variables"] ?? {}) as Record<string, Doc>;
  for (const [name, spec] of Object.entries(variables)) {
    const path = child("/variables", name);
    if (!VARIABLE_NAME.test(name)) push(path, "A variable name must match `[A-Za-z_][A-Za-z0-9_]*`.");
    checkVariable(spec, path, push);
  }
  const prompt = doc["prompt"] as string;
  if (prompt.trim() === "") push("/prompt", "The prompt must not be empty.");
  for (const placeholder of placeholders(prompt)) {
    if (placeholder.error !== undefined) push("/prompt", placeholder.error);
    else if (!Object.hasOwn(variables, placeholder.name)) {
      push("/prompt", `The prompt uses \`{{${placeholder.name}}}\`, but no variable of that name is declared.`);
    }
  }
  const limits = (doc["limits"] ?? {}) as Doc;
  if (limits["maxDurationSeconds"] === 0) push("/limits/maxDurationSeconds", "The duration limit must be at least 1 second.");
  const spend = limits["maxSpendUsd"];
  if (spend !== undefined && !(spend >= MIN_SPEND_USD && spend <= MAX_SPEND_USD)) {
    push("/limits/maxSpendUsd", `The spend limit must be from ${MIN_SPEND_USD} to ${MAX_SPEND_USD} US dollars.`);
  }
  return problems;
}

function checkAgent(agent: Doc, push: (path: string, message: string) => void): void {
  if ((agent["model"] as string).trim() === "") push("/agent/model", "The model must not be empty.");
  const servers = (agent["mcpServers"] ?? []) as Doc[];
  const firstIndex = new Map<string, number>();
  servers.forEach((server, i) => {
    const path = `/agent/mcpServers/${i}/name`;
    if (!MCP_SERVER_NAME.test(server["name"])) {
      push(path, "The name must be 1 to 64 letters, digits, `_` or `-`, starting with a letter or digit.");
    }
    const first = firstIndex.get(server["name"]);
    if (first !== undefined) push(path, `The MCP server at index ${first} already has this name.`);
    else firstIndex.set(server["name"], i);
  });
  const used = new Set<string>();
  let agentToolsets = 0;
  ((agent["tools"] ?? []) as Doc[]).forEach((tool, i) => {
    if (tool["type"] === "agent_toolset_20260401" && ++agentToolsets > 1) {
      push(`/agent/tools/${i}`, "Only one `agent_toolset_20260401` is allowed.");
    }
    if (tool["type"] === "mcp_toolset") {
      const path = `/agent/tools/${i}/mcpServerName`;
      const name = tool["mcpServerName"] as string;
      if (!firstIndex.has(name)) push(path, "No entry of `agent.mcpServers` has this name.");
      else if (used.has(name)) push(path, "Another `mcp_toolset` already uses this server.");
      used.add(name);
    }
  });
  servers.forEach((server, i) => {
    if (!used.has(server["name"]) && firstIndex.get(server["name"]) === i) {
      push(`/agent/mcpServers/${i}/name`, "No `mcp_toolset` in `agent.tools` uses this server; the provider rejects unused servers.");
    }
  });
}

function checkVariable(spec: Doc, path: string, push: (path: string, message: string) => void): void {
  const fallback = spec["default"];
  if (spec["required"] === true && fallback !== undefined) {
    push(child(path, "required"), "A variable with a default cannot be required; remove one of the two.");
  }
  if (spec["type"] === "string") {
    const [min, max] = [spec["minLength"], spec["maxLength"]];
    if (min !== undefined && max !== undefined && min > max) {
      push(child(path, "minLength"), "`minLength` must not be greater than `maxLength`.");
    }
    if (typeof fallback === "string") {
      const length = [...fallback].length;
      if ((min !== undefined && length < min) || (max !== undefined && length > max)) {
        push(child(path, "default"), "The default does not fit `minLength` and `maxLength`.");
      }
    }
  } else if (spec["type"] === "number") {
    const [min, max] = [spec["minimum"], spec["maximum"]];
    if (min !== undefined && max !== undefined && min > max) {
      push(child(path, "minimum"), "`minimum` must not be greater than `maximum`.");
    }
    if (typeof fallback === "number") {
      const outside = (min !== undefined && fallback < min) || (max !== undefined && fallback > max);
      if ((spec["integer"] === true && !Number.isInteger(fallback)) || outside) {
        push(child(path, "default"), "The default breaks the variable's own rules.");
      }
    }
  } else if (spec["type"] === "enum") {
    const values = spec["values"] as string[];
    if (values.length === 0) push(child(path, "values"), "An enum variable needs at least one value.");
    values.forEach((value, i) => {
      if (values.indexOf(value) !== i) push(`${child(path, "values")}/${i}`, "This value is listed twice.");
    });
    if (fallback !== undefined && !values.includes(fallback)) {
      push(child(path, "default"), "The default is not one of `values`.");
    }
  }
}

/** The `{{name}}` placeholders of a prompt, with the server's escape rule (`\{{` is literal). */
function placeholders(prompt: string): { name: string; error?: string }[] {
  const found: { name: string; error?: string }[] = [];
  let i = 0;
  for (;;) {
    let open = prompt.indexOf("{{", i);
    if (open < 0) return found;
    let slashes = 0;
    while (open - slashes - 1 >= i && prompt[open - slashes - 1] === "\\") slashes += 1;
    if (slashes % 2 === 1) {
      i = open + 2;
      continue;
    }
    // In a run of braces the placeholder opens at the last two.
    while (prompt[open + 2] === "{") open += 1;
    const close = prompt.indexOf("}}", open + 2);
    if (close < 0) {
      found.push({ name: "", error: "A `{{` in the prompt is never closed by `}}`; write `\\{{` for a literal `{{`." });
      return found;
    }
    const name = prompt.slice(open + 2, close).replace(/^[ \t]+|[ \t]+$/g, "");
    if (VARIABLE_NAME.test(name)) found.push({ name });
    else found.push({ name, error: "A placeholder in the prompt does not contain a valid variable name; write `\\{{` for a literal `{{`." });
    i = close + 2;
  }
}
