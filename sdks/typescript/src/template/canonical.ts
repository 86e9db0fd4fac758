/**
 * Canonical JSON, the same text as the Rust `antpath_template::canonical_json` writes (in the
 * spirit of RFC 8785, the JSON Canonicalization Scheme):
 *
 * - object members sorted by their keys' UTF-16 code units (JavaScript's own string order);
 * - no whitespace between tokens;
 * - strings escape only `"`, `\` and control characters below U+0020 (`\b \t \n \f \r` in short
 *   form, the rest as `\u00xx` in lowercase hex); everything else is literal;
 * - numbers as ECMAScript writes them (`Number.prototype.toString`), `-0` as `0`.
 *
 * Integers beyond 2^53 cannot be held by a `number`; pass them as `bigint` and they are written
 * with every digit, as the Rust side writes integers it holds exactly. Text that cannot be
 * encoded as UTF-8 (a lone surrogate) and non-finite numbers are refused rather than written
 * in a form the Rust side would never produce.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** A value canonical JSON can be written for. */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined };

/** The prefix naming the hash function, as in every antpath content hash. */
export const HASH_PREFIX = "sha256:";

/** The canonical text of `value`. Object members whose value is `undefined` are left out. */
export function canonicalJson(value: JsonValue): string {
  const out: string[] = [];
  write(value, out, "");
  return out.join("");
}

/** `sha256:` and the lowercase hex SHA-256 of `value`'s canonical JSON (UTF-8). */
export function contentHash(value: JsonValue): string {
  const digest = createHash("sha256").update(canonicalJson(value), "utf8").digest("hex");
  return `${HASH_PREFIX}${digest}`;
}

function write(value: JsonValue | undefined, out: string[], path: string): void {
  if (value === null) {
    out.push("null");
  } else if (typeof value === "boolean") {
    out.push(value ? "true" : "false");
  } else if (typeof value === "number") {
    out.push(formatNumber(value, path));
  } else if (typeof value === "bigint") {
    out.push(value.toString());
  } else if (typeof value === "string") {
    writeString(value, out, path);
  } else if (Array.isArray(value)) {
    out.push("[");
    (value as readonly JsonValue[]).forEach((item, i) => {
      if (i > 0) out.push(",");
      write(item, out, `${path}/${i}`);
    });
    out.push("]");
  } else if (typeof value === "object") {
    const object = value as { readonly [key: string]: JsonValue | undefined };
    // The default sort compares UTF-16 code units, which is what RFC 8785 asks for.
    const keys = Object.keys(object)
      .filter((key) => object[key] !== undefined)
      .sort();
    out.push("{");
    keys.forEach((key, i) => {
      if (i > 0) out.push(",");
      const memberPath = `${path}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
      writeString(key, out, memberPath);
      out.push(":");
      write(object[key], out, memberPath);
    });
    out.push("}");
  } else {
    throw new TypeError(`${where(path)} is not a JSON value (${typeof value})`);
  }
}

/** ECMAScript's number text, which is what the Rust side mirrors. */
function formatNumber(x: number, path: string): string {
  if (!Number.isFinite(x)) {
    throw new TypeError(`${where(path)} is not a finite number; JSON cannot hold it`);
  }
  // `String(-0)` is already "0".
  return String(x);
}

const SHORT_ESCAPES: Record<number, string> = {
  0x08: "\\b",
  0x09: "\\t",
  0x0a: "\\n",
  0x0c: "\\f",
  0x0d: "\\r",
};

function writeString(text: string, out: string[], path: string): void {
  if (!text.isWellFormed()) {
    throw new TypeError(`${where(path)} holds a lone UTF-16 surrogate, which UTF-8 cannot encode`);
  }
  let escaped = '"';
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit === 0x22) escaped += '\\"';
    else if (unit === 0x5c) escaped += "\\\\";
    else if (unit < 0x20) escaped += SHORT_ESCAPES[unit] ?? `\\u${unit.toString(16).padStart(4, "0")}`;
    else escaped += text[i];
  }
  out.push(`${escaped}"`);
}

function where(path: string): string {
  return path === "" ? "the value" : `the value at ${path}`;
}
