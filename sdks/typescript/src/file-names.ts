/**
 * Local file names for downloaded outputs: safe, and one per output (the Rust SDK's
 * `file_names` and `antpath_types::filename`, rule for rule).
 *
 * The API already sends a path-safe `filename`, but a download does not trust that: each name
 * is normalised again (so nothing is written outside the chosen folder), and outputs that end
 * up with the same name (or names differing only in case, which collide on macOS and Windows)
 * get `name (2).ext`, `name (3).ext`, … so that no download overwrites another. Outputs are
 * taken oldest first (by `created_at`, then id), and a name the agent wrote wins over a
 * generated `(n)` one.
 *
 * @module
 */

/** The longest local name in UTF-8 bytes before a ` (n)` suffix. */
const MAX_NAME_BYTES = 200;
/** The longest extension (dot included) kept when a name is cut. */
const MAX_KEPT_EXTENSION_BYTES = 16;
/** The name used when nothing usable is left. */
const FALLBACK_FILENAME = "file";

/** `name` as one safe file name (see the module doc). */
export function localFileName(name: string): string {
  let cleaned = "";
  for (const c of name) {
    const code = c.codePointAt(0) ?? 0;
    if (c === "/" || c === "\\") cleaned += "_";
    else if (isControl(code) || isInvisibleFormat(code)) continue;
    else cleaned += c;
  }
  const trimmed = cleaned.trim();
  const safe = trimmed === "" || trimmed === "." || trimmed === ".." ? FALLBACK_FILENAME : trimmed;
  return truncateKeepingExtension(safe, MAX_NAME_BYTES);
}

/** One distinct, safe local file name per output, in the order of `outputs`. */
export function localFileNames(
  outputs: readonly { readonly filename?: string; readonly created_at?: string; readonly id?: string }[],
): string[] {
  const order = outputs.map((_, i) => i);
  order.sort((a, b) => {
    const [x, y] = [outputs[a], outputs[b]];
    const byTime = Date.parse(x?.created_at ?? "") - Date.parse(y?.created_at ?? "");
    if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
    return (x?.id ?? "") < (y?.id ?? "") ? -1 : (x?.id ?? "") > (y?.id ?? "") ? 1 : 0;
  });
  const names: (string | undefined)[] = outputs.map(() => undefined);
  const taken = new Set<string>();
  for (const i of order) {
    const name = localFileName(outputs[i]?.filename ?? "");
    if (!taken.has(fold(name))) {
      taken.add(fold(name));
      names[i] = name;
    }
  }
  for (const i of order) {
    if (names[i] !== undefined) continue;
    const base = localFileName(outputs[i]?.filename ?? "");
    for (let n = 2; ; n += 1) {
      const candidate = numbered(base, n);
      if (!taken.has(fold(candidate))) {
        taken.add(fold(candidate));
        names[i] = candidate;
        break;
      }
    }
  }
  return names as string[];
}

/** `report.md` → `report (2).md`; a leading dot does not start an extension. */
function numbered(name: string, n: number): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}

function fold(name: string): string {
  return name.toLowerCase();
}

/** Unicode's `Cc` category, as Rust's `char::is_control`. */
function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/** Zero-width and bidirectional-override characters, which can disguise an extension. */
function isInvisibleFormat(code: number): boolean {
  return (
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069) ||
    code === 0xfeff
  );
}

/** `name` cut to `maxBytes` of UTF-8 on a character boundary, keeping a short extension. */
function truncateKeepingExtension(name: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes <= maxBytes) return name;
  const dot = name.lastIndexOf(".");
  const extension =
    dot > 0 && Buffer.byteLength(name.slice(dot), "utf8") <= MAX_KEPT_EXTENSION_BYTES ? name.slice(dot) : "";
  const stem = name.slice(0, name.length - extension.length);
  let budget = maxBytes - Buffer.byteLength(extension, "utf8");
  let kept = "";
  for (const c of stem) {
    const size = Buffer.byteLength(c, "utf8");
    if (size > budget) break;
    kept += c;
    budget -= size;
  }
  return `${kept}${extension}`;
}
