// The committed API types (src/generated/openapi.ts) are what `npm run generate` makes of
// docs/openapi.json today: regenerated into a temporary file by the same script and compared
// byte for byte. After changing docs/openapi.json, run `npm run generate`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { readJson, sdkDir } from "./support.mjs";

const COMMITTED = "src/generated/openapi.ts";
const GENERATOR = "scripts/generate-types.mjs";

test("the generated API types match docs/openapi.json", () => {
  const command = readJson(join(sdkDir, "package.json")).scripts.generate;
  assert.equal(command, `node ${GENERATOR}`, "npm run generate is the generator script");
  const dir = mkdtempSync(join(tmpdir(), "antpath-drift-"));
  try {
    const fresh = join(dir, "openapi.ts");
    execFileSync(process.execPath, [GENERATOR, fresh], { cwd: sdkDir, stdio: ["ignore", "ignore", "pipe"] });
    const committed = readFileSync(join(sdkDir, COMMITTED), "utf8");
    assert.ok(
      committed === readFileSync(fresh, "utf8"),
      `${COMMITTED} is stale: run \`npm run generate\` in sdks/typescript after changing docs/openapi.json`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
