// The shared golden vectors (tests/vectors/templates, pinned by the Rust template crate's
// tests): a template in TypeScript must give the Rust side's canonical text and hash.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";

import { canonicalJson, defineTemplate } from "../../dist/index.js";
import { readJson, repoRoot, vectorsDir } from "../support.mjs";

const normalForms = readJson(join(vectorsDir, "normal-forms.json"));

test("every pinned JSON template has the Rust side's canonical text and hash", () => {
  const files = Object.keys(normalForms);
  assert.ok(files.length >= 5, `only ${files.length} pinned templates`);
  for (const file of files) {
    const template = defineTemplate(readJson(join(repoRoot, file)));
    assert.equal(template.canonicalJson(), normalForms[file].canonical, file);
    assert.equal(template.hash, normalForms[file].hash, file);
  }
});

test("the JSON vectors match hashes.json, which also pins the YAML and TOML forms", () => {
  const hashes = readJson(join(vectorsDir, "hashes.json"));
  const jsonFiles = Object.keys(hashes).filter((file) => file.endsWith(".json"));
  assert.ok(jsonFiles.length >= 3);
  for (const file of jsonFiles) {
    assert.equal(defineTemplate(readJson(join(vectorsDir, file))).hash, hashes[file], file);
  }
});

test("every canonicalisation vector produces its exact output", () => {
  const { vectors } = readJson(join(vectorsDir, "canonical.json"));
  let checked = 0;
  for (const vector of vectors) {
    // Integers beyond 2^53 do not survive JSON.parse into a number; that vector is checked
    // below with bigint, the form such integers take in JavaScript.
    if (isBeyondSafeIntegers(vector)) continue;
    const input = JSON.parse(vector.input);
    assert.equal(canonicalJson(input), vector.canonical, vector.name);
    assert.equal(canonicalJson(JSON.parse(vector.canonical)), vector.canonical, `${vector.name}: a fixed point`);
    checked += 1;
  }
  assert.equal(checked, vectors.length - 1, "exactly one vector needs bigint");
  const big = vectors.find(isBeyondSafeIntegers);
  const values = big.input.match(/-?\d+/g).map((digits) => BigInt(digits));
  assert.equal(canonicalJson(values), big.canonical);
});

test("text that UTF-8 cannot encode and numbers JSON cannot hold are refused", () => {
  assert.throws(() => canonicalJson({ a: "\ud800" }), /lone UTF-16 surrogate/);
  assert.throws(() => canonicalJson([1, Number.NaN]), /at \/1 is not a finite number/);
  assert.equal(canonicalJson({ b: undefined, a: -0 }), '{"a":0}');
});

/** The vector of integers that a JavaScript number cannot hold exactly. */
function isBeyondSafeIntegers(vector) {
  return vector.name.startsWith("exact large integers");
}
