/**
 * Templates in TypeScript: {@link defineTemplate} and the typed variable helpers
 * {@link string}, {@link number}, {@link boolean} and {@link enumOf}, and
 * {@link requiredStaticBearer} for MCP servers that need a bearer token.
 *
 * A defined template is checked (structure, and the rules of `validate.ts`), normalised exactly
 * as the Rust template crate normalises a template file, and hashed over its canonical JSON, so
 * `template.hash` equals `antpath template hash` of the same template written as a file.
 *
 * @module
 */

import { inspect } from "node:util";

import { canonicalJson, contentHash, type JsonValue } from "./canonical.js";
import type {
  BooleanVariable,
  EnumVariable,
  McpAuth,
  NumberVariable,
  StringVariable,
  TemplateDocument,
  VariableSpec,
} from "./model.js";
import { normaliseTemplate, withoutUndefined } from "./normalise.js";
import { structuralProblems, type Problem } from "./shape.js";
import { ruleProblems } from "./validate.js";
import { AntpathTemplateError } from "../errors.js";

/** Variable declarations by name. */
export type VariableSpecs = { readonly [name: string]: VariableSpec };

/** The TypeScript type of a value for the variable declared by `S`. */
export type VariableValue<S> = S extends { readonly type: "string" }
  ? string
  : S extends { readonly type: "number" }
    ? number
    : S extends { readonly type: "boolean" }
      ? boolean
      : S extends { readonly type: "enum"; readonly values: readonly (infer E)[] }
        ? E
        : never;

/** Whether a submission may leave out the variable declared by `S`. */
type IsOptional<S> = S extends { readonly default: unknown }
  ? true
  : S extends { readonly required: false }
    ? true
    : false;

/**
 * The `variables` of a submission for a template declaring `V`: required variables are
 * required properties, those with a default or `required: false` optional.
 */
export type VariableValues<V extends VariableSpecs> = {
  -readonly [K in keyof V as IsOptional<V[K]> extends true ? never : K]: VariableValue<V[K]>;
} & {
  -readonly [K in keyof V as IsOptional<V[K]> extends true ? K : never]?: VariableValue<V[K]>;
};

/** A checked, normalised template with its hash. `V` types the variables of a submission. */
export class Template<V extends VariableSpecs = VariableSpecs> {
  /** The template's name. */
  readonly name: string;
  /** The normal form, as plain JSON: what is hashed, sent and stored. */
  readonly document: TemplateDocument<V>;
  /** `sha256:` and the hex SHA-256 of the canonical JSON of {@link Template.document}. */
  readonly hash: string;
  /** Only for the type of the variables; never set. */
  declare readonly __variables?: V;

  private constructor(document: TemplateDocument<V>) {
    this.document = document;
    this.name = document.name;
    this.hash = contentHash(document as unknown as JsonValue);
  }

  /**
   * Checks and normalises a template document (a definition in code, or a parsed JSON file).
   * Throws {@link AntpathTemplateError} listing every problem with its JSON pointer.
   */
  static from<const V extends VariableSpecs = VariableSpecs>(document: TemplateDocument<V>): Template<V> {
    const problems: Problem[] = structuralProblems(document);
    if (problems.length === 0) problems.push(...ruleProblems(document as Record<string, any>));
    if (problems.length > 0) throw new AntpathTemplateError(problems);
    const normal = withoutUndefined(normaliseTemplate(document as Record<string, any>));
    return new Template(deepFreeze(normal) as unknown as TemplateDocument<V>);
  }

  /** The canonical JSON text the hash is taken over. */
  canonicalJson(): string {
    return canonicalJson(this.document as unknown as JsonValue);
  }

  /** `JSON.stringify(template)` writes the normal form. */
  toJSON(): TemplateDocument<V> {
    return this.document;
  }

  /** @internal */
  [inspect.custom](): string {
    return `Template { name: ${JSON.stringify(this.name)}, hash: ${JSON.stringify(this.hash)} }`;
  }
}

/**
 * Defines a template in code. The result is checked, normalised and hashed
 * ({@link Template}); its `variables` type the values {@link AntpathClient.runs}`.submit` takes.
 *
 * ```ts
 * const template = defineTemplate({
 *   name: "quickstart",
 *   agent: { model: "claude-sonnet-4-5" },
 *   variables: { topic: string({ maxLength: 200 }) },
 *   prompt: "Write about {{topic}}.",
 * });
 * ```
 */
export function defineTemplate<const V extends VariableSpecs = {}>(definition: TemplateDocument<V>): Template<V> {
  return Template.from(definition);
}

/** Options of a text variable. */
export type StringOptions = Omit<StringVariable, "type">;
/** Options of a numeric variable. */
export type NumberOptions = Omit<NumberVariable, "type">;
/** Options of a boolean variable. */
export type BooleanOptions = Omit<BooleanVariable, "type">;
/** Options of an enum variable. */
export type EnumOptions<T extends string> = Omit<EnumVariable<T>, "type" | "values">;

/** A text variable (lengths in Unicode scalar values). */
export function string<const O extends StringOptions = {}>(options?: O): { readonly type: "string" } & O {
  return { type: "string", ...(options as O) };
}

/** A numeric variable; `integer: true` accepts whole numbers only. */
export function number<const O extends NumberOptions = {}>(options?: O): { readonly type: "number" } & O {
  return { type: "number", ...(options as O) };
}

/** A boolean variable. */
export function boolean<const O extends BooleanOptions = {}>(options?: O): { readonly type: "boolean" } & O {
  return { type: "boolean", ...(options as O) };
}

/** A variable restricted to `values` (at least one, no repeats). */
export function enumOf<const T extends string, const O extends EnumOptions<T> = {}>(
  values: readonly T[],
  options?: O,
): { readonly type: "enum"; readonly values: readonly T[] } & O {
  return { type: "enum", values: [...values], ...(options as O) };
}

/**
 * The `auth` of an MCP server that needs a static bearer token. The token is never part of the
 * template: each run supplies it in `secrets.mcpServers.<name>.bearerToken`.
 *
 * ```ts
 * mcpServers: [{ name: "docs", url: "https://mcp.example.com/mcp", auth: requiredStaticBearer() }]
 * ```
 */
export function requiredStaticBearer(): McpAuth & "static_bearer" {
  return "static_bearer";
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
