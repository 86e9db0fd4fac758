/**
 * The structure of a template document, checked before it is normalised or hashed: every type
 * error, missing field and unknown field is reported at once with its JSON pointer, as the Rust
 * template crate reports them (`crates/template/src/{shape,schema}.rs`; keep the two in step).
 * Keys that look like credentials (`apiKey`, `token`, …) are refused anywhere in a template,
 * as the server refuses them: credentials go only in a submission's `secrets`.
 *
 * @module
 */

/** One located problem. */
export interface Problem {
  /** A JSON pointer from the template's root (`""` is the root). */
  readonly path: string;
  readonly message: string;
}

type Shape =
  | { readonly kind: "any" | "anyObject" | "string" | "bool" | "unsigned" | "number" }
  | { readonly kind: "oneOf"; readonly choices: readonly string[] }
  | { readonly kind: "array" | "map"; readonly item: Shape }
  | { readonly kind: "object"; readonly fields: readonly Field[] }
  | { readonly kind: "tagged"; readonly variants: Readonly<Record<string, readonly Field[]>> };

interface Field {
  readonly name: string;
  readonly shape: Shape;
  readonly required: boolean;
}

const req = (name: string, shape: Shape): Field => ({ name, shape, required: true });
const opt = (name: string, shape: Shape): Field => ({ name, shape, required: false });
const oneOf = (...choices: string[]): Shape => ({ kind: "oneOf", choices });
const arrayOf = (item: Shape): Shape => ({ kind: "array", item });
const object = (...fields: Field[]): Shape => ({ kind: "object", fields });

const STRING: Shape = { kind: "string" };
const BOOL: Shape = { kind: "bool" };
const NUMBER: Shape = { kind: "number" };
const UNSIGNED: Shape = { kind: "unsigned" };
const STRINGS = arrayOf(STRING);
const POLICY = oneOf("always_allow", "always_ask", "auto");
const TOOL_NAME = oneOf("bash", "edit", "read", "write", "glob", "grep", "web_fetch", "web_search");
const TOOL_DEFAULTS = object(opt("enabled", BOOL), opt("permissionPolicy", POLICY));

const TOOL: Shape = {
  kind: "tagged",
  variants: {
    agent_toolset_20260401: [
      opt("defaultConfig", TOOL_DEFAULTS),
      opt("configs", arrayOf(object(req("name", TOOL_NAME), opt("enabled", BOOL), opt("permissionPolicy", POLICY)))),
    ],
    mcp_toolset: [
      req("mcpServerName", STRING),
      opt("defaultConfig", TOOL_DEFAULTS),
      opt("configs", arrayOf(object(req("name", STRING), opt("enabled", BOOL), opt("permissionPolicy", POLICY)))),
    ],
    custom: [req("name", STRING), req("description", STRING), req("inputSchema", { kind: "anyObject" })],
  },
};

const AGENT = object(
  req("model", STRING),
  opt("system", STRING),
  opt("tools", arrayOf(TOOL)),
  opt("mcpServers", arrayOf(object(req("name", STRING), req("url", STRING), opt("auth", oneOf("none", "static_bearer"))))),
  opt("skills", arrayOf(object(req("type", oneOf("anthropic", "custom")), req("skillId", STRING), opt("version", STRING)))),
);

const PACKAGES = object(...["apt", "cargo", "gem", "go", "npm", "pip"].map((manager) => opt(manager, STRINGS)));

const NETWORKING: Shape = {
  kind: "tagged",
  variants: {
    unrestricted: [],
    limited: [opt("allowedHosts", STRINGS), opt("allowMcpServers", BOOL), opt("allowPackageManagers", BOOL)],
  },
};

const common = (defaultShape: Shape): Field[] => [
  opt("description", STRING),
  opt("required", BOOL),
  opt("default", defaultShape),
];

const VARIABLE: Shape = {
  kind: "tagged",
  variants: {
    string: [...common(STRING), opt("minLength", UNSIGNED), opt("maxLength", UNSIGNED)],
    number: [...common(NUMBER), opt("minimum", NUMBER), opt("maximum", NUMBER), opt("integer", BOOL)],
    boolean: common(BOOL),
    enum: [...common(STRING), req("values", STRINGS)],
  },
};

const TEMPLATE = object(
  req("name", STRING),
  opt("description", STRING),
  req("agent", AGENT),
  opt("environment", object(opt("packages", PACKAGES), opt("networking", NETWORKING))),
  opt("variables", { kind: "map", item: VARIABLE }),
  req("prompt", STRING),
  opt("limits", object(opt("maxDurationSeconds", UNSIGNED), opt("maxSpendUsd", NUMBER))),
  opt("cleanup", object(req("claudeSession", oneOf("delete", "retain")))),
  opt("retryAfterToolUse", BOOL),
  opt("labels", { kind: "map", item: STRING }),
);

/** Every structural problem of `value` as a template document; empty when it is sound. */
export function structuralProblems(value: unknown): Problem[] {
  const problems: Problem[] = [];
  rejectSecretKeys(value, "", problems);
  // A key refused as a credential is not also reported as unknown.
  const silenced = new Set(problems.map((p) => p.path));
  walk(value, TEMPLATE, "", (problem) => {
    if (![...silenced].some((path) => problem.path === path || problem.path.startsWith(`${path}/`))) {
      problems.push(problem);
    }
  });
  return problems;
}

/** Appends a member name to a JSON pointer, escaping `~` and `/`. */
export function child(path: string, token: string): string {
  return `${path}/${token.replaceAll("~", "~0").replaceAll("/", "~1")}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function walk(value: unknown, shape: Shape, path: string, report: (p: Problem) => void): void {
  const expected = (what: string) => report({ path, message: `Expected ${what}, found ${typeName(value)}.` });
  switch (shape.kind) {
    case "any":
      return;
    case "anyObject":
      if (!isObject(value)) expected("an object");
      return;
    case "string":
      if (typeof value !== "string") expected("a string");
      return;
    case "bool":
      if (typeof value !== "boolean") expected("a boolean");
      return;
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) expected("a number");
      return;
    case "unsigned":
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
        report({ path, message: "Expected a whole number of 0 or more." });
      }
      return;
    case "oneOf":
      if (typeof value !== "string") expected("a string");
      else if (!shape.choices.includes(value)) report({ path, message: `Must be one of: ${quoted(shape.choices)}.` });
      return;
    case "array":
      if (!Array.isArray(value)) expected("an array");
      else value.forEach((item, i) => walk(item, shape.item, `${path}/${i}`, report));
      return;
    case "map":
      if (!isObject(value)) expected("an object");
      else for (const [key, item] of Object.entries(value)) walk(item, shape.item, child(path, key), report);
      return;
    case "object":
      if (!isObject(value)) expected("an object");
      else walkFields(value, shape.fields, undefined, path, report);
      return;
    case "tagged": {
      if (!isObject(value)) {
        expected("an object");
        return;
      }
      const tag = value["type"];
      const tagPath = child(path, "type");
      if (tag === undefined) {
        report({ path: tagPath, message: "This field is required." });
      } else if (typeof tag !== "string") {
        report({ path: tagPath, message: `Expected a string, found ${typeName(tag)}.` });
      } else if (!Object.hasOwn(shape.variants, tag)) {
        report({ path: tagPath, message: `Must be one of: ${quoted(Object.keys(shape.variants))}.` });
      } else {
        walkFields(value, shape.variants[tag] ?? [], "type", path, report);
      }
      return;
    }
  }
}

function walkFields(
  value: Record<string, unknown>,
  fields: readonly Field[],
  tag: string | undefined,
  path: string,
  report: (p: Problem) => void,
): void {
  const names = fields.map((f) => f.name);
  for (const key of Object.keys(value)) {
    if (key !== tag && !names.includes(key) && value[key] !== undefined) {
      const message =
        names.length === 0
          ? `Unknown field \`${key}\`; no other fields are allowed here.`
          : `Unknown field \`${key}\`; expected one of: ${quoted(names)}.`;
      report({ path: child(path, key), message });
    }
  }
  for (const field of fields) {
    const member = value[field.name];
    if (member !== undefined) walk(member, field.shape, child(path, field.name), report);
    else if (field.required) report({ path: child(path, field.name), message: "This field is required." });
  }
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return "a string";
    case "number":
    case "bigint":
      return "a number";
    case "boolean":
      return "a boolean";
    case "object":
      return "an object";
    default:
      return `a ${typeof value} (not JSON)`;
  }
}

function quoted(names: readonly string[]): string {
  return names.map((n) => `\`${n}\``).join(", ");
}

/** Key endings that name a credential, compared without `_ - . ` and case. */
const SECRET_SUFFIXES = [
  "apikey", "token", "secret", "password", "passwd", "passphrase", "credential", "credentials",
  "privatekey", "secretkey", "accesskey", "signingkey", "encryptionkey", "authorization", "bearer",
  "cookie", "cookies", "headers",
];
/** Whole key names that name credentials. */
const SECRET_NAMES = ["secrets", "pwd", "apitokens", "accesstokens", "authtokens"];

/** Whether `key` looks like it holds a credential (the server's rule). */
export function isSecretKey(key: string): boolean {
  const normalised = key.replace(/[_\-. ]/g, "").toLowerCase();
  return SECRET_NAMES.includes(normalised) || SECRET_SUFFIXES.some((suffix) => normalised.endsWith(suffix));
}

function rejectSecretKeys(value: unknown, path: string, problems: Problem[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => rejectSecretKeys(item, `${path}/${i}`, problems));
  } else if (isObject(value)) {
    for (const [key, member] of Object.entries(value)) {
      const memberPath = child(path, key);
      if (isSecretKey(key)) {
        problems.push({
          path: memberPath,
          message: `\`${key}\` looks like it holds a credential; credentials go only in \`secrets\`.`,
        });
      } else {
        rejectSecretKeys(member, memberPath, problems);
      }
    }
  }
}
