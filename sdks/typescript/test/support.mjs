// Paths and readers shared by the Node tests.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The SDK's folder (sdks/typescript). */
export const sdkDir = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The repository root. */
export const repoRoot = join(sdkDir, "..", "..");
/** The shared golden vectors of templates. */
export const vectorsDir = join(repoRoot, "tests", "vectors", "templates");

/** A JSON file of the repository, parsed. */
export function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}
