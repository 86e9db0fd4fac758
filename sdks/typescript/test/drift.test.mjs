// The committed API types (src/generated/openapi.ts) are what `npm run generate` makes of
// docs/openapi.json today: regenerated into a temporary file with the same command and
// compared byte for byte. After changing docs/openapi.json, run `npm run generate`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { readJson, sdkDir } from "./support.mjs";

const COMMITTED = "src/generated/openapi.ts";

test("the generated API types match docs/openapi.json", () => {
  const command = readJson(join(sdkDir, "package.json")).scripts.generate;
  assert.ok(command.includes(COMMITTED), `the generate script writes ${COMMITTED}`);
  const dir = mkdtempSync(join(tmpdir(), "antpath-drift-"));
  try {
    const fresh = join(dir, "openapi.ts");
    const args = command.replace(COMMITTED, fresh).split(/\s+/);
    const bin = join(sdkDir, "node_modules", ".bin", args.shift());
    execFileSync(bin, args, { cwd: sdkDir, stdio: ["ignore", "ignore", "pipe"] });
    const committed = readFileSync(join(sdkDir, COMMITTED), "utf8");
    assert.ok(
      committed === readFileSync(fresh, "utf8"),
      `${COMMITTED} is stale: run \`npm run generate\` in sdks/typescript after changing docs/openapi.json`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
