// The package itself: one version everywhere, no runtime dependencies.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";

import { VERSION } from "../../dist/index.js";
import { readJson, sdkDir } from "../support.mjs";

const pkg = readJson(join(sdkDir, "package.json"));

test("the version sent in the User-Agent is package.json's", () => {
  assert.equal(VERSION, pkg.version);
});

test("the package has no runtime dependencies and ships ESM with declarations", () => {
  for (const field of ["dependencies", "peerDependencies", "optionalDependencies", "bundleDependencies"]) {
    assert.equal(pkg[field], undefined, field);
  }
  assert.equal(pkg.type, "module");
  assert.deepEqual(pkg.exports["."], { types: "./dist/index.d.ts", import: "./dist/index.js" });
});
